"""Option helpers shared by the command modules."""

from __future__ import annotations

import json
import sys
from typing import Any

import numpy as np


def _default(o: Any):
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def print_json(obj: Any) -> None:
    """Machine-readable output on stdout (NaN printed as null)."""
    sys.stdout.write(json.dumps(_sanitize(obj), default=_default, indent=2) + "\n")


def _sanitize(obj: Any) -> Any:
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {k: _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_sanitize(v) for v in obj]
    if isinstance(obj, np.bool_):  # json's default hook cannot return a bool for these
        return bool(obj)
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    return obj
