"""Word-similarity benchmarks: the built-in rating files and the ``word1 word2 score`` format.

A benchmark is a file of ``word1 word2 score`` lines (tab- or space-separated, ``#`` comments). Eleven are
built in (`BUILTIN_BENCHMARKS`, provenance in ``mmwe/data/PROVENANCE.md``); any other file in that format can be
given by path. Scoring vectors on a benchmark is :mod:`mmwe.metrics.wordsim`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from mmwe.errors import MmweError
from mmwe.fileio import decode_utf8

# Built-in benchmark name -> file in mmwe/data/wordsim/ (provenance: mmwe/data/PROVENANCE.md).
BUILTIN_BENCHMARKS: dict[str, str] = {
    "men": "men.txt",
    "wordsim353": "wordsim353.txt",
    "ws353-rel": "ws353_relatedness.txt",
    "ws353-sim": "ws353_similarity.txt",
    "rg65": "rg65.txt",
    "rw": "rareword.txt",
    "mturk287": "mturk.txt",
    "simlex999": "simlex999.txt",
    "simverb3500": "simverb3500.txt",
    "mturk771": "mturk771.txt",
    "yp130": "yp130.txt",
}


@dataclass(frozen=True)
class Benchmark:
    """Human-rated word pairs; ``scores[i]`` rates ``pairs[i]``."""

    name: str  # built-in name, or the file stem for a file given by path
    pairs: list[tuple[str, str]]  # (P,) word pairs in file order, duplicates kept
    scores: np.ndarray  # (P,) float64 human ratings
    path: str = ""  # where it was read from (for messages)

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def words(self) -> list[str]:
        """Distinct words in first-seen order."""
        return list(dict.fromkeys(w for p in self.pairs for w in p))


def load_benchmark(name_or_path: str | os.PathLike, *, lowercase: bool = True) -> Benchmark:
    """A built-in benchmark by name, or a ``word1 word2 score`` file by path; words lower-cased by default."""
    key = os.fspath(name_or_path)
    if key in BUILTIN_BENCHMARKS:
        resource = files("mmwe") / "data" / "wordsim" / BUILTIN_BENCHMARKS[key]
        return _parse(resource.read_bytes(), name=key, path=f"<built-in {key}>", lowercase=lowercase)
    path = Path(key)
    if not path.is_file():
        builtin = ", ".join(BUILTIN_BENCHMARKS)
        what = "is a folder" if path.is_dir() else "is neither a built-in benchmark nor an existing file"
        raise MmweError(f"benchmark {key!r} {what}; expected one of {builtin} or the path of a "
                        "`word1 word2 score` file")
    return _parse(path.read_bytes(), name=path.stem, path=key, lowercase=lowercase)


def _parse(data: bytes, *, name: str, path: str, lowercase: bool) -> Benchmark:
    text = decode_utf8(data, path=path)
    pairs: list[tuple[str, str]] = []
    scores: list[float] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # Tabs, when present, separate the fields (so a tab file may hold multi-word phrases); else any blank.
        fields = [f.strip() for f in line.split("\t")] if "\t" in line else line.split()
        if len(fields) != 3:
            raise MmweError(f"expected 3 fields `word1 word2 score`, got {len(fields)}: {line[:60]!r}",
                            path=path, line=lineno)
        try:
            score = float(fields[2])
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            raise MmweError(f"expected a numeric score in field 3, got {fields[2][:30]!r}", path=path, line=lineno)
        w1, w2 = (fields[0].lower(), fields[1].lower()) if lowercase else (fields[0], fields[1])
        pairs.append((w1, w2))
        scores.append(score)
    if not pairs:
        raise MmweError("expected `word1 word2 score` lines, got no word pairs (empty file or only comments)",
                        path=path)
    return Benchmark(name=name, pairs=pairs, scores=np.asarray(scores, dtype=np.float64), path=path)


