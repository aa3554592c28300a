"""Reproduction of Collell & Moens (ACL 2018), "Do Neural Network Cross-Modal Mappings Really Bridge Modalities?"

Experiment 1: learn image-to-text (I->T) and text-to-image (T->I) maps f (``lin`` and ``nn``) and compare the
neighbourhood structure of the mapped vectors f(X) with that of the inputs X and of the targets Y by the mean
nearest-neighbour overlap (mNNO). The paper's finding: mNNO(X, f(X)) > mNNO(Y, f(X)), i.e. the mapped vectors
keep the input's neighbourhoods more than they acquire the target's. Beside mNNO we measure what maps are used
for: cross-modal retrieval (mAP with shared labels, R@k of the paired item) and zero-shot tagging.

Experiment 2: apply *untrained* maps to word vectors and to visual vectors and check whether their
word-similarity correlations change (Steiger's test for dependent correlations).

Protocol (authors' released code, github.com/gcollell/neural_cross_modal_maps; differences marked "ours"):

* inputs are used raw (no normalisation); MSE loss, Adam, batch 128, 50 epochs, no early stopping, no dropout;
  ``nn`` has one ReLU hidden layer of 512 units for VGG-128 features and 1024 otherwise; learning rate 1e-4
  for I->T (``lin`` only on IAPR TC-12, both maps on ImageNet), else 1e-3 (``MapConfig.collell``).
* mNNO with K=10 (the paper; the code's default is 30), cosine; the code finds neighbours with sklearn
  ``kneighbors`` on the fitted set itself, so each point is its own first neighbour: ``include_self=True``.
* ours: only the IAPR TC-12 *test* split is public, so both datasets use 5-fold cross-validation and mNNO,
  MSE and R^2 are computed once on the concatenated out-of-fold predictions of all N rows (the authors: the
  fixed test split for IAPR; per-fold scores for ImageNet). Folds are ``np.array_split`` of a seeded
  permutation, so every row is held out once (the authors' folds leave ``N mod 5`` rows out).
* ours: a CV training fold of IAPR TC-12 holds 1,570 rows against the authors' 17,665 training images, so
  their 50 epochs are ~650 Adam steps here against their ~6,900; ``--epochs 560`` matches their step count.
* ours: mini-batches are reshuffled every epoch (the authors' code walks the rows in a fixed order), and
  the authors evaluate every epoch; we report the state after the last one.
* ours: "ImageNet" here is the 1000 ImageNet-1k classes: GloVe-6B-50d of the class lemma vs the class's row
  of a real EfficientNet-Lite0 classifier (see ``mmwe.datasets.imagenet``), not the authors' ImageNet concept set.
* ours: "words" is every word with a visual word vector (``mmwe.datasets.visual_words``: the mean feature of the
  images of a corpus whose description contains it, >= 3 images) and a GloVe-6B-50d vector: X / Y are its GloVe
  and visual vectors, with the learning rates of IAPR TC-12 (1e-4 for the linear I->T map, else 1e-3).
* ours: experiment 2's visual rows are those visual word vectors, one set per CNN (``visual``), beside the
  ImageNet classifier rows of the class lemmas (kept as a third visual source: they cover few pairs).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import r2_score

from mmwe.datasets import PairedData
from mmwe.datasets.iaprtc12 import iapr_item_names, load_iaprtc12
from mmwe.datasets.imagenet import class_lemma_vectors, load_imagenet
from mmwe.datasets.visual_words import paired_words
from mmwe.datasets.wordsim import BUILTIN_BENCHMARKS, load_benchmark
from mmwe.errors import MmweError
from mmwe.experiments.visual_word_source import VisualWordsConfig, check_cnns, visual_words
from mmwe.fileio import atomic_write, json_ready
from mmwe.maps import MapConfig, fit_map, untrained_map
from mmwe.metrics.overlap import chance_overlap, mnno
from mmwe.metrics.retrieval import (
    CSLS_K,
    cosine_scores,
    csls_from_cosines,
    label_relevance,
    mean_average_precision,
    precision_at_k,
    recall_at_k,
    topk_accuracy,
)
from mmwe.metrics.wordsim import compare, evaluate, pair_similarities
from mmwe.neighbor_sets import neighbour_set, write_neighbour_set
from mmwe.progress import Progress
from mmwe.threads import thread_limit
from mmwe.validation import check, check_choice
from mmwe.vectors import Vectors
from mmwe.vectors import load as load_vectors

PROTOCOL = (__doc__ or "").split("Protocol", 1)[-1].strip()  # saved with every result (report.md shows it)
DATASETS = ("iaprtc12", "imagenet", "words")
DIRECTIONS = ("I->T", "T->I")
MAP_MODELS = ("lin", "nn")



@dataclass
class CollellConfig:
    """One reproduction run (experiment 1 or 2)."""

    exp: int = 1  # experiment: 1 (mNNO of trained maps) or 2 (untrained maps and word similarity)
    dataset: str = "imagenet"  # experiment 1 data: "imagenet" (ships with mmwe), "iaprtc12" (needs data_dir), "words"
    data_dir: str | None = None  # folder holding the IAPR TC-12 CSVs (or its parent); iaprtc12 only
    folds: int = 5  # cross-validation folds; each row is predicted by the map not trained on it
    k: int = 10  # neighbours in mNNO (the paper's K)
    metric: str = "cosine"  # neighbour metric for mNNO: "cosine" or "euclidean"
    include_self: bool = True  # authors' code counts each point among its own K neighbours
    epochs: int | None = None  # training epochs; None = the authors' 50
    maps: tuple[str, ...] = MAP_MODELS  # which maps to fit
    directions: tuple[str, ...] = DIRECTIONS  # which directions to fit
    word_vectors: str = "glove-6b-50d"  # text side of the ImageNet concepts, and words of experiment 2
    recall_ks: tuple[int, ...] = (1, 5, 10)  # R@k of the paired item
    seed: int = 0  # folds and map initialisation (fold f uses seed + f)
    threads: int | None = 1  # torch/BLAS threads per map fit (small maps run fastest on 1); None = leave torch's
    workers: int | None = None  # map fits run at once, one per thread; None = the cores available; same results
    explorer_items: int = 500  # items kept in neighbors.json for the report's explorer (0 = none)
    ci_boot: int = 200  # bootstrap resamples of the Spearman CIs of experiment 2 (0 = no CIs)
    visual: tuple[str, ...] = ("efficientnet-lite0",)  # CNNs of the visual word vectors (words: the first only)
    corpus: str | None = None  # visual words' corpus: folder or built-in names joined by "+"; None: "openmoji"
    #                            for dataset "words", no visual-word rows in experiment 2
    cache_dir: str = "runs/cache"  # built-in corpora and their features, built / extracted once
    min_images: int = 3  # a visual word needs this many images

    def words_source(self) -> VisualWordsConfig:
        """Where the visual word vectors come from (``mmwe.experiments.visual_word_source``)."""
        return VisualWordsConfig(corpus=self.corpus or "openmoji", cache_dir=self.cache_dir,
                                 min_images=self.min_images)

    def validate(self) -> CollellConfig:
        """Raise MmweError on a setting that cannot work; return self."""
        check(self.exp in (1, 2), f"expected experiment 1 or 2, got {self.exp!r}")
        check_choice("dataset", self.dataset, DATASETS)
        check(self.metric in ("cosine", "euclidean"), f"expected metric 'cosine' or 'euclidean', got {self.metric!r}")
        check(self.folds >= 2, f"expected at least 2 folds, got {self.folds}")
        check(self.workers is None or self.workers >= 1,
              f"expected workers >= 1 (or None for the available cores), got {self.workers}")
        check(self.explorer_items >= 0 and self.ci_boot >= 0,
              f"expected explorer_items >= 0 and ci_boot >= 0, got {self.explorer_items}, {self.ci_boot}")
        check(self.k >= 1 and (self.epochs is None or self.epochs >= 1),
              f"expected k >= 1 and epochs >= 1, got k={self.k}, epochs={self.epochs}")
        for d in self.directions:
            check_choice("direction", d, DIRECTIONS)
        for m in self.maps:
            check_choice("map", m, MAP_MODELS)
        check_cnns(self.visual)
        check(not (self.exp == 1 and self.dataset == "words" and len(self.visual) != 1),
              f"expected one --visual CNN for dataset words, got {len(self.visual)}; fix: run once per CNN")
        if (self.exp == 1 and self.dataset == "words") or (self.exp == 2 and self.corpus is not None):
            self.words_source().validate()
        return self


# ---------------------------------------------------------------------------------------------- data


def load_dataset(cfg: CollellConfig, progress: Progress | None = None,
                 log: Callable[[str], None] = print) -> PairedData:
    """The paired data of experiment 1 ("words": builds the corpus / extracts features first when needed)."""
    if cfg.dataset == "iaprtc12":
        return load_iaprtc12(cfg.data_dir)
    if cfg.dataset == "words":
        vec, stats = visual_words(cfg.words_source(), cfg.visual[0], log=log, progress=progress)
        data = paired_words(vec, load_vectors(cfg.word_vectors), visual_name=cfg.visual[0])
        data.info.update(visual_cnn=cfg.visual[0], corpus=cfg.words_source().corpus, images=stats["images"],
                         images_with_features=stats["images_with_features"], min_images=stats["min_images"])
        return data
    return load_imagenet(cfg.word_vectors)


# ------------------------------------------------------------------------------- cross-validation


def kfold_indices(n: int, folds: int, seed: int = 0) -> list[np.ndarray]:
    """Held-out row indices of each fold: a seeded permutation cut into ``folds`` near-equal parts.

    Every row is held out exactly once; fold sizes differ by at most one.
    """
    if not 2 <= folds <= n:
        raise MmweError(f"expected 2 <= folds <= rows, got {folds} folds for {n} rows")
    perm = np.random.default_rng(seed).permutation(n)
    return [np.sort(part) for part in np.array_split(perm, folds)]


def out_of_fold_predictions(X: np.ndarray, Y: np.ndarray, test_folds: list[np.ndarray],
                            fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray],
                            progress: Progress | None = None) -> np.ndarray:
    """(N, dy): row i predicted by the map trained on every fold but the one holding i.

    ``fit_predict(X_train, Y_train, X_test, fold) -> predictions for X_test``; ``progress(done, total, "folds")``
    after each fold.
    """
    F = np.full((X.shape[0], Y.shape[1]), np.nan, dtype=np.float32)
    for f, test in enumerate(test_folds):
        train = np.setdiff1d(np.arange(X.shape[0]), test, assume_unique=True)
        F[test] = fit_predict(X[train], Y[train], X[test], f)
        if progress is not None:
            progress(f + 1, len(test_folds), "folds")
    assert not np.isnan(F).any(), "folds must cover every row"
    return F


def map_config(data: PairedData, direction: str, model: str, cfg: CollellConfig, fold: int):
    """The authors' hyper-parameters for this dataset / direction / map (param_utils.py of their code)."""
    code_dir = "i2t" if direction == "I->T" else "t2i"
    over: dict = {"seed": cfg.seed + fold}
    if cfg.epochs is not None:
        over["epochs"] = cfg.epochs
    if data.name == "imagenet":  # authors: lr 1e-4 for i2t, 1e-3 for t2i, whatever the map
        over["lr"] = 1e-4 if code_dir == "i2t" else 1e-3
    return MapConfig.collell(model, direction=code_dir, visual=data.visual, **over)


# ---------------------------------------------------------------------------------------- metrics


def regression_scores(Y: np.ndarray, F: np.ndarray) -> dict:
    """MSE (mean over rows of the per-row mean squared error) and R^2 variance-weighted over the outputs (sklearn's
    ``multioutput="variance_weighted"``: 1 - total residual / total variance, so that near-constant target
    dimensions cannot drive it to -1000s as the uniform mean of per-dimension R^2 does)."""
    return {"mse": float(np.mean((F.astype(np.float64) - Y) ** 2)),
            "r2": float(r2_score(Y, F, multioutput="variance_weighted"))}


def retrieval_scores(data: PairedData, direction: str, Y: np.ndarray, F: np.ndarray, ks) -> dict:
    """Rank every target Y by cosine to each f(x), then by CSLS (k = 10, MUSE; ``csls_`` keys): R@k of the paired
    item, mAP and P@k (labels: correct = the paired item or any item sharing a label), zero-shot top-k."""
    S = cosine_scores(F, Y)  # (N, N): query i = f(x_i), candidate j = y_j
    out = {k: v for k, v in recall_at_k(S, ks).items() if k != "n"}
    out["mAP"] = None  # key "map" is the map model
    correct = None
    if data.labels is not None:
        shared = label_relevance(data.labels, data.labels)
        out["mAP"] = mean_average_precision(S, shared)["map"]
        correct = shared | np.eye(len(shared), dtype=bool)  # several correct targets per item
    zero_shot = data.words is not None and direction == "I->T"  # the class word among all words
    for prefix in ("", "csls_"):
        if prefix:
            S = csls_from_cosines(S, CSLS_K, out=S)  # in place: no second (N, N) matrix
            out.update({f"csls_{k}": v for k, v in recall_at_k(S, ks).items() if k.startswith("r@")})
        p = precision_at_k(S, correct, ks) if correct is not None else {}
        out.update({f"{prefix}p@{k}": p.get(f"p@{k}") for k in ks})
        out[f"zs_{prefix}top1"] = out[f"zs_{prefix}top5"] = None
        if zero_shot:
            top = topk_accuracy(S, np.arange(S.shape[0]), ks=(1, 5))
            out[f"zs_{prefix}top1"], out[f"zs_{prefix}top5"] = top["top1"], top["top5"]
    return out


def sides(data: PairedData, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y): the map's input and target for a direction."""
    return (data.image, data.text) if direction == "I->T" else (data.text, data.image)


# ------------------------------------------------------------------------------------ experiment 1




def exp1_rows(data: PairedData, cfg: CollellConfig, progress: Progress | None = None,
              predictions: dict | None = None) -> list[dict]:
    """One row per (direction, map): mNNO triple, MSE, R^2 and retrieval scores on out-of-fold predictions.

    ``predictions``, when given, receives the out-of-fold f(X) of each row: ``{(direction, map): (N, dy)}``.
    """
    import torch

    # fork_rng: fit_map seeds torch's global generator inside its own fork_rng; fits in parallel threads would
    # restore each other's state, so the caller's is saved and restored here once, around all of them.
    with thread_limit(cfg.threads), torch.random.fork_rng(devices=[]):
        return _exp1_rows(data, cfg, progress, predictions)


def fit_workers(cfg: CollellConfig) -> int:
    """How many map fits run at once: ``cfg.workers``, else the cores this process may use."""
    if cfg.workers is not None:
        return cfg.workers
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def all_out_of_fold(data: PairedData, cfg: CollellConfig, folds: list[np.ndarray],
                    progress: Progress | None = None) -> dict:
    """``{(direction, map): (N, dy) out-of-fold f(X)}`` of every (direction, map, fold) fit.

    The fits are independent and seeded, so they run ``fit_workers(cfg)`` at a time in threads (torch releases
    the GIL in its kernels), each with ``cfg.threads`` torch threads: with the default 1, two fits on two cores
    beat one fit on two threads (these maps are too small to split), and every number is the same as one after
    another. Maps that draw from torch's global generator (dropout) run one after another.
    """
    n = data.image.shape[0]
    jobs = [(d, m, f) for d in cfg.directions for m in cfg.maps for f in range(len(folds))]
    configs = {job: map_config(data, job[0], job[1], cfg, job[2]) for job in jobs}

    def fit(job: tuple[str, str, int]) -> np.ndarray:
        d, _, f = job
        X, Y = sides(data, d)
        train = np.setdiff1d(np.arange(n), folds[f], assume_unique=True)
        return fit_map(X[train], Y[train], configs[job]).predict(X[folds[f]])  # (|fold|, dy)

    out = {(d, m): np.full((n, sides(data, d)[1].shape[1]), np.nan, np.float32) for d, m, _ in jobs}

    def store(done: int, job: tuple[str, str, int], pred: np.ndarray) -> None:
        d, m, f = job
        out[(d, m)][folds[f]] = pred
        if progress is not None:
            progress(done, len(jobs), f"{data.name} {d} {m} fold {f + 1}/{len(folds)}")

    workers = min(fit_workers(cfg), len(jobs))
    if workers == 1 or any(c.dropout > 0 for c in configs.values()):
        for done, job in enumerate(jobs, 1):
            store(done, job, fit(job))
    else:
        pool = ThreadPoolExecutor(workers, thread_name_prefix="mmwe-fit")
        try:
            futures = {pool.submit(fit, job): job for job in jobs}
            for done, fut in enumerate(as_completed(futures), 1):
                store(done, futures[fut], fut.result())
        finally:  # on an error or Ctrl-C, fits not started are dropped (running ones finish)
            pool.shutdown(wait=True, cancel_futures=True)
    assert not any(np.isnan(F).any() for F in out.values()), "folds must cover every row"
    return out


def _exp1_rows(data: PairedData, cfg: CollellConfig, progress: Progress | None, predictions: dict | None) -> list[dict]:
    cfg.validate()
    folds = kfold_indices(data.image.shape[0], cfg.folds, cfg.seed)
    nn_kw = dict(k=cfg.k, metric=cfg.metric, include_self=cfg.include_self)
    direct = mnno(data.image, data.text, **nn_kw)  # symmetric: the same for both directions
    fitted = all_out_of_fold(data, cfg, folds, progress)
    rows = []
    for direction in cfg.directions:
        X, Y = sides(data, direction)
        for model in cfg.maps:
            F = fitted[(direction, model)]
            if predictions is not None:
                predictions[(direction, model)] = F
            row = {"dataset": data.name, "direction": direction, "map": model,
                   "mnno_x_fx": mnno(X, F, **nn_kw), "mnno_y_fx": mnno(Y, F, **nn_kw), "mnno_x_y": direct}
            row.update(regression_scores(Y, F))
            row.update(retrieval_scores(data, direction, Y, F, cfg.recall_ks))
            row["input_closer"] = row["mnno_x_fx"] > row["mnno_y_fx"]
            rows.append(row)
    return rows


def run_exp1(cfg: CollellConfig, progress: Progress | None = None, log: Callable[[str], None] = print) -> dict:
    """Experiment 1 on ``cfg.dataset``: rows, config, data coverage and the verdict on the paper's finding."""
    cfg.validate()
    data = load_dataset(cfg, progress, log)
    predictions: dict = {}
    rows = exp1_rows(data, cfg, progress, predictions)
    if data.labels is not None:  # a random ranking's expected AP is about the share of relevant candidates
        data.info["chance_map"] = float(label_relevance(data.labels, data.labels).mean())
    return {
        "experiment": "collell-exp1",
        "config": dataclasses.asdict(cfg),
        "protocol": PROTOCOL,
        "data": data.info,
        "chance_mnno": chance_overlap(data.image.shape[0], cfg.k, include_self=cfg.include_self),
        "rows": rows,
        "finding_holds": all(r["input_closer"] for r in rows),
        # in memory only (keys starting with "_" are not saved in results.json): save_run writes neighbors.json
        "_explorer": explorer_set(data, predictions, rows, cfg) if cfg.explorer_items else None,
    }


def explorer_set(data: PairedData, predictions: dict, rows: list[dict], cfg: CollellConfig) -> dict:
    """The report explorer's neighbour lists: image, text and every map's out-of-fold f(X), capped items."""
    names = data.words if data.words is not None else iapr_item_names(data.labels or [[]] * data.image.shape[0])
    spaces = {"image": data.image, "text": data.text}
    views = []
    for r in rows:
        d, m = r["direction"], r["map"]
        x, y = ("image", "text") if d == "I->T" else ("text", "image")
        spaces[f"f {d} {m}"] = predictions[(d, m)]
        views.append({"label": f"{d} {m}", "columns": [x, y, f"f {d} {m}"],
                      "headers": [f"X = {x}", f"Y = {y}", f"f(X), {m} map {d}"],
                      "mnno": {"x_fx": r["mnno_x_fx"], "y_fx": r["mnno_y_fx"]}})
    note = (f"Items: {'ImageNet classes' if data.name == 'imagenet' else 'words'} by their word."
            if data.words is not None else
            "Items: IAPR TC-12 images by row number and label ids (the data ships no label words; "
            "`mmwe report --label-names FILE` spells them).")
    return neighbour_set(title=f"{data.name}: image, text and mapped vectors", names=names, spaces=spaces,
                         views=views, k=cfg.k, metric=cfg.metric, include_self=cfg.include_self,
                         cap=cfg.explorer_items, order="sample", seed=cfg.seed,
                         labels=data.labels, note=note)


# ------------------------------------------------------------------------------------ experiment 2

MIN_PAIRS = 10  # below this many covered pairs a correlation is not reported (n/a), only the coverage
SIMILARITIES = ("cosine", "euclidean")


def untrained_pair(in_dim: int, out_dim: int, code_dir: str, cfg: CollellConfig) -> dict:
    """The untrained f_lin and f_nn of the authors' architecture (1024 hidden units: not VGG features)."""
    return {m: untrained_map(in_dim, out_dim, MapConfig.collell(m, direction=code_dir, visual="efficientnet-lite0",
                                                                  seed=cfg.seed)) for m in cfg.maps}


def exp2_embedding_rows(name: str, vectors, out_dim: int, code_dir: str, benchmarks: dict,
                        cfg: CollellConfig) -> list[dict]:
    """Rows (benchmark x similarity) of one embedding: original vs untrained-mapped Spearman, Steiger p.

    Only pairs with both words in the vocabulary are scored (no imputation): ``found`` is the coverage.
    With ``cfg.ci_boot`` resamples, ``<column>_ci_low`` / ``<column>_ci_high`` hold percentile bootstrap 95%
    intervals of each Spearman (resampled pairs; for the report's error bars).
    """
    needed = sorted({w for b in benchmarks.values() for pair in b.pairs for w in pair if w in vectors})
    sub = vectors.subset(needed)  # the map is row-wise: mapping only the benchmark words is enough
    mapped = {m: Vectors(sub.words, f.predict(sub.matrix), source=f"untrained f_{m}({name})")
              for m, f in untrained_pair(sub.dim, out_dim, code_dir, cfg).items()}
    rows = []
    for bname, bench in benchmarks.items():
        found = int(pair_similarities(sub, bench)[1].sum())
        for sim in SIMILARITIES:
            row = {"embedding": name, "benchmark": bname, "similarity": sim, "pairs": len(bench.pairs),
                   "found": found, "original": None}
            for m in cfg.maps:
                row[f"f_{m}"] = row[f"p_{m}"] = None
            if found >= MIN_PAIRS:
                for m, mv in mapped.items():
                    c = compare(sub, mv, bench, similarity=sim)
                    row["original"], row[f"f_{m}"], row[f"p_{m}"] = c["spearman_a"], c["spearman_b"], c["p"]
                if cfg.ci_boot:
                    for col, v in (("original", sub), *((f"f_{m}", mv) for m, mv in mapped.items())):
                        e = evaluate(v, bench, similarity=sim, ci=True, n_boot=cfg.ci_boot, seed=cfg.seed)
                        row[f"{col}_ci_low"], row[f"{col}_ci_high"] = e["ci_low"], e["ci_high"]
            rows.append(row)
    return rows


def run_exp2(cfg: CollellConfig, progress: Progress | None = None, log: Callable[[str], None] = print) -> dict:
    """Experiment 2: untrained maps on GloVe (-> 1280-d), on the visual word vectors of each CNN of ``cfg.visual``
    when ``cfg.corpus`` is set, and on ImageNet classifier rows (-> 50-d)."""
    cfg.validate()
    benchmarks = {name: load_benchmark(name) for name in BUILTIN_BENCHMARKS}
    words = load_vectors(cfg.word_vectors)
    visual = class_lemma_vectors()
    plan = [(cfg.word_vectors, words, visual.dim, "t2i")]
    word_sets = {}
    if cfg.corpus is not None:
        for cnn in cfg.visual:
            vec, stats = visual_words(cfg.words_source(), cnn, log=log, progress=progress)
            name = f"{cnn} words"
            plan.append((name, vec, words.dim, "i2t"))
            word_sets[name] = {k: stats[k] for k in ("cnn", "corpus_spec", "words_kept", "images",
                                                     "images_with_features", "min_images", "aggregate")}
    plan.append(("efficientnet-lite0-fc", visual, words.dim, "i2t"))
    rows = []
    for i, (name, vectors, out_dim, code_dir) in enumerate(plan):
        rows += exp2_embedding_rows(name, vectors, out_dim, code_dir, benchmarks, cfg)
        if progress is not None:
            progress(i + 1, len(plan), name)
    return {"experiment": "collell-exp2", "config": dataclasses.asdict(cfg), "protocol": PROTOCOL,
            "min_pairs": MIN_PAIRS, "visual_words": len(visual), "visual_word_sets": word_sets, "rows": rows}


# ---------------------------------------------------------------------------------------- one API


def run(cfg: CollellConfig, progress: Progress | None = None, log: Callable[[str], None] = print) -> dict:
    """Experiment ``cfg.exp`` (1 or 2): the result dict that :func:`save` writes. ``log`` gets one-line notes
    (a corpus built or features extracted for the visual words)."""
    return run_exp1(cfg, progress, log) if cfg.validate().exp == 1 else run_exp2(cfg, progress, log)


def save(result: dict, run_dir: str | os.PathLike) -> Path:
    """RUN_DIR/results.json and, for experiment 1, neighbors.json (the explorer's neighbour lists); creates RUN_DIR.

    The tables and pages are rendered from these files by :func:`mmwe.report.write_run_report`.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise MmweError("expected a run folder, got a file; fix: give a folder name", path=run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(run_dir / "results.json", "w", encoding="utf-8") as fh:
        json.dump(json_ready(result, drop_private=True), fh, indent=2)
        fh.write("\n")
    if result.get("_explorer"):
        write_neighbour_set(result["_explorer"], run_dir / "neighbors.json")
    return run_dir
