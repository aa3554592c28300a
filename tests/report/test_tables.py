"""mmwe.report.tables: Markdown tables (layout, cell formatting, default columns, atomic writes)."""

from __future__ import annotations

import pytest

from mmwe.errors import MmweError
from mmwe.report import format_cell, markdown_table, write_markdown_table
from tests.report.conftest import ROWS


def test_markdown_table_layout_and_formatting():
    text = markdown_table(ROWS, ["dataset", ("mnno", "mNNO(X,Y)"), "n", "p"])
    lines = text.splitlines()
    assert lines[0] == "| dataset | mNNO(X,Y) | n | p |"
    assert lines[1] == "|---|---|---|---|"
    assert lines[2] == "| iaprtc12 | 0.512 | 10 | n/a |"
    assert lines[3] == "| a\\|b | n/a | 3 | 0.040 |"  # the pipe is escaped, NaN prints n/a
    assert len(lines) == 4


def test_default_columns_are_first_row_keys():
    assert markdown_table(ROWS).splitlines()[0] == "| dataset | map | mnno | n | p |"


def test_format_cell():
    assert format_cell(True) == "yes" and format_cell(1.0, 1) == "1.0" and format_cell("x") == "x"


def test_write_markdown_table_atomic(tmp_path):
    p = write_markdown_table(ROWS, ["map", "n"], tmp_path / "t.md")
    assert p.read_text() == "| map | n |\n|---|---|\n| lin | 10 |\n| nn | 3 |\n"
    assert [f.name for f in tmp_path.iterdir()] == ["t.md"]  # no temp file left behind
    with pytest.raises(MmweError, match="does not exist"):
        write_markdown_table(ROWS, ["map"], tmp_path / "missing" / "t.md")
