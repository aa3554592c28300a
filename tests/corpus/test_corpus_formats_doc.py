"""Every example of docs/corpus-formats.md (moved out of the README, which links it), run: its files written
(images: real OpenMoji emoji rasterised to PNG/JPEG), its `mmwe corpus build` command run through
`mmwe.corpus.build_corpus`, its Result line checked.

Conventions of the document (each section ``## ...`` with a ``console`` block is one example):
``text layout`` lists the files (image files are created, other paths get their folder); ``LANG file=PATH``
is written as is; ``text tar=PATH`` lists tar members, a text member's content after its name; ``python`` is
run in the example's folder; ``Result: N images, M sentences[; skipped: reason=n, ...].`` follows the command.
"""

from __future__ import annotations

import io
import re
import shlex
import shutil
import tarfile
from pathlib import Path

import pytest

from mmwe.corpus import READERS, BuildConfig, ReadOptions, build_corpus
from mmwe.corpus.openmoji import openmoji_svgs
from mmwe.vision.images import load_image

DOC = Path(__file__).resolve().parents[2] / "docs" / "corpus-formats.md"
FENCE = re.compile(r"^```(\S*)[ \t]*([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
RESULT = re.compile(r"Result: (\d+) images, (\d+) sentences(?:; skipped: ([^.]+))?\.")
FALLBACK = ["1F600", "1F431", "1F34E", "2615", "1F680", "1F333"]  # for image names that are not emoji codes
DOCUMENTED = {"jsonl", "parquet", "coco", "webdataset", "pinterest", "folder", "openmoji"}


def examples() -> list[tuple[str, str]]:
    text = DOC.read_text(encoding="utf-8")
    text = text[text.index("# Corpus formats\n"):]
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return [(p.splitlines()[0], p) for p in parts if "```console" in p]


EXAMPLES = examples()


def image_bytes(name: str, n: int) -> bytes:
    """A real image for file ``name``: the OpenMoji emoji its stem names (else a fixed one), in its format."""
    svgs = openmoji_svgs()
    stem, ext = Path(name).stem, Path(name).suffix.lower()
    svg = svgs.get(stem.upper(), svgs[FALLBACK[n % len(FALLBACK)]])
    if ext == ".svg":
        return Path(svg).read_bytes()
    buf = io.BytesIO()
    load_image(svg).resize((64, 64)).save(buf, "JPEG" if ext in (".jpg", ".jpeg") else "PNG")
    return buf.getvalue()


def is_image(name: str) -> bool:
    return Path(name).suffix.lower() in (".png", ".jpg", ".jpeg", ".svg")


def write_example(body: str, root: Path) -> tuple[list[str], Path]:
    """Create the example's files under ``root``; (build arguments, result text)."""
    command = result = None
    listed: list[Path] = []
    for lang, info, content in FENCE.findall(body):
        if info == "layout":
            for i, line in enumerate(content.split("\n")):
                path = line.split("#")[0].strip()
                if path:
                    listed.append(root / path)
                    listed[-1].parent.mkdir(parents=True, exist_ok=True)
                    if is_image(path):
                        listed[-1].write_bytes(image_bytes(path, i))
        elif info.startswith("file="):
            target = root / info[len("file="):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        elif info.startswith("tar="):
            write_tar(root / info[len("tar="):], content)
        elif lang == "python":
            exec(compile(content, f"{DOC.name} python block", "exec"), {})  # run in root (the test's cwd)
        elif lang == "console":
            (line,) = [ln for ln in content.splitlines() if ln.startswith("$ ")]
            command = shlex.split(line[2:])
            result = body[body.index(content) + len(content):]
    for path in listed:  # what no block wrote (a sound beside a stamp...): an empty file
        if not path.exists():
            path.write_bytes(b"")
    assert command is not None and command[:3] == ["mmwe", "corpus", "build"], command
    return command[3:], result


def write_tar(path: Path, listing: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tf:
        for i, line in enumerate(ln for ln in listing.split("\n") if ln.strip()):
            name, _, text = line.partition(" ")
            data = image_bytes(name, i) if is_image(name) else text.strip().encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def build_config(args: list[str]) -> tuple[list[str], str, BuildConfig]:
    """The library call of `mmwe corpus build ARGS` (the options the examples use)."""
    sources, out, read, reader, it = [], None, {}, "auto", iter(args)
    for a in it:
        if a == "--out":
            out = next(it)
        elif a == "--reader":
            reader = next(it)
        elif a == "--allow-pickle":
            read["allow_pickle"] = True
        elif a == "--no-check-images":
            read["check_images"] = False
        elif a == "--image-root":
            read["image_root"] = next(it)
        elif a.startswith("--"):
            raise AssertionError(f"option {a} of the document is not known to this test")
        else:
            sources.append(a)
    return sources, out, BuildConfig(reader=reader, read=ReadOptions(**read))


@pytest.mark.parametrize("title,body", EXAMPLES, ids=[t.split(" (")[0] for t, _ in EXAMPLES])
def test_doc_example_builds_as_stated(title, body, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, after = write_example(body, tmp_path)
    sources, out, cfg = build_config(args)
    m = build_corpus(sources, out, cfg)
    stated = RESULT.search(after)
    assert stated, f"no 'Result: N images, M sentences.' line after the command of {title!r}"
    assert (m["counts"]["images"], m["counts"]["sentences"]) == (int(stated[1]), int(stated[2])), m["removed"]
    skipped = dict(kv.strip().split("=") for kv in stated[3].split(",")) if stated[3] else {}
    assert m["removed"]["bad_records"] == {k: int(v) for k, v in skipped.items()}
    named = re.search(r"`--reader (\w+)`|\(`(\w+)`\)", title)
    assert m["sources"][0]["reader"] == (named[1] or named[2])  # auto-detection picks the documented reader
    shutil.rmtree(out)


def test_every_reader_of_the_brief_has_a_tested_example():
    names = {re.search(r"`--reader (\w+)`|\(`(\w+)`\)", t).group(1, 2) for t, _ in EXAMPLES}
    assert {a or b for a, b in names} == DOCUMENTED
    for name in DOCUMENTED:
        assert READERS[name].fields, f"reader {name} has no fields text for --help"
        assert len(READERS[name].fields) > 80


def test_examples_are_at_most_five_lines():
    for title, body in EXAMPLES:
        for lang, info, content in FENCE.findall(body):
            if lang != "console":
                assert len(content.strip("\n").split("\n")) <= 5, (title, info or lang)
