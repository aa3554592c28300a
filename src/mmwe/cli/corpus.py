"""`mmwe corpus build|download|info|vocab` (image-sentence corpora), `mmwe features` (their image features) and
`mmwe classify` (an ImageNet top-5 check of the CNN)."""

from pathlib import Path

import typer

from mmwe.cli.app import app, group
from mmwe.cli.console import bar_callback, print_json, print_summary, progress_bar
from mmwe.cli.options import config_options
from mmwe.corpus import READERS, build_config, build_corpus, corpus_vocabulary, read_manifest
from mmwe.corpus.config import BuildSources, CorpusDir, DownloadSource, VocabConfig
from mmwe.report.commands import download_line, features_printout, features_summary, manifest_printout
from mmwe.vision.backends import classify_images
from mmwe.vision.config import ClassifyConfig, FeatureConfig, FeaturesOutput
from mmwe.vision.extract import corpus_size, default_output, extract_to

corpus_app = group("corpus", "Build and inspect image-sentence corpora.")
_FORMATS = "Corpus formats (docs/corpus-formats.md; skipped records are counted in the manifest):\n\n" + "\n\n".join(
    f"{name}: {spec.fields}" for name, spec in READERS.items())


@corpus_app.command("build", epilog=_FORMATS)
@config_options(BuildSources, "mmwe.corpus.build:BuildConfig", "mmwe.corpus.preprocess:PreprocessConfig",
                "mmwe.corpus.preprocess:SplitConfig", "mmwe.corpus.fields:ReadOptions",
                skip=("preprocess", "split", "read"), json="Print the manifest as JSON.")
def build(cfg: BuildSources, overrides: dict, json: bool) -> None:
    """Read SOURCES, pre-process as Mao et al. (2016), split by image and write Parquet shards + manifest.

    Pre-processing and split settings not given are the reader's defaults (the paper's; openmoji has its own).
    """
    settings = build_config(cfg.sources, **overrides)
    with progress_bar(disable=json) as bar:
        manifest = build_corpus(cfg.sources, cfg.out, settings, progress=bar_callback(bar))
    print_json(manifest) if json else print_summary(manifest_printout(manifest, cfg.out))


@corpus_app.command("download")
@config_options(DownloadSource, "mmwe.corpus.download:DownloadConfig", json="Print the summary as JSON.")
def download(cfg: DownloadSource, overrides: dict, json: bool) -> None:
    """Fetch the images of a URL list with img2dataset (the optional extra: pip install 'mmwe\\[download]') into
    webdataset shards that `mmwe corpus build OUT/shards` reads; failed URLs counted per reason; a rerun resumes."""
    from mmwe.corpus.download import DownloadConfig, download_corpus

    s = download_corpus(cfg.source, cfg.out, DownloadConfig(**overrides))
    print_json(s) if json else typer.echo(download_line(s, cfg.out))


@corpus_app.command("info")
@config_options(CorpusDir, json="Print the manifest as JSON.")
def info(cfg: CorpusDir, json: bool) -> None:
    """Counts of a corpus: images, sentences and tokens per split, vocabulary, and what was removed and why."""
    manifest = read_manifest(cfg.corpus_dir)
    print_json(manifest) if json else print_summary(manifest_printout(manifest, cfg.corpus_dir))


@corpus_app.command("vocab")
@config_options(VocabConfig)
def vocab(cfg: VocabConfig) -> None:
    """Write the training vocabulary of a corpus (specials <pad> <unk> <bos> <eos> are implicit ids 0-3)."""
    v = corpus_vocabulary(cfg.corpus_dir, min_count=cfg.min_count, max_size=cfg.max_size)
    v.save(cfg.out)
    typer.echo(f"wrote {len(v) - 4} words (+4 specials) to {cfg.out}")


@app.command("features")
@config_options(FeaturesOutput, FeatureConfig, flags={"num_threads": "--threads"}, json="Print a JSON summary.")
def features(cfg: FeaturesOutput, overrides: dict, json: bool) -> None:
    """Extract 1280-d pooled CNN features (EfficientNet-Lite0 or MobileNetV2) for every image of a corpus.

    Unreadable, truncated, oversized or missing images are skipped and counted by reason.

    Finished chunks are kept in .OUT.partial/ until the output is written: a run started again resumes.
    """
    fcfg = FeatureConfig(**overrides).validate()
    corpus_size(cfg.corpus)  # not a corpus: say so before making CORPUS/features/
    target = Path(cfg.out) if cfg.out else default_output(cfg.corpus, fcfg)
    with progress_bar(disable=json) as bar:
        run = extract_to(cfg.corpus, fcfg, target, progress=bar_callback(bar))
    if run is None:  # under torchrun only rank 0 reports
        return
    s = features_summary(target, run, fcfg)
    print_json(s) if json else print_summary(features_printout(s))
    for ex in [] if json else s["skipped_examples"]:
        typer.echo(f"skipped {ex['key']}: {ex['error']}", err=True)


@app.command("classify")
@config_options(ClassifyConfig, json="Print JSON.")
def classify(cfg: ClassifyConfig, json: bool) -> None:
    """Top ImageNet classes of images with the full EfficientNet-Lite0 classifier (checks the weights load)."""
    result = classify_images(cfg)
    if json:
        return print_json(result)
    for p, rows in result.items():
        typer.echo(f"{Path(p).name}: " + " | ".join(f"{r['class']} {r['p']:.2f}" for r in rows))
