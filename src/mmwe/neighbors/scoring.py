"""Input checks, the float32 working rows, the a-priori error bounds of the candidate scores, thread settings.

Exactness (``ties="index"``). A float32 GEMM rounds: two exactly equal scores (duplicated rows, integer or 0/1
data) can come out different, and which one wins would depend on the BLAS blocking, i.e. on the thread count.
So the float32 scores only *select candidates*; the order is decided by a float64 re-score:

1. The float32 error of every score is bounded a priori: |s32 - s| <= delta_i (``_margins``: the worst-case
   GEMM bound (2d + 16) * 2^-24, scaled by the norms for euclidean / dot).
2. Each row's list keeps K + ``_SPARE`` entries, is fed with every entry that comes within 2 delta_i of the
   row's K-th score, and remembers the best score it ever dropped (``runner``). If that runner-up is more than
   2 delta_i below the final K-th score, the true top K are provably inside the list; otherwise (a large tie
   group at the K-th place) the row is searched again against all rows and every candidate within the margin
   is kept (``_resolve_rows``, O(block^2) memory per chunk of rows).
3. Candidates whose float32 scores lie within 2 delta_i of each other are re-scored in float64
   (``_KeyContext.keys``) and ordered by (float64 score desc, index asc). The float64 score is a fixed-order
   sum, a function of the two rows' values alone: duplicated rows get bit-identical scores, and it is exact
   whenever the sums are exactly representable (integer data with |x|^2 d < 2^26, 0/1 data): exact ties stay
   ties and the lower-index rule applies to them exactly. Cosine is compared as sign(x.y) (x.y)^2 / (|x|^2 |y|^2),
   which is exact on integer data (equal cosines give equal keys; no square root).

The results do not depend on the thread count or the block size. Where the float64 sums round (general
float data), scores closer than ~d 2^-53 are ordered by that fixed rounding, not by exact arithmetic.

bf16 candidates (``precision="bf16"``), still exact. The candidate GEMMs may run on bf16 matrix units (torch,
oneDNN on the CPU: AMX or AVX512-BF16; cuBLAS on CUDA); only step 1's bound changes, steps 2-3 are the same code,
so the lists are identical to the float32 path's. Let y be the float32 working rows (the rows the float32 GEMM
multiplies; step 1's bound covers how far y.y' is from the exact score), u = 2^-8 the unit roundoff of bf16
(8-bit significand, 7 bits stored: half an ulp of [1, 2) is 2^-8; issue 21's "2^-9" is half of it):

* inputs: each y_k is rounded to nearest bf16 (torch's conversion rounds to nearest even): y^ = y - r with
  |r_k| <= u |y_k|. y.x - y^.x^ = y^.r_x + r_y.x^ + r_y.r_x, so (Cauchy-Schwarz) it is at most
  |y^| |r_x| + |r_y| |x^| + |r_y| |r_x|, with the residual norms |r| of the actual rows (at most u |y|; about
  0.42 u |y| on random rows, so this term is ~2.4x narrower than the (2u + u^2) |y| |x| worst case);
* products: two 8-bit significands multiply exactly into a float32 (16 <= 24 bits);
* accumulation in float32 (oneDNN / cuBLAS with float32 compute; on CUDA reduced-precision reductions are turned
  off for the search), any order, any split: at most gamma_d = d 2^-24 / (1 - d 2^-24) times sum |y^_k x^_k|
  <= gamma_d (1 + u)^2 |y| |x|;
* output: torch returns bf16 from a bf16 matmul on the CPU (no float32-output variant there), one more rounding
  to nearest: u |s^| <= u / (1 - u) |s_bf16| for the score actually returned. Cosine and dot bound it per score
  (``_bf16_rel``, ``mmwe.neighbors.rescore._TopK.band``): near a K-th score of 0.2 it is 0.2 u, not u; euclidean
  scores round 2 x.y, so there it is u (1 + gamma_d) |y^| |x^|_max per row;
* flushes: bf16 units treat subnormal inputs and results as zero: at most 2^-126 per input (times the other
  operand's max |y_k|), per product, per partial sum and on the output: (2d max|y_k| + 2d + 4) 2^-126.

So |s_bf16 - s| <= delta_fp32 + 1.25 (|y^| rho_max + rho |x^|_max + rho rho_max + gamma_d |y^| |x^|_max) + flushes
+ 1.25 u / (1 - u) |s_bf16| per row (``_margins(..., "bf16")``, ``_bf16_extra``, ``_bf16_rel``; euclidean: the dot's
bound doubled, output term per row). On random unit rows at d = 300: 0.0042-0.0050 + 0.0049 |s|, i.e. ~0.006 at
a K-th cosine of 0.2 (the worst case of every term, 0.0148, would let ~2.5x as many candidates through).

A wider margin means more candidates per row (measured: 18 within it for K = 10 on 30k x 300 random rows), so the
bf16 lists keep K + ``_SPARE_BF16`` slots. Then every listed entry is re-scored with the float32 formula
(``mmwe.neighbors.rescore._rescore32``; error <= delta_fp32) and the row re-sorted; the runner-up (a bf16 score)
is raised by delta_bf16 - delta_fp32, so step 2's test becomes runner + delta_bf16 >= K-th float32 score -
delta_fp32. From there on it is the float32 path: the float64 keys only for float32 near-ties, the re-search (in
float32) only for rows whose runner-up may reach the K-th score. ``precision="auto"``
(``mmwe.neighbors.api.resolve_precision``) picks bf16 on CUDA and on CPUs with AMX (``amx_bf16`` in /proc/cpuinfo)
once the search is big enough to pay for importing torch; float32 elsewhere (with AVX512-BF16 alone the whole bf16
search measured 0.79-0.88x float32's speed at N = 30k, 1.01-1.14x at 100k).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Literal, get_args

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from mmwe.errors import MmweError
from mmwe.validation import check_k, check_matrix

SEARCH = "neighbour search"  # the ``what`` of the searches' progress(done, total, what) (block pairs)

Metric = Literal["cosine", "euclidean", "dot"]


Backend = Literal["exact", "torch", "faiss", "hnsw"]


Ties = Literal["index", "sklearn"]


Precision = Literal["auto", "fp32", "bf16"]


METRICS, TIES, PRECISIONS = get_args(Metric), get_args(Ties), get_args(Precision)  # the choices, one home each

_POOL = 16  # entries per max-pooled group when scanning a block for candidates (blocks are padded to it)
_SPARE = 2  # list slots beyond K: near-ties at the K-th place are resolved from the list, without a re-search
_SPARE_BF16 = 22  # list slots beyond K with bf16 candidates (their margin is 160x wider at d = 300)
_IDX_CAP = 2**31 - 1  # row indices must stay below this (2 billion rows)
_NO_INDEX = _IDX_CAP  # index of an empty list slot (sorts after every real index)
_U32 = 2.0**-24  # unit roundoff of float32
_UBF16 = 2.0**-8  # unit roundoff of bf16: 8-bit significand (7 stored bits), half an ulp at 1 is 2^-8
_KEY_CHUNK = 1 << 21  # float64 re-scoring: at most this many values (16 MB) per gathered operand
_ROWS_CELLS = 1 << 24  # exact_rows: at most this many scores (64 MB) in one query-vs-all block
_EXACT_INT = 2.0**26  # integer data with d * max|x|^2 below this: every float64 sum of the keys is exact


def check_knn_input(X: np.ndarray, k: int | None, *, name: str = "matrix") -> np.ndarray:
    """Validate a (N, d) matrix of finite reals (for a k-neighbour search when k is given; else N >= 2)."""
    X = check_matrix(X, name=name, dtype=None, min_rows=0 if k is not None else 2, min_cols=0, finite=False)
    if k is not None:
        check_k(k, X.shape[0], name=name)
    return check_matrix(X, name=name, dtype=None, min_rows=0, min_cols=0)  # finite, first bad row 1-based


def _check_options(metric: str, ties: str) -> None:
    if metric not in METRICS:
        raise MmweError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    if ties not in TIES:
        raise MmweError(f"ties must be one of {', '.join(TIES)}; got {ties!r}")


def _scoring_rows(X: np.ndarray, metric: str, n_rows: int | None = None,
                  chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows as float32 for the GEMM, plus squared norms for euclidean (None otherwise).

    One float32 working copy, filled ``chunk`` rows at a time (no full-size float64 or second float32
    temporary: at N = 10^6 x 300 each of those would be 1.2-2.4 GB). ``n_rows`` >= len(X) pads with zero rows.
    Euclidean rows are centred on the float64 mean: distances do not change, norms get small (accurate
    float32); the rounding this adds is inside the margin of ``_margins``.
    """
    _check_options(metric, "index")
    n = len(X)
    Y = np.zeros((max(n, n_rows or 0), X.shape[1]), dtype=np.float32)
    sq = np.zeros(len(Y), dtype=np.float32) if metric == "euclidean" else None
    if metric == "euclidean":  # centre on the float64 mean (summed by chunk, without a float64 copy of X)
        mean = sum(np.asarray(X[s:s + chunk], dtype=np.float64).sum(axis=0) for s in range(0, n, chunk)) / n
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        if metric == "euclidean":
            Y[s:e] = (np.asarray(X[s:e], dtype=np.float64) - mean).astype(np.float32)
            sq[s:e] = np.einsum("ij,ij->i", Y[s:e], Y[s:e], dtype=np.float32)
            continue
        if metric == "cosine":  # unit rows, normalised in float64 (tiny rows would underflow in float32)
            x = np.asarray(X[s:e], dtype=np.float64)
            norms = np.linalg.norm(x, axis=1)[:, None]
            Y[s:e] = x / np.where(norms == 0, 1, norms)
        else:
            Y[s:e] = X[s:e]
    return Y, sq


def _bf16_rows(Y: np.ndarray, n: int, chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray, float]:
    """(|y^_i|, |y_i - y^_i|, max |y_k|) of the first n rows: norms of the rows as torch rounds them to bf16 (the
    values the GEMM multiplies) and of the rounding residuals, in float64."""
    import torch

    nu, rho, top = np.zeros(n), np.zeros(n), 0.0
    for a in range(0, n, chunk):
        y = np.asarray(Y[a:min(a + chunk, n)])
        r = torch.from_numpy(np.ascontiguousarray(y)).to(torch.bfloat16).float().numpy().astype(np.float64)
        nu[a:a + len(y)] = np.linalg.norm(r, axis=1)
        rho[a:a + len(y)] = np.linalg.norm(y - r, axis=1)  # exact: y - y^ is a float32 residual
        top = max(top, float(np.abs(y).max(initial=0.0)))
    return nu, rho, top


def _bf16_rel(metric: str, precision: str) -> float:
    """Cosine and dot in bf16: the output rounding, rel |s| (a 1.25 safety factor on top), is bounded per score
    (``_TopK.band``) instead of by |y^| |x^|_max; euclidean rounds 2 x.y, not the score: in ``_bf16_extra``."""
    return 1.25 * _UBF16 / (1 - _UBF16) if precision == "bf16" and metric != "euclidean" else 0.0


def _bf16_extra(Y: np.ndarray, n: int, chunk: int = 1 << 16, output: bool = True) -> tuple[np.ndarray, float]:
    """(n,) bound on |bf16 GEMM dot - y_i.y_j| over all j (module docstring), and the flush term.

    y.x - y^.x^ = y^.r_x + r_y.x^ + r_y.r_x with r = y - y^, so by Cauchy-Schwarz it is at most
    nu_i rho_max + rho_i nu_max + rho_i rho_max (nu = |y^|, rho = |r| <= u |y|); the float32 sum of the exact
    products adds gamma_d nu_i nu_max, the bf16 output u (1 + gamma_d) nu_i nu_max. A 1.25 safety factor on top.
    """
    d = Y.shape[1]
    u, g = _UBF16, d * _U32 / (1 - d * _U32)
    nu, rho, top = _bf16_rows(Y, n, chunk)
    nu_max, rho_max = nu.max(initial=0.0), rho.max(initial=0.0)
    pair = nu * rho_max + rho * nu_max + rho * rho_max + (g + (u * (1 + g) if output else 0.0)) * nu * nu_max
    return 1.25 * pair, 1.25 * (2 * d * top + 2 * d + 4) * 2.0**-126


def _margins(Y: np.ndarray, sq: np.ndarray | None, metric: str, n: int, precision: str = "fp32",
             chunk: int = 1 << 16) -> np.ndarray:
    """(len(Y),) float64: 2 * delta_i, twice a bound on |computed score - exact score| over row i's entries.

    A float32 dot product of d terms errs by at most ~d 2^-24 sum|x_k y_k| <= d 2^-24 |x| |y| in any
    summation order; the cast, normalisation / centring and the euclidean norms add about as much again,
    hence (2d + 16) 2^-24 (a 1.25 safety factor on top), plus 2^-149 per term for products that underflow.
    Cosine rows are unit: one margin for all. Euclidean: |x|^2 + |y|^2 of the centred rows bounds |x||y| and
    the norm terms (the largest |y|^2 stands for all y). Padding rows get 0. ``precision="bf16"``: the GEMM
    multiplies the rows rounded to bf16 and may return bf16; ``_bf16_extra`` is added (doubled for euclidean,
    whose score doubles the dot; module docstring).
    """
    d = Y.shape[1]
    delta, tiny = 1.25 * (2 * d + 16) * _U32, 4 * (d + 2) * 2.0**-149
    out = np.zeros(len(Y))
    if n == 0:
        return out
    if metric == "cosine":
        out[:n] = 2 * (delta + tiny)
    elif metric == "euclidean":
        s = sq[:n].astype(np.float64)
        out[:n] = 2 * (delta * (s + s.max()) + tiny)
    else:
        norms = np.concatenate([np.linalg.norm(np.asarray(Y[a:min(a + chunk, n)], dtype=np.float64), axis=1)
                                for a in range(0, n, chunk)])
        out[:n] = 2 * (delta * norms * norms.max() + tiny)
    if precision == "bf16":
        extra, flush = _bf16_extra(Y, n, chunk, output=metric == "euclidean")  # else per score: _bf16_rel
        out[:n] += 2 * (2 if metric == "euclidean" else 1) * (extra + flush)
    return out


def _lowered(thr: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """float32 thresholds thr - margin, rounded down (never above the exact difference)."""
    exact = thr.astype(np.float64) - margin
    out = exact.astype(np.float32)
    return np.where(out > exact, np.nextafter(out, np.float32(-np.inf)), out)


def _threads() -> int:
    """Threads the search may use: torch's setting when torch is loaded, else the BLAS behind numpy's.

    ``mmwe.threads.thread_limit(n)`` sets both. torch itself is not needed here (importing it costs seconds).
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        return torch.get_num_threads()

    return max([p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"], default=1)


@contextlib.contextmanager
def _blas_threads(n: int, torch_too: bool = False) -> Iterator[None]:
    """The BLAS behind numpy (and, for the bf16 GEMMs, torch) use ``n`` threads inside the block."""
    with threadpool_limits(n, user_api="blas"):
        if not torch_too:
            yield
            return
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)
