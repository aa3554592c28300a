"""Cross-modal maps: learn f(X) ~ Y between paired vectors of two modalities (Collell & Moens 2018).

Interchangeable models share one small interface (fit_map -> CrossModalMap: predict / save / load):

* ``lin``: an affine map ``f(x) = x W + b``;
* ``nn``: a feed-forward net with 1 to 5 hidden layers (ReLU, tanh or sigmoid, optional dropout);
* ``procrustes`` and ``cca``: closed-form linear baselines, stored as the same affine layer as ``lin``
  (see :func:`fit_procrustes` and :func:`fit_cca`).

``lin`` and ``nn`` are trained with Adam, with early stopping on a held-out validation split, on a loss named
by ``MapConfig.loss``: one term of ``LOSSES`` or a weighted sum such as ``"mse=1,neighbourhood=0.5"``:

* ``mse``, ``max-margin``, ``cosine``: the regression / ranking losses of the seed paper (unchanged);
* ``infonce``: symmetric in-batch contrastive loss (CLIP), temperature fixed or learned;
* ``similarity``: match the batch's pairwise cosine-similarity matrix of f(X) to that of Y (the seed's
  "pairwise similarities");
* ``neighbourhood``: KL(q_Y || q_f) between the softmax neighbour distributions of each row over the other rows
  of the batch, in Y and in f(X) (a smooth surrogate of the neighbour lists behind mNNO);
* ``graph``: Y's exact K-NN graph over the training rows (computed here, blocked, with torch); each step draws
  one graph neighbour per batch row and asks f(x_i) to pick it among the neighbours drawn for the other rows
  (InfoNCE with graph positives, the neighbours' side without gradient as in MoCo): a differentiable
  surrogate of mNNO(Y, f(X)) at about 2x the cost of an MSE epoch (benchmarks/bench_bridge.py);
* ``adversarial``: a discriminator learns to tell f(X) from Y and the map learns to fool it (MUSE, Conneau et
  al. 2018); it needs a regression or contrastive term beside it. Settings that trained without divergence on
  IAPR TC-12 and ImageNet concepts: weight 0.1 to 1 against ``mse=1``, 2 hidden LeakyReLU layers of 256, input
  dropout 0.1, label smoothing 0.1, one discriminator step per map step, Adam lr 1e-3 with beta1 = 0.5 (MUSE's
  choices, scaled down); at weight 1 retrieval suffers (the bridge experiment's nn rows), so start at 0.1.

The validation loss that early stopping watches is the same weighted sum without the adversarial term (the
discriminator moves); the graph term is scored on the validation rows' own K-NN graph with a fixed neighbour
draw, so that epochs are compared on the same sample. ``untrained_map`` returns the very same network at its
initialisation, for the "untrained net" control of Collell & Moens (2018, Experiment 2).

Defaults follow the authors' released code (github.com/gcollell/neural_cross_modal_maps) where the agreed
interface leaves room: weights drawn from a normal truncated at 2 std with std = sqrt(2 / (fan_in + fan_out)),
biases 0.1 with ReLU and 0 otherwise, Adam, MSE averaged over all entries. The released code implements only
MSE; the max-margin form is the ranking hinge of Lazaridou et al. (2015) that the paper cites, with the other
rows of the mini-batch as negatives. ``MapConfig.collell`` gives the authors' per-dataset choices.

Everything runs on the CPU and is deterministic: the same seed gives bit-identical weights.
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmwe.devices import DEVICES, resolve_device
from mmwe.errors import MmweError
from mmwe.fileio import atomic_path
from mmwe.validation import check_choice, check_matrix, check_paired, check_range

MODELS = ("lin", "nn", "procrustes", "cca")
TRAINED_MODELS = ("lin", "nn")  # fitted by Adam on MapConfig.loss
CLOSED_FORM = ("procrustes", "cca")  # fitted in one solve; loss and optimiser settings do not apply
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
LOSSES = ("mse", "max-margin", "cosine", "infonce", "similarity", "neighbourhood", "graph", "adversarial")
PAIRWISE = ("max-margin", "infonce", "similarity", "neighbourhood", "graph")  # need >= 2 rows per batch
PAIRING = ("mse", "max-margin", "cosine", "infonce")  # terms that tie f(x_i) to its own y_i
_ALIASES = {"neighborhood": "neighbourhood"}
_ADV_SMOOTH = 0.1  # label smoothing of the discriminator (MUSE's default)
_ADV_DROPOUT = 0.1  # dropout on the discriminator's input (MUSE's default)
_MAX_LOGIT_SCALE = 100.0  # a learned InfoNCE temperature stays >= 0.01 (CLIP's clamp)
_MASKED = -1e9  # logit of an excluded candidate (finite, so that 0 * log-prob stays 0)
_GRAPH_BLOCK = 1024  # rows per block of the exact K-NN graph search
MAX_HIDDEN_LAYERS = 5
FILE_FORMAT = "mmwe-map"  # tag stored in every saved map, so that foreign torch files are recognised
FILE_VERSION = 2  # 2: the normalisation statistics of X and Y (MapConfig.normalize) are stored with the weights
READ_VERSIONS = (1, 2)  # version 1 files (no normalisation) still load
_PREDICT_BATCH = 4096  # rows per forward pass in predict(): bounds memory on large vocabularies
# check_matrix wording for X and Y; maps report the first bad row 0-based (users and tests match this text)
_MATRIX_MESSAGES = {"finite": "expected finite values in {name}, got {bad_values} NaN/inf (first in row {index}); "
                              "fix: drop or impute those rows"}


@dataclass
class MapConfig:
    """How a cross-modal map is built and trained (one field per hyper-parameter)."""

    model: Literal["lin", "nn", "procrustes", "cca"] = "lin"  # lin: x W + b; nn: MLP; procrustes, cca: closed form
    hidden: tuple[int, ...] = (300,)  # sizes of the hidden layers of "nn" (1 to 5); ignored by "lin"
    activation: Literal["relu", "tanh", "sigmoid"] = "relu"  # non-linearity after each hidden layer
    dropout: float = 0.0  # drop probability after each hidden activation (training only); 0 = none
    loss: str = "mse"  # mse, max-margin, cosine, infonce, similarity, neighbourhood, graph, or weights: mse=1,graph=0.5
    margin: float = 0.5  # margin of the max-margin ranking hinge (cosine units)
    temperature: float = 0.05  # InfoNCE softmax temperature (the start value when learned)
    learn_temperature: bool = False  # learn the InfoNCE temperature with the map (CLIP's logit scale, >= 0.01)
    nb_temperature: float = 0.1  # temperature of the neighbour distributions of the neighbourhood and graph losses
    graph_k: int = 10  # neighbours per training row in Y's exact K-NN graph (graph loss)
    adv_hidden: int = 256  # units of each of the 2 hidden layers of the adversarial discriminator
    adv_lr: float = 1e-3  # Adam learning rate of the discriminator (betas 0.5, 0.999)
    adv_steps: int = 1  # discriminator updates per map update
    cca_components: int = 0  # CCA components; 0 = min(dx, dy, rows - 1)
    lr: float = 1e-3  # Adam learning rate
    weight_decay: float = 0.0  # Adam L2 penalty
    epochs: int = 100  # maximum passes over the training rows
    batch_size: int = 64  # rows per Adam step; also the pool of negatives of the pairwise losses
    val_fraction: float = 0.1  # rows held out for early stopping; 0 = no split, train all `epochs`
    patience: int = 5  # stop after this many epochs without a better validation loss
    seed: int = 0  # seeds initialisation, the validation split, shuffling and dropout
    device: Literal["auto", "cpu", "cuda"] = "auto"  # where lin/nn train: auto = cuda when present (fp32, fused Adam)
    normalize: str = ""  # vecmap preprocessing of X and Y, in order: unit,center,unitdim,centeremb; "" = none

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)

    @property
    def terms(self) -> dict[str, float]:
        """The loss as {term: weight} (see parse_loss)."""
        return parse_loss(self.loss)

    def validate(self) -> MapConfig:
        """Raise MmweError (expected / got / fix) for any setting outside its range; return self."""
        check_choice("model", self.model, MODELS)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("device", self.device, ("auto", "cpu", "cuda"))
        parse_normalize(self.normalize)
        terms = parse_loss(self.loss)
        if self.model == "nn" and not 1 <= len(self.hidden) <= MAX_HIDDEN_LAYERS:
            raise MmweError(f"expected 1 to {MAX_HIDDEN_LAYERS} hidden layers for model 'nn', got "
                            f"{len(self.hidden)}; fix: give --hidden once per layer, e.g. --hidden 300")
        if any(h < 1 for h in self.hidden):
            raise MmweError(f"expected positive hidden sizes, got {list(self.hidden)}")
        check_range("dropout", self.dropout, 0.0, 1.0, hi_open=True)
        check_range("val_fraction", self.val_fraction, 0.0, 1.0, hi_open=True)
        check_range("margin", self.margin, 0.0, math.inf)
        check_range("weight_decay", self.weight_decay, 0.0, math.inf)
        for name in ("lr", "temperature", "nb_temperature", "adv_lr"):
            if not getattr(self, name) > 0:
                raise MmweError(f"expected {name} > 0, got {getattr(self, name)}")
        for name, low in (("epochs", 0), ("batch_size", 1), ("patience", 1), ("graph_k", 1), ("adv_hidden", 1),
                          ("adv_steps", 1), ("cca_components", 0)):
            if int(getattr(self, name)) < low:
                raise MmweError(f"expected {name} >= {low}, got {getattr(self, name)}")
        pairwise = [t for t in terms if t in PAIRWISE]
        if pairwise and self.batch_size < 2:
            raise MmweError(f"expected batch_size >= 2 for the {pairwise[0]} loss (the other rows of a batch "
                            f"are its negatives), got {self.batch_size}; fix: use --batch-size 64")
        return self

    def to_dict(self) -> dict:
        """Plain dict (lists, str, int, float) that torch.load(weights_only=True) can read back."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> MapConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def collell(cls, model: str, *, direction: str = "t2i", visual: str = "vgg128", **overrides) -> MapConfig:
        """The authors' choices for IAPR TC-12 (param_utils.py and learn_and_eval.py of their code).

        1 hidden ReLU layer of 512 units (vgg128 features) or 1024 (ResNet), batch 128, no dropout,
        50 epochs with no early stopping, lr 1e-3 except 1e-4 for the linear image-to-text map.
        """
        lr = 1e-4 if (model == "lin" and direction == "i2t") else 1e-3
        base = dict(model=model, hidden=(512 if visual == "vgg128" else 1024,), activation="relu",
                    dropout=0.0, loss="mse", lr=lr, epochs=50, batch_size=128, val_fraction=0.0)
        base.update(overrides)
        return cls(**base)


# ----------------------------------------------------------------------------------------- losses


def parse_loss(spec: str) -> dict[str, float]:
    """``"mse"`` -> {"mse": 1.0}; ``"mse=1,neighbourhood=0.5"`` -> {"mse": 1.0, "neighbourhood": 0.5}.

    Terms of weight 0 are dropped; at least one must remain, and ``adversarial`` needs a term of ``PAIRING``
    beside it (fooling the discriminator alone does not tie f(x_i) to its own y_i).
    """
    wanted = f"a loss in {{{', '.join(LOSSES)}}} or weighted terms like 'mse=1,neighbourhood=0.5'"
    terms: dict[str, float] = {}
    for part in str(spec).split(","):
        name, eq, weight_text = (p.strip() for p in part.partition("="))
        name = _ALIASES.get(name.lower(), name.lower())
        if name not in LOSSES:
            raise MmweError(f"expected {wanted}, got {spec!r} (unknown term {name!r}); fix: e.g. --loss mse")
        try:
            weight = float(weight_text) if eq else 1.0
        except ValueError:
            weight = math.nan
        if not (math.isfinite(weight) and weight >= 0):
            raise MmweError(f"expected a finite weight >= 0 for loss term {name!r}, got {weight_text!r} in {spec!r}")
        if name in terms:
            raise MmweError(f"expected each loss term once, got {name!r} twice in {spec!r}")
        terms[name] = weight
    terms = {k: w for k, w in terms.items() if w > 0}
    if not terms:
        raise MmweError(f"expected {wanted} with a weight > 0, got {spec!r}")
    if "adversarial" in terms and not any(t in PAIRING for t in terms):
        raise MmweError(f"expected a regression or contrastive term beside 'adversarial' ({', '.join(PAIRING)}), "
                        f"got {spec!r}; fix: e.g. --loss mse=1,adversarial=0.1")
    return terms


def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all entries (as tf.losses.mean_squared_error in the authors' code)."""
    return ((pred - target) ** 2).mean()


def cosine_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over rows of 1 - cos(f(x_i), y_i)."""
    return (1.0 - F.cosine_similarity(pred, target, dim=1, eps=1e-8)).mean()


def max_margin_loss(pred: torch.Tensor, target: torch.Tensor, margin: float) -> torch.Tensor:
    """Ranking hinge with in-batch negatives (Lazaridou et al. 2015), mean over anchors i of

        sum_{j != i} max(0, margin - cos(f(x_i), y_i) + cos(f(x_i), y_j)).

    Summing (not averaging) over the B-1 negatives follows Lazaridou's sum over k negatives.
    """
    p = F.normalize(pred, dim=1, eps=1e-8)  # (B, d)
    t = F.normalize(target, dim=1, eps=1e-8)  # (B, d)
    sim = p @ t.T  # (B, B): sim[i, j] = cos(f(x_i), y_j)
    pos = sim.diagonal().unsqueeze(1)  # (B, 1): cos(f(x_i), y_i)
    hinge = (margin - pos + sim).clamp(min=0.0)  # (B, B)
    off_diag = ~torch.eye(sim.shape[0], dtype=torch.bool, device=sim.device)  # (B, B)
    return (hinge * off_diag).sum(dim=1).mean()


def infonce_loss(pred: torch.Tensor, target: torch.Tensor, temperature: float | torch.Tensor) -> torch.Tensor:
    """Symmetric in-batch InfoNCE (CLIP): cross-entropy of f(x_i) picking y_i among the batch's targets and of
    y_i picking f(x_i) among the batch's predictions, averaged; cosine logits divided by ``temperature``."""
    p = F.normalize(pred, dim=1, eps=1e-8)  # (B, d)
    t = F.normalize(target, dim=1, eps=1e-8)  # (B, d)
    logits = p @ t.T / temperature  # (B, B): logits[i, j] = cos(f(x_i), y_j) / tau
    labels = torch.arange(logits.shape[0], device=logits.device)  # (B,)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))


def _cosine_matrix(A: torch.Tensor) -> torch.Tensor:
    a = F.normalize(A, dim=1, eps=1e-8)  # (B, d)
    return a @ a.T  # (B, B)


def _off_diagonal(S: torch.Tensor) -> torch.Tensor:
    """(B, B) -> (B, B-1): each row without its diagonal entry."""
    b = S.shape[0]
    return S.flatten()[1:].view(b - 1, b + 1)[:, :-1].reshape(b, b - 1)


def similarity_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the off-diagonal pairwise cosine similarities of f(X) and of Y in the batch."""
    if pred.shape[0] < 2:
        return pred.sum() * 0.0  # no pair: nothing to match
    diff = _off_diagonal(_cosine_matrix(pred)) - _off_diagonal(_cosine_matrix(target))  # (B, B-1)
    return (diff ** 2).mean()


def neighbourhood_loss(pred: torch.Tensor, target: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over rows i of KL(q_Y(.|i) || q_f(.|i)), q(j|i) = softmax over j != i of cos(v_i, v_j) / temperature
    within the batch (Y's neighbour distribution is the target; SNE-like, Hinton & Roweis 2002)."""
    if pred.shape[0] < 2:
        return pred.sum() * 0.0
    log_qf = F.log_softmax(_off_diagonal(_cosine_matrix(pred)) / temperature, dim=1)  # (B, B-1)
    log_qy = F.log_softmax(_off_diagonal(_cosine_matrix(target)) / temperature, dim=1)  # (B, B-1)
    return F.kl_div(log_qf, log_qy, reduction="batchmean", log_target=True)


def graph_loss(anchors: torch.Tensor, neighbours: torch.Tensor, rows: torch.Tensor, nb_rows: torch.Tensor,
               temperature: float) -> torch.Tensor:
    """InfoNCE on Y's K-NN graph: f(x_a) must pick f(x_n), n one of a's K nearest rows *in Y* (drawn afresh at
    every step), among the neighbours drawn for the other rows of the batch.

    ``anchors`` (A, d) = f(X[rows]) and ``neighbours`` (A, d) = f(X[nb_rows]), nb_rows[a] drawn from the graph
    row of rows[a]. Over the steps every graph neighbour is the positive in turn, so that in expectation this
    is -1/K sum_{n in NN_Y(a)} log softmax(cos(f(x_a), f(x_n)) / temperature) against random rows: a
    differentiable surrogate of mNNO(Y, f(X)). A candidate that is the anchor itself or another copy of the
    anchor's positive is left out.
    """
    a = F.normalize(anchors, dim=1, eps=1e-8)  # (A, d)
    n = F.normalize(neighbours, dim=1, eps=1e-8)  # (A, d)
    S = a @ n.T / temperature  # (A, A): S[i, j] = cos(f(x_i), f(x_nb(j))) / tau; positives on the diagonal
    out = (nb_rows[None, :] == rows[:, None]) | (nb_rows[None, :] == nb_rows[:, None])  # (A, A)
    out.fill_diagonal_(False)
    return F.cross_entropy(S.masked_fill(out.to(S.device), _MASKED), torch.arange(S.shape[0], device=S.device))


def knn_graph(Y: torch.Tensor, k: int, *, block: int = _GRAPH_BLOCK) -> torch.Tensor:
    """(N, min(k, N-1)) int64: the cosine K nearest *other* rows of every row of Y, nearest first; exact,
    computed in blocks of rows (memory O(block * N)). The same lists as ``mmwe.neighbors.knn`` up to the order
    of exactly tied scores (here torch.topk's)."""
    n = Y.shape[0]
    k = min(int(k), n - 1)
    Yn = F.normalize(Y.to(torch.float32), dim=1, eps=1e-8)  # (N, d)
    out = torch.empty((n, max(k, 0)), dtype=torch.int64, device=Y.device)
    if k < 1:
        return out
    with torch.no_grad():
        for s in range(0, n, block):
            S = Yn[s:s + block] @ Yn.T  # (b, N)
            diag = torch.arange(S.shape[0], device=Y.device)
            S[diag, diag + s] = -math.inf  # not its own neighbour
            out[s:s + block] = S.topk(k, dim=1).indices
    return out


def compute_loss(pred: torch.Tensor, target: torch.Tensor, loss: str, margin: float = 0.5, *,
                 temperature: float | torch.Tensor = 0.05, nb_temperature: float = 0.1) -> torch.Tensor:
    """The named (or weighted, "mse=1,similarity=2") loss of predictions (B, d) against targets (B, d).

    Only the batch-local terms: ``graph`` needs the training rows' K-NN graph and ``adversarial`` a
    discriminator, both of which fit_map holds.
    """
    return _weighted_local(pred, target, parse_loss(loss), margin, temperature, nb_temperature)


# ----------------------------------------------------------------------------------- preprocessing

NORMALIZE_STEPS = ("unit", "center", "unitdim", "centeremb")  # vecmap's --normalize actions


def parse_normalize(spec: str) -> tuple[str, ...]:
    """``"unit,center,unit"`` -> ("unit", "center", "unit"); ``""`` or ``"none"`` -> () (vecmap's --normalize)."""
    text = str(spec or "").strip()
    if text.lower() in ("", "none"):
        return ()
    steps = tuple(p.strip().lower() for p in text.split(","))
    bad = [p for p in steps if p not in NORMALIZE_STEPS]
    if bad:
        raise MmweError(f"expected normalisation steps from {{{', '.join(NORMALIZE_STEPS)}}} joined by commas, got "
                        f"{spec!r} (unknown step {bad[0]!r}); fix: e.g. --normalize unit,center,unit")
    return steps


def _normalize_step(A: np.ndarray, step: str, stat: np.ndarray | None) -> np.ndarray:
    """One vecmap action on float64 rows ``A`` (N, d); ``stat``: the stored column means / lengths."""
    if step == "unit":  # rows to unit length (embeddings.length_normalize)
        norms = np.sqrt(np.sum(A ** 2, axis=1))
        return A / np.where(norms == 0, 1.0, norms)[:, None]
    if step == "centeremb":  # subtract each row's mean (embeddings.mean_center_embeddingwise)
        return A - A.mean(axis=1)[:, None]
    if step == "center":  # subtract the column means (embeddings.mean_center)
        return A - stat
    return A / stat  # unitdim: columns to unit length (embeddings.length_normalize_dimensionwise)


def _step_stat(A: np.ndarray, step: str) -> np.ndarray | None:
    if step == "center":
        return A.mean(axis=0)  # (d,)
    if step == "unitdim":
        norms = np.sqrt(np.sum(A ** 2, axis=0))  # (d,)
        return np.where(norms == 0, 1.0, norms)
    return None  # row-wise steps need no statistics


@dataclass
class Normalizer:
    """vecmap's embedding normalisation (``embeddings.normalize``) with the statistics of its training rows.

    Steps, in order: ``unit`` scales rows to unit length; ``center`` subtracts the column means; ``unitdim``
    divides each column by its length (vecmap's definition: the L2 norm over the rows, not the standard
    deviation; on centred columns it is sqrt(N) times the population std); ``centeremb`` subtracts each row's
    mean. Zero rows and columns stay as they are. ``center`` and ``unitdim`` keep the means / lengths of the rows
    ``fit`` saw and ``apply`` reuses them on new rows: a row is mapped the same whatever else is in its file, and
    the inputs of ``mmwe map apply`` land where the training rows were (vecmap has no apply step: it normalises
    each set with its own statistics, which is what ``fit`` does on the training rows). Computed in float64,
    returned as float32.
    """

    steps: tuple[str, ...] = ()
    stats: tuple[np.ndarray | None, ...] = ()  # per step: column means (center), column lengths (unitdim), else None

    @classmethod
    def fit(cls, steps: tuple[str, ...], X: np.ndarray) -> tuple[Normalizer, np.ndarray]:
        """(the normaliser, X normalised); X itself when there are no steps."""
        if not steps:
            return cls(), X
        A = np.asarray(X, dtype=np.float64)
        stats = []
        for step in steps:
            stats.append(_step_stat(A, step))
            A = _normalize_step(A, step, stats[-1])
        return cls(tuple(steps), tuple(stats)), A.astype(np.float32)

    def apply(self, X: np.ndarray) -> np.ndarray:
        """X (N, d) normalised with the stored statistics (float32); X itself when there are no steps."""
        if not self.steps:
            return X
        A = np.asarray(X, dtype=np.float64)
        for step, stat in zip(self.steps, self.stats):
            A = _normalize_step(A, step, stat)
        return A.astype(np.float32)

    def to_dict(self) -> dict:
        """Steps and float64 tensors (or None): what torch.load(weights_only=True) reads back."""
        return {"steps": list(self.steps),
                "stats": [None if s is None else torch.from_numpy(np.asarray(s, np.float64)) for s in self.stats]}

    @classmethod
    def from_dict(cls, d: dict) -> Normalizer:
        steps = parse_normalize(",".join(d["steps"]))
        stats = tuple(None if s is None else np.asarray(s.numpy() if torch.is_tensor(s) else s, dtype=np.float64)
                      for s in d["stats"])
        if len(stats) != len(steps) or any((s is None) != (_step_stat(np.zeros((1, 1)), p) is None)
                                           for p, s in zip(steps, stats)):
            raise ValueError(f"normalisation statistics do not match the steps {list(steps)}")
        return cls(steps, stats)


# ---------------------------------------------------------------------------------------- network


def build_network(in_dim: int, out_dim: int, cfg: MapConfig) -> nn.Sequential:
    """The network of ``cfg`` with the authors' initialisation drawn from a generator seeded by cfg.seed."""
    layers: list[nn.Module] = []
    width = in_dim
    if cfg.model == "nn":
        for h in cfg.hidden:
            layers += [nn.Linear(width, h), ACTIVATIONS[cfg.activation]()]
            if cfg.dropout > 0:
                layers.append(nn.Dropout(cfg.dropout))
            width = h
    layers.append(nn.Linear(width, out_dim))
    net = nn.Sequential(*layers)
    gen = torch.Generator().manual_seed(cfg.seed)
    bias = 0.1 if cfg.activation == "relu" else 0.0  # released code: 0.1 keeps ReLUs alive at start
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                std = math.sqrt(2.0 / (m.in_features + m.out_features))
                nn.init.trunc_normal_(m.weight, 0.0, std, -2 * std, 2 * std, generator=gen)
                m.bias.fill_(bias)
    return net


# -------------------------------------------------------------------------------------- the map


class CrossModalMap:
    """A trained (or untrained) map from in_dim-vectors to out_dim-vectors.

    Attributes: ``config`` (MapConfig), ``in_dim``, ``out_dim``, ``network`` (torch module),
    ``trained`` (False for untrained_map), ``history`` (dict: epoch, train_loss, val_loss per epoch,
    init_val_loss, best_epoch (0 = the initial weights), best_val_loss, stopped_early, n_train, n_val).
    """

    def __init__(self, network: nn.Module, config: MapConfig, in_dim: int, out_dim: int, *,
                 trained: bool, history: dict | None = None, normalizers: tuple[Normalizer, Normalizer] | None = None):
        self.network = network.eval()
        self.config = config
        self.in_dim = int(in_dim)
        self.out_dim = int(out_dim)
        self.trained = trained
        self.history = history or {}
        # (of X, of Y): the training statistics of config.normalize; predict() applies the first
        self.normalizers = normalizers or (Normalizer(), Normalizer())

    def normalize_y(self, Y: np.ndarray) -> np.ndarray:
        """Y in the space f(X) lives in: config.normalize with the training statistics of Y (float32)."""
        Y = check_matrix(Y, name="Y", messages=_MATRIX_MESSAGES)
        if Y.shape[1] != self.out_dim:
            raise MmweError(f"expected Y with {self.out_dim} columns (the map's output size), got {Y.shape[1]}")
        return self.normalizers[1].apply(Y)

    def __repr__(self) -> str:
        c = self.config
        shape = "x".join(str(d) for d in (self.in_dim, *(c.hidden if c.model == "nn" else ()), self.out_dim))
        how = "closed form" if c.model in CLOSED_FORM else f"loss={c.loss}"
        return f"CrossModalMap({c.model} {shape}, {how}, trained={self.trained})"

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Map rows of X (N, in_dim) to float32 (N, out_dim), in batches, in eval mode, without grad."""
        X = check_matrix(X, name="X", messages=_MATRIX_MESSAGES)
        if X.shape[1] != self.in_dim:
            raise MmweError(f"expected X with {self.in_dim} columns (the map's input size), got {X.shape[1]}; "
                            "fix: apply the map to vectors of the modality it was trained on")
        X = self.normalizers[0].apply(X)  # training statistics; no-op without config.normalize
        self.network.eval()
        out = np.empty((X.shape[0], self.out_dim), dtype=np.float32)
        with torch.no_grad():
            for s in range(0, X.shape[0], _PREDICT_BATCH):
                xb = torch.from_numpy(X[s:s + _PREDICT_BATCH])  # (b, in_dim)
                out[s:s + _PREDICT_BATCH] = self.network(xb).numpy()  # (b, out_dim)
        return out

    def save(self, path: str | os.PathLike) -> None:
        """Write config, dims, history and weights as one torch file (atomic), readable with weights_only."""
        payload = {
            "format": FILE_FORMAT, "version": FILE_VERSION, "config": self.config.to_dict(),
            "in_dim": self.in_dim, "out_dim": self.out_dim, "trained": self.trained,
            "history": self.history, "normalizers": [n.to_dict() for n in self.normalizers],
            "state_dict": {k: v.detach().clone() for k, v in self.network.state_dict().items()},
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)

    @classmethod
    def load(cls, path: str | os.PathLike) -> CrossModalMap:
        """Read a map written by save(); clear MmweError for a missing, truncated or foreign file."""
        payload = _read_payload(path)
        try:
            cfg = MapConfig.from_dict(payload["config"]).validate()
            net = build_network(int(payload["in_dim"]), int(payload["out_dim"]), cfg)
            net.load_state_dict(payload["state_dict"])
            norms = _load_normalizers(payload, cfg)
        except (KeyError, TypeError, ValueError, RuntimeError, MmweError) as exc:
            raise MmweError(f"expected a complete mmwe map, got an inconsistent one ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200]}); fix: retrain with `mmwe map train`",
                            path=path) from None
        return cls(net, cfg, payload["in_dim"], payload["out_dim"], trained=bool(payload.get("trained", True)),
                   history=payload.get("history") or {}, normalizers=norms)


def _load_normalizers(payload: dict, cfg: MapConfig) -> tuple[Normalizer, Normalizer]:
    """The stored (X, Y) normalisers; a version-1 file has none (and no ``normalize`` in its config)."""
    stored = payload.get("normalizers")
    norms = (Normalizer(), Normalizer()) if stored is None else tuple(Normalizer.from_dict(d) for d in stored)
    if len(norms) != 2 or any(n.steps != parse_normalize(cfg.normalize) for n in norms):
        raise ValueError(f"normalisation steps {[n.steps for n in norms]} do not match the config's "
                         f"{cfg.normalize!r}")
    return norms  # type: ignore[return-value]


def _read_payload(path: str | os.PathLike) -> dict:
    if not os.path.isfile(path):
        raise MmweError("expected a map file written by `mmwe map train`, got no such file; fix: check the path",
                        path=path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types here (KeyError, UnpicklingError, RuntimeError...)
        raise MmweError(f"expected a map file written by `mmwe map train`, got a truncated or foreign file "
                        f"({type(exc).__name__}); fix: retrain or copy the file again", path=path) from None
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise MmweError("expected a map file written by `mmwe map train`, got another torch file; "
                        "fix: pass the --out file of `mmwe map train`", path=path)
    if payload.get("version") not in READ_VERSIONS:
        raise MmweError(f"expected map file version {' or '.join(map(str, READ_VERSIONS))}, got "
                        f"{payload.get('version')}; "
                        "fix: retrain with this version of mmwe", path=path)
    return payload


# ------------------------------------------------------------------------------------- training


def untrained_map(in_dim: int, out_dim: int, cfg: MapConfig | None = None) -> CrossModalMap:
    """The network of ``cfg`` at initialisation: the same weights fit_map starts from with this seed."""
    cfg = copy.deepcopy(cfg or MapConfig()).validate()
    if cfg.model in CLOSED_FORM:
        raise MmweError(f"expected model 'lin' or 'nn' for an untrained map, got {cfg.model!r} (a closed-form map "
                        "has no initialisation); fix: use --model lin")
    if int(in_dim) < 1 or int(out_dim) < 1:
        raise MmweError(f"expected positive dimensions, got in_dim={in_dim}, out_dim={out_dim}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = build_network(int(in_dim), int(out_dim), cfg)
    return CrossModalMap(net, cfg, in_dim, out_dim, trained=False, history={})


def fit_map(X: np.ndarray, Y: np.ndarray, cfg: MapConfig | None = None, *,
            on_epoch: Callable[[int, dict], None] | None = None) -> CrossModalMap:
    """Fit a map f with f(X[i]) ~ Y[i]; X (N, dx) and Y (N, dy) are paired by row.

    ``lin`` / ``nn``: Adam on ``cfg.loss``; ``on_epoch(epoch, history)`` is called after every epoch (e.g. to
    drive a progress bar) and the returned map holds the weights of the best validation epoch (or the last,
    with val_fraction 0). ``procrustes`` / ``cca``: one closed-form solve on all rows (no epochs, no split).
    ``cfg.normalize`` normalises X and Y first (:class:`Normalizer`, each with its own statistics, as vecmap
    does both languages); the map keeps both normalisers: ``predict`` applies X's, and f(X) lives in the
    normalised Y space (``normalize_y`` puts new targets there).
    """
    cfg = copy.deepcopy(cfg or MapConfig()).validate()
    X, Y = check_paired(X, Y, messages=_MATRIX_MESSAGES)
    steps = parse_normalize(cfg.normalize)
    (norm_x, X), (norm_y, Y) = Normalizer.fit(steps, X), Normalizer.fit(steps, Y)
    fmap = _fit_closed_form(X, Y, cfg) if cfg.model in CLOSED_FORM else _fit_trained(X, Y, cfg, on_epoch)
    fmap.normalizers = (norm_x, norm_y)
    return fmap


def _fit_trained(X: np.ndarray, Y: np.ndarray, cfg: MapConfig,
                 on_epoch: Callable[[int, dict], None] | None) -> CrossModalMap:
    """Adam on cfg.loss (lin / nn), on X and Y as given (already normalised)."""
    # fork_rng: the caller's global torch RNG is left untouched; dropout draws from the seeded copy.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = build_network(X.shape[1], Y.shape[1], cfg)
        data_gen = torch.Generator().manual_seed(cfg.seed + 1)  # split + shuffling, apart from init
        tr, va = _split(X.shape[0], cfg.val_fraction, data_gen)
        dev = map_device(cfg.device)
        Xt, Yt = torch.from_numpy(X).to(dev), torch.from_numpy(Y).to(dev)  # (N, dx), (N, dy)
        net.to(dev)
        objective = _Objective(cfg, Yt[tr.to(dev)], Yt[va.to(dev)])
        history = _train(net, objective, (Xt[tr.to(dev)], Yt[tr.to(dev)]), (Xt[va.to(dev)], Yt[va.to(dev)]), cfg,
                         data_gen, on_epoch)
        net.to("cpu")  # saved and applied on the CPU
        history["device"] = dev.type
    return CrossModalMap(net, cfg, X.shape[1], Y.shape[1], trained=True, history=history)


def map_device(device: str = "auto") -> torch.device:
    """The torch device of ``--device auto|cpu|cuda`` (`mmwe.devices.resolve_device`)."""
    check_choice("device", device, DEVICES)
    return torch.device(resolve_device(device))


def _split(n: int, val_fraction: float, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random train / validation row indices; empty validation when val_fraction is 0."""
    n_val = int(round(n * val_fraction))
    if val_fraction > 0:
        n_val = max(n_val, 1)
        if n - n_val < 1:
            raise MmweError(f"expected enough rows for a validation split of {val_fraction}, got {n} rows; "
                            "fix: give more rows or --val-fraction 0")
    perm = torch.randperm(n, generator=gen)
    return perm[n_val:], perm[:n_val]


def discriminator(dim: int, hidden: int) -> nn.Sequential:
    """MUSE's discriminator, smaller: input dropout, 2 hidden LeakyReLU(0.2) layers, one logit ("is a Y row")."""
    return nn.Sequential(nn.Dropout(_ADV_DROPOUT), nn.Linear(dim, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))


class _Objective:
    """The weighted terms of cfg.loss and the state some of them carry: a learned InfoNCE temperature, Y's K-NN
    graphs of the training and of the validation rows, a discriminator with its own optimiser.

    Nothing here draws from the global torch RNG or from fit_map's data generator (the graph and the
    discriminator have their own seeds), so that a loss without these terms trains exactly as before.
    """

    def __init__(self, cfg: MapConfig, Y_train: torch.Tensor, Y_val: torch.Tensor):
        self.cfg, self.terms = cfg, cfg.terms
        self.local = {t: w for t, w in self.terms.items() if t not in ("graph", "adversarial")}
        self.pairwise = any(t in PAIRWISE for t in self.terms)
        self.log_scale = None
        dev = Y_train.device
        if "infonce" in self.terms and cfg.learn_temperature:
            self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.temperature), device=dev))
        self.graph = self.val_graph = None
        if "graph" in self.terms:  # searched where Y lives, kept on the CPU beside the batch indices
            self.graph, self.val_graph = knn_graph(Y_train, cfg.graph_k).cpu(), knn_graph(Y_val, cfg.graph_k).cpu()
        self.graph_gen = torch.Generator().manual_seed(cfg.seed + 3)
        self.disc = self.disc_opt = None
        if "adversarial" in self.terms:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.seed + 2)
                self.disc = discriminator(Y_train.shape[1], cfg.adv_hidden).to(dev)
            self.disc_opt = torch.optim.Adam(self.disc.parameters(), lr=cfg.adv_lr, betas=(0.5, 0.999))

    def temperature(self) -> float | torch.Tensor:
        if self.log_scale is None:
            return self.cfg.temperature
        return torch.exp(-self.log_scale.clamp(max=math.log(_MAX_LOGIT_SCALE)))

    def _local(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
        if not self.local:
            return None
        return _weighted_local(pred, target, self.local, self.cfg.margin, self.temperature(), self.cfg.nb_temperature)

    def _graph(self, net: nn.Module, X: torch.Tensor, rows: torch.Tensor, graph: torch.Tensor,
               gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(f(X[rows]), graph term) with one graph neighbour per row drawn from ``gen``.

        The neighbours' predictions are constants (no gradient, as the key encoder of MoCo): the anchors
        f(X[rows]) carry the whole gradient, which keeps a step at about MSE's cost plus one forward pass.
        """
        nb = graph[rows, torch.randint(0, graph.shape[1], (rows.shape[0],), generator=gen)]  # (b,)
        pred = net(X[rows])  # (b, dy)
        with torch.no_grad():
            pred_nb = net(X[nb])  # (b, dy)
        term = graph_loss(pred, pred_nb, rows, nb, self.cfg.nb_temperature)
        w = self.terms["graph"]
        return pred, term if w == 1.0 else w * term

    def train_loss(self, net: nn.Module, X: torch.Tensor, Y: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """The training loss of the batch ``idx`` (after the discriminator's steps on it, if any)."""
        graph_term = None
        if self.graph is not None and self.graph.shape[1] > 0:
            pred, graph_term = self._graph(net, X, idx, self.graph, self.graph_gen)
        else:
            pred = net(X[idx])  # (B, dy)
        total = self._local(pred, Y[idx])
        for term in (graph_term, self._adversarial(pred, Y[idx])):
            if term is not None:
                total = term if total is None else total + term
        return total

    def _adversarial(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
        """Update the discriminator on (f(x), y) of this batch, then the map's loss for fooling it."""
        if self.disc is None:
            return None
        n = pred.shape[0]
        real = [torch.full((n,), _ADV_SMOOTH), torch.full((n,), 1.0 - _ADV_SMOOTH)]
        labels = torch.cat(real).to(pred.device)  # (2n,): y = real
        self.disc.train()
        self.disc.requires_grad_(True)
        for _ in range(self.cfg.adv_steps):
            logits = self.disc(torch.cat([pred.detach(), target])).squeeze(1)  # (2n,)
            d_loss = F.binary_cross_entropy_with_logits(logits, labels)
            self.disc_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            self.disc_opt.step()
        self.disc.requires_grad_(False)  # the map's step below must not move the discriminator
        fooled = F.binary_cross_entropy_with_logits(self.disc(pred).squeeze(1), labels[n:])  # call f(x) real
        w = self.terms["adversarial"]
        return fooled if w == 1.0 else w * fooled

    def eval_loss(self, net: nn.Module, X: torch.Tensor, Y: torch.Tensor) -> float:
        """Loss over (X, Y) in fixed consecutive batches of cfg.batch_size (row-weighted mean), eval mode,
        without the adversarial term; the graph term on the validation graph with a fixed neighbour draw."""
        net.eval()
        gen = torch.Generator().manual_seed(self.cfg.seed + 4)  # the same draw at every epoch
        use_graph = self.val_graph is not None and self.val_graph.shape[1] > 0
        total = 0.0
        with torch.no_grad():
            for s in range(0, X.shape[0], self.cfg.batch_size):
                rows = torch.arange(s, min(s + self.cfg.batch_size, X.shape[0]))  # (b,)
                graph_term = None
                if use_graph:
                    pred, graph_term = self._graph(net, X, rows, self.val_graph, gen)
                else:
                    pred = net(X[rows])  # (b, dy)
                loss = self._local(pred, Y[rows])
                if graph_term is not None:
                    loss = graph_term if loss is None else loss + graph_term
                total += (0.0 if loss is None else float(loss)) * rows.shape[0]
        return total / X.shape[0]


def _weighted_local(pred: torch.Tensor, target: torch.Tensor, terms: dict[str, float], margin: float,
                    temperature: float | torch.Tensor, nb_temperature: float) -> torch.Tensor:
    """Weighted sum of batch-local terms (a weight of 1 multiplies nothing: single losses stay bit-identical)."""
    total = None
    for name, weight in terms.items():
        if name == "mse":
            term = mse_loss(pred, target)
        elif name == "cosine":
            term = cosine_loss(pred, target)
        elif name == "max-margin":
            term = max_margin_loss(pred, target, margin)
        elif name == "infonce":
            term = infonce_loss(pred, target, temperature)
        elif name == "similarity":
            term = similarity_loss(pred, target)
        elif name == "neighbourhood":
            term = neighbourhood_loss(pred, target, nb_temperature)
        else:
            raise MmweError(f"expected a batch-local loss term, got {name!r}; fix: train with fit_map, which holds "
                            "the K-NN graph and the discriminator this term needs")
        term = term if weight == 1.0 else weight * term
        total = term if total is None else total + term
    return total


def _train_epoch(net: nn.Module, opt: torch.optim.Optimizer, objective: _Objective, X: torch.Tensor,
                 Y: torch.Tensor, cfg: MapConfig, gen: torch.Generator) -> float:
    """One shuffled pass of Adam steps; returns the row-weighted mean training loss."""
    net.train()
    perm = torch.randperm(X.shape[0], generator=gen)
    total, rows = 0.0, 0
    for s in range(0, X.shape[0], cfg.batch_size):
        idx = perm[s:s + cfg.batch_size]
        if objective.pairwise and idx.numel() < 2:
            continue  # a lone row has no in-batch negative or neighbour: nothing to learn from
        loss = objective.train_loss(net, X, Y, idx)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * idx.numel()
        rows += idx.numel()
    return total / max(rows, 1)


def _train(net: nn.Module, objective: _Objective, train: tuple[torch.Tensor, torch.Tensor],
           val: tuple[torch.Tensor, torch.Tensor], cfg: MapConfig, gen: torch.Generator,
           on_epoch: Callable[[int, dict], None] | None) -> dict:
    """Adam epochs with early stopping on the validation loss; the best weights are restored in place."""
    fused = True if next(net.parameters()).is_cuda else None  # one kernel per step on CUDA; the CPU default
    if objective.log_scale is None:
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    else:  # the temperature is not weight-decayed
        opt = torch.optim.Adam([{"params": list(net.parameters())},
                                {"params": [objective.log_scale], "weight_decay": 0.0}],
                               lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)
    use_val = val[0].shape[0] > 0
    init_val = objective.eval_loss(net, *val) if use_val else float("nan")
    hist: dict = {"epoch": [], "train_loss": [], "val_loss": [], "init_val_loss": init_val, "best_epoch": 0,
                  "best_val_loss": init_val, "stopped_early": False,
                  "n_train": int(train[0].shape[0]), "n_val": int(val[0].shape[0])}
    best_state = copy.deepcopy(net.state_dict())
    best_scale = None if objective.log_scale is None else float(objective.log_scale.detach())
    for epoch in range(1, cfg.epochs + 1):
        hist["epoch"].append(epoch)
        hist["train_loss"].append(_train_epoch(net, opt, objective, *train, cfg, gen))
        v = objective.eval_loss(net, *val) if use_val else float("nan")
        hist["val_loss"].append(v)
        if not use_val or v < hist["best_val_loss"]:
            hist["best_epoch"], hist["best_val_loss"] = epoch, v
            best_state = copy.deepcopy(net.state_dict())
            best_scale = None if objective.log_scale is None else float(objective.log_scale.detach())
        if on_epoch is not None:
            on_epoch(epoch, hist)
        if use_val and epoch - hist["best_epoch"] >= cfg.patience:
            hist["stopped_early"] = epoch < cfg.epochs
            break
    net.load_state_dict(best_state)
    net.eval()
    if best_scale is not None:  # the learned temperature of the kept weights
        hist["temperature"] = math.exp(-min(best_scale, math.log(_MAX_LOGIT_SCALE)))
    return hist


# --------------------------------------------------------------------------------- closed form


def fit_procrustes(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Orthogonal Procrustes with centring and one global scale: f(x) = s (x - mean_x) W + mean_y.

    W (dx, dy) = U V^T from the thin SVD U S V^T of Xc^T Yc: the orthogonal solution after *zero-padding* the
    smaller side to the larger dimension (orthonormal columns when dx >= dy, rows when dx < dy; no PCA);
    s = trace(S) / |Xc|_F^2 is the least-squares scale given W (Schoenemann 1966). Returns (A, b, info)
    with f(x) = x A + b, A = s W. Y = X R with R orthogonal gives back A = R, b = 0.
    """
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    mx, my = X64.mean(axis=0), Y64.mean(axis=0)  # (dx,), (dy,)
    Xc, Yc = X64 - mx, Y64 - my
    U, S, Vt = np.linalg.svd(Xc.T @ Yc, full_matrices=False)  # (dx, r), (r,), (r, dy); r = min(dx, dy)
    ss = float((Xc ** 2).sum())
    scale = float(S.sum() / ss) if ss > 0 else 0.0
    A = scale * (U @ Vt)  # (dx, dy)
    return A, my - mx @ A, {"scale": scale, "dims_matched_by": "zero-padding"}


def fit_cca(X: np.ndarray, Y: np.ndarray, components: int = 0) -> tuple[np.ndarray, np.ndarray, dict]:
    """CCA map: scikit-learn's CCA (standardised inputs, NIPALS) finds ``components`` canonical variates of X,
    and Y is regressed on them by least squares. Both steps are affine, so the map is returned as (A, b) with
    f(x) = x A + b. (sklearn's own ``CCA.predict`` is not a least-squares prediction: R^2 = 0.84 on noise-free
    linear data with all components, where this map is exact.) ``components`` 0 = min(dx, dy, rows - 1);
    larger values are capped there."""
    from sklearn.cross_decomposition import CCA
    from sklearn.exceptions import ConvergenceWarning

    top = min(X.shape[1], Y.shape[1], X.shape[0] - 1)
    if top < 1:
        raise MmweError(f"expected at least 2 rows for CCA, got {X.shape[0]}")
    c = min(components or top, top)
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    model = CCA(n_components=c, scale=True, max_iter=500)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X64, Y64)
    q = model.transform(np.zeros((1, X.shape[1])))[0]  # (c,): the variates of x = 0
    P = model.transform(np.eye(X.shape[1])) - q  # (dx, c): variates are x P + q
    Z = np.hstack([X64 @ P + q, np.ones((X.shape[0], 1))])  # (N, c + 1)
    coef = np.linalg.lstsq(Z, Y64, rcond=None)[0]  # (c + 1, dy)
    A, b = P @ coef[:c], q @ coef[:c] + coef[c]  # (dx, dy), (dy,)
    not_converged = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return A, b, {"components": c, "not_converged": not_converged}


def _fit_closed_form(X: np.ndarray, Y: np.ndarray, cfg: MapConfig) -> CrossModalMap:
    """A procrustes / cca map as the affine layer of ``lin`` (same save / load / predict)."""
    A, b, info = fit_procrustes(X, Y) if cfg.model == "procrustes" else fit_cca(X, Y, cfg.cca_components)
    net = build_network(X.shape[1], Y.shape[1], cfg)  # one nn.Linear
    with torch.no_grad():
        net[-1].weight.copy_(torch.from_numpy(A.T.astype(np.float32)))  # (dy, dx)
        net[-1].bias.copy_(torch.from_numpy(b.astype(np.float32)))  # (dy,)
    fmap = CrossModalMap(net, cfg, X.shape[1], Y.shape[1], trained=True)
    train_mse = float(np.mean((fmap.predict(X).astype(np.float64) - Y) ** 2))
    fmap.history = {"closed_form": cfg.model, "epoch": [], "train_loss": [], "val_loss": [], "train_mse": train_mse,
                    "n_train": int(X.shape[0]), "n_val": 0, **info}
    return fmap
