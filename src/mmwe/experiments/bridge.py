"""Maps that bridge modalities? The future work of Collell & Moens (ACL 2018), built and measured (issue 11).

The seed paper finds that mapped vectors keep the neighbourhoods of their input: mNNO(X, f(X)) > mNNO(Y, f(X)).
It names two cures, a discriminator and pairwise similarities in the loss. This experiment trains every loss of
``mmwe.maps`` (the seed's ``mse``, ``max-margin`` and ``cosine``; ``infonce``, ``similarity``, ``neighbourhood``,
``graph``, ``adversarial``) and the closed-form baselines ``procrustes`` and ``cca`` on the data and protocol
of experiment 1 (``mmwe.experiments.collell``), and asks whether any map lands *above the diagonal*:
mNNO(Y, f(X)) > mNNO(X, f(X)) out-of-fold, the bootstrap CI of the difference excluding zero, with R@10 at
least that of the MSE map of the same direction and model.

Protocol (differences from experiment 1 marked "bridge"):

* data, 5 outer folds, out-of-fold predictions, K = 10, cosine, self counted, the authors' map settings
  (``collell.map_config``: architecture, Adam lr, batch 128, epochs, no early stopping); a loss family changes
  only its loss fields. The closed forms are linear and run once per direction (rows with map ``lin``).
* bridge: each family has a small grid of settings (``GRIDS``; structure terms are paired with InfoNCE, the
  adversarial term with MSE, as a term without pairing leaves retrieval at chance). Inside each *training*
  fold a seeded share ``val_fraction`` is held out; every setting is fitted on the rest and scored on it, and
  the chosen setting is refitted on the whole training fold. The test fold is never used to choose. Rule: among
  the settings whose validation R@10 is at least that of the MSE map on the same split, the largest
  validation mNNO(Y, f(X)) - mNNO(X, f(X)); when none qualifies, the largest R@10. Rows report the setting
  chosen in each fold. With ``share_choice`` (default) an ``nn`` map takes the setting chosen for the ``lin``
  map of the same fold and direction: the grids are fitted with ``lin`` only, to keep the run short.
* bridge: ``gap`` = mNNO(Y, f(X)) - mNNO(X, f(X)) is the mean over items of the per-item difference of
  neighbour overlaps; its 95% CI is a percentile bootstrap over items (neighbour lists held fixed).
* bridge: ``goal`` = the CI's lower end > 0 and R@10 >= R@10 of the MSE row of the same direction and model.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmwe.datasets import PairedData
from mmwe.experiments import collell
from mmwe.experiments.collell import (
    kfold_indices,
    map_config,
    out_of_fold_predictions,
    regression_scores,
    retrieval_scores,
    sides,
)
from mmwe.maps import CLOSED_FORM, MapConfig, fit_map
from mmwe.metrics.overlap import chance_overlap
from mmwe.metrics.retrieval import cosine_scores, recall_at_k
from mmwe.metrics.stats import bootstrap_ci
from mmwe.neighbors import knn_many, overlap_counts
from mmwe.progress import Progress
from mmwe.threads import thread_limit
from mmwe.validation import check, check_choice

PROTOCOL = (__doc__ or "").split("Protocol", 1)[-1].strip()
DATASETS = ("iaprtc12", "imagenet", "words")
DIRECTIONS = collell.DIRECTIONS
MAP_MODELS = collell.MAP_MODELS
# Settings tried per family (MapConfig fields over the authors' ones); one entry = nothing to choose.
GRIDS: dict[str, list[dict]] = {
    "mse": [{}],
    "max-margin": [{"loss": "max-margin"}],
    "cosine": [{"loss": "cosine"}],
    "infonce": [{"loss": "infonce", "temperature": 0.05},
                {"loss": "infonce", "temperature": 0.07, "learn_temperature": True}],
    "similarity": [{"loss": "infonce=1,similarity=1"}, {"loss": "infonce=1,similarity=10"}],
    "neighbourhood": [{"loss": "infonce=1,neighbourhood=1"}, {"loss": "infonce=1,neighbourhood=3"}],
    "graph": [{"loss": "infonce=1,graph=1", "graph_k": 10}, {"loss": "infonce=1,graph=3", "graph_k": 10},
              {"loss": "infonce=1,graph=3", "graph_k": 30}],
    "adversarial": [{"loss": "mse=1,adversarial=0.1"}, {"loss": "mse=1,adversarial=1"}],
    "procrustes": [{"model": "procrustes"}],
    "cca": [{"model": "cca", "cca_components": 4}, {"model": "cca", "cca_components": 16}],
}
FAMILIES = tuple(GRIDS)


@dataclass
class BridgeConfig:
    """One run of the bridge experiment on one dataset."""

    dataset: str = "imagenet"  # "imagenet" (ships with mmwe), "iaprtc12" (needs data_dir), "words" (visual words)
    data_dir: str | None = None  # folder holding the IAPR TC-12 CSVs (or its parent); iaprtc12 only
    folds: int = 5  # outer cross-validation folds; each row is predicted by a map not trained on it
    k: int = 10  # neighbours in mNNO (the paper's K)
    metric: str = "cosine"  # neighbour metric for mNNO: "cosine" or "euclidean"
    include_self: bool = True  # each point counts among its own K neighbours (authors' code, experiment 1)
    epochs: int | None = None  # training epochs of lin / nn maps; None = the authors' 50
    losses: tuple[str, ...] = FAMILIES  # loss families and closed-form baselines to run (keys of GRIDS)
    maps: tuple[str, ...] = MAP_MODELS  # trained models; the closed forms run once, with "lin"
    directions: tuple[str, ...] = DIRECTIONS  # which directions to fit
    word_vectors: str = "glove-6b-50d"  # text side of the ImageNet concepts
    recall_ks: tuple[int, ...] = (1, 5, 10)  # R@k of the paired item
    val_fraction: float = 0.2  # share of each training fold held out to choose a family's settings
    share_choice: bool = True  # nn maps take the setting chosen for lin in the same fold (saves the nn grid fits)
    n_boot: int = 1000  # bootstrap resamples of the CI of mNNO(Y,f(X)) - mNNO(X,f(X)) (0 = no CI)
    seed: int = 0  # folds, inner splits and map initialisation (fold f uses seed + f)
    threads: int | None = 1  # torch / BLAS threads while fitting; None = leave the setting
    visual: str = "efficientnet-lite0"  # words: the CNN of the visual word vectors
    corpus: str | None = None  # words: corpus folder or built-in names joined by "+"; None: "openmoji"
    cache_dir: str = "runs/cache"  # words: built-in corpora and their features, built / extracted once
    min_images: int = 3  # words: a visual word needs this many images

    def validate(self) -> BridgeConfig:
        """Raise MmweError on a setting that cannot work; return self."""
        check_choice("dataset", self.dataset, DATASETS)
        check(self.metric in ("cosine", "euclidean"), f"expected metric 'cosine' or 'euclidean', got {self.metric!r}")
        check(self.folds >= 2 and self.k >= 1 and (self.epochs is None or self.epochs >= 1) and self.n_boot >= 0,
              f"expected folds >= 2, k >= 1, epochs >= 1, n_boot >= 0, got folds={self.folds}, k={self.k}, "
              f"epochs={self.epochs}, n_boot={self.n_boot}")
        check(0 < self.val_fraction < 1, f"expected 0 < val_fraction < 1, got {self.val_fraction}")
        for name, values, allowed in (("loss", self.losses, FAMILIES), ("direction", self.directions, DIRECTIONS),
                                      ("map", self.maps, MAP_MODELS)):
            for v in values:
                check_choice(name, v, allowed)
        self.collell_config().validate()  # words: the CNN and the corpus spec
        return self

    def collell_config(self) -> collell.CollellConfig:
        """The experiment-1 settings these maps share (data, K, epochs, seed)."""
        return collell.CollellConfig(exp=1, dataset=self.dataset, data_dir=self.data_dir, folds=self.folds,
                                     k=self.k, metric=self.metric, include_self=self.include_self,
                                     epochs=self.epochs, word_vectors=self.word_vectors, seed=self.seed,
                                     visual=(self.visual,), corpus=self.corpus, cache_dir=self.cache_dir,
                                     min_images=self.min_images)


# -------------------------------------------------------------------------------------- settings


def setting_label(over: dict) -> str:
    """A grid entry as text: its loss, then its other fields ("infonce=1,graph=3 (graph_k=30)")."""
    rest = {k: v for k, v in over.items() if k not in ("loss", "model")}
    head = over.get("model") if over.get("model") in CLOSED_FORM else over.get("loss", "mse")
    return head + (f" ({', '.join(f'{k}={v}' for k, v in rest.items())})" if rest else "")


def _lists(mats: list[np.ndarray], cfg: BridgeConfig) -> list[np.ndarray]:
    """Exact K-NN lists of several matrices (mmwe.neighbors, as mNNO uses them)."""
    return knn_many(mats, cfg.k, metric=cfg.metric, include_self=cfg.include_self)


def item_overlaps(NA: np.ndarray, NB: np.ndarray) -> np.ndarray:
    """Per-item neighbour overlap |NN_A(i) & NN_B(i)| / K; its mean is mNNO(A, B)."""
    return overlap_counts(NA, NB) / NA.shape[1]


def validation_scores(X: np.ndarray, Y: np.ndarray, F: np.ndarray, cfg: BridgeConfig) -> dict:
    """mNNO(X,F), mNNO(Y,F), their difference and R@10 of the paired item, on held-out rows."""
    NX, NY, NF = _lists([X, Y, F], cfg)
    x_fx, y_fx = float(item_overlaps(NX, NF).mean()), float(item_overlaps(NY, NF).mean())
    r10 = recall_at_k(cosine_scores(F, Y), (10,))["r@10"]
    return {"mnno_x_fx": x_fx, "mnno_y_fx": y_fx, "gap": y_fx - x_fx, "r@10": r10}


def choose(scores: list[dict], mse_r10: float) -> int:
    """Index of the chosen setting: the largest gap among those with R@10 >= the MSE map's, else the best R@10."""
    ok = [i for i, s in enumerate(scores) if s["r@10"] >= mse_r10]
    if ok:
        return max(ok, key=lambda i: (scores[i]["gap"], scores[i]["r@10"]))
    return max(range(len(scores)), key=lambda i: scores[i]["r@10"])


def inner_split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, validation rows) of a training fold: a seeded permutation, ``val_fraction`` held out."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = min(max(1, int(round(n * val_fraction))), n - 1)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


# ------------------------------------------------------------------------------------------ fitting


def _base_config(data: PairedData, direction: str, model: str, family: str, cfg: BridgeConfig, fold: int) -> MapConfig:
    """The authors' settings of experiment 1 for this map (closed forms: those of ``lin``)."""
    return map_config(data, direction, "lin" if family in CLOSED_FORM else model, cfg.collell_config(), fold)


def chosen_fit_predict(data: PairedData, direction: str, model: str, family: str, cfg: BridgeConfig,
                       cache: dict, log: list[dict]):
    """``fit_predict`` for collell.out_of_fold_predictions: per training fold, choose the family's setting on an
    inner validation split (``choose``), refit it on the whole training fold and map the test rows.

    ``cache`` holds the MSE map's validation R@10 per ("mse", direction, model, fold) and the index chosen per
    ("pick", direction, model, family, fold) (with ``cfg.share_choice``, nn reuses lin's); ``log`` receives one
    entry per fold: the chosen setting, every candidate's validation scores, the learned temperature if any.
    """
    grid = GRIDS[family]

    def fit_predict(Xtr: np.ndarray, Ytr: np.ndarray, Xte: np.ndarray, fold: int) -> np.ndarray:
        base = _base_config(data, direction, model, family, cfg, fold)
        entry: dict = {"fold": fold}
        shared = ("pick", direction, "lin", family, fold)
        pick = 0
        if len(grid) > 1 and cfg.share_choice and model != "lin" and shared in cache:
            pick = cache[shared]
            entry["shared_from"] = "lin"
        elif len(grid) > 1:
            fit, val = inner_split(len(Xtr), cfg.val_fraction, cfg.seed + 1000 + fold)
            key = ("mse", direction, model, fold)
            if key not in cache:
                mse_cfg = _base_config(data, direction, model, "mse", cfg, fold)
                F = fit_map(Xtr[fit], Ytr[fit], mse_cfg).predict(Xtr[val])
                cache[key] = validation_scores(Xtr[val], Ytr[val], F, cfg)["r@10"]
            scores = []
            for over in grid:
                F = fit_map(Xtr[fit], Ytr[fit], dataclasses.replace(base, **over)).predict(Xtr[val])
                scores.append({"setting": setting_label(over), **validation_scores(Xtr[val], Ytr[val], F, cfg)})
            pick = choose(scores, cache[key])
            cache[("pick", direction, model, family, fold)] = pick
            entry.update(mse_val_r10=cache[key], candidates=scores)
        fmap = fit_map(Xtr, Ytr, dataclasses.replace(base, **grid[pick]))
        entry["chosen"] = setting_label(grid[pick])
        if "temperature" in fmap.history:
            entry["learned_temperature"] = fmap.history["temperature"]
        log.append(entry)
        return fmap.predict(Xte)

    return fit_predict


def family_row(data: PairedData, direction: str, model: str, family: str, F: np.ndarray,
               lists: tuple[np.ndarray, np.ndarray], direct: float, cfg: BridgeConfig, log: list[dict]) -> dict:
    """One table row: mNNO triple, the gap with its bootstrap CI, regression and retrieval scores, choices."""
    X, Y = sides(data, direction)
    NX, NY = lists
    NF = _lists([F], cfg)[0]
    o_x, o_y = item_overlaps(NX, NF), item_overlaps(NY, NF)  # (N,), (N,)
    diff = o_y - o_x
    lo = hi = None
    if cfg.n_boot:
        lo, hi = bootstrap_ci(lambda idx: float(diff[idx].mean()), len(diff), n_boot=cfg.n_boot, seed=cfg.seed)
    chosen = [e["chosen"] for e in log]
    row = {"dataset": data.name, "direction": direction, "map": model, "loss": family,
           "chosen": Counter(chosen).most_common(1)[0][0], "chosen_per_fold": chosen,
           "mnno_x_fx": float(o_x.mean()), "mnno_y_fx": float(o_y.mean()), "mnno_x_y": direct,
           "gap": float(diff.mean()), "gap_ci_low": lo, "gap_ci_high": hi, "above": lo is not None and lo > 0}
    row.update(regression_scores(Y, F))
    row.update(retrieval_scores(data, direction, Y, F, cfg.recall_ks))
    temps = [e["learned_temperature"] for e in log if "learned_temperature" in e]
    if temps:
        row["learned_temperature"] = float(np.mean(temps))
    row["selection"] = log
    return row


def plan(cfg: BridgeConfig) -> list[tuple[str, str, str]]:
    """(direction, model, family) of every row; the closed forms once per direction, as ``lin``."""
    models = sorted(cfg.maps, key=MAP_MODELS.index)  # lin first: nn may reuse its choices
    return [(d, m, f) for d in cfg.directions for m in models for f in cfg.losses
            if f not in CLOSED_FORM or m == "lin"]


def bridge_rows(data: PairedData, cfg: BridgeConfig, progress: Progress | None = None) -> list[dict]:
    """Every row of ``plan(cfg)`` on ``data``, with ``r10_mse`` and ``goal`` filled in (see the module doc)."""
    cfg.validate()
    folds = kfold_indices(data.image.shape[0], cfg.folds, cfg.seed)
    NI, NT = _lists([data.image, data.text], cfg)
    direct = float(item_overlaps(NI, NT).mean())  # mNNO(X, Y): the same for both directions
    todo = plan(cfg)
    total, done, cache, rows = len(todo) * len(folds), 0, {}, []
    for direction, model, family in todo:
        X, Y = sides(data, direction)
        log: list[dict] = []

        def tick(folds_done, _folds, _fold_what, _what=f"{data.name} {direction} {model} {family}"):
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total, f"{_what} fold {folds_done}/{len(folds)}")

        t0 = time.perf_counter()
        F = out_of_fold_predictions(X, Y, folds, chosen_fit_predict(data, direction, model, family, cfg, cache, log),
                                    tick)
        lists = (NI, NT) if direction == "I->T" else (NT, NI)
        row = family_row(data, direction, model, family, F, lists, direct, cfg, log)
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
    return _mark_goal(rows)


def _mark_goal(rows: list[dict]) -> list[dict]:
    mse = {(r["direction"], r["map"]): r["r@10"] for r in rows if r["loss"] == "mse"}
    for r in rows:
        r["r10_mse"] = mse.get((r["direction"], r["map"]))
        r["goal"] = None if r["r10_mse"] is None else bool(r["above"] and r["r@10"] >= r["r10_mse"])
    return rows


# ---------------------------------------------------------------------------------------- one API


def run(cfg: BridgeConfig, progress: Progress | None = None, log: Callable[[str], None] = print) -> dict:
    """The bridge experiment on ``cfg.dataset``: the result dict that :func:`save` writes."""
    cfg.validate()
    data = collell.load_dataset(cfg.collell_config(), progress, log)
    t0 = time.perf_counter()
    with thread_limit(cfg.threads):
        rows = bridge_rows(data, cfg, progress)
    best = max(rows, key=lambda r: r["gap"])
    return {
        "experiment": "collell-bridge",
        "config": dataclasses.asdict(cfg),
        "protocol": PROTOCOL,
        "grids": {f: [setting_label(o) for o in GRIDS[f]] for f in cfg.losses},
        "data": data.info,
        "chance_mnno": chance_overlap(data.image.shape[0], cfg.k, include_self=cfg.include_self),
        "rows": rows,
        "goal_reached": any(r["goal"] for r in rows),
        "best": {k: best[k] for k in ("dataset", "direction", "map", "loss", "chosen", "mnno_x_fx", "mnno_y_fx",
                                      "gap", "gap_ci_low", "gap_ci_high", "r@10", "r10_mse")},
        "seconds": time.perf_counter() - t0,
    }


def save(result: dict, run_dir: str | os.PathLike) -> Path:
    """RUN_DIR/results.json (as collell.save; creates RUN_DIR). The report renders it."""
    return collell.save(result, run_dir)
