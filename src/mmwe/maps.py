"""Cross-modal maps: learn f(X) ~ Y between paired vectors of two modalities (Collell & Moens 2018).

Two interchangeable models share one small interface:

* ``lin``: an affine map ``f(x) = x W + b``;
* ``nn``: a feed-forward net with 1 to 5 hidden layers (ReLU, tanh or sigmoid, optional dropout).

Both are trained with Adam on one of three losses (``mse``, ``max-margin``, ``cosine``), with early
stopping on a held-out validation split. ``untrained_map`` returns the very same network at its
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
from dataclasses import asdict, dataclass, fields
from typing import Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmwe.errors import MmweError
from mmwe.fileio import atomic_path
from mmwe.validation import check_choice, check_matrix, check_paired, check_range

MODELS = ("lin", "nn")
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
LOSSES = ("mse", "max-margin", "cosine")
MAX_HIDDEN_LAYERS = 5
FILE_FORMAT = "mmwe-map"  # tag stored in every saved map, so that foreign torch files are recognised
FILE_VERSION = 1
_PREDICT_BATCH = 4096  # rows per forward pass in predict(): bounds memory on large vocabularies
# check_matrix wording for X and Y; maps report the first bad row 0-based (users and tests match this text)
_MATRIX_MESSAGES = {"finite": "expected finite values in {name}, got {bad_values} NaN/inf (first in row {index}); "
                              "fix: drop or impute those rows"}


@dataclass
class MapConfig:
    """How a cross-modal map is built and trained (one field per hyper-parameter)."""

    model: Literal["lin", "nn"] = "lin"  # "lin": affine x W + b; "nn": MLP with `hidden` layers
    hidden: tuple[int, ...] = (300,)  # sizes of the hidden layers of "nn" (1 to 5); ignored by "lin"
    activation: Literal["relu", "tanh", "sigmoid"] = "relu"  # non-linearity after each hidden layer
    dropout: float = 0.0  # drop probability after each hidden activation (training only); 0 = none
    loss: Literal["mse", "max-margin", "cosine"] = "mse"  # training objective, see compute_loss()
    margin: float = 0.5  # margin of the max-margin ranking hinge (cosine units)
    lr: float = 1e-3  # Adam learning rate
    weight_decay: float = 0.0  # Adam L2 penalty
    epochs: int = 100  # maximum passes over the training rows
    batch_size: int = 64  # rows per Adam step; also the pool of negatives for max-margin
    val_fraction: float = 0.1  # rows held out for early stopping; 0 = no split, train all `epochs`
    patience: int = 5  # stop after this many epochs without a better validation loss
    seed: int = 0  # seeds initialisation, the validation split, shuffling and dropout

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)

    def validate(self) -> "MapConfig":
        """Raise MmweError (expected / got / fix) for any setting outside its range; return self."""
        check_choice("model", self.model, MODELS)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("loss", self.loss, LOSSES)
        if self.model == "nn" and not 1 <= len(self.hidden) <= MAX_HIDDEN_LAYERS:
            raise MmweError(f"expected 1 to {MAX_HIDDEN_LAYERS} hidden layers for model 'nn', got "
                            f"{len(self.hidden)}; fix: give --hidden once per layer, e.g. --hidden 300")
        if any(h < 1 for h in self.hidden):
            raise MmweError(f"expected positive hidden sizes, got {list(self.hidden)}")
        check_range("dropout", self.dropout, 0.0, 1.0, hi_open=True)
        check_range("val_fraction", self.val_fraction, 0.0, 1.0, hi_open=True)
        check_range("margin", self.margin, 0.0, math.inf)
        check_range("weight_decay", self.weight_decay, 0.0, math.inf)
        if not self.lr > 0:
            raise MmweError(f"expected a learning rate > 0, got {self.lr}")
        for name, low in (("epochs", 0), ("batch_size", 1), ("patience", 1)):
            if int(getattr(self, name)) < low:
                raise MmweError(f"expected {name} >= {low}, got {getattr(self, name)}")
        if self.loss == "max-margin" and self.batch_size < 2:
            raise MmweError("expected batch_size >= 2 for the max-margin loss (the other rows of a batch "
                            f"are its negatives), got {self.batch_size}; fix: use --batch-size 64")
        return self

    def to_dict(self) -> dict:
        """Plain dict (lists, str, int, float) that torch.load(weights_only=True) can read back."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "MapConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def collell(cls, model: str, *, direction: str = "t2i", visual: str = "vgg128", **overrides) -> "MapConfig":
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


def compute_loss(pred: torch.Tensor, target: torch.Tensor, loss: str, margin: float = 0.5) -> torch.Tensor:
    """The named training loss of predictions (B, d) against targets (B, d), as a scalar tensor."""
    if loss == "mse":
        return mse_loss(pred, target)
    if loss == "cosine":
        return cosine_loss(pred, target)
    if loss == "max-margin":
        return max_margin_loss(pred, target, margin)
    raise MmweError(f"expected loss in {{{', '.join(LOSSES)}}}, got {loss!r}")


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
                 trained: bool, history: dict | None = None):
        self.network = network.eval()
        self.config = config
        self.in_dim = int(in_dim)
        self.out_dim = int(out_dim)
        self.trained = trained
        self.history = history or {}

    def __repr__(self) -> str:
        c = self.config
        shape = "x".join(str(d) for d in (self.in_dim, *(c.hidden if c.model == "nn" else ()), self.out_dim))
        return f"CrossModalMap({c.model} {shape}, loss={c.loss}, trained={self.trained})"

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Map rows of X (N, in_dim) to float32 (N, out_dim), in batches, in eval mode, without grad."""
        X = check_matrix(X, name="X", messages=_MATRIX_MESSAGES)
        if X.shape[1] != self.in_dim:
            raise MmweError(f"expected X with {self.in_dim} columns (the map's input size), got {X.shape[1]}; "
                            "fix: apply the map to vectors of the modality it was trained on")
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
            "history": self.history,
            "state_dict": {k: v.detach().clone() for k, v in self.network.state_dict().items()},
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CrossModalMap":
        """Read a map written by save(); clear MmweError for a missing, truncated or foreign file."""
        payload = _read_payload(path)
        try:
            cfg = MapConfig.from_dict(payload["config"]).validate()
            net = build_network(int(payload["in_dim"]), int(payload["out_dim"]), cfg)
            net.load_state_dict(payload["state_dict"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise MmweError(f"expected a complete mmwe map, got an inconsistent one ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200]}); fix: retrain with `mmwe map train`", path=path) from None
        return cls(net, cfg, payload["in_dim"], payload["out_dim"], trained=bool(payload.get("trained", True)),
                   history=payload.get("history") or {})


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
    if payload.get("version") != FILE_VERSION:
        raise MmweError(f"expected map file version {FILE_VERSION}, got {payload.get('version')}; "
                        "fix: retrain with this version of mmwe", path=path)
    return payload


# ------------------------------------------------------------------------------------- training


def untrained_map(in_dim: int, out_dim: int, cfg: MapConfig | None = None) -> CrossModalMap:
    """The network of ``cfg`` at initialisation: the same weights fit_map starts from with this seed."""
    cfg = copy.deepcopy(cfg or MapConfig()).validate()
    if int(in_dim) < 1 or int(out_dim) < 1:
        raise MmweError(f"expected positive dimensions, got in_dim={in_dim}, out_dim={out_dim}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = build_network(int(in_dim), int(out_dim), cfg)
    return CrossModalMap(net, cfg, in_dim, out_dim, trained=False, history={})


def fit_map(X: np.ndarray, Y: np.ndarray, cfg: MapConfig | None = None, *,
            on_epoch: Callable[[int, dict], None] | None = None) -> CrossModalMap:
    """Train a map f with f(X[i]) ~ Y[i]; X (N, dx) and Y (N, dy) are paired by row.

    ``on_epoch(epoch, history)`` is called after every epoch (e.g. to drive a progress bar).
    The returned map holds the weights of the best validation epoch (or the last, with val_fraction 0).
    """
    cfg = copy.deepcopy(cfg or MapConfig()).validate()
    X, Y = check_paired(X, Y, messages=_MATRIX_MESSAGES)
    # fork_rng: the caller's global torch RNG is left untouched; dropout draws from the seeded copy.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        net = build_network(X.shape[1], Y.shape[1], cfg)
        data_gen = torch.Generator().manual_seed(cfg.seed + 1)  # split + shuffling, apart from init
        tr, va = _split(X.shape[0], cfg.val_fraction, data_gen)
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)  # (N, dx), (N, dy)
        history = _train(net, (Xt[tr], Yt[tr]), (Xt[va], Yt[va]), cfg, data_gen, on_epoch)
    return CrossModalMap(net, cfg, X.shape[1], Y.shape[1], trained=True, history=history)


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


def _eval_loss(net: nn.Module, X: torch.Tensor, Y: torch.Tensor, cfg: MapConfig) -> float:
    """Loss over (X, Y) in fixed consecutive batches of cfg.batch_size (row-weighted mean), eval mode."""
    net.eval()
    total = 0.0
    with torch.no_grad():
        for s in range(0, X.shape[0], cfg.batch_size):
            xb, yb = X[s:s + cfg.batch_size], Y[s:s + cfg.batch_size]  # (b, dx), (b, dy)
            total += float(compute_loss(net(xb), yb, cfg.loss, cfg.margin)) * xb.shape[0]
    return total / X.shape[0]


def _train_epoch(net: nn.Module, opt: torch.optim.Optimizer, X: torch.Tensor, Y: torch.Tensor,
                 cfg: MapConfig, gen: torch.Generator) -> float:
    """One shuffled pass of Adam steps; returns the row-weighted mean training loss."""
    net.train()
    perm = torch.randperm(X.shape[0], generator=gen)
    total, rows = 0.0, 0
    for s in range(0, X.shape[0], cfg.batch_size):
        idx = perm[s:s + cfg.batch_size]
        if cfg.loss == "max-margin" and idx.numel() < 2:
            continue  # a lone row has no in-batch negative: nothing to learn from
        loss = compute_loss(net(X[idx]), Y[idx], cfg.loss, cfg.margin)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * idx.numel()
        rows += idx.numel()
    return total / max(rows, 1)


def _train(net: nn.Module, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
           cfg: MapConfig, gen: torch.Generator, on_epoch: Callable[[int, dict], None] | None) -> dict:
    """Adam epochs with early stopping on the validation loss; the best weights are restored in place."""
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    use_val = val[0].shape[0] > 0
    init_val = _eval_loss(net, *val, cfg) if use_val else float("nan")
    hist: dict = {"epoch": [], "train_loss": [], "val_loss": [], "init_val_loss": init_val, "best_epoch": 0,
                  "best_val_loss": init_val, "stopped_early": False,
                  "n_train": int(train[0].shape[0]), "n_val": int(val[0].shape[0])}
    best_state = copy.deepcopy(net.state_dict())
    for epoch in range(1, cfg.epochs + 1):
        hist["epoch"].append(epoch)
        hist["train_loss"].append(_train_epoch(net, opt, *train, cfg, gen))
        v = _eval_loss(net, *val, cfg) if use_val else float("nan")
        hist["val_loss"].append(v)
        if not use_val or v < hist["best_val_loss"]:
            hist["best_epoch"], hist["best_val_loss"] = epoch, v
            best_state = copy.deepcopy(net.state_dict())
        if on_epoch is not None:
            on_epoch(epoch, hist)
        if use_val and epoch - hist["best_epoch"] >= cfg.patience:
            hist["stopped_early"] = epoch < cfg.epochs
            break
    net.load_state_dict(best_state)
    net.eval()
    return hist
