"""The training data of the language models: a corpus encoded once into a token cache beside it, always.

``load_dataset(corpus_dir, features_path, cfg)`` builds (first time) and opens ``CORPUS/cache/lm-<digest>/``::

    meta.json                   format, what the digest covers, data stats, array shapes and dtypes
    vocab.json                  the vocabulary (the corpus's, mmwe.corpus.corpus_vocabulary, see below)
    target_counts.npy           (V,) int64 how often each id is a training target
    train.tokens.bin            (T,) int32 word ids of every training sentence, end to end (no <bos>/<eos>)
    train.offsets.bin           (n + 1,) int64 sentence i is tokens[offsets[i]:offsets[i + 1]]
    train.lengths.bin           (n,) int32 words per sentence (batches are built from it without touching tokens)
    train.image.bin             (n,) int32 feature row of each sentence (-1: puretext)
    val.*.bin                   the same for the validation sentences
    features.<store>.bin        ``memmap`` only: (N_img, F) float32 | float16, or (N_img, ceil(F / 8)) uint8 bits
    features.threshold.npy      (F,) float32, ``bits`` only: a bit is 1 where the feature exceeds its mean

Examples: every (image, sentence) pair of the train split (val: the corpus's "val" split, else a seeded
``val_fraction`` of the train images held out), its words as the corpus stores them (tokenised at build time:
split on spaces, cut at ``max_len``); empty sentences and, for models with images, images without features are
skipped. The vocabulary is the corpus's own (``corpus_vocabulary``: token_counts.tsv) counted over exactly these
training sentences: held-out images and words past ``max_len`` are subtracted; ``min_count`` None is the
manifest's.

Small corpora and large ones take this one path. ``memmap=False`` reads the arrays and the float32 feature file
into memory; ``memmap=True`` (out of core) reads a batch's rows from the files (``FileRows``) and the features
from the cache in its ``feature_store`` (float32 trains bit-identically, float16 and bits do not).

The folder is written once (streaming: never the whole corpus in memory) into a temporary folder that is renamed
into place, so a crash leaves no half cache. The digest covers the corpus manifest, token counts and the size and
mtime of its shards, the feature file (and keys) and the store, and every setting the encoding depends on
(min_count, max_len, val_fraction, seed, with or without features): a rebuilt corpus, new features or another
vocabulary give another folder (old folders stay until deleted). A corpus folder that cannot be written keeps its
cache under the system's temporary folder.
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

from mmwe.corpus.store import corpus_vocabulary, iter_records, manifest_min_count, read_manifest
from mmwe.corpus.tokenize import Vocabulary
from mmwe.errors import MmweError
from mmwe.fileio import read_npy
from mmwe.lm.data import DEFAULT_FEATURES, EOS_ID, Dataset, Examples
from mmwe.vision.store import keys_path
from mmwe.vision.store import load_features as read_feature_file

FORMAT = "mmwe-lm-cache-2"
_CHUNK = 1 << 16  # feature rows converted at a time; sentences buffered before a write
_PARTS = {"tokens": np.int32, "offsets": np.int64, "lengths": np.int32, "image": np.int32}


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


def resolved_min_count(corpus_dir, cfg) -> int:
    """``cfg.min_count``, or the corpus manifest's when None."""
    return manifest_min_count(corpus_dir) if cfg.min_count is None else int(cfg.min_count)


def feature_store(cfg) -> str:
    """How the cache holds the features: ``cfg.feature_store`` out of core, else the float32 feature file itself."""
    return cfg.feature_store if cfg.memmap else "float32"


def cache_key(corpus_dir: Path, features_path: Path | None, cfg) -> dict:
    """Everything the cached arrays depend on (its sha256 names the folder)."""
    manifest = read_manifest(corpus_dir)
    files = [corpus_dir / s["file"] for s in manifest.get("shards", [])]
    shards = [_file_id(f) for f in files if f.is_file()]
    counts = corpus_dir / "token_counts.tsv"
    key = {"format": FORMAT, "manifest": hashlib.sha256((corpus_dir / "manifest.json").read_bytes()).hexdigest(),
           "shards": shards, "token_counts": _file_id(counts) if counts.is_file() else None,
           "min_count": resolved_min_count(corpus_dir, cfg), "max_len": cfg.max_len,
           "val_fraction": cfg.val_fraction, "seed": cfg.seed, "features": None}
    if features_path is not None:
        if not features_path.is_file():
            raise MmweError("feature file not found; fix: run `mmwe features CORPUS` first or check the path",
                            path=features_path)
        extra = [_file_id(keys_path(features_path))] if features_path.suffix.lower() == ".npy" else []
        key["features"] = [str(features_path.resolve()), _file_id(features_path), *extra]
        key["feature_store"] = feature_store(cfg) if cfg.memmap else None  # in memory: the file itself
    return key


def cache_dir(corpus_dir, features_path, cfg) -> Path:
    """``CORPUS/cache/lm-<digest>``; under the system's temporary folder when the corpus folder is read-only."""
    corpus_dir = Path(corpus_dir)
    fpath = _features_path(corpus_dir, features_path, cfg)
    digest = hashlib.sha256(json.dumps(cache_key(corpus_dir, fpath, cfg), sort_keys=True).encode()).hexdigest()
    beside = corpus_dir / "cache" / f"lm-{digest[:16]}"
    if beside.is_dir() or os.access(corpus_dir / "cache" if (corpus_dir / "cache").is_dir() else corpus_dir,
                                    os.W_OK):
        return beside
    where = hashlib.sha256(str(corpus_dir.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"mmwe-lm-cache-{os.getuid()}" / where / beside.name


def _features_path(corpus_dir: Path, features_path, cfg) -> Path | None:
    if cfg.model == "puretext":
        return None
    return Path(features_path) if features_path else corpus_dir / DEFAULT_FEATURES


# -- building ----------------------------------------------------------------------------------------------
def _iter_corpus(corpus_dir: Path):
    """(image, sentences, split) of every record of the corpus folder."""
    for r in iter_records(corpus_dir):
        yield r.image, r.sentences, r.split


def _split_mask(corpus_dir: Path, val_fraction: float, seed: int) -> tuple[np.ndarray | None, str, bool]:
    """Which train records are held out (a bool per train record): none when the corpus has a "val" split,
    else a seeded ``val_fraction`` of them (at least one); and whether some record has no split (trained on)."""
    n_train, has_val, no_split = 0, False, False
    for _, _, split in _iter_corpus(corpus_dir):
        n_train += split in (None, "train")
        has_val = has_val or split == "val"
        no_split = no_split or split is None
    if has_val:
        return None, "corpus", no_split
    if n_train < 2:
        raise MmweError(f"expected at least 2 training images, got {n_train}; use a larger corpus")
    n_val = max(1, int(round(val_fraction * n_train)))
    held = np.zeros(n_train, dtype=bool)
    held[np.random.default_rng(seed).permutation(n_train)[:n_val]] = True
    return held, f"held out {n_val} train images", no_split


def _records(corpus_dir: Path, held: np.ndarray | None):
    """(record, part) with part "train" | "val" | None (test split: not used), in corpus order."""
    t = 0
    for rec in _iter_corpus(corpus_dir):
        split = rec[2]
        if split in (None, "train"):
            part = "val" if held is not None and held[t] else "train"
            t += 1
        else:
            part = "val" if split == "val" and held is None else None
        yield rec, part


def _count_adjustment(corpus_dir: Path, held: np.ndarray | None, max_len: int | None,
                      no_split: bool) -> Counter | None:
    """What to add to the corpus's train counts (token_counts.tsv: every word of the train split) to count the
    words trained on: minus the held-out images' words and the words past ``max_len``, plus those of records
    without a split. None: nothing to add."""
    if held is None and max_len is None and not no_split:
        return None
    adjust: Counter = Counter()
    for (_, sentences, split), part in _records(corpus_dir, held):
        for s in sentences:
            words = s.split()
            if split == "train":
                adjust.subtract(words)
            if part == "train":
                adjust.update(words[:max_len])
    return adjust


class _PartWriter:
    """Appends encoded sentences of one part (train or val) to its .bin files."""

    def __init__(self, folder: Path, part: str):
        self.files = {n: open(folder / f"{part}.{n}.bin", "wb") for n in _PARTS}
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
    """Write train.* and val.*; returns their sizes, the skip counts (training sentences) and the target counts."""
    writers = {p: _PartWriter(tmp, p) for p in ("train", "val")}
    skipped: Counter = Counter()
    for (image, sentences, _), part in _records(corpus_dir, held):
        if part is None:
            continue
        row = -1 if key_row is None else key_row.get(image, -1)
        for s in sentences:
            words = s.split()[:max_len]
            if not words:
                if part == "train":  # only the training skips are reported
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


def _feature_matrix(fpath: Path):
    """(keys, (N, F) matrix) of a feature file; a .npy with its keys is memory-mapped, not read."""
    if fpath.suffix.lower() == ".npy":
        matrix = read_npy(fpath, name="a feature matrix", mmap=True)
        keys = keys_path(fpath).read_text(encoding="utf-8").splitlines() if keys_path(fpath).is_file() else None
        if keys is not None and matrix.ndim == 2 and len(keys) == matrix.shape[0]:
            return keys, matrix
    return read_feature_file(fpath)  # its validation names the problem


def _write_features(fpath: Path, store: str, tmp: Path) -> tuple[list[str], dict]:
    """Convert the feature file to the out-of-core store by chunks; (keys, feature meta)."""
    keys, matrix = _feature_matrix(fpath)
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
            block = _finite(np.asarray(matrix[s:s + _CHUNK], dtype=np.float32), s, fpath)
            if store == "bits":
                fh.write(np.packbits(block > threshold, axis=1).tobytes())
            else:
                fh.write(block.astype(store).tobytes())
    return list(keys), meta


def _finite(block: np.ndarray, start: int, fpath: Path) -> np.ndarray:
    if not np.isfinite(block).all():
        raise MmweError(f"expected finite feature values, got NaN/inf near row {start + 1}", path=fpath)
    return block


def build_cache(corpus_dir, features_path, cfg, folder: Path) -> None:
    """Write the cache folder ``folder`` (see the module doc) through a temporary folder beside it."""
    corpus_dir = Path(corpus_dir)
    fpath = _features_path(corpus_dir, features_path, cfg)
    min_count = resolved_min_count(corpus_dir, cfg)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        held, val_source, no_split = _split_mask(corpus_dir, cfg.val_fraction, cfg.seed)
        vocab = corpus_vocabulary(corpus_dir, min_count=min_count,
                                  adjust=_count_adjustment(corpus_dir, held, cfg.max_len, no_split))
        if len(vocab) <= 4:
            raise MmweError(f"expected words seen at least --min-count {min_count} times, got none; "
                            "lower --min-count or use a larger corpus", path=corpus_dir)
        key_row, feat_meta = None, None
        if fpath is not None:
            if cfg.memmap:
                keys, feat_meta = _write_features(fpath, cfg.feature_store, tmp)
            else:
                keys, m = _feature_matrix(fpath)
                feat_meta = {"store": None, "rows": int(m.shape[0]), "dim": int(m.shape[1])}
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
def _open_part(folder: Path, part: str, size: dict, in_memory: bool) -> Examples:
    """The examples of ``part``: arrays read whole (in memory), or rows read per batch (lengths read whole:
    batching sorts them, 4 bytes a sentence)."""
    counts = {"tokens": size["tokens"], "offsets": size["n"] + 1, "lengths": size["n"], "image": size["n"]}

    def arr(name: str):
        path, dtype, n = folder / f"{part}.{name}.bin", _PARTS[name], counts[name]
        if in_memory or name == "lengths":
            return np.fromfile(path, dtype=dtype, count=n) if n else np.zeros(0, dtype=dtype)
        return FileRows(path, dtype, (n,))

    return Examples(arr("tokens"), arr("offsets"), arr("image"), arr("lengths"))


def open_cache(folder: Path, cfg, features_path: Path | None = None) -> Dataset:
    """The Dataset of a cache folder: in memory, or (``cfg.memmap``) read per batch with the features decoded."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise MmweError(f"expected a {FORMAT} folder, got another; delete it to rebuild", path=folder)
    features, fm, store = None, meta["features"], feature_store(cfg)
    if fm is not None and cfg.memmap:
        threshold = np.load(folder / "features.threshold.npy") if store == "bits" else None
        features = FeatureRows(folder / f"features.{store}.bin", store, fm["rows"], fm["dim"], threshold)
    elif fm is not None:
        features = np.asarray(read_feature_file(features_path)[1], dtype=np.float32)
    train, val = (_open_part(folder, p, meta[p], not cfg.memmap) for p in ("train", "val"))
    stats = meta["stats"]
    if len(train) == 0 or len(val) == 0:
        raise MmweError(f"expected training and validation sentences, got {len(train)} and {len(val)} "
                        f"(skipped: {stats['skipped']}); check the corpus and the features", path=folder.parent.parent)
    if cfg.memmap:
        stats = {**stats, "cache": str(folder), "feature_store": store if fm is not None else None}
    vocab = Vocabulary.load(folder / "vocab.json")
    return Dataset(vocab, train, val, features, np.load(folder / "target_counts.npy"), stats)


def load_dataset(corpus_dir, features_path, cfg, *, build: bool = True) -> Dataset:
    """The training data of ``corpus_dir`` under ``cfg``, building its cache first when missing.

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
            raise MmweError(f"cannot write the training cache ({exc.strerror}); fix: make the corpus folder "
                            "writable", path=folder) from None
    return open_cache(folder, cfg, _features_path(corpus_dir, features_path, cfg))
