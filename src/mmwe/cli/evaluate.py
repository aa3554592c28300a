"""`mmwe eval-words`: word-similarity benchmarks (Spearman / Pearson, CI, Steiger test vs the first set)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from mmwe.cli import app
from mmwe.cli._common import print_json


@dataclass
class WordSimRun:
    """What `eval-words` evaluates; built from the options, consumed by `run_wordsim`."""

    vectors: list[str]  # vector files or built-in names, loaded with mmwe.vectors.load
    benchmarks: list[str] = field(default_factory=list)  # built-in names or paths; empty = all built-ins
    similarity: str = "cosine"  # "cosine" | "euclidean" (negative distance)
    lowercase: bool = True  # lower-case benchmark words (False with --case-sensitive)
    impute_mean: bool = False  # missing word -> mean vector instead of skipping the pair
    ci: bool = False  # bootstrap 95% CI of Spearman
    n_boot: int = 1000  # bootstrap resamples
    seed: int = 0  # bootstrap seed
    limit: int | None = None  # read only the first N vectors of each set


def run_wordsim(cfg: WordSimRun) -> list[dict]:
    """Load the benchmarks and vector sets named in ``cfg`` and evaluate every pair of them."""
    from mmwe import vectors as vio
    from mmwe.datasets.wordsim import BUILTIN_BENCHMARKS, load_benchmark
    from mmwe.metrics import wordsim

    names = cfg.benchmarks or list(BUILTIN_BENCHMARKS)
    benches = [load_benchmark(b, lowercase=cfg.lowercase) for b in names]
    sets = [(name, vio.load(name, limit=cfg.limit)) for name in cfg.vectors]
    return wordsim.evaluate_sets(
        sets, benches, similarity=cfg.similarity, impute_mean=cfg.impute_mean, ci=cfg.ci, n_boot=cfg.n_boot, seed=cfg.seed
    )


def _table(rows: list[dict], cfg: WordSimRun) -> Table:
    several = len(cfg.vectors) > 1  # one set: its name goes in the title, keeping the table narrow
    title = f"word similarity, {cfg.similarity}{', mean-imputed' if cfg.impute_mean else ''}"
    table = Table(title=title if several else f"{cfg.vectors[0]}: {title}")
    cols = (["vectors"] if several else []) + ["benchmark", "spearman", "pearson", "found/pairs"]
    cols += (["95% CI"] if cfg.ci else []) + (["p vs first"] if several else [])
    for col in cols:
        if col == "vectors":  # long paths fold rather than squeeze the column away
            table.add_column(col, min_width=min(24, max(len(v) for v in cfg.vectors)), overflow="fold")
        else:
            table.add_column(col, justify="left" if col == "benchmark" else "right", no_wrap=True)
    for r in rows:
        cells = ([r["vectors"]] if several else []) + [r["benchmark"], f"{r['spearman']:.4f}", f"{r['pearson']:.4f}"]
        cells.append(f"{r['found']}/{r['pairs']}")
        if cfg.ci:
            cells.append(f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
        if several:
            p = r["p_vs_first"]
            cells.append("-" if p is None else f"{p:.3g}{'*' if p < 0.05 else ''}")
        table.add_row(*cells)
    return table


@app.command("eval-words")
def eval_words(
    vectors: Annotated[list[str], typer.Argument(help="Vector files or built-in names (e.g. glove-6b-50d).")],
    benchmark: Annotated[Optional[list[str]], typer.Option("--benchmark", "-b", help="Built-in name (men, wordsim353, ws353-rel, ws353-sim, rg65, rw, mturk287, simlex999) or a `w1 w2 score` file; repeatable. Default: all built-ins.")] = None,
    similarity: Annotated[str, typer.Option(help="cosine or euclidean (negative distance).")] = "cosine",
    case_sensitive: Annotated[bool, typer.Option("--case-sensitive", help="Keep the case of benchmark words (default: lower-case them).")] = False,
    impute_mean: Annotated[bool, typer.Option("--impute-mean", help="Score pairs with a missing word using the mean vector instead of skipping them.")] = False,
    ci: Annotated[bool, typer.Option("--ci", help="Bootstrap 95% CI of Spearman (resampled pairs).")] = False,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples for --ci.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    limit: Annotated[Optional[int], typer.Option(help="Read only the first N vectors of each set.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON rows instead of a table.")] = False,
) -> None:
    """Spearman/Pearson of human word-pair ratings vs vector similarity; Steiger's p of each set vs the first (* = p < 0.05)."""
    from mmwe.errors import MmweError

    if similarity not in ("cosine", "euclidean"):
        raise MmweError(f"--similarity: expected cosine or euclidean, got {similarity!r}")
    if n_boot < 1:
        raise MmweError(f"--n-boot: expected a positive number of resamples, got {n_boot}")
    cfg = WordSimRun(
        vectors=list(vectors), benchmarks=list(benchmark or []), similarity=similarity, lowercase=not case_sensitive,
        impute_mean=impute_mean, ci=ci, n_boot=n_boot, seed=seed, limit=limit,
    )
    rows = run_wordsim(cfg)
    if json:
        print_json(rows)
    else:
        table, console = _table(rows, cfg), Console()
        if not console.is_terminal:  # piped output: print the whole table rather than crop it at 80 columns
            console = Console(width=max(console.width, Console(width=1000).measure(table).maximum))
        console.print(table)
