"""What the Mao et al. reproduction trains and checks: the paper's variants and claims, the small-corpus settings,
and the experiment's config (one seed and no grids: the simplest study)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated

from mmwe.config import Opt
from mmwe.errors import MmweError
from mmwe.lm import VARIANTS as _TRAIN_VARIANTS
from mmwe.lm import TrainConfig
from mmwe.validation import check

# (row name, trainer model name, share weights) in the paper's Table 2 order; one definition, in mmwe.lm
VARIANTS: tuple[tuple[str, str, bool], ...] = tuple((n, m, sh) for n, (m, sh) in _TRAIN_VARIANTS.items())
WORDSIM_COLUMNS = ("men", "simlex999", "wordsim353")
# Gold RP10K accuracies reported in the paper (Table 2), for the side-by-side column.
PAPER_RP10K = {"puretext": 0.748, "A-noshare": 0.773, "A": 0.843, "B": 0.705, "C": 0.771}
CLAIMS = (
    ("Model A beats the Pure text RNN", "A", "puretext"),
    ("Transposed weight sharing helps Model A (A > A without sharing)", "A", "A-noshare"),
    ("Model C beats the Pure text RNN", "C", "puretext"),
    ("Model B is worse than the Pure text RNN", "puretext", "B"),
    ("Model A beats GloVe", "A", "glove-6b-50d"),
)
CURVE_BASE = ("puretext", "A")  # plus the better of B / C on validation perplexity

# Settings for a corpus of a few thousand one-sentence images (OpenMoji: ~3.6k emoji, ~26k training tokens) where
# the paper's (count > 50, batch 256, lr 1.0, 5 epochs for 300M sentences) would leave ~100 words and ~10 steps an
# epoch. Each differs from the paper's default for that reason only.
SMALL_CORPUS_OVERRIDES = {
    "min_count": 2,  # paper 51: a 26k-token corpus has ~60 words seen more than 50 times
    "batch_size": 64,  # paper 256: 40 steps an epoch instead of 10
    "lr": 0.3,  # paper 1.0: at batch 64 on this corpus lr 1.0 diverged in the first epoch (val ppl 1e20)
    "negatives": 256,  # paper 1024: the vocabulary has ~1.1k words, 1024 candidates would be nearly all of it
    "epochs": 10,  # paper ~5 over 300M sentences; early stopping still decides
    "patience": 2,
    "checkpoint_every": 0,
}


@dataclass
class MaoConfig:
    """What to train and how; every trainer hyper-parameter not listed keeps the paper's default."""

    variants: tuple[str, ...] = tuple(v[0] for v in VARIANTS)  # rows to train
    triplets: str = "cldr-triplets"  # triplet dataset name or TSV path
    baseline: str | None = "glove-6b-50d"  # pretrained vectors evaluated beside the models (None: skip)
    train_overrides: dict = field(default_factory=dict)  # TrainConfig fields to change (small-corpus settings)
    lam: float = 1.0  # weight of the B / C image losses
    seed: int = 0


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
        """Raise MmweError on a setting that cannot work; return self."""
        known = {v[0] for v in VARIANTS}
        for v in self.variants:
            check(v in known, f"unknown variant {v!r}; expected one of {', '.join(sorted(known))}")
        check(self.seeds >= 1, f"expected --seeds >= 1, got {self.seeds!r}; fix the option")
        check(bool(self.fractions) and all(0 < f <= 1 for f in self.fractions),
              f"expected --fractions in (0, 1], got {self.fractions!r}; fix the option")
        check(bool(self.lr_grid) and all(x > 0 for x in self.lr_grid),
              f"expected --lr-grid values > 0, got {self.lr_grid!r}; fix the option")
        check(bool(self.lam_grid) and all(x >= 0 for x in self.lam_grid),
              f"expected --lambda-grid values >= 0, got {self.lam_grid!r}; fix the option")
        check(self.workers is None or self.workers >= 1,
              f"expected --workers >= 1, got {self.workers!r}; fix the option")
        if 1.0 not in self.fractions:
            self.fractions = (*self.fractions, 1.0)
        self.fractions = tuple(sorted(set(self.fractions)))
        for name in self.variants:
            variant_config(name, MaoConfig(train_overrides=self.train_overrides))  # unknown settings fail now
        return self



@dataclass(frozen=True)
class MaoRun:
    """The settings of `mmwe reproduce mao` (`reproduce_mao`); its options are generated from these comments."""

    corpus: str | None = None  # Corpus folder (see `mmwe corpus build`), or built-in names joined by '+', or 'all'
    # (openmoji+openclipart+gemojione+art4apps+tuxpaint: runs the seeded study). Default: the built-in openmoji corpus.
    features: str | None = None  # Image features (.npy + .keys.txt); default: CORPUS/features/efficientnet-lite0.npy
    # (extracted if missing).
    variants: Annotated[tuple[str, ...], Opt(commas=True)] = tuple(v[0] for v in VARIANTS)  # Rows to train
    # (repeatable or comma-separated).
    triplets: str = "cldr-triplets"  # Triplet dataset name or TSV path (one-seed run; the study mines its triplets
    # from the test-split images).
    baseline: str = "glove-6b-50d"  # Pretrained vectors evaluated beside the models ('none' to skip).
    paper_settings: bool = False  # Train with the paper's values (min count 51, batch 256, lr 1.0, 1024 negatives)
    # instead of the small-corpus ones.
    epochs: int | None = None  # Maximum epochs per model.
    lam: float = 1.0  # Weight of the image losses of B and C (one-seed run).
    seed: int = 0  # Seed of every model (one-seed run).
    seeds: int | None = None  # Run the study: every model with seeds 0..N-1, lr and lambda tuned on validation
    # perplexity, a learning curve, crossed tests.
    fractions: Annotated[tuple[float, ...], Opt(commas=True)] = (0.1, 0.3, 1.0)  # Study: learning-curve shares of
    # the training images.
    lr_grid: Annotated[tuple[float, ...], Opt(commas=True)] = (0.1, 0.3, 1.0)  # Study: learning rates tried on
    # Model A.
    lambda_grid: Annotated[tuple[float, ...], Opt(commas=True)] = (0.1, 1.0, 10.0)  # Study: lambdas tried for B
    # and C.
    workers: int | None = None  # Study: models trained at once (processes, 1 thread each; default: one per core).

def variant_config(name: str, cfg: MaoConfig) -> TrainConfig:
    """The TrainConfig of one paper variant."""
    spec = {v[0]: v for v in VARIANTS}
    if name not in spec:
        raise MmweError(f"unknown variant {name!r}; expected one of {', '.join(spec)}")
    _, model, share = spec[name]
    base = dataclasses.asdict(TrainConfig()) | cfg.train_overrides
    base.update(model=model, share=share, seed=cfg.seed)
    if model in ("B", "C"):
        base["lam"] = cfg.lam
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(base) - fields
    if unknown:
        raise MmweError(f"unknown training settings {sorted(unknown)}")
    return TrainConfig(**base)
