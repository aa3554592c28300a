"""`mmwe corpus build|download|info|vocab` (image-sentence corpora), `mmwe features` and `mmwe classify`."""

import typer

from mmwe.cli.app import app, group
from mmwe.cli.console import bar_callback, print_json, print_summary, progress_bar
from mmwe.cli.options import config_options
from mmwe.corpus import READERS, BuildConfig, PreprocessConfig, ReadOptions, SplitConfig
from mmwe.corpus.build import build_config, build_corpus
from mmwe.corpus.config import BuildSources, CorpusDir, DownloadSource, VocabConfig
from mmwe.corpus.download import DownloadConfig
from mmwe.corpus.store import corpus_vocabulary, read_manifest
from mmwe.report.commands import classify_printout, download_line, features_printout, manifest_printout, skipped_lines
from mmwe.vision.backends import classify_images
from mmwe.vision.config import ClassifyConfig, FeatureConfig, FeaturesOutput
from mmwe.vision.extract import extract_features

corpus_app = group("corpus", "Build and inspect image-sentence corpora.")
_FORMATS = "Corpus formats (docs/corpus-formats.md; skipped records are counted in the manifest):\n\n" + "\n\n".join(
    f"{name}: {spec.fields}" for name, spec in READERS.items())


@corpus_app.command("build", epilog=_FORMATS)
@config_options(BuildSources, BuildConfig, PreprocessConfig, SplitConfig, ReadOptions,
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
@config_options(DownloadSource, DownloadConfig, json="Print the summary as JSON.")
def download(cfg: DownloadSource, overrides: dict, json: bool) -> None:
    """Fetch the images of a URL list with img2dataset (the optional extra: pip install 'mmwe\\[download]') into
    webdataset shards that `mmwe corpus build OUT/shards` reads; failed URLs counted per reason; a rerun resumes."""
    from mmwe.corpus.download import download_corpus

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
    with progress_bar(disable=json) as bar:
        s = extract_features(cfg, FeatureConfig(**overrides).validate(), progress=bar_callback(bar))
    if s is not None and json:  # s: None on torchrun ranks other than 0
        print_json(s)
    elif s is not None:
        print_summary(features_printout(s))
        typer.echo(skipped_lines(s), err=True, nl=False)


@app.command("classify")
@config_options(ClassifyConfig, json="Print JSON.")
def classify(cfg: ClassifyConfig, json: bool) -> None:
    """Top ImageNet classes of images with the full EfficientNet-Lite0 classifier (checks the weights load)."""
    result = classify_images(cfg)
    print_json(result) if json else print_summary(classify_printout(result))
