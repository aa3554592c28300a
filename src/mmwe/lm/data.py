"""Training data: corpus records -> vocabulary, encoded (image, sentence) examples, image features, batches.

Each (image, sentence) pair is one example. Sentences are stored as one flat id array plus offsets (words only;
<bos>/<eos> are added when a batch is made). Batches are deterministic functions of (seed, epoch): a permutation,
cut into windows of ``bucket_window`` batches, each window sorted by length (little padding), then the batches
shuffled. A resumed run rebuilds the same list and skips the batches already done.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mmwe.corpus.store import iter_records
from mmwe.corpus.tokenize import Vocabulary, tokenize
from mmwe.errors import MmweError
from mmwe.vision.store import load_features as read_feature_file

BOS_ID, EOS_ID = Vocabulary.bos_id, Vocabulary.eos_id
DEFAULT_FEATURES = Path("features") / "efficientnet-lite0.npy"


@dataclass
class Examples:
    """Encoded sentences: sentence i is ``tokens[offsets[i]:offsets[i+1]]`` and belongs to feature row ``image[i]``."""

    tokens: np.ndarray  # (total,) int64 word ids (no <bos>/<eos>)
    offsets: np.ndarray  # (n + 1,) int64
    image: np.ndarray  # (n,) int64 row of the feature matrix, -1 when the image has none (puretext only)

    def __len__(self) -> int:
        return len(self.image)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)  # (n,) words per sentence


@dataclass
class Dataset:
    vocab: Vocabulary
    train: Examples
    val: Examples
    features: np.ndarray | None  # (N_img, F) float32, None for puretext
    target_counts: np.ndarray  # (V,) how often each id is a training target (words and <eos>)
    stats: dict = field(default_factory=dict)  # examples, skipped (no features, empty), val source


# -- reading ---------------------------------------------------------------------------------------------------
def iter_corpus(corpus_dir: Path) -> Iterator[tuple[str, list[str], str | None]]:
    """(image, sentences, split) of every record of the corpus folder."""
    for r in iter_records(corpus_dir):
        yield r.image, list(r.sentences), r.split


def load_features(path: Path) -> tuple[list[str], np.ndarray]:
    """(keys, (N, F) float32) of a feature file written by `mmwe features` (.npy + .keys.txt, or Parquet)."""
    keys, m = read_feature_file(path)
    return list(keys), np.asarray(m, dtype=np.float32)


# -- building --------------------------------------------------------------------------------------------------
def _split_records(records: list, val_fraction: float, seed: int) -> tuple[list, list, str]:
    """Train and val records: the corpus's own "val" split, else a seeded ``val_fraction`` of train images."""
    train = [r for r in records if r[2] in (None, "train")]
    val = [r for r in records if r[2] == "val"]
    if val:
        return train, val, "corpus"
    if len(train) < 2:
        raise MmweError(f"expected at least 2 training images, got {len(train)}; use a larger corpus")
    rng = np.random.default_rng(seed)
    n_val = max(1, int(round(val_fraction * len(train))))
    held = set(rng.permutation(len(train))[:n_val].tolist())
    return ([r for i, r in enumerate(train) if i not in held], [r for i, r in enumerate(train) if i in held],
            f"held out {n_val} train images")


def _encode(records: list, vocab: Vocabulary, key_row: dict | None, max_len: int | None, skipped: Counter) -> Examples:
    toks, offs, imgs = [], [0], []
    for image, sentences, _ in records:
        row = -1 if key_row is None else key_row.get(image, -1)
        for s in sentences:
            words = tokenize(s)[:max_len]
            if not words:
                skipped["empty_sentence"] += 1
                continue
            if key_row is not None and row < 0:
                skipped["no_features"] += 1
                continue
            toks.extend(vocab.encode(words))
            offs.append(len(toks))
            imgs.append(row)
    return Examples(np.asarray(toks, dtype=np.int64), np.asarray(offs, dtype=np.int64),
                    np.asarray(imgs, dtype=np.int64))


def load_dataset(corpus_dir: str | Path, features_path: str | Path | None, cfg) -> Dataset:
    """Read the corpus (and features for A/B/C), build the vocabulary on training sentences, encode examples."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise MmweError("expected a corpus folder, got none at this path; build it with `mmwe corpus build`",
                        path=corpus_dir)
    records = list(iter_corpus(corpus_dir))
    train_r, val_r, val_source = _split_records(records, cfg.val_fraction, cfg.seed)
    counts = Counter(w for _, sents, _ in train_r for s in sents for w in tokenize(s)[:cfg.max_len])
    vocab = Vocabulary.build(counts, cfg.min_count)
    if len(vocab) <= 4:
        raise MmweError(f"expected words seen at least --min-count {cfg.min_count} times, got none; "
                        "lower --min-count or use a larger corpus", path=corpus_dir)
    features, key_row = None, None
    if cfg.model != "puretext":
        fpath = Path(features_path) if features_path else corpus_dir / DEFAULT_FEATURES
        keys, features = load_features(fpath)
        key_row = {k: i for i, k in enumerate(keys)}
    skipped: Counter = Counter()
    train = _encode(train_r, vocab, key_row, cfg.max_len, skipped)
    val = _encode(val_r, vocab, key_row, cfg.max_len, Counter())
    if len(train) == 0 or len(val) == 0:
        raise MmweError(f"expected training and validation sentences, got {len(train)} and {len(val)} "
                        f"(skipped: {dict(skipped)}); check the corpus and the features", path=corpus_dir)
    tc = np.bincount(train.tokens, minlength=len(vocab)).astype(np.int64)
    tc[EOS_ID] += len(train)  # every sentence ends with an <eos> target
    stats = {"train_examples": len(train), "val_examples": len(val), "skipped": dict(skipped),
             "val_source": val_source, "vocab_size": len(vocab),
             "tokens_per_epoch": int(train.lengths.sum() + len(train))}
    return Dataset(vocab, train, val, features, tc, stats)


# -- batching --------------------------------------------------------------------------------------------------
def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int, window: int) -> list[np.ndarray]:
    """Example indices of every batch of one epoch; a pure function of its arguments."""
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(len(lengths))
    batches = []
    span = batch_size * max(1, window)
    for start in range(0, len(perm), span):
        chunk = perm[start:start + span]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


@dataclass
class Batch:
    inp: torch.Tensor  # (B, T) <bos> w_1 .. w_l, then <pad>
    tgt: torch.Tensor  # (B, T) w_1 .. w_l <eos>, then <pad>
    mask: torch.Tensor  # (B, T) bool, True at the l + 1 target positions
    lengths: torch.Tensor  # (B,) l (words); the final GRU state is at position l
    feats: torch.Tensor | None  # (B, F) image features, None for puretext

    @property
    def size(self) -> int:
        return int(self.inp.shape[0])

    @property
    def word_mask(self) -> torch.Tensor:
        """(B, T) True at the word positions of ``inp`` (1..l): the embeddings Model C supervises."""
        m = self.mask.clone()
        m[:, 0] = False
        return m


def make_batch(ex: Examples, idx: np.ndarray, features: np.ndarray | None, device) -> Batch:
    """Pad the sentences ``idx`` into a Batch on ``device``."""
    lens = np.asarray(ex.lengths[idx], dtype=np.int64)
    T = int(lens.max()) + 1 if len(idx) else 1
    inp = np.zeros((len(idx), T), dtype=np.int64)
    tgt = np.zeros((len(idx), T), dtype=np.int64)
    words = np.arange(T - 1)[None, :] < lens[:, None]  # (B, T-1) True at each sentence's words
    ids = ex.tokens[(np.asarray(ex.offsets[idx], dtype=np.int64)[:, None] + np.arange(T - 1))[words]]  # one gather
    inp[:, 0] = BOS_ID
    inp[:, 1:][words] = ids
    tgt[:, :-1][words] = ids
    tgt[np.arange(len(idx)), lens] = EOS_ID
    mask = np.arange(T)[None, :] <= lens[:, None]
    feats = None if features is None else torch.from_numpy(features[ex.image[idx]]).to(device).float()  # (B, F)
    t = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
    return Batch(t(inp), t(tgt), t(mask), t(lens.astype(np.int64)), feats)


def tokens_in(ex: Examples, idx: np.ndarray) -> int:
    """Target tokens (words + <eos>) of the sentences ``idx``."""
    return int(ex.lengths[idx].sum() + len(idx))

