"""Shared by the tests of mmwe.report: table rows and an HTML collector. (Real runs are built by _report_runs.py.)"""

from __future__ import annotations

import math
from html.parser import HTMLParser

ROWS = [
    {"dataset": "iaprtc12", "map": "lin", "mnno": 0.51234, "n": 10, "p": None},
    {"dataset": "a|b", "map": "nn", "mnno": math.nan, "n": 3, "p": 0.04},
]


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
