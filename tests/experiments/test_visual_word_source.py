"""Where the visual-word experiments find their corpus: folders as given, built-in names built once in the cache."""

from __future__ import annotations

import json

import pytest

from mmwe.corpus.ensure import CorpusSpec, parse_spec
from mmwe.errors import MmweError
from mmwe.experiments.visual_word_source import VisualWordsConfig, corpus_folder


def test_builtin_corpus_is_built_in_a_fresh_cache_dir_then_reused(tmp_path):
    """A --cache-dir that does not exist yet (a newcomer's first run) is created, not refused."""
    cache = tmp_path / "not" / "yet"
    logs: list[str] = []
    out = corpus_folder(VisualWordsConfig(corpus="openmoji", cache_dir=str(cache)), log=logs.append)
    assert out == cache / "corpora" / "openmoji"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["images"] == 3642  # the OpenMoji SVGs with a CLDR annotation
    assert len(logs) == 1 and "building the corpus openmoji" in logs[0]
    assert corpus_folder(VisualWordsConfig(corpus="openmoji", cache_dir=str(cache)), log=logs.append) == out
    assert len(logs) == 1  # built once


def test_corpus_source_errors(tmp_path):
    with pytest.raises(MmweError, match="without one"):
        parse_spec(str(tmp_path))
    with pytest.raises(MmweError, match="built-in names joined by"):
        parse_spec("openmoji+nosuch")
    assert parse_spec("openmoji+art4apps") == CorpusSpec(None, ("openmoji", "art4apps"))
