"""Label names for the neighbour explorer: IAPR TC-12 items are shown by label id unless a file names them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from mmwe.errors import MmweError


def apply_label_names(nset: dict, label_names: Sequence[str]) -> dict:
    """A copy whose item names spell the label ids with ``label_names[id]`` (IAPR TC-12 rows)."""
    if "labels" not in nset:
        return nset
    top = max((max(ls) for ls in nset["labels"] if ls), default=-1)
    if top >= len(label_names):
        raise MmweError(f"expected a label name for every label id up to {top}, got {len(label_names)} names; "
                        "fix: give one name per line, line i naming label id i - 1")
    names = [f"#{r + 1}: " + (", ".join(label_names[t] for t in ls) or "(no labels)")
             for r, ls in zip(nset["rows"], nset["labels"])]
    return {**nset, "names": names}


def read_label_names(path: str | os.PathLike) -> list[str]:
    """One label name per line (line i names label id i - 1); blank lines are errors."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise MmweError(f"expected a readable label-name file, got {type(exc).__name__}", path=path) from exc
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            raise MmweError("expected one label name per line, got a blank line; fix: remove it or name the label",
                            path=path, line=i)
    return [line.strip() for line in lines]
