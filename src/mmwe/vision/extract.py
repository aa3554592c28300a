"""Image features for a whole corpus, the entry point: `extract_corpus` (one process, several, or torchrun's ranks;
resumable), `extract_to` (the output file's lifecycle: partial folder, resume, write, clean-up), `ensure_features`
(that file, made once), and every name of the feature stage for its callers.

Skipped images (missing, corrupt, truncated, too many pixels, bad SVG, no path) are counted by reason and left
out of the matrix; the output keys say which images have features. The stage, by concept: `config`
(FeatureConfig), `registry` (one spec per CNN), `backends` (extractors), `features` (images -> features, the saved
run), `resume` (finished chunks kept), `parallel` (processes and ranks).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from mmwe.devices import torchrun_rank
from mmwe.errors import MmweError
from mmwe.fileio import check_output_path
from mmwe.progress import Progress
from mmwe.progress import part as progress_part
from mmwe.vision.backends import FeatureExtractor, TorchOnDevice, make_extractor
from mmwe.vision.config import BACKENDS, Backend, Device, FeatureConfig, FeaturesOutput, Threshold
from mmwe.vision.features import (
    FeatureRun,
    binarize,
    corpus_size,
    default_output,
    extract_images,
    iter_corpus_images,
    meta_path,
    why_no_images,
    write_run,
)
from mmwe.vision.parallel import (
    chunk_records,
    corpus_items,
    extract_part,
    extractor_for,
    merge_parts,
    part_dir,
    run_in_processes,
    wait_for_parts,
)
from mmwe.vision.registry import MODELS, REGISTRY, ModelSpec
from mmwe.vision.resume import partial_dir

__all__ = ["BACKENDS", "MODELS", "REGISTRY", "Backend", "Device", "FeatureConfig", "FeatureExtractor", "FeatureRun",
           "ModelSpec", "Threshold", "TorchOnDevice", "binarize", "corpus_size", "default_output", "ensure_features",
           "extract_features",
           "extract_corpus", "extract_to",
           "extract_images", "extract_part", "iter_corpus_images", "make_extractor", "merge_parts", "meta_path",
           "part_dir", "partial_dir", "torchrun_rank", "write_run"]


def extract_corpus(corpus_dir: str | Path, cfg: FeatureConfig, *, extractor: FeatureExtractor | None = None,
                   progress: Progress | None = None, partial: str | Path | None = None,
                   chunk: int | None = None) -> FeatureRun | None:
    """Features (binarised when ``cfg.binarize``) of every image of a corpus folder.

    With ``partial`` (a folder, see `partial_dir`), finished chunks of ``chunk`` records (default: 32 batches)
    are kept there, and a run started again with the same settings resumes after the last finished chunk.
    The caller removes the folder once the output is written. ``cfg.processes`` > 1 (or torchrun's RANK and
    WORLD_SIZE) splits the chunks between processes (see the module doc); under torchrun every rank extracts
    its share, rank 0 waits for the others and returns the merged run, the other ranks return None.
    ``progress(done, total, "image features")`` counts the images read (this rank's, under torchrun) of the
    ``total`` the corpus (or ``cfg.limit``) holds.
    """
    cfg.validate()
    if progress is not None:
        records = corpus_size(corpus_dir)
        progress = progress_part(progress, total=records if cfg.limit is None else min(records, cfg.limit))
    ranks = torchrun_rank()
    if ranks is not None and cfg.processes > 1:
        raise MmweError(f"expected either torchrun or --processes, got both (WORLD_SIZE={ranks[1]}, --processes "
                        f"{cfg.processes}); fix: drop --processes under torchrun")
    rank, world = ranks or (0, cfg.processes)
    if partial is None:
        if world > 1:
            raise MmweError("expected a partial folder for several processes (their parts are kept there), got none")
        extractor = extractor or extractor_for(cfg, 0, 1)
        run = extract_images(corpus_items(corpus_dir, cfg), extractor, cfg, progress=progress)
    else:
        if ranks is None and world > 1:
            run_in_processes(corpus_dir, cfg, partial, chunk, extractor, progress)
        else:
            extract_part(corpus_dir, cfg, rank=rank, world=world, partial=partial, chunk=chunk, extractor=extractor,
                         progress=progress)
            if rank != 0:
                return None
            if world > 1:
                wait_for_parts(corpus_dir, cfg, world, partial, chunk_records(cfg, chunk))
        run = merge_parts(corpus_dir, cfg, world=world, partial=partial, chunk=chunk)
    if not run.keys and run.skipped:
        if partial is not None:  # its chunks hold nothing; a rerun after fixing the images must read them again
            shutil.rmtree(partial, ignore_errors=True)
        raise MmweError(why_no_images(run), path=corpus_dir)
    if cfg.binarize:
        run.matrix, run.thresholds = binarize(run.matrix, cfg.threshold)
    return run


def extract_to(corpus_dir: str | Path, cfg: FeatureConfig, target: str | Path, *,
               progress: Progress | None = None, extractor: FeatureExtractor | None = None,
               chunk: int | None = None) -> FeatureRun | None:
    """The feature file lifecycle, written once: extract ``corpus_dir`` into ``target`` with its finished chunks
    kept in `partial_dir` (an interrupted run resumes there, with the same features), write the file and its
    ``.meta.json``, then remove the partial folder. Returns the run (None on torchrun ranks other than 0, which
    write nothing). ``progress``, ``extractor`` and ``chunk`` as in
    `extract_corpus`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    check_output_path(target)
    run = extract_corpus(corpus_dir, cfg, progress=progress, partial=partial_dir(target), extractor=extractor,
                         chunk=chunk)
    if run is not None:  # rank 0 (or the only process)
        write_run(target, run, cfg, corpus_dir=corpus_dir)
        shutil.rmtree(partial_dir(target), ignore_errors=True)
    return run


def ensure_features(corpus_dir: str | Path, cfg: FeatureConfig, *, out: str | Path | None = None,
                    progress: Progress | None = None, what: str = "image features",
                    log: Callable[[str], None] | None = None) -> Path:
    """The features of ``corpus_dir`` under ``cfg`` in ``out`` (default: `default_output`), extracted once.

    An existing file is returned as it is; otherwise `extract_to` makes it (resumable). ``log`` hears one line
    when an extraction starts; ``progress(done, total, what)`` counts the images. Under torchrun every rank
    extracts its share and rank 0 writes the file.
    """
    target = Path(out) if out is not None else default_output(corpus_dir, cfg)
    if target.is_file():
        return target
    total = corpus_size(corpus_dir)
    if log is not None:
        log(f"extracting {cfg.model} features ({cfg.backend}) of {total} images into {target} (once; minutes)")
    extract_to(corpus_dir, cfg, target, progress=progress_part(progress, what=what))
    return target


def extract_features(files: FeaturesOutput, cfg: FeatureConfig, *, progress: Progress | None = None) -> dict | None:
    """``mmwe features``: `extract_to` ``files.out`` (default: `default_output`); the output, the settings that
    shape it and the run's `FeatureRun.summary` (None on torchrun ranks other than 0)."""
    corpus_size(files.corpus)  # not a corpus: say so before making CORPUS/features/
    target = Path(files.out) if files.out else default_output(files.corpus, cfg)
    run = extract_to(files.corpus, cfg, target, progress=progress)
    return None if run is None else {"output": str(target), "model": cfg.model, "backend": cfg.backend,
                                     "binarized": cfg.binarize, "threshold": cfg.threshold if cfg.binarize else None,
                                     **run.summary()}
