"""Word analogies a : b :: c : ? answered by 3CosAdd or 3CosMul, with gensim's semantics, thousands at a time.

Semantics of gensim 4.4 ``KeyedVectors.evaluate_word_analogies`` (and, for 3CosMul, ``most_similar_cosmul``):

* only the first ``restrict_vocab`` words count: a question with a word outside them is skipped (and counted);
* unless case-sensitive, words and questions are upper-cased and a folded word stands for its first row;
* the answer is the best-scoring of the first N words other than the three question words, where a question word
  is every row that folds to it (gensim's ``ignore`` check); it is correct when it folds to the expected word.
  gensim reads only the top 5 of its ranking: when 5 such case variants of the question words outrank every
  other word, it takes the 5th variant as its answer (correct only when d is one of a, b, c); so does this module;
* 3CosAdd ranks by cos(x, b - a + c) over unit vectors; 3CosMul by p(x,b) p(x,c) / (p(x,a) + 1e-6) with
  p = (1 + cos) / 2 (Levy & Goldberg 2014, as gensim's ``most_similar_cosmul``);
* accuracy = correct / answered per section; the total pools every section.

Differences, by design: scores are exact in float64 (gensim ranks in float32; only a question whose two best
candidates lie within float32 rounding, about 1e-6, could be answered differently), an exact tie goes to the
lower row (gensim's ``argpartition`` order is unspecified there), a line that is not ``a b c d`` is an error (gensim
skips it), and 3CosMul searches the first N words too (gensim's ``most_similar_cosmul`` ignores ``restrict_vocab``,
searches every word and drops answers beyond N, so over a longer vocabulary it can answer differently). A zero
vector has no direction: its unit vector is zero here (NaN in gensim).

Speed: instead of one search per question (gensim: a pass over all N words and an argsort each), every block of
2,048 words gets its float64 cosines to the distinct question words (905 in the Google set; one GEMM), in float32
tables; a question's score over the block is then two row gathers and an add (3CosAdd: cos_b - cos_a per (a, b)
pair, plus cos_c) or a multiply (3CosMul), for blocks of 512 questions on all CPUs. Per question, every word within
a proven float32 error bound of the running best is kept, and only those are re-scored in float64: the answer is
the float64 one. `evaluate_analogies` turns the per-question outcomes into section rows; `compare_analogies` is
the paired exact McNemar test of two vector sets on the questions both answer.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from mmwe.datasets.analogies import AnalogySet, load_analogies
from mmwe.errors import MmweError
from mmwe.metrics.config import METHODS, AnalogyRun, Method
from mmwe.metrics.stats import mcnemar
from mmwe.progress import Progress, no_progress

COSMUL_EPSILON = 1e-6  # gensim most_similar_cosmul: p_b p_c / (p_a + 1e-6)
GENSIM_TOPN = 5  # evaluate_word_analogies reads the top 5 answers
_U32 = 2.0**-24  # unit roundoff of float32


def _as_set(questions: AnalogySet | str) -> AnalogySet:
    return questions if isinstance(questions, AnalogySet) else load_analogies(questions)


# -- vocabulary and questions -------------------------------------------------------------------------------
def _fold_vocab(words: list[str], n: int, case_sensitive: bool) -> tuple[dict[str, int], np.ndarray]:
    """(folded word -> its first row among the first n, (n,) int64 first row of each row's folded word)."""
    keys = words[:n] if case_sensitive else [w.upper() for w in words[:n]]
    first = dict(zip(reversed(keys), range(n - 1, -1, -1)))  # later (lower) rows overwrite: the first row wins
    if len(first) == n:
        return first, np.arange(n, dtype=np.int64)
    return first, np.fromiter((first[k] for k in keys), dtype=np.int64, count=n)


def question_rows(vectors, aset: AnalogySet, *, restrict_vocab: int | None = 300000,
                  case_sensitive: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """((Q, 4) int64 first row of each folded question word, -1 outside the first N; (n,) first row of every
    row's folded word; n, the number of candidate words)."""
    if restrict_vocab is not None and restrict_vocab < 1:
        raise MmweError(f"expected restrict_vocab >= 1 (or None for the whole vocabulary), got {restrict_vocab}")
    n = len(vectors) if restrict_vocab is None else min(restrict_vocab, len(vectors))
    first, fold_row = _fold_vocab(vectors.words, n, case_sensitive)
    fold = (lambda w: w) if case_sensitive else str.upper
    flat = np.fromiter((first.get(fold(w), -1) for q in aset.questions for w in q), dtype=np.int64,
                       count=4 * len(aset))
    return flat.reshape(len(aset), 4), fold_row, n


def _excluded(rows: np.ndarray, fold_row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows no question may answer: its a, b, c (first rows) and the case variants folding to them.

    Returns (q, r) pairs of every exclusion sorted by r, and (q, r) pairs of the variants only (rows that are not a
    first row), which gensim's top-5 reading may still return."""
    abc = rows[:, :3]  # (A, 3)
    q = np.repeat(np.arange(len(rows)), 3)
    r = abc.ravel()
    vq, vr = np.empty(0, np.int64), np.empty(0, np.int64)
    variants = np.flatnonzero(fold_row != np.arange(len(fold_row)))
    if variants.size:  # case-insensitive vocabulary with several spellings of a word
        order = np.argsort(fold_row[variants], kind="stable")
        heads, by_head = fold_row[variants][order], variants[order]
        lo, hi = np.searchsorted(heads, r, "left"), np.searchsorted(heads, r, "right")
        counts = hi - lo
        vq = np.repeat(q, counts)
        vr = by_head[np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)])] if counts.any() else vr
        _, once = np.unique(vq * len(fold_row) + vr, return_index=True)  # a, b, c alike list their variants twice
        vq, vr = vq[once], vr[once]
    q, r = np.concatenate([q, vq]), np.concatenate([r, vr])
    order = np.argsort(r, kind="stable")
    return q[order], r[order], vq, vr


# -- scores ---------------------------------------------------------------------------------------------------
def _unit64(matrix: np.ndarray) -> np.ndarray:
    """(n, D) float64 unit rows; a zero row stays zero."""
    m = matrix.astype(np.float64)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norms == 0, 1.0, norms)


def exact_scores(unit: np.ndarray, rows: np.ndarray, q: np.ndarray, r: np.ndarray, method: str) -> np.ndarray:
    """Float64 score of candidate row ``r[i]`` for question ``q[i]`` (``rows``: (A, 4) question rows)."""
    x = unit[r]  # (M, D)
    a, b, c = (unit[rows[q, j]] for j in range(3))
    if method == "3cosadd":
        return np.einsum("ij,ij->i", x, b - a + c)
    p = [(1.0 + np.einsum("ij,ij->i", x, w)) / 2.0 for w in (a, b, c)]
    return p[1] * p[2] / (p[0] + COSMUL_EPSILON)


class _Filter:
    """The float32 pass: per question the running best score and every (question, row, score) within the error
    bound of it. A float32 score differs from its float64 value by at most ``slack`` (absolute, 3CosAdd) or
    ``slack`` times itself (relative, 3CosMul), so keeping scores >= best - 2 slack keeps the exact winner."""

    def __init__(self, n_questions: int, slack: float, relative: bool):
        self.best = np.full(n_questions, -np.inf, dtype=np.float32)
        self.slack, self.relative = slack, relative
        self.found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def floor(self, qs: slice | np.ndarray) -> np.ndarray:
        best = self.best[qs].astype(np.float64)
        return best - 2 * self.slack * (np.abs(best) if self.relative else 1.0)

    def add(self, scores: np.ndarray, q0: int, r0: int) -> None:
        """``scores``: (Qb, R) float32 of questions q0.. against rows r0.. (excluded ones already -inf). Threads may
        call it at once for disjoint question ranges."""
        qs = slice(q0, q0 + len(scores))
        top = scores.max(axis=1)
        np.maximum(self.best[qs], top, out=self.best[qs])
        floor = self.floor(qs)
        hit = np.flatnonzero(top >= floor)
        if hit.size:
            qi, ri = np.nonzero(scores[hit] >= floor[hit, None])
            self.found.append((hit[qi] + q0, ri + r0, scores[hit[qi], ri]))

    def candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """(q, r) of the kept candidates still within the bound of their question's final best."""
        if not self.found:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        q, r, s = (np.concatenate(x) for x in zip(*self.found))
        keep = (s >= self.floor(q)) & (s > -np.inf)  # -inf: excluded rows, kept while a question had nothing else
        return q[keep].astype(np.int64), r[keep].astype(np.int64)


def _cpus() -> int:
    """The CPUs this process may run on (all of them where the OS does not say)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _blocks(n: int, size: int) -> list[tuple[int, int]]:
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def _mask(scores: np.ndarray, eq: np.ndarray, er: np.ndarray, q0: int, r0: int) -> None:
    """Set the excluded (question, row) pairs of a block to -inf; ``er`` is sorted."""
    lo, hi = np.searchsorted(er, [r0, r0 + scores.shape[1]])
    eq, er = eq[lo:hi], er[lo:hi]
    inside = (eq >= q0) & (eq < q0 + len(scores))
    scores[eq[inside] - q0, er[inside] - r0] = -np.inf


def _tables(cos: np.ndarray, pairs: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """float32 (left, right) tables of one row block from its (W, R) float64 cosines to the question words: the
    score of question (pair (a, b), c) is left[pair] + right[c] (3CosAdd: cos_b - cos_a and cos_c) or
    left[pair] * right[c] (3CosMul: p_b / (p_a + eps) and p_c)."""
    if method == "3cosadd":
        right = cos.astype(np.float32)
        return right[pairs[:, 1]] - right[pairs[:, 0]], right
    p = (1.0 + cos) / 2.0
    right = p.astype(np.float32)
    return right[pairs[:, 1]] * (1.0 / (p[pairs[:, 0]] + COSMUL_EPSILON)).astype(np.float32), right


# float32 error of a table score against its float64 value: 3CosAdd 3 roundings of |cos| <= 1 and 2 sums
# (<= 8u absolute); 3CosMul 3 roundings and 2 products of positive numbers (<= 5u relative); with room to spare.
_SLACK = {"3cosadd": 10 * _U32, "3cosmul": 8 * _U32}


def _filter_pass(unit: np.ndarray, rows: np.ndarray, method: str, eq: np.ndarray, er: np.ndarray,
                 progress: Progress, threads: int) -> _Filter:
    """Score every answerable question against every candidate row in float32 blocks, threads over questions."""
    n_q = len(rows)
    words, inv = np.unique(rows[:, :3], return_inverse=True)  # the question words: a few hundred rows
    inv = inv.reshape(-1, 3)
    pairs, pair = np.unique(inv[:, :2], axis=0, return_inverse=True)  # distinct (a, b): sections reuse them
    pair, cw = pair.reshape(-1), inv[:, 2]
    wunit = unit[words]  # (W, D)
    filt = _Filter(n_q, _SLACK[method], relative=method == "3cosmul")
    qblocks, rblocks = _blocks(n_q, 512), _blocks(len(unit), 2048)
    local = threading.local()
    combine = np.add if method == "3cosadd" else np.multiply

    def score(left: np.ndarray, right: np.ndarray, q0: int, q1: int, r0: int) -> None:
        size = (q1 - q0) * left.shape[1]
        if getattr(local, "buf", None) is None:
            local.buf = np.empty((2, 512 * 2048), dtype=np.float32)
        s = local.buf[0, :size].reshape(q1 - q0, -1)  # (Qb, R)
        t = local.buf[1, :size].reshape(q1 - q0, -1)
        np.take(left, pair[q0:q1], axis=0, out=s, mode="clip")  # "clip": unbuffered; indices are valid
        np.take(right, cw[q0:q1], axis=0, out=t, mode="clip")
        combine(s, t, out=s)
        _mask(s, eq, er, q0, r0)
        filt.add(s, q0, r0)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done, (r0, r1) in enumerate(rblocks):
            left, right = _tables(wunit @ unit[r0:r1].T, pairs, method)  # (P, R), (W, R)
            n_b = len(qblocks)
            list(pool.map(score, [left] * n_b, [right] * n_b, *zip(*qblocks), [r0] * n_b))
            progress(done + 1, len(rblocks), f"analogies ({method})")
    return filt


def _winners(unit: np.ndarray, rows: np.ndarray, method: str, q: np.ndarray, r: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """(A,) best row per question (-1: none) and its float64 score; ties go to the lower row."""
    best_r = np.full(len(rows), -1, dtype=np.int64)
    best_s = np.full(len(rows), -np.inf)
    if q.size:
        s = exact_scores(unit, rows, q, r, method)
        order = np.lexsort((r, -s, q))  # by question, then score descending, then row
        q, r, s = q[order], r[order], s[order]
        head = np.r_[True, q[1:] != q[:-1]]
        best_r[q[head]], best_s[q[head]] = r[head], s[head]
    return best_r, best_s


def _gensim_top5(unit, rows, method, best_s, vq, vr) -> tuple[np.ndarray, np.ndarray]:
    """Questions whose best answer gensim never reads (5 case variants of a, b, c score higher), and the 5th
    variant's row, gensim's answer there."""
    if vq.size == 0:
        return vq, vr
    s = exact_scores(unit, rows, vq, vr, method)
    above = s > best_s[vq]
    q, r, s = vq[above], vr[above], s[above]
    order = np.lexsort((r, -s, q))
    q, r = q[order], r[order]
    fifth = np.arange(len(q)) - np.searchsorted(q, q, "left") == GENSIM_TOPN - 1
    return q[fifth], r[fifth]


def analogy_outcomes(vectors, questions: AnalogySet | str, *, method: Method = "3cosadd",
                     restrict_vocab: int | None = 300000, case_sensitive: bool = False,
                     progress: Progress | None = None, threads: int | None = None) -> dict:
    """Per-question outcomes: ``answerable`` (Q,) bool (all four words among the first N, after folding),
    ``correct`` (Q,) bool, ``predicted`` (Q,) int64 row of the answer (-1: skipped or no candidate left);
    plus ``candidates``, the number of words searched (the first N). ``threads``: for the float32 pass (default:
    the CPUs this process may use)."""
    if method not in METHODS:
        raise MmweError(f"expected method {' or '.join(METHODS)}, got {method!r}")
    aset = _as_set(questions)
    rows_all, fold_row, n = question_rows(vectors, aset, restrict_vocab=restrict_vocab, case_sensitive=case_sensitive)
    answerable = (rows_all >= 0).all(axis=1)
    rows = rows_all[answerable]  # (A, 4)
    predicted = np.full(len(aset), -1, dtype=np.int64)
    correct = np.zeros(len(aset), dtype=bool)
    if len(rows):
        unit = _unit64(vectors.matrix[:n])
        eq, er, vq, vr = _excluded(rows, fold_row)
        filt = _filter_pass(unit, rows, method, eq, er, progress or no_progress,
                            threads or _cpus())
        best_r, best_s = _winners(unit, rows, method, *filt.candidates())
        q5, r5 = _gensim_top5(unit, rows, method, best_s, vq, vr)
        best_r[q5] = r5
        predicted[answerable] = best_r
        correct[answerable] = (best_r >= 0) & (fold_row[np.maximum(best_r, 0)] == rows[:, 3])
    return {"answerable": answerable, "correct": correct, "predicted": predicted, "candidates": n}


# -- accuracy rows and paired comparison ----------------------------------------------------------------------
def analogy_accuracy(aset: AnalogySet, answerable: np.ndarray, correct: np.ndarray) -> list[dict]:
    """One row per section, then ``section`` = "total" pooling them all (gensim's total): ``questions`` (in the
    set), ``skipped`` (a word outside the first N), ``correct`` and ``accuracy`` = correct / (questions - skipped),
    None when nothing was answered."""
    rows = []
    for i, name in enumerate([*aset.sections, "total"]):
        m = aset.section == i if i < len(aset.sections) else slice(None)
        asked, answered, right = int(np.size(answerable[m])), int(answerable[m].sum()), int(correct[m].sum())
        rows.append({"section": name, "correct": right, "questions": asked,
                     "accuracy": right / answered if answered else None, "skipped": asked - answered})
    return rows


def evaluate_analogies(vectors, questions: AnalogySet | str = "google", *, method: Method = "3cosadd",
                       restrict_vocab: int | None = 300000, case_sensitive: bool = False,
                       progress: Progress | None = None, threads: int | None = None) -> list[dict]:
    """`analogy_accuracy` rows of one vector set (see the module docstring for the semantics). Raises
    ``MmweError`` when no question has all four words among the first ``restrict_vocab`` words."""
    aset = _as_set(questions)
    out = analogy_outcomes(vectors, aset, method=method, restrict_vocab=restrict_vocab,
                           case_sensitive=case_sensitive, progress=progress, threads=threads)
    if not out["answerable"].any():
        raise MmweError(_nothing_answerable(aset, out["candidates"], case_sensitive),
                        path=getattr(vectors, "source", None))
    return analogy_accuracy(aset, out["answerable"], out["correct"])


def _nothing_answerable(aset: AnalogySet, n: int, case_sensitive: bool) -> str:
    fold = "" if case_sensitive else " (both upper-cased)"
    return (f"no question of {aset.name!r} ({len(aset)} questions) has all four words among the first {n} words of "
            f"the vocabulary{fold}; expected vectors of the questions' language, or a larger --restrict-vocab")


def compare_analogies(outcomes_a: dict, outcomes_b: dict, aset: AnalogySet) -> list[dict]:
    """Paired exact McNemar test of two vector sets' outcomes (from `analogy_outcomes`) on the questions both
    answer, per section and in total: ``section``, ``n`` (common questions), ``correct_a``, ``correct_b``, ``p``
    (two-sided; None when there is no common question)."""
    both = outcomes_a["answerable"] & outcomes_b["answerable"]
    rows = []
    for i, name in enumerate([*aset.sections, "total"]):
        m = both & (aset.section == i) if i < len(aset.sections) else both
        ca, cb = outcomes_a["correct"][m], outcomes_b["correct"][m]
        rows.append({"section": name, "n": int(m.sum()), "correct_a": int(ca.sum()), "correct_b": int(cb.sum()),
                     "p": float(mcnemar(ca, cb)) if m.any() else None})
    return rows


def evaluate_analogy_sets(sets: list[tuple[str, object]], questions: AnalogySet | str = "google", *,
                          method: Method = "3cosadd", restrict_vocab: int | None = 300000,
                          case_sensitive: bool = False, progress: Progress | None = None,
                          threads: int | None = None) -> list[dict]:
    """`analogy_accuracy` rows of every set (plus ``vectors``, its name), sets outermost.

    With two or more sets, every row also has ``n_vs_first`` (questions both this set and the first answer in the
    section), ``first_correct_common`` / ``correct_common`` (the first set's and this set's correct answers among
    them) and ``p_vs_first`` (`compare_analogies`' exact McNemar p; None on the first set's rows and with no common
    question). A set that answers nothing gets rows with accuracy None and a ``note``; only when no set answers
    anything does it raise ``MmweError``.
    """
    aset = _as_set(questions)
    outs = [analogy_outcomes(vec, aset, method=method, restrict_vocab=restrict_vocab, case_sensitive=case_sensitive,
                             progress=progress, threads=threads) for _name, vec in sets]
    if not any(o["answerable"].any() for o in outs):
        raise MmweError(_nothing_answerable(aset, outs[0]["candidates"], case_sensitive),
                        path=getattr(sets[0][1], "source", None))
    rows = []
    for (name, _vec), out in zip(sets, outs):
        block = [{"vectors": name, **r} for r in analogy_accuracy(aset, out["answerable"], out["correct"])]
        if not out["answerable"].any():
            block[-1]["note"] = _nothing_answerable(aset, out["candidates"], case_sensitive)
        if len(sets) > 1:
            cmp = compare_analogies(outs[0], out, aset) if out is not outs[0] else [None] * len(block)
            for row, c in zip(block, cmp):
                row.update({"n_vs_first": None, "first_correct_common": None, "correct_common": None,
                            "p_vs_first": None} if c is None else
                           {"n_vs_first": c["n"], "first_correct_common": c["correct_a"],
                            "correct_common": c["correct_b"], "p_vs_first": c["p"]})
        rows.extend(block)
    return rows


def analogy_rows(cfg: AnalogyRun, progress: Progress | None = None) -> tuple[AnalogySet, list[dict]]:
    """The analogy set of ``cfg`` and `evaluate_analogy_sets` of its vector sets on it."""
    aset = load_analogies(cfg.dataset)
    return aset, evaluate_analogy_sets(cfg.load(cfg.limit), aset, method=cfg.method, restrict_vocab=cfg.restrict_vocab,
                                       case_sensitive=cfg.case_sensitive, progress=progress)
