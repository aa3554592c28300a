"""`mmwe eval-words|eval-analogies|eval-triplets` (vector sets side by side), `mmwe mnno A B` (paired sets) and
`mmwe triplets mine|show` (phrase triplets from click logs, as Mao et al.; inspect a triplet set)."""

from __future__ import annotations

import typer

from mmwe.cli.app import app, group
from mmwe.cli.console import bar_callback, print_json, print_summary, progress_bar
from mmwe.cli.options import config_options
from mmwe.datasets.triplets import MineRun, ShowRun, load_triplets, mine_file, write_tsv
from mmwe.metrics.config import AnalogyRun, MnnoRun, TripletRun, WordsimRun
from mmwe.report.evaluation import analogy_printout, mnno_printout, triplet_printout, wordsim_printout

_ROWS = "Print JSON rows instead of a table."


@app.command("eval-words")
@config_options(WordsimRun, json=_ROWS)
def eval_words(cfg: WordsimRun, json: bool = False) -> None:
    """Spearman/Pearson of word-pair ratings vs vector similarity; Steiger's p of each set vs the first (*: p<0.05)."""
    from mmwe.metrics.wordsim import word_similarity  # scipy.stats: a second to import

    rows = word_similarity(cfg)
    print_json(rows) if json else print_summary(wordsim_printout(rows, cfg))


@app.command("eval-analogies")
@config_options(AnalogyRun, json=_ROWS)
def eval_analogies(cfg: AnalogyRun, json: bool = False) -> None:
    """Analogy accuracy a : b :: c : ? per section and in total; McNemar's exact p of each set vs the first on the
    questions both answer (*: p<0.05)."""
    from mmwe.metrics.analogies import analogy_rows  # scipy.stats: a second to import

    with progress_bar(disable=json) as bar:
        aset, rows = analogy_rows(cfg, progress=bar_callback(bar))
    print_json(rows) if json else print_summary(analogy_printout(rows, cfg, aset.name))


@app.command("eval-triplets")
@config_options(TripletRun, json="Print JSON rows.")
def eval_triplets(cfg: TripletRun, json: bool = False) -> None:
    """Triplet accuracy: fraction of covered triplets where cosdist(base, pos) < cosdist(base, neg)."""
    from mmwe.metrics.triplets import triplet_rows  # scipy.stats: a second to import

    tset, rows = triplet_rows(cfg)
    print_json(rows) if json else print_summary(triplet_printout(rows, cfg, tset.name, len(tset)))


@app.command("mnno")
@config_options(MnnoRun, json="Print a JSON object.")
def mnno(cfg: MnnoRun, json: bool = False) -> None:
    """Mean nearest-neighbour overlap mNNO^K(A, B) of paired sets, with its chance level.

    mNNO = 1/(K N) sum_i |NN_K(a_i) ∩ NN_K(b_i)| (Collell & Moens 2018).

    By default a point is not its own neighbour (the paper's definition); --include-self: the released code's.

    torchrun --nproc_per_node=N --no-python mmwe mnno A B: the search split over N ranks; rank 0 prints.
    """
    from mmwe.metrics.overlap import mnno_inputs, mnno_result  # numpy and threadpoolctl only: no torch on the CPU
    from mmwe.neighbors import backend_on, torchrun_ranks

    A, B = mnno_inputs(cfg)  # input errors before torch is imported
    backend, world = backend_on(cfg.device, cfg.backend, cfg.ties), None
    if torchrun_ranks(backend, cfg.ties) > 1:  # under torchrun: the search split over the ranks (gloo); rank 0 prints
        import torch

        from mmwe.lm.ddp import init_from_env

        world = init_from_env(torch.device("cpu"))
    quiet = world is not None and world.rank != 0
    with progress_bar(disable=json or quiet) as bar:  # the neighbour search, then the shuffles
        r = mnno_result(cfg, A, B, backend=backend, world=world, progress=bar_callback(bar))
    if world is not None:
        from mmwe.lm.ddp import close

        close(world)
    if not quiet:
        print_json(r) if json else print_summary(mnno_printout(r))


triplets_app = group("triplets", "Mine and inspect phrase-triplet datasets.")


@triplets_app.command("mine")
@config_options(MineRun, skip=("min_clicks",), json="Print a JSON summary.")
def mine(cfg: MineRun, json: bool = False) -> None:
    """Build (base, positive, negative) triplets from click logs, as Mao et al. (2016) did."""
    s = mine_file(cfg)
    print_json(s) if json else typer.echo(f"wrote {s['triplets']} triplets from {s['rows']} click rows to {s['out']}")


@triplets_app.command("show")
@config_options(ShowRun)
def show(cfg: ShowRun) -> None:
    """Print the size and the first triplets of a dataset (optionally export it as TSV)."""
    tset = load_triplets(cfg.dataset)
    print_summary([f"{tset.name}: {len(tset)} triplets", *("\t".join(t) for t in tset.triplets[:cfg.head])])
    if cfg.out:
        write_tsv(tset.triplets, cfg.out)
