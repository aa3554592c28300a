"""The language models of Mao, Xu, Jing, Yuille (NIPS 2016), "Training and evaluating multimodal word embeddings
with large-scale web annotated images", and their losses.

Every model shares one text path (Fig. 2 of the paper):

    one-hot -> embedding (E=128) -> GRU (H=512) -> FC (P=128) -> softmax over the vocabulary (sampled in training)

and differs in how the image features ``f_I`` enter:

- ``puretext``: no image; GRU state starts at zero.
- ``A``: the image initialises the GRU state, ``h_0 = ReLU(W_I f_I)``.
- ``B``: no image input; an extra loss pulls the final GRU state to the image,
  ``L_state = 1/n sum_s ||h_{l_s} - ReLU(W_I f_I)||`` (state starts at zero, as in the pure text RNN).
- ``C``: no image input; an extra loss pulls every word embedding to the image,
  ``L_emb = 1/n sum_s 1/l_s sum_t ||e_t - ReLU(W_I f_I)||`` (over the words of the sentence, not <bos>).

Transposed weight sharing (``share=True``): the softmax weights are the input embedding matrix itself
(``U_M = U_w^T``, the same ``Parameter``), which FC(P) with P == E makes shape-compatible. Norms are L2, not
squared. Embedding rows (input, output and output bias) get sparse gradients: only the rows a step touches.

Sampled softmax: ``negatives`` candidates per step, shared by every position of the batch, drawn with
replacement from a fixed distribution ``q`` (default: TF's log-uniform/Zipfian over the frequency rank, which is
what ``tf.nn.sampled_softmax_loss`` uses). Logits are corrected by ``log(S q(w))`` (the expected count of ``w``
among the S draws) for the true word and the candidates, and candidates equal to the true word ("accidental
hits") are masked to -inf. Validation uses the full softmax.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mmwe.errors import MmweError
from mmwe.lm.config import MODELS, SAMPLERS  # noqa: F401 (their home is the torch-free config)


class MaoModel(nn.Module):
    """Embedding -> GRU -> FC -> (sampled) softmax, with the image entering as the model kind says.

    ``model(batch, cands, log_expected)`` -> its loss sums (as nanoGPT's ``model(x, y)``); ``encode`` -> outputs."""

    def __init__(self, kind: str, vocab_size: int, feat_dim: int, *, emb_dim: int = 128, hidden: int = 512,
                 proj: int = 128, share: bool = True, proj_act: str = "none"):
        super().__init__()
        if kind not in MODELS:
            raise MmweError(f"expected model one of {', '.join(MODELS)}, got {kind!r}")
        if share and proj != emb_dim:
            raise MmweError(f"weight sharing needs --proj equal to --emb-dim, got {proj} and {emb_dim}; "
                            "set them equal or pass --no-share")
        if proj_act not in ("none", "relu", "tanh"):
            raise MmweError(f"expected proj_act none|relu|tanh, got {proj_act!r}")
        self.kind, self.share, self.proj_act = kind, share, proj_act
        self.embed = nn.Embedding(vocab_size, emb_dim, padding_idx=0, sparse=True)  # U_w, rows = words
        self.gru = nn.GRU(emb_dim, hidden, batch_first=True)
        self.proj = nn.Linear(hidden, proj)
        # Separate softmax weights only without sharing; with sharing the output reads self.embed.weight.
        self.out_embed = None if share else nn.Embedding(vocab_size, proj, sparse=True)
        self.out_bias = nn.Embedding(vocab_size, 1, sparse=True)
        img_out = {"A": hidden, "B": hidden, "C": emb_dim}.get(kind)
        self.img = nn.Linear(feat_dim, img_out) if img_out else None  # W_I
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Embeddings ~ N(0, 1/E); zero output bias; GRU reset/update gate biases 1.0 (the paper's setting)."""
        e = self.embed.weight.shape[1]
        nn.init.normal_(self.embed.weight, std=e ** -0.5)
        with torch.no_grad():
            self.embed.weight[0].zero_()  # <pad>
        if self.out_embed is not None:
            nn.init.normal_(self.out_embed.weight, std=self.out_embed.weight.shape[1] ** -0.5)
        nn.init.zeros_(self.out_bias.weight)
        init_gru_gate_bias(self.gru, 1.0)

    @property
    def output_weight(self) -> nn.Parameter:
        """The softmax weight matrix (V, P): the input embedding itself when shared."""
        return self.embed.weight if self.out_embed is None else self.out_embed.weight

    def sparse_parameters(self) -> list[nn.Parameter]:
        """Parameters whose gradients are sparse (embedding tables)."""
        ps = [self.embed.weight, self.out_bias.weight]
        return ps + ([self.out_embed.weight] if self.out_embed is not None else [])

    def image_target(self, feats: torch.Tensor) -> torch.Tensor:
        """ReLU(W_I f_I): (B, F) -> (B, H) for A/B, (B, E) for C."""
        assert self.img is not None, "model has no image path"
        return F.relu(self.img(feats))

    def encode(self, inp: torch.Tensor, feats: torch.Tensor | None = None):
        """inp (B, T) ids starting with <bos> -> projected outputs (B, T, P), GRU outputs (B, T, H),
        embeddings (B, T, E)."""
        emb = self.embed(inp)  # (B, T, E)
        h0 = None
        if self.kind == "A":
            h0 = self.image_target(feats).unsqueeze(0).contiguous()  # (1, B, H)
        out, _ = self.gru(emb, h0)  # (B, T, H); padding after a sentence never reaches its earlier outputs
        x = self.proj(out)  # (B, T, P)
        if self.proj_act == "relu":
            x = F.relu(x)
        elif self.proj_act == "tanh":
            x = torch.tanh(x)
        return x, out, emb

    def forward(self, batch, cands: torch.Tensor | None = None, log_expected: torch.Tensor | None = None):
        """The model's losses on a batch (mmwe.lm.data.Batch): (sum of per-token LM losses, sum of per-sentence
        image losses); the full softmax when ``cands`` is None, else the sampled one over ``cands``.

        Under bf16 autocast the matmuls (GRU, FC, image layer) run in bf16; the logits and losses are computed
        here in fp32, from the outputs cast to fp32, with autocast off (in fp32 runs both casts are no-ops)."""
        x, out, emb = self.encode(batch.inp, batch.feats)  # (B, T, P), (B, T, H), (B, T, E)
        target = self.image_target(batch.feats) if self.kind in ("B", "C") else None
        with torch.autocast(x.device.type, enabled=False):
            xs, ys = x[batch.mask].float(), batch.tgt[batch.mask]  # (N, P), (N,)
            w, b = self.output_weight, self.out_bias.weight
            nll = (full_softmax_nll(xs, ys, w, b) if cands is None
                   else sampled_softmax_nll(xs, ys, w, b, cands, log_expected))
            aux = xs.new_zeros(())
            if self.kind == "B":
                final = out[torch.arange(batch.size, device=out.device), batch.lengths]  # (B, H): h after last word
                aux = state_loss_terms(final.float(), target.float()).sum()
            elif self.kind == "C":
                aux = emb_loss_terms(emb.float(), batch.word_mask, target.float()).sum()
        return nll.sum(), aux


def init_gru_gate_bias(gru: nn.GRU, value: float) -> None:
    """Set the effective reset (r) and update (z) gate biases to ``value``.

    PyTorch keeps two biases per gate (input and hidden side) and adds them; TF's GRUCell has one. We put
    ``value`` on the input side and zero on the hidden side so that b_r = b_u = value exactly. (PyTorch's z is
    TF's u: h' = z * h + (1 - z) * n, so a positive bias keeps the previous state early in training.)
    """
    h = gru.hidden_size
    with torch.no_grad():
        for name, p in gru.named_parameters():
            if name.startswith("bias_ih"):
                p[: 2 * h].fill_(value)
            elif name.startswith("bias_hh"):
                p[: 2 * h].zero_()


def build_model(cfg: Any, vocab_size: int, feat_dim: int) -> MaoModel:
    """The model ``cfg`` describes (reads cfg.model, share, emb_dim, hidden, proj, proj_act)."""
    return MaoModel(cfg.model, vocab_size, feat_dim, emb_dim=cfg.emb_dim, hidden=cfg.hidden, proj=cfg.proj,
                    share=cfg.share, proj_act=getattr(cfg, "proj_act", "none"))


# -- candidate sampling ----------------------------------------------------------------------------------------
def sampling_distribution(counts: np.ndarray, kind: str = "log-uniform") -> np.ndarray:
    """q over the vocabulary (float64, sums to 1); words never seen as a target (count 0) get q = 0.

    ``log-uniform``: TF's log_uniform_candidate_sampler over the frequency rank r (0 = most frequent):
    q(r) = log((r + 2) / (r + 1)) / log(R + 1), R = number of words with count > 0 (ties: lower id first).
    ``log-count``: q(w) proportional to log(count(w) + 1).
    """
    counts = np.asarray(counts, dtype=np.float64)
    q = np.zeros_like(counts)
    seen = np.flatnonzero(counts > 0)
    if seen.size == 0:
        raise MmweError("expected at least one word with a positive count to sample from, got none")
    if kind == "log-uniform":
        ranked = seen[np.argsort(-counts[seen], kind="stable")]
        r = np.arange(ranked.size, dtype=np.float64)
        q[ranked] = np.log((r + 2) / (r + 1)) / math.log(ranked.size + 1)
    elif kind == "log-count":
        q[seen] = np.log(counts[seen] + 1)
    else:
        raise MmweError(f"expected sampler one of {', '.join(SAMPLERS)}, got {kind!r}")
    return q / q.sum()


class CandidateSampler:
    """Draws ``num`` candidates per step with replacement from q; its own seeded generator (checkpointed)."""

    def __init__(self, q: np.ndarray, num: int, seed: int, device: torch.device | str = "cpu"):
        self.num = int(num)
        self.cdf = torch.from_numpy(np.cumsum(q))  # (V,) float64, CPU: same draws on every device
        self.cdf[-1] = 1.0
        # log of the expected count of each word among the draws, S * q(w); unused for q = 0 (never drawn)
        self.log_expected = torch.from_numpy(np.log(np.maximum(num * q, 1e-30))).float().to(device)  # (V,)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.device = device

    def sample(self) -> torch.Tensor:
        """(S,) int64 candidate ids."""
        u = torch.rand(self.num, generator=self.generator, dtype=torch.float64)
        idx = torch.searchsorted(self.cdf, u, right=True).clamp_(max=self.cdf.numel() - 1)
        return idx.to(self.device)


# -- losses ----------------------------------------------------------------------------------------------------
def sampled_softmax_nll(x: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                        cands: torch.Tensor, log_expected: torch.Tensor) -> torch.Tensor:
    """Per-position sampled-softmax loss.

    x (N, P), targets (N,), weight (V, P), bias (V, 1), cands (S,), log_expected (V,) -> (N,).
    Rows of ``weight``/``bias`` are gathered with sparse gradients (only touched rows get a gradient).
    """
    w_t = F.embedding(targets, weight, sparse=True)  # (N, P)
    b_t = F.embedding(targets, bias, sparse=True).squeeze(1)  # (N,)
    true_logit = (x * w_t).sum(1) + b_t - log_expected[targets]  # (N,)
    w_s = F.embedding(cands, weight, sparse=True)  # (S, P)
    b_s = F.embedding(cands, bias, sparse=True).squeeze(1)  # (S,)
    samp = x @ w_s.t() + (b_s - log_expected[cands])  # (N, S)
    samp = samp.masked_fill(cands.unsqueeze(0) == targets.unsqueeze(1), float("-inf"))  # accidental hits
    logits = torch.cat([true_logit.unsqueeze(1), samp], dim=1)  # (N, 1 + S), true class at column 0
    return torch.logsumexp(logits, dim=1) - true_logit


def full_softmax_nll(x: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                     chunk: int = 1024) -> torch.Tensor:
    """Per-position exact softmax loss, x (N, P) -> (N,); chunked so (chunk, V) logits bound the memory."""
    out = []
    for i in range(0, x.shape[0], chunk):
        logits = x[i:i + chunk] @ weight.t() + bias.squeeze(1)  # (c, V)
        out.append(F.cross_entropy(logits, targets[i:i + chunk], reduction="none"))
    return torch.cat(out) if out else x.new_zeros(0)


def state_loss_terms(final_h: torch.Tensor, img_state: torch.Tensor) -> torch.Tensor:
    """||h_{l_s} - ReLU(W_I f_I)|| per sentence: (B, H), (B, H) -> (B,)."""
    return torch.linalg.vector_norm(final_h - img_state, dim=1)


def emb_loss_terms(emb: torch.Tensor, word_mask: torch.Tensor, img_emb: torch.Tensor) -> torch.Tensor:
    """1/l_s sum_t ||e_t - ReLU(W_I f_I)|| per sentence: emb (B, T, E), word_mask (B, T), img_emb (B, E) -> (B,)."""
    d = torch.linalg.vector_norm(emb - img_emb.unsqueeze(1), dim=2)  # (B, T)
    m = word_mask.to(d.dtype)
    return (d * m).sum(1) / m.sum(1).clamp(min=1)


def init_embedding(weight: torch.Tensor, words: list[str], vectors, *, mode: str = "pad", seed: int = 0,
                   scale: float = 0.01) -> int:
    """Copy pretrained vectors into the rows of ``weight`` (V, E) whose word they contain; return how many.

    When the vectors' dim D differs from E: ``pad`` keeps the D values and fills the other E - D dims with
    N(0, scale) noise (D <= E only); ``project`` maps them through a fixed N(0, 1/D) random (D, E) matrix
    (seeded), which keeps inner products in expectation.
    """
    e, d = weight.shape[1], vectors.dim
    idx = vectors.indices(words)  # (V,) -1 when missing
    rows = np.flatnonzero(idx >= 0)
    rows = rows[rows >= 4]  # never the specials
    src = torch.from_numpy(vectors.matrix[idx[rows]])  # (k, D)
    g = torch.Generator().manual_seed(int(seed))
    if d != e and mode == "pad":
        if d > e:
            raise MmweError(f"cannot pad {d}-dim vectors into {e} dims; use --init-mode project or --emb-dim >= {d}")
        src = torch.cat([src, torch.randn(len(rows), e - d, generator=g) * scale], dim=1)
    elif d != e:
        src = src @ (torch.randn(d, e, generator=g) / math.sqrt(d))
    with torch.no_grad():
        weight[torch.from_numpy(rows)] = src.to(weight.dtype).to(weight.device)
    return int(len(rows))
