"""Shared by the tests of mmwe.corpus: real CLDR sentences and OpenMoji SVGs, a JSONL sample with every kind of bad
record, and the records of a built corpus."""

from __future__ import annotations

import json
import shutil

import pytest

from mmwe.corpus import iter_records
from mmwe.corpus.openmoji import cldr_annotations, emoji_sentences, openmoji_svgs

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
