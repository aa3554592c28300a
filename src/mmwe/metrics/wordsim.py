"""Word-similarity evaluation: rank correlation between human ratings and vector similarities.

Benchmarks (built-in names or ``word1 word2 score`` files) are read by :mod:`mmwe.datasets.wordsim`. `evaluate` scores one
vector set (Spearman and Pearson, with coverage and an optional bootstrap CI over pairs); `compare` tests
whether two vector sets differ on the pairs both cover (Steiger's test on the Spearman correlations).

Matches gensim ``KeyedVectors.evaluate_word_pairs`` on the same pairs; differences by design: benchmark
words are lower-cased (gensim upper-cases both sides), the whole vocabulary is used (gensim: first 300k),
and missing words may be replaced by the mean vector (gensim's ``dummy4unknown`` uses similarity 0).
"""

from __future__ import annotations

import math
import os
from typing import Literal

import numpy as np

from mmwe.datasets.wordsim import Benchmark, load_benchmark
from mmwe.errors import MmweError
from mmwe.metrics.stats import bootstrap_ci, pearson, spearman, steiger_z

Similarity = Literal["cosine", "euclidean"]

def _as_benchmark(benchmark: Benchmark | str | os.PathLike) -> Benchmark:
    return benchmark if isinstance(benchmark, Benchmark) else load_benchmark(benchmark)


# -- similarities -----------------------------------------------------------------------------------
def pair_similarities(vectors, benchmark: Benchmark, *, similarity: Similarity = "cosine", impute_mean: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(sims, known): model similarity of every pair (NaN where a word is missing and not imputed) and
    whether both words are in the vocabulary. Euclidean similarity is the negative distance."""
    if similarity not in ("cosine", "euclidean"):
        raise MmweError(f"expected similarity 'cosine' or 'euclidean', got {similarity!r}")
    ia = vectors.indices(p[0] for p in benchmark.pairs)  # (P,) -1 = missing
    ib = vectors.indices(p[1] for p in benchmark.pairs)
    known = (ia >= 0) & (ib >= 0)
    matrix = vectors.matrix
    if impute_mean:
        # A missing word stands for the mean of all vectors (as in Collell & Moens' evaluation code).
        matrix = np.vstack([matrix, matrix.mean(axis=0, dtype=np.float64).astype(matrix.dtype)])
        ia, ib = np.where(ia < 0, len(vectors), ia), np.where(ib < 0, len(vectors), ib)
    use = (ia >= 0) & (ib >= 0)
    a = matrix[ia[use]].astype(np.float64)  # (U, D)
    b = matrix[ib[use]].astype(np.float64)
    if similarity == "cosine":
        norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
        s = np.einsum("ij,ij->i", a, b) / np.where(norms == 0, 1.0, norms)  # a zero vector scores 0
    else:
        s = -np.linalg.norm(a - b, axis=1)
    sims = np.full(len(benchmark), np.nan)
    sims[use] = s
    return sims, known


def _require_found(found: int, vectors, benchmark: Benchmark, minimum: int = 3) -> None:
    if found < minimum:
        raise MmweError(
            f"only {found} of {len(benchmark)} pairs of benchmark {benchmark.name!r} have both words in the "
            f"vocabulary (expected at least {minimum}); check the case of the vocabulary (benchmark words are "
            "lower-cased unless case-sensitive) or use a larger vocabulary",
            path=getattr(vectors, "source", None),
        )


def _require_varying(sims: np.ndarray, vectors, benchmark: Benchmark, similarity: str) -> None:
    """A constant similarity column has no rank correlation: say why (zero vectors under cosine) and stop."""
    if sims.size == 0 or np.ptp(sims) > 0:
        return
    norms = np.linalg.norm(vectors.matrix, axis=1)
    zero = [w for w in benchmark.words if w in vectors and norms[vectors.key_to_index[w]] == 0]
    why = (f"; {len(zero)} of its words have zero vectors (e.g. {zero[0]!r}), whose cosine similarity is "
           "undefined (scored 0); fix: drop or retrain the zero vectors" if zero and similarity == "cosine" else "")
    raise MmweError(f"expected varying similarities on benchmark {benchmark.name!r}, got the same value for all "
                    f"{sims.size} scored pairs, so no correlation can be computed{why}",
                    path=getattr(vectors, "source", None))


# -- evaluation -------------------------------------------------------------------------------------
def evaluate(
    vectors,
    benchmark: Benchmark | str,
    *,
    similarity: Similarity = "cosine",
    impute_mean: bool = False,
    ci: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Spearman and Pearson correlation of human scores with the model's similarities.

    Keys: benchmark, similarity, spearman, pearson, pairs (in the benchmark), found (both words known),
    scored (pairs used: found, or all with ``impute_mean``), missing_words, impute_mean; with ``ci`` also
    ci_low / ci_high, a percentile bootstrap 95% interval of Spearman over resampled scored pairs.
    """
    bench = _as_benchmark(benchmark)
    sims, known = pair_similarities(vectors, bench, similarity=similarity, impute_mean=impute_mean)
    found = int(known.sum())
    _require_found(found, vectors, bench)
    use = ~np.isnan(sims)
    x, y = bench.scores[use], sims[use]  # (S,) human, model
    _require_varying(y, vectors, bench, similarity)
    out = {
        "benchmark": bench.name,
        "similarity": similarity,
        "spearman": spearman(x, y),
        "pearson": pearson(x, y),
        "pairs": len(bench),
        "found": found,
        "scored": int(use.sum()),
        "missing_words": sum(1 for w in bench.words if w not in vectors),
        "impute_mean": impute_mean,
    }
    if ci:
        out["ci_low"], out["ci_high"] = bootstrap_ci(lambda idx: spearman(x[idx], y[idx]), x.size, n_boot=n_boot, seed=seed)
    return out


def compare(
    vec_a,
    vec_b,
    benchmark: Benchmark | str,
    *,
    similarity: Similarity = "cosine",
    impute_mean: bool = False,
) -> dict:
    """Steiger's test of H0: spearman(human, sim_a) == spearman(human, sim_b) on the pairs both sets score.

    The three Spearman correlations r(human, A), r(human, B), r(A, B) go into `stats.steiger_z`.
    Keys: benchmark, similarity, spearman_a, spearman_b, r_ab, n, z, p (two-sided).
    """
    bench = _as_benchmark(benchmark)
    sa, known_a = pair_similarities(vec_a, bench, similarity=similarity, impute_mean=impute_mean)
    sb, known_b = pair_similarities(vec_b, bench, similarity=similarity, impute_mean=impute_mean)
    both = ~np.isnan(sa) & ~np.isnan(sb)
    # Even when imputing, a test needs pairs that both sets really know.
    _require_found(int((known_a & known_b).sum()), vec_b, bench, minimum=4)
    h, a, b = bench.scores[both], sa[both], sb[both]  # (n,)
    r_a, r_b, r_ab = spearman(h, a), spearman(h, b), spearman(a, b)
    if any(math.isnan(r) for r in (r_a, r_b, r_ab)):
        z, p = math.nan, math.nan  # a constant similarity column: no test possible
    else:
        z, p = steiger_z(r_a, r_b, r_ab, int(both.sum()))
    return {
        "benchmark": bench.name,
        "similarity": similarity,
        "spearman_a": r_a,
        "spearman_b": r_b,
        "r_ab": r_ab,
        "n": int(both.sum()),
        "z": z,
        "p": p,
    }


def evaluate_sets(
    sets: list[tuple[str, object]],
    benchmarks: list[Benchmark],
    *,
    similarity: Similarity = "cosine",
    impute_mean: bool = False,
    ci: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[dict]:
    """One `evaluate` row (plus ``vectors``: the set's name) per (set, benchmark), sets outermost.

    With two or more sets every row also has ``p_vs_first`` / ``n_vs_first``: `compare` against the first
    set on the same benchmark (None on the first set's own rows).
    """
    rows = []
    for i, (name, vec) in enumerate(sets):
        for bench in benchmarks:
            row = {"vectors": name, **evaluate(vec, bench, similarity=similarity, impute_mean=impute_mean, ci=ci, n_boot=n_boot, seed=seed)}
            if len(sets) > 1:
                row["p_vs_first"] = row["n_vs_first"] = None
                if i > 0:
                    cmp = compare(sets[0][1], vec, bench, similarity=similarity, impute_mean=impute_mean)
                    row["p_vs_first"], row["n_vs_first"] = cmp["p"], cmp["n"]
            rows.append(row)
    return rows
