"""K nearest neighbours of every row of a matrix among the other rows (the machinery behind mNNO).

One interface, four interchangeable backends (``BACKENDS``):

* ``"exact"`` (default): blocked search that never holds an N x N matrix (memory O(N*K + block^2)), with
  exact tie handling (below). It walks the block pairs (I, J) with I < J once, computes ``S = X_I X_J^T``
  with one float32 GEMM and uses it for the rows of I *and*, transposed, for the rows of J, so it does about
  half the multiply-adds of a plain query-vs-database search (diagonal blocks are cut smaller, as half of a
  diagonal square is redundant). Each row keeps a running list; after the diagonal squares have seeded it, a
  block is only scanned where it can reach the row's current K-th score (max-pooled over groups of
  ``_POOL`` entries, so the scan is a cheap reduction rather than a selection). ``knn_many`` runs the
  searches of several sets side by side. Timings: benchmarks/README.md.
* ``"torch"``: the exact search with its float32 GEMMs in torch, on CUDA when a GPU is there (else on the CPU):
  blocks of query rows against blocks of all rows, running lists of the K + ``_SPARE`` best float32 scores and
  the best dropped score kept on the device. The lists then go through the exact backend's own float64
  ordering (``_order_lists``, ``_resolve_rows``): same tie rule, same self handling, the same result. TF32 is
  off during the search (the error bound of ``_margins`` is a float32 one).
* ``"faiss"``: faiss exact flat index (``IndexFlatIP`` / ``IndexFlatL2`` via ``faiss.knn``). Exact distances,
  but faiss does not promise which of several exactly tied points it returns at the K-th place.
* ``"hnsw"``: faiss ``IndexHNSWFlat`` (M=32, efConstruction=200, efSearch=max(128, 4K)); approximate, for N
  well beyond 10^5. Recall depends strongly on the data: ``knn_recall`` measures it (and ``mnno_report``
  reports it); measured figures are in benchmarks/README.md.

Scores: cosine = x.y / (|x| |y|) (zero rows score 0 with everything, as in scikit-learn); euclidean =
-(squared distance); dot = raw inner product. Nearest first; ``ties="index"`` (default) breaks exact ties by
the lower row index.

``include_self``: ``False`` (default) lists the K nearest *other* rows. ``True`` counts each row as its own
first neighbour followed by its K-1 nearest other rows.

``ties="sklearn"`` reproduces Collell & Moens' released procedure bit for bit by running it: scikit-learn's
brute ``NearestNeighbors(n_neighbors=K, metric=...).fit(X)``, then ``kneighbors(X)`` (``include_self=True``:
the query points are the fitted points, so each row is usually its own first neighbour) or ``kneighbors()``
(``include_self=False``: scikit-learn drops the query point itself). scikit-learn breaks exact ties at the
K-th place by its own float rounding and partial sort, so among exactly duplicated rows its choice differs
from the lower-index rule (on IAPR TC-12, K = 10, self counted: 0.170795 cosine vs 0.170642 with
``ties="index"``). That rounding depends on the BLAS kernel, so scikit-learn's result (and this one) can differ
between CPUs (on an OpenBLAS SkylakeX machine it gave 0.170642). Cosine and euclidean only; memory is
scikit-learn's (chunked, ``working_memory``).

The package, in data-flow order: ``scoring`` (input checks, working rows, the a-priori error bounds of float32 and
bf16 scores, thread settings), ``rescore`` (the float64 order, re-search of unresolved rows), ``exact`` (the blocked
candidate search), ``torch_backend`` (and ``knn_graph``, the K-NN graph of the ``graph`` map loss), ``approximate``
(scikit-learn, faiss), ``api`` (``knn``, ``knn_many``, backend and precision choice, several processes).
"""

from __future__ import annotations

from mmwe.neighbors.api import (
    BACKENDS,
    backend_on,
    exact_rows,
    knn,
    knn_many,
    knn_recall,
    overlap_counts,
    resolve_precision,
    torchrun_ranks,
)
from mmwe.neighbors.approximate import HnswConfig
from mmwe.neighbors.scoring import METRICS, PRECISIONS, TIES, Backend, Metric, Precision, Ties, check_knn_input
from mmwe.neighbors.torch_backend import knn_graph

__all__ = ["BACKENDS", "METRICS", "PRECISIONS", "TIES", "Backend", "HnswConfig", "Metric", "Precision", "Ties",
           "backend_on", "check_knn_input", "exact_rows", "knn", "knn_graph", "knn_many", "knn_recall",
           "overlap_counts", "resolve_precision", "torchrun_ranks"]
