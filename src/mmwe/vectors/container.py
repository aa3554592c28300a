"""The word-vector container `Vectors`, the one duplicate-word check and `describe`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mmwe.errors import MmweError


def first_duplicate(words: Sequence[str]) -> tuple[int, int] | None:
    """``(i, j)``, ``i < j``, with ``words[i] == words[j]`` and ``j`` as small as possible; None if all differ.

    The one duplicate-word check of every reader and of `Vectors`: a set built in C answers the common case (all
    distinct), the Python loop runs only to name the first repeat.
    """
    if len(set(words)) == len(words):
        return None
    first: dict[str, int] = {}
    for j, w in enumerate(words):
        i = first.setdefault(w, j)
        if i != j:
            return i, j
    raise AssertionError("unreachable: a repeated word was counted")


@dataclass
class Vectors:
    """Words and their float32 vectors; row ``i`` of ``matrix`` is the vector of ``words[i]``."""

    words: list[str]
    matrix: np.ndarray  # (V, D) float32
    source: str = "<memory>"
    key_to_index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.words = list(self.words)
        m = np.asarray(self.matrix)
        if m.ndim != 2:
            raise MmweError(f"expected a 2-D matrix (words x dims), got shape {m.shape}", path=self.source)
        if m.shape[0] != len(self.words):
            raise MmweError(f"{len(self.words)} words but {m.shape[0]} vectors", path=self.source)
        self.matrix = np.ascontiguousarray(m, dtype=np.float32)
        # dict(zip) runs in C (~30 ms for 400k words); the Python loop only runs to name a duplicate.
        self.key_to_index = dict(zip(self.words, range(len(self.words))))
        if len(self.key_to_index) != len(self.words):
            i, j = first_duplicate(self.words)
            raise MmweError(f"duplicate word {self.words[j]!r} (rows {i + 1} and {j + 1}); words must be unique",
                            path=self.source)
        self._unit: np.ndarray | None = None

    # -- lookup -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    def __getitem__(self, word: str) -> np.ndarray:
        try:
            return self.matrix[self.key_to_index[word]]
        except KeyError:
            raise KeyError(f"word {word!r} not in vocabulary ({len(self)} words from {self.source})") from None

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def get(self, word: str, default=None):
        i = self.key_to_index.get(word)
        return default if i is None else self.matrix[i]

    def indices(self, words: Iterable[str]) -> np.ndarray:
        """Row indices of ``words``; -1 for a word not in the vocabulary."""
        k2i = self.key_to_index
        return np.fromiter((k2i.get(w, -1) for w in words), dtype=np.int64)

    @property
    def unit(self) -> np.ndarray:
        """Row-normalised view (zero rows stay zero), computed once."""
        if self._unit is None:
            norms = np.linalg.norm(self.matrix, axis=1, keepdims=True)
            self._unit = self.matrix / np.where(norms == 0, 1, norms)
        return self._unit

    # -- set operations -----------------------------------------------------------------------------
    def subset(self, words: Sequence[str]) -> Vectors:
        idx = self.indices(words)
        if (idx < 0).any():
            missing = [w for w, i in zip(words, idx) if i < 0][:5]
            raise KeyError(f"words not in vocabulary: {missing}")
        return Vectors(list(words), self.matrix[idx], source=self.source)

    def intersect(self, other: Vectors) -> tuple[Vectors, Vectors]:
        """Both sets restricted to their shared words, in this set's order (rows paired by word)."""
        shared = [w for w in self.words if w in other.key_to_index]
        return self.subset(shared), other.subset(shared)

    # -- gensim interop -----------------------------------------------------------------------------
    def to_gensim(self):
        from gensim.models import KeyedVectors

        kv = KeyedVectors(self.dim, count=0, dtype=np.float32)
        kv.add_vectors(self.words, self.matrix)
        return kv

    @classmethod
    def from_gensim(cls, kv, source: str = "<gensim>") -> Vectors:
        return cls(list(kv.index_to_key), np.asarray(kv.vectors, dtype=np.float32), source=source)



def describe(vectors: Vectors, *, show: int = 10) -> dict:
    """Size, first ``show`` words and the spread of vector norms (what ``mmwe vectors info`` prints)."""
    norms = np.linalg.norm(vectors.matrix.astype(np.float64), axis=1)  # (V,)
    return {
        "words": len(vectors),
        "dim": vectors.dim,
        "first_words": vectors.words[:show],
        "norms": {"min": float(norms.min()), "mean": float(norms.mean()), "median": float(np.median(norms)),
                  "max": float(norms.max())},
        "zero_vectors": int((norms == 0).sum()),
    }
