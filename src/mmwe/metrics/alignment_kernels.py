"""Kernel alignment of two paired representations: CKA (linear and RBF), unbiased CKA, CKNNA and SVCCA.

Definitions: ``../shared/specs/alignment-metrics.md`` (Huh et al. 2024, "The Platonic Representation
Hypothesis", and its code minhuh/platonic-rep). A (N, dA) and B (N, dB) are paired by row; K = A Aᵀ, L = B Bᵀ
(linear) or K_ij = exp(-|a_i - a_j|² / (2 σ²)) (RBF).

* HSIC_b(K, L) = trace(K H L H), H = I - 11ᵀ/N. Linear: = |B_cᵀ A_c|_F² with column-centred A_c, B_c.
* HSIC_u(K, L) (Song et al. 2012, eq. 5), K~, L~ = K, L with zero diagonals:
  [trace(K~ L~) + (1ᵀK~1)(1ᵀL~1) / ((N-1)(N-2)) - 2/(N-2) · 1ᵀK~L~1] / (N (N-3)). Linear, in O(N d²):
  trace(K~ L~) = |Aᵀ B|_F² - Σ_i |a_i|² |b_i|²;  1ᵀK~1 = |Σ_i a_i|² - Σ_i |a_i|²;  K~1 = A (Σ_i a_i) - (|a_i|²)_i.
* cka = HSIC_b(K, L) / (sqrt(HSIC_b(K, K) HSIC_b(L, L)) + 1e-6); unbiased_cka the same with HSIC_u.
* cknna: masks M_K, M_L from the rows' K nearest other rows (the neighbour lists, N·K non-zeros), M = M_K ∘ M_L,
  s(K, L) = HSIC_u(M ∘ K, M ∘ L); cknna = s(K, L) / (sqrt(s(K, K) s(L, L)) + 1e-6), s(K, K) with M_K alone.
  The masked kernels are sparse and not symmetric: trace(P Q) = Σ_ij P_ij Q_ji pairs entry (i, j) with (j, i).
* svcca: z-scored columns, the first ``cca_dim`` left singular vectors of each side (exact here, from the
  eigendecomposition of the d x d Gram; the reference's randomised ``torch.svd_lowrank`` varies by ~0.01),
  CCA on them, the mean Pearson correlation of the paired canonical variates: by default the exact canonical
  correlations (an SVD of a cca_dim x cca_dim matrix), or scikit-learn's iterative CCA as the reference runs it.

The linear metrics and SVCCA share three d x d products (``Grams``: AᵀA, BᵀB, AᵀB).

No dense N x N matrix for the linear kernel or CKNNA; RBF needs all N² kernel entries, computed in blocks of
``_RBF_BLOCK`` rows (memory O(block · N), time O(N² (dA + dB))). Everything is float64.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np

from mmwe.errors import MmweError
from mmwe.progress import Progress
from mmwe.validation import check_paired

Kernel = Literal["linear", "rbf"]
KERNELS = ("linear", "rbf")
CcaMethod = Literal["exact", "sklearn"]
CCA_METHODS = ("exact", "sklearn")
EPS = 1e-6  # added to the CKA / CKNNA denominators, as the reference does
_RBF_BLOCK = 1024  # rows of an RBF kernel block (block x N float64 entries alive per side)
_GATHER_CELLS = 1 << 22  # row-pair inner products: at most this many gathered values per chunk (32 MB)


def as_pair(A: np.ndarray, B: np.ndarray, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Both sets validated (finite, 2-d, same number of rows) and as float64."""
    A, B = check_paired(A, B, names=("first set", "second set"), dtype=None, min_rows=min_rows)
    return np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)


def _ratio(kl: float, kk: float, ll: float) -> float:
    return float(kl / (np.sqrt(max(kk * ll, 0.0)) + EPS))


# -- linear kernel, O(N d^2) -------------------------------------------------------------------------------
class Grams:
    """The d x d products that every linear metric (and SVCCA) needs, each computed once: AᵀA, BᵀB, AᵀB.

    Column-centred products follow as AᵀB - N μ_A μ_Bᵀ (float64: the cancellation costs ~|μ|²/σ² ulps, far
    below the float32 inputs' own rounding).
    """

    def __init__(self, A: np.ndarray, B: np.ndarray):
        self.n = len(A)
        self.A, self.B = A, B
        self.mu = {"a": A.mean(axis=0), "b": B.mean(axis=0)}
        self.sq = {"a": np.einsum("ij,ij->i", A, A), "b": np.einsum("ij,ij->i", B, B)}  # the kernels' diagonals
        self.raw = {"aa": A.T @ A, "bb": B.T @ B, "ab": A.T @ B}

    def centred(self, xy: str) -> np.ndarray:
        return self.raw[xy] - self.n * np.outer(self.mu[xy[0]], self.mu[xy[1]])

    def hsic_b(self, xy: str) -> float:
        """trace(K H L H) = |A_cᵀ B_c|_F² (or the AA / BB version)."""
        return float(np.linalg.norm(self.centred(xy)) ** 2)

    def hsic_u(self, xy: str) -> float:
        """Song et al.'s unbiased HSIC in O(N d) from the products (see the module docstring)."""
        n, x, y = self.n, xy[0], xy[1]
        X, Y = (self.A if x == "a" else self.B), (self.A if y == "a" else self.B)
        sx, sy = n * self.mu[x], n * self.mu[y]  # column sums
        trace = np.linalg.norm(self.raw[xy]) ** 2 - self.sq[x] @ self.sq[y]
        tot_x, tot_y = sx @ sx - self.sq[x].sum(), sy @ sy - self.sq[y].sum()
        row_x, row_y = X @ sx - self.sq[x], Y @ sy - self.sq[y]  # K~ 1, L~ 1
        return float((trace + tot_x * tot_y / ((n - 1) * (n - 2)) - 2 / (n - 2) * (row_x @ row_y)) / (n * (n - 3)))

    def cka(self, unbiased: bool) -> float:
        f = self.hsic_u if unbiased else self.hsic_b
        return _ratio(f("ab"), f("aa"), f("bb"))

    def top_directions(self, side: str, dim: int) -> np.ndarray:
        """The first ``dim`` left singular vectors of the set with z-scored columns (ddof 1, + 1e-8), from the
        eigendecomposition of its d x d correlation-type Gram (exact, not randomised): U = Z V / sqrt(λ)."""
        X, mu = (self.A if side == "a" else self.B), self.mu[side]
        G = self.centred(side * 2)
        scale = np.sqrt(np.clip(np.diag(G), 0, None) / (self.n - 1)) + 1e-8
        vals, vecs = np.linalg.eigh(G / np.outer(scale, scale))
        top = np.argsort(vals)[::-1][:dim]
        W = vecs[:, top] / np.sqrt(np.clip(vals[top], 1e-300, None)) / scale[:, None]  # (d, dim)
        return X @ W - mu @ W  # = Z V / sqrt(λ) without an N x d temporary


def linear_cka(A: np.ndarray, B: np.ndarray) -> float:
    """Linear CKA (Kornblith et al. 2019): |B_cᵀ A_c|_F² / (|A_cᵀ A_c|_F |B_cᵀ B_c|_F), no epsilon.

    A_c, B_c are the column-centred (N, d) matrices; computed in feature space (d x d), never N x N. (``cka``
    is the same ratio with the reference's + 1e-6 in the denominator.)
    """
    A, B = as_pair(A, B)
    A, B = A - A.mean(axis=0), B - B.mean(axis=0)
    denom = np.linalg.norm(A.T @ A) * np.linalg.norm(B.T @ B)
    if denom == 0:
        raise MmweError("linear CKA is undefined for a constant set (all rows equal); check the inputs")
    return float(np.linalg.norm(B.T @ A) ** 2 / denom)


# -- RBF kernel, blockwise -----------------------------------------------------------------------------------
def _sq_dists(X: np.ndarray, sq: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """(hi - lo, N) squared distances of rows lo:hi to all rows; exactly 0 on the diagonal."""
    D = sq[lo:hi, None] + sq[None, :] - 2 * (X[lo:hi] @ X.T)
    np.maximum(D, 0, out=D)
    D[np.arange(hi - lo), np.arange(lo, hi)] = 0.0
    return D


def rbf_stats(A: np.ndarray, B: np.ndarray, sigma: float = 1.0,
              progress: Progress | None = None) -> dict:
    """Sums of the RBF kernels K (of A) and L (of B) that both HSICs need, accumulated block by block.

    Keys: kl, kk, ll (Σ_ij K_ij L_ij etc.), rk, rl (row sums, (N,)). Diagonals are exactly 1.
    """
    if not sigma > 0:
        raise MmweError(f"expected an RBF width sigma > 0, got {sigma}")
    A, B = as_pair(A, B)
    n = len(A)
    sqa, sqb = np.einsum("ij,ij->i", A, A), np.einsum("ij,ij->i", B, B)
    out = {"kl": 0.0, "kk": 0.0, "ll": 0.0, "rk": np.empty(n), "rl": np.empty(n)}
    scale = -1.0 / (2.0 * sigma * sigma)
    for lo in range(0, n, _RBF_BLOCK):
        hi = min(lo + _RBF_BLOCK, n)
        K = np.exp(scale * _sq_dists(A, sqa, lo, hi))  # (block, N)
        L = np.exp(scale * _sq_dists(B, sqb, lo, hi))
        out["kl"] += float(np.einsum("ij,ij->", K, L))
        out["kk"] += float(np.einsum("ij,ij->", K, K))
        out["ll"] += float(np.einsum("ij,ij->", L, L))
        out["rk"][lo:hi], out["rl"][lo:hi] = K.sum(axis=1), L.sum(axis=1)
        if progress:
            progress(hi, n, "RBF kernels")
    return out


def _rbf_hsics(st: dict, n: int, unbiased: bool) -> tuple[float, float, float]:
    """(HSIC(K, L), HSIC(K, K), HSIC(L, L)) from ``rbf_stats``."""
    rows = {"k": st["rk"], "l": st["rl"]}
    out = []
    for x, y in (("k", "l"), ("k", "k"), ("l", "l")):
        sxy = st[x + y] if x + y in st else st[y + x]
        rx, ry = rows[x], rows[y]
        if unbiased:  # zero diagonals: the diagonal entries are exactly 1
            rx, ry = rx - 1.0, ry - 1.0
            tot = rx.sum() * ry.sum() / ((n - 1) * (n - 2))
            out.append(((sxy - n) + tot - 2 / (n - 2) * (rx @ ry)) / (n * (n - 3)))
        else:
            out.append(sxy - 2 / n * (rx @ ry) + rx.sum() * ry.sum() / n**2)
    return out[0], out[1], out[2]


# -- CKA -----------------------------------------------------------------------------------------------------
def _check_kernel(kernel: str, n: int, unbiased: bool) -> None:
    if kernel not in KERNELS:
        raise MmweError(f"expected kernel in {{{', '.join(KERNELS)}}}, got {kernel!r}")
    if unbiased and n < 4:
        raise MmweError(f"unbiased HSIC needs at least 4 rows (it divides by N (N-3)), got {n}")


def kernel_scores(A: np.ndarray, B: np.ndarray, *, kernel: Kernel = "linear", sigma: float = 1.0,
                  grams: Grams | None = None) -> dict:
    """{"cka", "unbiased_cka"} of the paired sets, sharing the products (linear) or the blocks (RBF)."""
    A, B = as_pair(A, B, min_rows=4)
    _check_kernel(kernel, len(A), True)
    if kernel == "rbf":
        st = rbf_stats(A, B, sigma)
        return {"cka": _ratio(*_rbf_hsics(st, len(A), False)), "unbiased_cka": _ratio(*_rbf_hsics(st, len(A), True))}
    grams = grams or Grams(A, B)
    return {"cka": grams.cka(False), "unbiased_cka": grams.cka(True)}


def cka(A: np.ndarray, B: np.ndarray, *, kernel: Kernel = "linear", sigma: float = 1.0) -> float:
    """CKA with the biased HSIC: HSIC_b(K, L) / (sqrt(HSIC_b(K, K) HSIC_b(L, L)) + 1e-6)."""
    A, B = as_pair(A, B)
    _check_kernel(kernel, len(A), False)
    if kernel == "rbf":
        return _ratio(*_rbf_hsics(rbf_stats(A, B, sigma), len(A), False))
    return Grams(A, B).cka(False)


def unbiased_cka(A: np.ndarray, B: np.ndarray, *, kernel: Kernel = "linear", sigma: float = 1.0) -> float:
    """CKA with Song et al.'s unbiased HSIC (needs N >= 4)."""
    return kernel_scores(A, B, kernel=kernel, sigma=sigma)["unbiased_cka"]


# -- CKNNA: sparse masked kernels ----------------------------------------------------------------------------
def list_dots(X: np.ndarray, lists: np.ndarray) -> np.ndarray:
    """(N, K) float64: X[i] · X[lists[i, t]], in chunks of rows (one gather of the neighbours' rows at a time)."""
    n, k = lists.shape
    out = np.empty((n, k))
    step = max(1, _GATHER_CELLS // max(1, k * X.shape[1]))
    for s in range(0, n, step):
        out[s:s + step] = (X[lists[s:s + step]] @ X[s:s + step, :, None])[..., 0]  # (c, K, d) @ (c, d, 1)
    return out


def _hsic_u_sparse(n: int, p: tuple[np.ndarray, np.ndarray, np.ndarray],
                   q: tuple[np.ndarray, np.ndarray, np.ndarray]) -> float:
    """HSIC_u(P, Q) of two sparse (n, n) matrices given as (rows, cols, values), zero diagonals, no repeats."""
    (pi, pj, pv), (qi, qj, qv) = p, q
    # trace(P Q) = Σ P_ij Q_ji: match P's (i, j) with Q's (j, i)
    _, ip, iq = np.intersect1d(pi.astype(np.int64) * n + pj, qj.astype(np.int64) * n + qi, assume_unique=True,
                               return_indices=True)
    trace = pv[ip] @ qv[iq]
    cols_p = np.bincount(pj, weights=pv, minlength=n)  # 1ᵀ P
    rows_q = np.bincount(qi, weights=qv, minlength=n)  # Q 1
    tot = pv.sum() * qv.sum() / ((n - 1) * (n - 2))
    return float((trace + tot - 2 / (n - 2) * (cols_p @ rows_q)) / (n * (n - 3)))


def cknna_from_lists(A: np.ndarray, B: np.ndarray, NA: np.ndarray, NB: np.ndarray) -> float:
    """CKNNA of A, B (linear kernels) with the masks given by the (N, K) neighbour lists NA, NB (self excluded)."""
    A, B = as_pair(A, B, min_rows=4)
    n, k = NA.shape
    if k < 2:
        raise MmweError(f"cknna needs k >= 2 neighbours (the reference's topk >= 2), got k={k}")
    rows = np.repeat(np.arange(n), k)
    a_cols, b_cols = NA.ravel().astype(np.int64), NB.ravel().astype(np.int64)
    kv, lv = list_dots(A, NA), list_dots(B, NB)  # (N, K): K and L on the two masks
    s_kk = _hsic_u_sparse(n, (rows, a_cols, kv.ravel()), (rows, a_cols, kv.ravel()))
    s_ll = _hsic_u_sparse(n, (rows, b_cols, lv.ravel()), (rows, b_cols, lv.ravel()))
    both = np.zeros(NA.shape, dtype=bool)  # which of NA[i]'s entries are also in NB[i]
    l_at = np.zeros(NA.shape)  # L there, read from NB's position of the same entry
    for s in range(0, n, 65536):
        eq = NA[s:s + 65536, :, None] == NB[s:s + 65536, None, :]  # (c, K, K)
        both[s:s + 65536] = eq.any(axis=2)
        l_at[s:s + 65536] = (eq * lv[s:s + 65536, None, :]).sum(axis=2)
    m = both.ravel()
    mi, mj = rows[m], a_cols[m]
    s_kl = _hsic_u_sparse(n, (mi, mj, kv.ravel()[m]), (mi, mj, l_at.ravel()[m]))
    return _ratio(s_kl, s_kk, s_ll)


# -- SVCCA ---------------------------------------------------------------------------------------------------
def svcca(A: np.ndarray, B: np.ndarray, *, cca_dim: int = 10, method: CcaMethod = "exact",
          grams: Grams | None = None) -> float:
    """SVCCA: CCA with ``cca_dim`` components on the top singular directions of each set; the mean Pearson
    correlation of the paired canonical variates.

    ``method="exact"`` (default): the canonical correlations themselves, the singular values of Q_Aᵀ Q_B for
    orthonormal bases Q of the two (centred) sets of directions; the Pearson correlation of the c-th pair of
    canonical variates is the c-th canonical correlation. ``method="sklearn"``: the reference's procedure,
    scikit-learn's ``CCA(n_components=cca_dim)`` (NIPALS with deflation, 500 iterations at most), which reaches
    the same values when its iterations converge (IAPR TC-12: equal to 4e-8) and stops short of them when
    canonical correlations are close (unrelated sets); it also costs far more at N = 30k (bench_alignment.py).
    """
    A, B = as_pair(A, B)
    n = len(A)
    if not 1 <= cca_dim <= min(A.shape[1], B.shape[1]) or cca_dim >= n:
        raise MmweError(f"svcca needs 1 <= cca_dim <= min(dims) = {min(A.shape[1], B.shape[1])} and "
                        f"cca_dim < N = {n}, got cca_dim={cca_dim}; fix: lower cca_dim")
    if method not in CCA_METHODS:
        raise MmweError(f"expected the CCA method in {{{', '.join(CCA_METHODS)}}}, got {method!r}")
    grams = grams or Grams(A, B)
    UA, UB = grams.top_directions("a", cca_dim), grams.top_directions("b", cca_dim)
    if method == "exact":
        QA, QB = np.linalg.qr(UA - UA.mean(axis=0))[0], np.linalg.qr(UB - UB.mean(axis=0))[0]  # (N, cca_dim)
        return float(np.clip(np.linalg.svd(QA.T @ QB, compute_uv=False), 0.0, 1.0).mean())
    from sklearn.cross_decomposition import CCA
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():  # NIPALS stops at 500 iterations on near-equal correlations (e.g. unrelated
        warnings.simplefilter("ignore", ConvergenceWarning)  # sets), as it does in the reference: no stderr noise
        XA, XB = CCA(n_components=cca_dim).fit(UA, UB).transform(UA, UB)
    return float(np.mean([np.corrcoef(XA[:, c], XB[:, c])[0, 1] for c in range(cca_dim)]))
