"""Build a corpus directory from one or more sources: read -> merge -> pre-process -> split -> shard.

Everything streams: readers yield records one at a time, the shard writer keeps one row group. The only state
that grows with the corpus is a set of 64-bit hashes of image keys (to drop repeated images; ~60 bytes per
image) and the word counts. The directory is built beside the output under a temporary name and renamed into
place at the end, so a failed build never leaves a half-written corpus. After each finished shard the build
saves its position and counters there (progress.json): a build that was killed or interrupted resumes after
its last finished shard when the same command is run again (same sources, unchanged, and same settings).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from mmwe import __version__ as mmwe_version
from mmwe.corpus.preprocess import SPLITS, PreprocessConfig, SplitConfig, assign_split, clean_record
from mmwe.corpus.readers import ReaderSpec, ReadOptions, detect_reader, get_reader
from mmwe.corpus.record import RawRecord, Record, Tally
from mmwe.corpus.store import FORMAT, VERSION, ShardWriter, corpus_vocabulary, write_token_counts
from mmwe.errors import MmweError
from mmwe.fileio import atomic_path, atomic_write
from mmwe.progress import Progress


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
        s = download_shards(s)
        spec = detect_reader(s) if reader == "auto" else get_reader(reader)
        if not spec.builtin and not Path(s).exists():
            raise MmweError("source not found; check the path", path=s)
        out.append((s, spec))
    return out


def download_shards(source: str) -> str:
    """The shards folder of a `mmwe corpus download` folder (recognised by its download.json), else ``source``.

    A download folder also holds urls.parquet, its copy of the URL list: that is never the corpus (URL-only rows,
    failed downloads included), its shards are.
    """
    p = Path(source)
    if not (p.is_dir() and (p / "download.json").is_file()):
        return source
    shards = p / "shards"
    if not (shards.is_dir() and any(shards.glob("*.tar"))):
        raise MmweError("expected the webdataset shards of this download folder in shards/*.tar, got none; fix: "
                        "run the same `mmwe corpus download` again (it resumes)", path=p)
    return str(shards)


def default_configs(specs: list[ReaderSpec]) -> tuple[PreprocessConfig, SplitConfig]:
    """The readers' shared defaults (the paper's when they differ or have none)."""
    pre = {tuple(sorted(s.preprocess_defaults.items())) for s in specs}
    spl = {tuple(sorted(s.split_defaults.items())) for s in specs}
    return (PreprocessConfig(**dict(pre.pop())) if len(pre) == 1 else PreprocessConfig(),
            SplitConfig(**dict(spl.pop())) if len(spl) == 1 else SplitConfig())


def build_config(sources: list[str], reader: str = "auto", **settings) -> BuildConfig:
    """The `BuildConfig` of ``mmwe corpus build``: ``settings`` (fields of PreprocessConfig, SplitConfig,
    ReadOptions and BuildConfig, by name) over the readers' defaults (`default_configs`)."""
    pre, split = default_configs([spec for _, spec in resolve_sources(sources, reader)])
    parts = {cls: {f.name for f in fields(cls)} for cls in (PreprocessConfig, SplitConfig, ReadOptions, BuildConfig)}
    if unknown := set(settings) - set().union(*parts.values()) - {"reader", "preprocess", "split", "read"}:
        raise MmweError(f"expected corpus build settings, got {', '.join(sorted(unknown))}")
    of = {cls: {k: v for k, v in settings.items() if k in names} for cls, names in parts.items()}
    return BuildConfig(reader=reader, preprocess=replace(pre, **of[PreprocessConfig]),
                       split=replace(split, **of[SplitConfig]), read=ReadOptions(**of[ReadOptions]),
                       **of[BuildConfig])


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


_READING = "reading images"  # the ``what`` of the build's progress(done, total, what)


# -- resuming: the state after each finished shard ---------------------------------------------------------
_PROGRESS = "progress.json"


def _identity(pairs, cfg: BuildConfig, pre: PreprocessConfig, spl: SplitConfig) -> dict:
    """What a resumed build must share with the interrupted one (sources as they were, all settings)."""
    def stamp(s: str) -> list:
        p = Path(s)
        return [s, None, None] if not p.is_file() else [str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns]
    return {"sources": [[*stamp(s), spec.name] for s, spec in pairs], "preprocess": pre.as_dict(),
            "split": spl.as_dict(), "read": cfg.read.as_dict(), "shard_size": cfg.shard_size,
            "row_group_size": cfg.row_group_size}


def _save_progress(tmp: Path, identity: dict, consumed: int, tally: Tally, counts: _Counts, seen: set[int],
                   shards: list[dict]) -> None:
    """Record a finished shard: the stream position and every counter, written atomically (seen hashes first)."""
    seen_file = f"seen-{len(shards):05d}.npy"
    with atomic_path(tmp / seen_file) as p:
        np.save(p, np.fromiter(seen, dtype=np.uint64, count=len(seen)), allow_pickle=False)
    state = {"identity": identity, "consumed": consumed, "seen": seen_file, "shards": [dict(s) for s in shards],
             "tally": {"records_read": tally.records_read, "sentences_read": tally.sentences_read,
                       "bad_records": tally.bad_records, "dropped_records": tally.dropped_records,
                       "removed_sentences": tally.removed_sentences, "examples": tally.examples},
             "by_split": counts.by_split, "words": counts.words}
    with atomic_write(tmp / _PROGRESS, "w", encoding="utf-8") as fh:
        json.dump(state, fh, ensure_ascii=False)
    for old in tmp.glob("seen-*.npy"):
        if old.name != seen_file:
            old.unlink()


def _load_progress(tmp: Path, identity: dict) -> dict | None:
    """The saved state of an interrupted build of the same sources and settings, else None."""
    try:
        state = json.loads((tmp / _PROGRESS).read_text(encoding="utf-8"))
        if state["identity"] != json.loads(json.dumps(identity)):
            return None
        state["seen"] = set(np.load(tmp / state["seen"], allow_pickle=False).tolist())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


def _restore(state: dict, tally: Tally, counts: _Counts, writer: ShardWriter, shard_dir: Path) -> set[int]:
    """Put the counters and the shard list back as they were after the last finished shard."""
    t = state["tally"]
    tally.records_read, tally.sentences_read = t["records_read"], t["sentences_read"]
    for name in ("bad_records", "dropped_records", "removed_sentences"):
        setattr(tally, name, Counter(t[name]))
    tally.examples = dict(t.get("examples", {}))
    counts.by_split = state["by_split"]
    counts.words = {s: Counter(c) for s, c in state["words"].items()}
    writer.shards = state["shards"]
    kept = {Path(s["file"]).name for s in writer.shards}
    for f in shard_dir.glob("*.parquet"):  # the shard being written when the build stopped
        if f.name not in kept:
            f.unlink()
    return state["seen"]


def _write_records(pairs, cfg: BuildConfig, pre: PreprocessConfig, spl: SplitConfig, tmp: Path,
                   progress: Progress | None) -> tuple[Tally, _Counts, list[dict]]:
    """Stream, clean, split and shard every record; after each finished shard the state is saved in ``tmp``,
    and a build started again on the same ``tmp`` skips the records of the finished shards.
    ``progress(done, None, "reading images")`` counts the records read (repeated images aside)."""
    tally, counts, seen = Tally(), _Counts(), set()
    writer = ShardWriter(tmp / "shards", shard_size=cfg.shard_size, row_group_size=cfg.row_group_size)
    identity = _identity(pairs, cfg, pre, spl)
    state = _load_progress(tmp, identity)
    skip = 0 if state is None else state["consumed"]
    consumed = done = 0
    for raw in _merged(pairs, cfg.read, tally):
        consumed += 1
        if consumed <= skip:  # done before the interruption: only the readers' position is rebuilt
            if consumed == skip:
                seen = _restore(state, tally, counts, writer, tmp / "shards")
                done = skip
                if progress is not None:
                    progress(done, None, _READING)
            continue
        h = _key_hash(raw.image)
        if h in seen:  # the same image again, not adjacent: keep the first
            tally.dropped_records["duplicate_image"] += 1
            continue
        seen.add(h)
        sentences = clean_record(raw, pre, tally)
        if sentences:
            rec = Record(raw.image, raw.image_path, sentences, assign_split(raw.image, spl))
            finished = writer.add(rec)
            counts.add(rec)
            if finished:
                _save_progress(tmp, identity, consumed, tally, counts, seen, writer.shards)
        done += 1
        if progress is not None:
            progress(done, None, _READING)
    return tally, counts, writer.close()


def _manifest(pairs, cfg, pre, spl, tally: Tally, counts: _Counts, shards: list[dict], tmp: Path) -> dict:
    by = counts.by_split
    total = {k: sum(by[s][k] for s in SPLITS) for k in ("images", "sentences", "tokens")}
    vocab = corpus_vocabulary(tmp, min_count=pre.min_count)  # from the token_counts.tsv just written
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
        # reason -> "FILE:LINE: expected ..., got ..." of the first record skipped for it (e.g. the keys found)
        "bad_record_examples": dict(sorted(tally.examples.items())),
        "shards": shards,
    }


def build_corpus(sources: list[str], out: str | os.PathLike, cfg: BuildConfig | None = None, *,
                 progress: Progress | None = None) -> dict:
    """Build the corpus directory ``out`` from ``sources``; returns its manifest. ``progress(done, None,
    "reading images")`` counts the records read."""
    cfg = cfg or BuildConfig()
    pairs = resolve_sources(list(sources), cfg.reader)
    dpre, dspl = default_configs([spec for _, spec in pairs])
    pre = (cfg.preprocess or dpre).validate()
    spl = (cfg.split or dspl).validate()
    out = Path(out)
    tmp = _start_output(out, cfg.overwrite)
    try:
        tally, counts, shards = _write_records(pairs, cfg, pre, spl, tmp, progress)
        write_token_counts(tmp / "token_counts.tsv", counts.train_words, counts.all_words())
        manifest = _manifest(pairs, cfg, pre, spl, tally, counts, shards, tmp)
        if manifest["counts"]["images"] == 0:
            raise MmweError(f"expected at least one record to survive, got none ({_why_empty(tally)}); "
                            "check the source format (--reader) and the thresholds", path=pairs[0][0])
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
        for f in [tmp / _PROGRESS, *tmp.glob("seen-*.npy")]:
            f.unlink(missing_ok=True)
        _finish_output(tmp, out)
    except KeyboardInterrupt:  # keep the finished shards: the same command resumes after the last one
        raise
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
    if d["bad_records"]:  # the commonest skip's first example says what to fix
        top = max(d["bad_records"], key=lambda k: d["bad_records"][k])
        if top in tally.examples:
            parts.append(f"first {top}: {tally.examples[top]}")
    return "; ".join(parts)


def _start_output(out: Path, overwrite: bool) -> Path:
    if not out.parent.is_dir():
        raise MmweError(f"output's parent folder {out.parent} does not exist; create it first", path=out)
    if out.exists() and not out.is_dir():
        raise MmweError("output exists and is a file; give a folder name", path=out)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise MmweError("output folder is not empty; pass --overwrite to replace it or choose another", path=out)
    tmp = out.parent / f".{out.name}.partial"  # a fixed name, so that an interrupted build can resume
    if not (tmp / _PROGRESS).is_file():
        shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(exist_ok=True)
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
