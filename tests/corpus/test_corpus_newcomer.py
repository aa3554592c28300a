"""Issue 14, a newcomer's first hour: missing image files are counted at build time, a feature run with no image
says why, and records with the wrong field names give an error naming the keys expected and the keys found.

Real images: OpenMoji SVGs rasterised to PNG; real sentences: their CLDR descriptions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mmwe.corpus import BuildConfig, ReadOptions, build_corpus, iter_records
from mmwe.corpus.openmoji import cldr_annotations, emoji_sentences, openmoji_svgs
from mmwe.errors import MmweError
from mmwe.vision.extract import FeatureConfig, extract_corpus, partial_dir
from mmwe.vision.images import load_image

KEYS = ["1F600", "1F431", "1F333", "1F34E", "2615", "1F3B8"]  # grinning face, cat face, tree, apple, ...


def caption(key: str) -> str:
    name, keywords = cldr_annotations()[key]
    return emoji_sentences(name, keywords)[0]


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """photos/KEY.png: the OpenMoji emoji rasterised to 64x64 PNGs (real images, not placeholders)."""
    d = tmp_path_factory.mktemp("src") / "photos"
    d.mkdir()
    svgs = openmoji_svgs()
    for k in KEYS:
        load_image(svgs[k]).resize((64, 64)).save(d / f"{k}.png")
    return d


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# -- A: a record naming an image file that does not exist is counted and skipped --------------------------------
def test_missing_image_files_are_counted_and_skipped(photos, tmp_path):
    rows = [{"image": f"photos/{k}.png", "caption": caption(k)} for k in KEYS[:4]]
    rows += [{"image": "photos/gone.png", "caption": caption("2615")},  # a file name that is not there
             {"image": "1F3B8.jpg", "image_path": "photos/nowhere/1F3B8.jpg", "caption": "a guitar for playing music"},
             {"image": "photos/also-gone.JPG", "caption": "a rocket flying into space"},
             {"key": "000042", "url": "http://example.org/42.jpg", "caption": caption("2615")},  # URL-only: kept
             {"image": "2615.png", "url": "http://example.org/2615.png", "caption": caption("2615")}]  # has a URL
    src = write_jsonl(photos.parent / "captions.jsonl", rows)
    m = build_corpus([str(src)], tmp_path / "c")
    assert m["removed"]["bad_records"] == {"missing_image_file": 3}
    assert m["counts"]["images"] == 6
    example = m["bad_record_examples"]["missing_image_file"]
    assert example.startswith(f"{src}:5: ") and "'photos/gone.png'" in example and "no such file" in example
    recs = {r.image: r.image_path for r in iter_records(tmp_path / "c")}
    assert recs["photos/1F600.png"] == str((photos / "1F600.png").resolve())
    assert recs["000042"] is None and recs["2615.png"] is None  # URL-only records keep no path
    assert "photos/gone.png" not in recs
    # --no-check-images keeps them (as records without a file; features then counts them)
    m2 = build_corpus([str(src)], tmp_path / "c2", BuildConfig(read=ReadOptions(check_images=False)))
    assert m2["counts"]["images"] == 9 and m2["removed"]["bad_records"] == {}


def test_missing_image_files_counted_in_parquet_and_with_image_root(photos, tmp_path):
    pq.write_table(pa.table({"file_name": [f"{k}.png" for k in KEYS[:3]] + ["gone.png"],
                             "text": [caption(k) for k in KEYS[:4]]}), tmp_path / "rows.parquet")
    m = build_corpus([str(tmp_path / "rows.parquet")], tmp_path / "c",
                     BuildConfig(read=ReadOptions(image_root=str(photos))))
    assert m["counts"]["images"] == 3 and m["removed"]["bad_records"] == {"missing_image_file": 1}
    assert "rows.parquet: row 4: " in m["bad_record_examples"]["missing_image_file"]


def test_every_image_missing_fails_the_build_with_the_reason(photos, tmp_path):
    src = write_jsonl(tmp_path / "c.jsonl", [{"image": f"pics/{k}.png", "caption": caption(k)} for k in KEYS])
    with pytest.raises(MmweError, match=r"missing_image_file=6.*first missing_image_file: .*c.jsonl:1: expected "
                                        r"the image file 'pics/1F600.png'") as err:
        build_corpus([str(src)], tmp_path / "out")
    assert "\n" not in str(err.value)


# -- B: a feature run that gets no image raises, with the counts by reason -----------------------------------
class _NeverCalled:
    """An extractor that fails the test if any image reaches it."""

    name, backend, dim, image_size = "fake", "none", 8, 32

    def __call__(self, images: np.ndarray) -> np.ndarray:
        raise AssertionError("no image should have been decoded")


class _Zeros(_NeverCalled):
    def __call__(self, images: np.ndarray) -> np.ndarray:
        return np.zeros((len(images), self.dim), np.float32)  # (B, 8)


def test_features_with_no_image_raise_with_counts(photos, tmp_path):
    url_only = write_jsonl(tmp_path / "u.jsonl", [{"key": f"{i:04d}", "url": f"http://example.org/{i}.jpg",
                                                   "caption": caption(k)} for i, k in enumerate(KEYS[:5])])
    build_corpus([str(url_only)], tmp_path / "urls")
    with pytest.raises(MmweError, match=r"expected at least one image with features, got none of 5 records: "
                                        r"no_image_path=5 \(the record names no image file.*fix: rebuild") as err:
        extract_corpus(tmp_path / "urls", FeatureConfig(), extractor=_NeverCalled())
    assert str(err.value).startswith(f"{tmp_path / 'urls'}: ") and "\n" not in str(err.value)

    # images that were there at build time and are gone now: missing_file, and the partial folder is removed
    copy = tmp_path / "photos"
    copy.mkdir()
    for k in KEYS[:3]:
        (copy / f"{k}.png").write_bytes((photos / f"{k}.png").read_bytes())
    src = write_jsonl(tmp_path / "p.jsonl", [{"image": f"photos/{k}.png", "caption": caption(k)} for k in KEYS[:3]])
    build_corpus([str(src)], tmp_path / "pics")
    (copy / "1F600.png").unlink()
    run = extract_corpus(tmp_path / "pics", FeatureConfig(), extractor=_Zeros())  # one gone: counted, no error
    assert len(run.keys) == 2 and run.skipped == {"missing_file": 1}
    for k in KEYS[1:3]:
        (copy / f"{k}.png").unlink()
    partial = partial_dir(tmp_path / "f.npy")
    with pytest.raises(MmweError, match=r"got none of 3 records: missing_file=3 \(the image file or tar member is "
                                        r"gone\); first: .*1F600.png"):
        extract_corpus(tmp_path / "pics", FeatureConfig(), extractor=_NeverCalled(), partial=partial)
    assert not partial.exists()


# -- C: wrong field names -----------------------------------------------------------------------------------
def test_wrong_keys_in_every_record_fail_naming_expected_and_found(photos, tmp_path):
    src = write_jsonl(tmp_path / "c.jsonl", [{"img": f"photos/{k}.png", "caption": caption(k)} for k in KEYS[:2]])
    with pytest.raises(MmweError, match=r"c\.jsonl: expected at least one record to survive, got none of 2 "
                                        r"\(bad_records: missing_image=2\): expected an image key among \['image', "
                                        r"'image_name', 'key', 'file_name', 'url', 'image_path'\], got keys "
                                        r"\['caption', 'img'\] in every record \(first: line 1\); fix: rename") as err:
        build_corpus([str(src)], tmp_path / "out")
    assert "\n" not in str(err.value) and not (tmp_path / "out").exists()

    src = write_jsonl(tmp_path / "d.jsonl", [{"image": f"photos/{k}.png", "description": caption(k)} for k in KEYS])
    with pytest.raises(MmweError, match=r"expected a sentences key among \['sentences', 'caption', 'text'\], "
                                        r"got keys \['description', 'image'\]"):
        build_corpus([str(src)], tmp_path / "out")

    pq.write_table(pa.table({"img": ["a.png"], "caption": [caption("2615")]}), tmp_path / "w.parquet")
    with pytest.raises(MmweError, match=r"w\.parquet: expected an image column among \['image', .*\], "
                                        r"got columns \['caption', 'img'\]"):
        build_corpus([str(tmp_path / "w.parquet")], tmp_path / "out")


def test_wrong_keys_in_some_records_are_counted_with_the_first_keys(photos, tmp_path):
    rows = [{"image": f"photos/{k}.png", "caption": caption(k)} for k in KEYS[:4]]
    rows.insert(1, {"img": "photos/2615.png", "caption": caption("2615")})
    rows.append({"picture": "photos/1F3B8.png", "title": caption("1F3B8")})
    src = write_jsonl(photos.parent / "mixed.jsonl", rows)
    m = build_corpus([str(src)], tmp_path / "c")
    assert m["counts"]["images"] == 4
    assert m["removed"]["bad_records"] == {"missing_image": 2}  # counted as before
    assert m["bad_record_examples"] == {
        "missing_image": f"{src}:2: expected an image key among ['image', 'image_name', 'key', 'file_name', 'url', "
                         "'image_path'], got keys ['caption', 'img']"}


def test_image_path_alone_names_the_image(photos, tmp_path):
    src = write_jsonl(tmp_path / "c.jsonl", [{"image_path": str(photos / f"{k}.png"), "sentences": [caption(k)]}
                                             for k in KEYS[:3]])
    m = build_corpus([str(src)], tmp_path / "c")
    assert m["counts"]["images"] == 3
    assert {r.image_path for r in iter_records(tmp_path / "c")} == {str(photos / f"{k}.png") for k in KEYS[:3]}
