"""Word-analogy question sets: the built-in Google set and files in its ``questions-words.txt`` format.

The format (word2vec's ``compute-accuracy``, read the same way by gensim's ``evaluate_word_analogies``): a line
``: SECTION NAME`` starts a section; every other non-blank line is a question ``a b c d`` ("a is to b as c is to
d"), four whitespace-separated words. Unlike gensim, which logs and skips a line that does not hold four words,
such a line is an error naming the file and line (a silently shorter test set would change every accuracy).
The built-in ``google`` set (Mikolov et al. 2013; 19,544 questions in 14 sections) is vendored from the gensim
wheel (provenance in ``mmwe/data/PROVENANCE.md``). Words keep their case here; case folding belongs to the
evaluation (:mod:`mmwe.metrics.analogies`), which upper-cases both sides as gensim does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from mmwe.errors import MmweError
from mmwe.fileio import decode_utf8

# Built-in question set name -> file in mmwe/data/analogies/ (provenance: mmwe/data/PROVENANCE.md).
BUILTIN_ANALOGIES: dict[str, str] = {"google": "questions-words.txt"}


@dataclass(frozen=True)
class AnalogySet:
    """Analogy questions ``a : b :: c : d`` grouped in named sections; ``section[i]`` indexes ``sections``."""

    name: str  # built-in name, or the file stem for a file given by path
    sections: list[str]  # (S,) section names in file order (a repeated header is a new section, as in gensim)
    questions: list[tuple[str, str, str, str]]  # (Q,) (a, b, c, expected d) in file order, case kept
    section: np.ndarray  # (Q,) int64 index into ``sections``
    path: str = ""  # where it was read from (for messages)

    def __len__(self) -> int:
        return len(self.questions)


def load_analogies(name_or_path: str | os.PathLike) -> AnalogySet:
    """A built-in question set by name (``google``), or a ``questions-words.txt``-style file by path."""
    key = os.fspath(name_or_path)
    if key in BUILTIN_ANALOGIES:
        resource = files("mmwe") / "data" / "analogies" / BUILTIN_ANALOGIES[key]
        return parse_analogies(resource.read_bytes(), name=key, path=f"<built-in {key}>")
    path = Path(key)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "is neither a built-in question set nor an existing file"
        raise MmweError(f"analogy set {key!r} {what}; expected one of {', '.join(BUILTIN_ANALOGIES)} or the path "
                        "of a file of `: SECTION` lines and `a b c d` questions")
    return parse_analogies(path.read_bytes(), name=path.stem, path=key)


def parse_analogies(data: bytes, *, name: str, path: str) -> AnalogySet:
    """Parse the bytes of a question file; ``path`` only names it in error messages."""
    text = decode_utf8(data, path=path)
    sections: list[str] = []
    questions: list[tuple[str, str, str, str]] = []
    section: list[int] = []
    # Lines end at "\n" only, as gensim reads them; split() then drops a "\r" and any other blank.
    for lineno, raw in enumerate(text.split("\n"), start=1):
        if raw.startswith(":"):
            title = raw.lstrip(": ").strip()  # gensim's own parse of a header line
            if not raw.startswith(": ") or not title:
                raise MmweError(f"expected a section header `: NAME`, got {raw.strip()[:60]!r}", path=path,
                                line=lineno)
            sections.append(title)
            continue
        words = raw.split()
        if not words:
            continue  # blank line
        if len(words) != 4:
            raise MmweError(f"expected 4 words `a b c d` (a is to b as c is to d), got {len(words)}: "
                            f"{raw.strip()[:60]!r}", path=path, line=lineno)
        if not sections:
            raise MmweError("expected a section header `: NAME` before the first question", path=path, line=lineno)
        questions.append((words[0], words[1], words[2], words[3]))
        section.append(len(sections) - 1)
    if not questions:
        raise MmweError("expected `a b c d` question lines under `: SECTION` headers, got no question", path=path)
    return AnalogySet(name=name, sections=sections, questions=questions, section=np.asarray(section, dtype=np.int64),
                      path=path)
