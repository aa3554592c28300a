"""mmwe.corpus.readers on real samples (OpenMoji SVGs + CLDR sentences): JSONL with every kind of bad record,
Parquet, COCO, webdataset tar shards (unsafe members refused, nothing extracted) and a folder of images + .txt
(Tux Paint stamps)."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmwe.corpus import SplitConfig, assign_split, build_corpus, load_token_counts, open_image_bytes
from mmwe.corpus.openmoji import openmoji_svgs
from mmwe.corpus.readers import detect_reader
from mmwe.errors import MmweError
from tests.conftest import png_bytes
from tests.corpus.conftest import copy_svgs, joined, records


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
