"""The map itself: the network of a ``MapConfig`` and ``CrossModalMap`` (predict, save, load)."""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from torch import nn

from mmwe.errors import MmweError
from mmwe.fileio import atomic_path
from mmwe.maps.config import CLOSED_FORM, MapConfig
from mmwe.maps.normalize import Normalizer, parse_normalize
from mmwe.validation import check_matrix

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
FILE_FORMAT = "mmwe-map"  # tag stored in every saved map, so that foreign torch files are recognised
FILE_VERSION = 2  # 2: the normalisation statistics of X and Y (MapConfig.normalize) are stored with the weights
READ_VERSIONS = (1, 2)  # version 1 files (no normalisation) still load
_PREDICT_BATCH = 4096  # rows per forward pass in predict(): bounds memory on large vocabularies


# check_matrix wording for X and Y; maps report the first bad row 0-based (users and tests match this text)
_MATRIX_MESSAGES = {"finite": "expected finite values in {name}, got {bad_values} NaN/inf (first in row {index}); "
                              "fix: drop or impute those rows"}


def build_map_network(in_dim: int, out_dim: int, cfg: MapConfig) -> nn.Sequential:
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
            net = build_map_network(int(payload["in_dim"]), int(payload["out_dim"]), cfg)
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
