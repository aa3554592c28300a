"""Phrase-triplet datasets: the TSV format, the paper's mining procedure, and the built-in `cldr-triplets`.

TSV format (one triplet per line, UTF-8, `#` comment lines and blank lines ignored)::

    base<TAB>positive<TAB>negative

Mining (Mao et al. 2016, Sec. 5, from image-search click logs): rows ``(query, item, annotation, clicks)``. For a
query, an annotation's score is the summed clicks of the items that carry it; the top-scoring annotations become
positives after removing every annotation that shares a (Porter-)stemmed word with the query; each positive gets a
negative drawn at random from all phrases that share no stemmed word with the base or the positive.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from mmwe.corpus.openmoji import cldr_annotations, split_of
from mmwe.corpus.tokenize import tokenize
from mmwe.errors import MmweError
from mmwe.fileio import atomic_write

BUILTIN_TRIPLETS = ("cldr-triplets",)


@dataclass
class TripletSet:
    """Triplets of phrases: ``triplets[i] = (base, positive, negative)``."""

    name: str
    triplets: list[tuple[str, str, str]]

    def __len__(self) -> int:
        return len(self.triplets)


# -- text helpers --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _stemmer():
    from gensim.parsing.porter import PorterStemmer

    return PorterStemmer()


def stems(phrase: str) -> frozenset[str]:
    stem = _stemmer().stem
    return frozenset(stem(w) for w in tokenize(phrase))


# -- TSV I/O -------------------------------------------------------------------------------------------------
def read_tsv(path: str | Path) -> TripletSet:
    """Read ``base<TAB>positive<TAB>negative`` lines; a malformed line is an error naming file and line."""
    p = Path(path)
    if not p.is_file():
        raise MmweError("triplet file not found; give a TSV path or one of " + ", ".join(BUILTIN_TRIPLETS), path=p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MmweError(f"not UTF-8 text (byte offset {exc.start}); re-encode the file as UTF-8", path=p) from None
    triplets = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.rstrip("\r").split("\t")
        if len(cols) != 3:
            raise MmweError(f"expected 3 tab-separated phrases (base, positive, negative), got {len(cols)}", path=p, line=lineno)
        if any(not c.strip() for c in cols):
            raise MmweError("empty phrase; every column needs at least one word", path=p, line=lineno)
        triplets.append((cols[0].strip(), cols[1].strip(), cols[2].strip()))
    if not triplets:
        raise MmweError("no triplets in file (expected lines base<TAB>positive<TAB>negative)", path=p)
    return TripletSet(p.name, triplets)


def write_tsv(triplets: Iterable[tuple[str, str, str]], path: str | Path) -> int:
    n = 0
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("# base\tpositive\tnegative\n")
        for t in triplets:
            if any("\t" in s or "\n" in s for s in t):
                raise MmweError(f"phrase contains a tab or newline: {t!r}")
            fh.write("\t".join(t) + "\n")
            n += 1
    return n


def load_triplets(name_or_path: str) -> TripletSet:
    if name_or_path == "cldr-triplets":
        return cldr_triplets()
    return read_tsv(name_or_path)


# -- mining --------------------------------------------------------------------------------------------------
@dataclass
class MineConfig:
    positives_per_query: int = 3  # top-scoring annotations kept as positives for each query
    negatives_per_positive: int = 1  # random negatives drawn per (base, positive)
    min_clicks: float = 1.0  # an annotation needs at least this summed click score
    seed: int = 0  # negatives are drawn with random.Random(seed + stable hash of the query)


def read_clicks(path: str | Path) -> list[tuple[str, str, str, float]]:
    """Read click rows ``query<TAB>item<TAB>annotation<TAB>clicks`` (TSV; optional header starting with 'query')."""
    p = Path(path)
    if not p.is_file():
        raise MmweError("click file not found", path=p)
    rows = []
    try:
        fh = p.open(encoding="utf-8-sig", newline="")
        with fh:
            for lineno, cols in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
                if not cols or (lineno == 1 and cols[0].strip().lower() == "query") or cols[0].startswith("#"):
                    continue
                if len(cols) != 4:
                    raise MmweError(f"expected 4 tab-separated columns (query, item, annotation, clicks), got {len(cols)}", path=p, line=lineno)
                try:
                    clicks = float(cols[3])
                except ValueError:
                    raise MmweError(f"clicks must be a number, got {cols[3]!r}", path=p, line=lineno) from None
                if not np.isfinite(clicks) or clicks < 0:
                    raise MmweError(f"clicks must be a finite number >= 0, got {cols[3]!r}", path=p, line=lineno)
                rows.append((cols[0].strip(), cols[1].strip(), cols[2].strip(), clicks))
    except UnicodeDecodeError as exc:
        raise MmweError(f"not UTF-8 text (byte offset {exc.start})", path=p) from None
    if not rows:
        raise MmweError("no click rows (expected query, item, annotation, clicks)", path=p)
    return rows


def _stable_hash(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")


def mine_triplets(rows: Sequence[tuple[str, str, str, float]], cfg: MineConfig = MineConfig()) -> list[tuple[str, str, str]]:
    """The paper's construction; deterministic for a given seed (independent of row order)."""
    clicks_of_item: dict[tuple[str, str], float] = defaultdict(float)  # (query, item) -> clicks
    annotations_of_item: dict[str, set[str]] = defaultdict(set)
    for query, item, annotation, clicks in rows:
        clicks_of_item[(query, item)] += clicks
        if annotation:
            annotations_of_item[item].add(annotation)
    score: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (query, item), clicks in clicks_of_item.items():
        for annotation in annotations_of_item[item]:
            score[query][annotation] += clicks
    phrases = sorted({a for anns in annotations_of_item.values() for a in anns} | set(score))
    phrase_stems = {p: stems(p) for p in phrases}
    triplets = []
    for query in sorted(score):
        q_stems = phrase_stems[query]
        if not q_stems:
            continue
        ranked = sorted(score[query].items(), key=lambda kv: (-kv[1], kv[0]))
        positives = [a for a, s in ranked if s >= cfg.min_clicks and phrase_stems[a] and not (phrase_stems[a] & q_stems)]
        rng = random.Random(cfg.seed * 1_000_003 + _stable_hash(query))
        for pos in positives[: cfg.positives_per_query]:
            banned = q_stems | phrase_stems[pos]
            pool = [p for p in phrases if phrase_stems[p] and not (phrase_stems[p] & banned)]
            if not pool:
                continue
            for neg in rng.sample(pool, min(cfg.negatives_per_positive, len(pool))):
                triplets.append((query, pos, neg))
    return triplets


# -- the built-in cldr-triplets --------------------------------------------------------------------------------
def cldr_click_rows(split: str | None = "test") -> list[tuple[str, str, str, float]]:
    """Click rows from CLDR: item = emoji, query = its CLDR name, annotations = its keyword phrases, 1 click each.

    Only emoji of the given split of the `openmoji` corpus (``None`` = all), so that triplets are made from emoji
    whose images a model never saw in training.
    """
    rows = []
    for emoji, (name, keywords) in sorted(cldr_annotations().items()):
        if split is not None and split_of(emoji) != split:
            continue
        for kw in keywords:
            rows.append((name, emoji, kw, 1.0))
    return rows


@lru_cache(maxsize=2)
def _cldr_triplets_cached(split: str | None, seed: int) -> tuple[tuple[str, str, str], ...]:
    return tuple(mine_triplets(cldr_click_rows(split), MineConfig(seed=seed)))


def cldr_triplets(split: str | None = "test", seed: int = 0) -> TripletSet:
    return TripletSet("cldr-triplets", list(_cldr_triplets_cached(split, seed)))
