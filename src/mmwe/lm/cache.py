"""Out-of-core training data: the encoded corpus and its image features as memory-mapped files.

``TrainConfig(memmap=True)`` trains from a cache folder beside the corpus, ``CORPUS/cache/lm-<digest>/``::

    meta.json                   format, what the digest covers, data stats, array shapes and dtypes
    vocab.json                  the vocabulary (built on the training sentences, as in memory)
    target_counts.npy           (V,) int64 how often each id is a training target
    train.tokens.bin            (T,) int32 word ids of every training sentence, end to end (no <bos>/<eos>)
    train.offsets.bin           (n + 1,) int64 sentence i is tokens[offsets[i]:offsets[i + 1]]
    train.lengths.bin           (n,) int32 words per sentence (batches are built from it without touching tokens)
    train.image.bin             (n,) int32 feature row of each sentence (-1: puretext)
    val.*.bin                   the same for the validation sentences
    features.<store>.bin        (N_img, F) float32 | float16, or (N_img, ceil(F / 8)) uint8 bits (``bits``)
    features.threshold.npy      (F,) float32, ``bits`` only: a bit is 1 where the feature exceeds its mean

The folder is written once (streaming: three passes over the Parquet shards, never the whole corpus in memory)
into a temporary folder that is renamed into place, so a crash leaves no half cache. The digest covers the
corpus manifest and the size and mtime of its shards, the feature file (and keys) and its store, and every
setting the encoding depends on (min_count, max_len, val_fraction, seed, with or without features): a rebuilt
corpus, new features or another vocabulary give another folder (old folders stay until deleted). Examples,
vocabulary and batch order are exactly those of the in-memory path (``load_dataset``); float32 features train
bit-identically, float16 and bits do not.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from mmwe.corpus import read_manifest
from mmwe.corpus.tokenize import Vocabulary, tokenize
from mmwe.errors import MmweError
from mmwe.fileio import read_npy
from mmwe.lm.data import DEFAULT_FEATURES, EOS_ID, Dataset, Examples, iter_corpus
from mmwe.vision.store import keys_path
from mmwe.vision.store import load_features as read_feature_file

FORMAT = "mmwe-lm-cache-1"
_CHUNK = 1 << 16  # feature rows converted at a time; sentences buffered before a write


class MappedExamples(Examples):
    """Examples whose arrays are memory maps, with the lengths stored (not recomputed from the offsets)."""

    def __init__(self, tokens: np.ndarray, offsets: np.ndarray, image: np.ndarray, lengths: np.ndarray):
        super().__init__(tokens, offsets, image)
        self._lengths = lengths

    @property
    def lengths(self) -> np.ndarray:
        return self._lengths


class FileRows:
    """A read-only array stored flat in a file, read with ``os.pread``: ``rows[idx]`` (an int, a slice or an int
    array of any shape) -> a new ndarray of those rows, read in one call per run of consecutive rows.

    Not a memory map on purpose: touching a mapped page also maps up to 15 neighbouring pages already in the page
    cache (the kernel's fault-around), so a map's resident set grows with the corpus however few rows are used
    (3.9 GB at 10^7 sentences after 1,000 steps); here a batch's rows are copied into memory the process owns and
    freed with the batch, and the page cache stays the kernel's (shared, reclaimable).
    """

    def __init__(self, path: str | os.PathLike, dtype, shape: tuple[int, ...]):
        self.path, self.dtype, self.shape = Path(path), np.dtype(dtype), tuple(int(x) for x in shape)
        self.ndim = len(self.shape)
        self._row_bytes = self.dtype.itemsize * int(np.prod(self.shape[1:], dtype=np.int64))
        self._fd = os.open(self.path, os.O_RDONLY) if self.shape[0] else None

    def __len__(self) -> int:
        return self.shape[0]

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
            self._fd = None

    def __getstate__(self) -> dict:  # a spawned process opens its own descriptor
        return {"path": self.path, "dtype": self.dtype.str, "shape": self.shape}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["dtype"], state["shape"])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[slice(None)]
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, idx) -> np.ndarray:
        n = self.shape[0]
        if isinstance(idx, slice):
            idx = np.arange(*idx.indices(n), dtype=np.int64)
        want = np.asarray(idx)
        if want.dtype.kind not in "iu":
            raise TypeError(f"expected integer row indices, got {want.dtype}")
        flat = want.astype(np.int64, copy=False).reshape(-1)
        if flat.size and (flat.min() < -n or flat.max() >= n):
            raise IndexError(f"row index out of range for {n} rows of {self.path}")
        flat = np.where(flat < 0, flat + n, flat)
        rows, inverse = np.unique(flat, return_inverse=True)  # sorted distinct rows; want = rows[inverse]
        buf = np.empty((rows.size, *self.shape[1:]), self.dtype)
        raw = memoryview(buf.reshape(-1).view(np.uint8))
        cuts = np.flatnonzero(np.diff(rows) != 1) + 1
        runs = zip(np.r_[0, cuts], np.r_[cuts, rows.size]) if rows.size else ()
        for a, b in runs:  # runs of consecutive rows
            lo, hi, at = int(a) * self._row_bytes, int(b) * self._row_bytes, int(rows[a]) * self._row_bytes
            while lo < hi:  # pread may return less than asked
                got = os.preadv(self._fd, [raw[lo:hi]], at)
                if got <= 0:
                    raise MmweError(f"expected {hi - lo} more bytes, got the end of the file; delete the cache "
                                    "folder to rebuild it", path=self.path)
                lo, at = lo + got, at + got
        return buf[inverse].reshape(want.shape + self.shape[1:])


class FeatureRows:
    """Image features of the cache: ``rows[idx]`` -> (len(idx), F) rows in the store's dtype (read per batch)."""

    def __init__(self, path: Path, store: str, n: int, dim: int, threshold: np.ndarray | None = None):
        self.store, self.dim = store, dim
        cols = (dim + 7) // 8 if store == "bits" else dim
        dtype = {"float32": np.float32, "float16": np.float16, "bits": np.uint8}[store]
        self.data = FileRows(path, dtype, (n, cols))
        self.threshold = threshold

    @property
    def shape(self) -> tuple[int, int]:
        return (self.data.shape[0], self.dim)

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, idx) -> np.ndarray:
        """Rows as stored: float32, float16 or (bits) uint8 0/1; ``make_batch`` makes them float32 on the device
        (a float16 batch crosses to a GPU at half the bytes)."""
        rows = self.data[idx]
        if self.store == "bits":
            return np.unpackbits(rows, axis=-1, count=self.dim)
        return rows


# -- where the cache lives ---------------------------------------------------------------------------------
def _file_id(p: Path) -> list:
    st = p.stat()
    return [p.name, st.st_size, st.st_mtime_ns]


def cache_key(corpus_dir: Path, features_path: Path | None, cfg) -> dict:
    """Everything the cached arrays depend on (its sha256 names the folder)."""
    manifest = read_manifest(corpus_dir)
    files = [corpus_dir / s["file"] for s in manifest.get("shards", [])]
    shards = [_file_id(f) for f in files if f.is_file()]
    key = {"format": FORMAT, "manifest": hashlib.sha256((corpus_dir / "manifest.json").read_bytes()).hexdigest(),
           "shards": shards, "min_count": cfg.min_count, "max_len": cfg.max_len, "val_fraction": cfg.val_fraction,
           "seed": cfg.seed, "features": None}
    if features_path is not None:
        if not features_path.is_file():
            raise MmweError("feature file not found; fix: run `mmwe features CORPUS` first or check the path",
                            path=features_path)
        extra = [_file_id(keys_path(features_path))] if features_path.suffix.lower() == ".npy" else []
        key["features"] = [str(features_path.resolve()), _file_id(features_path), *extra]
        key["feature_store"] = cfg.feature_store
    return key


def cache_dir(corpus_dir, features_path, cfg) -> Path:
    corpus_dir = Path(corpus_dir)
    fpath = _features_path(corpus_dir, features_path, cfg)
    digest = hashlib.sha256(json.dumps(cache_key(corpus_dir, fpath, cfg), sort_keys=True).encode()).hexdigest()
    return corpus_dir / "cache" / f"lm-{digest[:16]}"


def _features_path(corpus_dir: Path, features_path, cfg) -> Path | None:
    if cfg.model == "puretext":
        return None
    return Path(features_path) if features_path else corpus_dir / DEFAULT_FEATURES


# -- building ----------------------------------------------------------------------------------------------
def _split_mask(corpus_dir: Path, val_fraction: float, seed: int) -> tuple[np.ndarray | None, str]:
    """Which train records are held out (a bool per train record), as ``data._split_records`` decides."""
    n_train, has_val = 0, False
    for _, _, split in iter_corpus(corpus_dir):
        n_train += split in (None, "train")
        has_val = has_val or split == "val"
    if has_val:
        return None, "corpus"
    if n_train < 2:
        raise MmweError(f"expected at least 2 training images, got {n_train}; use a larger corpus")
    n_val = max(1, int(round(val_fraction * n_train)))
    held = np.zeros(n_train, dtype=bool)
    held[np.random.default_rng(seed).permutation(n_train)[:n_val]] = True
    return held, f"held out {n_val} train images"


def _records(corpus_dir: Path, held: np.ndarray | None):
    """(record, part) with part "train" | "val" | None (test split: not used), in corpus order."""
    t = 0
    for rec in iter_corpus(corpus_dir):
        split = rec[2]
        if split in (None, "train"):
            part = "val" if held is not None and held[t] else "train"
            t += 1
        else:
            part = "val" if split == "val" and held is None else None
        yield rec, part


class _PartWriter:
    """Appends encoded sentences of one part (train or val) to its .bin files."""

    def __init__(self, folder: Path, part: str):
        self.files = {n: open(folder / f"{part}.{n}.bin", "wb") for n in ("tokens", "offsets", "lengths", "image")}
        self.buf: dict[str, list] = {"tokens": [], "lengths": [], "image": []}
        self.n, self.total = 0, 0
        self.files["offsets"].write(np.zeros(1, dtype=np.int64).tobytes())

    def add(self, ids: list[int], row: int) -> None:
        self.buf["tokens"].extend(ids)
        self.buf["lengths"].append(len(ids))
        self.buf["image"].append(row)
        if len(self.buf["lengths"]) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        lengths = np.asarray(self.buf["lengths"], dtype=np.int64)
        self.files["offsets"].write((self.total + np.cumsum(lengths)).astype(np.int64).tobytes())
        self.files["lengths"].write(lengths.astype(np.int32).tobytes())
        self.files["tokens"].write(np.asarray(self.buf["tokens"], dtype=np.int32).tobytes())
        self.files["image"].write(np.asarray(self.buf["image"], dtype=np.int32).tobytes())
        self.n, self.total = self.n + len(lengths), self.total + int(lengths.sum())
        self.buf = {"tokens": [], "lengths": [], "image": []}

    def close(self) -> dict:
        self.flush()
        for fh in self.files.values():
            fh.close()
        return {"n": self.n, "tokens": self.total}


def _encode_parts(corpus_dir: Path, held, vocab: Vocabulary, key_row: dict | None, max_len, tmp: Path) -> dict:
    """Pass 3: write train.* and val.*; returns their sizes, the skip counts and the target counts."""
    writers = {p: _PartWriter(tmp, p) for p in ("train", "val")}
    skipped: Counter = Counter()
    for (image, sentences, _), part in _records(corpus_dir, held):
        if part is None:
            continue
        row = -1 if key_row is None else key_row.get(image, -1)
        for s in sentences:
            words = tokenize(s)[:max_len]
            if not words:
                if part == "train":  # as in memory: only the training skips are reported
                    skipped["empty_sentence"] += 1
                continue
            if key_row is not None and row < 0:
                if part == "train":
                    skipped["no_features"] += 1
                continue
            writers[part].add(vocab.encode(words), row)
    sizes = {p: w.close() for p, w in writers.items()}
    counts = np.zeros(len(vocab), dtype=np.int64)
    tokens = np.memmap(tmp / "train.tokens.bin", dtype=np.int32, mode="r") if sizes["train"]["tokens"] else []
    for s in range(0, len(tokens), 1 << 22):
        counts += np.bincount(tokens[s:s + (1 << 22)], minlength=len(vocab))
    counts[EOS_ID] += sizes["train"]["n"]
    return {"sizes": sizes, "skipped": dict(skipped), "counts": counts}


def _write_features(fpath: Path, store: str, tmp: Path) -> tuple[list[str], dict]:
    """Convert the feature file to the memory-mapped store by chunks; (keys, feature meta)."""
    if fpath.suffix.lower() == ".npy":
        matrix = read_npy(fpath, name="a feature matrix", mmap=True)
        keys = keys_path(fpath).read_text(encoding="utf-8").splitlines() if keys_path(fpath).is_file() else None
        if keys is None or matrix.ndim != 2 or len(keys) != matrix.shape[0]:
            keys, matrix = read_feature_file(fpath)  # its validation names the problem
    else:
        keys, matrix = read_feature_file(fpath)
    n, dim = matrix.shape
    meta = {"store": store, "rows": int(n), "dim": int(dim)}
    threshold = None
    if store == "bits":
        total = np.zeros(dim)
        for s in range(0, n, _CHUNK):
            total += np.asarray(matrix[s:s + _CHUNK], dtype=np.float64).sum(axis=0)
        threshold = (total / max(n, 1)).astype(np.float32)
        np.save(tmp / "features.threshold.npy", threshold)
    with open(tmp / f"features.{store}.bin", "wb") as fh:
        for s in range(0, n, _CHUNK):
            block = np.asarray(matrix[s:s + _CHUNK], dtype=np.float32)
            if not np.isfinite(block).all():
                raise MmweError(f"expected finite feature values, got NaN/inf near row {s + 1}", path=fpath)
            if store == "bits":
                fh.write(np.packbits(block > threshold, axis=1).tobytes())
            else:
                fh.write(block.astype(store).tobytes())
    return list(keys), meta


def build_cache(corpus_dir, features_path, cfg, folder: Path) -> None:
    """Write the cache folder ``folder`` (see the module doc) through a temporary folder beside it."""
    corpus_dir = Path(corpus_dir)
    fpath = _features_path(corpus_dir, features_path, cfg)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        held, val_source = _split_mask(corpus_dir, cfg.val_fraction, cfg.seed)
        counts = Counter(w for (_, sents, _), part in _records(corpus_dir, held) if part == "train"
                         for s in sents for w in tokenize(s)[:cfg.max_len])
        vocab = Vocabulary.build(counts, cfg.min_count)
        del counts
        if len(vocab) <= 4:
            raise MmweError(f"expected words seen at least --min-count {cfg.min_count} times, got none; "
                            "lower --min-count or use a larger corpus", path=corpus_dir)
        key_row, feat_meta = None, None
        if fpath is not None:
            keys, feat_meta = _write_features(fpath, cfg.feature_store, tmp)
            key_row = {k: i for i, k in enumerate(keys)}
            del keys
        enc = _encode_parts(corpus_dir, held, vocab, key_row, cfg.max_len, tmp)
        key_row = None
        vocab.save(tmp / "vocab.json")
        np.save(tmp / "target_counts.npy", enc["counts"])
        train, val = enc["sizes"]["train"], enc["sizes"]["val"]
        stats = {"train_examples": train["n"], "val_examples": val["n"], "skipped": enc["skipped"],
                 "val_source": val_source, "vocab_size": len(vocab), "tokens_per_epoch": train["tokens"] + train["n"]}
        meta = {"format": FORMAT, "key": cache_key(corpus_dir, fpath, cfg), "stats": stats, "train": train,
                "val": val, "features": feat_meta}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        try:
            os.replace(tmp, folder)
        except OSError:  # another process finished the same cache first: keep theirs
            if not (folder / "meta.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- opening -----------------------------------------------------------------------------------------------
def _open_part(folder: Path, part: str, size: dict) -> MappedExamples:
    n, total = size["n"], size["tokens"]

    def mm(name: str, dtype, count: int) -> np.ndarray:
        return np.memmap(folder / f"{part}.{name}.bin", dtype=dtype, mode="r", shape=(count,)) if count else \
            np.zeros(count, dtype=dtype)

    def rows(name: str, dtype, count: int) -> FileRows:  # gathered per batch: read, not mapped
        return FileRows(folder / f"{part}.{name}.bin", dtype, (count,))

    # lengths are read whole (batching sorts them): the one map, 4 bytes a sentence
    return MappedExamples(rows("tokens", np.int32, total), rows("offsets", np.int64, n + 1),
                          rows("image", np.int32, n), mm("lengths", np.int32, n))


def open_cache(folder: Path, store: str) -> Dataset:
    """The Dataset of a cache folder: arrays memory-mapped, features decoded per batch."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise MmweError(f"expected a {FORMAT} folder, got another; delete it to rebuild", path=folder)
    features = None
    fm = meta["features"]
    if fm is not None:
        threshold = np.load(folder / "features.threshold.npy") if store == "bits" else None
        features = FeatureRows(folder / f"features.{store}.bin", store, fm["rows"], fm["dim"], threshold)
    train, val = _open_part(folder, "train", meta["train"]), _open_part(folder, "val", meta["val"])
    stats = meta["stats"]
    if len(train) == 0 or len(val) == 0:
        raise MmweError(f"expected training and validation sentences, got {len(train)} and {len(val)} "
                        f"(skipped: {stats['skipped']}); check the corpus and the features", path=folder.parent.parent)
    stats = {**stats, "cache": str(folder), "feature_store": store if fm is not None else None}
    vocab = Vocabulary.load(folder / "vocab.json")
    return Dataset(vocab, train, val, features, np.load(folder / "target_counts.npy"), stats)


def cached_dataset(corpus_dir, features_path, cfg, *, build: bool = True) -> Dataset:
    """The memory-mapped Dataset of ``corpus_dir`` under ``cfg``, building its cache first when missing.

    ``build=False`` (data-parallel ranks other than 0, after rank 0 built it) only opens it.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise MmweError("expected a corpus folder, got none at this path; build it with `mmwe corpus build`",
                        path=corpus_dir)
    folder = cache_dir(corpus_dir, features_path, cfg)
    if build and not (folder / "meta.json").is_file():
        try:
            build_cache(corpus_dir, features_path, cfg, folder)
        except PermissionError as exc:
            raise MmweError(f"cannot write the training cache beside the corpus ({exc.strerror}); fix: make the "
                            "corpus folder writable or train without --memmap", path=folder) from None
    return open_cache(folder, cfg.feature_store)
