"""mmwe.corpus: readers on real samples (OpenMoji SVGs + CLDR sentences), bad records, the restricted unpickler,
tar safety, the paper's pre-processing, the split, sharded streaming, manifests and the CLI."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import struct
import tarfile

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmwe.corpus import (
    READERS,
    SPLITS,
    BuildConfig,
    PreprocessConfig,
    ReadOptions,
    SplitConfig,
    Tally,
    assign_split,
    build_corpus,
    clean_sentences,
    corpus_vocabulary,
    iter_records,
    load_token_counts,
    open_image_bytes,
    read_manifest,
)
from mmwe.corpus.openmoji import cldr_annotations, emoji_key, emoji_sentences, openmoji_svgs, split_of
from mmwe.corpus.pickle_safe import load_pickled_objects, restricted_loads
from mmwe.corpus.preprocess import overlap, unit_hash
from mmwe.corpus.readers import detect_reader
from mmwe.errors import MmweError
from tests.conftest import png_bytes
from tests.conftest import run_cli as main

KEYS = ["1F600", "1F431", "1F680", "1F34E", "2615", "1F3B8"]  # grinning face, cat face, rocket, red apple, ...


def joined(key: str) -> str:
    """The real CLDR description of an emoji, e.g. 'hot beverage : beverage , coffee , drink , hot , ...'."""
    name, keywords = cldr_annotations()[key]
    return emoji_sentences(name, keywords)[0]


def copy_svgs(dest, keys=KEYS):
    dest.mkdir(parents=True, exist_ok=True)
    svgs = openmoji_svgs()
    for k in keys:
        shutil.copy(svgs[k], dest / f"{k}.svg")
    return dest


def records(corpus, **kw):
    return list(iter_records(corpus, **kw))


def paper(**kw) -> BuildConfig:
    return BuildConfig(preprocess=PreprocessConfig(**kw) if kw else None)


# -- pre-processing -----------------------------------------------------------------------------------------
def test_clean_sentences_exact():
    tally = Tally()
    kept = clean_sentences([
        "A man riding a wave on top of a surfboard.",
        "a man riding a wave on a surfboard",  # word set inside the first one: overlap 1.0
        "Man surfing",  # 2 words
        "!!!",  # nothing alphanumeric
        "The surfer rides a big wave near the shore.",  # overlap 2/8 with the first
        "x" * 10_001,
    ], PreprocessConfig(), tally)
    assert kept == ["a man riding a wave on top of a surfboard", "the surfer rides a big wave near the shore"]
    assert tally.removed_sentences == {"near_duplicate": 1, "too_short": 1, "empty": 1, "too_long": 1}
    assert tally.sentences_read == 6


def test_dedup_threshold_boundary_and_min_words():
    a, b = "alpha beta gamma delta epsilon", "alpha beta gamma delta zeta"  # overlap 4/5 = 0.8
    assert overlap(set(a.split()), set(b.split())) == pytest.approx(0.8)
    assert clean_sentences([a, b], PreprocessConfig(dedup_threshold=0.8), Tally()) == [a]
    assert clean_sentences([a, b], PreprocessConfig(dedup_threshold=0.81), Tally()) == [a, b]
    assert clean_sentences(["one two three", a], PreprocessConfig(min_words=3), Tally()) == ["one two three", a]
    assert clean_sentences([a, a], PreprocessConfig(dedup_threshold=1.5), Tally()) == [a, a]  # > 1 disables


def test_split_deterministic_and_fractions():
    cfg = SplitConfig(val_fraction=0.1, test_fraction=0.2, seed=0)
    keys = [f"img{i:05d}.jpg" for i in range(20_000)]
    first = [assign_split(k, cfg) for k in keys]
    assert first == [assign_split(k, cfg) for k in keys]
    share = {s: first.count(s) / len(keys) for s in SPLITS}
    assert share["test"] == pytest.approx(0.2, abs=0.015) and share["val"] == pytest.approx(0.1, abs=0.015)
    other = [assign_split(k, SplitConfig(0.1, 0.2, seed=1)) for k in keys]
    assert other != first
    assert {assign_split(k, SplitConfig(0.0, 0.0)) for k in keys[:500]} == {"train"}
    # golden value (blake2b-64 of "0\x001F600" = 0x35a06530fd676954): stable across machines and runs
    assert unit_hash("1F600", 0) == 0x35A06530FD676954 / 2**64
    assert assign_split("1F600", SplitConfig(0.1, 0.2, 0)) == "val"  # 0.2095 is just past the 20% test bucket
    with pytest.raises(MmweError, match="val \\+ test <= 1"):
        SplitConfig(0.6, 0.6).validate()


# -- JSONL: every kind of bad record, merging, manifest counts --------------------------------------------------
@pytest.fixture()
def jsonl_sample(tmp_path):
    d = copy_svgs(tmp_path / "src")
    lines = [
        json.dumps({"image": "1F600.svg", "sentences": [joined("1F600"), "Grinning face!", joined("1F600").upper()]}),
        json.dumps({"image": "2615.svg", "caption": joined("2615")}),
        json.dumps({"image": "2615.svg", "caption": "a hot beverage such as coffee or tea"}),  # merged with above
        json.dumps({"image": "1F680.svg", "sentences": [joined("1F680")]}),  # "rocket space": too short
        json.dumps({"image": "1F34E.svg", "image_path": "missing/1F34E.svg", "sentences": [joined("1F34E")]}),
        '{"image": "x.svg", "caption": "caf\xe9 au lait is a drink"}',  # written as latin-1 below: non-UTF-8
        json.dumps({"image": "big.svg", "caption": "word " * 2_500}),
        json.dumps({"image": "1F431.svg"}),
        "not json",
        json.dumps({"image": "1F3B8.svg", "sentences": ["", "   "]}),
        "",
        json.dumps({"image": "1F431.svg", "sentences": [joined("1F431")]}),
        json.dumps({"image": "1F600.svg", "sentences": ["another grinning face sentence here"]}),  # repeated image
        "[1, 2]",
    ]
    data = b"".join((ln.encode("latin-1") if "caf\xe9" in ln else ln.encode()) + b"\n" for ln in lines)
    (d / "captions.jsonl").write_bytes(data)
    return d / "captions.jsonl"


def test_jsonl_build_counts_and_records(jsonl_sample, tmp_path):
    m = build_corpus([str(jsonl_sample)], tmp_path / "corpus")
    assert m["counts"]["images"] == 3 and m["counts"]["sentences"] == 4
    assert m["removed"] == {
        "records_read": 7,
        "bad_records": {"bad_json": 1, "line_too_long": 1, "missing_image_file": 1, "missing_sentences": 1,
                        "non_utf8": 1, "not_an_object": 1},
        "bad_records_total": 6,
        "dropped_records": {"duplicate_image": 1, "no_sentence_left": 2},
        "sentences_read": 9,
        "removed_sentences": {"empty": 2, "near_duplicate": 1, "too_short": 2},
    }
    assert m["preprocess"]["min_words"] == 4 and m["sources"][0]["reader"] == "jsonl"
    recs = {r.image: r for r in records(tmp_path / "corpus")}
    assert recs["1F600.svg"].sentences == ["grinning face face grin"]
    assert recs["2615.svg"].sentences == ["hot beverage beverage coffee drink hot steaming tea",
                                          "a hot beverage such as coffee or tea"]
    assert recs["1F431.svg"].image_path == str((jsonl_sample.parent / "1F431.svg").resolve())
    for r in recs.values():
        assert r.split == assign_split(r.image, SplitConfig())
    counts = load_token_counts(tmp_path / "corpus", split=None)
    assert counts["hot"] == 3 and counts["face"] == 4 and sum(counts.values()) == m["counts"]["tokens"]


# -- Parquet ------------------------------------------------------------------------------------------------
def test_parquet_caption_rows_and_sentence_lists(tmp_path):
    d = copy_svgs(tmp_path / "pq")
    pq.write_table(pa.table({
        "image": ["2615.svg", "2615.svg", "1F431.svg", "1F34E.svg"],
        "caption": [joined("2615"), "a hot beverage such as coffee or tea", joined("1F431"), None],
    }), d / "a.parquet")
    pq.write_table(pa.table({"image": ["1F600.svg"], "sentences": [[joined("1F600"), "a big grinning smiley face"]]}),
                   d / "b.parquet")
    assert detect_reader(str(d)).name == "parquet"
    m = build_corpus([str(d)], tmp_path / "c")
    got = {r.image: r.sentences for r in records(tmp_path / "c")}
    assert got == {"2615.svg": ["hot beverage beverage coffee drink hot steaming tea",
                                "a hot beverage such as coffee or tea"],
                   "1F431.svg": ["cat face cat face pet"],
                   "1F600.svg": ["grinning face face grin", "a big grinning smiley face"]}
    assert m["removed"]["bad_records"] == {"missing_sentences": 1}


# -- COCO ---------------------------------------------------------------------------------------------------
def test_coco_layout(tmp_path):
    root = tmp_path / "coco"
    copy_svgs(root / "val2014", ["1F600", "1F431", "2615"])
    (root / "annotations").mkdir()
    images = [{"id": 1, "file_name": "1F600.svg"}, {"id": 2, "file_name": "1F431.svg"},
              {"id": 3, "file_name": "gone.svg"}, {"id": 4, "file_name": "2615.svg"}]
    anns = [{"id": 10, "image_id": 1, "caption": joined("1F600")},
            {"id": 11, "image_id": 2, "caption": joined("1F431")},
            {"id": 12, "image_id": 1, "caption": "A smiling yellow face with a big grin."},
            {"id": 13, "image_id": 3, "caption": joined("2615")},
            {"id": 14, "image_id": 99, "caption": "orphan caption"},
            {"id": 15, "image_id": 2, "caption": 5}]
    js = root / "annotations" / "captions_val2014.json"
    js.write_text(json.dumps({"images": images, "annotations": anns}))
    assert detect_reader(str(js)).name == "coco"
    m = build_corpus([str(js)], tmp_path / "c")
    got = {r.image: (r.sentences, r.image_path) for r in records(tmp_path / "c")}
    assert got["1F600.svg"] == (["grinning face face grin", "a smiling yellow face with a big grin"],
                                str((root / "val2014" / "1F600.svg").resolve()))
    assert set(got) == {"1F600.svg", "1F431.svg"}
    assert m["removed"]["bad_records"] == {"bad_annotation": 1, "missing_image_file": 1, "missing_sentences": 1,
                                           "unknown_image_id": 1}
    js.write_text(json.dumps({"annotations": anns}))
    with pytest.raises(MmweError, match="expected COCO captions JSON"):
        build_corpus([str(js)], tmp_path / "c2")


# -- webdataset tar shards ------------------------------------------------------------------------------------
def _add(tf, name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, len(data)
    tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def test_webdataset_members_and_refusals(tmp_path):
    d = tmp_path / "wds"
    d.mkdir()
    img = png_bytes()
    with tarfile.open(d / "00000.tar", "w") as tf:
        _add(tf, "000.png", img)
        _add(tf, "000.txt", joined("2615").encode())
        _add(tf, "001.png", png_bytes(color=(0, 0, 255)))
        _add(tf, "001.json", json.dumps({"caption": joined("1F600"), "url": "http://x"}).encode())
        _add(tf, "002.txt", joined("1F431").encode())  # no image
        _add(tf, "003.png", img)  # no caption
        _add(tf, "../evil.txt", b"escape the folder please now")
        _add(tf, "/abs/evil.txt", b"absolute path member here")
        _add(tf, "004.png", kind=tarfile.SYMTYPE, link="/etc/passwd")
        _add(tf, "005.png", img)
        _add(tf, "005.txt", "caf\xe9 au lait is nice".encode("latin-1"))
    before = sorted(os.listdir(tmp_path))
    assert detect_reader(str(d)).name == "webdataset"
    m = build_corpus([str(d)], tmp_path / "c")
    assert sorted(os.listdir(tmp_path)) == sorted(before + ["c"])  # nothing extracted anywhere
    assert m["removed"]["bad_records"] == {"missing_image_file": 1, "missing_sentences": 1, "non_utf8": 1,
                                           "unsafe_member_link": 1, "unsafe_member_path": 2}
    got = {r.image: r for r in records(tmp_path / "c")}
    assert set(got) == {"000", "001"}
    assert got["001"].sentences == ["grinning face face grin"]
    assert got["000"].image_path == f"{(d / '00000.tar').resolve()}::000.png"
    assert open_image_bytes(got["000"].image_path) == img


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


# -- folder of images + .txt (Tux Paint stamps) ---------------------------------------------------------------
def test_folder_tuxpaint_layout(tmp_path):
    root = tmp_path / "stamps"
    (root / "animals").mkdir(parents=True)
    (root / "music").mkdir()
    (root / "sounds").mkdir()
    (root / "animals" / "cat.png").write_bytes(png_bytes())
    (root / "animals" / "cat.txt").write_text(f"{joined('1F431')}\nfr=Visage de chat\nde.utf8=Katzengesicht\n")
    (root / "animals" / "cat.ogg").write_bytes(b"OggS")
    shutil.copy(openmoji_svgs()["1F3B8"], root / "music" / "guitar.svg")
    (root / "music" / "guitar.txt").write_text("An electric guitar, a music instrument.\n")
    (root / "music" / "orphan.txt").write_text("a description without any picture\n")
    (root / "music" / "lonely.png").write_bytes(png_bytes())
    (root / "sounds" / "bad.png").write_bytes(png_bytes())
    (root / "sounds" / "bad.txt").write_bytes("caf\xe9 au lait in a cup".encode("latin-1"))
    assert detect_reader(str(root)).name == "folder"
    m = build_corpus([str(root)], tmp_path / "c")
    got = {r.image: (r.sentences, os.path.basename(r.image_path)) for r in records(tmp_path / "c")}
    assert got == {"animals/cat": (["cat face cat face pet"], "cat.png"),
                   "music/guitar": (["an electric guitar a music instrument"], "guitar.svg")}
    assert m["removed"]["bad_records"] == {"missing_image_file": 1, "missing_sentences": 1, "non_utf8": 1}


# -- openmoji ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def openmoji_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("om") / "openmoji"
    return out, build_corpus(["openmoji"], out)


def test_cldr_annotations_and_keys():
    ann = cldr_annotations()
    assert ann["1F600"] == ("grinning face", ("face", "grin", "grinning face"))
    assert emoji_key("😀") == "1F600" and emoji_key("❤️") == "2764"  # FE0F stripped
    assert "2764" in ann and ann["2764"][0] == "red heart"
    assert emoji_sentences("grinning face", ("face", "grin", "grinning face")) == ["grinning face : face , grin"]
    assert emoji_sentences("rocket", ("rocket",)) == ["rocket"]
    assert emoji_sentences("cat face", ("cat", "pet"), "separate") == ["cat face", "cat", "pet"]


def test_openmoji_corpus(openmoji_corpus):
    out, m = openmoji_corpus
    n_svg = len(openmoji_svgs())
    assert m["counts"]["images"] == len(cldr_annotations()) > 3000
    assert m["counts"]["images"] + m["removed"]["bad_records"]["no_cldr_annotation"] == n_svg
    assert m["preprocess"]["min_words"] == 1 and m["split_config"]["test_fraction"] == 0.2
    recs = {r.image: r for r in records(out)}
    assert recs["1F600"].sentences == ["grinning face face grin"]
    assert recs["1F600"].image_path.endswith("/1F600.svg") and os.path.isfile(recs["1F600"].image_path)
    assert all(r.split == split_of(k) for k, r in recs.items())
    v = corpus_vocabulary(out)
    assert v.itos[4:6] == ["skin", "tone"] and len(v) - 4 == m["counts"]["vocabulary"]["words"]


# -- streaming and sharding -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sh")
    keys = sorted(cldr_annotations())[:50]
    (tmp / "s.jsonl").write_text("".join(json.dumps({"image": k, "caption": joined(k)}) + "\n" for k in keys))
    cfg = BuildConfig(preprocess=PreprocessConfig(min_words=1), split=SplitConfig(0.2, 0.2, 0),
                      shard_size=7, row_group_size=3)
    build_corpus([str(tmp / "s.jsonl")], tmp / "c", cfg)
    return tmp / "c", keys


def test_streaming_shards_round_robin(sharded):
    corpus, keys = sharded
    m = read_manifest(corpus)
    assert [s["records"] for s in m["shards"]] == [7] * 7 + [1]
    everything = [r.image for r in records(corpus)]
    assert everything == keys
    for split in (None, "train", "test"):
        stream = [r.image for r in records(corpus, split=split)]
        parts = [[r.image for r in records(corpus, split=split, shard=k, num_shards=3)] for k in range(3)]
        assert parts == [stream[k::3] for k in range(3)]
    assert len(records(corpus, split="val")) == m["counts"]["by_split"]["val"]["images"]
    with pytest.raises(MmweError, match="0 <= shard < num_shards"):
        records(corpus, shard=3, num_shards=3)
    with pytest.raises(MmweError, match="expected split in"):
        records(corpus, split="dev")


def test_registry_and_output_safety(tmp_path, jsonl_sample):
    assert set(READERS) == {"jsonl", "parquet", "coco", "webdataset", "pinterest", "folder", "openmoji",
                            "openclipart", "gemojione", "art4apps", "tuxpaint"}
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("x")
    with pytest.raises(MmweError, match="not empty; pass --overwrite"):
        build_corpus([str(jsonl_sample)], tmp_path / "c")
    build_corpus([str(jsonl_sample)], tmp_path / "c", BuildConfig(overwrite=True))
    assert not (tmp_path / "c" / "keep.txt").exists() and (tmp_path / "c" / "manifest.json").exists()
    with pytest.raises(MmweError, match="at least one record to survive.*too_short=7"):
        build_corpus([str(jsonl_sample)], tmp_path / "d", paper(min_words=40))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "src"]  # no partial folder left behind
    with pytest.raises(MmweError, match="expected a corpus folder with manifest.json"):
        records(tmp_path / "src")


# -- CLI ------------------------------------------------------------------------------------------------------
def test_cli_build_info_vocab(tmp_path, jsonl_sample, capsys):
    out = tmp_path / "c"
    assert main(["corpus", "build", str(jsonl_sample), "--out", str(out), "--min-words", "1",
                 "--dedup-threshold", "0.9", "--min-count", "1", "--test-fraction", "0", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["preprocess"]["min_words"] == 1 and m["preprocess"]["dedup_threshold"] == 0.9
    assert m["split_config"]["test_fraction"] == 0.0 and m["counts"]["by_split"]["test"]["images"] == 0
    assert main(["corpus", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "line_too_long" in text and "images" in text
    assert main(["corpus", "vocab", str(out), "--out", str(tmp_path / "v.tsv")]) == 0
    assert (tmp_path / "v.tsv").read_text().splitlines()[0].split("\t")[0] == "face"
    assert main(["corpus", "build", str(jsonl_sample), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["corpus", "build", "no-such-thing", "--out", str(tmp_path / "x")]) == 2
    assert "built-in corpus" in capsys.readouterr().err
