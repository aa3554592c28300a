"""Training the models of the reproduction: a job is (variant, lr, lambda, training fraction, seed); the trainer
runs jobs (in worker processes when asked), keeps every finished model under ``out/runs`` and reuses it."""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from mmwe.lm import TrainConfig, Trained, train_lm
from mmwe.vectors import Vectors
from mmwe.vectors import load as load_vectors

from .config import MaoConfig, StudyConfig, variant_config
from .data import subset_corpus


def trained_vectors(model_dir: str | Path) -> Vectors:
    """The input word embeddings of a model trained earlier into ``model_dir`` (its vectors.txt, read by
    mmwe.vectors: float32 written in shortest round-trip form, so read back bit for bit, as `train_lm` returned)."""
    return load_vectors(str(Path(model_dir) / "vectors.txt"))


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


def _train_job(corpus: str, features: str | None, tcfg: TrainConfig, out: str) -> Trained:
    """Train one model into ``out`` (a process-pool task; a finished folder is reused, a torn one restarted)."""
    done = Path(out) / "metrics.json"
    if done.is_file() and (Path(out) / "vectors.txt").is_file():
        return Trained(trained_vectors(out), json.loads(done.read_text(encoding="utf-8")))
    shutil.rmtree(out, ignore_errors=True)
    return train_lm(corpus, features, tcfg, out)


class Trainer:
    """Runs jobs (in ``workers`` processes when > 1), caching every finished model under ``out/runs``."""

    def __init__(self, corpus: Path, features: Path | None, out: Path, cfg: StudyConfig, log, progress):
        self.corpus, self.features, self.out, self.cfg, self.log, self.progress = corpus, features, out, cfg, log, \
            progress
        self.metrics: dict[Job, dict] = {}
        self.vectors: dict[Job, Vectors] = {}  # each job's trained input embeddings
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

    def _finish(self, job: Job, result: Trained) -> None:
        self.vectors[job], self.metrics[job] = result
        metrics = result.metrics
        self.done += 1
        self.log(f"[mao] {job.name}: val perplexity {metrics['val_perplexity']:.1f}, {metrics['epochs']} epochs")
        if self.progress is not None:
            self.progress(self.done, self.total, "models")
