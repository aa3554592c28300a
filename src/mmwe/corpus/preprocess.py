"""The paper's sentence pre-processing and the deterministic train/val/test split.

Mao et al. (2016), section 3: lower-case, remove non-alphanumeric characters (``mmwe.corpus.tokenize.tokenize``), drop
sentences of fewer than 4 words and near-duplicate sentences. The paper does not define "near-duplicate"; here
two sentences of the same image are near-duplicates when their word sets overlap by
``|A & B| / min(|A|, |B|) >= dedup_threshold`` (0.8 by default). ``min`` rather than the union (Jaccard) so that
a sentence contained in a longer one ("red car parked" vs "a red car parked outside") counts as a duplicate.
The earlier sentence of a pair is kept. A threshold above 1 disables the check.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from mmwe.corpus.record import RawRecord, Tally
from mmwe.corpus.tokenize import PAPER_MIN_COUNT, tokenize
from mmwe.validation import check

SPLITS = ("train", "val", "test")


@dataclass
class PreprocessConfig:
    """Thresholds of the pre-processing; the defaults are the paper's."""

    min_words: int = 4  # sentences with fewer words are dropped ("too_short")
    dedup_threshold: float = 0.8  # word-overlap |A&B|/min(|A|,|B|) at or above which a sentence is a duplicate
    max_sentence_chars: int = 10_000  # longer raw sentences are dropped ("too_long") before tokenising
    max_sentences_per_image: int | None = None  # keep at most this many sentences per image (None: all)
    min_count: int = PAPER_MIN_COUNT  # vocabulary: words seen at least this often (paper: more than 50 times)

    def validate(self) -> PreprocessConfig:
        """Raise MmweError on a setting that cannot work; return self."""
        check(self.min_words >= 1, f"expected min_words >= 1, got {self.min_words}")
        check(0 < self.dedup_threshold,
              f"expected dedup_threshold > 0 (above 1 disables it), got {self.dedup_threshold}")
        check(self.min_count >= 1, f"expected min_count >= 1, got {self.min_count}")
        return self

    def as_dict(self) -> dict:
        return asdict(self)


def overlap(a: set[str], b: set[str]) -> float:
    """|A & B| / min(|A|, |B|); 0 when either is empty."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def clean_sentences(raw: list[str], cfg: PreprocessConfig, tally: Tally) -> list[str]:
    """Pre-process the sentences of one image, counting every removal by reason in ``tally``."""
    kept: list[str] = []
    kept_sets: list[set[str]] = []
    for s in raw:
        tally.sentences_read += 1
        if len(s) > cfg.max_sentence_chars:
            tally.removed_sentences["too_long"] += 1
            continue
        words = tokenize(s)
        if not words:
            tally.removed_sentences["empty"] += 1
            continue
        if len(words) < cfg.min_words:
            tally.removed_sentences["too_short"] += 1
            continue
        ws = set(words)
        if any(overlap(ws, k) >= cfg.dedup_threshold for k in kept_sets):
            tally.removed_sentences["near_duplicate"] += 1
            continue
        if cfg.max_sentences_per_image is not None and len(kept) >= cfg.max_sentences_per_image:
            tally.removed_sentences["over_per_image_limit"] += 1
            continue
        kept.append(" ".join(words))
        kept_sets.append(ws)
    return kept


def clean_record(rec: RawRecord, cfg: PreprocessConfig, tally: Tally) -> list[str]:
    """Sentences of ``rec`` after pre-processing; an empty list means the record is dropped (and counted)."""
    kept = clean_sentences(rec.sentences, cfg, tally)
    if not kept:
        tally.dropped_records["no_sentence_left"] += 1
    return kept


# -- split ---------------------------------------------------------------------------------------------------
@dataclass
class SplitConfig:
    """Deterministic split by image: a hash of (seed, image key) picks the bucket, so no state is needed."""

    val_fraction: float = 0.05  # share of images in "val"
    test_fraction: float = 0.05  # share of images in "test"
    seed: int = 0  # another seed gives another (equally deterministic) split

    def validate(self) -> SplitConfig:
        """Raise MmweError on a setting that cannot work; return self."""
        v, t = self.val_fraction, self.test_fraction
        check(0 <= v <= 1 and 0 <= t <= 1 and v + t <= 1,
              f"expected 0 <= val, test and val + test <= 1, got val={v}, test={t}")
        return self

    def as_dict(self) -> dict:
        return asdict(self)


def unit_hash(key: str, seed: int) -> float:
    """A uniform number in [0, 1) from (seed, key), identical on every machine and Python run."""
    digest = hashlib.blake2b(f"{seed}\x00{key}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def assign_split(key: str, cfg: SplitConfig) -> str:
    """"test" for the first ``test_fraction`` of the hash range, then "val", then "train"."""
    u = unit_hash(key, cfg.seed)
    if u < cfg.test_fraction:
        return "test"
    if u < cfg.test_fraction + cfg.val_fraction:
        return "val"
    return "train"
