"""`mmwe eval-analogies`: word analogies (3CosAdd / 3CosMul, gensim's semantics), McNemar test vs the first set."""

from __future__ import annotations

from typing import Annotated

import typer

from mmwe.cli.app import app
from mmwe.cli.console import bar_callback, fmt, print_json, print_notes, print_table, progress_bar
from mmwe.cli.options import at_least, one_of, unicode_errors_option
from mmwe.datasets.analogies import BUILTIN_ANALOGIES, load_analogies
from mmwe.vectors import load

_DATASET = f"Built-in ({', '.join(BUILTIN_ANALOGIES)}: Mikolov et al.'s 19,544 questions) or a file of `: SECTION` " \
           "lines and `a b c d` questions."


@app.command("eval-analogies")
def eval_analogies(
    vectors: Annotated[list[str], typer.Argument(help="Vector files or built-in names (e.g. glove-6b-50d).")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help=_DATASET)] = "google",
    method: Annotated[str, typer.Option(help="3cosadd (gensim most_similar) or 3cosmul (most_similar_cosmul).")]
    = "3cosadd",
    restrict_vocab: Annotated[int, typer.Option(help="Questions and answers use only the first N words (gensim's "
                                                     "default).")] = 300000,
    case_sensitive: Annotated[bool, typer.Option("--case-sensitive", help="Keep case; by default words and "
                                                 "questions are upper-cased, as gensim does.")] = False,
    limit: Annotated[int | None, typer.Option(help="Read only the first N vectors of each set.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON rows instead of a table.")] = False,
    unicode_errors: Annotated[str, unicode_errors_option()] = "strict",
) -> None:
    """Analogy accuracy a : b :: c : ? per section and in total; McNemar's exact p of each set vs the first on the
    questions both answer (*: p<0.05)."""
    from mmwe.metrics.analogies import evaluate_analogy_sets  # scipy.stats: a second to import

    one_of("--method", method, ("3cosadd", "3cosmul"))
    at_least("--restrict-vocab", restrict_vocab, 1)
    aset = load_analogies(dataset)
    sets = [(name, load(name, limit=limit, unicode_errors=unicode_errors)) for name in vectors]
    with progress_bar(disable=json) as bar:
        rows = evaluate_analogy_sets(sets, aset, method=method, restrict_vocab=restrict_vocab,
                                     case_sensitive=case_sensitive, progress=bar_callback(bar))
    if json:
        return print_json(rows)
    several = len(vectors) > 1
    title = f"analogies {aset.name}, {method}, first {restrict_vocab} words"
    cols = ["vectors"] * several + ["section", "accuracy", "correct/answered", "skipped"] + ["p vs first"] * several
    table = []
    for r in rows:
        cells = [r["vectors"]] * several + [r["section"], fmt(r["accuracy"], ".4f"),
                                            f"{r['correct']}/{r['questions'] - r['skipped']}", str(r["skipped"])]
        p = r.get("p_vs_first")
        table.append(cells + ["-" if p is None else f"{p:.3g}{'*' if p < 0.05 else ''}"] * several)
    print_table(title if several else f"{vectors[0]}: {title}", cols, table)
    print_notes(rows, lambda r: r["vectors"])
