"""The CLI shell itself: its size and imports, options generated from the configs, --help, console, entry points."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer

from mmwe.cli import main
from mmwe.cli.app import PANELS, app
from mmwe.cli.console import print_table, progress_bar, quiet
from mmwe.config import config_fields
from mmwe.datasets.paired import read_matrix_file, write_matrix_file
from mmwe.vectors import Vectors, describe, load, save

CLI = Path(__file__).resolve().parents[2] / "src" / "mmwe" / "cli"


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _sources() -> dict[str, ast.Module]:
    return {f.name: ast.parse(f.read_text(encoding="utf-8")) for f in sorted(CLI.glob("*.py"))}


# -- shape of the shell ---------------------------------------------------------------------------------------
def test_cli_does_not_grow():
    """Issue 8 set a target of 700 lines (issue 20 again): the shell was 1,289 lines; every command's options now come
    from a config (cli/options.py, reading fields with mmwe.config.config_fields) and tables are data in
    mmwe.report, so the shell stays under it."""
    lines = sum(len(f.read_text(encoding="utf-8").splitlines()) for f in CLI.glob("*.py"))
    assert lines < 700, f"cli/ has {lines} lines"


def test_no_private_library_names_and_no_rich_progress_outside_console():
    for name, tree in _sources().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mmwe"):
                assert not [a.name for a in node.names if re.match("_[a-z]", a.name)], f"{name}:{node.lineno}"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id[:1].isupper():
                assert not re.match(r"_[a-z]", node.attr), f"{name}:{node.lineno}: {node.value.id}.{node.attr}"
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Progress":
                assert name == "console.py", f"{name}:{node.lineno} builds a rich Progress"


def test_nothing_declared_twice():
    seen: dict[str, str] = {}
    for name, tree in _sources().items():
        for node in tree.body:
            is_command = isinstance(node, ast.FunctionDef) and any("command" in ast.unparse(d) for d in
                                                                   node.decorator_list)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not is_command:
                assert node.name not in seen, f"{node.name} in {seen.get(node.name)} and {name}"
                seen[node.name] = name


def test_init_imports_the_command_modules_explicitly():
    text = (CLI / "__init__.py").read_text(encoding="utf-8")
    assert "importlib" not in text and "from mmwe.cli import corpus" in text


# -- options from the config dataclasses ----------------------------------------------------------------------
def test_train_help_lists_every_trainconfig_field_once(capsys):
    rc, out, _ = run(["train", "--help"], capsys)
    assert rc == 0
    for f in config_fields("mmwe.lm.config:TrainConfig"):
        flag = {"lam": "--lambda"}.get(f.name, "--" + f.name.replace("_", "-"))
        assert re.search(rf"{flag}\b", out), flag
    assert "--no-share" in out and "--config" in out and "--set" in out
    assert "word embedding size E" in out  # help from the field's comment


def test_map_train_config_file_set_and_options(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.save("x.npy", rng.normal(size=(40, 4)).astype(np.float32))
    np.save("y.npy", rng.normal(size=(40, 3)).astype(np.float32))
    Path("run.toml").write_text('model = "nn"\nhidden = [8, 4]\nepochs = 5\nlr = 0.01\n')
    rc, out, err = run(["map", "train", "x.npy", "y.npy", "--out", "m.pt", "--set", "lr=0.02", "--config", "run.toml",
                        "--set", "activation=tanh", "--epochs", "2", "--json"], capsys)
    assert rc == 0, err
    cfg = json.loads(out)["config"]  # file < --set < option, whatever the order on the line
    assert (cfg["model"], cfg["hidden"], cfg["lr"], cfg["activation"], cfg["epochs"]) == ("nn", [8, 4], 0.02,
                                                                                          "tanh", 2)
    rc, _, err = run(["map", "train", "x.npy", "y.npy", "--out", "m.pt", "--set", "nope=1"], capsys)
    assert rc == 2 and err.count("\n") == 1 and "--set: expected a setting among model, hidden" in err


# -- --help ---------------------------------------------------------------------------------------------------
def _command_paths(cmd, prefix=()):
    yield prefix
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _command_paths(sub, (*prefix, name))


def test_every_help_has_no_bool_metavar_and_whole_paragraphs(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    paths = list(_command_paths(typer.main.get_command(app)))
    assert len(paths) > 15
    for path in paths:
        rc, out, _ = run([*path, "--help"], capsys)
        assert rc == 0 and "<bool>" not in out, path
    for node in ast.walk(ast.Module(body=[n for t in _sources().values() for n in t.body], type_ignores=[])):
        if isinstance(node, ast.FunctionDef) and ast.get_docstring(node):
            for paragraph in ast.get_docstring(node).split("\n\n")[1:]:  # rich keeps the line breaks of these
                assert "\n" not in paragraph, f"{node.name}: a paragraph broken over lines: {paragraph!r}"


def test_help_panels_follow_the_data_flow(capsys):
    rc, out, _ = run(["--help"], capsys)
    titles = [t for t in re.findall(r"╭─ (.+?) ─", out) if t not in ("Options",)]
    assert rc == 0 and titles == list(PANELS)


def test_mnno_help_keeps_its_sentence_whole(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = run(["mnno", "--help"], capsys)[1]
    assert re.search(r"By default a point is not its own neighbour \(the paper's definition\); --include-self[^\n]*\.",
                     out)


def test_reader_choices_are_not_cut_at_80_columns(capsys, monkeypatch):
    from mmwe.corpus import READERS

    monkeypatch.setenv("COLUMNS", "80")
    out = run(["corpus", "build", "--help"], capsys)[1]
    for name in READERS:
        assert re.search(rf"\b{re.escape(name)}\b", out), name


# -- console --------------------------------------------------------------------------------------------------
def test_print_table_never_drops_or_abbreviates_at_80_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    cols = ["model", "triplet acc.", "95% CI", "covered", "p vs puretext", "MEN (pairs)", "SimLex-999 (pairs)"]
    print_table("mao", cols, [("glove-6b-50d", "0.604", "[0.575, 0.635]", "988/1021", "0.388", "0.657 (3000)",
                               "0.265 (999)")])
    out = capsys.readouterr().out
    assert "glove-6b-50d" in out and "…" not in out
    for word in " ".join(cols).split():
        assert word in out


def test_eval_words_two_sets_keep_p_vs_first_at_80_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(12)]
    bench = tmp_path / "toy.txt"
    bench.write_text("".join(f"w{i} w{i + 1} {rng.uniform(0, 10):.2f}\n" for i in range(11)))
    for name in ("a-rather-long-vector-file-name-one.txt", "a-rather-long-vector-file-name-two.txt"):
        save(Vectors(words, rng.normal(size=(12, 5)).astype(np.float32)), tmp_path / name)
    rc, out, _ = run(["eval-words", str(tmp_path / "a-rather-long-vector-file-name-one.txt"),
                      str(tmp_path / "a-rather-long-vector-file-name-two.txt"), "-b", str(bench), "--ci"], capsys)
    assert rc == 0 and "p vs first" in out and "…" not in out


def test_progress_bar_is_off_when_stderr_is_not_a_terminal_or_quiet(capsys):
    with progress_bar() as bar:  # under pytest stderr is captured: not a terminal
        assert bar.disable
    assert main(["vectors", "--help"]) == 0 and not quiet()


def test_quiet_after_the_command(tmp_path, capsys):
    save(Vectors(["a", "b"], np.eye(2, dtype=np.float32)), tmp_path / "v.txt")
    assert main(["vectors", "info", str(tmp_path / "v.txt"), "--quiet"]) == 0 and quiet()
    assert main(["--quiet", "vectors", "info", str(tmp_path / "v.txt")]) == 0 and quiet()
    assert main(["vectors", "info", str(tmp_path / "v.txt")]) == 0 and not quiet()


# -- entry points, imports, --out -----------------------------------------------------------------------------
def test_python_dash_m_mmwe():
    for args in (["--help"], ["--version"]):
        res = subprocess.run([sys.executable, "-m", "mmwe", *args], capture_output=True, text=True)
        assert res.returncode == 0 and "mmwe" in res.stdout, res.stderr
    res = subprocess.run([sys.executable, "-m", "mmwe", "vectors", "info", "no-such-file.txt"], capture_output=True,
                         text=True)
    assert res.returncode == 2 and res.stderr.startswith("mmwe: error: ")


def test_missing_input_is_reported_before_torch_loads(tmp_path):
    code = ("import sys; from mmwe.cli import main; rc = main(['mnno', 'missing.csv', 'other.csv']); "
            "print(rc, 'torch' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert res.stdout.split() == ["2", "False"], res.stdout + res.stderr
    assert res.stderr.count("\n") == 1 and "missing.csv" in res.stderr


def test_out_makes_missing_parent_folders(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("clicks.tsv").write_text("red car\tc1\tferrari\t3\nred car\tc2\tcherry\t1\nold oak\tc3\tfurniture\t2\n")
    assert main(["triplets", "mine", "clicks.tsv", "--out", "runs/new/x.tsv"]) == 0
    assert Path("runs/new/x.tsv").is_file()
    Path("afile").write_text("")
    rc, _, err = run(["triplets", "mine", "clicks.tsv", "--out", "afile/new/x.tsv"], capsys)
    assert rc == 2 and "--out: cannot create the folder afile/new" in err


# -- what moved to the library --------------------------------------------------------------------------------
def test_describe_vectors():
    d = describe(Vectors(["a", "b", "c"], np.array([[3, 4], [0, 0], [1, 0]], dtype=np.float32)), show=2)
    assert d["words"] == 3 and d["dim"] == 2 and d["first_words"] == ["a", "b"] and d["zero_vectors"] == 1
    assert d["norms"] == {"min": 0.0, "mean": 2.0, "median": 1.0, "max": 5.0}


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".txt"])
def test_matrix_files_round_trip(tmp_path, suffix):
    m = np.arange(6, dtype=np.float32).reshape(3, 2) / 7
    write_matrix_file(["x", "y", "z"], m, tmp_path / f"f{suffix}")
    names, back = read_matrix_file(tmp_path / f"f{suffix}")
    assert names == (None if suffix == ".npy" else ["x", "y", "z"])
    np.testing.assert_allclose(back, m, rtol=1e-6)


# -- mmwe reproduce collell --exp 1|2|bridge|imagined on visual words of a small real corpus -------------------
@pytest.fixture(scope="module")
def emoji_corpus(tmp_path_factory):
    """The gemojione corpus, EfficientNet-Lite0 features of its first 600 emoji in CORPUS/features/."""
    import os

    from mmwe.corpus import build_corpus
    from mmwe.vision.extract import FeatureConfig, extract_corpus, write_run

    if not Path("/usr/share/rubygems-integration/all/gems/gemojione-3.3.0").is_dir():
        if os.environ.get("CI"):
            pytest.fail("Debian package ruby-gemojione is missing under CI; .ci/ensure-corpora installs it")
        pytest.skip("Debian package ruby-gemojione is not installed (sh .ci/ensure-corpora installs it)")
    out = tmp_path_factory.mktemp("cli-words") / "corpus"
    build_corpus(["gemojione"], out)
    cfg = FeatureConfig(backend="onnx", num_threads=2, limit=600)
    feats = out / "features" / "efficientnet-lite0.npy"
    feats.parent.mkdir()
    write_run(feats, extract_corpus(out, cfg), cfg, corpus_dir=out)
    return out


def test_reproduce_collell_words_exp1_and_bridge_json(emoji_corpus, tmp_path, capsys):
    words = ["--dataset", "words", "--corpus", str(emoji_corpus), "--epochs", "1", "--folds", "2", "--json"]
    rc, out, err = run(["reproduce", "collell", "--exp", "1", *words, "--out", str(tmp_path / "w1")], capsys)
    assert rc == 0, err
    res = json.loads(out)
    assert res["experiment"] == "collell-exp1" and {r["dataset"] for r in res["rows"]} == {"words"}
    assert res["data"]["visual_cnn"] == "efficientnet-lite0" and res["data"]["images_with_features"] == 600
    assert res["data"]["n"] > 50 and len(res["rows"]) == 4 and (tmp_path / "w1" / "report.html").is_file()
    rc, out, err = run(["reproduce", "collell", "--exp", "bridge", *words, "--losses", "mse,procrustes"], capsys)
    assert rc == 0, err
    res = json.loads(out)
    assert res["experiment"] == "collell-bridge" and res["data"]["n"] == json.loads(
        (tmp_path / "w1" / "results.json").read_text())["data"]["n"]
    assert [(r["direction"], r["map"], r["loss"]) for r in res["rows"]] == [
        ("I->T", "lin", "mse"), ("I->T", "lin", "procrustes"), ("I->T", "nn", "mse"),
        ("T->I", "lin", "mse"), ("T->I", "lin", "procrustes"), ("T->I", "nn", "mse")]


def test_reproduce_collell_imagined_and_exp2_visual_half(emoji_corpus, tmp_path, capsys):
    rc, out, err = run(["reproduce", "collell", "--exp", "imagined", "--corpus", str(emoji_corpus), "--epochs", "2",
                        "--json"], capsys)
    assert rc == 0, err
    res = json.loads(out)
    assert res["experiment"] == "collell-imagined" and res["visual_words"]["efficientnet-lite0"]["words_kept"] > 50
    assert {r["similarity"] for r in res["rows"]} == {"cosine", "euclidean"} and res["findings"]
    rc, out, err = run(["reproduce", "collell", "--exp", "2", "--corpus", str(emoji_corpus), "--out",
                        str(tmp_path / "e2")], capsys)
    assert rc == 0, err
    assert "efficientnet-lite0 words" in out and "visual words from 600 images" in out
    saved = json.loads((tmp_path / "e2" / "results.json").read_text())
    embeddings = list(dict.fromkeys(r["embedding"] for r in saved["rows"]))
    assert embeddings == ["glove-6b-50d", "efficientnet-lite0 words", "efficientnet-lite0-fc"]


@pytest.mark.parametrize("argv, message", [
    (["--exp", "3"], "--exp: expected 1, 2, bridge or imagined, got '3'"),  # its Literal, checked by the CLI
    (["--exp", "imagined", "--corpus", "nosuch"], "built-in names joined by '+'"),
    (["--exp", "1", "--dataset", "words", "--visual", "resnet152"], "--visual in"),
    (["--exp", "bridge", "--dataset", "words", "--visual", "mobilenetv2", "--visual", "efficientnet-lite0"],
     "expected one CNN for --exp bridge"),
    (["--exp", "2", "--losses", "mse"], "--losses: only for --exp bridge"),
    (["--exp", "imagined", "--dataset", "words"], "--dataset: not used by --exp imagined"),
])
def test_reproduce_collell_option_errors_are_one_line(argv, message, capsys):
    rc, out, err = run(["reproduce", "collell", *argv], capsys)
    assert rc == 2 and err.startswith("mmwe: error: ") and err.count("\n") == 1 and message in err, err


def test_eval_words_and_triplets_print_a_dash_for_what_cannot_be_scored(tmp_path, capsys):
    small = tmp_path / "few.txt"
    words = ["midday", "noon", "boy", "lad", "serf", "slave", "autograph", "signature"]  # 4 RG-65 pairs, none of MEN
    save(load("glove-6b-50d").subset(words), small)  # and no triplet
    rc, out, err = run(["eval-words", str(small), "-b", "men", "-b", "rg65", "--ci", "--n-boot", "20"], capsys)
    assert rc == 0, err
    assert re.search(r"men\s*│\s*–\s*│\s*–", out) and "– men: only" in out and "expected at least 3" in out
    rc, out, err = run(["eval-triplets", "glove-6b-50d", str(small)], capsys)
    assert rc == 0, err
    assert "0/1021" in out and "– " in out and "no triplet is covered" in out


@pytest.mark.skipif(os.path.exists("/dev/nvidia0"), reason="a GPU may be there: --device auto loads torch to ask")
def test_mnno_on_the_cpu_never_loads_torch(tmp_path):
    """`mmwe mnno` (exact backend, --device auto, no GPU) stays torch-free: importing torch is ~3 s of the
    whole-process time that benchmarks/bench_knn.py compares with faiss."""
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        np.save(tmp_path / f"{name}.npy", rng.standard_normal((120, 8)).astype(np.float32))
    code = ("import sys; from mmwe.cli import main; rc = main(['mnno', 'a.npy', 'b.npy', '--k', '5', '--json']); "
            "print(rc, 'torch' in sys.modules, file=sys.stderr)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert res.stderr.split()[-2:] == ["0", "False"], res.stderr
