"""Training examples and batches: the arrays the token cache (mmwe.lm.cache) holds, and how batches are cut.

Each (image, sentence) pair is one example. Sentences are stored as one flat id array plus offsets (words only;
<bos>/<eos> are added when a batch is made). Batches are deterministic functions of (seed, epoch): a permutation,
cut into windows of ``bucket_window`` batches, each window sorted by length (little padding), then the batches
shuffled. A resumed run rebuilds the same list and skips the batches already done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mmwe.corpus.tokenize import Vocabulary

BOS_ID, EOS_ID = Vocabulary.bos_id, Vocabulary.eos_id
DEFAULT_FEATURES = Path("features") / "efficientnet-lite0.npy"


@dataclass
class Examples:
    """Encoded sentences: sentence i is ``tokens[offsets[i]:offsets[i+1]]`` and belongs to feature row ``image[i]``.

    Arrays in memory or (out of core) ``cache.FileRows`` read per batch; ``lengths`` is always in memory."""

    tokens: np.ndarray  # (total,) int32 word ids (no <bos>/<eos>)
    offsets: np.ndarray  # (n + 1,) int64
    image: np.ndarray  # (n,) int32 row of the feature matrix, -1 when the image has none (puretext only)
    lengths: np.ndarray  # (n,) int32 words per sentence

    def __len__(self) -> int:
        return len(self.lengths)


@dataclass
class Dataset:
    """What training reads: the vocabulary, the examples, the features and the target counts (mmwe.lm.cache)."""

    vocab: Vocabulary
    train: Examples
    val: Examples
    features: np.ndarray | None  # (N_img, F) float32, None for puretext
    target_counts: np.ndarray  # (V,) how often each id is a training target (words and <eos>)
    stats: dict = field(default_factory=dict)  # examples, skipped (no features, empty), val source


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

