"""Markdown / HTML report writer."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import pytest

from mmwe.errors import MmweError
from mmwe.report import Section, format_cell, markdown_table, write_markdown_table, write_report

ROWS = [
    {"dataset": "iaprtc12", "map": "lin", "mnno": 0.51234, "n": 10, "p": None},
    {"dataset": "a|b", "map": "nn", "mnno": math.nan, "n": 3, "p": 0.04},
]


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


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.tags = [], []

        self.in_td = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.in_td = tag == "td"

    def handle_endtag(self, tag):
        self.in_td = False

    def handle_data(self, data):
        if self.in_td:
            self.cells.append(data)


def test_write_report_md_and_html(tmp_path):
    secs = [Section("Exp 1", "Some <b>text</b>.", ROWS, ["dataset", "mnno"]),
            {"title": "Notes", "text": "only prose"}]
    md, page = write_report(tmp_path, secs, title="Collell")
    m = md.read_text()
    assert m.startswith("# Collell\n") and "## Exp 1" in m and "| iaprtc12 | 0.512 |" in m and "## Notes" in m
    h = page.read_text()
    assert "&lt;b&gt;text&lt;/b&gt;" in h  # prose is escaped, not interpreted
    p = _Collect()
    p.feed(h)
    assert p.cells == ["iaprtc12", "0.512", "a|b", "n/a"]
    assert p.tags.count("table") == 1


def test_write_report_errors(tmp_path):
    with pytest.raises(MmweError, match="existing run folder"):
        write_report(tmp_path / "nope", [])
    with pytest.raises(MmweError, match="report section"):
        write_report(tmp_path, [{"heading": "x"}])
