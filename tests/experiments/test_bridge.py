"""Tests of the bridging losses and closed-form maps of mmwe.maps, the bridge experiment and its figures (issue 11)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwe.errors import MmweError
from mmwe.experiments.bridge import GRIDS, BridgeConfig, choose, run, save, setting_label
from mmwe.maps import (
    LOSSES,
    CrossModalMap,
    MapConfig,
    compute_loss,
    fit_map,
    graph_loss,
    knn_graph,
    parse_loss,
    untrained_map,
)
from mmwe.metrics.overlap import mnno
from mmwe.neighbors import knn
from mmwe.report.bridge_plots import bridge_retrieval_plot, bridge_scatter_plot
from mmwe.threads import thread_limit

REPO = Path(__file__).resolve().parents[2]
BEFORE = "3124734"  # the last commit before the bridging losses: the old losses must train exactly as there
LOCAL = ("mse", "max-margin", "cosine", "infonce", "similarity", "neighbourhood")


@pytest.fixture(autouse=True)
def one_thread():
    """These maps are tiny: one thread is faster, and the golden numbers were taken with one."""
    with thread_limit(1):
        yield


def _orthogonal(d: int, seed: int = 0) -> np.ndarray:
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))[0].astype(np.float32)


@pytest.fixture(scope="module")
def rotated():
    """Y = X R with R orthogonal: every loss has a known optimum here."""
    X = np.random.default_rng(1).standard_normal((60, 5)).astype(np.float32)
    R = _orthogonal(5)
    return X, X @ R, R


def _same_weights(a: CrossModalMap, b: CrossModalMap) -> bool:
    sa, sb = a.network.state_dict(), b.network.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ------------------------------------------------------------------------------------ loss specs


def test_parse_loss_single_weighted_and_alias():
    assert parse_loss("mse") == {"mse": 1.0}
    assert parse_loss("mse=1, neighborhood=0.5") == {"mse": 1.0, "neighbourhood": 0.5}
    assert parse_loss("infonce=2,graph=0") == {"infonce": 2.0}  # weight 0 drops a term
    assert set(LOSSES) >= {"infonce", "similarity", "neighbourhood", "graph", "adversarial"}


@pytest.mark.parametrize("spec, message", [
    ("hinge", "loss in .*unknown term 'hinge'"),
    ("mse=-1", "weight >= 0 for loss term 'mse'"),
    ("mse=x", "weight >= 0"),
    ("mse=1,mse=2", "each loss term once"),
    ("mse=0", "weight > 0"),
    ("adversarial", "regression or contrastive term beside 'adversarial'"),
    ("neighbourhood=1,adversarial=1", "beside 'adversarial'"),
])
def test_parse_loss_errors(spec, message):
    with pytest.raises(MmweError, match=message):
        MapConfig(loss=spec).validate()


def test_config_errors_for_new_settings():
    with pytest.raises(MmweError, match="temperature > 0"):
        MapConfig(temperature=0).validate()
    with pytest.raises(MmweError, match="graph_k >= 1"):
        MapConfig(graph_k=0).validate()
    with pytest.raises(MmweError, match="batch_size >= 2 for the graph loss"):
        MapConfig(loss="mse=1,graph=1", batch_size=1).validate()
    with pytest.raises(MmweError, match="batch-local loss term.*'graph'"):
        compute_loss(torch.zeros(4, 2), torch.zeros(4, 2), "graph")


# ------------------------------------------------------------------------------------ gradients


@pytest.mark.parametrize("loss", LOCAL)
def test_gradient_flows_through_each_batch_loss(loss):
    torch.manual_seed(0)
    net = torch.nn.Linear(6, 4)
    X, Y = torch.randn(16, 6), torch.randn(16, 4)
    value = compute_loss(net(X), Y, loss)
    value.backward()
    assert torch.isfinite(value) and value.item() > 0
    assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
               for p in net.parameters())


def test_gradient_flows_through_graph_loss_and_learned_temperature():
    torch.manual_seed(0)
    net = torch.nn.Linear(6, 4)
    X, Y = torch.randn(30, 6), torch.randn(30, 4)
    G = knn_graph(Y, 5)
    rows = torch.arange(10)
    nb = G[rows, 0]
    value = graph_loss(net(X[rows]), net(X[nb]).detach(), rows, nb, 0.1)
    value.backward()
    assert torch.isfinite(value) and net.weight.grad.abs().sum() > 0
    scale = torch.nn.Parameter(torch.tensor(3.0))
    compute_loss(net(X), Y, "infonce", temperature=torch.exp(-scale)).backward()
    assert scale.grad is not None and scale.grad != 0


def test_graph_loss_leaves_out_the_anchor_and_copies_of_its_positive():
    P = torch.eye(3)  # cos = 1 with itself, 0 with the others; temperature 1
    # row 1 drew row 0 (anchor 0 itself) and rows 0 and 2 drew the same row 5: those candidates are left out
    value = graph_loss(P, P, torch.tensor([0, 1, 2]), torch.tensor([5, 0, 5]), 1.0)
    per_anchor = [-torch.log_softmax(torch.tensor(s), 0)[i]
                  for i, s in ((0, [1.0, -1e9, -1e9]), (1, [0.0, 1.0, 0.0]), (2, [-1e9, 0.0, 1.0]))]
    assert value.item() == pytest.approx(sum(v.item() for v in per_anchor) / 3, rel=1e-6)


def test_adversarial_term_moves_the_map():
    X = np.random.default_rng(0).standard_normal((80, 6)).astype(np.float32)
    Y = np.random.default_rng(1).standard_normal((80, 3)).astype(np.float32) + 2.0
    cfg = dict(epochs=2, batch_size=16, val_fraction=0.0)
    plain = fit_map(X, Y, MapConfig(loss="mse", **cfg))
    adv = fit_map(X, Y, MapConfig(loss="mse=1,adversarial=1", **cfg))
    assert not _same_weights(plain, adv)
    assert all(torch.isfinite(v).all() for v in adv.network.state_dict().values())


def test_knn_graph_matches_mmwe_exact_knn():
    Y = np.random.default_rng(2).standard_normal((300, 7)).astype(np.float32)
    G = knn_graph(torch.from_numpy(Y), 6, block=64)  # several blocks
    assert np.array_equal(G.numpy(), knn(Y, 6, metric="cosine", include_self=False))
    assert knn_graph(torch.from_numpy(Y[:4]), 10).shape == (4, 3)  # k capped at N - 1


# --------------------------------------------------------------------------------- known optima


def test_procrustes_recovers_the_rotation(rotated):
    X, Y, R = rotated
    fmap = fit_map(X, Y, MapConfig(model="procrustes"))
    A = fmap.network[-1].weight.detach().numpy().T
    np.testing.assert_allclose(A, R, atol=1e-5)
    np.testing.assert_allclose(fmap.network[-1].bias.detach().numpy(), 0.0, atol=1e-5)
    assert fmap.history["scale"] == pytest.approx(1.0, abs=1e-6)


def test_procrustes_zero_pads_the_smaller_side(rotated):
    X, _, R = rotated
    Y = np.hstack([X @ R, np.zeros((len(X), 2), np.float32)])  # dy = dx + 2
    A = fit_map(X, Y, MapConfig(model="procrustes")).network[-1].weight.detach().numpy().T  # (5, 7)
    np.testing.assert_allclose(A, np.hstack([R, np.zeros((5, 2))]), atol=1e-5)
    A = fit_map(Y, X, MapConfig(model="procrustes")).network[-1].weight.detach().numpy().T  # (7, 5)
    np.testing.assert_allclose(A.T @ A, np.eye(5), atol=1e-5)  # orthonormal columns


def test_cca_map_is_exact_on_noise_free_linear_data():
    X = np.random.default_rng(3).standard_normal((200, 5)).astype(np.float32)
    Y = X @ np.random.default_rng(4).standard_normal((5, 4)).astype(np.float32) + 1.0
    fmap = fit_map(X, Y, MapConfig(model="cca"))
    np.testing.assert_allclose(fmap.predict(X), Y, atol=1e-3)
    assert fmap.history["components"] == 4
    assert fit_map(X, Y, MapConfig(model="cca", cca_components=2)).history["components"] == 2


@pytest.mark.parametrize("loss", ["neighbourhood", "similarity"])
def test_structure_losses_reach_full_overlap_with_the_target(rotated, loss):
    X, Y, _ = rotated
    fmap = fit_map(X, Y, MapConfig(loss=loss, lr=1e-2, epochs=300, batch_size=60, val_fraction=0.0))
    assert mnno(Y, fmap.predict(X), k=5) == 1.0


def test_graph_loss_pulls_mapped_neighbourhoods_towards_the_target(rotated):
    X, Y, _ = rotated
    cfg = dict(loss="graph", lr=1e-2, batch_size=60, val_fraction=0.0, graph_k=5)
    before = mnno(Y, untrained_map(5, 5, MapConfig(**cfg)).predict(X), k=5)
    after = mnno(Y, fit_map(X, Y, MapConfig(epochs=100, **cfg)).predict(X), k=5)
    assert after >= 0.85 and after > before + 0.1


def test_infonce_retrieves_every_paired_item(rotated):
    X, Y, _ = rotated
    F = fit_map(X, Y, MapConfig(loss="infonce", lr=1e-2, epochs=300, batch_size=60, val_fraction=0.0)).predict(X)
    S = (F / np.linalg.norm(F, axis=1, keepdims=True)) @ (Y / np.linalg.norm(Y, axis=1, keepdims=True)).T
    assert (S.argmax(axis=1) == np.arange(len(Y))).all()


# ---------------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("loss", ["infonce", "similarity", "neighbourhood", "mse=1,graph=1", "mse=1,adversarial=0.5"])
def test_new_losses_are_deterministic_with_a_seed(loss):
    X = np.random.default_rng(5).standard_normal((90, 6)).astype(np.float32)
    Y = np.random.default_rng(6).standard_normal((90, 4)).astype(np.float32)
    cfg = dict(model="nn", hidden=(8,), dropout=0.1, loss=loss, epochs=2, batch_size=16, graph_k=4,
               learn_temperature=loss == "infonce")
    a, b = fit_map(X, Y, MapConfig(**cfg)), fit_map(X, Y, MapConfig(**cfg))
    assert _same_weights(a, b) and a.history["val_loss"] == b.history["val_loss"]
    assert not _same_weights(a, fit_map(X, Y, MapConfig(**cfg, seed=1)))


def test_closed_form_maps_save_load_and_refuse_untrained(tmp_path, rotated):
    X, Y, _ = rotated
    for model in ("procrustes", "cca"):
        fmap = fit_map(X, Y, MapConfig(model=model))
        fmap.save(tmp_path / f"{model}.pt")
        back = CrossModalMap.load(tmp_path / f"{model}.pt")  # torch.load(weights_only=True) inside
        assert back.config.model == model and "closed form" in repr(back)
        np.testing.assert_array_equal(back.predict(X), fmap.predict(X))
    with pytest.raises(MmweError, match="closed-form map has no initialisation"):
        untrained_map(5, 5, MapConfig(model="procrustes"))


def test_weighted_map_saves_and_loads(tmp_path):
    X = np.random.default_rng(7).standard_normal((40, 3)).astype(np.float32)
    fmap = fit_map(X, X[:, :2], MapConfig(loss="mse=1,neighbourhood=0.5", epochs=1))
    fmap.save(tmp_path / "m.pt")
    assert CrossModalMap.load(tmp_path / "m.pt").config.terms == {"mse": 1.0, "neighbourhood": 0.5}


# ---------------------------------------------------------------------- the old losses, unchanged

# fit_map of the committed maps.py before this change (BEFORE), on the data of _golden_data():
# (sum |f(X)|, best validation loss, last training loss)
GOLDEN = {
    ("mse", "lin"): (347.9180654399097, 3.889450788497925, 4.659005115650318),
    ("mse", "nn"): (215.69408264011145, 2.718393564224243, 4.329051999692564),
    ("max-margin", "lin"): (358.59997072815895, 13.936572074890137, 9.355679042251023),
    ("max-margin", "nn"): (242.24859986826777, 8.050667762756348, 9.041829653139468),
    ("cosine", "lin"): (358.419042121619, 1.4501667022705078, 0.9995290517807007),
    ("cosine", "nn"): (244.10695681348443, 0.926987886428833, 1.0162610959123681),
}


def _golden_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 6)).astype(np.float32)
    Y = (X @ rng.standard_normal((6, 4)) + 0.3 * rng.standard_normal((150, 4))).astype(np.float32)
    return X, Y


def _golden_config(cls, loss, model):
    return cls(model=model, hidden=(8,), loss=loss, epochs=4, batch_size=16, dropout=0.1 if model == "nn" else 0.0)


@pytest.mark.parametrize("loss, model", list(GOLDEN))
def test_old_losses_give_the_numbers_of_before(loss, model):
    X, Y = _golden_data()
    fmap = fit_map(X, Y, _golden_config(MapConfig, loss, model))
    got = (float(np.abs(fmap.predict(X)).astype(np.float64).sum()), fmap.history["best_val_loss"],
           fmap.history["train_loss"][-1])
    assert got == pytest.approx(GOLDEN[(loss, model)], rel=1e-5)


def _old_maps_module(tmp_path):
    try:
        text = subprocess.run(["git", "show", f"{BEFORE}:src/mmwe/maps.py"], cwd=REPO, capture_output=True,
                              text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip(f"git or commit {BEFORE} not available")
    path = tmp_path / "maps_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("maps_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["maps_before"] = module  # dataclasses look the module up while the class is built
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop("maps_before", None)
    return module


def test_old_losses_train_bit_identically_to_the_committed_version(tmp_path):
    old = _old_maps_module(tmp_path)
    X, Y = _golden_data()
    for loss, model in GOLDEN:
        a = old.fit_map(X, Y, _golden_config(old.MapConfig, loss, model))
        b = fit_map(X, Y, _golden_config(MapConfig, loss, model))
        assert _same_weights(a, b), (loss, model)
        assert a.history["val_loss"] == b.history["val_loss"] and a.history["train_loss"] == b.history["train_loss"]
        P, T = torch.randn(9, 4), torch.randn(9, 4)
        assert compute_loss(P, T, loss).item() == old.compute_loss(P, T, loss).item()


# ------------------------------------------------------------------------------------- experiment


def test_bridge_config_errors():
    BridgeConfig(dataset="words").validate()  # issue 10 landed: visual words of the built-in openmoji corpus
    with pytest.raises(MmweError, match="built-in names joined by"):
        BridgeConfig(dataset="words", corpus="no-such-corpus").validate()
    with pytest.raises(MmweError, match="--visual in"):
        BridgeConfig(dataset="words", visual="resnet152").validate()
    with pytest.raises(MmweError, match="loss in"):
        BridgeConfig(losses=("hinge",)).validate()


def test_selection_rule_and_labels():
    scores = [{"gap": -0.1, "r@10": 0.5}, {"gap": 0.0, "r@10": 0.2}, {"gap": -0.05, "r@10": 0.4}]
    assert choose(scores, mse_r10=0.3) == 2  # the best gap among those at least as good as MSE at R@10
    assert choose(scores, mse_r10=0.9) == 0  # none qualifies: the best R@10
    assert setting_label(GRIDS["graph"][2]) == "infonce=1,graph=3 (graph_k=30)"
    assert setting_label(GRIDS["cca"][0]) == "cca (cca_components=4)"


def test_bridge_runs_end_to_end_on_iapr(iapr_dir, tmp_path):
    cfg = BridgeConfig(dataset="iaprtc12", data_dir=str(iapr_dir), epochs=2, maps=("lin",), directions=("T->I",),
                       losses=("mse", "graph", "procrustes"), n_boot=50)
    seen = []
    result = run(cfg, progress=lambda done, total, what: seen.append((done, total)))
    assert result["experiment"] == "collell-bridge" and seen[-1] == (15, 15)
    rows = {r["loss"]: r for r in result["rows"]}
    assert list(rows) == ["mse", "graph", "procrustes"]
    for r in rows.values():
        assert r["gap"] == pytest.approx(r["mnno_y_fx"] - r["mnno_x_fx"])
        assert r["gap_ci_low"] <= r["gap"] <= r["gap_ci_high"]
        assert len(r["chosen_per_fold"]) == 5 and r["mAP"] is not None and r["zs_top1"] is None
        assert r["r10_mse"] == rows["mse"]["r@10"] and isinstance(r["goal"], bool)
    assert rows["graph"]["chosen"] in result["grids"]["graph"]
    assert all(len(e["candidates"]) == len(GRIDS["graph"]) for e in rows["graph"]["selection"])
    assert rows["mse"]["mnno_x_y"] == pytest.approx(0.171, abs=0.001)  # as in experiment 1 (docs/reproductions.md)
    out = save(result, tmp_path / "run")
    saved = json.loads((out / "results.json").read_text())
    assert saved["experiment"] == "collell-bridge" and len(saved["rows"]) == 3


# ---------------------------------------------------------------------------------------- figures


def test_bridge_figures_are_inline_svg():
    rows = [{"dataset": "iaprtc12", "direction": d, "map": m, "loss": loss, "mnno_x_fx": 0.3, "mnno_y_fx": 0.2,
             "r@1": 0.01, "r@5": 0.05, "r@10": 0.1}
            for d in ("I->T", "T->I") for m in ("lin", "nn") for loss in ("mse", "graph")]
    for svg in (bridge_scatter_plot(rows, title="bridge scatter"), bridge_retrieval_plot(rows, title="R@k")):
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "mNNO(Y, f(X))" in bridge_scatter_plot(rows, title="t")
