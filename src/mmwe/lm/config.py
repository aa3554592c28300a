"""`TrainConfig`: every setting of a language-model training run, with the paper's values as defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from mmwe.config import ARG, Opt
from mmwe.devices import DEVICES
from mmwe.validation import check

MODELS = ("puretext", "A", "B", "C")  # see mmwe.lm.model (here: the CLI reads this module without torch)
SAMPLERS = ("log-uniform", "log-count")
FEATURE_STORES = ("float32", "float16", "bits")  # see mmwe.lm.cache
Precision = Literal["auto", "fp32", "bf16"]  # see mmwe.lm.loop.resolve_precision
PRECISIONS = get_args(Precision)


@dataclass
class TrainConfig:
    """One training run. Defaults follow Mao et al. (NIPS 2016) section 3."""

    model: str = "A"  # puretext | A | B | C (see mmwe.lm.model)
    share: bool = True  # transposed weight sharing: softmax weights are the input embedding matrix
    lam: float = 1.0  # weight of the image loss of models B (L_state) and C (L_emb)
    emb_dim: int = 128  # word embedding size E
    hidden: int = 512  # GRU state size H
    proj: int = 128  # FC layer after the GRU, P (must equal emb_dim when share)
    proj_act: str = "none"  # activation after the FC layer: none | relu | tanh (paper: unspecified, linear)
    negatives: int = 1024  # sampled-softmax candidates per step (0: full softmax in training too)
    sampler: str = "log-uniform"  # candidate distribution: log-uniform (TF's, over frequency rank) | log-count
    batch_size: int = 256  # sentences per step (global batch under data parallelism)
    lr: float = 1.0  # SGD learning rate
    clip: float = 10.0  # gradient clipping: max global L2 norm (0: off)
    epochs: int = 5  # maximum passes over the training examples
    patience: int = 1  # stop after this many epochs without a lower validation loss
    min_count: int | None = None  # keep words seen this often in training sentences (None: the corpus's own,
    # its manifest's preprocess.min_count, as `mmwe corpus vocab`: the paper's 51 unless the build said otherwise)
    max_len: int | None = None  # truncate sentences to this many words (None: keep all)
    seed: int = 0  # seeds initialisation, batch order and candidate sampling
    checkpoint_every: int = 1000  # steps between checkpoints (0: only at epoch ends and the end)
    resume: bool = False  # continue the run in out_dir from its last checkpoint
    init_vectors: str | None = None  # initialise the embedding from this vector file / built-in name
    init_mode: str = "pad"  # fit other dims: pad (extra dims small random) | project (fixed random projection)
    threads: int | None = None  # torch CPU threads (None: torch's default)
    val_fraction: float = 0.05  # images held out for validation when the corpus has no "val" split
    bucket_window: int = 100  # batches per window sorted by length before batches are shuffled
    max_steps: int | None = None  # stop after this many optimizer steps in total (None: no limit)
    log_every: int = 50  # steps between metrics.jsonl lines
    device: str = "auto"  # auto (cuda when available) | cpu | cuda
    precision: Precision = "auto"  # fp32 | bf16 (matmuls in bf16; weights, logits, losses fp32) | auto (bf16 on CUDA)
    memmap: bool = False  # out-of-core: the token cache's rows and features read per batch, not held in memory
    feature_store: str = "float16"  # --memmap feature cache: float32 (bit-identical) | float16 | bits (1 bit a dim)

    def validate(self) -> TrainConfig:
        """Raise MmweError on a setting that cannot work; return self."""
        fix = "; fix the setting"
        check(self.model in MODELS, f"expected --model one of {', '.join(MODELS)}, got {self.model!r}{fix}")
        check(self.sampler in SAMPLERS, f"expected --sampler one of {', '.join(SAMPLERS)}, got {self.sampler!r}{fix}")
        check(self.init_mode in ("pad", "project"), f"expected --init-mode pad|project, got {self.init_mode!r}{fix}")
        check(self.device in DEVICES, f"expected --device auto|cpu|cuda, got {self.device!r}{fix}")
        check(self.precision in PRECISIONS, f"expected --precision auto|fp32|bf16, got {self.precision!r}{fix}")
        check(self.feature_store in FEATURE_STORES,
              f"expected --feature-store float32|float16|bits, got {self.feature_store!r}{fix}")
        sizes = (self.emb_dim, self.hidden, self.proj, self.batch_size)
        check(min(sizes) > 0, f"expected positive sizes, got {sizes!r}{fix}")
        check(self.negatives >= 0 and self.clip >= 0 and self.lr > 0,
              f"expected negatives >= 0, clip >= 0, lr > 0, got {(self.negatives, self.clip, self.lr)!r}{fix}")
        check(self.epochs >= 1 and self.patience >= 1,
              f"expected epochs >= 1 and patience >= 1, got {(self.epochs, self.patience)!r}{fix}")
        check(0 < self.val_fraction < 1, f"expected 0 < val_fraction < 1, got {self.val_fraction!r}{fix}")
        check(self.max_len is None or self.max_len >= 1, f"expected --max-len >= 1, got {self.max_len!r}{fix}")
        check(not self.share or self.proj == self.emb_dim,
              f"weight sharing needs --proj equal to --emb-dim, got {self.proj} and {self.emb_dim}; "
              "set them equal or pass --no-share")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# Settings that may change between a checkpoint and its resumption without changing what is trained.
RESUMABLE_FIELDS = frozenset({"epochs", "patience", "checkpoint_every", "resume", "threads", "max_steps",
                              "log_every", "device", "precision"})
# Fields added after checkpoints existed: left out of the identity at these values, so older runs still resume.
_LATER_DEFAULTS = {"memmap": False}


def identity(cfg: TrainConfig) -> dict:
    """The settings a checkpoint must agree on to be resumed under ``cfg``."""
    out = {k: v for k, v in cfg.to_dict().items() if k not in RESUMABLE_FIELDS and _LATER_DEFAULTS.get(k, ...) != v}
    if not cfg.memmap:
        out.pop("feature_store")  # only the memory-mapped path reads it
    return out


@dataclass(frozen=True, kw_only=True)
class TrainFiles:
    """What ``mmwe train`` reads and writes (its TrainConfig aside)."""

    corpus: Annotated[str, ARG]  # Corpus folder (manifest.json + shards/), see `mmwe corpus`.
    out: Annotated[str, Opt(out=True)]  # Run folder: config, vocab, metrics, checkpoints, vectors.txt/.bin.
    features: str | None = None  # Image features (.npy + .keys.txt); default CORPUS/features/efficientnet-lite0.npy.
