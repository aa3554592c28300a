"""Built-in image-text corpora from Debian packages: ``openclipart``, ``gemojione``, ``art4apps``, ``tuxpaint``.

Each is a reader by name (``mmwe corpus build openclipart``) over the files a Debian package installs; a missing
package is an ``MmweError`` naming it (``sh .ci/ensure-corpora`` installs all of them; ``MMWE_<NAME>_DIR``,
e.g. ``MMWE_OPENCLIPART_DIR``, points a reader at another copy of the same layout). Image keys carry the
corpus name (``"openclipart:animals/birds/penguin/..."``) so that a union corpus with ``openmoji`` never merges
two sources' images, and so that :func:`source_of` can tell where a record came from.

* ``openclipart`` (``openclipart-svg``): 7,458 SVGs (the 663 symbolic links are duplicates, skipped and counted).
  Text: the SVG's ``dc:title``, its keywords (``dc:subject`` bag) and ``dc:description``, one sentence
  "title : kw , kw , description". Many titles are Italian or French ("Lucertola arrotolata", "charge lourde").
  The language rule, applied to each piece on its own (a title, a keyword, a description): a piece is *not
  English* when one of its words is a Romance/German function word (``FOREIGN_FUNCTION_WORDS``: "di", "della",
  "les", "und", ...), or when no more than half of its alphabetic words of 3+ letters are in the English
  word list of Debian ``wamerican`` (a plural "-s"/"-es" of a listed word counts). Pieces without such a word
  ("R16") are kept. Non-English pieces are removed (counted under ``removed_sentences``); a record left with no
  English text is skipped as ``non_english``. Two clean-ups of publishing boilerplate, also counted: the prefix
  "Clipart by NAME - " is cut from titles, and a title carried by ``COLLECTION_TITLE_MIN`` or more files (after
  removing digits and parentheses: "gramastar" x1375, "Part of the Flat Icon Collection (date)" x885, "Lemon
  SVG theme" x416) names a collection, not the picture, and is removed. URLs and e-mail addresses are cut from
  descriptions.
* ``gemojione`` (``ruby-gemojione``): 1,794 PNG emoji (64 x 64) with their name and keywords from
  ``config/index.json``, one sentence "name : kw , kw" (the ``openmoji`` style).
* ``art4apps`` (``pysiogame``): 585 photographs (200 x 200 JPEG) in ``res/images/art4apps/<category>/<word>.jpg``;
  the text is the file name ("ice_cream" -> "ice cream").
* ``tuxpaint`` (``tuxpaint-stamps-default``): the stamps folder read by the ``folder`` reader (image + the English
  first line of its same-named ``.txt``; translations skipped), keys prefixed with ``tuxpaint:``.

All four share ``openmoji``'s pre-processing and split defaults (short descriptions: ``min_words=1``), so a union
corpus with ``openmoji`` keeps them.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from mmwe.corpus.openmoji import OPENMOJI_PREPROCESS, OPENMOJI_SPLIT, emoji_sentences
from mmwe.corpus.readers import ReadOptions, read_folder, register_reader
from mmwe.corpus.record import RawRecord, Tally
from mmwe.corpus.tokenize import tokenize
from mmwe.errors import MmweError

# corpus name -> (Debian package, folder its files are installed in)
PACKAGES: dict[str, tuple[str, str]] = {
    "openclipart": ("openclipart-svg", "/usr/share/openclipart/svg"),
    "gemojione": ("ruby-gemojione", "/usr/share/rubygems-integration/all/gems/gemojione-3.3.0"),
    "art4apps": ("pysiogame", "/usr/share/games/pysiogame/res/images/art4apps"),
    "tuxpaint": ("tuxpaint-stamps-default", "/usr/share/tuxpaint/stamps"),
}
WORD_LIST = ("wamerican", "/usr/share/dict/american-english")  # the English lexicon of the openclipart rule
KEY_SEPARATOR = ":"  # "<corpus>:<key within the corpus>"
COLLECTION_TITLE_MIN = 100  # a title on this many files or more is a collection name
FOREIGN_FUNCTION_WORDS = frozenset(
    "e di del della dello dei degli delle con col il gli sulla sul nel nella per uno una "  # Italian
    "de la le une des du les avec pour et sur dans "  # French
    "el los las para y "  # Spanish
    "und der die das mit ein eine".split())  # German
_CLIPART_BY = re.compile(r"^\s*clipart by [^-]*-\s*", re.IGNORECASE)
_URL_OR_MAIL = re.compile(r"\S+@\S+|https?://\S+|www\.\S+", re.IGNORECASE)
_DC = "{http://purl.org/dc/elements/1.1/}"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_CC = "{http://web.resource.org/cc/}"
_SHARED = dict(builtin=True, detect=lambda p: False, preprocess_defaults=OPENMOJI_PREPROCESS,
               split_defaults=OPENMOJI_SPLIT)


def package_root(name: str) -> Path:
    """The installed folder of corpus ``name``; MmweError naming the Debian package when it is missing."""
    package, folder = PACKAGES[name]
    root = Path(os.environ.get(f"MMWE_{name.upper()}_DIR", folder))
    if not root.is_dir():
        raise MmweError(f"expected the Debian package {package} installed (folder missing); fix: "
                        f"apt-get install {package} (or sh .ci/ensure-corpora)", path=root)
    return root


def source_of(key: str) -> str | None:
    """The corpus name a key of these readers starts with ("gemojione:1F600" -> "gemojione"), else None."""
    head, sep, _ = key.partition(KEY_SEPARATOR)
    return head if sep and head in PACKAGES else None


# -- the English rule (openclipart) ---------------------------------------------------------------------
@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Lower-case words of Debian wamerican's list (possessives "'s" left out)."""
    package, path = WORD_LIST
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        raise MmweError(f"expected the English word list of Debian {package}; fix: apt-get install {package} "
                        "(or sh .ci/ensure-corpora)", path=path) from None
    return frozenset(w.lower() for w in text.split() if not w.endswith("'s"))


def _listed(word: str, lexicon: frozenset[str]) -> bool:
    return word in lexicon or (word.endswith("s") and word[:-1] in lexicon) or (
        word.endswith("es") and word[:-2] in lexicon)


def is_english(text: str) -> bool:
    """The openclipart language rule (module doc): no foreign function word, and > half the words listed."""
    tokens = tokenize(text)
    if any(t in FOREIGN_FUNCTION_WORDS for t in tokens):
        return False
    words = [t for t in tokens if t.isalpha() and len(t) >= 3]
    if not words:
        return True
    lexicon = english_words()
    return 2 * sum(_listed(w, lexicon) for w in words) > len(words)


# -- openclipart ----------------------------------------------------------------------------------------
class ClipartText(NamedTuple):
    """The text fields of one openclipart SVG (empty strings when absent)."""

    title: str
    keywords: tuple[str, ...]
    description: str


def svg_metadata(path: Path) -> ClipartText:
    """Title, keywords and description of the SVG's ``cc:Work`` (ET.ParseError for a malformed file)."""
    for _, el in ET.iterparse(path, events=("end",)):
        if el.tag == f"{_CC}Work":
            title = el.findtext(f"{_DC}title") or ""
            desc = el.findtext(f"{_DC}description") or ""
            subject = el.find(f"{_DC}subject")
            kws = () if subject is None else tuple((li.text or "").strip() for li in subject.iter(f"{_RDF}li"))
            return ClipartText(title.strip(), tuple(k for k in kws if k), desc.strip())
    return ClipartText("", (), "")


def _collection_key(title: str) -> str:
    return " ".join(t for t in tokenize(re.sub(r"\(.*?\)", " ", title)) if not t.isdigit())


@lru_cache(maxsize=2)
def _clipart_files(root: str) -> tuple[list[tuple[Path, ClipartText | str]], Counter]:
    """Every SVG of the tree in walk order with its text (or why it is unusable), and title counts."""
    out: list[tuple[Path, ClipartText | str]] = []
    titles: Counter = Counter()
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            p = Path(d) / name
            if not name.lower().endswith(".svg"):
                continue
            if p.is_symlink():
                out.append((p, "duplicate_link"))
                continue
            try:
                text = svg_metadata(p)
            except (ET.ParseError, OSError):
                out.append((p, "bad_svg"))
                continue
            out.append((p, text))
            titles[_collection_key(_CLIPART_BY.sub("", text.title))] += 1
    return out, titles


def clipart_sentence(text: ClipartText, collection: set[str], tally: Tally) -> str | None:
    """"title : kw , kw , description" of the English pieces (module doc), or None when none is left."""
    title = _CLIPART_BY.sub("", text.title).strip()
    if title and _collection_key(title) in collection:
        tally.removed_sentences["openclipart_collection_title"] += 1
        title = ""
    desc = " ".join(_URL_OR_MAIL.sub(" ", text.description).split())
    pieces = []
    for kind, piece in (("title", title), *(("keyword", k) for k in text.keywords), ("description", desc)):
        if not tokenize(piece):
            continue
        if not is_english(piece):
            tally.removed_sentences[f"openclipart_non_english_{kind}"] += 1
            continue
        pieces.append(piece.replace("_", " "))
    if not pieces:
        return None
    head, rest = pieces[0], pieces[1:]
    return f"{head} : {' , '.join(rest)}" if rest else head


@register_reader("openclipart", description="built-in: Debian openclipart-svg, SVG titles + keywords + "
                 "descriptions (English only)",
                 fields="The SVGs of openclipart-svg (symbolic links skipped as duplicates): dc:title, the "
                        "dc:subject keywords and dc:description, one sentence 'title : kw , kw , description'. "
                        "Non-English pieces (a foreign function word, or at most half the words in Debian "
                        "wamerican's list) and collection titles (on 100+ files) are removed and counted.",
                 **_SHARED)
def read_openclipart(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    root = package_root("openclipart")
    files, titles = _clipart_files(str(root))
    collection = {t for t, n in titles.items() if n >= COLLECTION_TITLE_MIN and t}
    for path, text in files:
        rel = path.relative_to(root).with_suffix("").as_posix()
        if isinstance(text, str):
            tally.bad(text, detail=f"{path}: " + ("a symbolic link to another clip (a duplicate)"
                                                 if text == "duplicate_link" else "expected well-formed SVG XML"))
            continue
        sentence = clipart_sentence(text, collection, tally)
        if sentence is None:
            reason = "non_english" if (text.title or text.keywords or text.description) else "missing_sentences"
            tally.bad(reason, detail=f"{path}: expected an English title, keyword or description, got "
                                     f"{text.title[:40]!r}" if reason == "non_english" else
                      f"{path}: expected a title, keyword or description, got none")
            continue
        yield RawRecord(f"openclipart{KEY_SEPARATOR}{rel}", str(path), [sentence])


# -- gemojione ------------------------------------------------------------------------------------------
@register_reader("gemojione", description="built-in: Debian ruby-gemojione, 1,794 PNG emoji + names and keywords",
                 fields="config/index.json of the gemojione gem: each entry's name and keywords, one sentence "
                        "'name : kw , kw'; the image is assets/png/<unicode>.png (64 x 64).", **_SHARED)
def read_gemojione(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    root = package_root("gemojione")
    index = root / "config" / "index.json"
    try:
        entries = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MmweError(f"expected the gemojione index as JSON, got an unreadable file ({exc}); "
                        "fix: apt-get install --reinstall ruby-gemojione", path=index) from None
    if not isinstance(entries, dict):
        raise MmweError(f"expected a JSON object of emoji, got {type(entries).__name__}", path=index)
    for short, e in sorted(entries.items()):
        e = e if isinstance(e, dict) else {}
        code, name = e.get("unicode"), e.get("name")
        if not isinstance(code, str) or not isinstance(name, str) or not name.strip():
            tally.bad("missing_sentences", detail=f"{index}: entry {short!r}: expected 'unicode' and 'name', got none")
            continue
        png = root / "assets" / "png" / f"{code}.png"
        if not png.is_file():
            tally.bad("missing_image_file", detail=f"{index}: entry {short!r}: expected {png.name}, got no such file")
            continue
        keywords = [k for k in e.get("keywords") or [] if isinstance(k, str) and k.strip()]
        yield RawRecord(f"gemojione{KEY_SEPARATOR}{code}", str(png), emoji_sentences(name, keywords))


# -- art4apps -------------------------------------------------------------------------------------------
@register_reader("art4apps", description="built-in: Debian pysiogame, 585 Art4Apps photographs named by one "
                 "English word", fields="res/images/art4apps/<category>/<word>.jpg of pysiogame; the text is "
                 "the file name with '_' as a space.", **_SHARED)
def read_art4apps(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    root = package_root("art4apps")
    for category in sorted(p for p in root.iterdir() if p.is_dir()):
        for img in sorted(category.iterdir()):
            if img.suffix.lower() not in (".jpg", ".jpeg", ".png"):
                continue
            words = img.stem.replace("_", " ").strip()
            if not tokenize(words):
                tally.bad("missing_sentences", detail=f"{img}: expected an English word as the file name")
                continue
            yield RawRecord(f"art4apps{KEY_SEPARATOR}{category.name}/{img.stem}", str(img), [words])


# -- tuxpaint -------------------------------------------------------------------------------------------
@register_reader("tuxpaint", description="built-in: Debian tuxpaint-stamps-default, stamps + English sentences",
                 fields="The stamps folder of tuxpaint-stamps-default read as the 'folder' reader does (image + "
                        "the English lines of its same-named .txt); keys prefixed 'tuxpaint:'.", **_SHARED)
def read_tuxpaint(source: Path, opts: ReadOptions, tally: Tally) -> Iterator[RawRecord]:
    for rec in read_folder(package_root("tuxpaint"), opts, tally):
        yield RawRecord(f"tuxpaint{KEY_SEPARATOR}{rec.image}", rec.image_path, rec.sentences)
