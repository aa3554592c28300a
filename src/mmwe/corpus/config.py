"""What the corpus commands take besides the stage's configs (PreprocessConfig, SplitConfig, ReadOptions, BuildConfig,
DownloadConfig): their folders and files. Torch-free: the CLI builds its options from these dataclasses, one a field,
its comment the help (see ``mmwe.config.Opt``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from mmwe.config import ARG, Opt


@dataclass(frozen=True)
class BuildSources:
    """``mmwe corpus build SOURCES... --out DIR`` (with `build_config`'s settings: BuildConfig's reader...)."""

    sources: Annotated[tuple[str, ...], ARG]  # Files/folders to read, or the built-in name 'openmoji'.
    out: Annotated[str, Opt(out=True)]  # Corpus folder to create.


@dataclass(frozen=True)
class DownloadSource:
    """``mmwe corpus download SOURCE --out DIR`` (with DownloadConfig)."""

    source: Annotated[str, ARG]  # URL list: .csv/.tsv/.parquet/.jsonl (url + caption or sentences columns) or
    # Pinterest40M pin_2016_v1_*.npy (--allow-pickle).
    out: Annotated[str, Opt(out=True)]  # Folder: urls.parquet, shards/ (webdataset), download.json.


@dataclass(frozen=True)
class CorpusDir:
    """``mmwe corpus info CORPUS``."""

    corpus_dir: Annotated[str, ARG]  # A corpus folder made by `mmwe corpus build`.


@dataclass(frozen=True)
class VocabConfig:
    """``mmwe corpus vocab CORPUS --out FILE``."""

    corpus_dir: Annotated[str, ARG]  # A corpus folder.
    out: Annotated[str, Opt(out=True)]  # Vocabulary file to write (.json, or TSV word<TAB>count).
    min_count: int | None = None  # Keep words seen this often (default: the manifest's).
    max_size: int | None = None  # Keep at most this many words (specials not counted).
