"""Imagined visual vectors: the story of Collell, Zhang & Moens (AAAI 2017) as the seed states it.

Learn f: text -> vision on the words that have both a GloVe-6B-50d vector and a visual word vector
(:mod:`mmwe.datasets.visual_words`), apply f to text vectors, and compare the *imagined* visual vectors f(text)
with the original visual vectors on word similarity. Finding 1: imagined vectors beat the original visual
vectors (the seed: on 7 of 7 tasks). Finding 2: vectors imagined by an *untrained* f do even better.

Protocol (ours, where the seed leaves room):

* shared words (GloVe and visual) are split at random (``test_fraction``, seeded) into training words, on which
  f_lin and f_nn are fitted (``MapConfig.collell``: MSE, Adam, batch 128, no early stopping; f_nn one ReLU
  layer of 1024 units), and held-out words, on which the map's generalisation is measured (MSE, R^2, mean
  cosine of f(x) with y). The untrained f is the same network at its initialisation (``untrained_map``).
* f is applied row by row, so the imagined vector of a word does not depend on which other words are mapped:
  only the benchmark words found in GloVe are mapped (mapping all 400k GloVe words gives the same rows).
* each built-in benchmark is scored on the pairs the original visual vectors cover (both words have a visual
  vector and a GloVe vector); a benchmark with fewer than ``MIN_PAIRS`` such pairs gets no correlation, only
  its coverage. Spearman per column, Steiger's test of each column against the original visual vectors on the
  same pairs, and the same on the "held-out" pairs (both words held out from training f), where f never saw
  the target of either word.
* a finding "holds on a benchmark" when the column's Spearman is higher than the compared one's; the counts
  are over the benchmarks with a correlation. Finding 2 is counted both against the visual vectors and against
  the trained imagined vectors ("even better").
* coverage gain: pairs scorable by imagined vectors (both words in GloVe) against pairs scorable by the
  visual vectors.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmwe.datasets.wordsim import BUILTIN_BENCHMARKS, Benchmark, load_benchmark
from mmwe.errors import MmweError
from mmwe.experiments.visual_word_source import VisualWordsConfig, check_cnns, visual_words
from mmwe.fileio import atomic_write, json_ready
from mmwe.maps import CrossModalMap, MapConfig, fit_map, untrained_map
from mmwe.metrics.wordsim import compare, evaluate, pair_similarities
from mmwe.progress import Progress
from mmwe.threads import thread_limit
from mmwe.validation import check
from mmwe.vectors import Vectors
from mmwe.vectors import load as load_vectors

PROTOCOL = (__doc__ or "").split("Protocol", 1)[-1].strip()
MAP_MODELS = ("lin", "nn")
MIN_PAIRS = 10  # below this many covered pairs a benchmark gets no correlation (as experiment 2)
SIMILARITIES = ("cosine", "euclidean")


@dataclass
class ImaginedConfig:
    """One run of the imagined-vectors experiment."""

    visual: tuple[str, ...] = ()  # visual word-vector files (`mmwe vectors visual`), one per CNN
    visual_names: tuple[str, ...] = ()  # a name per file (default: the file stem)
    corpus: str | None = None  # no files: visual words built from this corpus (folder or built-in names joined by
    #                            "+", see mmwe.experiments.visual_word_source), one set per CNN of ``cnns``
    cnns: tuple[str, ...] = ("efficientnet-lite0",)  # with ``corpus``: the CNNs (features extracted when missing)
    cache_dir: str = "runs/cache"  # with ``corpus``: built-in corpora and their features are kept here
    min_images: int = 3  # with ``corpus``: a visual word needs this many images
    word_vectors: str = "glove-6b-50d"  # the text side
    benchmarks: tuple[str, ...] = tuple(BUILTIN_BENCHMARKS)  # built-in names or `w1 w2 score` files
    similarities: tuple[str, ...] = ("cosine",)  # "cosine" and/or "euclidean"
    maps: tuple[str, ...] = MAP_MODELS  # "lin" and/or "nn"
    test_fraction: float = 0.2  # shared words held out from training f
    epochs: int | None = None  # training epochs; None = the authors' 50
    seed: int = 0  # word split and map initialisation
    threads: int | None = 1  # torch / BLAS threads while fitting; None = leave the setting
    ci_boot: int = 0  # bootstrap resamples of Spearman CIs (0 = none)
    extra: dict = field(default_factory=dict)  # MapConfig overrides for the trained maps (e.g. {"lr": 1e-4})

    def validate(self) -> ImaginedConfig:
        """Raise MmweError on a setting that cannot work; return self."""
        check(not self.visual_names or len(self.visual_names) == len(self.visual),
              f"expected one name per visual file, got {len(self.visual_names)} names for {len(self.visual)} files")
        check(0 < self.test_fraction < 1, f"expected 0 < test_fraction < 1, got {self.test_fraction}")
        for s in self.similarities:
            check(s in SIMILARITIES, f"expected similarity in {SIMILARITIES}, got {s!r}")
        for m in self.maps:
            check(m in MAP_MODELS, f"expected map in {MAP_MODELS}, got {m!r}")
        check((self.epochs is None or self.epochs >= 1) and self.ci_boot >= 0,
              f"expected epochs >= 1 and ci_boot >= 0, got {self.epochs}, {self.ci_boot}")
        if self.corpus is not None and not self.visual:
            check_cnns(self.cnns)
            self.words_source().validate()
        return self

    def words_source(self) -> VisualWordsConfig:
        return VisualWordsConfig(corpus=self.corpus or "openmoji", cache_dir=self.cache_dir,
                                 min_images=self.min_images)


# -------------------------------------------------------------------------------------------- maps


def split_words(words: list[str], test_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(training words, held-out words): a seeded permutation, ``test_fraction`` of it held out (>= 1 each)."""
    if len(words) < 2:
        raise MmweError(f"expected at least 2 words with both a text and a visual vector, got {len(words)}; "
                        "fix: check that the visual vectors' words are lower-case English words")
    perm = np.random.default_rng(seed).permutation(len(words))
    n_test = min(max(1, int(round(len(words) * test_fraction))), len(words) - 1)
    return [words[i] for i in np.sort(perm[n_test:])], [words[i] for i in np.sort(perm[:n_test])]


def map_config(model: str, cfg: ImaginedConfig, *, trained: bool) -> MapConfig:
    """The authors' text -> image settings (``MapConfig.collell``; 1024 hidden units: not VGG-128 features)."""
    over = {"seed": cfg.seed}
    if trained:
        over.update(cfg.extra)
        if cfg.epochs is not None:
            over["epochs"] = cfg.epochs
    return MapConfig.collell(model, direction="t2i", visual="cnn", **over)


def heldout_scores(f: CrossModalMap, X: np.ndarray, Y: np.ndarray) -> dict:
    """MSE, R^2 (variance-weighted over outputs: 1 - total residual / total variance, as sklearn's
    ``multioutput="variance_weighted"``) and the mean cosine of f(x) with y on held-out rows."""
    F = f.predict(X).astype(np.float64)  # (n, dy)
    Y = Y.astype(np.float64)
    ss_res, ss_tot = ((Y - F) ** 2).sum(0), ((Y - Y.mean(0)) ** 2).sum(0)
    r2 = float(1 - ss_res.sum() / ss_tot.sum()) if ss_tot.sum() > 0 else float("nan")
    cos = (F * Y).sum(1) / np.maximum(np.linalg.norm(F, axis=1) * np.linalg.norm(Y, axis=1), 1e-12)
    return {"n": int(X.shape[0]), "mse": float(np.mean((F - Y) ** 2)), "r2": r2, "cosine": float(cos.mean())}


def imagined_vectors(f: CrossModalMap, text: Vectors, words: list[str] | None = None, *,
                     name: str = "imagined") -> Vectors:
    """f(text) of ``words`` (all of ``text`` when None): imagined visual vectors (float32, f's output size)."""
    sub = text if words is None else text.subset([w for w in words if w in text])
    return Vectors(sub.words, f.predict(sub.matrix), source=name)


# -------------------------------------------------------------------------------------- evaluation


def restrict(bench: Benchmark, words: set[str]) -> Benchmark:
    """The pairs of ``bench`` whose two words are both in ``words``."""
    keep = [i for i, (a, b) in enumerate(bench.pairs) if a in words and b in words]
    return Benchmark(bench.name, [bench.pairs[i] for i in keep], bench.scores[keep], bench.path)


def _score_columns(sets: dict[str, Vectors], bench: Benchmark, sim: str, prefix: str, cfg: ImaginedConfig) -> dict:
    """Spearman of every column on ``bench`` and Steiger's p of each against "original"."""
    out: dict = {f"{prefix}scored": len(bench)}  # pairs scored: both words have visual and text vectors
    for col in sets:
        out[f"{prefix}{col}"] = None
        if col != "original":
            out[f"{prefix}p_{col}"] = None
    if len(bench) < MIN_PAIRS:
        return out
    for col, vec in sets.items():
        if col == "original":
            out[f"{prefix}original"] = evaluate(vec, bench, similarity=sim)["spearman"]
            continue
        c = compare(sets["original"], vec, bench, similarity=sim)
        out[f"{prefix}{col}"], out[f"{prefix}p_{col}"] = c["spearman_b"], c["p"]
    if cfg.ci_boot and not prefix:
        for col, vec in sets.items():
            e = evaluate(vec, bench, similarity=sim, ci=True, n_boot=cfg.ci_boot, seed=cfg.seed)
            out[f"{col}_ci_low"], out[f"{col}_ci_high"] = e["ci_low"], e["ci_high"]
    return out


def benchmark_rows(name: str, sets: dict[str, Vectors], text: Vectors, heldout: set[str],
                   benchmarks: dict[str, Benchmark], cfg: ImaginedConfig) -> list[dict]:
    """One row per (benchmark, similarity): coverage, Spearman per column, Steiger p vs the original."""
    rows = []
    both = {w for w in sets["original"].words if w in text}
    for bname, bench in benchmarks.items():
        covered = restrict(bench, both)
        held = restrict(covered, heldout)
        found_visual = int(pair_similarities(sets["original"], bench)[1].sum())
        found_text = int(pair_similarities(text, bench)[1].sum())
        for sim in cfg.similarities:
            row = {"embedding": name, "benchmark": bname, "similarity": sim, "pairs": len(bench),
                   "found_visual": found_visual, "found_imagined": found_text,
                   "coverage_gain": found_text - found_visual}
            row.update(_score_columns(sets, covered, sim, "", cfg))
            row.update(_score_columns(sets, held, sim, "heldout_", cfg))
            rows.append(row)
    return rows


def _holds(scored: list[dict], a: str, b: str, significant: bool = False) -> int:
    """Benchmarks on which column ``a`` beats column ``b`` (with Steiger p < 0.05 against the original)."""
    return sum(r[a] > r[b] and (not significant or (r.get(f"p_{a}") or 1.0) < 0.05) for r in scored)


def imagined_findings(rows: list[dict], maps: tuple[str, ...]) -> dict:
    """Per (embedding, similarity, map): on how many benchmarks each finding holds (and significantly)."""
    out: dict = {}
    for emb, sim in dict.fromkeys((r["embedding"], r["similarity"]) for r in rows):
        scored = [r for r in rows if r["embedding"] == emb and r["similarity"] == sim and r["original"] is not None]
        for m in maps:
            f, f0 = f"f_{m}", f"untrained_{m}"
            out[f"{emb} {sim} {m}"] = {
                "embedding": emb, "similarity": sim, "map": m, "benchmarks": len(scored),
                "benchmark_names": [r["benchmark"] for r in scored],
                "finding1": _holds(scored, f, "original"),  # imagined > visual
                "finding1_significant": _holds(scored, f, "original", True),
                "finding2_vs_visual": _holds(scored, f0, "original"),  # untrained imagined > visual
                "finding2_vs_visual_significant": _holds(scored, f0, "original", True),
                "finding2_vs_trained": _holds(scored, f0, f),  # untrained imagined > trained imagined
                "text_beats_visual": _holds(scored, "text", "original")}
    return out


# ---------------------------------------------------------------------------------------- the run


def _visual_sets(cfg: ImaginedConfig, visual: dict[str, Vectors] | None, log: Callable[[str], None],
                 progress: Progress | None, stats: dict) -> dict[str, Vectors]:
    """name -> visual word vectors: ``visual`` as given, else the files of ``cfg.visual``, else built from
    ``cfg.corpus`` for each CNN (``stats`` receives their build statistics)."""
    if visual is not None:
        return dict(visual)
    if not cfg.visual and cfg.corpus is not None:
        out = {}
        for cnn in cfg.cnns:
            out[cnn], st = visual_words(cfg.words_source(), cnn, log=log, progress=progress)
            stats[cnn] = {k: st[k] for k in ("corpus_spec", "words_kept", "images", "images_with_features",
                                             "images_per_word", "per_source", "min_images", "aggregate")}
        return out
    if not cfg.visual:
        raise MmweError("expected at least one visual word-vector file, got none; fix: make one with "
                        "`mmwe vectors visual CORPUS --features NAME --out V` and pass it")
    names = cfg.visual_names or tuple(Path(p).stem for p in cfg.visual)
    if len(set(names)) != len(names):
        raise MmweError(f"expected distinct names for the visual files, got {list(names)}; fix: name them")
    return {n: load_vectors(p) for n, p in zip(names, cfg.visual)}


def run_one(name: str, visual: Vectors, text: Vectors, benchmarks: dict[str, Benchmark], cfg: ImaginedConfig,
            progress: Progress | None = None) -> tuple[dict, list[dict]]:
    """Fit, imagine and score one visual set: (summary, rows)."""
    shared = [w for w in visual.words if w in text]
    train, test = split_words(shared, cfg.test_fraction, cfg.seed)
    X, Y = text.subset(train).matrix, visual.subset(train).matrix  # (n, 50), (n, D)
    needed = sorted({w for b in benchmarks.values() for p in b.pairs for w in p if w in text})
    sets: dict[str, Vectors] = {"original": visual, "text": text.subset(needed)}
    summary = {"words": len(visual), "dim": visual.dim, "shared_with_text": len(shared), "train_words": len(train),
               "heldout_words": len(test), "heldout": {}}
    for i, m in enumerate(cfg.maps):
        f = fit_map(X, Y, map_config(m, cfg, trained=True))
        f0 = untrained_map(text.dim, visual.dim, map_config(m, cfg, trained=False))
        summary["heldout"][m] = heldout_scores(f, text.subset(test).matrix, visual.subset(test).matrix)
        summary["heldout"][f"untrained_{m}"] = heldout_scores(f0, text.subset(test).matrix, visual.subset(test).matrix)
        sets[f"f_{m}"] = imagined_vectors(f, text, needed, name=f"f_{m}({cfg.word_vectors}) -> {name}")
        sets[f"untrained_{m}"] = imagined_vectors(f0, text, needed, name=f"untrained f_{m} -> {name}")
        if progress is not None:
            progress(i + 1, len(cfg.maps), f"{name}: f_{m} fitted")
    return summary, benchmark_rows(name, sets, text, set(test), benchmarks, cfg)


def run(cfg: ImaginedConfig, progress: Progress | None = None, *, visual: dict[str, Vectors] | None = None,
        log: Callable[[str], None] = print) -> dict:
    """The experiment on every visual set (``visual``: name -> Vectors, else ``cfg.visual`` files, else the
    visual words of ``cfg.corpus`` per CNN of ``cfg.cnns``)."""
    cfg.validate()
    built: dict = {}
    sets = _visual_sets(cfg, visual, log, progress, built)
    text = load_vectors(cfg.word_vectors)
    benchmarks = {b: load_benchmark(b) for b in cfg.benchmarks}
    rows: list[dict] = []
    summaries = {}
    with thread_limit(cfg.threads):
        for name, vec in sets.items():
            summaries[name], more = run_one(name, vec, text, benchmarks, cfg, progress)
            rows += more
    return {"experiment": "collell-imagined", "config": dataclasses.asdict(cfg), "protocol": PROTOCOL,
            "min_pairs": MIN_PAIRS, "visual_sets": summaries, "visual_words": built, "rows": rows,
            "findings": imagined_findings(rows, cfg.maps)}


def save(result: dict, run_dir: str | os.PathLike) -> Path:
    """RUN_DIR/results.json (creates RUN_DIR)."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise MmweError("expected a run folder, got a file; fix: give a folder name", path=run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(run_dir / "results.json", "w", encoding="utf-8") as fh:
        json.dump(json_ready(result, drop_private=True), fh, indent=2)
        fh.write("\n")
    return run_dir
