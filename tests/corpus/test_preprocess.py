"""mmwe.corpus.preprocess: the paper's sentence cleaning (near-duplicates, length), the deterministic split."""

from __future__ import annotations

import pytest

from mmwe.corpus import SPLITS, PreprocessConfig, SplitConfig, Tally, assign_split, clean_sentences
from mmwe.corpus.preprocess import overlap, unit_hash
from mmwe.errors import MmweError


# -- pre-processing -----------------------------------------------------------------------------------------
def test_clean_sentences_exact():
    tally = Tally()
    kept = clean_sentences([
        "A man riding a wave on top of a surfboard.",
        "a man riding a wave on a surfboard",  # word set inside the first one: overlap 1.0
        "Man surfing",  # 2 words
        "!!!",  # nothing alphanumeric
        "The surfer rides a big wave near the shore.",  # overlap 2/8 with the first
        "x" * 10_001,
    ], PreprocessConfig(), tally)
    assert kept == ["a man riding a wave on top of a surfboard", "the surfer rides a big wave near the shore"]
    assert tally.removed_sentences == {"near_duplicate": 1, "too_short": 1, "empty": 1, "too_long": 1}
    assert tally.sentences_read == 6


def test_dedup_threshold_boundary_and_min_words():
    a, b = "alpha beta gamma delta epsilon", "alpha beta gamma delta zeta"  # overlap 4/5 = 0.8
    assert overlap(set(a.split()), set(b.split())) == pytest.approx(0.8)
    assert clean_sentences([a, b], PreprocessConfig(dedup_threshold=0.8), Tally()) == [a]
    assert clean_sentences([a, b], PreprocessConfig(dedup_threshold=0.81), Tally()) == [a, b]
    assert clean_sentences(["one two three", a], PreprocessConfig(min_words=3), Tally()) == ["one two three", a]
    assert clean_sentences([a, a], PreprocessConfig(dedup_threshold=1.5), Tally()) == [a, a]  # > 1 disables


def test_split_deterministic_and_fractions():
    cfg = SplitConfig(val_fraction=0.1, test_fraction=0.2, seed=0)
    keys = [f"img{i:05d}.jpg" for i in range(20_000)]
    first = [assign_split(k, cfg) for k in keys]
    assert first == [assign_split(k, cfg) for k in keys]
    share = {s: first.count(s) / len(keys) for s in SPLITS}
    assert share["test"] == pytest.approx(0.2, abs=0.015) and share["val"] == pytest.approx(0.1, abs=0.015)
    other = [assign_split(k, SplitConfig(0.1, 0.2, seed=1)) for k in keys]
    assert other != first
    assert {assign_split(k, SplitConfig(0.0, 0.0)) for k in keys[:500]} == {"train"}
    # golden value (blake2b-64 of "0\x001F600" = 0x35a06530fd676954): stable across machines and runs
    assert unit_hash("1F600", 0) == 0x35A06530FD676954 / 2**64
    assert assign_split("1F600", SplitConfig(0.1, 0.2, 0)) == "val"  # 0.2095 is just past the 20% test bucket
    with pytest.raises(MmweError, match="val \\+ test <= 1"):
        SplitConfig(0.6, 0.6).validate()
