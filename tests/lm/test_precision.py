"""Training in bf16 (``TrainConfig.precision``): what ``auto`` picks, what runs in bf16 and what stays fp32, the
fp32 path unchanged, and perplexity parity with fp32 (generated corpus; real OpenMoji captions in the slow test)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mmwe.devices import cpu_bf16_units, cpu_flags
from mmwe.errors import MmweError
from mmwe.lm import TrainConfig, train
from mmwe.lm import loop as L
from mmwe.lm.cache import load_dataset
from mmwe.lm.data import make_batch
from mmwe.lm.ddp import World
from mmwe.lm.model import build_model, sampled_softmax_nll
from tests.conftest import tiny_corpus as make_corpus
from tests.lm.test_train import small


# -- what auto picks -------------------------------------------------------------------------------------------
def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_tile amx_bf16\n\n"
                    "processor\t: 1\nflags\t\t: fpu\n")
    flags = cpu_flags(str(info))
    assert {"avx512_bf16", "amx_bf16", "amx_tile"} <= flags and "fpu" in flags
    assert cpu_bf16_units(flags) == {"avx512_bf16": True, "amx_bf16": True}
    assert cpu_bf16_units(frozenset({"avx512_bf16"})) == {"avx512_bf16": True, "amx_bf16": False}
    assert cpu_bf16_units(frozenset({"amx_bf16"})) == {"avx512_bf16": False, "amx_bf16": False}  # no tiles
    assert cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_auto_is_fp32_on_cpu_and_explicit_choices_are_kept():
    """auto stays fp32 on CPUs, bf16 units or not (this one has avx512_bf16): bf16 missed the perplexity
    criterion on the union corpus; bf16 is honoured when asked for."""
    assert L.resolve_precision("auto", "cpu") == "fp32"
    assert L.resolve_precision("fp32", "cpu") == "fp32" and L.resolve_precision("bf16", "cpu") == "bf16"
    assert TrainConfig().precision == "auto"


def test_bad_precision_is_a_user_error():
    with pytest.raises(MmweError, match="--precision auto\\|fp32\\|bf16"):
        TrainConfig(precision="fp16").validate()
    with pytest.raises(MmweError, match="expected --precision"):
        L.resolve_precision("fp16", "cpu")


# -- what runs in bf16 -----------------------------------------------------------------------------------------
class MatmulDtypes(TorchDispatchMode):
    """Records the input dtypes of every matmul the step dispatches."""

    OPS = ("mm", "addmm", "bmm", "matmul", "linear")

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[str, tuple]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in self.OPS:
            self.seen.append((name, tuple(a.dtype for a in args if isinstance(a, torch.Tensor))))
        return func(*args, **(kwargs or {}))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus") / "c")


def stepper(corpus, precision: str, **kw):
    cfg = small(model="A", precision=precision, **kw)
    data = load_dataset(corpus, None, cfg)
    torch.manual_seed(0)
    model = build_model(cfg, len(data.vocab), data.features.shape[1])
    return L.Stepper(model, cfg, data, torch.device("cpu"), World())


def test_bf16_runs_the_matmuls_in_bf16_and_keeps_fp32_weights_and_losses(corpus):
    st = stepper(corpus, "bf16")
    proj_out = []
    st.model.proj.register_forward_hook(lambda mod, inp, out: proj_out.append(out.dtype))
    with MatmulDtypes() as rec:
        lm, aux, n_tok = st.step(np.arange(16))
    assert proj_out == [torch.bfloat16] and np.isfinite(lm) and n_tok > 0
    bf16 = [n for n, d in rec.seen if torch.bfloat16 in d]
    assert len(bf16) >= 3  # image layer, GRU gates, FC: forward and backward
    assert all(d == (torch.bfloat16,) * len(d) for n, d in rec.seen if torch.bfloat16 in d)  # no mixed calls
    assert any(d == (torch.float32, torch.float32) for n, d in rec.seen)  # the sampled-softmax logits: fp32
    assert all(p.dtype == torch.float32 for p in st.model.parameters())  # fp32 master weights
    # the loss itself is fp32: the model's loss under the step's autocast
    b = make_batch(st.data.train, np.arange(16), st.data.features, "cpu")
    with st.autocast():
        lm_sum, _ = st.model(b, st.sampler.sample(), st.sampler.log_expected)
    assert lm_sum.dtype == torch.float32
    lm_sum.backward()
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in st.model.parameters())


def test_fp32_runs_no_bf16_and_is_unchanged(corpus):
    """precision=fp32 gives bit for bit what the loop computed before precisions existed: forward, then the
    sampled softmax on x[mask], no autocast anywhere."""
    st = stepper(corpus, "fp32")
    assert st.precision == "fp32"
    b = make_batch(st.data.train, np.arange(16), st.data.features, "cpu")
    cands, logq = st.sampler.sample(), st.sampler.log_expected
    with MatmulDtypes() as rec, st.autocast():
        lm_sum, _ = st.model(b, cands, logq)
    assert rec.seen and all(torch.bfloat16 not in d for _, d in rec.seen)
    lm_sum.backward()
    got = {n: p.grad.to_dense().clone() for n, p in st.model.named_parameters() if p.grad is not None}
    st.model.zero_grad(set_to_none=True)
    x, _, _ = st.model.encode(b.inp, b.feats)  # the code before precisions: no casts, no autocast
    m = st.model
    want = sampled_softmax_nll(x[b.mask], b.tgt[b.mask], m.output_weight, m.out_bias.weight, cands, logq).sum()
    assert torch.equal(lm_sum.detach(), want.detach())
    want.backward()
    assert all(torch.equal(got[n], p.grad.to_dense()) for n, p in st.model.named_parameters() if p.grad is not None)


def test_bf16_step_loss_is_close_to_fp32(corpus):
    """One step from the same weights: the bf16 loss differs from fp32 only by bf16 rounding of the matmul inputs
    (unit roundoff 2^-9 per factor): well under 1% on these sizes."""
    a, b = stepper(corpus, "fp32"), stepper(corpus, "bf16")
    la, _, _ = a.step(np.arange(16))
    lb, _, _ = b.step(np.arange(16))
    assert la != lb and lb == pytest.approx(la, rel=1e-2)
    wa, wb = a.model.gru.weight_hh_l0, b.model.gru.weight_hh_l0
    assert not torch.equal(wa, wb) and torch.allclose(wa, wb, atol=1e-3)  # the updates differ by rounding only


# -- parity of a training run ----------------------------------------------------------------------------------
def run_pair(corpus, tmp_path, cfg: TrainConfig) -> dict:
    return {p: train(corpus, None, dataclasses.replace(cfg, precision=p), tmp_path / p).metrics
            for p in ("fp32", "bf16")}


def test_bf16_training_keeps_validation_perplexity(tmp_path):
    c = make_corpus(tmp_path / "c", n_img=200)
    got = run_pair(c, tmp_path, small(model="A", emb_dim=16, hidden=32, proj=16, epochs=4, patience=4, lr=1.0))
    f, b = got["fp32"], got["bf16"]
    assert f["precision"] == "fp32" and b["precision"] == "bf16" and f["steps"] == b["steps"] > 40
    assert f["val_perplexity"] < 0.5 * 24  # it learned: well below uniform over ~24 words
    assert b["val_perplexity"] == pytest.approx(f["val_perplexity"], rel=0.02)
    assert b["val_perplexity"] != f["val_perplexity"]  # bf16 really ran


@pytest.mark.slow
def test_bf16_parity_on_real_openmoji_captions(tmp_path):
    """Real data: the OpenMoji corpus (CLDR captions), Pure text RNN at the paper's sizes and the small-corpus
    settings, 200 steps in each precision: validation perplexity within 2%."""
    from mmwe.corpus.build import build_corpus
    from mmwe.experiments.mao import SMALL_CORPUS_OVERRIDES

    corpus = tmp_path / "openmoji"
    build_corpus(["openmoji"], corpus)
    cfg = TrainConfig(**(SMALL_CORPUS_OVERRIDES | {"model": "puretext", "max_steps": 200, "device": "cpu",
                                                    "epochs": 10, "patience": 10}))
    got = run_pair(corpus, tmp_path, cfg)
    f, b = got["fp32"], got["bf16"]
    assert f["steps"] == b["steps"] == 200 and f["val_perplexity"] < 300
    assert b["val_perplexity"] == pytest.approx(f["val_perplexity"], rel=0.02)
