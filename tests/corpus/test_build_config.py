"""mmwe.corpus.build.build_config: `mmwe corpus build`'s settings over the readers' defaults, in one call."""

from __future__ import annotations

import pytest

from mmwe.corpus import BuildConfig, PreprocessConfig, ReadOptions, SplitConfig, build_config
from mmwe.errors import MmweError


def test_settings_given_override_the_readers_defaults_field_by_field():
    cfg = build_config(["openmoji"], min_count=7, seed=4, check_images=False, shard_size=50)
    # openmoji's own defaults (min_words 1, min_count 2, val 0.1, test 0.2) where nothing was given
    assert cfg.preprocess == PreprocessConfig(min_words=1, dedup_threshold=0.8, min_count=7)
    assert cfg.split == SplitConfig(val_fraction=0.1, test_fraction=0.2, seed=4)
    assert cfg.read == ReadOptions(check_images=False)
    assert (cfg.reader, cfg.shard_size, cfg.row_group_size) == ("auto", 50, BuildConfig().row_group_size)


def test_a_named_reader_and_no_settings_give_its_defaults(jsonl_sample):
    cfg = build_config([str(jsonl_sample)], reader="jsonl")
    assert cfg.reader == "jsonl" and cfg.preprocess == PreprocessConfig() and cfg.split == SplitConfig()


def test_an_unknown_setting_is_refused():
    with pytest.raises(MmweError, match="expected corpus build settings, got nosuch"):
        build_config(["openmoji"], nosuch=1)
