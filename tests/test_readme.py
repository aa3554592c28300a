"""The usage document (docs/usage.md, linked from the README), run in order in a fresh folder: every `$ mmwe ...`
line must succeed and print the table rows and JSON values the document shows; the README's quick start uses
only commands of that document. Files the document leaves to the reader are made from real data
(X.csv / Y.csv = IAPR TC-12, photo.jpg = an OpenMoji emoji, clicks.tsv = CLDR click rows). Fast commands run in
`make test`; the slow ones (feature extraction, training, reproductions, the Debian union) in `make test-slow`."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SLOW = ("mmwe features", "mmwe train", "torchrun", "mmwe reproduce", "mmwe report", "mmwe vectors visual",
        "mmwe corpus build openmoji openclipart")
USAGE = REPO / "docs" / "usage.md"  # moved out of README.md (issue 20); the README links it
USER_FILES = ("captions.jsonl", "pin_2016_v1_00.npy")  # formats: run by tests/corpus/test_corpus_formats_doc.py


def usage_commands() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) of the usage document, in order."""
    text = USAGE.read_text(encoding="utf-8")
    text = text[text.index("# Usage"):]
    out = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        lines = block.replace("\\\n", " ").splitlines()
        for line in lines:
            if line.startswith("$ "):
                out.append((line[2:].split("  #")[0].strip(), []))
            elif out:
                out[-1][1].append(line)
    return out


COMMANDS = usage_commands()


def _check_rows(expected: list[str], stdout: str) -> None:
    rows = {tuple(c.strip() for c in line.strip().strip("│").split("│")) for line in stdout.splitlines() if "│" in line}
    for line in expected:
        if "│" in line:
            want = tuple(c.strip() for c in line.strip().strip("│").split("│"))
            assert want in rows, f"docs/usage.md row {want} not printed; got rows {sorted(rows)[:20]}"


def _check_json(expected: list[str], stdout: str) -> None:
    got = json.loads(stdout)
    for key, value in re.findall(r'"(\w+)": ([-\w.]+)', " ".join(expected)):
        want = json.loads(value)
        if isinstance(want, float):
            decimals = len(value.split(".")[1])
            assert round(got[key], decimals) == want, (key, got[key], want)
        else:
            assert got[key] == want, (key, got[key], want)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, iapr_dir):
    """A fresh folder with ../shared beside it (as in a clone) and the reader-supplied example files."""
    root = tmp_path_factory.mktemp("readme")
    work = root / "work"
    work.mkdir()
    (root / "shared").symlink_to(iapr_dir.parents[1])
    shutil.copy(iapr_dir / "TS_lang_biGRU.csv", work / "X.csv")
    shutil.copy(iapr_dir / "TS_vis_vgg128.csv", work / "Y.csv")
    from mmwe.corpus.openmoji import openmoji_svgs
    from mmwe.datasets.triplets import cldr_click_rows
    from mmwe.vision.images import load_image

    load_image(openmoji_svgs()["2602"]).save(work / "photo.jpg")
    (work / "clicks.tsv").write_text("".join(f"{q}\t{i}\t{a}\t{c}\n" for q, i, a, c in cldr_click_rows()))
    return work


def _run(cmd: str, cwd: Path) -> subprocess.CompletedProcess:
    argv = shlex.split(cmd)
    bindir = Path(sys.executable).parent
    argv[0] = str(bindir / argv[0]) if (bindir / argv[0]).exists() else argv[0]
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "2"}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=3600, env=env)


def _params():
    for i, (cmd, expected) in enumerate(COMMANDS):
        marks = [pytest.mark.slow] if cmd.startswith(SLOW) else []
        yield pytest.param(i, cmd, expected, id=f"{i:02d}-{cmd[:60]}", marks=marks)


def test_the_usage_section_has_commands():
    assert len(COMMANDS) >= 25 and all(c.startswith(("mmwe ", "torchrun ")) for c, _ in COMMANDS)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick = readme[readme.index("## Quick start"):readme.index("## Command map")].replace("\\\n", " ")
    shown = [line[2:].split("  #")[0].strip() for line in quick.splitlines() if line.startswith("$ mmwe ")]
    assert len(shown) >= 5 and set(shown) <= {c for c, _ in COMMANDS}, set(shown) - {c for c, _ in COMMANDS}
    assert "make demo" in readme and "make test" in readme and "](docs/usage.md)" in readme


@pytest.mark.parametrize("i,cmd,expected", list(_params()))
def test_readme_command(i, cmd, expected, sandbox):
    if any(f in cmd for f in USER_FILES):
        pytest.skip("the reader's own files: each format is run by tests/corpus/test_corpus_formats_doc.py")
    if "torchrun" in cmd:
        pytest.skip("torchrun: run by tests/lm/test_train.py::test_torchrun_cli_matches_one_process")
    res = _run(cmd, sandbox)
    assert res.returncode == 0, f"{cmd}\n{res.stderr[-3000:]}"
    if any("│" in line for line in expected):
        _check_rows(expected, res.stdout)
    if any('": ' in line for line in expected):
        _check_json(expected, res.stdout)
