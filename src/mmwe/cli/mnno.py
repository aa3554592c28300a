"""`mmwe mnno A B`: mean nearest-neighbour overlap of two paired representations (plus chance, null, CKA)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import typer

from mmwe.cli import app
from mmwe.cli import quiet as global_quiet
from mmwe.cli._common import print_json
from mmwe.errors import MmweError


@dataclass
class MnnoConfig:
    """What `mmwe mnno` computes (one field per option)."""

    k: int = 10  # neighbours per point
    metric: Literal["cosine", "euclidean"] = "cosine"  # how neighbours are found
    include_self: bool = False  # count each point as its own neighbour (the released code's procedure)
    permutations: int = 0  # shuffled pairings for the null distribution (0 = none)
    backend: Literal["exact", "faiss", "hnsw"] = "exact"  # kNN backend (hnsw is approximate)
    alignment: bool = True  # also report mutual k-NN and linear CKA
    seed: int = 0  # seed of the permutations and of the hnsw recall sample


def run_mnno(path_a: str, path_b: str, cfg: MnnoConfig, progress=None) -> dict:
    """Load the pair and compute the report (the library call behind the command)."""
    from mmwe.metrics.overlap import mnno_report
    from mmwe.datasets.paired import load_pair

    A, B, _names = load_pair(path_a, path_b)
    report = mnno_report(A, B, k=cfg.k, metric=cfg.metric, include_self=cfg.include_self,
                         permutations=cfg.permutations, seed=cfg.seed, backend=cfg.backend,
                         alignment=cfg.alignment, progress=progress)
    return {"a": path_a, "b": path_b, **report}


@app.command("mnno")
def mnno_command(
    a: Annotated[str, typer.Argument(metavar="A", help="First set: .csv (label,v1,...,vd), .npy, or a word-vector file.")],
    b: Annotated[str, typer.Argument(metavar="B", help="Second set, paired with the first by row (or by shared words).")],
    k: Annotated[int, typer.Option("--k", "-k", help="Neighbours per point.")] = 10,
    metric: Annotated[str, typer.Option(help="cosine | euclidean")] = "cosine",
    include_self: Annotated[bool, typer.Option("--include-self", help="Count each point as its own neighbour (the authors' released code).")] = False,
    permutations: Annotated[int, typer.Option(help="Shuffled pairings for a null distribution and p-value.")] = 0,
    backend: Annotated[str, typer.Option(help="exact | faiss | hnsw (approximate, for very large N).")] = "exact",
    alignment: Annotated[bool, typer.Option(help="Also report mutual k-NN and linear CKA.")] = True,
    seed: Annotated[int, typer.Option(help="Seed of the permutations.")] = 0,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Mean nearest-neighbour overlap mNNO^K(A, B) of paired sets, with its chance level.

    mNNO = 1/(K N) sum_i |NN_K(a_i) ∩ NN_K(b_i)| (Collell & Moens 2018).

    By default a point is not its own neighbour (the paper's definition); --include-self reproduces the
    authors' released code.
    """
    if k < 1:  # checked here rather than by typer, whose usage errors are several lines
        raise MmweError(f"--k: expected an integer >= 1, got {k}")
    if permutations < 0:
        raise MmweError(f"--permutations: expected an integer >= 0, got {permutations}")
    if metric not in ("cosine", "euclidean"):
        raise MmweError(f"--metric must be cosine or euclidean, got {metric!r}")
    if backend not in ("exact", "faiss", "hnsw"):
        raise MmweError(f"--backend must be exact, faiss or hnsw, got {backend!r}")
    cfg = MnnoConfig(k=k, metric=metric, include_self=include_self, permutations=permutations,
                     backend=backend, alignment=alignment, seed=seed)
    if json:
        print_json(run_mnno(a, b, cfg))
        return
    _print_table(_run_with_progress(a, b, cfg))


def _run_with_progress(a: str, b: str, cfg: MnnoConfig) -> dict:
    from rich.console import Console
    from rich.progress import Progress

    with Progress(transient=True, disable=global_quiet(), console=Console(stderr=True)) as bar:
        task = bar.add_task("permutations", total=max(cfg.permutations, 1), visible=cfg.permutations > 0)
        return run_mnno(a, b, cfg, progress=lambda done, total: bar.update(task, completed=done))


def _print_table(r: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    self_txt = "incl. self" if r["include_self"] else "excl. self"
    table = Table(title=f"mNNO@{r['k']} ({r['metric']}, {self_txt}, {r['backend']}) over {r['n']} pairs", min_width=64)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("mNNO", f"{r['mnno']:.4f}")
    table.add_row("chance", f"{r['chance']:.4f}")
    table.add_row("mNNO / chance", f"{r['ratio_to_chance']:.2f}")
    if "null_mean" in r:
        table.add_row(f"null ({r['permutations']} shuffles)", f"{r['null_mean']:.4f} ± {r['null_std']:.4f}")
        table.add_row("p-value", f"{r['p_value']:.3g}")
    if "recall" in r:
        table.add_row("hnsw recall@K", f"{r['recall']:.3f}")
    for key, label in (("mutual_knn", "mutual k-NN"), ("cka", "linear CKA")):
        if key in r:
            table.add_row(label, f"{r[key]:.4f}")
    Console().print(table)
