"""Shared fixtures: where the real data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared/data is not beside the repository")
    return SHARED


@pytest.fixture(scope="session")
def iapr_dir(shared_data) -> Path:
    d = shared_data / "iaprtc12"
    if not (d / "TS_vis_vgg128.csv").exists():
        pytest.skip("IAPR TC-12 data not in ../shared")
    return d
