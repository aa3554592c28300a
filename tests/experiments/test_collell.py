"""Collell & Moens (2018) reproduction: CV / out-of-fold logic, protocol, exp 1 and exp 2 end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmwe.datasets import PairedData
from mmwe.datasets.iaprtc12 import iapr_paths, load_iaprtc12
from mmwe.errors import MmweError
from mmwe.experiments import collell as C
from mmwe.report.summaries import exp2_pivot
from tests.conftest import run_cli as _cli


# -- cross-validation ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,folds", [(10, 5), (11, 5), (1962, 5), (7, 2), (5, 5)])
def test_kfold_indices_partition_rows(n, folds):
    parts = C.kfold_indices(n, folds, seed=3)
    assert len(parts) == folds
    allrows = np.concatenate(parts)
    assert sorted(allrows.tolist()) == list(range(n))  # every row held out exactly once
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    again = C.kfold_indices(n, folds, seed=3)
    assert all((a == b).all() for a, b in zip(parts, again))
    if n > folds:
        assert any((a != b).any() for a, b in zip(parts, C.kfold_indices(n, folds, seed=4)) if len(a) == len(b))


def test_kfold_indices_bad_folds():
    with pytest.raises(MmweError, match="2 <= folds <= rows"):
        C.kfold_indices(3, 5)
    with pytest.raises(MmweError, match="2 <= folds <= rows"):
        C.kfold_indices(10, 1)


def test_out_of_fold_predictions_vs_loop_oracle():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(23, 3)), rng.normal(size=(23, 2))
    folds = C.kfold_indices(23, 4, seed=1)
    seen = []

    def fit_predict(Xtr, Ytr, Xte, fold):  # "map" = mean target of the training rows + the input's first value
        seen.append((fold, len(Xtr), len(Xte)))
        return np.tile(Ytr.mean(axis=0), (len(Xte), 1)) + Xte[:, :1]

    F = C.out_of_fold_predictions(X, Y, folds, fit_predict)
    for i in range(23):  # oracle: row i is predicted from the rows of the other folds only
        fold = next(f for f, t in enumerate(folds) if i in t)
        train = [j for j in range(23) if j not in folds[fold]]
        np.testing.assert_allclose(F[i], Y[train].mean(axis=0) + X[i, 0], rtol=1e-6)
    assert [s[0] for s in seen] == [0, 1, 2, 3] and all(a + b == 23 for _, a, b in seen)


def test_map_config_follows_the_authors_code():
    iapr = PairedData("iaprtc12", np.zeros((4, 128)), np.zeros((4, 64)), "vgg128")
    inet = PairedData("imagenet", np.zeros((4, 1280)), np.zeros((4, 50)), "efficientnet-lite0")
    cfg = C.CollellConfig()
    lin_i2t = C.map_config(iapr, "I->T", "lin", cfg, fold=2)
    assert (lin_i2t.lr, lin_i2t.epochs, lin_i2t.batch_size, lin_i2t.val_fraction, lin_i2t.seed) == (
        1e-4, 50, 128, 0.0, 2)
    assert C.map_config(iapr, "T->I", "lin", cfg, 0).lr == 1e-3
    nn = C.map_config(iapr, "I->T", "nn", cfg, 0)
    assert (nn.lr, nn.hidden, nn.activation, nn.dropout, nn.loss) == (1e-3, (512,), "relu", 0.0, "mse")
    nn_inet = C.map_config(inet, "I->T", "nn", C.CollellConfig(epochs=7), 0)
    assert (nn_inet.lr, nn_inet.hidden, nn_inet.epochs) == (1e-4, (1024,), 7)
    assert C.map_config(inet, "T->I", "lin", cfg, 0).lr == 1e-3


def test_config_validation():
    with pytest.raises(MmweError, match="expected dataset"):
        C.CollellConfig(dataset="wiki").validate()
    with pytest.raises(MmweError, match="expected direction"):
        C.CollellConfig(directions=("I2T",)).validate()
    with pytest.raises(MmweError, match="expected --data-dir"):
        iapr_paths(None)


def test_iapr_paths_missing_files(tmp_path, capsys):
    with pytest.raises(MmweError, match="TS_lang_biGRU.csv and TS_vis_vgg128.csv"):
        iapr_paths(tmp_path)
    assert _cli(["reproduce", "collell", "--data-dir", str(tmp_path)]) == 2  # one line, no traceback
    err = capsys.readouterr().err
    assert err.startswith("mmwe: error: ") and err.count("\n") == 1


def test_iapr_rows_must_be_paired(tmp_path):
    (tmp_path / "TS_lang_biGRU.csv").write_text("1 2,0.5,0.1\n3,0.2,0.3\n")
    (tmp_path / "TS_vis_vgg128.csv").write_text("1 2,1.0,0.0,2.0\n4,0.0,1.0,1.0\n")
    with pytest.raises(MmweError, match="row 2 to carry the same labels"):
        load_iaprtc12(tmp_path)
    (tmp_path / "TS_vis_vgg128.csv").write_text("1 2,1.0,0.0,2.0\n3,0.0,1.0,1.0\n")
    data = load_iaprtc12(tmp_path)
    assert data.labels == [frozenset({1, 2}), frozenset({3})] and data.image.shape == (2, 3)


def test_retrieval_scores_zero_shot_equals_recall_for_words():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(30, 4))
    F = Y + rng.normal(scale=0.8, size=Y.shape)
    data = PairedData("imagenet", np.zeros((30, 2)), Y, "x", words=[f"w{i}" for i in range(30)])
    r = C.retrieval_scores(data, "I->T", Y, F, (1, 5, 10))
    assert r["zs_top1"] == r["r@1"] and r["zs_top5"] == r["r@5"] and r["mAP"] is None
    assert C.retrieval_scores(data, "T->I", Y, F, (1,))["zs_top1"] is None


def test_retrieval_scores_csls_and_precision_columns():
    from mmwe.metrics.retrieval import csls_scores, label_relevance, precision_at_k, recall_at_k

    rng = np.random.default_rng(1)
    Y = rng.normal(size=(40, 5))
    F = Y + rng.normal(scale=1.0, size=Y.shape)
    labels = [frozenset({int(v)}) if v < 3 else frozenset() for v in rng.integers(0, 6, 40)]
    data = PairedData("iaprtc12", np.zeros((40, 2)), Y, "x", labels=labels)
    r = C.retrieval_scores(data, "I->T", Y, F, (1, 5, 10))
    want = recall_at_k(csls_scores(F, Y, 10), (1, 5, 10))
    assert [r[f"csls_r@{k}"] for k in (1, 5, 10)] == [want[f"r@{k}"] for k in (1, 5, 10)]
    correct = label_relevance(labels, labels) | np.eye(40, dtype=bool)
    p = precision_at_k(csls_scores(F, Y, 10), correct, (1, 5, 10))
    assert [r[f"csls_p@{k}"] for k in (1, 5, 10)] == [p[f"p@{k}"] for k in (1, 5, 10)]
    assert all(r[f"p@{k}"] >= r[f"r@{k}"] for k in (1, 5, 10))  # the paired item is one of the correct ones
    assert r["zs_csls_top1"] is None
    words = PairedData("imagenet", np.zeros((40, 2)), Y, "x", words=[f"w{i}" for i in range(40)])
    w = C.retrieval_scores(words, "I->T", Y, F, (1, 5))
    assert w["zs_csls_top1"] == w["csls_r@1"] and w["zs_csls_top5"] == w["csls_r@5"] and w["p@1"] is None


def test_exp2_pivot_marks_significance():
    rows = [{"embedding": "g", "benchmark": "men", "similarity": "cosine", "pairs": 9, "found": 9,
             "original": 0.5, "f_lin": 0.4, "p_lin": 0.01, "f_nn": 0.49, "p_nn": 0.5}]
    table, cols = exp2_pivot(rows)
    assert cols == ["embedding", "similarity", "vectors", "men"]
    assert [r["men"] for r in table] == ["9/9", 0.5, "0.400*", "0.490"]


# -- real data (need the mnno / paired modules) -------------------------------------------------------------
def test_exp1_iaprtc12_end_to_end_reduced_epochs(iapr_dir, tmp_path, capsys):
    """One short run through the CLI: table structure, value ranges, mNNO(X,Y) = the direct mNNO."""
    from mmwe.datasets.paired import read_label_csv
    from mmwe.metrics.overlap import mnno

    out = tmp_path / "run"
    code = _cli(["reproduce", "collell", "--exp", "1", "--dataset", "iaprtc12", "--data-dir", str(iapr_dir),
                 "--epochs", "2", "--json", "--out", str(out)])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    rows = res["rows"]
    assert [(r["direction"], r["map"]) for r in rows] == [("I->T", "lin"), ("I->T", "nn"), ("T->I", "lin"),
                                                          ("T->I", "nn")]
    keys = {"dataset", "direction", "map", "mnno_x_fx", "mnno_y_fx", "mnno_x_y", "mse", "r2", "r@1", "r@5", "r@10",
            "mAP"}
    assert all(keys <= set(r) for r in rows)
    for r in rows:
        for k in ("mnno_x_fx", "mnno_y_fx", "mnno_x_y", "r@1", "r@5", "r@10", "mAP"):
            assert 0.0 <= r[k] <= 1.0, (k, r[k])
        assert r["r@1"] <= r["r@5"] <= r["r@10"] and r["mse"] > 0
    _, T = read_label_csv(iapr_dir / "TS_lang_biGRU.csv")
    _, V = read_label_csv(iapr_dir / "TS_vis_vgg128.csv")
    direct = mnno(V, T, k=10, metric="cosine", include_self=True)
    assert all(r["mnno_x_y"] == pytest.approx(direct) for r in rows)
    assert res["data"]["n"] == 1962
    for name in ("results.json", "results.md", "report.md", "report.html"):
        assert (out / name).is_file()
    assert "| iaprtc12 | I->T | lin |" in (out / "results.md").read_text()


def test_exp1_rows_random_pairs_sanity():
    """With unrelated X and Y the map cannot import Y's neighbourhoods: mNNO(Y,f(X)) stays near chance."""
    from mmwe.metrics.overlap import chance_overlap

    rng = np.random.default_rng(0)
    data = PairedData("toy", rng.normal(size=(200, 8)).astype(np.float32),
                        rng.normal(size=(200, 6)).astype(np.float32), "vgg128")
    cfg = C.CollellConfig(epochs=3, k=5, maps=("lin",), directions=("I->T",))
    (row,) = C.exp1_rows(data, cfg)
    assert row["mnno_x_fx"] > row["mnno_y_fx"]
    assert row["mnno_y_fx"] < chance_overlap(200, 5, include_self=True) + 0.1
    assert row["mAP"] is None and row["zs_top1"] is None


def test_exp2_real_structure_and_oracle():
    from mmwe.datasets.wordsim import BUILTIN_BENCHMARKS, load_benchmark
    from mmwe.metrics.stats import spearman
    from mmwe.metrics.wordsim import evaluate
    from mmwe.vectors import load

    res = C.run_exp2(C.CollellConfig())
    rows = res["rows"]
    assert len(rows) == 2 * len(BUILTIN_BENCHMARKS) * 2
    glove_men = next(r for r in rows if r["embedding"] == "glove-6b-50d" and r["benchmark"] == "men"
                     and r["similarity"] == "cosine")
    want = evaluate(load("glove-6b-50d"), "men", similarity="cosine")
    assert glove_men["original"] == pytest.approx(want["spearman"]) and glove_men["found"] == want["found"]
    assert -1 <= glove_men["f_nn"] <= 1 and 0 <= glove_men["p_nn"] <= 1
    for r in rows:  # uncovered benchmarks are reported with their coverage, not with a correlation
        assert (r["original"] is None) == (r["found"] < C.MIN_PAIRS)
    # oracle for one mapped value: untrained f_lin of GloVe, MEN, euclidean
    from mmwe.vectors import Vectors

    bench = load_benchmark("men")
    g = load("glove-6b-50d")
    sub = g.subset(sorted({w for p in bench.pairs for w in p if w in g}))
    f = C.untrained_pair(50, 1280, "t2i", C.CollellConfig())["lin"]
    mv = Vectors(sub.words, f.predict(sub.matrix))
    pairs = [(a, b, s) for (a, b), s in zip(bench.pairs, bench.scores) if a in sub and b in sub]
    sims = [-float(np.linalg.norm(mv[a].astype(float) - mv[b])) for a, b, _ in pairs]
    row = next(r for r in rows if r["embedding"] == "glove-6b-50d" and r["benchmark"] == "men"
               and r["similarity"] == "euclidean")
    assert row["f_lin"] == pytest.approx(spearman(np.array([s for *_, s in pairs]), np.array(sims)), abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["iaprtc12", "imagenet"])
def test_exp1_full_run_finding(dataset, iapr_dir):
    """The full protocol (50 epochs); the paper's finding mNNO(X,f(X)) > mNNO(Y,f(X)) is checked per row."""
    res = C.run_exp1(C.CollellConfig(dataset=dataset, data_dir=str(iapr_dir)))
    assert len(res["rows"]) == 4
    assert all(0 <= r["mnno_y_fx"] <= 1 for r in res["rows"])
    assert res["finding_holds"] == all(r["mnno_x_fx"] > r["mnno_y_fx"] for r in res["rows"])
