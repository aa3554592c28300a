"""`mmwe triplets mine|show`: mine phrase triplets from click logs (Mao et al.) and inspect triplet sets."""

from __future__ import annotations

import typer

from mmwe.cli.app import group
from mmwe.cli.console import print_json, print_summary
from mmwe.cli.options import config_options
from mmwe.datasets.triplets import MineRun, ShowRun, load_triplets, mine_file, write_tsv

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
