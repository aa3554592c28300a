"""`--json` output: numpy scalars become plain JSON values and NaN becomes null, at any depth."""

from __future__ import annotations

import json

import numpy as np

from mmwe.cli.console import print_json


def test_print_json_numpy_scalars_and_nan(capsys):
    print_json({"ok": np.bool_(True), "nan32": np.float32("nan"), "rows": [np.int64(3), np.float64(0.5)],
                "nan": float("nan"), "arr": np.arange(2)})
    assert json.loads(capsys.readouterr().out) == {"ok": True, "nan32": None, "rows": [3, 0.5], "nan": None,
                                                   "arr": [0, 1]}
