"""Build a corpus directory from one or more sources: read -> merge -> pre-process -> split -> shard.

Everything streams: readers yield records one at a time, the shard writer keeps one row group. The only state
that grows with the corpus is a set of 64-bit hashes of image keys (to drop repeated images; ~60 bytes per
image) and the word counts. The directory is built beside the output under a temporary name and renamed into
place at the end, so a failed build never leaves a half-written corpus.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

from mmwe.corpus.preprocess import SPLITS, PreprocessConfig, SplitConfig, assign_split, clean_record
from mmwe.corpus.readers import ReaderSpec, ReadOptions, detect_reader, get_reader
from mmwe.corpus.record import RawRecord, Record, Tally
from mmwe.corpus.store import FORMAT, VERSION, ShardWriter, write_token_counts
from mmwe.errors import MmweError


@dataclass
class BuildConfig:
    """How to build a corpus; the CLI fills it from options."""

    reader: str = "auto"  # a registered reader name, or "auto" to detect one per source
    preprocess: PreprocessConfig | None = None  # None: the reader's defaults (the paper's, or openmoji's)
    split: SplitConfig | None = None  # None: the reader's defaults (5% val, 5% test; openmoji 10% / 20%)
    read: ReadOptions = field(default_factory=ReadOptions)  # options passed to the readers
    shard_size: int = 100_000  # records per Parquet shard
    row_group_size: int = 10_000  # records per row group: bounds the memory of writing and reading
    overwrite: bool = False  # replace a non-empty output folder


def resolve_sources(sources: list[str], reader: str = "auto") -> list[tuple[str, ReaderSpec]]:
    """(source, reader) pairs; a named reader applies to every source."""
    if not sources:
        raise MmweError("expected at least one source (a file, a folder, or 'openmoji'), got none")
    out = []
    for s in sources:
        spec = detect_reader(s) if reader == "auto" else get_reader(reader)
        if not spec.builtin and not Path(s).exists():
            raise MmweError("source not found; check the path", path=s)
        out.append((s, spec))
    return out


def default_configs(specs: list[ReaderSpec]) -> tuple[PreprocessConfig, SplitConfig]:
    """The readers' shared defaults (the paper's when they differ or have none)."""
    pre = {tuple(sorted(s.preprocess_defaults.items())) for s in specs}
    spl = {tuple(sorted(s.split_defaults.items())) for s in specs}
    return (PreprocessConfig(**dict(pre.pop())) if len(pre) == 1 else PreprocessConfig(),
            SplitConfig(**dict(spl.pop())) if len(spl) == 1 else SplitConfig())


def _key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def _merged(pairs: list[tuple[str, ReaderSpec]], opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    """Records of all sources; consecutive records of one image (one caption per row) become one record."""
    prev: RawRecord | None = None
    for source, spec in pairs:
        for rec in spec.read(Path(source), opts, tally):
            tally.records_read += 1
            if prev is not None and rec.image == prev.image:
                prev.sentences.extend(rec.sentences)
                continue
            if prev is not None:
                yield prev
            prev = RawRecord(rec.image, rec.image_path, list(rec.sentences))
    if prev is not None:
        yield prev


@dataclass
class _Counts:
    """What was written, per split, and the word counts per split (for token_counts.tsv)."""

    by_split: dict = field(default_factory=lambda: {s: {"images": 0, "sentences": 0, "tokens": 0} for s in SPLITS})
    words: dict = field(default_factory=lambda: {s: Counter() for s in SPLITS})

    def add(self, rec: Record) -> None:
        c = self.by_split[rec.split]
        words = " ".join(rec.sentences).split()  # one Counter update per record: the hot loop of a build
        c["images"] += 1
        c["sentences"] += len(rec.sentences)
        c["tokens"] += len(words)
        self.words[rec.split].update(words)

    @property
    def train_words(self) -> Counter:
        return self.words["train"]

    def all_words(self) -> Counter:
        total = Counter(self.words["train"])
        for s in SPLITS[1:]:
            total.update(self.words[s])
        return total


def _write_records(pairs, cfg: BuildConfig, pre: PreprocessConfig, spl: SplitConfig, tmp: Path,
                   progress: Callable[[int], None] | None) -> tuple[Tally, _Counts, list[dict]]:
    tally, counts, seen = Tally(), _Counts(), set()
    writer = ShardWriter(tmp / "shards", shard_size=cfg.shard_size, row_group_size=cfg.row_group_size)
    for raw in _merged(pairs, cfg.read, tally):
        h = _key_hash(raw.image)
        if h in seen:  # the same image again, not adjacent: keep the first
            tally.dropped_records["duplicate_image"] += 1
            continue
        seen.add(h)
        sentences = clean_record(raw, pre, tally)
        if sentences:
            rec = Record(raw.image, raw.image_path, sentences, assign_split(raw.image, spl))
            writer.add(rec)
            counts.add(rec)
        if progress is not None:
            progress(1)
    return tally, counts, writer.close()


def _manifest(pairs, cfg, pre, spl, tally: Tally, counts: _Counts, shards: list[dict]) -> dict:
    from mmwe import __version__ as mmwe_version
    from mmwe.text import Vocabulary

    by = counts.by_split
    total = {k: sum(by[s][k] for s in SPLITS) for k in ("images", "sentences", "tokens")}
    vocab = Vocabulary.build(counts.train_words, pre.min_count)
    all_words = counts.all_words()
    return {
        "format": FORMAT, "version": VERSION, "mmwe_version": mmwe_version,
        "sources": [{"source": s if spec.builtin else str(Path(s).resolve()), "reader": spec.name}
                    for s, spec in pairs],
        "preprocess": pre.as_dict(), "split_config": spl.as_dict(), "read_options": cfg.read.as_dict(),
        "counts": {**total, "by_split": by,
                   "vocabulary": {"min_count": pre.min_count, "words": len(vocab) - 4, "split": "train",
                                  "distinct_words_train": len(counts.train_words),
                                  "distinct_words_all": len(all_words)}},
        "removed": tally.as_dict(),
        "shards": shards,
    }


def build_corpus(sources: list[str], out: str | os.PathLike, cfg: BuildConfig | None = None, *,
                 progress: Callable[[int], None] | None = None) -> dict:
    """Build the corpus directory ``out`` from ``sources``; returns its manifest."""
    cfg = cfg or BuildConfig()
    pairs = resolve_sources(list(sources), cfg.reader)
    dpre, dspl = default_configs([spec for _, spec in pairs])
    pre = (cfg.preprocess or dpre).validate()
    spl = (cfg.split or dspl).validate()
    out = Path(out)
    tmp = _start_output(out, cfg.overwrite)
    try:
        tally, counts, shards = _write_records(pairs, cfg, pre, spl, tmp, progress)
        manifest = _manifest(pairs, cfg, pre, spl, tally, counts, shards)
        if manifest["counts"]["images"] == 0:
            raise MmweError(f"expected at least one record to survive, got none ({_why_empty(tally)}); "
                            "check the source format (--reader) and the thresholds", path=pairs[0][0])
        write_token_counts(tmp / "token_counts.tsv", counts.train_words, counts.all_words())
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
        _finish_output(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _why_empty(tally: Tally) -> str:
    d = tally.as_dict()
    parts = [f"read {d['records_read']} records"]
    for group in ("bad_records", "dropped_records", "removed_sentences"):
        if d[group]:
            parts.append(f"{group}: " + ", ".join(f"{k}={v}" for k, v in d[group].items()))
    return "; ".join(parts)


def _start_output(out: Path, overwrite: bool) -> Path:
    if not out.parent.is_dir():
        raise MmweError(f"output's parent folder {out.parent} does not exist; create it first", path=out)
    if out.exists() and not out.is_dir():
        raise MmweError("output exists and is a file; give a folder name", path=out)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise MmweError("output folder is not empty; pass --overwrite to replace it or choose another", path=out)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp


def _finish_output(tmp: Path, out: Path) -> None:
    """Swap the finished folder into place; the old one (if any) is removed only after the swap."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(tmp, out)
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(old)


def with_overrides(cfg, **changes):
    """``cfg`` with the given fields changed; None values are left as they are (CLI options not given)."""
    return replace(cfg, **{k: v for k, v in changes.items() if v is not None})
