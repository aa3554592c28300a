"""ImageNet-1k concepts: class list, classifier rows, and the class-word rule."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.datasets.imagenet import class_lemma_vectors, concept_pairs, concept_word, lemma_tokens
from mmwe.errors import MmweError
from mmwe.vectors import Vectors
from mmwe.vision.efficientnet import classifier_weights, imagenet_classes


def _vecs(words: dict[str, list[float]]) -> Vectors:
    return Vectors(list(words), np.array(list(words.values()), dtype=np.float32), source="<test>")


def test_classes_in_class_index_order():
    cls = imagenet_classes()
    assert len(cls) == 1000
    assert cls[0] == ("n01440764", ["tench", "Tinca tinca"])
    assert cls[281][1][0] == "tabby" and cls[999][0] == "n15075141"
    assert len({s for s, _ in cls}) == 1000


def test_classifier_rows_follow_the_class_order():
    W = classifier_weights()
    assert W.shape == (1000, 1280) and W.dtype == np.float32
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    S = U @ U.T
    np.fill_diagonal(S, -1)
    # a wrong class order would break these: tabby's nearest rows are cats, analog clock's are clocks
    assert int(np.argmax(S[281])) in (282, 283, 284, 285)  # tiger cat, Persian, Siamese, Egyptian cat
    assert int(np.argmax(S[409])) in (892, 530)  # wall clock, digital clock
    W[0, 0] = 123.0  # callers get a copy
    assert classifier_weights()[0, 0] != 123.0


def test_lemma_tokens_rule():
    v = _vecs({"white": [1, 0], "shark": [0, 1], "tree": [1, 1], "frog": [2, 2]})
    assert lemma_tokens("White shark", v) == ["white", "shark"]
    assert lemma_tokens("tree-frog", v) == ["tree", "frog"]  # hyphenated word missing whole: split
    assert lemma_tokens("great white shark", v) is None  # one missing word: the lemma is unusable


def test_concept_word_first_usable_untaken_lemma_averaged():
    v = _vecs({"white": [1.0, 0.0], "shark": [0.0, 1.0], "crane": [5.0, 5.0]})
    key, vec = concept_word(["great white shark", "white shark", "shark"], v, set())
    assert key == "white_shark"
    np.testing.assert_allclose(vec, [0.5, 0.5])
    assert concept_word(["white shark", "shark"], v, {"white_shark"})[0] == "shark"
    assert concept_word(["crane"], v, {"crane"}) is None  # the second 'crane' class is dropped


def test_concept_pairs_with_small_vocabulary():
    v = _vecs({"tench": [1.0, 2.0], "goldfish": [3.0, 4.0], "crane": [0.0, 1.0]})
    words, X, Y, dropped = concept_pairs(v)
    assert words == ["tench", "goldfish", "crane"]  # class-index order; the 2nd crane class has no other lemma
    assert X.shape == (3, 2) and Y.shape == (3, 1280) and len(dropped) == 997
    W = classifier_weights()
    np.testing.assert_array_equal(Y[1], W[1])
    np.testing.assert_array_equal(Y[2], W[134])  # crane (bird) comes first in class order
    assert "n03126707" in dropped  # crane (machine)


def test_concept_pairs_without_any_word_raises():
    with pytest.raises(MmweError, match="expected word vectors for some ImageNet class lemmas"):
        concept_pairs(_vecs({"zzz": [1.0]}))


def test_concept_pairs_real_glove():
    from mmwe.vectors import load

    words, X, Y, dropped = concept_pairs(load("glove-6b-50d"))
    assert len(words) + len(dropped) == 1000 and len(set(words)) == len(words)
    assert len(words) > 950  # almost every class has a usable lemma
    assert X.shape == (len(words), 50) and np.isfinite(X).all()


def test_class_lemma_vectors_keys_every_single_word_lemma():
    v = class_lemma_vectors()
    W = classifier_weights()
    np.testing.assert_array_equal(v["tabby"], W[281])
    np.testing.assert_array_equal(v["crane"], W[134])  # first class wins
    assert "great_white_shark" not in v and "man-eater" in v
