"""Closed-form linear maps: orthogonal Procrustes and CCA, stored as the affine layer of ``lin``."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from mmwe.errors import MmweError
from mmwe.maps.config import MapConfig
from mmwe.maps.model import CrossModalMap, build_map_network


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
    net = build_map_network(X.shape[1], Y.shape[1], cfg)  # one nn.Linear
    with torch.no_grad():
        net[-1].weight.copy_(torch.from_numpy(A.T.astype(np.float32)))  # (dy, dx)
        net[-1].bias.copy_(torch.from_numpy(b.astype(np.float32)))  # (dy,)
    fmap = CrossModalMap(net, cfg, X.shape[1], Y.shape[1], trained=True)
    train_mse = float(np.mean((fmap.predict(X).astype(np.float64) - Y) ** 2))
    fmap.history = {"closed_form": cfg.model, "epoch": [], "train_loss": [], "val_loss": [], "train_mse": train_mse,
                    "n_train": int(X.shape[0]), "n_val": 0, **info}
    return fmap
