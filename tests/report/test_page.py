"""mmwe.report.page: the Markdown / HTML report writer."""

from __future__ import annotations

import pytest

from mmwe.errors import MmweError
from mmwe.report import Section, write_report
from tests.report.conftest import ROWS, _Collect


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
