"""vecmap's embedding normalisation (``--normalize unit,center,unit``) with the statistics of the training rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmwe.errors import MmweError

NORMALIZE_STEPS = ("unit", "center", "unitdim", "centeremb")  # vecmap's --normalize actions


def parse_normalize(spec: str) -> tuple[str, ...]:
    """``"unit,center,unit"`` -> ("unit", "center", "unit"); ``""`` or ``"none"`` -> () (vecmap's --normalize)."""
    text = str(spec or "").strip()
    if text.lower() in ("", "none"):
        return ()
    steps = tuple(p.strip().lower() for p in text.split(","))
    bad = [p for p in steps if p not in NORMALIZE_STEPS]
    if bad:
        raise MmweError(f"expected normalisation steps from {{{', '.join(NORMALIZE_STEPS)}}} joined by commas, got "
                        f"{spec!r} (unknown step {bad[0]!r}); fix: e.g. --normalize unit,center,unit")
    return steps


def _normalize_step(A: np.ndarray, step: str, stat: np.ndarray | None) -> np.ndarray:
    """One vecmap action on float64 rows ``A`` (N, d); ``stat``: the stored column means / lengths."""
    if step == "unit":  # rows to unit length (embeddings.length_normalize)
        norms = np.sqrt(np.sum(A ** 2, axis=1))
        return A / np.where(norms == 0, 1.0, norms)[:, None]
    if step == "centeremb":  # subtract each row's mean (embeddings.mean_center_embeddingwise)
        return A - A.mean(axis=1)[:, None]
    if step == "center":  # subtract the column means (embeddings.mean_center)
        return A - stat
    return A / stat  # unitdim: columns to unit length (embeddings.length_normalize_dimensionwise)


def _step_stat(A: np.ndarray, step: str) -> np.ndarray | None:
    if step == "center":
        return A.mean(axis=0)  # (d,)
    if step == "unitdim":
        norms = np.sqrt(np.sum(A ** 2, axis=0))  # (d,)
        return np.where(norms == 0, 1.0, norms)
    return None  # row-wise steps need no statistics


@dataclass
class Normalizer:
    """vecmap's embedding normalisation (``embeddings.normalize``) with the statistics of its training rows.

    Steps, in order: ``unit`` scales rows to unit length; ``center`` subtracts the column means; ``unitdim``
    divides each column by its length (vecmap's definition: the L2 norm over the rows, not the standard
    deviation; on centred columns it is sqrt(N) times the population std); ``centeremb`` subtracts each row's
    mean. Zero rows and columns stay as they are. ``center`` and ``unitdim`` keep the means / lengths of the rows
    ``fit`` saw and ``apply`` reuses them on new rows: a row is mapped the same whatever else is in its file, and
    the inputs of ``mmwe map apply`` land where the training rows were (vecmap has no apply step: it normalises
    each set with its own statistics, which is what ``fit`` does on the training rows). Computed in float64,
    returned as float32.
    """

    steps: tuple[str, ...] = ()
    stats: tuple[np.ndarray | None, ...] = ()  # per step: column means (center), column lengths (unitdim), else None

    @classmethod
    def fit(cls, steps: tuple[str, ...], X: np.ndarray) -> tuple[Normalizer, np.ndarray]:
        """(the normaliser, X normalised); X itself when there are no steps."""
        if not steps:
            return cls(), X
        A = np.asarray(X, dtype=np.float64)
        stats = []
        for step in steps:
            stats.append(_step_stat(A, step))
            A = _normalize_step(A, step, stats[-1])
        return cls(tuple(steps), tuple(stats)), A.astype(np.float32)

    def apply(self, X: np.ndarray) -> np.ndarray:
        """X (N, d) normalised with the stored statistics (float32); X itself when there are no steps."""
        if not self.steps:
            return X
        A = np.asarray(X, dtype=np.float64)
        for step, stat in zip(self.steps, self.stats):
            A = _normalize_step(A, step, stat)
        return A.astype(np.float32)

    def to_dict(self) -> dict:
        """Steps and float64 tensors (or None): what torch.load(weights_only=True) reads back."""
        import torch  # heavy: MapConfig (this module's parse_normalize) is read by the CLI without it

        return {"steps": list(self.steps),
                "stats": [None if s is None else torch.from_numpy(np.asarray(s, np.float64)) for s in self.stats]}

    @classmethod
    def from_dict(cls, d: dict) -> Normalizer:
        import torch

        steps = parse_normalize(",".join(d["steps"]))
        stats = tuple(None if s is None else np.asarray(s.numpy() if torch.is_tensor(s) else s, dtype=np.float64)
                      for s in d["stats"])
        if len(stats) != len(steps) or any((s is None) != (_step_stat(np.zeros((1, 1)), p) is None)
                                           for p, s in zip(steps, stats)):
            raise ValueError(f"normalisation statistics do not match the steps {list(steps)}")
        return cls(steps, stats)
