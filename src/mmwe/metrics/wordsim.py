"""Word-similarity evaluation: rank correlation between human ratings and vector similarities.

A benchmark is a file of ``word1 word2 score`` lines (tab- or space-separated, ``#`` comments). Eight are
built in (`BUILTIN_BENCHMARKS`); any other file in that format can be given by path. `evaluate` scores one
vector set (Spearman and Pearson, with coverage and an optional bootstrap CI over pairs); `compare` tests
whether two vector sets differ on the pairs both cover (Steiger's test on the Spearman correlations).

Matches gensim ``KeyedVectors.evaluate_word_pairs`` on the same pairs; differences by design: benchmark
words are lower-cased (gensim upper-cases both sides), the whole vocabulary is used (gensim: first 300k),
and missing words may be replaced by the mean vector (gensim's ``dummy4unknown`` uses similarity 0).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

import numpy as np

from mmwe.errors import MmweError
from mmwe.metrics.stats import bootstrap_ci, pearson, spearman, steiger_z

Similarity = Literal["cosine", "euclidean"]

# Built-in benchmark name -> file in mmwe/data/wordsim/ (provenance: mmwe/data/PROVENANCE.md).
BUILTIN_BENCHMARKS: dict[str, str] = {
    "men": "men.txt",
    "wordsim353": "wordsim353.txt",
    "ws353-rel": "ws353_relatedness.txt",
    "ws353-sim": "ws353_similarity.txt",
    "rg65": "rg65.txt",
    "rw": "rareword.txt",
    "mturk287": "mturk.txt",
    "simlex999": "simlex999.txt",
}


@dataclass(frozen=True)
class Benchmark:
    """Human-rated word pairs; ``scores[i]`` rates ``pairs[i]``."""

    name: str  # built-in name, or the file stem for a file given by path
    pairs: list[tuple[str, str]]  # (P,) word pairs in file order, duplicates kept
    scores: np.ndarray  # (P,) float64 human ratings
    path: str = ""  # where it was read from (for messages)

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def words(self) -> list[str]:
        """Distinct words in first-seen order."""
        return list(dict.fromkeys(w for p in self.pairs for w in p))


# -- reading ----------------------------------------------------------------------------------------
def load_benchmark(name_or_path: str | os.PathLike, *, lowercase: bool = True) -> Benchmark:
    """A built-in benchmark by name, or a ``word1 word2 score`` file by path; words lower-cased by default."""
    key = os.fspath(name_or_path)
    if key in BUILTIN_BENCHMARKS:
        resource = files("mmwe") / "data" / "wordsim" / BUILTIN_BENCHMARKS[key]
        return _parse(resource.read_bytes(), name=key, path=f"<built-in {key}>", lowercase=lowercase)
    path = Path(key)
    if not path.is_file():
        builtin = ", ".join(BUILTIN_BENCHMARKS)
        what = "is a folder" if path.is_dir() else "is neither a built-in benchmark nor an existing file"
        raise MmweError(f"benchmark {key!r} {what}; expected one of {builtin} or the path of a `word1 word2 score` file")
    return _parse(path.read_bytes(), name=path.stem, path=key, lowercase=lowercase)


def _parse(data: bytes, *, name: str, path: str, lowercase: bool) -> Benchmark:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MmweError(f"expected UTF-8 text, got byte 0x{data[exc.start]:02x}; re-save the file as UTF-8", path=path, line=line) from None
    pairs: list[tuple[str, str]] = []
    scores: list[float] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # Tabs, when present, separate the fields (so a tab file may hold multi-word phrases); else any blank.
        fields = [f.strip() for f in line.split("\t")] if "\t" in line else line.split()
        if len(fields) != 3:
            raise MmweError(f"expected 3 fields `word1 word2 score`, got {len(fields)}: {line[:60]!r}", path=path, line=lineno)
        try:
            score = float(fields[2])
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            raise MmweError(f"expected a numeric score in field 3, got {fields[2][:30]!r}", path=path, line=lineno)
        w1, w2 = (fields[0].lower(), fields[1].lower()) if lowercase else (fields[0], fields[1])
        pairs.append((w1, w2))
        scores.append(score)
    if not pairs:
        raise MmweError("expected `word1 word2 score` lines, got no word pairs (empty file or only comments)", path=path)
    return Benchmark(name=name, pairs=pairs, scores=np.asarray(scores, dtype=np.float64), path=path)


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
