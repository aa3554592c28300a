"""`mmwe map train` and `mmwe map apply` (run in process through tests.conftest.run_cli)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mmwe.errors import MmweError
from mmwe.maps import CrossModalMap, MapConfig, fit_map, untrained_map
from tests.conftest import run_cli as main
from tests.maps.conftest import _same_state, _state

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
