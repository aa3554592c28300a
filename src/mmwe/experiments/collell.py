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
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from mmwe.errors import MmweError

DATASETS = ("iaprtc12", "imagenet")
DIRECTIONS = ("I->T", "T->I")
MAP_MODELS = ("lin", "nn")
IAPR_FILES = {"text": "TS_lang_biGRU.csv", "image": "TS_vis_vgg128.csv"}

Progress = Callable[[int, int, str], None]  # (done, total, what) after each unit of work


@dataclass
class CollellConfig:
    """One reproduction run (experiment 1 or 2)."""

    dataset: str = "iaprtc12"  # "iaprtc12" or "imagenet" (experiment 1)
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
    threads: int | None = 1  # torch threads while fitting (these small maps ran ~10x faster on 1 than on 2
    #                          busy cores); None = leave torch's setting
    explorer_items: int = 500  # items kept in neighbors.json for the report's explorer (0 = none)
    ci_boot: int = 200  # bootstrap resamples of the Spearman CIs of experiment 2 (0 = no CIs)

    def validate(self) -> "CollellConfig":
        if self.dataset not in DATASETS:
            raise MmweError(f"expected dataset in {{{', '.join(DATASETS)}}}, got {self.dataset!r}")
        if self.metric not in ("cosine", "euclidean"):
            raise MmweError(f"expected metric 'cosine' or 'euclidean', got {self.metric!r}")
        if self.folds < 2:
            raise MmweError(f"expected at least 2 folds, got {self.folds}")
        if self.explorer_items < 0 or self.ci_boot < 0:
            raise MmweError(f"expected explorer_items >= 0 and ci_boot >= 0, got {self.explorer_items}, {self.ci_boot}")
        if self.k < 1 or (self.epochs is not None and self.epochs < 1):
            raise MmweError(f"expected k >= 1 and epochs >= 1, got k={self.k}, epochs={self.epochs}")
        for d in self.directions:
            if d not in DIRECTIONS:
                raise MmweError(f"expected direction in {{{', '.join(DIRECTIONS)}}}, got {d!r}")
        for m in self.maps:
            if m not in MAP_MODELS:
                raise MmweError(f"expected map in {{{', '.join(MAP_MODELS)}}}, got {m!r}")
        return self


@dataclass
class PairedData:
    """Row-paired image-side and text-side vectors of one dataset."""

    name: str  # dataset name
    image: np.ndarray  # (N, dv) visual vectors
    text: np.ndarray  # (N, dt) text vectors
    visual: str  # visual feature name ("vgg128" picks the authors' 512-unit hidden layer)
    labels: list[frozenset] | None = None  # label-id set per row (IAPR TC-12): relevance for mAP
    words: list[str] | None = None  # concept word per row (ImageNet)
    info: dict = field(default_factory=dict)  # provenance and coverage, reported with the results


# ---------------------------------------------------------------------------------------------- data


def iapr_paths(data_dir: str | os.PathLike | None) -> dict[str, Path]:
    """The two IAPR TC-12 CSVs in ``data_dir`` or in ``data_dir/iaprtc12``."""
    if data_dir is None:
        raise MmweError("expected --data-dir for iaprtc12 (the folder with TS_lang_biGRU.csv and "
                        "TS_vis_vgg128.csv), got none; fix: e.g. --data-dir ../shared/data/iaprtc12")
    base = Path(data_dir)
    for d in (base, base / "iaprtc12"):
        paths = {k: d / v for k, v in IAPR_FILES.items()}
        if all(p.is_file() for p in paths.values()):
            return paths
    raise MmweError(f"expected {IAPR_FILES['text']} and {IAPR_FILES['image']} in this folder, got "
                    "neither; fix: point --data-dir at the authors' training_data/iaprtc folder", path=base)


def load_iaprtc12(data_dir: str | os.PathLike | None) -> PairedData:
    """IAPR TC-12 test split of the authors: 64-d biGRU text and 128-d VGG image vectors, paired by row."""
    from mmwe.datasets.paired import read_label_csv

    paths = iapr_paths(data_dir)
    lab_t, text = read_label_csv(paths["text"])
    lab_i, image = read_label_csv(paths["image"])
    if len(lab_t) != len(lab_i):
        raise MmweError(f"expected the same number of rows in both files, got {len(lab_t)} text and "
                        f"{len(lab_i)} image rows", path=paths["image"])
    for r, (a, b) in enumerate(zip(lab_t, lab_i), start=1):
        if a != b:
            raise MmweError(f"expected row {r} to carry the same labels as the text file, got {b!r} vs {a!r}",
                            path=paths["image"], line=r)
    labels = [frozenset(int(t) for t in s.split()) for s in lab_t]
    info = {"n": len(labels), "text": str(paths["text"]), "image": str(paths["image"]),
            "rows_without_labels": sum(not s for s in labels)}
    return PairedData("iaprtc12", np.asarray(image, np.float32), np.asarray(text, np.float32), "vgg128",
                      labels=labels, info=info)


def load_imagenet(word_vectors: str = "glove-6b-50d") -> PairedData:
    """ImageNet-1k classes: class-lemma word vectors vs EfficientNet-Lite0 classifier rows."""
    from mmwe import vectors as vec
    from mmwe.datasets.imagenet import concept_pairs

    words, X, Y, dropped = concept_pairs(vec.load(word_vectors))
    info = {"n": len(words), "classes": 1000, "dropped": len(dropped), "dropped_synsets": dropped,
            "text": word_vectors, "image": "efficientnet-lite0 _fc.weight rows (1280-d)"}
    return PairedData("imagenet", Y, X, "efficientnet-lite0", words=words, info=info)


def load_dataset(cfg: CollellConfig) -> PairedData:
    if cfg.dataset == "iaprtc12":
        return load_iaprtc12(cfg.data_dir)
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
                            progress: Callable[[int], None] | None = None) -> np.ndarray:
    """(N, dy): row i predicted by the map trained on every fold but the one holding i.

    ``fit_predict(X_train, Y_train, X_test, fold) -> predictions for X_test``.
    """
    F = np.full((X.shape[0], Y.shape[1]), np.nan, dtype=np.float32)
    for f, test in enumerate(test_folds):
        train = np.setdiff1d(np.arange(X.shape[0]), test, assume_unique=True)
        F[test] = fit_predict(X[train], Y[train], X[test], f)
        if progress is not None:
            progress(f)
    assert not np.isnan(F).any(), "folds must cover every row"
    return F


def map_config(data: PairedData, direction: str, model: str, cfg: CollellConfig, fold: int):
    """The authors' hyper-parameters for this dataset / direction / map (param_utils.py of their code)."""
    from mmwe.maps import MapConfig

    code_dir = "i2t" if direction == "I->T" else "t2i"
    over: dict = {"seed": cfg.seed + fold}
    if cfg.epochs is not None:
        over["epochs"] = cfg.epochs
    if data.name == "imagenet":  # authors: lr 1e-4 for i2t, 1e-3 for t2i, whatever the map
        over["lr"] = 1e-4 if code_dir == "i2t" else 1e-3
    return MapConfig.collell(model, direction=code_dir, visual=data.visual, **over)


# ---------------------------------------------------------------------------------------- metrics


def regression_scores(Y: np.ndarray, F: np.ndarray) -> dict:
    """MSE (mean over rows of the per-row mean squared error) and R^2 (sklearn, uniform over outputs)."""
    from sklearn.metrics import r2_score

    return {"mse": float(np.mean((F.astype(np.float64) - Y) ** 2)), "r2": float(r2_score(Y, F))}


def retrieval_scores(data: PairedData, direction: str, Y: np.ndarray, F: np.ndarray, ks) -> dict:
    """Rank every target Y by cosine to each f(x): R@k of the paired item, mAP (labels), zero-shot top-k."""
    from mmwe.metrics.retrieval import cosine_scores, label_relevance, mean_average_precision, recall_at_k, topk_accuracy

    S = cosine_scores(F, Y)  # (N, N): query i = f(x_i), candidate j = y_j
    out = {k: v for k, v in recall_at_k(S, ks).items() if k != "n"}
    out["mAP"] = None  # key "map" is the map model
    if data.labels is not None:
        out["mAP"] = mean_average_precision(S, label_relevance(data.labels, data.labels))["map"]
    out["zs_top1"] = out["zs_top5"] = None
    if data.words is not None and direction == "I->T":  # zero-shot tagging: the class word among all words
        top = topk_accuracy(S, np.arange(S.shape[0]), ks=(1, 5))
        out["zs_top1"], out["zs_top5"] = top["top1"], top["top5"]
    return out


def sides(data: PairedData, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y): the map's input and target for a direction."""
    return (data.image, data.text) if direction == "I->T" else (data.text, data.image)


# ------------------------------------------------------------------------------------ experiment 1


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Temporarily set torch's intra-op thread count (restored afterwards)."""
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def exp1_rows(data: PairedData, cfg: CollellConfig, progress: Progress | None = None,
              predictions: dict | None = None) -> list[dict]:
    """One row per (direction, map): mNNO triple, MSE, R^2 and retrieval scores on out-of-fold predictions.

    ``predictions``, when given, receives the out-of-fold f(X) of each row: ``{(direction, map): (N, dy)}``.
    """
    with torch_threads(cfg.threads):
        return _exp1_rows(data, cfg, progress, predictions)


def _exp1_rows(data: PairedData, cfg: CollellConfig, progress: Progress | None, predictions: dict | None) -> list[dict]:
    from mmwe.maps import fit_map
    from mmwe.metrics.overlap import mnno

    cfg.validate()
    n = data.image.shape[0]
    folds = kfold_indices(n, cfg.folds, cfg.seed)
    nn_kw = dict(k=cfg.k, metric=cfg.metric, include_self=cfg.include_self)
    total, done = len(cfg.directions) * len(cfg.maps) * len(folds), 0
    direct = mnno(data.image, data.text, **nn_kw)  # symmetric: the same for both directions
    rows = []
    for direction in cfg.directions:
        X, Y = sides(data, direction)
        for model in cfg.maps:
            def fit_predict(Xtr, Ytr, Xte, fold, _d=direction, _m=model):
                return fit_map(Xtr, Ytr, map_config(data, _d, _m, cfg, fold)).predict(Xte)

            def tick(fold, _d=direction, _m=model):
                nonlocal done
                done += 1
                if progress is not None:
                    progress(done, total, f"{data.name} {_d} {_m} fold {fold + 1}/{len(folds)}")

            F = out_of_fold_predictions(X, Y, folds, fit_predict, tick)
            if predictions is not None:
                predictions[(direction, model)] = F
            row = {"dataset": data.name, "direction": direction, "map": model,
                   "mnno_x_fx": mnno(X, F, **nn_kw), "mnno_y_fx": mnno(Y, F, **nn_kw), "mnno_x_y": direct}
            row.update(regression_scores(Y, F))
            row.update(retrieval_scores(data, direction, Y, F, cfg.recall_ks))
            row["input_closer"] = row["mnno_x_fx"] > row["mnno_y_fx"]
            rows.append(row)
    return rows


def run_exp1(cfg: CollellConfig, progress: Progress | None = None) -> dict:
    """Experiment 1 on ``cfg.dataset``: rows, config, data coverage and the verdict on the paper's finding."""
    from mmwe.metrics.overlap import chance_overlap

    cfg.validate()
    data = load_dataset(cfg)
    predictions: dict = {}
    rows = exp1_rows(data, cfg, progress, predictions)
    if data.labels is not None:  # a random ranking's expected AP is about the share of relevant candidates
        from mmwe.metrics.retrieval import label_relevance

        data.info["chance_map"] = float(label_relevance(data.labels, data.labels).mean())
    return {
        "experiment": "collell-exp1",
        "config": dataclasses.asdict(cfg),
        "data": data.info,
        "chance_mnno": chance_overlap(data.image.shape[0], cfg.k, include_self=cfg.include_self),
        "rows": rows,
        "finding_holds": all(r["input_closer"] for r in rows),
        # in memory only (keys starting with "_" are not saved in results.json): save_run writes neighbors.json
        "_explorer": explorer_set(data, predictions, rows, cfg) if cfg.explorer_items else None,
    }


def explorer_set(data: PairedData, predictions: dict, rows: list[dict], cfg: CollellConfig) -> dict:
    """The report explorer's neighbour lists: image, text and every map's out-of-fold f(X), capped items."""
    from mmwe.report.explorer import iapr_item_names, neighbour_set

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
    note = ("Items: ImageNet classes by their word." if data.words is not None else
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
    from mmwe.maps import MapConfig, untrained_map

    return {m: untrained_map(in_dim, out_dim, MapConfig.collell(m, direction=code_dir, visual="efficientnet-lite0",
                                                                  seed=cfg.seed)) for m in cfg.maps}


def exp2_embedding_rows(name: str, vectors, out_dim: int, code_dir: str, benchmarks: dict, cfg: CollellConfig) -> list[dict]:
    """Rows (benchmark x similarity) of one embedding: original vs untrained-mapped Spearman, Steiger p.

    Only pairs with both words in the vocabulary are scored (no imputation): ``found`` is the coverage.
    With ``cfg.ci_boot`` resamples, ``<column>_ci_low`` / ``<column>_ci_high`` hold percentile bootstrap 95%
    intervals of each Spearman (resampled pairs; for the report's error bars).
    """
    from mmwe.metrics.wordsim import compare, evaluate, pair_similarities
    from mmwe.vectors import Vectors

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


def run_exp2(cfg: CollellConfig, progress: Progress | None = None) -> dict:
    """Experiment 2: untrained maps on GloVe (-> 1280-d) and on ImageNet classifier rows (-> 50-d)."""
    from mmwe import vectors as vec
    from mmwe.datasets.imagenet import class_lemma_vectors
    from mmwe.datasets.wordsim import BUILTIN_BENCHMARKS, load_benchmark

    cfg.validate()
    benchmarks = {name: load_benchmark(name) for name in BUILTIN_BENCHMARKS}
    words = vec.load(cfg.word_vectors)
    visual = class_lemma_vectors()
    plan = [(cfg.word_vectors, words, visual.dim, "t2i"),
            ("efficientnet-lite0-fc", visual, words.dim, "i2t")]
    rows = []
    for i, (name, vectors, out_dim, code_dir) in enumerate(plan):
        rows += exp2_embedding_rows(name, vectors, out_dim, code_dir, benchmarks, cfg)
        if progress is not None:
            progress(i + 1, len(plan), name)
    return {"experiment": "collell-exp2", "config": dataclasses.asdict(cfg), "min_pairs": MIN_PAIRS,
            "visual_words": len(visual), "rows": rows}


# ---------------------------------------------------------------------------------------- reporting

EXP1_COLUMNS = [("dataset", "dataset"), ("direction", "direction"), ("map", "map"),
                ("mnno_x_fx", "mNNO(X,f(X))"), ("mnno_y_fx", "mNNO(Y,f(X))"), ("mnno_x_y", "mNNO(X,Y)"),
                ("mse", "MSE"), ("r2", "R2"), ("r@1", "R@1"), ("r@5", "R@5"), ("r@10", "R@10"),
                ("median_rank", "med. rank"), ("mAP", "mAP"), ("zs_top1", "ZS top-1"), ("zs_top5", "ZS top-5"),
                ("input_closer", "X closer")]


def exp2_pivot(rows: list[dict], maps=MAP_MODELS) -> tuple[list[dict], list[str]]:
    """The paper's Table 3 layout: per embedding and similarity, rows original / f_lin / f_nn, one column per
    benchmark; '*' marks a mapped correlation that differs from the original (Steiger p < 0.05)."""
    benches = list(dict.fromkeys(r["benchmark"] for r in rows))
    out = []
    for emb in dict.fromkeys(r["embedding"] for r in rows):
        for sim in SIMILARITIES:
            sel = {r["benchmark"]: r for r in rows if r["embedding"] == emb and r["similarity"] == sim}
            if not sel:
                continue
            out.append({"embedding": emb, "similarity": sim, "vectors": "pairs found",
                        **{b: f"{sel[b]['found']}/{sel[b]['pairs']}" for b in sel}})
            out.append({"embedding": emb, "similarity": sim, "vectors": "original",
                        **{b: sel[b]["original"] for b in sel}})
            for m in maps:
                cells = {}
                for b, r in sel.items():
                    v, p = r.get(f"f_{m}"), r.get(f"p_{m}")
                    cells[b] = None if v is None else f"{v:.3f}" + ("*" if p is not None and p < 0.05 else "")
                out.append({"embedding": emb, "similarity": sim, "vectors": f"f_{m}", **cells})
    return out, ["embedding", "similarity", "vectors", *benches]


def result_table(result: dict) -> tuple[list[dict], list]:
    """(rows, columns) of the main table of a result dict."""
    if result["experiment"] == "collell-exp1":
        return result["rows"], EXP1_COLUMNS
    return exp2_pivot(result["rows"], tuple(result["config"]["maps"]))


def summary_text(result: dict) -> str:
    """A few lines stating the data coverage and, for experiment 1, whether the paper's finding held."""
    if result["experiment"] == "collell-exp2":
        return (f"Untrained maps (authors' architecture, seed {result['config']['seed']}); Spearman rho; '*' = "
                f"differs from the original at p < 0.05 (Steiger). Visual vectors: ImageNet classifier rows keyed by "
                f"{result['visual_words']} single-word class lemmas; correlations need >= {result['min_pairs']} pairs.")
    d, rows = result["data"], result["rows"]
    held = sum(r["input_closer"] for r in rows)
    lines = [f"Dataset {rows[0]['dataset'] if rows else '?'}: N = {d['n']}"
             + (f" ({d['dropped']} of {d['classes']} classes dropped: no word vector)" if "dropped" in d else ""),
             f"{result['config']['folds']}-fold CV, out-of-fold predictions; mNNO K={result['config']['k']}, "
             f"{result['config']['metric']}, include_self={result['config']['include_self']} "
             f"(chance {result['chance_mnno']:.3f}).",
             *([f"mAP of a random ranking ~ {d['chance_map']:.3f} (share of label-sharing pairs)."]
               if "chance_map" in d else []),
             f"mNNO(X,f(X)) > mNNO(Y,f(X)) in {held} of {len(rows)} maps: the finding "
             + ("holds." if result["finding_holds"] else "does NOT hold everywhere.")]
    return "\n\n".join(lines)


def _plain(obj):
    """JSON-ready copy of a result: NaN -> None, numpy -> Python; "_" keys (e.g. "_explorer") left out."""
    from mmwe.fileio import json_ready

    return json_ready(obj, drop_private=True)


def save_run(result: dict, run_dir: str | os.PathLike) -> Path:
    """RUN_DIR/results.json, results.md (the table), report.md, report.html (tables, plots, neighbour explorer)
    and, for experiment 1, neighbors.json (the explorer's neighbour lists); creates RUN_DIR."""
    from mmwe.fileio import atomic_write
    from mmwe.report import Section, write_markdown_table, write_report

    run_dir = Path(run_dir)
    if not run_dir.parent.is_dir():
        raise MmweError(f"expected an existing folder {run_dir.parent} to create the run folder in, got none; "
                        "fix: create it first", path=run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise MmweError("expected a run folder, got a file; fix: give a folder name", path=run_dir)
    run_dir.mkdir(exist_ok=True)
    with atomic_write(run_dir / "results.json", "w", encoding="utf-8") as fh:
        json.dump(_plain(result), fh, indent=2)
        fh.write("\n")
    rows, cols = result_table(result)
    write_markdown_table(rows, cols, run_dir / "results.md")
    title = {"collell-exp1": "Collell & Moens (2018), experiment 1: mNNO of cross-modal maps",
             "collell-exp2": "Collell & Moens (2018), experiment 2: untrained maps"}[result["experiment"]]
    write_report(run_dir, [Section("Summary", summary_text(result)), Section("Results", rows=rows, columns=cols),
                           Section("Protocol", (__doc__ or "").split("Protocol", 1)[-1].strip())], title=title)
    if result.get("_explorer"):
        from mmwe.report.explorer import write_neighbour_set

        write_neighbour_set(result["_explorer"], run_dir / "neighbors.json")
    from mmwe.report import build_report

    build_report([run_dir], run_dir / "report.html", title=title, markdown=False)  # plots + explorer
    return run_dir
