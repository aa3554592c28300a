"""The training loop: SGD with gradient clipping, validation each epoch, early stopping, checkpoints, resume.

``train_lm(corpus_dir, features_path, cfg, out_dir)`` -> ``Trained(vectors, metrics)``: the best model's input
word embeddings (mmwe.vectors.Vectors, specials left out) and the summary. It writes into ``out_dir``: config.json,
vocab.tsv,
metrics.jsonl (one JSON line per log interval and per epoch), metrics.json (summary), checkpoints/last.pt
(every ``checkpoint_every`` steps, each epoch and at the end), checkpoints/best.pt (model with the lowest
validation loss), model.pt (that best model, weights only) and its input word embeddings as vectors.txt
(word2vec text) and vectors.bin (word2vec binary), specials left out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from mmwe.devices import resolve_device
from mmwe.errors import MmweError
from mmwe.fileio import atomic_path, atomic_write
from mmwe.lm import ddp
from mmwe.lm.cache import load_dataset, resolved_min_count
from mmwe.lm.checkpoint import load_checkpoint, save_checkpoint
from mmwe.lm.config import TrainConfig, identity
from mmwe.lm.data import Dataset, epoch_batches, make_batch, tokens_in
from mmwe.lm.model import CandidateSampler, build_model, init_embedding, sampling_distribution
from mmwe.progress import Progress, no_progress
from mmwe.threads import thread_limit
from mmwe.vectors import Vectors
from mmwe.vectors import load as load_vectors
from mmwe.vectors import save as save_vector_file


# -- one step ----------------------------------------------------------------------------------------------------
def clip_grad_global_norm(params: list[torch.nn.Parameter], max_norm: float) -> float:
    """Scale all gradients (dense and sparse) so that their joint L2 norm is at most ``max_norm``; return the norm."""
    sq = None  # summed where the gradients are: one device-to-host copy per step, not one per parameter
    for p in params:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            p.grad = p.grad.coalesce()  # duplicate rows must be summed before their norm is taken
            term = p.grad.values().double().pow(2).sum()
        else:
            term = p.grad.double().pow(2).sum()
        sq = term if sq is None else sq + term
    norm = 0.0 if sq is None else float(sq.sqrt())
    if max_norm > 0 and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for p in params:
            if p.grad is not None:
                p.grad = p.grad * scale
    return norm


def make_optimizer(params: list[torch.nn.Parameter], sparse: set[int], lr: float, *, fused: bool = False):
    """Plain SGD; ``fused`` (CUDA): the dense parameters in a fused group (fused SGD takes no sparse gradients)."""
    if not fused:
        return torch.optim.SGD(params, lr=lr)
    groups = [{"params": [p for p in params if id(p) not in sparse], "fused": True},
              {"params": [p for p in params if id(p) in sparse], "fused": False}]
    return torch.optim.SGD(groups, lr=lr)


def resolve_precision(precision: str, device) -> str:
    """``fp32`` or ``bf16`` for a ``--precision auto|fp32|bf16`` on ``device``.

    ``auto`` is bf16 on CUDA GPUs with bf16 support (the earlier ``amp`` default there) and fp32 on every CPU:
    on the union corpus bf16 missed the parity criterion (validation perplexity within 2% of fp32 at the same
    seed and steps: 2.0% lower at 3 epochs, 7.5% lower at 10, with the same triplet accuracy), so it stays opt-in
    there although it is faster (1.67x a Model A step on an avx512_bf16 CPU without AMX; docs/usage.md, "bf16").
    ``bf16`` is honoured everywhere (slower where the CPU has no bf16 unit: torch emulates it)."""
    device = torch.device(device)
    if precision in ("fp32", "bf16"):
        return precision
    if precision != "auto":
        raise MmweError(f"expected --precision auto, fp32 or bf16, got {precision!r}")
    return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"


def autocast(device, precision: str):
    """bf16 autocast (CPU or CUDA) when the resolved ``precision`` is bf16; nothing for fp32 (bit-identical runs).

    Autocast runs the matmuls in bf16 from fp32 weights, which stay the master copy: gradients and SGD updates
    are fp32."""
    device = torch.device(device)
    if resolve_precision(precision, device) == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class Stepper:
    """Holds what every step needs: model, optimizer, sampler, world and the list of parameters."""

    def __init__(self, model, cfg: TrainConfig, data: Dataset, device, world: ddp.World):
        self.model, self.cfg, self.data, self.device, self.world = model, cfg, data, device, world
        self.params = list(model.parameters())
        self.sparse = {id(p) for p in model.sparse_parameters()}
        self.optimizer = make_optimizer(self.params, self.sparse, cfg.lr, fused=torch.device(device).type == "cuda")
        self.precision = resolve_precision(cfg.precision, device)
        self.autocast = lambda: autocast(device, self.precision)
        self.sampler = None
        if cfg.negatives > 0:
            q = sampling_distribution(data.target_counts, cfg.sampler)
            self.sampler = CandidateSampler(q, cfg.negatives, cfg.seed + 1, device)

    def step(self, idx: np.ndarray) -> tuple[float, float, int]:
        """One SGD step on the global batch ``idx`` (this rank trains on its share); returns (lm, aux, tokens)."""
        ex, w = self.data.train, self.world
        n_tok, n_sent = tokens_in(ex, idx), len(idx)  # global normalisers: same on every rank
        local = idx[w.rank::w.size]
        self.optimizer.zero_grad(set_to_none=True)
        cands = self.sampler.sample() if self.sampler else None  # every rank draws, to stay in step
        lm = aux = 0.0
        if len(local):
            batch = make_batch(ex, local, self.data.features, self.device)
            with self.autocast():
                lm_sum, aux_sum = self.model(batch, cands, self.sampler.log_expected if self.sampler else None)
            loss = lm_sum / n_tok + (self.cfg.lam * aux_sum / n_sent if self.model.kind in ("B", "C") else 0.0)
            loss.backward()
            lm, aux = float(lm_sum.detach()), float(aux_sum.detach())
        ddp.all_reduce_grads(self.params, self.sparse, w)
        clip_grad_global_norm(self.params, self.cfg.clip)
        self.optimizer.step()
        lm, aux = ddp.all_reduce_sum([lm, aux], w, self.device)
        return lm / n_tok, aux / n_sent, n_tok


@torch.no_grad()
def validate(model, data: Dataset, cfg: TrainConfig, device, world: ddp.World) -> dict:
    """Full-softmax cross-entropy per token (and the image loss per sentence) on the validation examples."""
    model.eval()
    ex = data.val
    order = np.argsort(ex.lengths, kind="stable")
    batches = [order[i:i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)][world.rank::world.size]
    nll = aux = 0.0
    for idx in batches:
        with autocast(device, cfg.precision):
            lm_sum, aux_sum = model(make_batch(ex, idx, data.features, device))
        nll, aux = nll + float(lm_sum), aux + float(aux_sum)
    nll, aux = ddp.all_reduce_sum([nll, aux], world, device)
    model.train()
    loss = nll / tokens_in(ex, np.arange(len(ex)))
    out = {"val_loss": loss, "val_perplexity": math.exp(min(loss, 700.0))}
    if model.kind in ("B", "C"):
        out["val_image_loss"] = aux / len(ex)
    return out


# -- the run -----------------------------------------------------------------------------------------------------
def _check_out(out: Path, cfg: TrainConfig) -> None:
    last = out / "checkpoints" / "last.pt"
    if last.exists() and not cfg.resume:
        raise MmweError("this folder already holds a training run; pass --resume to continue it or choose another "
                        "--out", path=out)


def _new_state() -> dict:
    return {"epoch": 0, "batch": 0, "step": 0, "best_val": None, "best_epoch": None, "bad_epochs": 0,
            "done": None, "train_tokens": 0, "train_seconds": 0.0, "history": []}


class TrainingRun:
    """One training run in ``out``: owns the files, the state, the checkpoints."""

    def __init__(self, corpus_dir, features_path, cfg: TrainConfig, out_dir, progress: Progress | None = None):
        self.cfg = cfg.validate()
        self.device = torch.device(resolve_device(cfg.device))
        self.world = ddp.init_from_env(self.device)
        self.progress = progress if progress is not None and self.world.main else no_progress
        self.out = Path(out_dir)
        _check_out(self.out, cfg)
        self.data = self._load(corpus_dir, features_path)
        cfg = self.cfg
        feat_dim = 0 if self.data.features is None else self.data.features.shape[1]
        self.shapes = {"vocab_size": len(self.data.vocab), "feat_dim": int(feat_dim)}
        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg, len(self.data.vocab), feat_dim)
        self.init_found = self._init_vectors()
        self.model.to(self.device)
        self.stepper = Stepper(self.model, cfg, self.data, self.device, self.world)
        self.state = _new_state()
        self.best_model = None
        self.meta = {"corpus": str(corpus_dir), "features": None if features_path is None else str(features_path)}
        if cfg.resume:
            self._resume()
        elif self.world.main:
            self._write_start()

    def _load(self, corpus_dir, features_path) -> Dataset:
        """The token cache of the corpus (mmwe.lm.cache), which rank 0 builds while the others wait; a min_count
        of None becomes the corpus's, so the run's config, identity and cache key record the number."""
        data = load_dataset(corpus_dir, features_path, self.cfg) if self.world.main else None
        self.cfg = dataclasses.replace(self.cfg, min_count=resolved_min_count(corpus_dir, self.cfg))
        ddp.barrier(self.world)
        return data or load_dataset(corpus_dir, features_path, self.cfg, build=False)

    def _init_vectors(self) -> int | None:
        if not self.cfg.init_vectors:
            return None
        vec = load_vectors(self.cfg.init_vectors)
        return init_embedding(self.model.embed.weight, self.data.vocab.itos, vec, mode=self.cfg.init_mode,
                              seed=self.cfg.seed)

    def _write_start(self) -> None:
        (self.out / "checkpoints").mkdir(parents=True, exist_ok=True)
        info = {"config": self.cfg.to_dict(), **self.meta, "data": self.data.stats, "world_size": self.world.size,
                "precision": self.stepper.precision, "init_vectors_found": self.init_found}
        with atomic_write(self.out / "config.json", "w", encoding="utf-8") as fh:
            json.dump(info, fh, indent=2)
        self.data.vocab.save(self.out / "vocab.tsv")
        with atomic_write(self.out / "metrics.jsonl", "w", encoding="utf-8"):
            pass

    def _resume(self) -> None:
        blob = load_checkpoint(self.out / "checkpoints" / "last.pt", identity=identity(self.cfg), shapes=self.shapes)
        self.model.load_state_dict(blob["model"])
        if len(blob["optimizer"]["param_groups"]) == len(self.stepper.optimizer.param_groups):
            self.stepper.optimizer.load_state_dict(blob["optimizer"])  # else a CPU <-> CUDA resume: plain SGD,
            # which holds no state besides its settings (lr comes from the config)
        torch.set_rng_state(blob["rng"]["torch"])
        if self.stepper.sampler is not None:
            self.stepper.sampler.generator.set_state(blob["rng"]["sampler"])
        self.state = blob["state"]
        self.state.update(blob["position"])
        self.state["done"] = None  # a larger --epochs / --max-steps may continue a finished run
        best = self.out / "checkpoints" / "best.pt"
        if best.is_file():
            try:
                self.best_model = torch.load(best, map_location="cpu", weights_only=True)
            except Exception as exc:  # truncated or foreign: unpickling errors of several types
                raise MmweError(f"expected the best model of this run, could not read it ({type(exc).__name__}); "
                                "delete it to resume without it", path=best) from None

    def log(self, record: dict) -> None:
        if not self.world.main:
            return
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def checkpoint(self) -> None:
        if not self.world.main:
            return
        st = self.state
        pos = {"epoch": st["epoch"], "batch": st["batch"], "step": st["step"]}
        sampler_state = (self.stepper.sampler.generator.get_state() if self.stepper.sampler
                         else torch.zeros(0, dtype=torch.uint8))
        rest = {k: v for k, v in st.items() if k not in pos}
        save_checkpoint(self.out / "checkpoints" / "last.pt", model=self.model, optimizer=self.stepper.optimizer,
                        sampler_state=sampler_state, position=pos, state=rest, identity=identity(self.cfg),
                        shapes=self.shapes)

    # -- loop --------------------------------------------------------------------------------------------------
    def run(self) -> dict:
        cfg, st = self.cfg, self.state
        while st["done"] is None:
            if st["epoch"] >= cfg.epochs:
                st["done"] = "epochs"
                break
            batches = epoch_batches(self.data.train.lengths, cfg.batch_size, cfg.seed, st["epoch"], cfg.bucket_window)
            if not self._run_batches(batches):
                st["done"] = "max_steps"
                break
            self._end_epoch()
        self.checkpoint()
        return self.finish()

    def _run_batches(self, batches: list) -> bool:
        """Train from the saved position to the end of the epoch; False when max_steps stopped it first."""
        cfg, st = self.cfg, self.state
        t0, tok0, win = time.perf_counter(), 0, [0.0, 0.0, 0]
        for bi in range(st["batch"], len(batches)):
            if cfg.max_steps is not None and st["step"] >= cfg.max_steps:
                self._account(t0, tok0)  # the steps run so far still count towards tokens/s
                return False
            lm, aux, n_tok = self.stepper.step(batches[bi])
            st["batch"], st["step"] = bi + 1, st["step"] + 1
            tok0 += n_tok
            win = [win[0] + lm, win[1] + aux, win[2] + 1]
            dt = time.perf_counter() - t0
            self.progress(bi + 1, len(batches), f"epoch {st['epoch'] + 1}/{cfg.epochs} loss {lm:.3f} "
                                                f"{tok0 / max(dt, 1e-9):,.0f} tok/s")
            if st["step"] % cfg.log_every == 0:
                self.log({"step": st["step"], "epoch": st["epoch"], "loss": win[0] / win[2],
                          "image_loss": win[1] / win[2], "tokens_per_s": tok0 / max(dt, 1e-9)})
                win = [0.0, 0.0, 0]
            if cfg.checkpoint_every and st["step"] % cfg.checkpoint_every == 0:
                self._account(t0, tok0)
                t0, tok0 = time.perf_counter(), 0
                self.checkpoint()
        self._account(t0, tok0)
        return True

    def _account(self, t0: float, tokens: int) -> None:
        self.state["train_seconds"] += time.perf_counter() - t0
        self.state["train_tokens"] += tokens

    def _end_epoch(self) -> None:
        """Validate, keep the best model, decide on early stopping, move to the next epoch, checkpoint."""
        cfg, st = self.cfg, self.state
        val = validate(self.model, self.data, cfg, self.device, self.world)
        improved = st["best_val"] is None or val["val_loss"] < st["best_val"]
        if improved:
            st["best_val"], st["best_epoch"], st["bad_epochs"] = val["val_loss"], st["epoch"], 0
            self.best_model = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
            if self.world.main:
                with atomic_path(self.out / "checkpoints" / "best.pt") as tmp:
                    torch.save(self.best_model, tmp)
        else:
            st["bad_epochs"] += 1
        rec = {"epoch": st["epoch"], "step": st["step"], **val, "improved": improved}
        st["history"].append(rec)
        self.log(rec)
        st["epoch"], st["batch"] = st["epoch"] + 1, 0
        if st["bad_epochs"] >= cfg.patience:
            st["done"] = "early_stopping"
        self.checkpoint()

    # -- outputs -----------------------------------------------------------------------------------------------
    def finish(self) -> dict:
        """Export the best model's input embeddings and write the summary; returns it."""
        st = self.state
        if self.best_model is not None:
            self.model.load_state_dict(self.best_model)
        best = [h for h in st["history"] if h["epoch"] == st["best_epoch"]]
        val = best[0] if best else validate(self.model, self.data, self.cfg, self.device, self.world)
        metrics = {
            "model": self.cfg.model, "share": self.cfg.share, "val_loss": val["val_loss"],
            "val_perplexity": val["val_perplexity"], "val_image_loss": val.get("val_image_loss"),
            "best_epoch": st["best_epoch"], "epochs": st["epoch"], "steps": st["step"], "stopped": st["done"],
            "tokens_per_s": st["train_tokens"] / max(st["train_seconds"], 1e-9),
            "train_tokens": st["train_tokens"], "train_seconds": st["train_seconds"],
            "world_size": self.world.size, "precision": self.stepper.precision, **self.data.stats,
        }
        if self.world.main:
            self._export(metrics)
        ddp.barrier(self.world)
        return metrics

    def vectors(self) -> Vectors:
        """The model's input word embeddings (specials left out)."""
        matrix = self.model.embed.weight.detach().cpu().numpy()[4:].copy()
        return Vectors(self.data.vocab.itos[4:], matrix, source=str(self.out))

    def _export(self, metrics: dict) -> None:
        v = self.vectors()
        save_vector_file(v, self.out / "vectors.txt", fmt="word2vec")
        save_vector_file(v, self.out / "vectors.bin", fmt="word2vec-binary")
        with atomic_path(self.out / "model.pt") as tmp:
            torch.save({"model": self.model.state_dict(), "config": self.cfg.to_dict(), "shapes": self.shapes}, tmp)
        with atomic_write(self.out / "metrics.json", "w", encoding="utf-8") as fh:
            json.dump(metrics, fh, indent=2)


class Trained(NamedTuple):
    """What a training run gives: the best model's input word embeddings and the summary (metrics.json)."""

    vectors: Vectors
    metrics: dict


def train_lm(corpus_dir, features_path, cfg: TrainConfig, out_dir, progress: Progress | None = None) -> Trained:
    """Train one language model of Mao et al. on ``corpus_dir`` (features for A/B/C) into ``out_dir``.

    Under torchrun (WORLD_SIZE > 1) every process calls this (each gets the same vectors); rank 0 writes the files
    and reports ``progress(done, total, what)`` per step.
    """
    with thread_limit(cfg.threads or None):  # the caller's thread settings are restored after
        run = TrainingRun(corpus_dir, features_path, cfg, out_dir, progress)
        try:
            metrics = run.run()
            return Trained(run.vectors(), metrics)
        finally:
            ddp.close(run.world)


train = train_lm  # the name of earlier versions


# -- local launcher (tests, machines without torchrun) ---------------------------------------------------------
def _worker(rank: int, size: int, port: int, args: tuple) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    train_lm(*args)


def spawn_train(nprocs: int, corpus_dir, features_path, cfg: TrainConfig, out_dir) -> None:
    """Run ``train_lm`` in ``nprocs`` local CPU processes (gloo on 127.0.0.1), like torchrun would."""
    import torch.multiprocessing as mp

    mp.spawn(_worker, args=(nprocs, ddp.free_port(), (corpus_dir, features_path, cfg, out_dir)), nprocs=nprocs,
             join=True)
