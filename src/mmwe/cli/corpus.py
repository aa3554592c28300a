"""`mmwe corpus build|info|vocab`: build image-sentence corpora and inspect them."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Annotated

import typer

from mmwe.cli.app import group
from mmwe.cli.console import bar_counter, print_json, print_table, progress_bar
from mmwe.cli.options import config_options, out_option
from mmwe.corpus import (
    READERS,
    BuildConfig,
    PreprocessConfig,
    ReadOptions,
    SplitConfig,
    build_corpus,
    corpus_vocabulary,
    default_configs,
    read_manifest,
    resolve_sources,
)

corpus_app = group("corpus", "Build and inspect image-sentence corpora.")


def _only(cls, overrides: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in overrides.items() if k in names}


_FORMATS = "Corpus formats (docs/corpus-formats.md; skipped records are counted in the manifest):\n\n" + "\n\n".join(
    f"{name}: {spec.fields}" for name, spec in READERS.items())


@corpus_app.command("build", epilog=_FORMATS)
@config_options("mmwe.corpus.preprocess:PreprocessConfig", "mmwe.corpus.preprocess:SplitConfig",
                "mmwe.corpus.fields:ReadOptions", "mmwe.corpus.build:BuildConfig",
                skip=("reader", "preprocess", "split", "read"))
def build(
    sources: Annotated[list[str], typer.Argument(help="Files/folders to read, or the built-in name 'openmoji'.")],
    out: Annotated[str, out_option("Corpus folder to create.")],
    reader: Annotated[str, typer.Option(help=f"auto (detect per source) or one of: {', '.join(READERS)}.")] = "auto",
    json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
    overrides: dict | None = None,
) -> None:
    """Read SOURCES, pre-process as Mao et al. (2016), split by image and write Parquet shards + manifest.

    Pre-processing and split settings not given are the reader's defaults (the paper's; openmoji has its own).
    """
    pre, split = default_configs([spec for _, spec in resolve_sources(sources, reader)])
    cfg = BuildConfig(reader=reader, preprocess=replace(pre, **_only(PreprocessConfig, overrides)),
                      split=replace(split, **_only(SplitConfig, overrides)),
                      read=ReadOptions(**_only(ReadOptions, overrides)), **_only(BuildConfig, overrides))
    with progress_bar(disable=json) as bar:
        manifest = build_corpus(sources, out, cfg, progress=bar_counter(bar, "reading images"))
    print_json(manifest) if json else _print_manifest(manifest, out)


@corpus_app.command("download")
@config_options("mmwe.corpus.download:DownloadConfig")
def download(
    source: Annotated[str, typer.Argument(help="URL list: .csv/.tsv/.parquet/.jsonl (url + caption or sentences "
                                               "columns) or Pinterest40M pin_2016_v1_*.npy (--allow-pickle).")],
    out: Annotated[str, out_option("Folder: urls.parquet, shards/ (webdataset), download.json.")],
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    overrides: dict | None = None,
) -> None:
    """Fetch the images of a URL list with img2dataset (the optional extra: pip install 'mmwe\\[download]') into
    webdataset shards that `mmwe corpus build OUT/shards` reads; failed URLs counted per reason; a rerun resumes."""
    from mmwe.corpus.download import DownloadConfig, download_corpus

    s = download_corpus(source, out, DownloadConfig(**(overrides or {})))
    print_json(s) if json else typer.echo(
        f"{out}/shards: {s['downloaded']:,} of {s['urls_tried']:,} URLs downloaded; failed: "
        f"{', '.join(f'{k}={v}' for k, v in s['failed'].items()) or 'none'}; bad rows: "
        f"{', '.join(f'{k}={v}' for k, v in s['bad_rows'].items()) or 'none'}; next: mmwe corpus build {out}/shards")


@corpus_app.command("info")
def info(
    corpus_dir: Annotated[str, typer.Argument(help="A corpus folder made by `mmwe corpus build`.")],
    json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Counts of a corpus: images, sentences and tokens per split, vocabulary, and what was removed and why."""
    manifest = read_manifest(corpus_dir)
    print_json(manifest) if json else _print_manifest(manifest, corpus_dir)


@corpus_app.command("vocab")
def vocab(
    corpus_dir: Annotated[str, typer.Argument(help="A corpus folder.")],
    out: Annotated[str, out_option("Vocabulary file to write (.json, or TSV word<TAB>count).")],
    min_count: Annotated[int | None, typer.Option(help="Keep words seen this often (default: the manifest's).")] = None,
    max_size: Annotated[int | None, typer.Option(help="Keep at most this many words (specials not counted).")] = None,
) -> None:
    """Write the training vocabulary of a corpus (specials <pad> <unk> <bos> <eos> are implicit ids 0-3)."""
    v = corpus_vocabulary(corpus_dir, min_count=min_count, max_size=max_size)
    v.save(out)
    typer.echo(f"wrote {len(v) - 4} words (+4 specials) to {out}")


def _print_manifest(m: dict, where: str) -> None:
    c, pre, spl, r, v = m["counts"], m["preprocess"], m["split_config"], m["removed"], m["counts"]["vocabulary"]
    typer.echo(f"{where}: " + ", ".join(f"{s['source']} ({s['reader']})" for s in m["sources"]))
    print_table("records", ["split", "images", "sentences", "tokens"],
                [(name, *(f"{row[k]:,}" for k in ("images", "sentences", "tokens")))
                 for name, row in [*c["by_split"].items(), ("all", c)]])
    typer.echo(f"vocabulary: {v['words']:,} words with count >= {v['min_count']} in train "
               f"({v['distinct_words_train']:,} distinct in train, {v['distinct_words_all']:,} in all)")
    typer.echo(f"pre-processing: min_words={pre['min_words']} dedup_threshold={pre['dedup_threshold']} "
               f"max_sentence_chars={pre['max_sentence_chars']}; split: val={spl['val_fraction']} "
               f"test={spl['test_fraction']} seed={spl['seed']}")
    print_table(f"removed ({r['records_read']:,} records read, {r['sentences_read']:,} sentences)",
                ["what", "reason", "count"], [(g.replace("_", " "), reason, f"{n:,}") for g in
                                              ("bad_records", "dropped_records", "removed_sentences")
                                              for reason, n in r[g].items()])
