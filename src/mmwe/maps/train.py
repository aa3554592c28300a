"""Fitting: ``fit_map`` (Adam on the loss, early stopping, the adversarial discriminator), ``untrained_map``."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmwe.devices import DEVICES, resolve_device
from mmwe.errors import MmweError
from mmwe.maps.closed_form import _fit_closed_form
from mmwe.maps.config import CLOSED_FORM, PAIRWISE, MapConfig
from mmwe.maps.losses import _weighted_local, graph_loss
from mmwe.maps.model import _MATRIX_MESSAGES, CrossModalMap, build_map_network
from mmwe.maps.normalize import Normalizer, parse_normalize
from mmwe.neighbors import knn_graph
from mmwe.validation import check_choice, check_paired

_ADV_SMOOTH = 0.1  # label smoothing of the discriminator (MUSE's default)
_ADV_DROPOUT = 0.1  # dropout on the discriminator's input (MUSE's default)
_MAX_LOGIT_SCALE = 100.0  # a learned InfoNCE temperature stays >= 0.01 (CLIP's clamp)


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
        net = build_map_network(int(in_dim), int(out_dim), cfg)
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
        net = build_map_network(X.shape[1], Y.shape[1], cfg)
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
