"""`mmwe corpus build|info|vocab`: build image-sentence corpora and inspect them."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from mmwe.cli import app
from mmwe.cli import quiet as global_quiet
from mmwe.cli._common import print_json

corpus_app = typer.Typer(help="Build and inspect image-sentence corpora.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")


@corpus_app.command("build")
def build(
    sources: Annotated[list[str], typer.Argument(help="Files/folders to read, or the built-in name 'openmoji'.")],
    out: Annotated[str, typer.Option("--out", help="Corpus folder to create.")],
    reader: Annotated[str, typer.Option(help="auto|jsonl|parquet|coco|webdataset|pinterest|folder|openmoji")] = "auto",
    min_words: Annotated[Optional[int], typer.Option(help="Drop sentences with fewer words (paper: 4).")] = None,
    dedup_threshold: Annotated[Optional[float], typer.Option(help="Word overlap |A&B|/min(|A|,|B|) marking a near-duplicate (paper default 0.8; >1 disables).")] = None,
    min_count: Annotated[Optional[int], typer.Option(help="Vocabulary: words seen at least this often (paper: 51, i.e. more than 50).")] = None,
    max_sentence_chars: Annotated[Optional[int], typer.Option(help="Drop longer sentences.")] = None,
    allow_pickle: Annotated[bool, typer.Option("--allow-pickle", help="Allow pickled sources (Pinterest .npy), read with a restricted unpickler.")] = False,
    image_root: Annotated[Optional[str], typer.Option(help="Folder that relative image names are resolved against.")] = None,
    check_images: Annotated[bool, typer.Option(help="Skip records whose image file is missing.")] = True,
    val_fraction: Annotated[Optional[float], typer.Option(help="Share of images in 'val' (default 0.05; openmoji 0.1).")] = None,
    test_fraction: Annotated[Optional[float], typer.Option(help="Share of images in 'test' (default 0.05; openmoji 0.2).")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the hash split.")] = None,
    shard_size: Annotated[int, typer.Option(help="Records per Parquet shard.")] = 100_000,
    openmoji_style: Annotated[str, typer.Option(help="openmoji sentences: joined|separate.")] = "joined",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a non-empty output folder.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Read SOURCES, pre-process as Mao et al. (2016), split by image and write Parquet shards + manifest."""
    from mmwe.corpus import BuildConfig, ReadOptions, default_configs, resolve_sources, with_overrides

    pre, spl = default_configs([spec for _, spec in resolve_sources(sources, reader)])
    cfg = BuildConfig(
        reader=reader,
        preprocess=with_overrides(pre, min_words=min_words, dedup_threshold=dedup_threshold, min_count=min_count,
                                  max_sentence_chars=max_sentence_chars),
        split=with_overrides(spl, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed),
        read=ReadOptions(allow_pickle=allow_pickle, image_root=image_root, check_images=check_images,
                         openmoji_style=openmoji_style),
        shard_size=shard_size,
        overwrite=overwrite,
    )
    manifest = _build_with_progress(sources, out, cfg)
    if json:
        print_json(manifest)
    else:
        _print_manifest(manifest, out)


def _build_with_progress(sources, out, cfg) -> dict:
    from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from mmwe.corpus import build_corpus

    columns = (SpinnerColumn(), TextColumn("reading images"), MofNCompleteColumn(), TimeElapsedColumn())
    console = Console(stderr=True)  # not a terminal (a pipe, a log): no bar, whose exit would add a blank line
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal or global_quiet()) as bar:
        task = bar.add_task("build", total=None)
        return build_corpus(sources, out, cfg, progress=lambda n: bar.advance(task, n))


@corpus_app.command("info")
def info(
    corpus_dir: Annotated[str, typer.Argument(help="A corpus folder made by `mmwe corpus build`.")],
    json: Annotated[bool, typer.Option("--json", help="Print the manifest as JSON.")] = False,
) -> None:
    """Counts of a corpus: images, sentences and tokens per split, vocabulary, and what was removed and why."""
    from mmwe.corpus import read_manifest

    manifest = read_manifest(corpus_dir)
    print_json(manifest) if json else _print_manifest(manifest, corpus_dir)


@corpus_app.command("vocab")
def vocab(
    corpus_dir: Annotated[str, typer.Argument(help="A corpus folder.")],
    out: Annotated[str, typer.Option("--out", help="Vocabulary file to write (.json, or TSV word<TAB>count).")],
    min_count: Annotated[Optional[int], typer.Option(help="Words seen at least this often in train (default: the manifest's).")] = None,
    max_size: Annotated[Optional[int], typer.Option(help="Keep at most this many words (specials not counted).")] = None,
) -> None:
    """Write the training vocabulary of a corpus (specials <pad> <unk> <bos> <eos> are implicit ids 0-3)."""
    from mmwe.corpus import corpus_vocabulary

    v = corpus_vocabulary(corpus_dir, min_count=min_count, max_size=max_size)
    v.save(out)
    print(f"wrote {len(v) - 4} words (+4 specials) to {out}")


def _print_manifest(m: dict, where: str) -> None:
    c, pre, spl = m["counts"], m["preprocess"], m["split_config"]
    console = Console()
    sources = ", ".join(f"{s['source']} ({s['reader']})" for s in m["sources"])
    console.print(f"[bold]{where}[/bold]: {sources}")
    t = Table(title="records")
    for col in ("split", "images", "sentences", "tokens"):
        t.add_column(col, justify="right" if col != "split" else "left")
    for name, row in [*c["by_split"].items(), ("all", c)]:
        t.add_row(name, f"{row['images']:,}", f"{row['sentences']:,}", f"{row['tokens']:,}")
    console.print(t)
    v = c["vocabulary"]
    console.print(f"vocabulary: {v['words']:,} words with count >= {v['min_count']} in train "
                  f"({v['distinct_words_train']:,} distinct in train, {v['distinct_words_all']:,} in all)")
    console.print(f"pre-processing: min_words={pre['min_words']} dedup_threshold={pre['dedup_threshold']} "
                  f"max_sentence_chars={pre['max_sentence_chars']}; split: val={spl['val_fraction']} "
                  f"test={spl['test_fraction']} seed={spl['seed']}")
    r = m["removed"]
    t = Table(title=f"removed ({r['records_read']:,} records read, {r['sentences_read']:,} sentences)")
    t.add_column("what")
    t.add_column("reason")
    t.add_column("count", justify="right")
    for group in ("bad_records", "dropped_records", "removed_sentences"):
        for reason, n in r[group].items():
            t.add_row(group.replace("_", " "), reason, f"{n:,}")
    console.print(t)
