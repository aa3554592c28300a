"""mmwe.vectors.container: the Vectors container (lookup, unit rows, subset, intersect, errors), the one duplicate-
word check and the gensim round trip."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.vectors import Vectors
from tests.vectors.conftest import _assert_same, _tricky_vectors

# -- container ----------------------------------------------------------------------------------------


def test_container_lookup_unit_subset_intersect():
    v = Vectors(["a", "b", "c"], np.array([[3, 4], [0, 0], [1, 0]], dtype=np.float64))
    assert v.matrix.dtype == np.float32 and v.dim == 2 and len(v) == 3
    assert "a" in v and "z" not in v
    np.testing.assert_array_equal(v["a"], [3, 4])
    assert v.get("z") is None and v.get("z", 7) == 7
    np.testing.assert_array_equal(v.indices(["c", "z", "a"]), [2, -1, 0])
    np.testing.assert_allclose(v.unit, [[0.6, 0.8], [0, 0], [1, 0]])  # zero row stays zero
    assert v.subset(["c", "a"]).words == ["c", "a"]
    with pytest.raises(KeyError, match="not in vocabulary"):
        v["z"]
    w = Vectors(["c", "x", "a"], np.array([[1, 0], [5, 5], [0, 1]]))
    a, b = v.intersect(w)
    assert a.words == b.words == ["a", "c"]
    np.testing.assert_array_equal(b.matrix, [[0, 1], [1, 0]])


def test_container_errors():
    with pytest.raises(MmweError, match=r"duplicate word 'b' \(rows 2 and 4\)"):
        Vectors(["a", "b", "c", "b"], np.zeros((4, 2)))
    with pytest.raises(MmweError, match="3 words but 2 vectors"):
        Vectors(["a", "b", "c"], np.zeros((2, 2)))
    with pytest.raises(MmweError, match="2-D matrix"):
        Vectors(["a"], np.zeros(2))


def test_first_duplicate_is_the_one_check():
    from mmwe.vectors import first_duplicate

    assert first_duplicate([]) is None and first_duplicate(["a", "b", "c"]) is None
    assert first_duplicate(["a", "b", "c", "b", "a"]) == (1, 3)  # the first repeat in order, with its original
    assert first_duplicate(["x", "x"]) == (0, 1)
    rng = np.random.default_rng(0)
    for _ in range(50):  # against a slow oracle: every pair, smallest j then its i
        words = [str(x) for x in rng.integers(0, 12, rng.integers(0, 10))]
        pairs = [(i, j) for j in range(len(words)) for i in range(j) if words[i] == words[j]]
        assert first_duplicate(words) == (min(pairs, key=lambda p: p[1]) if pairs else None)


def test_gensim_round_trip():
    v = _tricky_vectors()
    kv = v.to_gensim()
    assert list(kv.index_to_key) == v.words
    np.testing.assert_array_equal(kv["naïve"], v["naïve"])
    _assert_same(Vectors.from_gensim(kv), v)
