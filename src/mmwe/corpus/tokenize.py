"""Words: the paper's tokenizer and the vocabulary shared by the corpus builder and the language-model trainer.

Mao et al. (NIPS 2016) lower-case sentences, remove non-alphanumeric characters and keep the words seen more
than 50 times. ``tokenize`` is that rule made exact (see its docstring); ``Vocabulary`` maps words to ids with
four specials first: <pad>=0, <unk>=1, <bos>=2, <eos>=3. <bos>/<eos> are added at training time, never stored.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from mmwe.errors import MmweError
from mmwe.fileio import atomic_write

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
PAPER_MIN_COUNT = 51  # "words seen more than 50 times": count >= 51

_APOSTROPHES = "'\u2019\u02bc"  # inside a word they are deleted: don't -> dont, not "don t"
# a run of Unicode letters/digits, possibly joined by single apostrophes; everything else separates words
_WORD = re.compile(r"[^\W_]+(?:['\u2019\u02bc][^\W_]+)*")
_DROP_APOSTROPHES = str.maketrans("", "", _APOSTROPHES)


def tokenize(sentence: str) -> list[str]:
    """Lower-case words of ``sentence`` with every non-alphanumeric character removed.

    NFKC-normalised first (ligatures, full-width forms), apostrophes deleted inside words, and any other
    non-alphanumeric character (punctuation, hyphens, underscores, symbols, emoji) treated as a word break.
    Idempotent: ``tokenize(" ".join(tokenize(s))) == tokenize(s)``.

    >>> tokenize("Grinning face: face, GRIN -- don't  smile_1!")
    ['grinning', 'face', 'face', 'grin', 'dont', 'smile', '1']
    """
    text = sentence.lower() if sentence.isascii() else unicodedata.normalize("NFKC", sentence).lower()
    words = _WORD.findall(text)
    if "'" in text or not text.isascii():  # rare: only then look for apostrophes inside words
        # U+02BC is a letter to the regex, so a word made only of it empties: drop those
        words = [t for t in (w.translate(_DROP_APOSTROPHES) for w in words) if t]
    return words


class Vocabulary:
    """Word <-> id map: specials first, then words by count (descending), ties by word (ascending).

    ``itos`` (id -> word), ``stoi`` (word -> id), ``counts`` (aligned with ``itos``; 0 for the specials).
    """

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __init__(self, words: Iterable[str], counts: Iterable[int] | None = None):
        words = list(words)
        counts = [0] * len(words) if counts is None else [int(c) for c in counts]
        assert len(counts) == len(words)
        self.itos: list[str] = list(SPECIALS)
        self.counts: list[int] = [0] * len(SPECIALS)
        for w, c in zip(words, counts):
            if w in SPECIALS:
                continue
            self.itos.append(w)
            self.counts.append(c)
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            dup = Counter(self.itos).most_common(1)[0][0]
            raise MmweError(f"expected each word once in a vocabulary, got {dup!r} twice; fix the word list")

    @classmethod
    def build(cls, token_counts: Mapping[str, int], min_count: int = PAPER_MIN_COUNT,
              max_size: int | None = None) -> Vocabulary:
        """Words with count >= ``min_count``, the ``max_size`` most frequent at most (specials not counted)."""
        if min_count < 1:
            raise MmweError(f"expected min_count >= 1, got {min_count}")
        kept = sorted(((w, c) for w, c in token_counts.items() if c >= min_count and w not in SPECIALS),
                      key=lambda wc: (-wc[1], wc[0]))
        if max_size is not None:
            kept = kept[:max_size]
        return cls([w for w, _ in kept], [c for _, c in kept])

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} entries incl. {len(SPECIALS)} specials)"

    def encode(self, tokens: list[str], *, bos_eos: bool = False) -> list[int]:
        """Ids of ``tokens`` (<unk> for unknown words), wrapped in <bos> ... <eos> when ``bos_eos``."""
        ids = [self.stoi.get(t, 1) for t in tokens]
        return [2, *ids, 3] if bos_eos else ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]

    # -- files ---------------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """``.json`` -> {"specials": [...], "words": [[word, count], ...]}; anything else -> TSV ``word<TAB>count``."""
        rows = list(zip(self.itos[len(SPECIALS):], self.counts[len(SPECIALS):]))
        if Path(path).suffix.lower() == ".json":
            with atomic_write(path, "w", encoding="utf-8") as fh:
                json.dump({"specials": list(SPECIALS), "words": rows}, fh, ensure_ascii=False)
            return
        with atomic_write(path, "w", encoding="utf-8") as fh:
            for w, c in rows:
                fh.write(f"{w}\t{c}\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocabulary:
        """Read a file written by ``save`` (JSON or TSV; a TSV line may be a bare word, count then 0)."""
        p = Path(path)
        if not p.is_file():
            raise MmweError("vocabulary file not found; check the path", path=p)
        if p.suffix.lower() == ".json":
            return cls._load_json(p)
        words, counts = [], []
        with open(p, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                parts = line.rstrip("\n").split("\t")
                if parts == [""]:
                    continue
                if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
                    raise MmweError(f"expected 'word<TAB>count', got {line.strip()[:60]!r}; fix the line",
                                    path=p, line=lineno)
                words.append(parts[0])
                counts.append(int(parts[1]) if len(parts) == 2 else 0)
        return cls(words, counts)

    @classmethod
    def _load_json(cls, p: Path) -> Vocabulary:
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            rows = data["words"]
            return cls([w for w, _ in rows], [c for _, c in rows])
        except (ValueError, KeyError, TypeError) as exc:
            raise MmweError(f"expected a JSON vocabulary {{'words': [[word, count], ...]}}, got {exc}; "
                            "re-save it with Vocabulary.save", path=p) from None
