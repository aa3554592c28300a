"""Phrase-triplet datasets: the TSV format, the paper's mining procedure, and the built-in `cldr-triplets`.

TSV format (one triplet per line, UTF-8, `#` comment lines and blank lines ignored)::

    base<TAB>positive<TAB>negative

Mining (Mao et al. 2016, Sec. 5, from image-search click logs): rows ``(query, item, annotation, clicks)``. For a
query, an annotation's score is the summed clicks of the items that carry it; the top-scoring annotations become
positives after removing every annotation that shares a (Porter-)stemmed word with the query; each positive gets a
negative drawn at random from all phrases that share no stemmed word with the base or the positive.

The filtering rule, step by step. A *candidate* is a (query, annotation) pair with a score. It is removed, and
counted under the first reason that applies (``mine_triplets(..., stats=d)`` fills ``d`` with these counts):

1. ``query_without_words``: the query has no word once tokenised (all its candidates go);
2. ``too_few_clicks``: its score is below ``MineConfig.min_clicks``;
3. ``annotation_without_words``: the annotation has no word once tokenised;
4. ``stem_overlap``: the annotation shares a Porter stem with the query ("sports car" for "red cars");
5. ``over_positive_limit``: it ranks below the query's top ``positives_per_query`` survivors (score, then
   alphabetical order);
6. ``no_negative``: no phrase of the whole set shares no stem with both the query and the positive.

The survivors are the positives; each gets up to ``negatives_per_positive`` negatives. When no triplet is left,
``mine_triplets`` raises ``MmweError`` with these counts instead of returning an empty list.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import numpy as np

from mmwe.config import ARG, Opt
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
            raise MmweError(f"expected 3 tab-separated phrases (base, positive, negative), got {len(cols)}",
                            path=p, line=lineno)
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
@dataclass(frozen=True)
class ShowRun:
    """``mmwe triplets show [DATASET]``: the size and the first triplets of a set (optionally exported as TSV)."""

    dataset: Annotated[str, ARG] = "cldr-triplets"  # Built-in name or TSV path.
    head: int = 10  # How many triplets to print.
    out: Annotated[str | None, Opt(out=True)] = None  # Also write the whole set as TSV here.


@dataclass
class MineConfig:
    positives_per_query: Annotated[int, Opt("--positives")] = 3  # top-scoring annotations kept as positives for
    # each query
    negatives_per_positive: Annotated[int, Opt("--negatives")] = 1  # random negatives drawn per (base, positive)
    min_clicks: float = 1.0  # an annotation needs at least this summed click score
    seed: int = 0  # negatives are drawn with random.Random(seed + stable hash of the query)


@dataclass(kw_only=True)
class MineRun(MineConfig):
    """``mmwe triplets mine CLICKS --out OUT`` (`mine_file`)."""

    clicks: Annotated[str, ARG]  # TSV rows query<TAB>item<TAB>annotation<TAB>clicks.
    out: Annotated[str, Opt(out=True)]  # Output TSV of triplets.


def mine_file(run: MineRun) -> dict:
    """Mine the click log ``run.clicks`` into the TSV ``run.out``: counts of rows, queries and triplets, and out."""
    rows = read_clicks(run.clicks)
    n = write_tsv(mine_triplets(rows, run), run.out)
    return {"rows": len(rows), "queries": len({r[0] for r in rows}), "triplets": n, "out": run.out}


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
                    raise MmweError("expected 4 tab-separated columns (query, item, annotation, clicks), "
                                    f"got {len(cols)}",
                                    path=p, line=lineno)
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


MINE_FILTERS = ("query_without_words", "too_few_clicks", "annotation_without_words", "stem_overlap",
                "over_positive_limit", "no_negative")  # the removal reasons, in the order they are applied


def mine_triplets(rows: Sequence[tuple[str, str, str, float]], cfg: MineConfig = MineConfig(), *,
                  stats: dict | None = None) -> list[tuple[str, str, str]]:
    """The paper's construction; deterministic for a given seed (independent of row order).

    ``stats``, when given, receives ``rows``, ``queries``, ``candidates``, one count per ``MINE_FILTERS``
    reason, ``positives`` and ``triplets`` (candidates = the removals + positives). Raises ``MmweError``
    stating those counts and the rule when no triplet is left (see the module docstring for the rule).
    """
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
    counts = dict.fromkeys(("rows", "queries", "candidates", *MINE_FILTERS, "positives", "triplets"), 0)
    counts.update(rows=len(rows), queries=len(score), candidates=sum(len(c) for c in score.values()))
    triplets = []
    for query in sorted(score):
        q_stems = phrase_stems[query]
        if not q_stems:
            counts["query_without_words"] += len(score[query])
            continue
        ranked = sorted(score[query].items(), key=lambda kv: (-kv[1], kv[0]))
        positives = [a for a, s in ranked if _kept(a, s, q_stems, phrase_stems, cfg, counts)]
        counts["over_positive_limit"] += max(0, len(positives) - cfg.positives_per_query)
        rng = random.Random(cfg.seed * 1_000_003 + _stable_hash(query))
        for pos in positives[: cfg.positives_per_query]:
            banned = q_stems | phrase_stems[pos]
            pool = [p for p in phrases if phrase_stems[p] and not (phrase_stems[p] & banned)]
            if not pool:
                counts["no_negative"] += 1
                continue
            counts["positives"] += 1
            for neg in rng.sample(pool, min(cfg.negatives_per_positive, len(pool))):
                triplets.append((query, pos, neg))
    counts["triplets"] = len(triplets)
    if stats is not None:
        stats.update(counts)
    if not triplets:
        raise MmweError(_why_no_triplets(counts, cfg))
    return triplets


def _kept(annotation: str, score: float, q_stems: frozenset, phrase_stems: dict, cfg: MineConfig,
          counts: dict) -> bool:
    """Whether a candidate survives filters 2-4 of the rule; the first one that removes it is counted."""
    if score < cfg.min_clicks:
        counts["too_few_clicks"] += 1
    elif not phrase_stems[annotation]:
        counts["annotation_without_words"] += 1
    elif phrase_stems[annotation] & q_stems:
        counts["stem_overlap"] += 1
    else:
        return True
    return False


_MINE_FIX = {"query_without_words": "give queries made of words (letters or digits)",
             "too_few_clicks": "lower min_clicks or give rows with more clicks",
             "annotation_without_words": "give annotations made of words (letters or digits)",
             "stem_overlap": "give queries whose clicked annotations use other words than the query",
             "no_negative": "give more distinct annotation phrases, so that negatives can be drawn"}


def _why_no_triplets(counts: dict, cfg: MineConfig) -> str:
    removed = ", ".join(f"{k}={counts[k]:,}" for k in MINE_FILTERS if counts[k]) or "nothing"
    top = max(MINE_FILTERS, key=lambda k: counts[k])
    fix = _MINE_FIX.get(top, "give more click rows") if counts["candidates"] else "give click rows with annotations"
    return (f"expected at least one triplet, got none from {counts['rows']:,} click rows ({counts['queries']:,} "
            f"queries, {counts['candidates']:,} (query, annotation) candidates); removed: {removed}; rule: a "
            f"candidate is a positive when its summed clicks reach min_clicks={cfg.min_clicks:g}, it has a word, "
            f"it shares no Porter stem with the query and it is among the query's top {cfg.positives_per_query}, "
            f"and it needs a negative phrase sharing no stem with the query or the positive; fix: {fix}")


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
