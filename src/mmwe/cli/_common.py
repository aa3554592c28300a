"""Option helpers shared by the command modules."""

from __future__ import annotations

import json
import sys
from typing import Any

from mmwe.fileio import json_ready


def print_json(obj: Any) -> None:
    """Machine-readable output on stdout (NaN printed as null)."""
    sys.stdout.write(json.dumps(json_ready(obj), indent=2) + "\n")
