"""Shared by the tests of mmwe.datasets (and the metrics built on them): the sections of the Google analogy set, a
question set parsed from text, a UTF-8 file writer."""

from __future__ import annotations

from mmwe.datasets.analogies import AnalogySet, parse_analogies

GOOGLE_SECTIONS = ["capital-common-countries", "capital-world", "currency", "city-in-state", "family",
                   "gram1-adjective-to-adverb", "gram2-opposite", "gram3-comparative", "gram4-superlative",
                   "gram5-present-participle", "gram6-nationality-adjective", "gram7-past-tense", "gram8-plural",
                   "gram9-plural-verbs"]


def _questions(text: str, name: str = "toy") -> AnalogySet:
    return parse_analogies(text.encode(), name=name, path=f"{name}.txt")


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path
