"""mmwe.corpus.pickle_safe: the restricted unpickler on Pinterest pickles (Python 2 and numpy 3 object arrays),
refusing code."""

from __future__ import annotations

import os
import pickle
import struct

import numpy as np
import pytest

from mmwe.corpus import BuildConfig, ReadOptions, build_corpus
from mmwe.corpus.pickle_safe import load_pickled_objects, restricted_loads
from mmwe.errors import MmweError
from tests.corpus.conftest import joined, records


# -- Pinterest pickles: restricted unpickler ------------------------------------------------------------------
def _s(b: bytes) -> bytes:
    """Python 2 str at protocol 2: SHORT_BINSTRING."""
    return b"U" + bytes([len(b)]) + b


def _py2_npy_object_array(dicts: list[dict[bytes, object]]) -> bytes:
    """The bytes Python 2 numpy's np.save writes for an object array of dicts of str (protocol 2 pickle)."""
    def obj(v):
        if isinstance(v, bytes):
            return _s(v)
        return b"](" + b"".join(obj(x) for x in v) + b"e"  # EMPTY_LIST MARK ... APPENDS

    items = b"".join(b"}(" + b"".join(_s(k) + obj(v) for k, v in d.items()) + b"u" for d in dicts)
    payload = (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + _s(b"b") + b"\x87R"
               + b"(K\x01" + b"K" + bytes([len(dicts)]) + b"\x85" + b"cnumpy\ndtype\n" + _s(b"O8") + b"K\x00K\x01\x87R"
               + b"(K\x03" + _s(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb" + b"\x89](" + items + b"etb.")
    header = repr({"descr": "|O", "fortran_order": False, "shape": (len(dicts),)}).encode("latin1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def test_pinterest_python2_npy(tmp_path):
    d = tmp_path / "pins"
    d.mkdir()
    good = {b"image_name": b"0001.jpg", b"url": b"http://i.pinimg.com/0001.jpg",
            b"sentences": [joined("2615").encode(), "caf\xc3\xa9 con leche , a hot drink".encode("latin-1")]}
    bad_utf8 = {b"image_name": b"0002.jpg", b"url": b"u", b"sentences": [b"caf\xe9 au lait in a cup"]}
    no_sent = {b"image_name": b"0003.jpg", b"url": b"u"}
    raw = _py2_npy_object_array([good, bad_utf8, no_sent])
    (d / "pin_2016_v1_0.npy").write_bytes(raw)
    # oracle: real numpy (trusted here) reads the same objects
    assert list(np.load(d / "pin_2016_v1_0.npy", allow_pickle=True, encoding="bytes")) == [good, bad_utf8, no_sent]
    assert load_pickled_objects(d / "pin_2016_v1_0.npy") == [good, bad_utf8, no_sent]
    with pytest.raises(MmweError, match="expected --allow-pickle"):
        build_corpus([str(d)], tmp_path / "c")
    m = build_corpus([str(d)], tmp_path / "c", BuildConfig(read=ReadOptions(allow_pickle=True)))
    assert [(r.image, r.image_path, r.sentences) for r in records(tmp_path / "c")] == [
        ("0001.jpg", None, ["hot beverage beverage coffee drink hot steaming tea", "café con leche a hot drink"])]
    assert m["removed"]["bad_records"] == {"missing_sentences": 1, "non_utf8": 1}


def test_pinterest_numpy3_object_array(tmp_path):
    arr = np.empty(2, dtype=object)
    arr[0] = {"image_name": "a.jpg", "url": "u", "sentences": [joined("1F600")]}
    arr[1] = {"image_name": "b.jpg", "url": "u", "sentences": [joined("1F431")]}
    np.save(tmp_path / "pin_2016_v1_1.npy", arr, allow_pickle=True)
    m = build_corpus([str(tmp_path / "pin_2016_v1_1.npy")], tmp_path / "c",
                     BuildConfig(read=ReadOptions(allow_pickle=True)))
    assert m["counts"]["images"] == 2 and m["sources"][0]["reader"] == "pinterest"


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.system, (f"touch {self.path}",)


def test_restricted_unpickler_refuses_code(tmp_path):
    flag = tmp_path / "pwned"
    evil = pickle.dumps(_Evil(flag), protocol=2)
    with pytest.raises(MmweError, match=r"refusing to load global (os|posix)\.system"):
        restricted_loads(evil)
    for proto in (0, 4):
        with pytest.raises(MmweError, match="refusing to load global"):
            restricted_loads(pickle.dumps(_Evil(flag), protocol=proto))
    with pytest.raises(MmweError, match="refusing to load global __builtin__.eval"):
        restricted_loads(b"c__builtin__\neval\n(S'1+1'\ntR.")
    # the same payload dressed as a Pinterest .npy shard
    np_payload = _py2_npy_object_array([])
    header_end = np_payload.index(b"\n", 10) + 1
    (tmp_path / "pin_2016_v1_9.npy").write_bytes(np_payload[:header_end] + evil)
    with pytest.raises(MmweError, match="refusing to load global"):
        build_corpus([str(tmp_path / "pin_2016_v1_9.npy")], tmp_path / "c",
                     BuildConfig(read=ReadOptions(allow_pickle=True)))
    assert not flag.exists() and not (tmp_path / "c").exists()


def test_restricted_unpickler_accepts_plain_py2_dicts():
    handmade = b"\x80\x02}q\x00(U\nimage_nameq\x01U\x05x.jpgq\x02U\tsentencesq\x03]q\x04U\x07a b c dq\x05au."
    assert restricted_loads(handmade) == {b"image_name": b"x.jpg", b"sentences": [b"a b c d"]}
    py3_proto2 = pickle.dumps({b"image_name": b"y.jpg", "sentences": [b"e f g h"], "tags": {1, 2}}, protocol=2)
    assert b"_codecs" in py3_proto2  # Python 3 writes bytes at protocol 2 via _codecs.encode
    assert restricted_loads(py3_proto2) == {b"image_name": b"y.jpg", "sentences": [b"e f g h"], "tags": {1, 2}}
    with pytest.raises(MmweError, match="_codecs.encode"):
        restricted_loads(b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x04\x00\x00\x00zlib\x86R.")
