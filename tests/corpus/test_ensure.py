"""mmwe.corpus.ensure: the one corpus-spec parser and the one builder of built-in corpora (built once, reused only
when built with the same settings and whole). Built-ins "tiny-a" / "tiny-b" are registered for these tests only
(known records, a counter of reads); one test builds the real art4apps corpus and compares it with build_corpus."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from mmwe.corpus import BuildConfig, PreprocessConfig, build_corpus, iter_records
from mmwe.corpus.ensure import ALL, CorpusSpec, builtin_corpora, corpus_path, ensure, parse_spec
from mmwe.corpus.readers import READERS, ReaderSpec
from mmwe.corpus.record import RawRecord
from mmwe.errors import MmweError

WORDS = "red green blue apple pear plum cat dog".split()


@pytest.fixture
def tiny(monkeypatch):
    """Two built-in corpora of 30 and 20 records; ``reads[name]`` counts how often each was read."""
    reads = {"tiny-a": 0, "tiny-b": 0}

    def reader(name: str, n: int):
        def read(source, opts, tally):
            reads[name] += 1
            for i in range(n):
                yield RawRecord(f"{name}:{i}", None, [f"{WORDS[i % 8]} {WORDS[(i + 3) % 8]} {name} number {i}"])
        return read

    for name, n in (("tiny-a", 30), ("tiny-b", 20)):
        monkeypatch.setitem(READERS, name, ReaderSpec(name, reader(name, n), lambda p: False, "test", builtin=True,
                                                      preprocess_defaults={"min_words": 1, "min_count": 1}))
    return reads


def _images(folder: Path) -> list[str]:
    return [r.image for r in iter_records(folder)]


def test_parse_spec_folder_names_and_all(tmp_path, tiny):
    build_corpus(["tiny-a"], tmp_path / "c")
    assert parse_spec(tmp_path / "c") == CorpusSpec(tmp_path / "c") and parse_spec(str(tmp_path / "c")).name == "c"
    assert parse_spec(" tiny-b + tiny-a ") == CorpusSpec(None, ("tiny-b", "tiny-a"))  # the order is kept
    assert parse_spec("tiny-b+tiny-a").name == "tiny-b+tiny-a"
    assert parse_spec("all") == CorpusSpec(None, ALL) and set(ALL) <= set(builtin_corpora())
    assert parse_spec("all").name == "openmoji+openclipart+gemojione+art4apps+tuxpaint"


@pytest.mark.parametrize("spec, why", [("tiny-a+nosuch", "unknown name 'nosuch'"), ("+", "no name"),
                                       ("nosuch/corpus", "unknown name 'nosuch/corpus'")])
def test_parse_spec_refuses_unknown_names(tiny, spec, why):
    with pytest.raises(MmweError) as err:
        parse_spec(spec)
    msg = err.value.message
    assert "expected a corpus folder, 'all' or built-in names joined by '+'" in msg and why in msg
    assert "openmoji, openclipart, gemojione, art4apps, tuxpaint" in msg and "\n" not in msg


def test_parse_spec_refuses_a_folder_that_is_no_corpus(tmp_path):
    (tmp_path / "half" / "shards").mkdir(parents=True)
    with pytest.raises(MmweError, match="got a folder without one; fix: build it with `mmwe corpus build"):
        parse_spec(tmp_path / "half")


def test_folder_spec_is_returned_as_is(tmp_path, tiny):
    build_corpus(["tiny-a"], tmp_path / "mine")
    reads = dict(tiny)
    assert ensure(str(tmp_path / "mine"), tmp_path / "root") == tmp_path / "mine" and tiny == reads
    assert not (tmp_path / "root").exists()  # nothing built, no cache folder made


def test_builtin_built_once_then_reused(tmp_path, tiny):
    root = tmp_path / "fresh" / "corpora"  # a cache folder that does not exist yet is made
    logs: list[str] = []
    out = ensure("tiny-a+tiny-b", root, log=logs.append)
    assert out == root / "tiny-a+tiny-b" == corpus_path("tiny-a+tiny-b", root)
    assert _images(out) == [f"tiny-a:{i}" for i in range(30)] + [f"tiny-b:{i}" for i in range(20)]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["images"] == 50
    assert [s["source"] for s in manifest["sources"]] == ["tiny-a", "tiny-b"]
    assert logs == [f"building the corpus tiny-a+tiny-b in {out}"] and tiny == {"tiny-a": 1, "tiny-b": 1}
    assert ensure("tiny-a+tiny-b", root, log=logs.append) == out  # reused: nothing read, nothing logged
    assert len(logs) == 1 and tiny == {"tiny-a": 1, "tiny-b": 1}
    other = ensure("tiny-b+tiny-a", root)  # another order is another corpus, in its own folder
    assert other == root / "tiny-b+tiny-a" and _images(other)[0] == "tiny-b:0"
    assert sorted(p.name for p in root.iterdir()) == ["tiny-a+tiny-b", "tiny-b+tiny-a"]  # nothing half-built left


def test_same_corpus_as_build_corpus(tmp_path, tiny):
    """ensure builds exactly what `mmwe corpus build NAMES` builds: manifest, counts and shards."""
    out = ensure("tiny-a+tiny-b", tmp_path / "root")
    direct = tmp_path / "direct"
    want = build_corpus(["tiny-a", "tiny-b"], direct)
    got = json.loads((out / "manifest.json").read_text())
    assert got == json.loads(json.dumps(want))
    for name in ("token_counts.tsv", *(s["file"] for s in want["shards"])):
        assert (out / name).read_bytes() == (direct / name).read_bytes()


def test_other_settings_rebuild_in_place(tmp_path, tiny):
    root = tmp_path / "root"
    out = ensure("tiny-a", root)
    assert json.loads((out / "manifest.json").read_text())["counts"]["vocabulary"]["min_count"] == 1
    logs: list[str] = []
    cfg = BuildConfig(preprocess=PreprocessConfig(min_words=1, min_count=2))
    assert ensure("tiny-a", root, cfg=cfg, log=logs.append) == out
    assert logs == [f"building the corpus tiny-a in {out} again: built with other settings (preprocess)"]
    assert json.loads((out / "manifest.json").read_text())["counts"]["vocabulary"]["min_count"] == 2
    assert ensure("tiny-a", root, cfg=cfg) == out and tiny["tiny-a"] == 2  # now the same settings: reused
    assert ensure("tiny-a", root, cfg=replace(cfg, overwrite=False)) == out and tiny["tiny-a"] == 2  # not a setting


@pytest.mark.parametrize("damage, why", [
    (lambda out: (out / "manifest.json").unlink(), "not built yet"),  # a folder without a manifest: half-built
    (lambda out: (out / "shards" / "part-00000.parquet").unlink(), "shard shards/part-00000.parquet missing"),
    (lambda out: (out / "manifest.json").write_text("{\"format\": "), "unreadable manifest (JSONDecodeError)"),
    (lambda out: (out / "manifest.json").write_text(
        (out / "manifest.json").read_text().replace('"version": 1', '"version": 0')),
     "built with other settings (version)"),
])
def test_a_damaged_or_half_built_corpus_is_built_again(tmp_path, tiny, damage, why):
    out = ensure("tiny-a", tmp_path / "root")
    want = _images(out)
    damage(out)
    logs: list[str] = []
    assert ensure("tiny-a", tmp_path / "root", log=logs.append) == out and tiny["tiny-a"] == 2
    assert logs == [f"building the corpus tiny-a in {out}" + ("" if why == "not built yet" else f" again: {why}")]
    assert _images(out) == want


def test_progress_counts_the_records_read(tmp_path, tiny):
    seen: list[tuple] = []
    ensure("tiny-b", tmp_path / "root", progress=lambda *a: seen.append(a))
    assert seen[-1] == (20, None, "reading the tiny-b corpus") and [s[0] for s in seen] == list(range(1, 21))


def test_real_builtin_matches_build_corpus(tmp_path):
    """The real art4apps corpus (585 photographs) built by ensure is the one `mmwe corpus build art4apps` makes."""
    out = ensure("art4apps", tmp_path / "corpora")
    want = build_corpus(["art4apps"], tmp_path / "direct")
    assert json.loads((out / "manifest.json").read_text()) == json.loads(json.dumps(want))
    assert want["counts"]["images"] == 585
    assert _images(out) == _images(tmp_path / "direct")
