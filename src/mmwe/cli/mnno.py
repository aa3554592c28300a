"""`mmwe mnno A B`: mean nearest-neighbour overlap of two paired representations (plus chance, null, and the
Platonic-representation alignment metrics)."""

from __future__ import annotations

from typing import Annotated

import typer

from mmwe.cli.app import app
from mmwe.cli.console import bar_callback, print_json, print_table, progress_bar
from mmwe.cli.options import at_least, one_of, unicode_errors_option
from mmwe.datasets.paired import load_pair


@app.command("mnno")
def mnno(
    a: Annotated[str, typer.Argument(metavar="A", help="First set: .csv (label,v1,...,vd), .npy, or word vectors.")],
    b: Annotated[str, typer.Argument(metavar="B", help="Second set, paired with A by row (or by shared words).")],
    k: Annotated[int, typer.Option("--k", "-k", help="Neighbours per point.")] = 10,
    metric: Annotated[str, typer.Option(help="cosine or euclidean.")] = "cosine",
    include_self: Annotated[bool, typer.Option("--include-self", help="Count each point as its own neighbour (the "
                                                                   "authors' released code).")] = False,
    permutations: Annotated[int, typer.Option(help="Shuffled pairings for a null distribution and p-value.")] = 0,
    backend: Annotated[str, typer.Option(help="exact, torch (exact, on CUDA when there is a GPU), faiss or hnsw "
                                             "(approximate, for very large N).")] = "exact",
    device: Annotated[str, typer.Option(help="auto (the exact search runs on CUDA when there is a GPU), cpu or "
                                             "cuda.")] = "auto",
    ties: Annotated[str, typer.Option(help="index (the lower index wins a tie at the K-th place) or sklearn (ties "
                                           "broken as scikit-learn's brute kNN: the authors' procedure).")] = "index",
    alignment: Annotated[bool, typer.Option(help="Also report the Platonic-representation metrics: mutual_knn, "
                                                 "cycle_knn, lcs_knn, edit_distance_knn (with chance levels and, "
                                                 "with --permutations, nulls), cka, unbiased_cka, cknna, svcca.")
                         ] = False,
    l2_normalize: Annotated[bool, typer.Option("--l2-normalize", help="Divide every row by its L2 norm first, "
                                               "as platonic-rep does (changes the kernel metrics; cosine "
                                               "neighbours do not change).")] = False,
    clip_quantile: Annotated[float | None, typer.Option(help="Clamp each set's entries to ±v first, v = mean over "
                                                        "rows of the Q-quantile of |row| (platonic-rep: "
                                                        "0.95). Applies to every measure.")] = None,
    kernel: Annotated[str, typer.Option(help="Kernel of cka and unbiased_cka: linear or rbf (RBF costs "
                                             "O(N^2 d), blockwise).")] = "linear",
    rbf_sigma: Annotated[float, typer.Option(help="Width of the RBF kernel.")] = 1.0,
    precision: Annotated[str, typer.Option(help="The exact search's candidate GEMMs: fp32, bf16 (the same lists; "
                                                "faster with AMX or on a GPU) or auto (bf16 there, fp32 "
                                                "elsewhere).")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the permutations.")] = 0,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
    unicode_errors: Annotated[str, unicode_errors_option()] = "strict",
) -> None:
    """Mean nearest-neighbour overlap mNNO^K(A, B) of paired sets, with its chance level.

    mNNO = 1/(K N) sum_i |NN_K(a_i) ∩ NN_K(b_i)| (Collell & Moens 2018).

    By default a point is not its own neighbour (the paper's definition); --include-self: the released code's.

    torchrun --nproc_per_node=N --no-python mmwe mnno A B: the search split over N ranks; rank 0 prints.
    """
    at_least("--k", k, 1)
    at_least("--permutations", permutations, 0)
    for flag, value, choices in (("--metric", metric, ("cosine", "euclidean")), ("--ties", ties, ("index", "sklearn")),
                                 ("--backend", backend, ("exact", "torch", "faiss", "hnsw")),
                                 ("--device", device, ("auto", "cpu", "cuda")),
                                 ("--precision", precision, ("auto", "fp32", "bf16")),
                                 ("--kernel", kernel, ("linear", "rbf"))):
        one_of(flag, value, choices)
    from mmwe.metrics.alignment import check_preprocessing, preprocess

    check_preprocessing(clip_quantile, rbf_sigma)
    # input errors before torch is imported (the row names are not kept: 60 MB at 1M)
    A, B = load_pair(a, b, unicode_errors=unicode_errors)[:2]
    A, B = (preprocess(X, clip_quantile=clip_quantile, l2_normalize=l2_normalize, name=path)
            for X, path in ((A, a), (B, b)))
    from mmwe.metrics.overlap import mnno_report  # numpy and threadpoolctl only: no torch on the CPU
    from mmwe.neighbors import backend_on, torchrun_ranks

    backend = backend_on(device, backend, ties)
    world = None
    if torchrun_ranks(backend, ties) > 1:  # under torchrun: the search split over the ranks (gloo); rank 0 prints
        import torch

        from mmwe.lm.ddp import init_from_env

        world = init_from_env(torch.device("cpu"))
    quiet = world is not None and world.rank != 0
    with progress_bar(disable=json or quiet) as bar:  # the neighbour search, then the shuffles
        update = bar_callback(bar)
        r = {"a": a, "b": b, **mnno_report(A, B, k=k, metric=metric, include_self=include_self, seed=seed,
                                           permutations=permutations, backend=backend, ties=ties, alignment=alignment,
                                           kernel=kernel, rbf_sigma=rbf_sigma, precision=precision, world=world,
                                           progress=update),
             "l2_normalize": l2_normalize, "clip_quantile": clip_quantile}
    if world is not None:
        from mmwe.lm.ddp import close

        close(world)
    if quiet:
        return None
    if json:
        return print_json(r)
    rows = [("mNNO", f"{r['mnno']:.4f}"), ("chance", f"{r['chance']:.4f}"),
            ("mNNO / chance", f"{r['ratio_to_chance']:.2f}")]
    if "null_mean" in r:
        rows += [(f"null ({r['permutations']} shuffles)", f"{r['null_mean']:.4f} ± {r['null_std']:.4f}"),
                 ("p-value", f"{r['p_value']:.3g}")]
    rows += [("hnsw recall@K", f"{r['recall']:.4f}")] if "recall" in r else []
    rows += alignment_rows(r) if alignment else []
    self_txt = "incl. self" if r["include_self"] else "excl. self"
    title = f"mNNO@{r['k']} ({r['metric']}, {self_txt}, {r['backend']}) over {r['n']} pairs"
    print_table(title, ["measure", "value"], rows)


def alignment_rows(r: dict) -> list[tuple[str, str]]:
    """Table rows of the alignment metrics: value, and chance / null / p for the kNN ones."""
    rows = []
    for name in ("mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn", "cka", "unbiased_cka", "cknna", "svcca"):
        text = f"{r[name]:.4f}"
        if f"{name}_chance" in r:
            text += f" (chance {r[name + '_chance']:.4f}"
            if f"{name}_null_mean" in r:
                null, std, p = (r[f"{name}_{x}"] for x in ("null_mean", "null_std", "p_value"))
                text += f", null {null:.4f} ± {std:.4f}, p {p:.3g}"
            text += ")"
        label = f"{name} ({r['kernel']})" if name in ("cka", "unbiased_cka") else name
        rows.append((label, text))
    return rows
