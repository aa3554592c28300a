"""The bad-input catalogue: every reader and command, driven through the real CLI (``mmwe.cli.main``).

Each row of ``ERRORS`` builds one bad input in a fresh folder and names the command line that reads it. The
contract checked for every row: exit status 2 (1 is for internal errors only), stderr is exactly one line
``mmwe: error: ...`` matching the row's pattern, naming the offending file (and ``:LINE:`` where the problem
has a line), and the output folder holds no output and no temporary file afterwards.

``SKIPS`` lists the inputs that are documented as counted skips rather than errors (bad corpus records, bad
images during feature extraction): the command succeeds and the manifest / summary counts them by reason.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import bomb_png_bytes as bomb_png
from tests.conftest import png_bytes as png
from tests.conftest import run_cli

GOOD_CSV = "cat,1,0,0\ndog,0,1,0\ncar,0,0,1\nsun,1,1,0\nsea,0,1,1\n"
GOOD_VEC = "cat 1 0 0\ndog 0 1 0\ncar 0 0 1\nsun 1 1 0\nsea 0 1 1\n"
BENCH = "cat dog 5\ncat car 1\ndog car 2\nsun sea 3\n"


# -- builders of bad files ------------------------------------------------------------------------------------
def w(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def binary_w2v(words: list[str], matrix: np.ndarray, count: int | None = None) -> bytes:
    head = f"{len(words) if count is None else count} {matrix.shape[1]}\n".encode()
    return head + b"".join(wd.encode() + b" " + row.astype("<f4").tobytes() for wd, row in zip(words, matrix))


def jpeg(size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


class _System:
    """Unpickling this calls os.system('echo pwned > FILE')."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.target}",))


def tar_with(path: Path, members: list[tuple[str, bytes, bytes, str]]) -> Path:
    """members: (name, data, tar type, link target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tf:
        for name, data, kind, link in members:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
            tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return path


def tiny_corpus(d: Path) -> Path:
    """A real corpus folder made by `mmwe corpus build` from a JSONL of 6 PNG images."""
    src = d / "src"
    lines = []
    for i, word in enumerate(["red", "green", "blue", "cyan", "pink", "gray"]):
        w(src / f"im{i}.png", png(color=(40 * i, 200 - 30 * i, 90)))
        lines.append(json.dumps({"image": f"im{i}.png", "caption": f"a {word} square on a {word} table"}))
    w(src / "c.jsonl", "\n".join(lines) + "\n")
    out = d / "corpus"
    assert run_cli(["corpus", "build", str(src / "c.jsonl"), "--out", str(out), "--min-words", "1",
                    "--min-count", "1", "--val-fraction", "0.2", "--test-fraction", "0", "--json"]) == 0
    return out


TRAIN_ARGS = ["--model", "puretext", "--emb-dim", "8", "--hidden", "8", "--proj", "8", "--negatives", "0",
              "--batch-size", "4", "--epochs", "1", "--min-count", "1", "--json"]


# -- the catalogue ------------------------------------------------------------------------------------------
@dataclass
class Case:
    id: str
    setup: Callable[[Path], list[str]]  # builds the inputs in the folder, returns the argv
    match: str  # regex the message (after "mmwe: error: ") must match
    where: str | None = None  # file name (and ":LINE") that must open the message; None: no file involved
    out: str = "out"  # the output folder to check for leftovers (relative to the case folder)


def convert(name: str, data: bytes | str, *extra: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        _mkout(d)
        return ["vectors", "convert", str(w(d / name, data)), str(d / "out" / "v.txt"), *extra]
    return setup


def _mkout(d: Path) -> Path:
    (d / "out").mkdir(exist_ok=True)
    return d / "out"


def _conv(d: Path, argv: list[str]) -> list[str]:
    _mkout(d)
    return argv


def evalw(vec: str, bench: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        _mkout(d)
        return ["eval-words", str(w(d / "v.txt", vec)), "-b", str(w(d / "bench.txt", bench)), "--json"]
    return setup


def mnno_csv(a: bytes | str, b: bytes | str, *extra: str, names=("a.csv", "b.csv")) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        _mkout(d)
        return ["mnno", str(w(d / names[0], a)), str(w(d / names[1], b)), "--json", *extra]
    return setup


def corpus_build(make_src: Callable[[Path], Path], *extra: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        _mkout(d)
        return ["corpus", "build", str(make_src(d)), "--out", str(d / "out" / "corpus"), "--min-words", "1",
                "--min-count", "1", *extra]
    return setup


def _npy_bytes(m: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, m, allow_pickle=allow_pickle)
    return buf.getvalue()


def _npy_vectors(d: Path, words: str) -> list[str]:
    w(d / "v.words.txt", words)
    return _conv(d, ["vectors", "convert", str(w(d / "v.npy", _npy_bytes(_F32))), str(d / "out" / "v.txt")])


def _map_model(d: Path) -> Path:
    x, y = d / "x.npy", d / "y.npy"
    np.save(x, np.random.default_rng(0).normal(size=(12, 3)).astype(np.float32))
    np.save(y, np.random.default_rng(1).normal(size=(12, 2)).astype(np.float32))
    model = d / "map.pt"
    assert run_cli(["map", "train", str(x), str(y), "--out", str(model), "--untrained", "--json"]) == 0
    return model


def _map_apply_wrong_dim(d: Path) -> list[str]:
    model = _map_model(d)
    w(d / "x5.npy", _npy_bytes(np.ones((4, 5), np.float32)))
    return ["map", "apply", str(model), str(d / "x5.npy"), "--out", str(_mkout(d) / "fx.npy")]


def _map_apply_model(data: bytes) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        model = w(d / "map.pt", data)
        np.save(d / "x.npy", np.ones((4, 3), np.float32))
        return ["map", "apply", str(model), str(d / "x.npy"), "--out", str(_mkout(d) / "fx.npy")]
    return setup


def _truncated_map(d: Path) -> list[str]:
    model = _map_model(d)
    data = model.read_bytes()
    return _map_apply_model(data[: len(data) // 2])(d)


def _pickle_bomb_model(d: Path) -> list[str]:
    import torch

    buf = io.BytesIO()
    torch.save({"format": "x", "payload": _System(str(d / "PWNED"))}, buf)
    return _map_apply_model(buf.getvalue())(d)


def _train_resume(mutate: Callable[[Path], None], *extra: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        corpus = tiny_corpus(d / "data")
        run = d / "out"
        assert run_cli(["train", str(corpus), "--out", str(run), *TRAIN_ARGS]) == 0
        mutate(run / "checkpoints" / "last.pt")
        for f in ("vectors.txt", "vectors.bin", "model.pt", "metrics.json"):  # the outputs a resume rewrites
            (run / f).unlink()
        return ["train", str(corpus), "--out", str(run), "--resume", *TRAIN_ARGS, *extra]
    return setup


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:200])


def _jsonl_only(record_line: bytes, *images: tuple[str, bytes]) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        for name, data in images:
            w(d / "src" / name, data)
        return w(d / "src" / "c.jsonl", record_line + b"\n")
    return make


def _out_under_a_file(d: Path) -> list[str]:
    w(d / "afile", "a file, not a folder")
    make = _jsonl_only(b'{"image": "a.png", "caption": "a red square"}', ("a.png", png()))
    return corpus_build(make, "--out", str(d / "afile" / "dir" / "c"))(d)


def _tar_only(members: list[tuple[str, bytes, bytes, str]]) -> Callable[[Path], Path]:
    return lambda d: tar_with(d / "src" / "shard-000.tar", members)


def _pickle_source(d: Path) -> Path:
    return w(d / "src" / "pin_2016_v1_0.npy", pickle.dumps([_System(str(d / "PWNED"))], protocol=2))


def _classify(name: str, data: bytes) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        _mkout(d)
        return ["classify", str(w(d / name, data)), "--json"]
    return setup


_F32 = np.arange(6, dtype=np.float32).reshape(3, 2) + 1
_SVG_XXE = ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&x;</text></svg>')

ERRORS = [
    # vector files --------------------------------------------------------------------------------------------
    Case("vec-bad-header", convert("v.txt", "3 x y\ncat 1 2\n", "--from", "word2vec"),
         r"expected a header 'COUNT DIM'", "v.txt:1"),
    Case("vec-missing-header", convert("v.txt", "cat 1 2\ndog 3 4\n", "--from", "word2vec"),
         r"expected a header 'COUNT DIM'.*--from glove", "v.txt:1"),
    Case("vec-header-count-above-rows", convert("v.txt", "3 2\ncat 1 2\ndog 3 4\n"),
         r"header says 3 vectors but the file ends after 2", "v.txt:"),
    Case("vec-header-count-below-rows", convert("v.txt", "1 2\ncat 1 2\ndog 3 4\n"),
         r"header says 1 vectors but there are more lines", "v.txt:3"),
    Case("vec-header-dim-mismatch", convert("v.txt", "2 3\ncat 1 2\ndog 3 4\n"),
         r"expected 3 values after the word \(set by the header\), got 2", "v.txt:2"),
    Case("vec-ragged-row", convert("v.txt", "cat 1 2 3\ndog 4 5\n"),
         r"expected 3 values after the word \(set by line 1\), got 2", "v.txt:2"),
    Case("vec-non-numeric", convert("v.txt", "cat 1 2\ndog 3 abc\n"), r"field 3 is 'abc', not a number", "v.txt:2"),
    Case("vec-nan", convert("v.txt", "cat 1 2\ndog nan 4\n"), r"field 2 is 'nan', not a finite", "v.txt:2"),
    Case("vec-inf", convert("v.txt", "cat 1 2\ndog 3 -inf\n"), r"field 3 is '-inf', not a finite", "v.txt:2"),
    Case("vec-float32-overflow", convert("v.txt", "cat 1 2\ndog 3 1e39\n"), r"not a finite float32", "v.txt:2"),
    Case("vec-duplicate-word", convert("v.txt", "cat 1 2\ndog 3 4\ncat 5 6\n"),
         r"duplicate word 'cat' \(first on line 1\)", "v.txt:3"),
    Case("vec-empty-file", convert("v.txt", ""), r"file is empty", "v.txt:1"),
    Case("vec-blank-only", convert("v.txt", "\n\n  \n"), r"file is empty", "v.txt:1"),
    Case("vec-bom-then-bad-line", convert("v.txt", b"\xef\xbb\xbf2 2\ncat 1 2\ndog 3 x\n"),
         r"field 3 is 'x'", "v.txt:3"),
    Case("vec-crlf-ragged", convert("v.txt", b"cat 1 2\r\ndog 3 4\r\nsun 5\r\n"),
         r"expected 2 values .* got 1", "v.txt:3"),
    Case("vec-undecodable-word", convert("v.txt", b"cat 1 2\n\xff\xfeog 3 4\n"),
         r"word is not valid UTF-8 \(byte 0xff", "v.txt:2"),
    Case("vec-binary-truncated", convert("v.bin", binary_w2v(["cat", "dog", "sun"], _F32)[:-5]),
         r"binary file ends inside record 3 of 3|truncated", "v.bin"),
    Case("vec-binary-count-too-big", convert("v.bin", binary_w2v(["cat", "dog", "sun"], _F32, count=9)),
         r"header claims 9 vectors .* only \d+ bytes follow", "v.bin:1"),
    Case("vec-binary-nan", convert("v.bin", binary_w2v(["cat", "dog", "sun"], np.where(_F32 == 4, np.nan, _F32))),
         r"vector 2 \('dog'\) holds a NaN", "v.bin"),
    Case("vec-gzip-truncated", convert("v.txt.gz", gzip.compress(GOOD_VEC.encode() * 200)[:-40]),
         r"gzip data is damaged or truncated", "v.txt.gz"),
    Case("vec-npy-words-count", lambda d: _npy_vectors(d, "cat\ndog\n"), r"2 words for a matrix of 3 rows",
         "v.words.txt"),
    Case("vec-npy-duplicate-word", lambda d: _npy_vectors(d, "cat\ndog\ncat\n"), r"duplicate word 'cat'",
         "v.words.txt:3"),
    Case("vec-not-found", lambda d: _conv(d, ["vectors", "info", str(d / "nope.txt")]), r"vector file not found",
         "nope.txt"),
    Case("vec-output-folder-missing", lambda d: ["vectors", "convert", str(w(d / "v.txt", GOOD_VEC)),
                                                 str(d / "out" / "missing" / "v.txt")],
         r"output folder .*missing does not exist; create it first", "v.txt", out="out"),
    Case("vec-zero-vectors-cosine", evalw("cat 0 0 0\ndog 0 0 0\ncar 0 0 0\nsun 0 0 0\nsea 0 1 1\n", BENCH),
         r"same value for all 4 scored pairs.*4 of its words have zero vectors", "v.txt"),
    # benchmark files -----------------------------------------------------------------------------------------
    Case("bench-wrong-columns", evalw(GOOD_VEC, "cat dog 5\ncat car\n"), r"expected 3 fields .* got 2",
         "bench.txt:2"),
    Case("bench-non-numeric-score", evalw(GOOD_VEC, "cat dog 5\ncat car high\n"),
         r"expected a numeric score in field 3, got 'high'", "bench.txt:2"),
    Case("bench-nan-score", evalw(GOOD_VEC, "cat dog nan\n"), r"expected a numeric score", "bench.txt:1"),
    Case("bench-empty", evalw(GOOD_VEC, "# only a comment\n\n"), r"got no word pairs", "bench.txt"),
    Case("bench-undecodable", evalw(GOOD_VEC, b"cat dog 5\ncaf\xe9 tea 3\n"), r"expected UTF-8 text, got byte 0xe9",
         "bench.txt:2"),
    Case("bench-unknown-name", lambda d: _conv(d, ["eval-words", str(w(d / "v.txt", GOOD_VEC)), "-b", "men2"]),
         r"benchmark 'men2' is neither a built-in benchmark nor an existing file"),
    # CSV / npy feature files paired for mnno -----------------------------------------------------------------
    Case("csv-label-only-row", mnno_csv("cat,1,0\ndog\ncar,0,1\n", GOOD_CSV), r"got a label with no values",
         "a.csv:2"),
    Case("csv-ragged-row", mnno_csv(GOOD_CSV, "cat,1,0,0\ndog,0,1\n"), r"expected 3 values \(as on the first row\)",
         "b.csv:2"),
    Case("csv-non-numeric", mnno_csv("cat,1,0\ndog,0,x\n", GOOD_CSV), r"column 3: expected a number, got 'x'",
         "a.csv:2"),
    Case("csv-header-line", mnno_csv("label,v1,v2\ncat,1,0\n", GOOD_CSV), r"is there a header line", "a.csv:1"),
    Case("csv-nan", mnno_csv("cat,1,0\ndog,nan,1\n", GOOD_CSV), r"column 2: expected a finite number", "a.csv:2"),
    Case("csv-float32-overflow", mnno_csv("cat,1,0\ndog,1e39,1\n", GOOD_CSV),
         r"column 2: expected a finite number, got '1e39'; float32 holds at most 3.4e38", "a.csv:2"),
    Case("npy-float32-overflow", mnno_csv(_npy_bytes(np.full((5, 3), 1e39)), _npy_bytes(np.ones((5, 3), np.float32)),
                                          names=("a.npy", "b.npy")),
         r"row 1: expected finite values, got NaN/inf \(or a value beyond float32", "a.npy"),
    Case("csv-undecodable", mnno_csv(b"caf\xe9,1,0\n", GOOD_CSV), r"expected UTF-8 text", "a.csv"),
    Case("csv-empty", mnno_csv("", GOOD_CSV), r"got no rows", "a.csv"),
    Case("pair-row-count-mismatch", mnno_csv(_npy_bytes(np.ones((5, 3), np.float32)),
                                             _npy_bytes(np.ones((4, 3), np.float32)), names=("a.npy", "b.npy")),
         r"both sides need the same number of rows: .*a.npy has 5, .*b.npy has 4"),
    Case("npy-object-pickle", mnno_csv(_npy_bytes(np.array([_System("/tmp/x")], dtype=object), allow_pickle=True),
                                       _npy_bytes(np.ones((4, 3), np.float32)), names=("a.npy", "b.npy")),
         r"needs pickle", "a.npy"),
    Case("map-apply-wrong-dim", _map_apply_wrong_dim, r"3.*got 5|5.*expected 3", "x5.npy"),
    # CLI arguments -------------------------------------------------------------------------------------------
    Case("cli-k-at-least-n", mnno_csv(GOOD_CSV, GOOD_CSV, "--k", "5"), r"k=5 neighbours need at least 6 rows, got 5"),
    Case("cli-negative-k", mnno_csv(GOOD_CSV, GOOD_CSV, "--k", "-3"), r"--k: expected an integer >= 1, got -3"),
    Case("cli-zero-limit", convert("v.txt", GOOD_VEC, "--limit", "0"), r"--limit: expected an integer >= 1, got 0"),
    Case("cli-negative-permutations", mnno_csv(GOOD_CSV, GOOD_CSV, "--permutations", "-1"),
         r"--permutations: expected an integer >= 0, got -1"),
    Case("cli-unknown-metric", mnno_csv(GOOD_CSV, GOOD_CSV, "--metric", "manhattan"),
         r"--metric: expected cosine or euclidean, got 'manhattan'"),
    Case("cli-unknown-format", convert("v.txt", GOOD_VEC, "--to", "hdf5"), r"unknown vector format 'hdf5'"),
    # corpora: sources whose every record is a counted skip end in one error naming the reasons ---------------
    Case("corpus-only-missing-sentences", corpus_build(_jsonl_only(b'{"image": "a.png"}', ("a.png", png()))),
         r"expected at least one record to survive.*missing_sentences=1", "c.jsonl"),
    Case("corpus-only-missing-image", corpus_build(_jsonl_only(b'{"image": "a.png", "image_path": "no/a.png", '
                                                               b'"caption": "a red square here"}')),
         r"missing_image_file=1", "c.jsonl"),
    Case("corpus-only-non-utf8", corpus_build(_jsonl_only(b'{"image": "a.png", "caption": "caf\xe9 au lait"}',
                                                          ("a.png", png()))), r"non_utf8=1", "c.jsonl"),
    Case("corpus-only-huge-line", corpus_build(_jsonl_only(json.dumps({"image": "a.png", "caption": "w " * 30_000})
                                                           .encode(), ("a.png", png()))),
         r"line_too_long=1", "c.jsonl"),
    Case("corpus-tar-traversal", corpus_build(_tar_only([("../evil.png", png(), tarfile.REGTYPE, ""),
                                                         ("../evil.txt", b"a red square", tarfile.REGTYPE, "")])),
         r"unsafe_member_path=2", "shard-000.tar"),
    Case("corpus-tar-absolute", corpus_build(_tar_only([("/etc/x.png", png(), tarfile.REGTYPE, ""),
                                                        ("/etc/x.txt", b"a red square", tarfile.REGTYPE, "")])),
         r"unsafe_member_path=2", "shard-000.tar"),
    Case("corpus-tar-symlink", corpus_build(_tar_only([("k.png", b"", tarfile.SYMTYPE, "/etc/passwd"),
                                                       ("k.txt", b"", tarfile.SYMTYPE, "/etc/hostname")])),
         r"unsafe_member_link=2", "shard-000.tar"),
    Case("corpus-pickle-without-opt-in", corpus_build(_pickle_source), r"expected --allow-pickle",
         "pin_2016_v1_0.npy"),
    Case("corpus-pickle-os-system", corpus_build(_pickle_source, "--allow-pickle"),
         r"plain data.*(posix|os).*system|system.*refus", "pin_2016_v1_0.npy"),
    Case("corpus-source-missing", lambda d: ["corpus", "build", str(d / "nope.jsonl"), "--out", str(d / "out" / "c")],
         r"expected an existing file/folder or a built-in corpus", "nope.jsonl"),
    Case("corpus-out-parent-not-creatable", _out_under_a_file, r"--out: cannot create the folder \S*afile/dir",
         "afile/dir/c"),  # --out makes missing parent folders (mkdir -p); under a file it cannot
    Case("corpus-info-not-a-corpus", lambda d: _conv(d, ["corpus", "info", str(d)]),
         r"expected a corpus folder with manifest.json", None),
    # images ------------------------------------------------------------------------------------------------
    Case("image-truncated-jpeg", _classify("t.jpg", jpeg()[:600]), r"cannot decode the image", "t.jpg"),
    Case("image-truncated-png", _classify("t.png", png((64, 64))[:60]), r"cannot decode the image", "t.png"),
    Case("image-decompression-bomb", _classify("bomb.png", bomb_png()),
         r"20000 x 20000 = 400000000 pixels, limit", "bomb.png"),
    Case("image-svg-external-entity", _classify("x.svg", _SVG_XXE), r"entit|DOCTYPE", "x.svg"),
    Case("image-not-an-image", _classify("n.png", b"hello, not a png"), r"cannot decode the image", "n.png"),
    # model and checkpoint files ------------------------------------------------------------------------------
    Case("map-truncated", _truncated_map, r"truncated or foreign file", "map.pt"),
    Case("map-pickle-os-system", _pickle_bomb_model, r"truncated or foreign file", "map.pt"),
    Case("checkpoint-truncated", _train_resume(_truncate), r"expected a training checkpoint, could not read it",
         "last.pt"),
    Case("checkpoint-other-config", _train_resume(lambda p: None, "--hidden", "16"),
         r"expected a checkpoint of the same config.*hidden: checkpoint 8 vs now 16", "last.pt"),
    Case("checkpoint-best-truncated", _train_resume(lambda p: _truncate(p.with_name("best.pt"))),
         r"expected the best model of this run, could not read it", "best.pt"),
    Case("train-not-a-corpus", lambda d: ["train", str(_mkout(d)), "--out", str(d / "run"), *TRAIN_ARGS],
         r"expected a corpus folder", None),
]


def _leftovers(folder: Path, before: set[Path]) -> list[str]:
    """Files that appeared under ``folder`` during the run (outputs, temporary or partial files)."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p not in before)


@pytest.mark.parametrize("case", ERRORS, ids=[c.id for c in ERRORS])
def test_bad_input(case: Case, tmp_path, capsys):
    argv = case.setup(tmp_path)
    out = tmp_path / case.out
    before = set(out.rglob("*")) if out.exists() else set()
    capsys.readouterr()
    rc = run_cli(argv)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert rc == 2, f"exit {rc}, stderr:\n{err}"
    assert len(lines) == 1 and lines[0].startswith("mmwe: error: "), err
    msg = lines[0][len("mmwe: error: "):]
    assert re.search(case.match, msg), msg
    if case.where is not None:
        name, _, line = case.where.partition(":")
        head = re.escape(name) + (rf":{line}" if line else "") + r"(:\d+)?: "
        assert re.match(rf"(\S*/)?{head}", msg), f"message does not start with {case.where!r}: {msg}"
    assert _leftovers(out, before) == [], f"left behind: {_leftovers(out, before)}"
    assert not (tmp_path / "PWNED").exists()
    assert not list(tmp_path.glob(".*.partial*")) and not list(tmp_path.glob("out/.*"))


def test_catalogue_size():
    assert len(ERRORS) + len(SKIPS) >= 40


# -- documented counted skips -----------------------------------------------------------------------------
def _good_jsonl(d: Path, bad_line: bytes, *images: tuple[str, bytes]) -> Path:
    w(d / "src" / "good.png", png())
    for name, data in images:
        w(d / "src" / name, data)
    good = json.dumps({"image": "good.png", "caption": "a red square on a table"}).encode()
    return w(d / "src" / "c.jsonl", good + b"\n" + bad_line + b"\n")


SKIPS = [  # (id, bad JSONL line, extra files, reason counted in manifest["removed"])
    ("missing-sentences", b'{"image": "b.png"}', [("b.png", png())], ("bad_records", "missing_sentences")),
    ("empty-sentences", b'{"image": "b.png", "sentences": ["", "   "]}', [("b.png", png())],
     ("removed_sentences", None)),
    ("huge-line", json.dumps({"image": "b.png", "caption": "w " * 30_000}).encode(), [("b.png", png())],
     ("bad_records", "line_too_long")),
    ("non-utf8", b'{"image": "b.png", "caption": "caf\xe9 au lait"}', [("b.png", png())],
     ("bad_records", "non_utf8")),
    ("missing-image", b'{"image": "b.png", "image_path": "gone/b.png", "caption": "a blue square"}', [],
     ("bad_records", "missing_image_file")),
    ("bad-json", b'{"image": "b.png", "caption": ', [("b.png", png())], ("bad_records", "bad_json")),
    ("not-an-object", b"[1, 2, 3]", [], ("bad_records", "not_an_object")),
]


@pytest.mark.parametrize("case", SKIPS, ids=[c[0] for c in SKIPS])
def test_counted_skip(case, tmp_path, capsys):
    _id, line, images, (group, reason) = case
    src = _good_jsonl(tmp_path, line, *images)
    out = tmp_path / "corpus"
    rc = run_cli(["corpus", "build", str(src), "--out", str(out), "--min-words", "1", "--min-count", "1", "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    removed = json.loads(captured.out)["removed"]
    assert json.loads((out / "manifest.json").read_text())["counts"]["images"] == 1
    if reason is None:  # the record is read, its sentences are all removed by pre-processing
        assert sum(removed[group].values()) == 2 and removed["bad_records"] == {}
    else:
        assert removed[group] == {reason: 1}


def test_feature_extraction_counts_bad_images(tmp_path, capsys):
    """Truncated JPEG/PNG, a 20k x 20k bomb, a non-image and a missing file: skipped and counted, not fatal."""
    src = tmp_path / "src"
    files = {"good.png": png((32, 32)), "tjpg.jpg": jpeg()[:600], "tpng.png": png((64, 64))[:60],
             "bomb.png": bomb_png(), "fake.png": b"not an image"}
    lines = []
    for i, (name, data) in enumerate(files.items()):
        w(src / name, data)
        lines.append(json.dumps({"image": name, "caption": f"picture number {i} of a thing"}))
    w(src / "c.jsonl", "\n".join(lines) + "\n")
    corpus = tmp_path / "corpus"
    assert run_cli(["corpus", "build", str(src / "c.jsonl"), "--out", str(corpus), "--min-words", "1",
                    "--min-count", "1", "--json"]) == 0
    capsys.readouterr()
    out = tmp_path / "f.npy"
    rc = run_cli(["features", str(corpus), "--backend", "torch", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    s = json.loads(captured.out)
    assert s["images"] == 1
    assert s["skipped"] == {"too_many_pixels": 1, "truncated": 1, "unreadable": 2}, s["skipped"]


# -- safe loading, checked in the source ---------------------------------------------------------------------
SRC = Path(__file__).resolve().parents[1] / "src" / "mmwe"


def _calls(pattern: str) -> list[tuple[str, str]]:
    """(file:line, call text up to its closing parenthesis) of every match of ``pattern`` in src/mmwe."""
    found = []
    for f in sorted(SRC.rglob("*.py")):
        text = f.read_text(encoding="utf-8")
        for m in re.finditer(pattern, text):
            depth, i = 0, m.end() - 1
            while i < len(text):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                if depth == 0:
                    break
                i += 1
            found.append((f"{f.relative_to(SRC)}:{text[:m.start()].count(chr(10)) + 1}", text[m.start(): i + 1]))
    return found


def test_every_torch_load_is_weights_only():
    calls = _calls(r"\btorch\.load\(")
    assert calls and all("weights_only=True" in c for _, c in calls), [
        w for w, c in calls if "weights_only=True" not in c]


def test_no_pickle_outside_the_restricted_unpickler():
    unsafe = [w for w, c in _calls(r"\bnp\.load\(") if "allow_pickle=True" in c]
    assert [w for w in unsafe if not w.startswith("corpus/pickle_safe.py")] == []  # its docstring names it
    plain = [w for w, _ in _calls(r"\bpickle\.(load|loads|Unpickler)\(") if not w.startswith("corpus/pickle_safe.py")]
    assert plain == []
    assert _calls(r"\.extractall\(") == []  # archives are streamed member by member, never extracted
