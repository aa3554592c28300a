"""Mao et al. (NIPS 2016) with statistical power: several seeds, a learning curve, tuned lr and lambda.

``run_study`` trains the paper's five variants with N seeds on one corpus (by default the union of every built-in
image-text corpus), evaluates them on triplets mined from the annotations of the corpus's *test-split* images,
and tests each finding of the paper with `mmwe.metrics.seeds.crossed_paired_test`: a t test on the seeds x
triplets matrix of paired differences whose variance counts both the seeds (training randomness) and the
triplets (test-set sampling). Why not McNemar on pooled outcomes, or per-seed McNemar combined: the S runs of a
model are scored on the *same* triplets, so their outcomes are not independent samples; pooling them (or
combining S per-seed p-values as if independent) treats S x N correlated outcomes as independent and overstates
the evidence, and a permutation over seeds alone has only 2^S sign patterns (p >= 1/16 at S = 5).

Hyper-parameters are chosen on validation perplexity only, at seed 0 on all the training sentences: the learning
rate on Model A, then lambda of B and of C at that rate; the chosen runs are reused as the seed-0 runs. The
learning curve trains puretext, A and the one of B/C with the lower validation perplexity on a seeded random
fraction of the training images (validation and test untouched).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from mmwe.corpus.debian import is_english, package_root, source_of, svg_metadata
from mmwe.corpus.openmoji import cldr_annotations
from mmwe.corpus.record import Record
from mmwe.corpus.store import ShardWriter, iter_records, read_manifest
from mmwe.corpus.tokenize import tokenize
from mmwe.datasets.triplets import MineConfig, TripletSet, mine_triplets, write_tsv
from mmwe.datasets.wordsim import load_benchmark
from mmwe.errors import MmweError
from mmwe.fileio import atomic_write
from mmwe.lm import TrainConfig, train
from mmwe.metrics import wordsim
from mmwe.metrics.seeds import crossed_paired_test, seed_bootstrap_ci
from mmwe.metrics.triplets import outcomes
from mmwe.progress import Progress
from mmwe.vectors import load as load_vectors

from .mao import (
    CLAIMS,
    PAPER_RP10K,
    SMALL_CORPUS_OVERRIDES,
    VARIANTS,
    WORDSIM_COLUMNS,
    MaoConfig,
    prepare_corpus,
    prepare_openmoji,
    variant_config,
)
from .mao import markdown as mao_markdown
from .mao import run as mao_run

ALL_SOURCES = ("openmoji", "openclipart", "gemojione", "art4apps", "tuxpaint")
CURVE_BASE = ("puretext", "A")  # plus the better of B / C on validation perplexity


def builtin_names(spec: str | None) -> tuple[str, ...] | None:
    """Built-in corpus names of a ``--corpus`` value ("all", or names joined by "+"); None for a folder / None."""
    if spec is None or Path(spec).exists():
        return None
    names = ALL_SOURCES if spec == "all" else tuple(x.strip() for x in spec.split("+") if x.strip())
    bad = [n for n in names if n not in ALL_SOURCES]
    if bad:
        raise MmweError(f"--corpus: expected a corpus folder, 'all' or built-in names joined by '+' "
                        f"({', '.join(ALL_SOURCES)}), got {spec!r} (no such folder, unknown name {bad[0]!r})")
    return names


def parse_floats(option: str, text: str) -> tuple[float, ...]:
    """'0.1,0.3,1' -> (0.1, 0.3, 1.0); a clear error naming ``option`` otherwise."""
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise MmweError(f"{option}: expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise MmweError(f"{option}: expected at least one number, got {text!r}")
    return values


@dataclass
class StudyConfig:
    """Seeds, fractions and grids of the study; training settings as `MaoConfig.train_overrides`."""

    variants: tuple[str, ...] = tuple(v[0] for v in VARIANTS)
    seeds: int = 5  # each variant trained with seeds 0 .. seeds-1
    fractions: tuple[float, ...] = (0.1, 0.3, 1.0)  # learning curve: share of training images (1.0 always runs)
    lr_grid: tuple[float, ...] = (0.1, 0.3, 1.0)  # chosen on Model A's validation perplexity
    lam_grid: tuple[float, ...] = (0.1, 1.0, 10.0)  # chosen for B and for C on their validation perplexity
    baseline: str | None = "glove-6b-50d"
    train_overrides: dict = field(default_factory=lambda: dict(SMALL_CORPUS_OVERRIDES))
    workers: int | None = None  # models trained at once (processes; None: one per core, 1 thread each)
    n_boot: int = 1000

    def validate(self) -> StudyConfig:
        known = {v[0] for v in VARIANTS}
        bad = [v for v in self.variants if v not in known]
        if bad:
            raise MmweError(f"unknown variant {bad[0]!r}; expected one of {', '.join(sorted(known))}")
        checks = [(self.seeds >= 1, "--seeds >= 1", self.seeds),
                  (bool(self.fractions) and all(0 < f <= 1 for f in self.fractions), "--fractions in (0, 1]",
                   self.fractions),
                  (bool(self.lr_grid) and all(x > 0 for x in self.lr_grid), "--lr-grid values > 0", self.lr_grid),
                  (bool(self.lam_grid) and all(x >= 0 for x in self.lam_grid), "--lambda-grid values >= 0",
                   self.lam_grid),
                  (self.workers is None or self.workers >= 1, "--workers >= 1", self.workers)]
        for ok, expected, got in checks:
            if not ok:
                raise MmweError(f"expected {expected}, got {got!r}; fix the option")
        if 1.0 not in self.fractions:
            self.fractions = (*self.fractions, 1.0)
        self.fractions = tuple(sorted(set(self.fractions)))
        for name in self.variants:
            variant_config(name, MaoConfig(train_overrides=self.train_overrides))  # unknown settings fail now
        return self


# -- corpus: the union of the built-in corpora, its features, its test triplets, training subsets --------------
def prepare_builtin(names: tuple[str, ...], work_dir: str | Path, log: Callable[[str], None] = print, *,
                    backend: str = "onnx", progress: Progress | None = None) -> tuple[Path, Path]:
    """Build (once) the union corpus of built-in ``names`` and its EfficientNet-Lite0 features under ``work_dir``;
    (corpus folder, features .npy). Both are reused when present."""
    return prepare_corpus(names, Path(work_dir) / ("corpus-" + "+".join(names)), log, backend=backend,
                          progress=progress)


def _annotations(key: str, image_path: str | None, sentence: str) -> tuple[str, str, tuple[str, ...]] | None:
    """(source, name, keyword phrases) of one image from its source's raw metadata; None when it has none."""
    src = source_of(key) or "openmoji"
    if src == "openmoji":
        ann = cldr_annotations().get(key)
        return None if ann is None else (src, ann[0], tuple(ann[1]))
    if src == "gemojione":
        ann = _gemojione_index().get(key.split(":", 1)[1])
        return None if ann is None else (src, *ann)
    if src == "openclipart" and image_path:
        text = svg_metadata(Path(image_path))
        stored = set(sentence.split())
        title = text.title if text.title and set(tokenize(text.title)) <= stored else ""  # collection titles dropped
        kws = tuple(k for k in text.keywords if tokenize(k) and is_english(k))
        return (src, title, kws) if title and is_english(title) else None
    return (src, sentence, ())  # art4apps, tuxpaint: a name only, no keywords


_GEMOJI: dict = {}


def _gemojione_index() -> dict[str, tuple[str, tuple[str, ...]]]:
    if not _GEMOJI:
        entries = json.loads((package_root("gemojione") / "config" / "index.json").read_text(encoding="utf-8"))
        for e in entries.values():
            if isinstance(e, dict) and isinstance(e.get("unicode"), str) and isinstance(e.get("name"), str):
                _GEMOJI[e["unicode"]] = (e["name"], tuple(k for k in e.get("keywords") or [] if isinstance(k, str)))
    return _GEMOJI


def test_split_triplets(corpus_dir: str | Path, *, seed: int = 0) -> tuple[TripletSet, dict]:
    """Triplets mined (`mine_triplets`, one click per keyword) per source from the name and keywords of the
    corpus's test-split images; (triplets, {source: {"images", "triplets", "note"?}})."""
    rows: dict[str, list] = {}
    images: dict[str, int] = {}
    for r in iter_records(corpus_dir, split="test"):
        ann = _annotations(r.image, r.image_path, r.sentences[0] if r.sentences else "")
        src = (source_of(r.image) or "openmoji") if ann is None else ann[0]
        images[src] = images.get(src, 0) + 1
        if ann is not None and ann[2]:
            rows.setdefault(src, []).extend((ann[1], r.image, kw, 1.0) for kw in ann[2])
    triplets, per_source = [], {}
    for src in sorted(images):
        info = {"images": images[src], "triplets": 0}
        try:
            if not rows.get(src):
                info["note"] = "no keyword annotations (a name only), so no positive phrase"
            else:
                got = mine_triplets(rows[src], MineConfig(seed=seed))
                info["triplets"] = len(got)
                triplets += got
        except MmweError as exc:  # e.g. art4apps: a name and no keywords, so no positive
            info["note"] = exc.message.split(";")[0]
        per_source[src] = info
    if not triplets:
        raise MmweError("expected triplets from the test-split images' keywords, got none from any source; use a "
                        "corpus with keyword annotations (openmoji, gemojione, openclipart)", path=corpus_dir)
    return TripletSet("test-split-triplets", triplets), per_source


def subset_corpus(corpus_dir: str | Path, fraction: float, seed: int, out: str | Path) -> Path:
    """A corpus folder with a seeded random ``fraction`` of the training images (val and test kept whole)."""
    out = Path(out)
    if (out / "manifest.json").is_file():
        return out
    recs = list(iter_records(corpus_dir))
    train_idx = [i for i, r in enumerate(recs) if r.split in (None, "train")]
    rng = np.random.default_rng([seed, int(round(fraction * 1e6))])
    keep = set(rng.permutation(len(train_idx))[:max(2, int(round(fraction * len(train_idx))))].tolist())
    kept_train = {train_idx[j] for j in keep}
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    writer = ShardWriter(tmp / "shards")
    for i, r in enumerate(recs):
        if r.split not in (None, "train") or i in kept_train:
            writer.add(Record(r.image, r.image_path, r.sentences, r.split))
    man = read_manifest(corpus_dir) | {"shards": writer.close(), "subset": {"of": str(corpus_dir),
                                                                            "train_fraction": fraction, "seed": seed,
                                                                            "train_images": len(kept_train)}}
    (tmp / "manifest.json").write_text(json.dumps(man, indent=2), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out


# -- training jobs -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """One model to train: a variant at a learning rate, lambda, training fraction and seed."""

    variant: str
    lr: float
    lam: float
    fraction: float
    seed: int

    @property
    def name(self) -> str:
        lam = f"-lam{self.lam:g}" if variant_config(self.variant, MaoConfig()).model in ("B", "C") else ""
        return f"{self.variant}-lr{self.lr:g}{lam}/f{self.fraction:g}/s{self.seed}"


def _train_job(corpus: str, features: str | None, tcfg: TrainConfig, out: str) -> dict:
    """Train one model into ``out`` (a process-pool task; a finished folder is reused, a torn one restarted)."""
    done = Path(out) / "metrics.json"
    if done.is_file() and (Path(out) / "vectors.txt").is_file():
        return json.loads(done.read_text(encoding="utf-8"))
    shutil.rmtree(out, ignore_errors=True)
    return train(corpus, features, tcfg, out)


class Trainer:
    """Runs jobs (in ``workers`` processes when > 1), caching every finished model under ``out/runs``."""

    def __init__(self, corpus: Path, features: Path | None, out: Path, cfg: StudyConfig, log, progress):
        self.corpus, self.features, self.out, self.cfg, self.log, self.progress = corpus, features, out, cfg, log, \
            progress
        self.metrics: dict[Job, dict] = {}
        self.done = 0
        self.total = 0
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self.workers = cores if cfg.workers is None else cfg.workers  # 2 cores: 1.38x the models/s of 1 x 2 threads
        self.threads = max(1, cores // self.workers)

    def dir(self, job: Job) -> Path:
        return self.out / "runs" / job.name

    def _corpus_of(self, job: Job) -> Path:
        if job.fraction >= 1.0:
            return self.corpus
        return subset_corpus(self.corpus, job.fraction, job.seed,
                             self.out / "subsets" / f"f{job.fraction:g}-s{job.seed}")

    def _config(self, job: Job) -> TrainConfig:
        mc = MaoConfig(train_overrides=self.cfg.train_overrides | {"lr": job.lr, "threads": self.threads},
                       lam=job.lam, seed=job.seed)
        return variant_config(job.variant, mc)

    def run(self, jobs: list[Job]) -> None:
        jobs = [j for j in dict.fromkeys(jobs) if j not in self.metrics]
        args = [(str(self._corpus_of(j)), None if self.features is None else str(self.features), self._config(j),
                 str(self.dir(j))) for j in jobs]
        if self.workers == 1 or len(jobs) <= 1:
            for j, a in zip(jobs, args):
                self._finish(j, _train_job(*a))
            return
        with ProcessPoolExecutor(min(self.workers, len(jobs)), mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_train_job, *a): j for j, a in zip(jobs, args)}
            for fut in as_completed(futures):
                self._finish(futures[fut], fut.result())

    def _finish(self, job: Job, metrics: dict) -> None:
        self.metrics[job] = metrics
        self.done += 1
        self.log(f"[mao] {job.name}: val perplexity {metrics['val_perplexity']:.1f}, {metrics['epochs']} epochs")
        if self.progress is not None:
            self.progress(self.done, self.total, "models")


# -- the study -----------------------------------------------------------------------------------------------
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
    with atomic_write(out / "results.json", "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=2)
    with atomic_write(out / "results.md", "w", encoding="utf-8") as fh:
        fh.write(markdown(result))
    return result


def _f(x, nd: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _p(p) -> str:
    return "–" if p is None else f"{p:.3g}"


def markdown(result: dict) -> str:
    """results.md of a study: the table (mean ± sd over seeds), the findings, the learning curve, the tuning."""
    src = ", ".join(f"{s} {i['triplets']} (of {i['images']} test images)" for s, i in result["triplet_sources"].items())
    lines = [f"Corpus: `{result['corpus']}`; {result['triplet_count']} triplets mined from the test-split images' "
             f"annotations: {src}.",
             f"Seeds: {result['seeds']}; lr {result['lr']:g} (chosen on Model A's validation perplexity); lambda "
             + (", ".join(f"{v} {x:g}" for v, x in result["lambdas"].items()) or "–")
             + " (chosen on validation perplexity). Test: crossed seeds x triplets t test (mmwe.metrics.seeds).",
             "",
             "| model | triplet acc. (mean ± sd over seeds) | 95% CI (triplets) | covered | p vs puretext | MEN | "
             "val ppl |",
             "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        sd = "" if r.get("sd") is None else f" ± {r['sd']:.3f}"
        lines.append(f"| {r['model']} | {_f(r['accuracy'])}{sd} | [{_f(r['ci_low'])}, {_f(r['ci_high'])}] | "
                     f"{r['covered']}/{r['triplets']} | {_p(r.get('p_vs_puretext'))} | {_f(r.get('men'))} | "
                     f"{_f(r.get('val_perplexity'), 1)} |")
    lines += ["", "Findings of the paper:", ""]
    for f in result["findings"]:
        lines.append(f"- {f['claim']}: **{f['verdict']}** ({_f(f['left'])} vs {_f(f['right'])} on {f['common']} "
                     f"common triplets, p = {_p(f['p'])}, better in {f['seed_wins']} of {f['seeds']} seeds).")
    lines += ["", "Learning curve (share of the training images):", "",
              "| model | fraction | train images | accuracy (mean ± sd) | covered |", "|---|---|---|---|---|"]
    for r in result["curve"]:
        sd = "" if r.get("sd") is None else f" ± {r['sd']:.3f}"
        lines.append(f"| {r['model']} | {r['fraction']:g} | {r.get('train_images', '–')} | {_f(r['accuracy'])}{sd} "
                     f"| {r['covered']}/{r['triplets']} |")
    lines += ["", "| fraction | A − puretext | p | common triplets |", "|---|---|---|---|"]
    for g in result["curve_gaps"]:
        lines.append(f"| {g['fraction']:g} | {_f(g['gap'])} | {_p(g['p'])} | {g['common']} |")
    if result.get("seconds") is not None:
        how = "" if "workers" not in result else \
            f" ({result['workers']} models at once, {result['threads']} thread(s) each)"
        lines += ["", f"Wall time: {result['seconds'] / 60:.1f} min for {result.get('models_trained', '?')} models"
                  f"{how}."]
    return "\n".join(lines) + "\n"


# -- evaluation ----------------------------------------------------------------------------------------------
def _cell(correct: np.ndarray, covered: np.ndarray, cfg: StudyConfig) -> dict:
    """Accuracy over seeds of one (variant, fraction): on the triplets every seed covers."""
    both = covered.all(axis=0)
    m = correct[:, both].astype(np.float64)  # (S, covered)
    accs = m.mean(axis=1) if both.any() else np.full(len(m), math.nan)
    lo, hi = seed_bootstrap_ci(m, n_boot=cfg.n_boot) if both.any() else (math.nan, math.nan)
    return {"accuracy": float(accs.mean()), "sd": float(accs.std(ddof=1)) if len(accs) > 1 else None,
            "per_seed": [float(a) for a in accs], "ci_low": lo, "ci_high": hi, "covered": int(both.sum()),
            "triplets": int(covered.shape[1])}


def _wordsim(vectors) -> dict:
    out = {}
    for bench in WORDSIM_COLUMNS:
        try:
            r = wordsim.evaluate(vectors, load_benchmark(bench), similarity="cosine")
            out[bench], out[bench + "_found"] = r["spearman"], r["found"]
        except MmweError:  # too few pairs covered by a small vocabulary: reported as missing
            out[bench], out[bench + "_found"] = None, 0
    return out


def evaluate(trainer: Trainer, jobs: list[Job], tset: TripletSet, cfg: StudyConfig, curve: tuple[str, ...]) -> dict:
    """Rows (100% of the data), findings, learning curve, from the trained vectors."""
    by_cell: dict[tuple[str, float], list[Job]] = {}
    for j in dict.fromkeys(jobs):
        by_cell.setdefault((j.variant, j.fraction), []).append(j)
    mats, rows, curve_rows = {}, [], []
    for (v, f), js in by_cell.items():
        js = sorted(js, key=lambda j: j.seed)
        res, ws = [], []
        for j in js:
            vec = load_vectors(str(trainer.dir(j) / "vectors.txt"))
            res.append(outcomes(vec, tset))
            if f >= 1.0:
                ws.append(_wordsim(vec))
        mats[(v, f)] = (np.stack([r[0] for r in res]), np.stack([r[1] for r in res]))
        cell = {"model": v, "fraction": f, **_cell(*mats[(v, f)], cfg),
                "val_perplexity": float(np.mean([trainer.metrics[j]["val_perplexity"] for j in js])),
                "epochs": float(np.mean([trainer.metrics[j]["epochs"] for j in js])),
                "train_images": int(trainer.metrics[js[0]].get("train_examples", 0)), "lr": js[0].lr,
                "lambda": js[0].lam if v in ("B", "C") else None}
        if f >= 1.0:
            for k in ws[0]:
                vals = [w[k] for w in ws if w[k] is not None]
                cell[k] = float(np.mean(vals)) if vals else None
            cell["paper_rp10k"] = PAPER_RP10K.get(v)
            rows.append(cell)
        else:
            curve_rows.append(cell)
    order = {v: i for i, v in enumerate(cfg.variants)}
    rows.sort(key=lambda r: order[r["model"]])
    if cfg.baseline:
        vec = load_vectors(cfg.baseline)
        c, cov = outcomes(vec, tset)
        mats[(cfg.baseline, 1.0)] = (c[None], cov[None])
        rows.append({"model": cfg.baseline, "fraction": 1.0, **_cell(c[None], cov[None], cfg), **_wordsim(vec),
                     "paper_rp10k": None})
    ref = mats.get(("puretext", 1.0))
    for r in rows:
        if ref is not None and r["model"] != "puretext":
            r["p_vs_puretext"] = _compare(mats[(r["model"], 1.0)], ref)["p"]
    curve_rows += [dict(r) for r in rows if r["model"] in curve]
    curve_rows.sort(key=lambda r: (order.get(r["model"], 99), r["fraction"]))
    gaps = [{"fraction": f, **_gap(mats[("A", f)], mats[("puretext", f)])} for f in cfg.fractions
            if ("A", f) in mats and ("puretext", f) in mats]
    return {"rows": rows, "findings": findings(mats), "curve": curve_rows, "curve_gaps": gaps}


def _compare(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> dict:
    """`crossed_paired_test` of a over b on the triplets both cover in every seed. A model with one run (the
    pretrained baseline) is compared with every seed of the other, on either side."""
    common = a[1].all(axis=0) & b[1].all(axis=0)
    if not common.any():
        return {"n": 0, "p": None, "mean_a": None, "mean_b": None, "diff": None, "per_seed_diff": []}
    A, B = a[0][:, common], b[0][:, common]
    if len(A) == 1 and len(B) > 1:  # test b over a, then turn the result round
        t = crossed_paired_test(B, A[0])
        t |= {"mean_a": t["mean_b"], "mean_b": t["mean_a"], "diff": -t["diff"], "t": -t["t"],
              "per_seed_diff": [-x for x in t["per_seed_diff"]]}
    else:
        t = crossed_paired_test(A, B[0] if len(B) == 1 else B)
    return {"n": int(common.sum()), **t}


def _gap(a, b) -> dict:
    t = _compare(a, b)
    return {"A": t["mean_a"], "puretext": t["mean_b"], "gap": t["diff"], "p": t["p"], "common": t["n"],
            "per_seed_gap": t["per_seed_diff"]}


def findings(mats: dict) -> list[dict]:
    """The paper's claims at 100% of the data, each with the crossed seeds x triplets test."""
    out = []
    for text, better, worse in CLAIMS:
        a, b = mats.get((better, 1.0)), mats.get((worse, 1.0))
        if a is None or b is None:
            continue
        t = _compare(a, b)
        if t["p"] is None:
            continue
        holds = t["diff"] > 0
        wins = sum(x > 0 for x in t["per_seed_diff"])
        verdict = ("holds" if holds else "does not hold") + ("" if t["p"] < 0.05 else " (difference not significant)")
        out.append({"claim": text, "holds": bool(holds), "left": t["mean_a"], "right": t["mean_b"], "diff": t["diff"],
                    "common": t["n"], "p": t["p"], "t": t.get("t"), "df": t.get("df"), "se": t.get("se"),
                    "seed_wins": wins, "seeds": len(t["per_seed_diff"]), "verdict": verdict})
    return out


def reproduce_mao(*, corpus: str | None = None, features: str | Path | None = None, out: str | Path = "runs/mao",
                  variants: str = "puretext,A-noshare,A,B,C", triplets: str = "cldr-triplets",
                  baseline: str = "glove-6b-50d", paper_settings: bool = False, epochs: int | None = None,
                  lam: float = 1.0, seed: int = 0, seeds: int | None = None, fractions: str = "0.1,0.3,1",
                  lr_grid: str = "0.1,0.3,1", lambda_grid: str = "0.1,1,10", workers: int | None = None,
                  log: Callable[[str], None] = print, progress: Progress | None = None) -> tuple[dict, str]:
    """`mmwe reproduce mao` as one call: (result, its markdown). The study (`run_study`) runs when ``seeds`` is
    given or ``corpus`` names built-in corpora other than openmoji ("all": every one); else one seed as
    `mmwe.experiments.mao.run`. Every option is checked before any work."""
    names = tuple(v.strip() for v in variants.split(",") if v.strip())
    overrides = {} if paper_settings else dict(SMALL_CORPUS_OVERRIDES)
    if epochs is not None:
        overrides["epochs"] = epochs
    builtin = builtin_names(corpus)  # None: a folder (or the default)
    base = None if baseline == "none" else baseline
    if seeds is None and builtin in (None, ("openmoji",)):
        cfg = MaoConfig(variants=names, triplets=triplets, baseline=base, train_overrides=overrides, lam=lam,
                        seed=seed)
        for n in names:
            variant_config(n, cfg)  # unknown variant / setting: fail before any work
        if corpus is None or builtin is not None:
            cdir, auto = prepare_openmoji(out, log, progress=progress)
            features = features or auto
        else:
            cdir = Path(corpus)
        result = mao_run(cdir, features, out, cfg, log=log, progress=progress)
        return result, mao_markdown(result)
    scfg = StudyConfig(variants=names, seeds=1 if seeds is None else seeds,
                       fractions=parse_floats("--fractions", fractions), lr_grid=parse_floats("--lr-grid", lr_grid),
                       lam_grid=parse_floats("--lambda-grid", lambda_grid), baseline=base,
                       train_overrides=overrides, workers=workers).validate()
    if builtin is not None or corpus is None:
        cdir, auto = prepare_builtin(builtin or ("openmoji",), out, log, progress=progress)
    else:
        cdir, auto = Path(corpus), None
    result = run_study(cdir, features or auto, out, scfg, log=log, progress=progress)
    return result, markdown(result)
