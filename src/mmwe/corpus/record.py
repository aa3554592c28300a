"""The one record type of a corpus (an image and its sentences) and the tally of what was skipped and why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Record:
    """One image and its sentences, as stored in a corpus directory (sentences already pre-processed)."""

    image: str  # unique key of the image within the corpus
    image_path: str | None  # where the pixels are: a file path, "TAR::MEMBER" for a tar member, or None (URL only)
    sentences: list[str]  # lower-case tokens joined by single spaces; no <bos>/<eos>
    split: str | None = None  # "train" | "val" | "test" once stored


@dataclass
class RawRecord:
    """What a reader yields: sentences as found in the source, before pre-processing."""

    image: str  # unique key (file name, COCO file_name, webdataset key, ...)
    image_path: str | None  # see Record.image_path
    sentences: list[str]  # raw text, one entry per sentence


@dataclass
class Tally:
    """Counts of what a build read and removed, keyed by reason; serialised into manifest.json."""

    records_read: int = 0  # records the readers yielded (after bad records were skipped)
    bad_records: Counter = field(default_factory=Counter)  # reason -> records a reader could not use
    dropped_records: Counter = field(default_factory=Counter)  # reason -> readable records dropped later
    sentences_read: int = 0  # sentences in the records read
    removed_sentences: Counter = field(default_factory=Counter)  # reason -> sentences removed by pre-processing
    examples: dict = field(default_factory=dict)  # reason -> "FILE:LINE: what was wrong" of its first bad record

    def bad(self, reason: str, n: int = 1, *, detail: str | None = None) -> None:
        """A reader skipped a record it could not use (``reason`` is a short snake_case word).

        ``detail`` ("FILE:LINE: expected ..., got ...") is kept for the first record of each reason only, so
        that the manifest can show one example of every kind of skip without growing with the corpus.
        """
        self.bad_records[reason] += n
        if detail is not None and reason not in self.examples:
            self.examples[reason] = detail

    def as_dict(self) -> dict:
        return {
            "records_read": self.records_read,
            "bad_records": dict(sorted(self.bad_records.items())),
            "bad_records_total": sum(self.bad_records.values()),
            "dropped_records": dict(sorted(self.dropped_records.items())),
            "sentences_read": self.sentences_read,
            "removed_sentences": dict(sorted(self.removed_sentences.items())),
        }
