"""Property-based fuzzing of every text parser and corpus reader: arbitrary input either parses into a valid
object or raises mmwe's own error (``MmweError``), never any other exception.

Bounded in ``make test`` (``MMWE_FUZZ_EXAMPLES``, default 100 examples per target); ``make fuzz`` runs 5000.
Inputs mix raw bytes with near-valid text built from the formats' own tokens (digits, spaces, tabs, CR/LF,
BOM, commas, ``nan``/``inf``, non-ASCII and invalid UTF-8), which reaches the deep branches of each parser.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import tempfile
from contextlib import suppress
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mmwe.corpus.fields import record_fields
from mmwe.corpus.readers import READERS, ReadOptions
from mmwe.corpus.record import RawRecord, Tally
from mmwe.errors import MmweError

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("MMWE_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 100,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])

_TOKENS = ["cat", "dog", "é", "\u4e2d", " ", "  ", "\t", "\n", "\r\n", "\r", ",", "0", "1", "-2.5", "3e2", "1e39",
           "nan", "inf", "-inf", ".", "#", '"', "\ufeff", "2 3", "\x00", "x", "_1", "+"]
near_text = st.lists(st.sampled_from(_TOKENS), max_size=60).map("".join)
blobs = st.one_of(st.binary(max_size=400), near_text.map(lambda s: s.encode("utf-8")),
                  st.tuples(near_text, st.binary(max_size=8)).map(lambda t: t[0].encode() + t[1]))


def prefixed(magic: bytes, size: int):
    """Bytes that start with a format's magic number (so the parser gets past its first check)."""
    return st.binary(max_size=size).map(lambda b: magic + b)


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def _write(folder: Path, name: str, data: bytes) -> Path:
    p = folder / name
    p.write_bytes(data)
    return p


# -- word vectors -----------------------------------------------------------------------------------------
def _check_vectors(v) -> None:
    assert v.matrix.dtype == np.float32 and v.matrix.shape == (len(v.words), v.dim) and v.dim >= 1
    assert np.isfinite(v.matrix).all()
    assert len(set(v.words)) == len(v.words) and all(v.words)


@FUZZ
@given(data=blobs, fmt=st.sampled_from([None, "word2vec", "glove", "word2vec-binary"]),
       limit=st.sampled_from([None, 1, 2]), gz=st.booleans())
@example(data=b"\x00 0", fmt=None, limit=None, gz=False)  # found by fuzzing: pyarrow read a 1-byte line as empty
def test_fuzz_vector_text_and_binary(scratch, data, fmt, limit, gz):
    from mmwe.vectors import load

    p = _write(scratch, "v.txt.gz" if gz else "v.txt", gzip.compress(data, mtime=0) if gz else data)
    try:
        v = load(p, fmt=fmt, limit=limit)
    except MmweError:
        return
    _check_vectors(v)
    assert limit is None or len(v) <= limit


def _binary_records(draw_words: list[str], dim: int, raw: bytes) -> bytes:
    head = f"{len(draw_words)} {dim}\n".encode()
    body = b"".join(w.encode("utf-8", "surrogatepass") + b" " + raw[:4 * dim].ljust(4 * dim, b"\0") for w in draw_words)
    return head + body


@FUZZ
@given(words=st.lists(st.text(min_size=0, max_size=4), max_size=4), dim=st.integers(1, 3),
       raw=st.binary(min_size=0, max_size=12), cut=st.integers(0, 40))
def test_fuzz_vector_binary_records(scratch, words, dim, raw, cut):
    from mmwe.vectors import load

    data = _binary_records(words, dim, raw)
    p = _write(scratch, "v.bin", data[: len(data) - cut] if cut else data)
    try:
        v = load(p, fmt="word2vec-binary")
    except MmweError:
        return
    _check_vectors(v)


@FUZZ
@given(words=blobs, rows=st.integers(0, 4), cols=st.integers(0, 3))
def test_fuzz_vector_npy_words_file(scratch, words, rows, cols):
    from mmwe.vectors import load

    np.save(scratch / "m.npy", np.ones((rows, cols), np.float32))
    _write(scratch, "m.words.txt", words)
    try:
        v = load(scratch / "m.npy")
    except MmweError:
        return
    _check_vectors(v)


# -- benchmark, CSV, triplet and click files ---------------------------------------------------------------
@FUZZ
@given(data=blobs)
def test_fuzz_wordsim_benchmark(scratch, data):
    from mmwe.datasets.wordsim import load_benchmark

    try:
        b = load_benchmark(_write(scratch, "bench.txt", data))
    except MmweError:
        return
    assert len(b.pairs) == len(b.scores) > 0 and np.isfinite(b.scores).all()


@FUZZ
@given(data=blobs)
@example(data=b",1e39")  # found by fuzzing: finite as float64, inf once cast to float32
def test_fuzz_label_csv(scratch, data):
    from mmwe.datasets.paired import read_label_csv

    try:
        labels, m = read_label_csv(_write(scratch, "a.csv", data))
    except MmweError:
        return
    assert m.dtype == np.float32 and m.ndim == 2 and m.shape[0] == len(labels) > 0 and m.shape[1] >= 1
    assert np.isfinite(m).all()


@FUZZ
@given(a=blobs, b=blobs)
def test_fuzz_paired_csv(scratch, a, b):
    from mmwe.datasets.paired import load_pair

    try:
        A, B, names = load_pair(_write(scratch, "a.csv", a), _write(scratch, "b.csv", b))
    except MmweError:
        return
    assert len(A) == len(B) == len(names)


@FUZZ
@given(data=blobs)
def test_fuzz_triplet_and_click_tsv(scratch, data):
    from mmwe.datasets.triplets import read_clicks, read_tsv

    p = _write(scratch, "t.tsv", data)
    for reader in (read_tsv, read_clicks):
        with suppress(MmweError):  # parsed, or refused with mmwe's own error
            reader(p)


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), prefixed(b"\x93NUMPY", 200)))
def test_fuzz_feature_npy_and_keys(scratch, data):
    from mmwe.vision.store import load_features

    _write(scratch, "f.npy", data)
    _write(scratch, "f.keys.txt", b"a\nb\n")
    try:
        keys, m = load_features(scratch / "f.npy")
    except MmweError:
        return
    assert m.shape[0] == len(keys)


# -- corpus readers ---------------------------------------------------------------------------------------
def _drain(reader: str, source: Path, opts: ReadOptions | None = None) -> list[RawRecord]:
    tally = Tally()
    recs = list(READERS[reader].read(source, opts or ReadOptions(check_images=False), tally))
    for r in recs:
        assert isinstance(r, RawRecord) and isinstance(r.image, str) and r.image
        assert all(isinstance(s, str) for s in r.sentences)
    assert all(isinstance(k, str) and v > 0 for k, v in tally.bad_records.items())
    return recs


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=8)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.sampled_from(
                                                       ["image", "caption", "sentences", "text", "image_path",
                                                        "key", "url", "x"]), inner, max_size=4)),
                           max_leaves=8)


@FUZZ
@given(lines=st.lists(st.one_of(blobs, json_values.map(lambda v: json.dumps(v).encode())), max_size=6))
def test_fuzz_jsonl_reader(scratch, lines):
    with suppress(MmweError):  # parsed, or refused with mmwe's own error
        _drain("jsonl", _write(scratch, "c.jsonl", b"\n".join(lines)))


@FUZZ
@given(obj=json_values)
def test_fuzz_record_fields(obj):
    out = record_fields(obj)
    assert isinstance(out, str) or (isinstance(out[0], str) and all(isinstance(s, str) for s in out[2]))


@FUZZ
@given(data=blobs)
def test_fuzz_coco_reader(scratch, data):
    with suppress(MmweError):  # parsed, or refused with mmwe's own error
        _drain("coco", _write(scratch, "captions_x.json", data))


@FUZZ
@given(data=st.binary(max_size=600))
def test_fuzz_parquet_reader(scratch, data):
    with suppress(MmweError):  # parsed, or refused with mmwe's own error
        _drain("parquet", _write(scratch, "c.parquet", b"PAR1" + data))


_NAMES = st.sampled_from(["a.jpg", "a.txt", "a.json", "../a.txt", "/abs/a.jpg", "d/b.png", "d/b.txt", "c.svg",
                          "c.TXT", "..", "e.json"])


@FUZZ
@given(members=st.lists(st.tuples(_NAMES, blobs, st.sampled_from([tarfile.REGTYPE, tarfile.SYMTYPE,
                                                                   tarfile.LNKTYPE, tarfile.DIRTYPE])), max_size=5),
       cut=st.integers(0, 700))
def test_fuzz_webdataset_reader(scratch, members, cut):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "/etc/passwd" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    raw = buf.getvalue()
    try:
        recs = _drain("webdataset", _write(scratch, "s.tar", raw[: len(raw) - cut] if cut else raw))
    except MmweError:
        return
    for r in recs:  # nothing outside the archive is ever referenced
        member = r.image_path.split("::", 1)[1]
        assert not member.startswith("/") and ".." not in member.split("/")


@FUZZ
@given(data=blobs)
def test_fuzz_webdataset_raw_bytes(scratch, data):
    with suppress(MmweError):  # parsed, or refused with mmwe's own error
        _drain("webdataset", _write(scratch, "r.tar", data))


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), prefixed(b"\x80\x02", 200)))
@example(data=b"\x96\x00\x00\x00\x00\x00\x00\x00\x01")  # found by fuzzing: BYTEARRAY8 of 2^56 bytes -> MemoryError
@example(data=b"\x95\x00\x00\x00\x00\x00\x00\x00\x80")  # found by fuzzing: FRAME length -> OverflowError
def test_fuzz_restricted_unpickler(data):
    from mmwe.corpus.pickle_safe import restricted_loads

    with suppress(MmweError):  # parsed, or refused with mmwe's own error
        restricted_loads(data)


@FUZZ
@given(files=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from([".txt", ".png", ".svg", ".dat"]),
                                blobs), max_size=5))
def test_fuzz_folder_reader(files):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        for stem, ext, data in files:
            (root / (stem + ext)).write_bytes(data)
        with suppress(MmweError):  # parsed, or refused with mmwe's own error
            _drain("folder", root)


# -- text, images, checkpoints ------------------------------------------------------------------------------
@FUZZ
@given(sentence=st.text(max_size=80))
def test_fuzz_tokenize(sentence):
    from mmwe.corpus.tokenize import tokenize

    toks = tokenize(sentence)
    assert all(isinstance(t, str) and t and not any(c.isspace() for c in t) for t in toks)


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), prefixed(b"\x89PNG\r\n\x1a\n", 200),
                      prefixed(b"\xff\xd8\xff", 200)))
def test_fuzz_image_decoding(data):
    from mmwe.vision.images import ImageError, decode_raster

    try:
        im = decode_raster(data, max_pixels=1 << 20)
    except ImageError:
        return
    assert im.mode == "RGB" and im.width * im.height <= 1 << 20


@FUZZ
@given(text=st.one_of(st.text(max_size=200), st.lists(st.sampled_from(
    ['<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">', "</svg>", '<image href="http://x/y.png"/>',
     '<use href="#a"/>', "<!DOCTYPE svg [", '<!ENTITY e SYSTEM "file:///etc/passwd">', "]>", "&e;",
     'style="fill:url(http://x)"', "<rect/>", "<", ">", '"']), max_size=12).map("".join)))
def test_fuzz_svg(text):
    from mmwe.vision.images import ImageError, rasterize_svg

    try:
        im = rasterize_svg(text.encode("utf-8", "surrogatepass"), size=16)
    except ImageError:
        return
    assert im.size == (16, 16)


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), prefixed(b"PK\x03\x04", 300)))
def test_fuzz_checkpoint_and_map_files(scratch, data):
    from mmwe.lm.checkpoint import load_checkpoint
    from mmwe.maps import CrossModalMap

    p = _write(scratch, "x.pt", data)
    for load in (lambda: load_checkpoint(p, identity={}, shapes={}), lambda: CrossModalMap.load(p)):
        with suppress(MmweError):  # parsed, or refused with mmwe's own error
            load()
