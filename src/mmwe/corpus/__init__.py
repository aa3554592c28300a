"""Image-sentence corpora: readers for web/caption formats, the paper's pre-processing, sharded storage.

A corpus directory (``mmwe corpus build``) holds Parquet shards of ``Record`` (image key, image path,
pre-processed sentences, split) plus ``manifest.json``; ``iter_records`` streams it, sharded for DDP.
"""

from mmwe.corpus import debian as _debian  # noqa: F401  registers openclipart, gemojione, art4apps, tuxpaint
from mmwe.corpus import openmoji as _openmoji  # noqa: F401  registers the built-in "openmoji" reader
from mmwe.corpus.build import BuildConfig, build_config, build_corpus, default_configs, resolve_sources, with_overrides
from mmwe.corpus.preprocess import SPLITS, PreprocessConfig, SplitConfig, assign_split, clean_sentences
from mmwe.corpus.readers import READERS, ReaderSpec, ReadOptions, get_reader, open_image_bytes, register_reader
from mmwe.corpus.record import RawRecord, Record, Tally
from mmwe.corpus.store import corpus_vocabulary, count_records, iter_records, load_token_counts, read_manifest

__all__ = [
    "BuildConfig", "PreprocessConfig", "RawRecord", "READERS", "ReadOptions", "ReaderSpec", "Record", "SPLITS",
    "SplitConfig", "Tally", "assign_split", "build_config", "build_corpus", "clean_sentences", "corpus_vocabulary",
    "count_records", "default_configs", "get_reader", "iter_records", "load_token_counts", "open_image_bytes",
    "read_manifest", "register_reader", "resolve_sources", "with_overrides",
]
