"""Tests of mmwe.maps (lin / nn cross-modal maps) and `mmwe map train|apply`."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from mmwe.errors import MmweError
from mmwe.maps import (
    CrossModalMap,
    MapConfig,
    build_network,
    compute_loss,
    cosine_loss,
    fit_map,
    max_margin_loss,
    untrained_map,
)
from tests.conftest import run_cli as main


def _state(fmap: CrossModalMap) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in fmap.network.state_dict().items()}


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def affine():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 8)).astype(np.float32)
    W = rng.standard_normal((8, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    return X, W, b, X @ W + b


@pytest.fixture(scope="module")
def iapr(iapr_dir):
    """IAPR TC-12 test rows of Collell & Moens: text biGRU (64-d) and visual VGG-128, paired by row."""
    T = pd.read_csv(iapr_dir / "TS_lang_biGRU.csv", header=None).iloc[:, 1:].to_numpy(np.float32)
    V = pd.read_csv(iapr_dir / "TS_vis_vgg128.csv", header=None).iloc[:, 1:].to_numpy(np.float32)
    return T, V


# ------------------------------------------------------------------------------------- fitting


def test_lin_recovers_known_affine_map(affine):
    X, W, b, Y = affine
    fmap = fit_map(X, Y, MapConfig(model="lin", lr=3e-2, epochs=60, patience=1000))
    layer = fmap.network[-1]
    np.testing.assert_allclose(layer.weight.detach().numpy().T, W, atol=1e-4)  # torch stores W as (out, in)
    np.testing.assert_allclose(layer.bias.detach().numpy(), b, atol=1e-4)
    np.testing.assert_allclose(fmap.predict(X[:10]), Y[:10], atol=1e-3)


def test_nn_fits_nonlinear_target_better_than_lin():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((8, 6)).astype(np.float32)
    X, Xte = (rng.standard_normal((n, 8)).astype(np.float32) for n in (1000, 500))
    Y, Yte = np.tanh(X @ A) ** 2, np.tanh(Xte @ A) ** 2
    err = {}
    for model in ("lin", "nn"):
        fmap = fit_map(X, Y, MapConfig(model=model, hidden=(64,), lr=1e-2, epochs=25, patience=1000))
        err[model] = float(((fmap.predict(Xte) - Yte) ** 2).mean())
    assert err["lin"] > 0.9 * Yte.var(axis=0).mean()  # a linear map cannot do better than the mean here
    assert err["nn"] < 0.5 * err["lin"]


@pytest.mark.parametrize("loss", ["mse", "max-margin", "cosine"])
@pytest.mark.parametrize("model", ["lin", "nn"])
def test_each_loss_decreases_on_iapr(iapr, loss, model):
    T, V = iapr
    fmap = fit_map(T, V, MapConfig(model=model, loss=loss, epochs=4, patience=100, hidden=(128,)))
    h = fmap.history
    assert h["n_train"] + h["n_val"] == T.shape[0] and h["n_val"] == round(0.1 * T.shape[0])
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert h["best_val_loss"] < 0.8 * h["init_val_loss"]


def test_history_and_no_validation(affine):
    X, _, _, Y = affine
    fmap = fit_map(X, Y, MapConfig(epochs=3, val_fraction=0.0))
    h = fmap.history
    assert h["epoch"] == [1, 2, 3] and len(h["train_loss"]) == 3 and h["best_epoch"] == 3
    assert h["n_val"] == 0 and all(math.isnan(v) for v in h["val_loss"])


# -------------------------------------------------------------------------------------- losses


def _cos(a, b) -> float:
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_max_margin_matches_python_loop_oracle():
    rng = np.random.default_rng(2)
    P, T = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    margin = 0.7
    per_anchor = [sum(max(0.0, margin - _cos(P[i], T[i]) + _cos(P[i], T[j])) for j in range(5) if j != i)
                  for i in range(5)]
    got = max_margin_loss(torch.tensor(P), torch.tensor(T), margin).item()
    assert got == pytest.approx(sum(per_anchor) / 5, rel=1e-9)
    assert compute_loss(torch.tensor(P), torch.tensor(T), "max-margin", margin).item() == pytest.approx(got)


def test_max_margin_exact_cases():
    E = torch.eye(4, dtype=torch.float64)  # perfect orthonormal predictions: pos cos 1, neg cos 0
    assert max_margin_loss(E, E, 0.5).item() == 0.0
    assert max_margin_loss(E, E, 1.5).item() == pytest.approx(3 * 0.5)  # 3 negatives per anchor
    assert max_margin_loss(E, E.flip(0), 0.0).item() == pytest.approx(1.0)  # each anchor ranks one negative 1 above


def test_cosine_and_mse_match_oracles():
    rng = np.random.default_rng(3)
    P, T = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    oracle = sum(1 - _cos(P[i], T[i]) for i in range(6)) / 6
    assert cosine_loss(torch.tensor(P), torch.tensor(T)).item() == pytest.approx(oracle, rel=1e-9)
    assert compute_loss(torch.tensor(P), torch.tensor(T), "mse").item() == pytest.approx(((P - T) ** 2).mean())
    assert cosine_loss(torch.tensor(P), torch.tensor(3 * P)).item() == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------------- determinism and init


def test_same_seed_bit_identical_and_global_rng_untouched(iapr):
    T, V = iapr[0][:300], iapr[1][:300]
    cfg = MapConfig(model="nn", hidden=(32, 16), dropout=0.2, epochs=3)
    before = torch.get_rng_state()
    a, b = fit_map(T, V, cfg), fit_map(T, V, cfg)
    assert torch.equal(before, torch.get_rng_state())
    assert _same_state(_state(a), _state(b)) and a.history == b.history
    c = fit_map(T, V, MapConfig(model="nn", hidden=(32, 16), dropout=0.2, epochs=3, seed=1))
    assert not _same_state(_state(a), _state(c))


def test_untrained_equals_initialisation_of_fit():
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((50, 6)).astype(np.float32), rng.standard_normal((50, 3)).astype(np.float32)
    cfg = MapConfig(model="nn", hidden=(7, 5), activation="tanh", seed=11, epochs=0)
    init = untrained_map(6, 3, cfg)
    assert not init.trained
    assert _same_state(_state(init), _state(fit_map(X, Y, cfg)))  # epochs=0: fit returns its start point
    trained = fit_map(X, Y, MapConfig(model="nn", hidden=(7, 5), activation="tanh", seed=11, epochs=2))
    assert not _same_state(_state(init), _state(trained))


def test_initialisation_follows_released_code():
    net = build_network(300, 200, MapConfig(model="nn", hidden=(400,), activation="relu"))
    w = net[0].weight.detach()
    std = math.sqrt(2 / (300 + 400))
    assert w.abs().max() <= 2 * std + 1e-7  # normal truncated at 2 std
    assert w.std().item() == pytest.approx(0.88 * std, rel=0.05)  # std of a 2-sigma truncated normal
    assert torch.all(net[0].bias == 0.1)
    net = build_network(4, 2, MapConfig(model="lin", activation="tanh"))
    assert torch.all(net[0].bias == 0.0) and len(net) == 1


def test_early_stopping_restores_best_epoch():
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((120, 10)).astype(np.float32), rng.standard_normal((120, 4)).astype(np.float32)
    cfg = MapConfig(model="nn", hidden=(256,), lr=1e-2, epochs=60, patience=3, val_fraction=0.25, batch_size=16)
    stopped = fit_map(X, Y, cfg)  # pure noise: validation loss soon rises
    h = stopped.history
    assert h["stopped_early"] and len(h["epoch"]) == h["best_epoch"] + 3
    assert h["best_val_loss"] == min(h["val_loss"] + [h["init_val_loss"]])
    # The same run cut at the best epoch (same seed: same split and shuffles) has the same weights.
    cut = fit_map(X, Y, MapConfig(**{**cfg.to_dict(), "epochs": h["best_epoch"], "patience": 1000}))
    assert _same_state(_state(stopped), _state(cut))


# ----------------------------------------------------------------------------- save and load


def test_save_load_round_trip(tmp_path, affine):
    X, _, _, Y = affine
    fmap = fit_map(X, Y, MapConfig(model="nn", hidden=(16, 8), activation="sigmoid", dropout=0.1, epochs=2))
    path = tmp_path / "m.pt"
    fmap.save(path)
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "mmwe-map" and payload["in_dim"] == 8 and payload["config"]["hidden"] == [16, 8]
    back = CrossModalMap.load(path)
    assert back.config == fmap.config and back.history == fmap.history and back.trained
    np.testing.assert_array_equal(back.predict(X), fmap.predict(X))
    assert fmap.predict(X).dtype == np.float32 and [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def test_load_rejects_missing_truncated_and_foreign_files(tmp_path):
    good = tmp_path / "m.pt"
    untrained_map(3, 2).save(good)
    with pytest.raises(MmweError, match="no such file"):
        CrossModalMap.load(tmp_path / "absent.pt")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(MmweError, match="truncated or foreign"):
        CrossModalMap.load(cut)
    text = tmp_path / "t.pt"
    text.write_text("hello\n")
    with pytest.raises(MmweError, match="truncated or foreign"):
        CrossModalMap.load(text)
    other = tmp_path / "o.pt"
    torch.save({"weight": torch.zeros(2)}, other)
    with pytest.raises(MmweError, match="another torch file"):
        CrossModalMap.load(other)


# ------------------------------------------------------------------------------ input errors


def test_input_validation_errors():
    X, Y = np.zeros((5, 3), np.float32), np.zeros((4, 2), np.float32)
    with pytest.raises(MmweError, match="same number of rows.*5 and 4"):
        fit_map(X, Y)
    Xn = np.ones((4, 3), np.float32)
    Xn[2, 1] = np.nan
    with pytest.raises(MmweError, match="finite values in X.*row 2"):
        fit_map(Xn, Y)
    with pytest.raises(MmweError, match="expected X with 3 columns.*got 4"):
        untrained_map(3, 2).predict(np.zeros((2, 4)))
    with pytest.raises(MmweError, match="2-D matrix"):
        untrained_map(3, 2).predict(np.zeros(3))
    with pytest.raises(MmweError, match="1 to 5 hidden layers"):
        untrained_map(3, 2, MapConfig(model="nn", hidden=(4,) * 6))
    with pytest.raises(MmweError, match="loss in"):
        fit_map(Xn[:, :2], Y, MapConfig(loss="hinge"))
    with pytest.raises(MmweError, match="batch_size >= 2 for the max-margin"):
        MapConfig(loss="max-margin", batch_size=1).validate()


def test_collell_preset():
    cfg = MapConfig.collell("lin", direction="i2t")
    assert (cfg.lr, cfg.batch_size, cfg.epochs, cfg.val_fraction, cfg.hidden) == (1e-4, 128, 50, 0.0, (512,))
    assert MapConfig.collell("nn", visual="resnet").hidden == (1024,)


# ------------------------------------------------------------------------------------------ CLI


def test_cli_train_apply_round_trip(tmp_path, capsys, affine):
    X, _, _, Y = affine
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    model = tmp_path / "m.pt"
    rc = main(["map", "train", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--model", "nn", "--hidden", "16",
               "--hidden", "8", "--loss", "cosine", "--epochs", "3", "--out", str(model), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["config"]["hidden"] == [16, 8] and summary["epochs_run"] == 3 and summary["rows"] == 1000
    rc = main(["map", "apply", str(model), str(tmp_path / "x.npy"), "--out", str(tmp_path / "fx.npy")])
    assert rc == 0
    expected = CrossModalMap.load(model).predict(X)
    np.testing.assert_array_equal(np.load(tmp_path / "fx.npy"), expected)
    assert main(["map", "apply", str(model), str(tmp_path / "x.npy"), "--out", str(tmp_path / "fx.csv")]) == 0
    rows = (tmp_path / "fx.csv").read_text().splitlines()
    assert len(rows) == 1000 and rows[0].split(",")[0] == "0"
    np.testing.assert_allclose([float(v) for v in rows[0].split(",")[1:]], expected[0], rtol=1e-6)


def test_cli_untrained_and_errors(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.ones((6, 3), np.float32))
    np.save(tmp_path / "y.npy", np.ones((5, 2), np.float32))
    x, y, model = str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), str(tmp_path / "m.pt")
    assert main(["map", "train", x, y, "--out", model]) == 2
    assert "same number of rows" in capsys.readouterr().err
    np.save(tmp_path / "y.npy", np.ones((6, 2), np.float32))
    assert main(["map", "train", x, y, "--untrained", "--seed", "3", "--out", model, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trained"] is False
    assert _same_state(_state(CrossModalMap.load(model)), _state(untrained_map(3, 2, MapConfig(seed=3))))
    assert main(["map", "apply", model, x, "--out", str(tmp_path / "fx.parquet")]) == 2
    assert "expected an output ending in .npy or .csv" in capsys.readouterr().err
    assert main(["map", "apply", x, x, "--out", str(tmp_path / "fx.npy")]) == 2
    assert "truncated or foreign" in capsys.readouterr().err


def test_cli_reads_iapr_csv_pairs(tmp_path, capsys, iapr_dir):
    pytest.importorskip("mmwe.datasets.paired")
    model = str(tmp_path / "m.pt")
    rc = main(["map", "train", str(iapr_dir / "TS_lang_biGRU.csv"), str(iapr_dir / "TS_vis_vgg128.csv"),
               "--epochs", "1", "--out", model, "--json"])
    assert rc == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["rows"], s["in_dim"], s["out_dim"]) == (1962, 64, 128)
    assert main(["map", "apply", model, str(iapr_dir / "TS_lang_biGRU.csv"), "--out", str(tmp_path / "f.csv")]) == 0
    first = (tmp_path / "f.csv").read_text().splitlines()[0].split(",")
    assert first[0] == "40 115 122 138 158 167 172 212 219 261" and len(first) == 129


# ------------------------------------------------------------------------------------- device


def test_device_cpu_and_auto_train_the_same_map_on_a_cpu_machine(iapr):
    """--device moves net, data, graph and discriminator; on the CPU every loss trains bit-identically."""
    if torch.cuda.is_available():
        pytest.skip("auto means cuda here; the CUDA run is benchmarks/gpu.sh's")
    T, V = iapr[0][:300], iapr[1][:300]
    for loss in ("mse=1,graph=0.5,adversarial=0.1", "infonce"):
        kw = dict(model="nn", hidden=(32,), loss=loss, learn_temperature=loss == "infonce", epochs=2)
        a, b = fit_map(T, V, MapConfig(device="cpu", **kw)), fit_map(T, V, MapConfig(device="auto", **kw))
        assert _same_state(_state(a), _state(b)) and a.history["device"] == "cpu"
        assert all(v.device.type == "cpu" for v in a.network.state_dict().values())


def test_device_cuda_without_a_gpu_is_one_clear_error(tmp_path, capsys, affine):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    X, _W, _b, Y = affine
    with pytest.raises(MmweError, match="--device cuda: expected a CUDA device, got none"):
        fit_map(X, Y, MapConfig(device="cuda", epochs=1))
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    args = ["map", "train", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--out", str(tmp_path / "m.pt")]
    assert main([*args, "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "--device cuda: expected a CUDA device" in err and "Traceback" not in err
    assert not (tmp_path / "m.pt").exists()
    assert main([*args, "--device", "gpu"]) == 2
    assert "gpu" in capsys.readouterr().err
    assert main([*args, "--device", "cpu", "--epochs", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["device"] == "cpu"


# ------------------------------------------------------------------------ vecmap normalisation


def _vecmap_normalize(M: np.ndarray, steps: list[str]) -> np.ndarray:
    """vecmap's embeddings.normalize (artetxem/vecmap, embeddings.py) re-typed as loops over rows and columns."""
    M = [list(map(float, r)) for r in M]
    n, d = len(M), len(M[0])
    for step in steps:
        if step == "unit":
            for r in M:
                norm = math.sqrt(sum(v * v for v in r)) or 1.0
                r[:] = [v / norm for v in r]
        elif step == "center":
            means = [sum(M[i][j] for i in range(n)) / n for j in range(d)]
            M = [[r[j] - means[j] for j in range(d)] for r in M]
        elif step == "unitdim":
            norms = [math.sqrt(sum(M[i][j] ** 2 for i in range(n))) or 1.0 for j in range(d)]
            M = [[r[j] / norms[j] for j in range(d)] for r in M]
        elif step == "centeremb":
            M = [[v - sum(r) / d for v in r] for r in M]
    return np.array(M)


@pytest.mark.parametrize("spec", ["unit", "center", "unitdim", "centeremb", "unit,center,unit",
                                  "unitdim,center,unit,centeremb"])
def test_normalizer_matches_vecmap_loops(spec):
    from mmwe.maps import Normalizer, parse_normalize

    rng = np.random.default_rng(8)
    X = (rng.standard_normal((30, 6)) * [1, 2, 3, 4, 5, 0]).astype(np.float32)  # a zero column and, below, a zero row
    X[4] = 0
    norm, Xn = Normalizer.fit(parse_normalize(spec), X)
    np.testing.assert_allclose(Xn, _vecmap_normalize(X, spec.split(",")), rtol=0, atol=1e-6)
    assert Xn.dtype == np.float32 and np.array_equal(norm.apply(X), Xn)  # apply on the training rows = fit


def test_normalizer_known_answer_and_training_statistics():
    from mmwe.maps import Normalizer

    X = np.array([[3.0, 4.0], [0.0, -2.0]], np.float32)
    norm, Xn = Normalizer.fit(("unit", "center", "unit"), X)
    # unit: (0.6, 0.8), (0, -1); means (0.3, -0.1); centred (0.3, 0.9), (-0.3, -0.9); unit again
    s = math.sqrt(0.9)
    np.testing.assert_allclose(Xn, [[0.3 / s, 0.9 / s], [-0.3 / s, -0.9 / s]], atol=1e-7)
    np.testing.assert_allclose(norm.stats[1], [0.3, -0.1], atol=1e-15)
    # a new row is centred with the *training* means, not its own (it would be all zeros then)
    new = norm.apply(np.array([[0.0, 5.0]], np.float32))
    v = np.array([0.0, 1.0]) - [0.3, -0.1]
    np.testing.assert_allclose(new, [v / np.linalg.norm(v)], atol=1e-7)
    assert Normalizer.fit((), X)[1] is X and Normalizer().apply(X) is X


@pytest.mark.parametrize("model", ["lin", "procrustes"])
def test_fit_map_normalizes_and_round_trips(tmp_path, affine, model):
    from mmwe.maps import Normalizer

    X, _, _, Y = affine
    cfg = MapConfig(model=model, epochs=2, normalize="unit,center,unit")
    fmap = fit_map(X, Y, cfg)
    nx, Xn = Normalizer.fit(("unit", "center", "unit"), X)
    ny, Yn = Normalizer.fit(("unit", "center", "unit"), Y)
    with torch.no_grad():
        direct = fmap.network(torch.from_numpy(Xn)).numpy()
    np.testing.assert_array_equal(fmap.predict(X), direct)  # predict = the network on the normalised rows
    np.testing.assert_array_equal(fmap.normalize_y(Y), Yn)
    if model == "procrustes":  # fitted on the normalised pairs: the same solve as on Xn, Yn directly
        np.testing.assert_allclose(fmap.predict(X), fit_map(Xn, Yn, MapConfig(model=model)).predict(Xn), atol=1e-6)
    path = tmp_path / "m.pt"
    fmap.save(path)
    back = CrossModalMap.load(path)
    assert back.config.normalize == "unit,center,unit" and torch.load(path, weights_only=True)["version"] == 2
    for a, b in zip(back.normalizers, (nx, ny)):
        assert a.steps == b.steps and all(np.array_equal(p, q) for p, q in zip(a.stats, b.stats) if p is not None)
    np.testing.assert_array_equal(back.predict(X[:50]), fmap.predict(X[:50]))


def test_old_map_file_without_normalisation_still_loads(tmp_path, affine):
    X, _, _, Y = affine
    fmap = fit_map(X, Y, MapConfig(epochs=1))
    payload = {"format": "mmwe-map", "version": 1, "config": {k: v for k, v in fmap.config.to_dict().items()
                                                                 if k != "normalize"},
               "in_dim": 8, "out_dim": 5, "trained": True, "history": {},
               "state_dict": fmap.network.state_dict()}  # what version 1 wrote
    torch.save(payload, tmp_path / "v1.pt")
    back = CrossModalMap.load(tmp_path / "v1.pt")
    assert back.config.normalize == "" and back.normalizers[0].steps == ()
    np.testing.assert_array_equal(back.predict(X), fmap.predict(X))
    payload["config"]["normalize"] = "center"  # statistics missing for a step: refused, not silently skipped
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(MmweError, match="inconsistent"):
        CrossModalMap.load(tmp_path / "bad.pt")


def test_cli_normalize_train_apply_equals_in_process(tmp_path, capsys, affine):
    from mmwe.maps import Normalizer

    X, _, _, Y = affine
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    model = str(tmp_path / "m.pt")
    assert main(["map", "train", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--normalize", "unit,center,unit",
                 "--epochs", "2", "--out", model, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["normalize"] == "unit,center,unit"
    new = (X[:40] * 3 + 1).astype(np.float32)  # rows other than the training ones
    np.save(tmp_path / "new.npy", new)
    assert main(["map", "apply", model, str(tmp_path / "new.npy"), "--out", str(tmp_path / "f.npy")]) == 0
    got = np.load(tmp_path / "f.npy")
    norm, _ = Normalizer.fit(("unit", "center", "unit"), X)  # the training statistics, recomputed here
    with torch.no_grad():
        want = CrossModalMap.load(model).network(torch.from_numpy(norm.apply(new))).numpy()
    np.testing.assert_array_equal(got, want)
    in_process = fit_map(X, Y, MapConfig(epochs=2, normalize="unit,center,unit")).predict(new)
    np.testing.assert_allclose(got, in_process, rtol=0, atol=1e-6)


def test_cli_bad_normalize_is_one_line_exit_2(tmp_path, capsys, affine):
    X, _, _, Y = affine
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    rc = main(["map", "train", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--normalize", "unit,scale",
               "--out", str(tmp_path / "m.pt")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "unknown step 'scale'" in err and "Traceback" not in err
    assert not (tmp_path / "m.pt").exists()
    with pytest.raises(MmweError, match="normalisation steps"):
        MapConfig(normalize="unit,,center").validate()
