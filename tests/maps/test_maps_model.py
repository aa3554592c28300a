"""mmwe.maps.model: the network's initialisation (as the released code), CrossModalMap save / load and the files it
refuses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mmwe.errors import MmweError
from mmwe.maps import CrossModalMap, MapConfig, build_map_network, fit_map, untrained_map


def test_initialisation_follows_released_code():
    net = build_map_network(300, 200, MapConfig(model="nn", hidden=(400,), activation="relu"))
    w = net[0].weight.detach()
    std = math.sqrt(2 / (300 + 400))
    assert w.abs().max() <= 2 * std + 1e-7  # normal truncated at 2 std
    assert w.std().item() == pytest.approx(0.88 * std, rel=0.05)  # std of a 2-sigma truncated normal
    assert torch.all(net[0].bias == 0.1)
    net = build_map_network(4, 2, MapConfig(model="lin", activation="tanh"))
    assert torch.all(net[0].bias == 0.0) and len(net) == 1


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
