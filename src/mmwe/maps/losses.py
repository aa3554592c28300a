"""The training losses of ``lin`` / ``nn`` maps (torch, per mini-batch); the K-NN graph of ``graph`` is
``mmwe.neighbors.knn_graph``."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mmwe.errors import MmweError
from mmwe.maps.config import parse_loss
from mmwe.neighbors import knn_graph as knn_graph  # the graph of the graph loss (mmwe.maps.knn_graph)

_MASKED = -1e9  # logit of an excluded candidate (finite, so that 0 * log-prob stays 0)


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


def compute_loss(pred: torch.Tensor, target: torch.Tensor, loss: str, margin: float = 0.5, *,
                 temperature: float | torch.Tensor = 0.05, nb_temperature: float = 0.1) -> torch.Tensor:
    """The named (or weighted, "mse=1,similarity=2") loss of predictions (B, d) against targets (B, d).

    Only the batch-local terms: ``graph`` needs the training rows' K-NN graph and ``adversarial`` a
    discriminator, both of which fit_map holds.
    """
    return _weighted_local(pred, target, parse_loss(loss), margin, temperature, nb_temperature)


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
