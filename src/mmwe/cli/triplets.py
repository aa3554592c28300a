"""`mmwe eval-triplets` and `mmwe triplets mine|show`: the Mao et al. phrase-triplet evaluation."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from mmwe.cli.app import app, group
from mmwe.cli.console import NONE, fmt, print_json, print_notes, print_table
from mmwe.cli.options import config_options, out_option, unicode_errors_option
from mmwe.datasets.triplets import MineConfig, load_triplets, mine_triplets, read_clicks, write_tsv
from mmwe.vectors import load

triplets_app = group("triplets", "Mine and inspect phrase-triplet datasets.")
_CLDR = "cldr-triplets"


@app.command("eval-triplets")
def eval_triplets(
    vectors: Annotated[list[str], typer.Argument(help="Vector files or built-in names (e.g. glove-6b-50d).")],
    dataset: Annotated[str, typer.Option(help="cldr-triplets, or TSV base<TAB>positive<TAB>negative")] = _CLDR,
    ci: Annotated[bool, typer.Option(help="Bootstrap 95% confidence interval.")] = True,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
    unicode_errors: Annotated[str, unicode_errors_option()] = "strict",
) -> None:
    """Triplet accuracy: fraction of covered triplets where cosdist(base, pos) < cosdist(base, neg)."""
    from mmwe.metrics.triplets import evaluate_triplet_sets  # scipy.stats: a second to import

    tset = load_triplets(dataset)
    sets = [(name, load(name, unicode_errors=unicode_errors)) for name in vectors]
    rows = evaluate_triplet_sets(sets, tset, ci=ci, seed=seed)
    if json:
        return print_json(rows)
    print_table(f"triplet accuracy on {tset.name} ({len(tset)} triplets)",
                ["vectors", "accuracy", "95% CI", "covered", "p vs first"],
                [(r["vectors"], fmt(r["accuracy"]), (NONE if r.get("ci_low") is None else
                                                     f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]") if ci else None,
                  f"{r['covered']}/{r['triplets']}", fmt(r["p_vs_first"], ".3g") if "p_vs_first" in r else None)
                 for r in rows])
    print_notes(rows, lambda r: r["vectors"])


@triplets_app.command("mine")
@config_options("mmwe.datasets.triplets:MineConfig", skip=("min_clicks",),
                flags={"positives_per_query": "--positives", "negatives_per_positive": "--negatives"})
def mine(
    clicks: Annotated[str, typer.Argument(help="TSV rows query<TAB>item<TAB>annotation<TAB>clicks.")],
    out: Annotated[str, out_option("Output TSV of triplets.")],
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
    overrides: dict | None = None,
) -> None:
    """Build (base, positive, negative) triplets from click logs, as Mao et al. (2016) did."""
    rows = read_clicks(clicks)
    n = write_tsv(mine_triplets(rows, replace(MineConfig(), **overrides)), out)
    summary = {"rows": len(rows), "queries": len({r[0] for r in rows}), "triplets": n, "out": out}
    print_json(summary) if json else typer.echo(f"wrote {n} triplets from {len(rows)} click rows to {out}")


@triplets_app.command("show")
def show(
    dataset: Annotated[str, typer.Argument(help="Built-in name or TSV path.")] = _CLDR,
    head: Annotated[int, typer.Option(help="How many triplets to print.")] = 10,
    out: Annotated[str | None, out_option("Also write the whole set as TSV here.")] = None,
) -> None:
    """Print the size and the first triplets of a dataset (optionally export it as TSV)."""
    tset = load_triplets(dataset)
    typer.echo(f"{tset.name}: {len(tset)} triplets")
    for t in tset.triplets[:head]:
        typer.echo("\t".join(t))
    if out:
        write_tsv(tset.triplets, out)
