"""Models of Mao et al.: structure, weight sharing, GRU init, and every loss term against a hand computation."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmwe.errors import MmweError
from mmwe.lm.model import (
    CandidateSampler,
    MaoModel,
    build_model,
    emb_loss_terms,
    full_softmax_nll,
    init_embedding,
    sampled_softmax_nll,
    sampling_distribution,
    state_loss_terms,
)

V, E, H, FD = 12, 4, 6, 5


def tiny(kind: str, share: bool = True, seed: int = 0) -> MaoModel:
    torch.manual_seed(seed)
    return MaoModel(kind, V, FD, emb_dim=E, hidden=H, proj=E, share=share)


def test_build_model_reads_config():
    cfg = SimpleNamespace(model="C", share=False, emb_dim=E, hidden=H, proj=3)
    m = build_model(cfg, V, FD)
    assert m.img.out_features == E and m.proj.out_features == 3 and m.out_embed is not None


def test_sharing_needs_equal_sizes():
    with pytest.raises(MmweError, match="--proj equal to --emb-dim"):
        MaoModel("A", V, FD, emb_dim=4, hidden=H, proj=5, share=True)


def test_gru_gate_biases_start_at_one():
    m = tiny("A")
    b_ih, b_hh = m.gru.bias_ih_l0.detach(), m.gru.bias_hh_l0.detach()
    assert torch.equal(b_ih[:2 * H] + b_hh[:2 * H], torch.ones(2 * H))  # b_r and b_u (torch's z) == 1
    assert not torch.equal(b_ih[2 * H:], torch.ones(H))  # candidate bias keeps torch's init


def test_shared_softmax_weight_is_the_embedding_storage():
    m = tiny("A", share=True)
    assert m.output_weight is m.embed.weight
    assert m.output_weight.data_ptr() == m.embed.weight.data_ptr()
    assert not any(k.startswith("out_embed") for k in m.state_dict())
    n = tiny("A", share=False)
    assert n.output_weight.data_ptr() != n.embed.weight.data_ptr()


def _loss(m, inp, tgt, feats, full=True):
    x, _, _ = m.encode(inp, feats)
    return full_softmax_nll(x.reshape(-1, E), tgt.reshape(-1), m.output_weight, m.out_bias.weight).sum()


def test_shared_gradient_accumulates_input_and_output_uses():
    torch.manual_seed(1)
    inp, tgt, feats = torch.randint(4, V, (3, 5)), torch.randint(4, V, (3, 5)), torch.randn(3, FD)
    shared, split = tiny("A", share=True), tiny("A", share=False)
    split.load_state_dict(shared.state_dict(), strict=False)
    with torch.no_grad():
        split.out_embed.weight.copy_(shared.embed.weight)
    _loss(shared, inp, tgt, feats).backward()
    _loss(split, inp, tgt, feats).backward()
    g_shared = shared.embed.weight.grad.to_dense()
    g_sum = split.embed.weight.grad.to_dense() + split.out_embed.weight.grad.to_dense()
    assert torch.allclose(g_shared, g_sum, atol=1e-6)
    assert split.embed.weight.grad.to_dense().abs().sum() > 0 and split.out_embed.weight.grad.to_dense().abs().sum() > 0


@pytest.mark.parametrize("kind", ["puretext", "A", "B", "C"])
def test_forward_backward_shapes(kind):
    m = tiny(kind)
    inp, feats = torch.randint(1, V, (2, 7)), torch.randn(2, FD)
    x, out, emb = m.encode(inp, feats)
    assert x.shape == (2, 7, E) and out.shape == (2, 7, H) and emb.shape == (2, 7, E)
    loss = x.sum() + (m.image_target(feats).sum() if m.img is not None else 0)
    loss.backward()
    assert m.embed.weight.grad.is_sparse and m.gru.weight_hh_l0.grad is not None
    assert (m.img is None) == (kind == "puretext")


def test_model_a_initial_state_is_relu_of_image_projection():
    m = tiny("A")
    inp, feats = torch.randint(1, V, (2, 4)), torch.randn(2, FD)
    _, out, _ = m.encode(inp, feats)
    h0 = torch.relu(feats @ m.img.weight.t() + m.img.bias).unsqueeze(0)
    ref, _ = m.gru(m.embed(inp), h0)
    assert torch.allclose(out, ref)
    _, out_zero, _ = tiny("puretext").encode(inp)
    ref0, _ = tiny("puretext").gru(tiny("puretext").embed(inp))
    assert torch.allclose(out_zero, ref0)


def test_state_loss_is_mean_l2_norm_by_hand():
    h = torch.tensor([[3.0, 4.0], [1.0, 1.0]])
    img = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    assert state_loss_terms(h, img).tolist() == pytest.approx([5.0, 1.0])


def test_emb_loss_averages_over_words_by_hand():
    emb = torch.tensor([[[0.0, 0.0], [3.0, 4.0], [9.0, 9.0]], [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]])  # (2, 3, 2)
    mask = torch.tensor([[False, True, True], [False, True, False]])  # <bos> never supervised
    img = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    want0 = (5.0 + math.hypot(9, 9)) / 2
    want1 = 1.0
    assert emb_loss_terms(emb, mask, img).tolist() == pytest.approx([want0, want1])


def _sampled_by_hand(x, y, W, b, cands, logexp):
    """Plain-Python sampled softmax: true logit vs candidates, logQ corrected, accidental hits dropped."""
    out = []
    for n in range(len(y)):
        t = float(x[n] @ W[y[n]] + b[y[n]]) - logexp[y[n]]
        terms = [t] + [float(x[n] @ W[c] + b[c]) - logexp[c] for c in cands if c != y[n]]
        mx = max(terms)
        out.append(mx + math.log(sum(math.exp(v - mx) for v in terms)) - t)
    return out


def test_sampled_softmax_matches_hand_computation_with_logq_and_hit_removal():
    g = torch.Generator().manual_seed(0)
    x, W, b = torch.randn(4, 3, generator=g), torch.randn(7, 3, generator=g), torch.randn(7, 1, generator=g)
    y = torch.tensor([1, 2, 5, 2])
    cands = torch.tensor([2, 0, 6, 2, 3])  # 2 is an accidental hit for rows 1 and 3, drawn twice
    logexp = torch.log(torch.tensor([0.5, 0.7, 1.3, 0.2, 0.9, 2.0, 0.4]))
    got = sampled_softmax_nll(x, y, W, b, cands, logexp)
    want = _sampled_by_hand(x, y.tolist(), W, b.squeeze(1), cands.tolist(), logexp.tolist())
    assert got.tolist() == pytest.approx(want, rel=1e-5)


def test_accidental_hits_are_masked():
    x, W, b = torch.randn(2, 3), torch.randn(5, 3), torch.zeros(5, 1)
    y, lq = torch.tensor([1, 3]), torch.zeros(5)
    with_hit = sampled_softmax_nll(x, y, W, b, torch.tensor([0, 1, 4]), lq)
    without = sampled_softmax_nll(x, y, W, b, torch.tensor([0, 4]), lq)
    assert with_hit[0] == pytest.approx(float(without[0]))  # row 0's target 1 was among the candidates
    assert with_hit[1] > without[1]  # row 1's target 3 was not: candidate 1 is a real negative


def test_every_word_once_without_correction_equals_full_softmax():
    x, W, b = torch.randn(6, 3), torch.randn(8, 3), torch.randn(8, 1)
    y = torch.randint(0, 8, (6,))
    full = F.cross_entropy(x @ W.t() + b.squeeze(1), y, reduction="none")
    assert torch.allclose(sampled_softmax_nll(x, y, W, b, torch.arange(8), torch.zeros(8)), full, atol=1e-5)
    assert torch.allclose(full_softmax_nll(x, y, W, b, chunk=4), full, atol=1e-6)


def test_logq_correction_shifts_logits():
    x, W, b = torch.randn(1, 3), torch.randn(4, 3), torch.zeros(4, 1)
    y, cands = torch.tensor([0]), torch.tensor([1, 2])
    base = sampled_softmax_nll(x, y, W, b, cands, torch.zeros(4))
    # a candidate expected twice as often counts half: its logit drops by log 2 -> lower loss
    shifted = sampled_softmax_nll(x, y, W, b, cands, torch.tensor([0.0, math.log(2), 0.0, 0.0]))
    s = (x @ W.t()).squeeze(0)
    want = torch.logsumexp(torch.stack([s[0], s[1] - math.log(2), s[2]]), 0) - s[0]
    assert float(shifted) == pytest.approx(float(want), rel=1e-5) and shifted < base


def test_sampled_gradient_approaches_full_softmax_gradient():
    Vs, P, N = 50, 8, 20
    g = torch.Generator().manual_seed(3)
    x0, W0, b = torch.randn(N, P, generator=g), torch.randn(Vs, P, generator=g) * 0.5, torch.zeros(Vs, 1)
    y = torch.randint(0, Vs, (N,), generator=g)
    counts = np.arange(Vs, 0, -1)  # frequency-ranked vocabulary
    sampler = CandidateSampler(sampling_distribution(counts), 1024, seed=0)

    def grads(fn):
        x, W = x0.clone().requires_grad_(), W0.clone().requires_grad_()
        fn(x, W).sum().backward()
        gw = W.grad.to_dense() if W.grad.is_sparse else W.grad
        return torch.cat([x.grad.reshape(-1), gw.reshape(-1)])

    full = grads(lambda x, W: full_softmax_nll(x, y, W, b))
    est = sum(grads(lambda x, W: sampled_softmax_nll(x, y, W, b, sampler.sample(), sampler.log_expected))
              for _ in range(15)) / 15
    assert F.cosine_similarity(est, full, dim=0) > 0.95


def test_log_uniform_distribution_and_sampler_frequencies():
    counts = np.array([0, 5, 0, 50, 20, 20])  # ids 0 and 2 never seen -> never drawn
    q = sampling_distribution(counts, "log-uniform")
    ranks = {3: 0, 4: 1, 5: 2, 1: 3}  # ties keep the lower id first
    for i, r in ranks.items():
        assert q[i] == pytest.approx(math.log((r + 2) / (r + 1)) / math.log(5))
    assert q[0] == q[2] == 0 and q.sum() == pytest.approx(1.0)
    s = CandidateSampler(q, 200_000, seed=1)
    freq = np.bincount(s.sample().numpy(), minlength=6) / 200_000
    assert np.abs(freq - q).max() < 0.01
    qc = sampling_distribution(counts, "log-count")
    assert qc[3] / qc[1] == pytest.approx(math.log(51) / math.log(6))
    with pytest.raises(MmweError, match="sampler one of"):
        sampling_distribution(counts, "uniform")


def test_init_embedding_pad_and_project():
    from mmwe.vectors import Vectors

    vec = Vectors(["b", "a", "zz"], np.array([[1, 2], [3, 4], [5, 6]], dtype=np.float32))
    words = ["<pad>", "<unk>", "<bos>", "<eos>", "a", "b", "c"]
    w = torch.zeros(7, 4)
    assert init_embedding(w, words, vec, mode="pad") == 2
    assert w[4, :2].tolist() == [3, 4] and w[5, :2].tolist() == [1, 2] and w[6].abs().sum() == 0
    assert 0 < w[4, 2:].abs().max() < 0.1
    w2 = torch.zeros(7, 4)
    init_embedding(w2, words, vec, mode="project")
    assert w2[4].abs().sum() > 0 and not torch.equal(w2[4, :2], torch.tensor([3.0, 4.0]))
    with pytest.raises(MmweError, match="cannot pad"):
        init_embedding(torch.zeros(7, 1), words, vec, mode="pad")
