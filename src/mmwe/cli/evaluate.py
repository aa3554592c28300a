"""`mmwe eval-words`: word-similarity benchmarks (Spearman / Pearson, CI, Steiger test vs the first set)."""

from __future__ import annotations

from typing import Annotated

import typer

from mmwe.cli.app import app
from mmwe.cli.console import NONE, fmt, print_json, print_notes, print_table
from mmwe.cli.options import at_least, one_of, unicode_errors_option
from mmwe.datasets.wordsim import BUILTIN_BENCHMARKS, load_benchmark
from mmwe.vectors import load

_BENCH = f"Built-in ({', '.join(BUILTIN_BENCHMARKS)}) or a `w1 w2 score` file; repeatable. Default: all built-ins."


@app.command("eval-words")
def eval_words(
    vectors: Annotated[list[str], typer.Argument(help="Vector files or built-in names (e.g. glove-6b-50d).")],
    benchmark: Annotated[list[str] | None, typer.Option("--benchmark", "-b", help=_BENCH)] = None,
    similarity: Annotated[str, typer.Option(help="cosine or euclidean (negative distance).")] = "cosine",
    case_sensitive: Annotated[bool, typer.Option("--case-sensitive", help="Keep the case of benchmark words.")] = False,
    impute_mean: Annotated[bool, typer.Option("--impute-mean", help="Score pairs with a missing word using the mean "
                                                                 "vector instead of skipping them.")] = False,
    ci: Annotated[bool, typer.Option("--ci", help="Bootstrap 95% CI of Spearman (resampled pairs).")] = False,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for --ci.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    limit: Annotated[int | None, typer.Option(help="Read only the first N vectors of each set.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON rows instead of a table.")] = False,
    unicode_errors: Annotated[str, unicode_errors_option()] = "strict",
) -> None:
    """Spearman/Pearson of word-pair ratings vs vector similarity; Steiger's p of each set vs the first (*: p<0.05)."""
    from mmwe.metrics.wordsim import evaluate_sets  # scipy.stats: a second to import

    one_of("--similarity", similarity, ("cosine", "euclidean"))
    at_least("--n-boot", n_boot, 1)
    benches = [load_benchmark(b, lowercase=not case_sensitive) for b in benchmark or BUILTIN_BENCHMARKS]
    sets = [(name, load(name, limit=limit, unicode_errors=unicode_errors)) for name in vectors]
    rows = evaluate_sets(sets, benches, similarity=similarity, impute_mean=impute_mean, ci=ci, n_boot=n_boot, seed=seed)
    if json:
        return print_json(rows)
    several = len(vectors) > 1  # one set: its name goes in the title, keeping the table narrow
    title = f"word similarity, {similarity}{', mean-imputed' if impute_mean else ''}"
    cols = ["vectors"] * several + ["benchmark", "spearman", "pearson", "found/pairs"] + ["95% CI"] * ci
    table = []
    for r in rows:
        cells = [r["vectors"]] * several + [r["benchmark"], fmt(r["spearman"], ".4f"), fmt(r["pearson"], ".4f"),
                                            f"{r['found']}/{r['pairs']}"]
        cells += [NONE if r.get("ci_low") is None else f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]"] if ci else []
        p = r.get("p_vs_first")
        table.append(cells + ["-" if p is None else f"{p:.3g}{'*' if p < 0.05 else ''}"] * several)
    print_table(title if several else f"{vectors[0]}: {title}", cols + ["p vs first"] * several, table)
    print_notes(rows, lambda r: f"{r['vectors'] + ' ' if several else ''}{r['benchmark']}")
