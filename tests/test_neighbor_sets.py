"""mmwe.neighbor_sets: the explorer's neighbour lists are the k-NN of all rows, uncapped their mean NNO is the mNNO,
and the errors."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.neighbor_sets import neighbour_set, read_neighbour_set, write_neighbour_set

# -- neighbour sets (the explorer's data) -------------------------------------------------------------------


def _toy_spaces(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    return {"x": X, "y": rng.normal(size=(n, 4)), "fx": X @ rng.normal(size=(5, 4)) + 0.5 * rng.normal(size=(n, 4))}


@pytest.mark.parametrize("include_self", [False, True])
def test_neighbour_set_lists_are_the_knn_of_all_rows(include_self, tmp_path):
    from mmwe.neighbors import knn

    spaces = _toy_spaces()
    names = [f"item{i}" for i in range(60)]
    view = {"label": "v", "columns": ["x", "y", "fx"], "headers": ["X", "Y", "f(X)"], "mnno": {}}
    s = neighbour_set(title="toy", names=names, spaces=spaces, views=[view], k=4, include_self=include_self,
                      cap=25, seed=3)
    assert s["capped"] and len(s["query"]) == 25 and s["n_total"] == 60
    rows = np.array(s["rows"])
    assert (np.diff(rows) > 0).all() and [names[r] for r in rows] == s["names"]
    for name, X in spaces.items():
        want = knn(X, 4, metric="cosine", include_self=include_self)  # searched among all 60 rows
        for qi, p in enumerate(s["query"]):
            assert rows[s["spaces"][name][qi]].tolist() == want[rows[p]].tolist()
    if include_self:
        assert all(s["spaces"]["x"][qi][0] == p for qi, p in enumerate(s["query"]))
    again = read_neighbour_set(write_neighbour_set(s, tmp_path / "nb.json"))
    assert again == s


def test_neighbour_set_uncapped_mean_nno_is_the_mnno():
    from mmwe.metrics.overlap import mnno

    spaces = _toy_spaces(n=40)
    s = neighbour_set(title="toy", names=[str(i) for i in range(40)], spaces=spaces, views=[], k=5,
                      include_self=True, cap=500)
    assert not s["capped"] and len(s["query"]) == 40
    nno = [len(set(a) & set(b)) / 5 for a, b in zip(s["spaces"]["x"], s["spaces"]["fx"])]
    assert np.mean(nno) == pytest.approx(mnno(spaces["x"], spaces["fx"], k=5, include_self=True))


def test_neighbour_set_errors():
    spaces = _toy_spaces(n=20)
    with pytest.raises(MmweError, match="expected 19 rows in space"):
        neighbour_set(title="t", names=["a"] * 19, spaces=spaces, views=[], k=3)
    with pytest.raises(MmweError, match="view columns among the spaces"):
        neighbour_set(title="t", names=["a"] * 20, spaces=spaces, views=[{"columns": ["x", "z", "fx"]}], k=3)
    with pytest.raises(MmweError, match="explorer cap of at least 1"):
        neighbour_set(title="t", names=["a"] * 20, spaces=spaces, views=[], k=3, cap=0)
