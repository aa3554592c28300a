"""Issue 14: `triplets mine` says how many candidates each filter removed, and refuses to write 0 triplets.

Real click rows: ``cldr_click_rows`` (query = an emoji's CLDR name, annotations = its CLDR keywords, 1 click).
"""

from __future__ import annotations

import pytest

from mmwe.datasets.triplets import MINE_FILTERS, MineConfig, cldr_click_rows, mine_triplets, stems
from mmwe.errors import MmweError


def test_stats_account_for_every_candidate_on_cldr_rows():
    rows = cldr_click_rows("test")
    stats: dict = {}
    trip = mine_triplets(rows, MineConfig(), stats=stats)
    assert trip == mine_triplets(rows, MineConfig())  # the list as before; stats change nothing
    assert stats["rows"] == len(rows) and stats["triplets"] == len(trip) == stats["positives"]  # 1 negative each
    assert stats["queries"] == len({r[0] for r in rows})
    assert stats["candidates"] == sum(stats[k] for k in MINE_FILTERS) + stats["positives"]
    # golden figures of the built-in test split (CLDR 41): most keywords repeat a word of the emoji's name
    assert stats == {"rows": 3034, "queries": 741, "candidates": 3034, "query_without_words": 0,
                     "too_few_clicks": 0, "annotation_without_words": 6, "stem_overlap": 1920,
                     "over_positive_limit": 87, "no_negative": 0, "positives": 1021, "triplets": 1021}
    # every stem_overlap removal really shares a stem with its query, and no kept positive does
    assert all(not (stems(b) & stems(p)) for b, p, _ in trip)


def test_nothing_mined_raises_with_the_counts_and_the_rule():
    overlapping = [r for r in cldr_click_rows("test") if stems(r[0]) & stems(r[2])]  # e.g. "cat face" -> "cat"
    stats: dict = {}
    with pytest.raises(MmweError, match=r"^expected at least one triplet, got none from 1,920 click rows \(741 "
                                        r"queries, 1,920 \(query, annotation\) candidates\); removed: "
                                        r"stem_overlap=1,920; rule: .*shares no Porter stem with the query.*; fix: "
                                        r"give queries whose clicked annotations use other words") as err:
        mine_triplets(overlapping, MineConfig(), stats=stats)
    assert "\n" not in str(err.value)
    assert stats["stem_overlap"] == 1920 and stats["triplets"] == 0  # filled before raising

    with pytest.raises(MmweError, match=r"removed: too_few_clicks=3,034;.*min_clicks=100.*fix: lower min_clicks"):
        mine_triplets(cldr_click_rows("test"), MineConfig(min_clicks=100))


def test_no_negative_and_query_without_words_are_counted():
    # every phrase shares a stem with "red cars" or "fast vehicle": the one positive finds no negative
    rows = [("red cars", "i1", "fast vehicle", 1.0), ("red cars", "i1", "red car", 1.0), ("!!", "i2", "red fast", 1.0)]
    stats: dict = {}
    with pytest.raises(MmweError, match=r"removed: query_without_words=1, stem_overlap=1, no_negative=1;"):
        mine_triplets(rows, MineConfig(), stats=stats)
    assert stats["candidates"] == 3 and stats["positives"] == 0
