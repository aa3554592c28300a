"""mmwe.maps.files: `map train` / `map apply` as library calls on files; the same map as fit_map on the arrays."""

from __future__ import annotations

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.maps import CrossModalMap, MapConfig, fit_map
from mmwe.maps.files import MapApplyFiles, MapTrainFiles, apply_map_file, train_map_files
from tests.maps.conftest import _same_state, _state


def test_train_then_apply_files_equal_the_array_calls(tmp_path, affine):
    X, _, _, Y = affine
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", Y)
    cfg = MapConfig(model="lin", epochs=3, seed=1)
    seen = []
    s = train_map_files(MapTrainFiles(x=str(tmp_path / "x.npy"), y=str(tmp_path / "y.npy"), out=str(tmp_path / "m.pt")),
                        cfg, progress=lambda done, total, what: seen.append((done, total, what.split(",")[0])))
    direct = fit_map(X, Y, MapConfig(model="lin", epochs=3, seed=1))
    saved = CrossModalMap.load(tmp_path / "m.pt")
    assert _same_state(_state(saved), _state(direct))
    assert seen == [(1, 3, "training lin/mse"), (2, 3, "training lin/mse"), (3, 3, "training lin/mse")]
    assert (s["rows"], s["in_dim"], s["out_dim"], s["trained"], s["epochs_run"]) == (1000, 8, 5, True, 3)
    assert s["final_train_loss"] == direct.history["train_loss"][-1]
    a = apply_map_file(MapApplyFiles(model=str(tmp_path / "m.pt"), x=str(tmp_path / "x.npy"),
                                     out=str(tmp_path / "f.npy")))
    np.testing.assert_array_equal(np.load(tmp_path / "f.npy"), direct.predict(X))
    assert a == {"model": str(tmp_path / "m.pt"), "input": str(tmp_path / "x.npy"), "output": str(tmp_path / "f.npy"),
                 "rows": 1000, "in_dim": 8, "out_dim": 5, "normalize": ""}


def test_untrained_and_a_wrong_width_names_the_input(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((6, 3), np.float32))
    np.save(tmp_path / "y.npy", np.ones((6, 2), np.float32))
    s = train_map_files(MapTrainFiles(x=str(tmp_path / "x.npy"), y=str(tmp_path / "y.npy"), out=str(tmp_path / "m.pt"),
                                      untrained=True), MapConfig())
    assert not s["trained"] and s["epochs_run"] == 0
    np.save(tmp_path / "w.npy", np.ones((6, 4), np.float32))
    with pytest.raises(MmweError) as exc:
        apply_map_file(MapApplyFiles(model=str(tmp_path / "m.pt"), x=str(tmp_path / "w.npy"),
                                     out=str(tmp_path / "o.npy")))
    assert str(tmp_path / "w.npy") in str(exc.value) and not (tmp_path / "o.npy").exists()
