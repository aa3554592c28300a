"""`mmwe eval-triplets` and `mmwe triplets mine|show`: the Mao et al. phrase-triplet evaluation."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from mmwe.cli import app
from mmwe.cli._common import print_json

triplets_app = typer.Typer(help="Mine and inspect phrase-triplet datasets.", no_args_is_help=True)
app.add_typer(triplets_app, name="triplets")


@app.command("eval-triplets")
def eval_triplets(
    vectors: Annotated[list[str], typer.Argument(help="Vector files or built-in names (e.g. glove-6b-50d).")],
    dataset: Annotated[str, typer.Option(help="Built-in name (cldr-triplets) or a TSV base<TAB>positive<TAB>negative.")] = "cldr-triplets",
    ci: Annotated[bool, typer.Option(help="Bootstrap 95% confidence interval.")] = True,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
) -> None:
    """Triplet accuracy: fraction of covered triplets where cosdist(base, pos) < cosdist(base, neg)."""
    from mmwe import vectors as vio
    from mmwe.datasets.triplets import load_triplets
    from mmwe.metrics.triplets import compare_triplets, evaluate_triplets

    tset = load_triplets(dataset)
    loaded = [(name, vio.load(name)) for name in vectors]
    rows = []
    for i, (name, vec) in enumerate(loaded):
        row = {"vectors": name, **evaluate_triplets(vec, tset, ci=ci, seed=seed)}
        if i > 0:
            cmp = compare_triplets(loaded[0][1], vec, tset)
            row["p_vs_first"], row["n_common"] = cmp["p"], cmp["n"]
        rows.append(row)
    if json:
        print_json(rows)
        return
    table = Table(title=f"triplet accuracy on {tset.name} ({len(tset)} triplets)")
    for col in ("vectors", "accuracy", "95% CI", "covered", "p vs first"):
        table.add_column(col)
    for r in rows:
        ci_txt = f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]" if "ci_low" in r else "-"
        p_txt = f"{r['p_vs_first']:.3g}" if "p_vs_first" in r else "-"
        table.add_row(r["vectors"], f"{r['accuracy']:.3f}", ci_txt, f"{r['covered']}/{r['triplets']}", p_txt)
    Console().print(table)


@triplets_app.command("mine")
def mine(
    clicks: Annotated[str, typer.Argument(help="TSV rows query<TAB>item<TAB>annotation<TAB>clicks.")],
    out: Annotated[str, typer.Option(help="Output TSV of triplets.")],
    positives: Annotated[int, typer.Option(help="Positives kept per query.")] = 3,
    negatives: Annotated[int, typer.Option(help="Negatives drawn per positive.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the negative sampling.")] = 0,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Build (base, positive, negative) triplets from click logs, as Mao et al. (2016) did."""
    from mmwe.datasets.triplets import MineConfig, mine_triplets, read_clicks, write_tsv

    rows = read_clicks(clicks)
    triplets = mine_triplets(rows, MineConfig(positives_per_query=positives, negatives_per_positive=negatives, seed=seed))
    n = write_tsv(triplets, out)
    summary = {"rows": len(rows), "queries": len({r[0] for r in rows}), "triplets": n, "out": out}
    print_json(summary) if json else print(f"wrote {n} triplets from {len(rows)} click rows to {out}")


@triplets_app.command("show")
def show(
    dataset: Annotated[str, typer.Argument(help="Built-in name or TSV path.")] = "cldr-triplets",
    head: Annotated[int, typer.Option(help="How many triplets to print.")] = 10,
    out: Annotated[Optional[str], typer.Option(help="Also write the whole set as TSV here.")] = None,
) -> None:
    """Print the size and the first triplets of a dataset (optionally export it as TSV)."""
    from mmwe.datasets.triplets import load_triplets, write_tsv

    tset = load_triplets(dataset)
    print(f"{tset.name}: {len(tset)} triplets")
    for t in tset.triplets[:head]:
        print("\t".join(t))
    if out:
        write_tsv(tset.triplets, out)
