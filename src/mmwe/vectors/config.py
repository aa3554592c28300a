"""Settings of ``mmwe vectors convert`` and ``mmwe vectors info`` (torch-free: the CLI builds their options from
these dataclasses, one option a field, its comment the help; see ``mmwe.config.Opt``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from mmwe.config import ARG, Opt
from mmwe.vectors.common import UnicodeErrors


@dataclass(frozen=True)
class ConvertConfig:
    """``mmwe vectors convert IN OUT``."""

    src: Annotated[str, Opt(argument=True, metavar="IN")]  # Vector file or built-in name (glove-6b-50d).
    dst: Annotated[str, Opt(argument=True, metavar="OUT")]  # Output file; .gz suffix gzips the text formats.
    from_fmt: Annotated[str | None, Opt("--from")] = None  # Input format (default: found): word2vec |
    # word2vec-binary | glove | npy (fasttext = word2vec)
    to_fmt: Annotated[str | None, Opt("--to")] = None  # Output format (default: by suffix): word2vec |
    # word2vec-binary | glove | npy (fasttext = word2vec)
    limit: Annotated[int | None, Opt(min=1)] = None  # Keep only the first N vectors.
    unicode_errors: UnicodeErrors = "strict"  # Words in a vector file that are not UTF-8: strict (an error naming
    # the line), replace (U+FFFD, as gensim) or ignore (drop).


@dataclass(frozen=True)
class InfoConfig:
    """``mmwe vectors info PATH``."""

    path: Annotated[str, ARG]  # Vector file or built-in name (glove-6b-50d).
    show: Annotated[int, Opt(min=0)] = 10  # How many first words to list.
    unicode_errors: UnicodeErrors = "strict"  # Words in a vector file that are not UTF-8: strict (an error naming
    # the line), replace (U+FFFD, as gensim) or ignore (drop).
