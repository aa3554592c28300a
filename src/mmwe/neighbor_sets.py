"""Neighbour sets: the K nearest neighbours of named items in several spaces, as JSON (the report's explorer).

A *neighbour set* is a JSON-ready dict describing one run's items and their K nearest neighbours in each
space (e.g. X = image vectors, Y = text vectors, f(X) = a map's out-of-fold predictions):

* ``rows``: original row number of every embedded item, sorted; ``names`` (and, for IAPR TC-12, ``labels``:
  the label ids of the row) are aligned with it. Only items that are queried or appear as a neighbour of a
  queried item are embedded.
* ``query``: positions (into ``rows``) of the items one can look up, at most ``cap`` of them; ``capped`` says
  whether the run had more.
* ``spaces[name]``: (len(query), K) neighbour positions (into ``rows``), nearest first, computed by
  ``mmwe.neighbors.knn`` on *all* the run's items (the cap only limits what is embedded, not the search).
* ``views``: presets of three columns ``[x, y, fx]`` (space names) with headers; the page highlights the
  neighbours each column shares with the last one, and the item's NNO = shared / K.

Neighbours follow the run's own setting of ``include_self``, so that the mean NNO over all items equals the
run's mNNO (with ``include_self`` an item is its own first neighbour).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmwe.errors import MmweError
from mmwe.fileio import atomic_write
from mmwe.neighbors import knn_many

FORMAT = "mmwe-neighbors"
DEFAULT_CAP = 500  # items one can look up per run: keeps report.html small (~10 ints per item and space)


def query_rows(n: int, cap: int, *, order: str = "sample", seed: int = 0) -> np.ndarray:
    """Sorted rows offered in the explorer: all of them when n <= cap, else the first ``cap`` rows
    (``order="first"``, e.g. a vocabulary sorted by frequency) or a seeded sample (``"sample"``)."""
    if cap < 1:
        raise MmweError(f"expected an explorer cap of at least 1 item, got {cap}")
    if n <= cap:
        return np.arange(n)
    if order == "first":
        return np.arange(cap)
    return np.sort(np.random.default_rng(seed).choice(n, size=cap, replace=False))


def neighbour_set(*, title: str, names: Sequence[str], spaces: dict[str, np.ndarray], views: list[dict],
                  k: int, metric: str = "cosine", include_self: bool = False, cap: int = DEFAULT_CAP,
                  order: str = "sample", seed: int = 0, labels: Sequence[Sequence[int]] | None = None,
                  note: str = "") -> dict:
    """The neighbour set (see the module docstring) of ``names`` in each of ``spaces`` ((N, d_s) arrays)."""
    n = len(names)
    for s, X in spaces.items():
        if X.shape[0] != n:
            raise MmweError(f"expected {n} rows in space {s!r} (one per item), got {X.shape[0]}")
    for v in views:
        missing = [c for c in v["columns"] if c not in spaces]
        if missing:
            raise MmweError(f"expected view columns among the spaces {sorted(spaces)}, got {missing}")
    query = query_rows(n, cap, order=order, seed=seed)
    nns = knn_many(list(spaces.values()), k, metric=metric, include_self=include_self)  # each (N, k)
    picked = {s: nn[query] for s, nn in zip(spaces, nns)}  # (Q, k) original rows
    rows = np.union1d(query, np.concatenate([p.ravel() for p in picked.values()]))
    pos = {int(r): i for i, r in enumerate(rows)}

    def local(a: np.ndarray) -> list:
        return [[pos[int(r)] for r in line] for line in a]

    out = {"format": FORMAT, "version": 1, "title": title, "k": k, "metric": metric, "include_self": include_self,
           "n_total": n, "cap": cap, "capped": n > cap, "note": note,
           "rows": rows.tolist(), "names": [str(names[r]) for r in rows],
           "query": [pos[int(r)] for r in query], "spaces": {s: local(p) for s, p in picked.items()},
           "views": views}
    if labels is not None:
        out["labels"] = [sorted(int(t) for t in labels[r]) for r in rows]
    return out


def write_neighbour_set(nset: dict, path: str | os.PathLike) -> Path:
    """Write a neighbour set as compact JSON (atomic)."""
    with atomic_write(path, "w", encoding="utf-8") as fh:
        json.dump(nset, fh, separators=(",", ":"))
        fh.write("\n")
    return Path(path)


def read_neighbour_set(path: str | os.PathLike) -> dict:
    """A neighbour set written by ``write_neighbour_set``; MmweError when it is not one."""
    try:
        nset = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MmweError(f"expected a readable neighbour JSON file, got {type(exc).__name__}: {exc}; "
                        "fix: re-run the reproduction to rewrite it", path=path) from exc
    if not isinstance(nset, dict) or nset.get("format") != FORMAT:
        raise MmweError(f"expected a JSON object with format {FORMAT!r}, got something else; "
                        "fix: re-run the reproduction to rewrite it", path=path)
    return nset
