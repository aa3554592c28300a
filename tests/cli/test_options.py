"""Options generated from config dataclasses (mmwe.cli.options) for reproduce collell / mao, demo and triplets mine:
the flags users had before (issue 20 point 6), helps continued on comment lines, the settings reaching the library."""

from __future__ import annotations

import dataclasses
import importlib
import re

import pytest

from mmwe.cli import main
from mmwe.cli.options import config_fields

# every flag each command had when it declared its options by hand (before issue 20 point 6)
FLAGS = {
    ("reproduce", "collell"): "--exp --dataset --data-dir --visual --corpus --cache-dir --min-images --losses --folds "
                              "--k --metric --epochs --seed --workers --out --json",
    ("reproduce", "mao"): "--corpus --features --out --variants --triplets --baseline --paper-settings --epochs "
                          "--lambda --seed --seeds --fractions --lr-grid --lambda-grid --workers --json",
    ("demo",): "--out --iapr-dir --skip-mao --collell-epochs --skip-words",
    ("triplets", "mine"): "--out --positives --negatives --seed --json",
}


@pytest.mark.parametrize("target", ["mmwe.experiments.collell_runs:CollellRun", "mmwe.experiments.mao.config:MaoRun",
                                    "mmwe.experiments.demo:DemoConfig", "mmwe.datasets.triplets:MineConfig"])
def test_fields_read_from_source_match_the_dataclass(target):
    module, _, name = target.partition(":")
    cls = getattr(importlib.import_module(module), name)
    fields = config_fields(target)
    assert [(f.name, f.default) for f in fields] == [(f.name, f.default) for f in dataclasses.fields(cls)]
    assert all(f.help for f in fields)


def test_help_continues_on_the_comment_lines_below_a_field():
    helps = {f.name: f.help for f in config_fields("mmwe.experiments.collell_runs:CollellRun")}
    assert helps["corpus"] == ("Corpus of the visual words: a folder or built-in names joined by '+' (default "
                               "openmoji; exp 2: none). Missing features are extracted once into CORPUS/features/ "
                               "(minutes).")
    assert helps["cache_dir"] == "Where built-in corpora are built."  # the next field's line is not a continuation
    train = {f.name: f.help for f in config_fields("mmwe.lm.config:TrainConfig")}
    assert all("#" not in h for h in train.values())


@pytest.mark.parametrize("command", list(FLAGS))
def test_every_former_flag_is_still_there(command, capsys):
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    for flag in FLAGS[command].split():
        assert re.search(rf"(?<![\w-]){flag}(?![\w-])", out), (command, flag)


def test_settings_reach_the_library(monkeypatch, tmp_path, capsys):
    """The options, --set and --config become the typed settings the library gets (no run: the call is caught)."""
    import mmwe.experiments.collell_runs as runs
    import mmwe.experiments.mao as mao
    from mmwe.experiments.mao.config import MaoRun

    got = {}

    def catch(name):
        def call(*args, **kwargs):
            got[name] = args
            raise SystemExit(0)
        return call

    monkeypatch.setattr(runs, "collell_experiment", catch("collell"))
    monkeypatch.setattr(mao, "reproduce_mao", catch("mao"))
    (tmp_path / "run.toml").write_text('k = 5\nvisual = ["mobilenetv2"]\n', encoding="utf-8")
    main(["reproduce", "collell", "--exp", "bridge", "--losses", "mse", "--config", str(tmp_path / "run.toml"),
          "--set", "folds=3", "--seed", "4"])
    assert got["collell"] == (runs.CollellRun(exp="bridge", losses="mse", k=5, visual=("mobilenetv2",), folds=3,
                                              seed=4),)
    main(["reproduce", "mao", "--out", str(tmp_path / "m"), "--lambda", "0.5", "--paper-settings", "--seeds", "2"])
    run, out = got["mao"]
    assert run == MaoRun(lam=0.5, paper_settings=True, seeds=2) and str(out) == str(tmp_path / "m")
