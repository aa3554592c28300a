"""Options generated from config dataclasses (mmwe.cli.options) for reproduce collell / mao, demo and triplets mine:
the flags users had before (issue 20 point 6), helps continued on comment lines, the settings reaching the library."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Literal

import pytest
import typer

from mmwe.cli import main
from mmwe.cli.options import config_fields, config_options
from mmwe.config import ARG, Opt
from mmwe.errors import MmweError

ROOT = Path(__file__).resolve().parents[2]

# every flag each command had when it declared its options by hand (before issue 20 point 6)
FLAGS = {
    ("reproduce", "collell"): "--exp --dataset --data-dir --visual --corpus --cache-dir --min-images --losses --folds "
                              "--k --metric --epochs --seed --workers --out --json",
    ("reproduce", "mao"): "--corpus --features --out --variants --triplets --baseline --paper-settings --epochs "
                          "--lambda --seed --seeds --fractions --lr-grid --lambda-grid --workers --json",
    ("demo",): "--out --iapr-dir --skip-mao --collell-epochs --skip-words --no-skip-mao --no-skip-words",
    ("features",): "--binarize --no-binarize",  # generated bools had --x/--no-x before issue 20 point 6
    ("corpus", "build"): "--overwrite --no-overwrite --allow-pickle --no-allow-pickle --check-images --no-check-images",
    ("triplets", "mine"): "--out --positives --negatives --seed --json",
}


def test_help_continues_on_the_comment_lines_below_a_field():
    helps = {f.name: f.help for f in config_fields("mmwe.experiments.config:CollellRun")}
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
    assert got["collell"] == (runs.CollellRun(exp="bridge", losses=("mse",), k=5, visual=("mobilenetv2",), folds=3,
                                              seed=4),)
    main(["reproduce", "mao", "--out", str(tmp_path / "m"), "--lambda", "0.5", "--paper-settings", "--seeds", "2"])
    run, out = got["mao"]
    assert run == MaoRun(lam=0.5, paper_settings=True, seeds=2) and str(out) == str(tmp_path / "m")


def test_building_the_cli_and_every_help_load_no_torch():
    """Every config the options come from is imported at start-up: none may pull in torch, scipy or sklearn."""
    code = ("import sys, typer; from mmwe.cli import app, main; from tests.cli.test_cli import _command_paths\n"
            "paths = list(_command_paths(typer.main.get_command(app)))\n"
            "rcs = {main([*p, '--help']) for p in paths}\n"
            "print(len(paths), rcs, [m for m in ('torch', 'scipy', 'sklearn') if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    n, rcs, heavy = res.stdout.strip().rpartition("\n")[2].split(" ", 2)
    assert int(n) > 15 and rcs == "{0}" and heavy == "[]", res.stdout[-500:] + res.stderr


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Inputs:
    files: Annotated[tuple[str, ...], ARG]  # Files to read.
    unicode: Literal["strict", "ignore"] = "strict"  # Bytes that are not UTF-8.


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Demo(_Inputs):
    k: Annotated[int, Opt("-k", min=1)] = 10  # Neighbours
    # per point.
    fmt: Annotated[str | None, Opt("--from")] = None  # Input format.
    out: Annotated[str | None, Opt(out=True)] = None  # Output file.
    sizes: tuple[int, ...] = (1, 2)  # Repeatable.


def _demo_app(got: dict) -> typer.Typer:
    demo = typer.Typer()

    @demo.command()
    @config_options(_Demo, json="Print JSON.")
    def run(cfg: _Demo, json: bool = False) -> None:
        got.update(cfg=cfg, json=json)

    @demo.command()
    def other() -> None:  # two commands: typer keeps the command names
        pass

    return demo


def _invoke(argv, got):
    try:
        _demo_app(got)(["run", *argv], standalone_mode=False)
    except MmweError as exc:
        return str(exc)


def test_a_whole_interface_from_one_config(tmp_path):
    fields = {f.name: f for f in config_fields(_Demo)}
    assert list(fields) == ["files", "unicode", "k", "fmt", "out", "sizes"]  # the base's fields first
    assert fields["k"].help == "Neighbours per point." and fields["files"].help == "Files to read."
    got = {}
    assert _invoke(["a.txt", "b.txt", "-k", "3", "--from", "glove", "--sizes", "4", "--json", "--unicode", "ignore",
                    "--out", str(tmp_path / "new" / "o.txt")], got) is None
    assert got == {"cfg": _Demo(files=("a.txt", "b.txt"), unicode="ignore", k=3, fmt="glove",
                                out=str(tmp_path / "new" / "o.txt"), sizes=(4,)), "json": True}
    assert (tmp_path / "new").is_dir()  # --out: mkdir -p
    assert _invoke(["a.txt"], got) is None and got["cfg"] == _Demo(files=("a.txt",)) and got["json"] is False
    assert _invoke(["a.txt", "--k", "0"], got) == "--k: expected an integer >= 1, got 0"
    assert _invoke(["a.txt", "--unicode", "replace"], got) == "--unicode: expected strict or ignore, got 'replace'"
    assert _invoke(["a.txt", "--set", "k=0"], got) == "--k: expected an integer >= 1, got 0"  # settings checked too


def test_demo_help_shows_flags_aliases_and_comments(capsys):
    with pytest.raises(SystemExit):
        _demo_app({})(["run", "--help"])
    out = capsys.readouterr().out
    for text in ("files...", "--k", "-k", "--from", "--json", "<strict|ignore>", "Neighbours per point.", "--config",
                 "--set"):
        assert text in out, text
