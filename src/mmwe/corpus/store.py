"""The corpus directory on disk: Parquet shards + manifest.json + token_counts.tsv, written and read streaming.

Layout::

    DIR/manifest.json                 sources, pre-processing, split, counts, what was removed and why
    DIR/shards/part-NNNNN.parquet     columns image, image_path, sentences (list<str>), split
    DIR/token_counts.tsv              word <TAB> train count <TAB> all-splits count, most frequent first

Neither writing nor reading holds more than one row group (``row_group_size`` records) of sentences in memory.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mmwe.corpus.preprocess import SPLITS
from mmwe.corpus.record import Record
from mmwe.corpus.tokenize import Vocabulary
from mmwe.errors import MmweError

FORMAT, VERSION = "mmwe-corpus", 1
SCHEMA = pa.schema([
    ("image", pa.string()),
    ("image_path", pa.string()),
    ("sentences", pa.list_(pa.string())),
    ("split", pa.string()),
])


class ShardWriter:
    """Append records; a new ``part-NNNNN.parquet`` starts every ``shard_size`` records."""

    def __init__(self, shard_dir: Path, *, shard_size: int = 100_000, row_group_size: int = 10_000):
        if shard_size < 1 or row_group_size < 1:
            raise MmweError(f"expected shard_size and row_group_size >= 1, got {shard_size}, {row_group_size}")
        self.dir, self.shard_size, self.row_group_size = Path(shard_dir), shard_size, row_group_size
        self.dir.mkdir(parents=True, exist_ok=True)
        self.shards: list[dict] = []  # {"file": relative path, "records": n}
        self._writer: pq.ParquetWriter | None = None
        self._in_shard = 0
        self._buf: dict[str, list] = {name: [] for name in SCHEMA.names}

    def add(self, rec: Record) -> bool:
        """Append one record; True when it completed (and closed) a shard."""
        if self._writer is None:
            name = f"part-{len(self.shards):05d}.parquet"
            self._writer = pq.ParquetWriter(self.dir / name, SCHEMA, compression="zstd")
            self.shards.append({"file": f"{self.dir.name}/{name}", "records": 0})
        for name in SCHEMA.names:
            self._buf[name].append(getattr(rec, name))
        self._in_shard += 1
        self.shards[-1]["records"] += 1
        if len(self._buf["image"]) >= self.row_group_size:
            self._flush()
        if self._in_shard >= self.shard_size:
            self._close_shard()
            return True
        return False

    def _flush(self) -> None:
        if self._buf["image"]:
            self._writer.write_table(pa.Table.from_pydict(self._buf, schema=SCHEMA))
            self._buf = {name: [] for name in SCHEMA.names}

    def _close_shard(self) -> None:
        if self._writer is not None:
            self._flush()
            self._writer.close()
            self._writer, self._in_shard = None, 0

    def close(self) -> list[dict]:
        self._close_shard()
        return self.shards


# -- manifest and counts -------------------------------------------------------------------------------------
def read_manifest(corpus_dir: str | os.PathLike) -> dict:
    """The manifest of a corpus directory, checked to be one."""
    p = Path(corpus_dir) / "manifest.json"
    if not p.is_file():
        raise MmweError("expected a corpus folder with manifest.json; build one with `mmwe corpus build`",
                        path=corpus_dir)
    try:
        m = json.loads(p.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise MmweError(f"expected JSON, got: {exc}; rebuild the corpus", path=p) from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise MmweError(f"expected a manifest with format {FORMAT!r}; rebuild the corpus", path=p)
    return m


def write_token_counts(path: Path, train: Counter, total: Counter) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for w, c in sorted(total.items(), key=lambda wc: (-train[wc[0]], -wc[1], wc[0])):
            fh.write(f"{w}\t{train[w]}\t{c}\n")


def load_token_counts(corpus_dir: str | os.PathLike, *, split: str | None = "train") -> Counter:
    """Word counts over the train split (``split="train"``) or all splits (``None``), from token_counts.tsv."""
    if split not in ("train", None):
        raise MmweError(f"expected split 'train' or None for token counts, got {split!r}")
    p = Path(corpus_dir) / "token_counts.tsv"
    if not p.is_file():
        raise MmweError("expected token_counts.tsv in the corpus folder; rebuild the corpus", path=corpus_dir)
    col = 1 if split == "train" else 2
    counts: Counter = Counter()
    with open(p, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise MmweError("expected 'word<TAB>train<TAB>all'; rebuild the corpus", path=p, line=lineno)
            if int(parts[col]):
                counts[parts[0]] = int(parts[col])
    return counts


def manifest_min_count(corpus_dir: str | os.PathLike) -> int:
    """The corpus's own vocabulary threshold: the ``min_count`` its manifest records (``mmwe corpus build``)."""
    try:
        return int(read_manifest(corpus_dir)["preprocess"]["min_count"])
    except (KeyError, TypeError, ValueError):
        raise MmweError("expected preprocess.min_count in manifest.json, got none; rebuild the corpus or pass "
                        "--min-count", path=Path(corpus_dir) / "manifest.json") from None


def corpus_vocabulary(corpus_dir: str | os.PathLike, *, min_count: int | None = None, max_size: int | None = None,
                      split: str | None = "train", adjust: Counter | None = None) -> Vocabulary:
    """``Vocabulary`` of the corpus: words of the train split seen >= min_count times (manifest's by default).

    The one vocabulary of mmwe (`mmwe corpus vocab`, the build's manifest, the language-model trainer): counted
    from token_counts.tsv, which the build wrote (a folder without it: from its shards, as the build counts), plus
    ``adjust`` (word -> signed count) where a reader trains on other sentences than the train split's
    (mmwe.lm.cache: held-out validation images, --max-len, records without a split).
    """
    if min_count is None:
        min_count = manifest_min_count(corpus_dir)
    if (Path(corpus_dir) / "token_counts.tsv").is_file():
        counts = load_token_counts(corpus_dir, split=split)
    else:  # a corpus folder written without it (by hand, or a subset of another): counted as the build counts
        counts = Counter(w for r in iter_records(corpus_dir) if split is None or r.split == split
                         for w in " ".join(r.sentences).split())
    if adjust:
        counts.update(adjust)
    return Vocabulary.build(counts, min_count, max_size)


# -- reading -------------------------------------------------------------------------------------------------
def _shard_files(corpus_dir: Path) -> list[Path]:
    m = read_manifest(corpus_dir)
    files = [corpus_dir / s["file"] for s in m.get("shards", [])]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise MmweError(f"expected {len(files)} shards, {len(missing)} missing; rebuild the corpus", path=missing[0])
    return files


def iter_records(corpus_dir: str | os.PathLike, *, split: str | None = None, shard: int = 0,
                 num_shards: int = 1, batch_size: int = 1024) -> Iterator[Record]:
    """Stream the records of ``split`` (all when None); record i of that stream goes to shard i % num_shards."""
    if split is not None and split not in SPLITS:
        raise MmweError(f"expected split in {SPLITS} or None, got {split!r}")
    if num_shards < 1 or not 0 <= shard < num_shards:
        raise MmweError(f"expected 0 <= shard < num_shards, got shard={shard}, num_shards={num_shards}")
    i = 0  # index of the next record of the requested split
    for f in _shard_files(Path(corpus_dir)):
        for batch in pq.ParquetFile(f).iter_batches(batch_size=batch_size, columns=SCHEMA.names):
            if split is not None:
                batch = batch.filter(pc.equal(batch.column("split"), split))
            n = batch.num_rows
            take = np.nonzero((np.arange(i, i + n) % num_shards) == shard)[0]
            i += n
            if take.size == 0:
                continue
            if take.size < n:
                batch = batch.take(pa.array(take))
            cols = [batch.column(name).to_pylist() for name in SCHEMA.names]
            for image, path, sentences, sp in zip(*cols):
                yield Record(image, path, sentences, sp)


def count_records(corpus_dir: str | os.PathLike, *, split: str | None = None) -> int:
    """Number of records (of one split) from the manifest, without reading shards."""
    m = read_manifest(corpus_dir)
    if split is None:
        return int(m["counts"]["images"])
    return int(m["counts"]["by_split"].get(split, {}).get("images", 0))
