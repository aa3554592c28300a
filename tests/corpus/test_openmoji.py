"""mmwe.corpus.openmoji: CLDR annotations, emoji keys and sentences, the built-in OpenMoji corpus."""

from __future__ import annotations

import os

import pytest

from mmwe.corpus import build_corpus, corpus_vocabulary
from mmwe.corpus.openmoji import cldr_annotations, emoji_key, emoji_sentences, openmoji_svgs, split_of
from tests.corpus.conftest import records


# -- openmoji ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def openmoji_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("om") / "openmoji"
    return out, build_corpus(["openmoji"], out)


def test_cldr_annotations_and_keys():
    ann = cldr_annotations()
    assert ann["1F600"] == ("grinning face", ("face", "grin", "grinning face"))
    assert emoji_key("😀") == "1F600" and emoji_key("❤️") == "2764"  # FE0F stripped
    assert "2764" in ann and ann["2764"][0] == "red heart"
    assert emoji_sentences("grinning face", ("face", "grin", "grinning face")) == ["grinning face : face , grin"]
    assert emoji_sentences("rocket", ("rocket",)) == ["rocket"]
    assert emoji_sentences("cat face", ("cat", "pet"), "separate") == ["cat face", "cat", "pet"]


def test_openmoji_corpus(openmoji_corpus):
    out, m = openmoji_corpus
    n_svg = len(openmoji_svgs())
    assert m["counts"]["images"] == len(cldr_annotations()) > 3000
    assert m["counts"]["images"] + m["removed"]["bad_records"]["no_cldr_annotation"] == n_svg
    assert m["preprocess"]["min_words"] == 1 and m["split_config"]["test_fraction"] == 0.2
    recs = {r.image: r for r in records(out)}
    assert recs["1F600"].sentences == ["grinning face face grin"]
    assert recs["1F600"].image_path.endswith("/1F600.svg") and os.path.isfile(recs["1F600"].image_path)
    assert all(r.split == split_of(k) for k, r in recs.items())
    v = corpus_vocabulary(out)
    assert v.itos[4:6] == ["skin", "tone"] and len(v) - 4 == m["counts"]["vocabulary"]["words"]
