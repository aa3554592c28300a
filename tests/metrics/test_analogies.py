"""Tests of mmwe.metrics.analogies and `mmwe eval-analogies`: small cases with a known answer, a slow per-question
oracle, gensim's evaluate_word_analogies on small sets and on the real GloVe 6B 50d (both methods), and the paired
McNemar test against scipy and a hand computation. (The question format:
tests/datasets/test_datasets_analogies.py.)"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

from mmwe.datasets.analogies import AnalogySet, load_analogies
from mmwe.errors import MmweError
from mmwe.metrics.analogies import (
    analogy_outcomes,
    compare_analogies,
    evaluate_analogies,
    evaluate_analogy_sets,
)
from mmwe.vectors import Vectors
from tests.conftest import run_cli as main
from tests.datasets.conftest import GOOGLE_SECTIONS, _questions

# gensim 4.4.0 evaluate_word_analogies on GloVe 6B 50d, restrict_vocab=30000, per section (correct, incorrect);
# 3CosMul: the same loop with most_similar_cosmul on the first 30000 words (test_matches_gensim_full_set checks both).
GENSIM_30K = {
    "3cosadd": [(403, 103), (2006, 709), (31, 205), (354, 1849), (259, 83), (127, 743), (45, 335), (699, 633),
                (202, 398), (397, 533), (1362, 83), (586, 974), (680, 376), (242, 460)],
    "3cosmul": [(364, 142), (1718, 997), (32, 204), (241, 1962), (259, 83), (99, 771), (33, 347), (604, 728),
                (172, 428), (307, 623), (1326, 119), (494, 1066), (571, 485), (214, 488)],
}


def _write_w2v(path: Path, vec: Vectors) -> Path:
    lines = [f"{len(vec)} {vec.dim}"] + [w + " " + " ".join(repr(float(x)) for x in row)
                                         for w, row in zip(vec.words, vec.matrix)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- the slow oracle: one question at a time, gensim's rules written out ----------------------------------------
def oracle(words, matrix, aset: AnalogySet, method: str, n: int | None, case_sensitive: bool):
    """(answerable, correct, predicted row) per question, by a float64 loop over every candidate."""
    n = len(words) if n is None else min(n, len(words))
    fold = (lambda w: w) if case_sensitive else str.upper
    keys = [fold(w) for w in words[:n]]
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    m = np.asarray(matrix[:n], dtype=np.float64)
    norms = np.linalg.norm(m, axis=1)
    unit = m / np.where(norms == 0, 1.0, norms)[:, None]
    answerable, correct, predicted = [], [], []
    for q in aset.questions:
        a, b, c, d = (fold(w) for w in q)
        if any(w not in first for w in (a, b, c, d)):
            answerable.append(False), correct.append(False), predicted.append(-1)
            continue
        ua, ub, uc = unit[first[a]], unit[first[b]], unit[first[c]]
        if method == "3cosadd":
            s = np.einsum("ij,j->i", unit, ub - ua + uc)  # every row on its own, not blocked, not filtered
        else:
            pa, pb, pc = ((1 + np.einsum("ij,j->i", unit, u)) / 2 for u in (ua, ub, uc))
            s = pb * pc / (pa + 1e-6)
        # gensim's list: every row but the first rows of a, b, c, best first (a tie: the lower row), top 5 read
        order = np.lexsort((np.arange(n), -s))
        ranked = [int(i) for i in order[:8] if i not in {first[a], first[b], first[c]}]
        pick = -1
        for i in ranked[:5]:
            pick = i
            if keys[i] not in {a, b, c}:
                break
        answerable.append(True), predicted.append(pick), correct.append(pick >= 0 and keys[pick] == d)
    return np.array(answerable), np.array(correct), np.array(predicted)


def _random_case(seed: int, n_words: int = 300, dim: int = 8, n_q: int = 120, variants: bool = False):
    """Random vectors (with duplicated rows, a zero row and, optionally, case variants) and random questions in
    three sections, a quarter of them with a word outside the vocabulary."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(n_words)]
    matrix = rng.standard_normal((n_words, dim)).astype(np.float32)
    matrix[50:60] = matrix[40:50]  # exact ties between distinct words
    matrix[7] = 0.0
    if variants:
        for i in range(0, n_words, 3):
            words[i] = words[i].upper() if i % 2 else "W" + words[i][1:] + "x"
        extra = [w.upper() for w in words[5:40] if not w.isupper()]  # a later row for the same upper-cased word
        words += extra
        matrix = np.vstack([matrix, rng.standard_normal((len(extra), dim)).astype(np.float32)])
    pool = [w.lower() for w in words] + ["nope1", "nope2"]
    lines = []
    for i in range(n_q):
        if i % (n_q // 3) == 0:
            lines.append(f": part{i // (n_q // 3)}")
        lines.append(" ".join(pool[j] if rng.random() > 0.06 else pool[-1] for j in rng.integers(0, len(pool), 4)))
    return Vectors(words, matrix), _questions("\n".join(lines) + "\n")


# -- known answers -------------------------------------------------------------------------------------------------
def _royal() -> Vectors:
    words = ["man", "woman", "king", "queen", "prince", "apple", "boy"]
    matrix = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [0.9, 0.1, 1], [0, 0, -1], [1, 0, 0.1]],
                      dtype=np.float32)
    return Vectors(words, matrix)


def test_known_answer_and_exclusion():
    vec = _royal()
    aset = _questions(": royal\nman woman king queen\nman king woman queen\nman man king king\nMAN Woman KING Queen\n")
    out = analogy_outcomes(vec, aset)
    assert out["answerable"].all()
    # king - man + woman = (1, 1, 1) = queen; woman - man + king: also queen
    assert [vec.words[i] for i in out["predicted"]] == ["queen", "queen", "prince", "queen"]
    # man : man :: king : ? -- the query is king itself, excluded: the next best is prince
    assert out["correct"].tolist() == [True, True, False, True]
    with pytest.raises(MmweError, match="no question of 'toy'"):
        evaluate_analogies(vec, aset, case_sensitive=True, restrict_vocab=2)
    rows = evaluate_analogies(vec, aset, case_sensitive=True)  # the upper-case question is skipped
    assert rows[0] == {"section": "royal", "correct": 2, "questions": 4, "accuracy": 2 / 3, "skipped": 1}
    assert rows[-1]["section"] == "total" and len(rows) == 2


def test_ties_go_to_the_lower_row_and_float64_decides_near_ties():
    vec = _royal()
    words = vec.words + ["queen2", "queen3"]
    m = np.vstack([vec.matrix, vec.matrix[3], vec.matrix[3]])
    m[8, 2] = np.nextafter(m[8, 2], np.float32(2))  # one float32 step closer to king - man + woman = (1, 1, 1)?
    aset = _questions(": s\nman woman king queen\n")
    # queen (row 3) and queen2 (row 7) tie exactly: the lower row; queen3 differs by one ulp in one component
    unit = m.astype(np.float64) / np.linalg.norm(m.astype(np.float64), axis=1, keepdims=True)
    s = unit[[3, 8]] @ (unit[1] - unit[0] + unit[2])
    want = 3 if s[0] >= s[1] else 8
    assert s[0] != s[1]
    assert analogy_outcomes(Vectors(words, m), aset)["predicted"][0] == want
    assert analogy_outcomes(Vectors(words[:8], m[:8]), aset)["predicted"][0] == 3


def test_no_candidate_left():
    # three words, all of them in the question: gensim's most_similar returns nothing, the question is wrong
    vec = Vectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    out = analogy_outcomes(vec, _questions(": s\na b c a\nb a c c\n"))
    assert out["answerable"].all() and out["predicted"].tolist() == [-1, -1] and not out["correct"].any()
    out = analogy_outcomes(Vectors(["a", "b", "c", "d"], np.eye(4, dtype=np.float32)), _questions(": s\na b c d\n"))
    assert out["predicted"].tolist() == [3] and out["correct"].all()


def test_restrict_vocab_skips_and_limits_candidates():
    vec = _royal()
    aset = _questions(": s\nman woman king queen\nman woman boy queen\n")
    out = analogy_outcomes(vec, aset, restrict_vocab=4)  # boy (row 6) is outside: skipped
    assert out["answerable"].tolist() == [True, False] and out["predicted"].tolist() == [3, -1]
    out = analogy_outcomes(vec, _questions(": s\nman king woman queen\n"), restrict_vocab=3)
    assert not out["answerable"].any()  # queen is row 3
    out = analogy_outcomes(vec, _questions(": s\nking prince man boy\n"), restrict_vocab=6)
    assert out["predicted"].tolist()[0] < 6  # boy, the best answer, is row 6: not a candidate


def test_3cosmul_differs_from_3cosadd_where_expected():
    # A case where the two objectives disagree (3CosMul punishes a candidate far from one of b, c more).
    words = ["a", "b", "c", "x", "y"]
    m = np.array([[0.1, 0, -0.5], [0.6, 0.9, 0.3], [-0.8, 0.7, -0.5], [0.9, -1.1, 0.9], [0, -1.2, -0.3]],
                 dtype=np.float32)
    vec = Vectors(words, m)
    aset = _questions(": s\na b c x\n")
    add = analogy_outcomes(vec, aset, method="3cosadd", case_sensitive=True)
    mul = analogy_outcomes(vec, aset, method="3cosmul", case_sensitive=True)
    unit = m.astype(np.float64) / np.linalg.norm(m.astype(np.float64), axis=1, keepdims=True)
    cos = unit[3:] @ unit[:3].T  # (2 candidates, a b c)
    s_add = cos[:, 1] + cos[:, 2] - cos[:, 0]  # -0.657, -1.555
    s_mul = (1 + cos[:, 1]) / 2 * (1 + cos[:, 2]) / 2 / ((1 + cos[:, 0]) / 2 + 1e-6)  # 0.0143, 0.0334
    assert (np.argmax(s_add), np.argmax(s_mul)) == (0, 1)
    assert (add["predicted"][0], mul["predicted"][0]) == (3, 4)
    assert add["correct"][0] and not mul["correct"][0]


def _variants_case() -> tuple[Vectors, AnalogySet]:
    """Six case variants of the question words outscore every other word, in row order: gensim reads five of
    them and takes the fifth, MAN (row 8)."""
    words = ["man", "king", "woman", "queen", "KING", "King", "Woman", "WOMAN", "MAN", "kinG", "other"]
    rng = np.random.default_rng(3)
    m = rng.standard_normal((len(words), 6)).astype(np.float32) * 0.01
    m[0, 0] = m[1, 1] = m[2, 2] = 1.0
    m[3] = [0, 0.7, 0.7, 0.1, 0, 0]
    for k in range(6):  # the direction of king - man + woman, turning away from it row by row
        m[4 + k] = [-1, 1, 1, 0, 0.1 * k, 0]
    text = ": s\nman king woman queen\nman king woman woman\nman king woman man\nking man queen woman\n"
    return Vectors(words, m), _questions(text)


def test_gensim_top5_reading_of_case_variants():
    vec, aset = _variants_case()
    out = analogy_outcomes(vec, aset)
    # KING King Woman WOMAN MAN outscore queen: gensim answers MAN, right only where d is "man"
    assert out["predicted"].tolist()[:3] == [8, 8, 8] and out["correct"].tolist() == [False, False, True, True]
    _, want_c, want_p = oracle(vec.words, vec.matrix, aset, "3cosadd", None, False)
    assert out["correct"].tolist() == want_c.tolist() and out["predicted"].tolist() == want_p.tolist()
    out = analogy_outcomes(vec, aset, case_sensitive=True)  # KING is another word there: the best answer
    assert out["predicted"].tolist()[:3] == [4, 4, 4] and not out["correct"][:3].any()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # gensim's most_similar_cosmul calls init_sims
@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_gensim_on_small_sets_with_case_variants(method, tmp_path):
    gensim = pytest.importorskip("gensim")  # noqa: F841 -- the reference implementation
    for seed, (vec, aset) in enumerate([_variants_case(), _random_case(11, variants=True)]):
        qfile = tmp_path / f"q{seed}.txt"
        qfile.write_text("".join(f": {s}\n" + "".join(" ".join(q) + "\n" for q, k in zip(aset.questions, aset.section)
                                                      if k == i) for i, s in enumerate(aset.sections)))
        for n in (None, 200):
            rows = evaluate_analogies(vec, load_analogies(qfile), method=method, restrict_vocab=n)
            kv = Vectors(vec.words[:n], vec.matrix[:n]).to_gensim()
            if method == "3cosmul":
                kv.most_similar = lambda positive, negative, topn, restrict_vocab, kv=kv: kv.most_similar_cosmul(
                    positive=positive, negative=negative, topn=topn)
            with np.errstate(all="ignore"):  # the zero row: gensim divides by its norm
                _, sections = kv.evaluate_word_analogies(str(qfile), restrict_vocab=n or len(vec))
            got = [(r["correct"], r["questions"] - r["skipped"] - r["correct"]) for r in rows]
            assert got == [(len(s["correct"]), len(s["incorrect"])) for s in sections], (seed, n)


# -- the oracle on random sets -------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
@pytest.mark.parametrize("case_sensitive", [False, True])
def test_matches_slow_oracle(method, case_sensitive):
    for seed in range(3):
        vec, aset = _random_case(seed, variants=seed > 0)
        for n in (None, 150):
            want_a, want_c, want_p = oracle(vec.words, vec.matrix, aset, method, n, case_sensitive)
            out = analogy_outcomes(vec, aset, method=method, restrict_vocab=n, case_sensitive=case_sensitive,
                                   threads=1 + seed % 2)
            assert out["answerable"].tolist() == want_a.tolist()
            assert out["predicted"].tolist() == want_p.tolist(), (seed, n)
            assert out["correct"].tolist() == want_c.tolist()


def test_questions_that_cross_many_blocks_match_the_oracle():
    # 5,000 words x 3,000 questions: several row blocks (2,048) and question blocks (512) on two threads
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(5000)]
    vec = Vectors(words, rng.standard_normal((5000, 10)).astype(np.float32))
    lines = [": a"] + [" ".join(words[j] for j in rng.integers(0, 5000, 4)) for _ in range(3000)]
    aset = _questions("\n".join(lines) + "\n")
    out = analogy_outcomes(vec, aset, threads=2)
    sub = _questions("\n".join(lines[:201]) + "\n")  # the oracle is slow: its first 200 questions
    _, _, want = oracle(words, vec.matrix, sub, "3cosadd", None, False)
    assert out["predicted"][:200].tolist() == want.tolist()
    assert out["predicted"].tolist() == analogy_outcomes(vec, aset, threads=1)["predicted"].tolist()


# -- McNemar ---------------------------------------------------------------------------------------------------------
def test_compare_is_exact_mcnemar_on_common_questions():
    aset = _questions(": s\n" + "a b c d\n" * 30 + ": t\n" + "a b c d\n" * 10)
    rng = np.random.default_rng(0)
    oa = {"answerable": np.ones(40, bool), "correct": rng.random(40) < 0.7}
    ob = {"answerable": np.r_[np.ones(35, bool), np.zeros(5, bool)], "correct": rng.random(40) < 0.4}
    rows = compare_analogies(oa, ob, aset)
    total = rows[-1]
    both = ob["answerable"]
    b = int((oa["correct"] & ~ob["correct"] & both).sum())
    c = int((~oa["correct"] & ob["correct"] & both).sum())
    assert total["n"] == 35 and total["correct_a"] == int(oa["correct"][both].sum())
    assert total["p"] == pytest.approx(st.binomtest(b, b + c, 0.5).pvalue, rel=1e-12)
    by_hand = min(1.0, 2 * sum(math.comb(b + c, k) for k in range(min(b, c) + 1)) / 2 ** (b + c))
    assert total["p"] == pytest.approx(by_hand, rel=1e-12)
    assert rows[1]["n"] == 5 and [r["section"] for r in rows] == ["s", "t", "total"]


def test_evaluate_sets_compares_with_the_first():
    vec, aset = _random_case(4)
    other = Vectors(vec.words, vec.matrix[::-1].copy())
    small = Vectors(vec.words[:100], vec.matrix[:100])
    rows = evaluate_analogy_sets([("a", vec), ("b", other), ("c", small)], aset)
    assert [r["vectors"] for r in rows] == ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    assert all(r["p_vs_first"] is None for r in rows[:4]) and rows[7]["section"] == "total"
    assert rows[7]["n_vs_first"] == rows[3]["questions"] - rows[3]["skipped"]  # same vocabulary: same questions
    assert rows[11]["n_vs_first"] == rows[11]["questions"] - rows[11]["skipped"] < rows[7]["n_vs_first"]
    assert 0 <= rows[7]["p_vs_first"] <= 1 and rows[7]["first_correct_common"] == rows[3]["correct"]
    assert "p_vs_first" not in evaluate_analogy_sets([("a", vec)], aset)[0]


# -- GloVe 6B 50d against gensim -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def glove() -> Vectors:
    from mmwe.vectors import load

    return load("glove-6b-50d")


def _gensim_sections(glove: Vectors, qfile: Path, method: str, n: int) -> list[tuple[int, int]]:
    pytest.importorskip("gensim")
    kv = Vectors(glove.words[:n], glove.matrix[:n]).to_gensim() if method == "3cosmul" else glove.to_gensim()
    if method == "3cosmul":  # gensim's evaluation loop has no 3CosMul switch: give it most_similar_cosmul
        kv.most_similar = lambda positive, negative, topn, restrict_vocab: kv.most_similar_cosmul(
            positive=positive, negative=negative, topn=topn)
    _, sections = kv.evaluate_word_analogies(str(qfile), restrict_vocab=n)
    return [(len(s["correct"]), len(s["incorrect"])) for s in sections[:-1]]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_matches_gensim_on_glove_sample(glove, method, tmp_path):
    # Every 40th question of each section, the first 30,000 words: gensim answers one question at a time.
    qfile = _sample_file(load_analogies("google"), 40, tmp_path / "sample.txt")
    rows = evaluate_analogies(glove, load_analogies(qfile), method=method, restrict_vocab=30000)
    want = _gensim_sections(glove, qfile, method, 30000)
    assert [(r["correct"], r["questions"] - r["skipped"] - r["correct"]) for r in rows[:-1]] == want


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_glove_30k_golden_per_section(glove, method):
    rows = evaluate_analogies(glove, "google", method=method, restrict_vocab=30000)
    assert [r["section"] for r in rows] == GOOGLE_SECTIONS + ["total"]
    assert [(r["correct"], r["questions"] - r["skipped"] - r["correct"]) for r in rows[:-1]] == GENSIM_30K[method]
    total = rows[-1]
    assert (total["correct"], total["questions"], total["skipped"]) == (
        sum(c for c, _ in GENSIM_30K[method]), 19544, 19544 - sum(c + i for c, i in GENSIM_30K[method]))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("method, n, every", [("3cosadd", 30000, 1), ("3cosmul", 30000, 1), ("3cosadd", 300000, 1),
                                              ("3cosmul", 300000, 4)])  # gensim's 3CosMul: ~0.25 s a question
def test_matches_gensim_full_set(glove, method, n, every, tmp_path):
    aset = load_analogies("google")
    qfile = _google_file() if every == 1 else _sample_file(aset, every, tmp_path / "sample.txt")
    rows = evaluate_analogies(glove, load_analogies(qfile), method=method, restrict_vocab=n)
    want = _gensim_sections(glove, qfile, method, n)
    assert [(r["correct"], r["questions"] - r["skipped"] - r["correct"]) for r in rows[:-1]] == want


def _sample_file(aset: AnalogySet, every: int, path: Path) -> Path:
    """Every ``every``-th question of each section, as a question file gensim can read."""
    path.write_text("".join(f": {s}\n" + "".join(" ".join(q) + "\n" for q in
                                                  [q for q, k in zip(aset.questions, aset.section) if k == i][::every])
                            for i, s in enumerate(aset.sections)))
    return path


def _google_file() -> Path:
    from importlib.resources import files

    return Path(str(files("mmwe") / "data" / "analogies" / "questions-words.txt"))


# -- CLI ---------------------------------------------------------------------------------------------------------
def test_cli_json_table_and_comparison(tmp_path, capsys):
    vec, aset = _random_case(6)
    v1 = _write_w2v(tmp_path / "v1.txt", vec)
    v2 = _write_w2v(tmp_path / "v2.txt", Vectors(vec.words, vec.matrix[::-1].copy()))
    qfile = tmp_path / "q.txt"
    qfile.write_text("".join(f": {s}\n" + "".join(" ".join(q) + "\n" for q, k in zip(aset.questions, aset.section)
                                                  if k == i) for i, s in enumerate(aset.sections)))
    assert main(["eval-analogies", str(v1), str(v2), "--dataset", str(qfile), "--method", "3cosmul", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 8 and rows[3]["section"] == "total" and rows[7]["section"] == "total"
    assert {"vectors", "section", "correct", "questions", "accuracy", "skipped", "p_vs_first", "n_vs_first"} <= set(
        rows[4])
    lib = evaluate_analogies(vec, aset, method="3cosmul")
    assert [r["correct"] for r in rows[:4]] == [r["correct"] for r in lib]
    assert main(["eval-analogies", str(v1), "-d", str(qfile), "--case-sensitive", "--restrict-vocab", "100"]) == 0
    out = capsys.readouterr().out
    assert "analogies q, 3cosadd, first 100" in out and "│ total" in out and "│ part1" in out


def test_cli_errors_are_one_line(tmp_path, capsys):
    vec, _ = _random_case(7)
    v1 = _write_w2v(tmp_path / "v1.txt", vec)
    bad = tmp_path / "bad.txt"
    bad.write_text(": s\nw1 w2 w3 w4\nw1 w2 w3\n")
    assert main(["eval-analogies", str(v1), "--dataset", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}:3: expected 4 words" in err
    assert main(["eval-analogies", str(v1), "--method", "3cosavg"]) == 2
    assert "expected 3cosadd or 3cosmul" in capsys.readouterr().err
    assert main(["eval-analogies", str(v1), "--restrict-vocab", "0"]) == 2
    assert "--restrict-vocab: expected an integer >= 1" in capsys.readouterr().err
    assert main(["eval-analogies", str(v1)]) == 2  # the toy vocabulary answers no Google question
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no question of 'google'" in err


def test_cli_unicode_errors(tmp_path, capsys):
    rng = np.random.default_rng(8)
    words = [b"king", b"man", b"woman", b"queen", b"caf\xe9"]
    v = tmp_path / "v.vec"
    v.write_bytes(b"5 4\n" + b"".join(w + b" " + " ".join(f"{x:.4f}" for x in rng.standard_normal(4)).encode() + b"\n"
                                      for w in words))
    q = tmp_path / "q.txt"
    q.write_text(": s\nman king woman queen\n")
    assert main(["eval-analogies", str(v), "-d", str(q)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not valid UTF-8" in err and "--unicode-errors replace" in err
    assert main(["eval-analogies", str(v), "-d", str(q), "--unicode-errors", "replace", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["section"] == "total" and rows[-1]["questions"] == 1 and rows[-1]["skipped"] == 0
