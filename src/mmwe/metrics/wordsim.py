"""Word-similarity evaluation: rank correlation between human ratings and vector similarities.

Benchmarks (built-in names or ``word1 word2 score`` files) are read by :mod:`mmwe.datasets.wordsim`.
`evaluate` scores one vector set (Spearman and Pearson, with coverage and an optional bootstrap CI over
pairs); `compare` tests whether two vector sets differ on the pairs both cover (Steiger's test on the
Spearman correlations).

Matches gensim ``KeyedVectors.evaluate_word_pairs`` on the same pairs; differences by design: benchmark
words are lower-cased (gensim upper-cases both sides), the whole vocabulary is used (gensim: first 300k),
and missing words may be replaced by the mean vector (gensim's ``dummy4unknown`` uses similarity 0).
"""

from __future__ import annotations

import math
import os
from typing import get_args

import numpy as np

from mmwe.datasets.wordsim import BUILTIN_BENCHMARKS, Benchmark, load_benchmark
from mmwe.errors import MmweError
from mmwe.metrics.config import Similarity, WordsimRun
from mmwe.metrics.stats import bootstrap_ci, pearson, spearman, steiger_z


def _as_benchmark(benchmark: Benchmark | str | os.PathLike) -> Benchmark:
    return benchmark if isinstance(benchmark, Benchmark) else load_benchmark(benchmark)


# -- similarities -----------------------------------------------------------------------------------
def pair_similarities(vectors, benchmark: Benchmark, *, similarity: Similarity = "cosine",
                      impute_mean: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(sims, known): model similarity of every pair (NaN where a word is missing and not imputed) and
    whether both words are in the vocabulary. Euclidean similarity is the negative distance."""
    if similarity not in get_args(Similarity):
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


def _found_problem(found: int, benchmark: Benchmark, minimum: int = 3) -> str | None:
    """Why a benchmark with ``found`` covered pairs cannot be scored (None when it can)."""
    if found >= minimum:
        return None
    return (f"only {found} of {len(benchmark)} pairs of benchmark {benchmark.name!r} have both words in the "
            f"vocabulary (expected at least {minimum}); check the case of the vocabulary (benchmark words are "
            "lower-cased unless case-sensitive) or use a larger vocabulary")


def _varying_problem(sims: np.ndarray, vectors, benchmark: Benchmark, similarity: str) -> str | None:
    """A constant similarity column has no rank correlation: say why (zero vectors under cosine)."""
    if sims.size == 0 or np.ptp(sims) > 0:
        return None
    norms = np.linalg.norm(vectors.matrix, axis=1)
    zero = [w for w in benchmark.words if w in vectors and norms[vectors.key_to_index[w]] == 0]
    why = (f"; {len(zero)} of its words have zero vectors (e.g. {zero[0]!r}), whose cosine similarity is "
           "undefined (scored 0); fix: drop or retrain the zero vectors" if zero and similarity == "cosine" else "")
    return (f"expected varying similarities on benchmark {benchmark.name!r}, got the same value for all "
            f"{sims.size} scored pairs, so no correlation can be computed{why}")


def _require_found(found: int, vectors, benchmark: Benchmark, minimum: int = 3) -> None:
    problem = _found_problem(found, benchmark, minimum)
    if problem:
        raise MmweError(problem, path=getattr(vectors, "source", None))


# -- evaluation -------------------------------------------------------------------------------------
def _coverage(vectors, bench: Benchmark, similarity: str, impute_mean: bool):
    """(coverage keys of a row, human scores, model scores of the scored pairs, why they cannot be scored)."""
    sims, known = pair_similarities(vectors, bench, similarity=similarity, impute_mean=impute_mean)
    found = int(known.sum())
    use = ~np.isnan(sims)
    x, y = bench.scores[use], sims[use]  # (S,) human, model
    row = {"pairs": len(bench), "found": found, "scored": int(use.sum()),
           "missing_words": sum(1 for w in bench.words if w not in vectors), "impute_mean": impute_mean}
    problem = _found_problem(found, bench) or _varying_problem(y, vectors, bench, similarity)
    return row, x, y, problem


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
    Raises ``MmweError`` when the benchmark cannot be scored (fewer than 3 covered pairs, constant similarities).
    """
    bench = _as_benchmark(benchmark)
    out = _evaluate_row(vectors, bench, similarity, impute_mean, ci, n_boot, seed)
    if "note" in out:
        raise MmweError(out["note"], path=getattr(vectors, "source", None))
    return out


def _evaluate_row(vectors, bench: Benchmark, similarity: str, impute_mean: bool, ci: bool, n_boot: int,
                  seed: int) -> dict:
    """`evaluate`'s dict; for a benchmark that cannot be scored: the coverage, ``spearman``/``pearson`` (and the
    CI) None and ``note``, the reason."""
    coverage, x, y, problem = _coverage(vectors, bench, similarity, impute_mean)
    out = {"benchmark": bench.name, "similarity": similarity, "spearman": None if problem else spearman(x, y),
           "pearson": None if problem else pearson(x, y), **coverage}
    if ci:
        out["ci_low"], out["ci_high"] = (None, None) if problem else bootstrap_ci(
            lambda idx: spearman(x[idx], y[idx]), x.size, n_boot=n_boot, seed=seed)
    if problem:
        out["note"] = problem
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

    A benchmark that cannot be scored for a set (fewer than 3 covered pairs, constant similarities) does not
    stop the others: its row has the coverage (``found`` ...), ``spearman`` and ``pearson`` None and ``note``
    saying why; the caller decides what that means for its exit status. Only when no cell at all can be
    scored does it raise ``MmweError`` (with the first reason), as `evaluate` does for one benchmark.

    With two or more sets every row also has ``p_vs_first`` / ``n_vs_first``: `compare` against the first
    set on the same benchmark (None on the first set's own rows, on unscored rows, and where the two sets
    share fewer than 4 pairs: then ``note`` says so).
    """
    rows = []
    for i, (name, vec) in enumerate(sets):
        for bench in benchmarks:
            row = {"vectors": name, **_evaluate_row(vec, bench, similarity, impute_mean, ci, n_boot, seed)}
            if len(sets) > 1:
                row["p_vs_first"] = row["n_vs_first"] = None
                if i > 0 and row["spearman"] is not None:
                    row.update(_vs_first(sets[0][1], vec, bench, similarity, impute_mean))
            rows.append(row)
    if rows and all(r["spearman"] is None for r in rows):
        first = next(vec for _name, vec in sets)
        raise MmweError(rows[0]["note"] + ("" if len(rows) == 1 else f" (and no other of the {len(rows)} "
                        "set/benchmark cells could be scored)"), path=getattr(first, "source", None))
    return rows


def _vs_first(first, vec, bench: Benchmark, similarity: str, impute_mean: bool) -> dict:
    """``p_vs_first`` / ``n_vs_first`` of one row, or a ``note`` when the two sets share too few pairs."""
    try:
        cmp = compare(first, vec, bench, similarity=similarity, impute_mean=impute_mean)
    except MmweError as exc:  # fewer than 4 pairs known to both sets: no test, the scores stand
        return {"note": f"no test against the first set: {exc.message}"}
    return {"p_vs_first": cmp["p"], "n_vs_first": cmp["n"]}


def word_similarity(cfg: WordsimRun) -> list[dict]:
    """`evaluate_sets` of ``cfg``'s vector sets on its benchmarks (default: every built-in one)."""
    benches = [load_benchmark(b, lowercase=not cfg.case_sensitive) for b in cfg.benchmark or BUILTIN_BENCHMARKS]
    return evaluate_sets(cfg.load(cfg.limit), benches, similarity=cfg.similarity, impute_mean=cfg.impute_mean,
                         ci=cfg.ci, n_boot=cfg.n_boot, seed=cfg.seed)
