"""The Mao et al. reproduction as one experiment: `run` trains the five variants once (one seed: the simplest
study), `run_study` tunes lr and lambda on validation perplexity, trains every variant with N seeds and a learning
curve; both evaluate through `evaluate` and write results.json (with its ``experiment``) and results.md through
`markdown`. `reproduce_mao` is `mmwe reproduce mao`.

Hyper-parameters of a study are chosen on validation perplexity only, at seed 0 on all the training sentences: the
learning rate on Model A, then lambda of B and of C at that rate; the chosen runs are reused as the seed-0 runs.
The learning curve trains puretext, A and the one of B/C with the lower validation perplexity on a seeded random
fraction of the training images (validation and test untouched).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from mmwe.corpus.ensure import parse_spec
from mmwe.datasets.triplets import load_triplets, write_tsv
from mmwe.fileio import atomic_write
from mmwe.lm import train_lm
from mmwe.progress import Progress
from mmwe.vectors import load as load_vectors

from .config import (
    CURVE_BASE,
    SMALL_CORPUS_OVERRIDES,
    MaoConfig,
    MaoRun,
    StudyConfig,
    variant_config,
)
from .data import prepare_corpus, test_split_triplets
from .evaluate import evaluate, evaluate_vectors, mao_findings, mcnemar_compare
from .markdown import markdown
from .training import Job, Trainer


def run(
    corpus_dir: str | Path,
    features_path: str | Path | None,
    out_dir: str | Path,
    cfg: MaoConfig = MaoConfig(),
    log: Callable[[str], None] = print,
    progress: Progress | None = None,
) -> dict:
    """Train every variant, evaluate them and the baseline; write results.json and results.md in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows, trained = [], {}
    for name in cfg.variants:
        tcfg = variant_config(name, cfg)
        log(f"[mao] training {name} (model {tcfg.model}, share={tcfg.share})")
        trained[name], metrics = train_lm(corpus_dir, features_path, tcfg, out / name, progress=progress)
        row = evaluate_vectors(name, trained[name], cfg,
                               reference=trained.get("puretext") if name != "puretext" else None)
        row.update({k: metrics.get(k) for k in ("val_perplexity", "epochs", "steps", "tokens_per_s") if k in metrics})
        rows.append(row)
        log(f"[mao] {name}: triplet accuracy {row['accuracy']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]")
    if cfg.baseline:
        trained[cfg.baseline] = load_vectors(cfg.baseline)
        rows.append(evaluate_vectors(cfg.baseline, trained[cfg.baseline], cfg, reference=trained.get("puretext")))
    tset = load_triplets(cfg.triplets)
    result = {"corpus": str(corpus_dir), "triplets": cfg.triplets, "triplet_count": len(tset), "rows": rows,
              "findings": mao_findings(mcnemar_compare(trained, tset)), "experiment": "mao"}
    write_outputs(result, out)
    return result


def write_outputs(result: dict, out: Path) -> None:
    """results.json and results.md in ``out``, each written whole or not at all."""
    with atomic_write(out / "results.json", "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    with atomic_write(out / "results.md", "w", encoding="utf-8") as fh:
        fh.write(markdown(result))


def _choose(trainer: Trainer, jobs: list[Job], what: str) -> tuple[Job, list[dict]]:
    """The job with the lowest validation perplexity, and the grid as rows."""
    trainer.run(jobs)
    grid = [{"variant": j.variant, "lr": j.lr, "lambda": j.lam, "val_perplexity": trainer.metrics[j]["val_perplexity"]}
            for j in jobs]
    best = min(jobs, key=lambda j: trainer.metrics[j]["val_perplexity"])
    for g, j in zip(grid, jobs):
        g["chosen"] = j == best
    trainer.log(f"[mao] {what}: chose {best.name.split('/')[0]} on validation perplexity")
    return best, grid


def tune(trainer: Trainer, cfg: StudyConfig) -> tuple[float, dict[str, float], list[dict]]:
    """(lr, {variant: lambda}, grid rows): lr on Model A's validation perplexity, then lambda of B and of C."""
    grid: list[dict] = []
    lr = cfg.lr_grid[0]
    if len(cfg.lr_grid) > 1:
        lr_variant = "A" if "A" in cfg.variants else cfg.variants[0]
        best, rows = _choose(trainer, [Job(lr_variant, x, 1.0, 1.0, 0) for x in cfg.lr_grid], "learning rate")
        lr, grid = best.lr, grid + rows
    lams = {}
    tuned = [v for v in ("B", "C") if v in cfg.variants]
    if len(cfg.lam_grid) == 1:
        return lr, {v: cfg.lam_grid[0] for v in tuned}, grid
    trainer.run([Job(v, lr, x, 1.0, 0) for v in tuned for x in cfg.lam_grid])  # both grids at once: workers kept busy
    for v in tuned:
        best, rows = _choose(trainer, [Job(v, lr, x, 1.0, 0) for x in cfg.lam_grid], f"lambda of {v}")
        lams[v], grid = best.lam, grid + rows
    return lr, lams, grid


def plan(cfg: StudyConfig, lr: float, lams: dict[str, float], curve: tuple[str, ...]) -> list[Job]:
    """Every model of the study once the hyper-parameters are chosen."""
    jobs = [Job(v, lr, lams.get(v, 1.0), 1.0, s) for s in range(cfg.seeds) for v in cfg.variants]
    jobs += [Job(v, lr, lams.get(v, 1.0), f, s) for f in cfg.fractions if f < 1.0 for s in range(cfg.seeds)
             for v in curve]
    return jobs


def run_study(corpus_dir: str | Path, features_path: str | Path | None, out_dir: str | Path,
              cfg: StudyConfig = StudyConfig(), log: Callable[[str], None] = print,
              progress: Progress | None = None) -> dict:
    """Tune, train every (variant, fraction, seed), evaluate, test the findings; write results.json/.md."""
    cfg.validate()
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tset, sources = test_split_triplets(corpus_dir)
    write_tsv(tset.triplets, out / "triplets.tsv")
    log(f"[mao] {len(tset)} test-split triplets: " + ", ".join(f"{s} {i['triplets']}" for s, i in sources.items()))
    trainer = Trainer(Path(corpus_dir), None if features_path is None else Path(features_path), out, cfg, log,
                      progress)
    n_bc = sum(v in cfg.variants for v in ("B", "C"))
    trainer.total = (len(cfg.lr_grid) if len(cfg.lr_grid) > 1 else 0) + \
        (n_bc * len(cfg.lam_grid) if len(cfg.lam_grid) > 1 else 0)
    lr, lams, grid = tune(trainer, cfg)
    bc = [v for v in ("B", "C") if v in cfg.variants]
    best_bc = min(bc, key=lambda v: trainer.metrics[Job(v, lr, lams[v], 1.0, 0)]["val_perplexity"]) \
        if bc and all(Job(v, lr, lams[v], 1.0, 0) in trainer.metrics for v in bc) else (bc[0] if bc else None)
    curve = tuple(v for v in (*CURVE_BASE, best_bc) if v and v in cfg.variants)
    jobs = plan(cfg, lr, lams, curve)
    trainer.total = len(trainer.metrics) + len([j for j in dict.fromkeys(jobs) if j not in trainer.metrics])
    trainer.run(jobs)
    result = evaluate(trainer, jobs, tset, cfg, curve)
    result.update(corpus=str(corpus_dir), triplets="test-split-triplets", triplet_count=len(tset),
                  triplet_sources=sources, seeds=cfg.seeds, fractions=list(cfg.fractions), lr=lr,
                  lambdas=lams, tuning=grid, curve_variants=list(curve), best_bc=best_bc,
                  train_settings=cfg.train_overrides, test="crossed_paired_test",
                  model_dirs={v: f"runs/{Job(v, lr, lams.get(v, 1.0), 1.0, 0).name}" for v in cfg.variants},
                  experiment="mao-study", workers=trainer.workers, threads=trainer.threads,
                  models_trained=len(trainer.metrics), seconds=time.perf_counter() - t0)
    write_outputs(result, out)
    return result


def reproduce_mao(opts: MaoRun = MaoRun(), out: str | Path = "runs/mao", *, log: Callable[[str], None] = print,
                  progress: Progress | None = None) -> tuple[dict, str]:
    """`mmwe reproduce mao` as one call: (result, its markdown). The study (`run_study`) runs when ``seeds`` is
    given or ``corpus`` names built-in corpora other than openmoji ("all": every one); else one seed as
    `mmwe.experiments.mao.run`. Every setting is checked before any work."""
    corpus, features, seeds = opts.corpus, opts.features, opts.seeds
    names = tuple(opts.variants)
    overrides = {} if opts.paper_settings else dict(SMALL_CORPUS_OVERRIDES)
    if opts.epochs is not None:
        overrides["epochs"] = opts.epochs
    spec = parse_spec(corpus or "openmoji")  # a folder or built-in names (mmwe.corpus.ensure)
    base = None if opts.baseline == "none" else opts.baseline
    if seeds is None and (spec.folder is not None or spec.names == ("openmoji",)):
        cfg = MaoConfig(variants=names, triplets=opts.triplets, baseline=base, train_overrides=overrides,
                        lam=opts.lam, seed=opts.seed)
        for n in names:
            variant_config(n, cfg)  # unknown variant / setting: fail before any work
        if spec.folder is None:
            cdir, auto = prepare_corpus(spec, out, log, progress=progress)
            features = features or auto
        else:
            cdir = spec.folder
        result = run(cdir, features, out, cfg, log=log, progress=progress)
        return result, markdown(result)
    scfg = StudyConfig(variants=names, seeds=1 if seeds is None else seeds,
                       fractions=tuple(opts.fractions), lr_grid=tuple(opts.lr_grid),
                       lam_grid=tuple(opts.lambda_grid), baseline=base,
                       train_overrides=overrides, workers=opts.workers).validate()
    cdir, auto = (spec.folder, None) if spec.folder is not None else prepare_corpus(spec, out, log, progress=progress)
    result = run_study(cdir, features or auto, out, scfg, log=log, progress=progress)
    return result, markdown(result)
