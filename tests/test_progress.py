"""mmwe.progress: the one progress signature, progress(done, total, what), and ``part``."""

import ast
import re
from pathlib import Path

from mmwe.progress import no_progress, part

SRC = Path(__file__).resolve().parents[1] / "src" / "mmwe"


def test_part_shifts_done_and_replaces_total_and_what_where_given():
    seen = []
    report = part(lambda *a: seen.append(a), start=10, total=50)
    report(3, None, "images")
    report(4, 7, "images")
    part(report, what="colours")(1, None, "images")  # parts nest
    assert seen == [(13, 50, "images"), (14, 50, "images"), (11, 50, "colours")]
    assert part(None, start=5, total=9, what="x") is None
    assert no_progress(1, None, "x") is None


def test_every_library_progress_call_passes_done_total_what():
    """No (n) or (done, total) callbacks left: each call of a callable named progress has three arguments."""
    bad = []
    for f in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and re.fullmatch(r"(self\.)?progress", ast.unparse(node.func)):
                if len(node.args) != 3 or node.keywords:
                    bad.append(f"{f.relative_to(SRC)}:{node.lineno}: {ast.unparse(node)}")
    assert not bad, "\n".join(bad)
