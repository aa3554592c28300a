"""mmwe.maps.train: fit_map and untrained_map (lin / nn maps recover known targets, every loss decreases on IAPR
TC-12, history, determinism, early stopping, input errors, --device)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from mmwe.errors import MmweError
from mmwe.maps import MapConfig, fit_map, untrained_map
from tests.conftest import run_cli as main
from tests.maps.conftest import _same_state, _state

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
