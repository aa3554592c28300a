"""results.md of a Mao run, one writer for one seed and for several: the table, the paper's findings and, for a
study, the learning curve and the wall time."""

from __future__ import annotations

import math


def _f(x, nd: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _p(p) -> str:
    return "–" if p is None else f"{p:.3g}"


def _ws(row: dict, bench: str) -> str:
    """Spearman with the number of pairs it was computed on: '0.657 (3000)'."""
    found = row.get(bench + "_found")
    return _f(row.get(bench)) + ("" if not found else f" ({found})")


def _sd(row: dict) -> str:
    return "" if row.get("sd") is None else f" ± {row['sd']:.3f}"


def _table(result: dict, seeds: bool) -> list[str]:
    """The head lines and the table: one row per model (mean ± sd over seeds in a study)."""
    if not seeds:
        lines = [f"Triplets: `{result['triplets']}`; corpus: `{result['corpus']}`.", "",
                 "| model | triplet acc. | 95% CI | covered | p vs puretext | MEN (pairs) | SimLex-999 (pairs) | "
                 "WS-353 (pairs) | dim | paper RP10K |", "|---|---|---|---|---|---|---|---|---|---|"]
        return lines + [f"| {r['model']} | {_f(r['accuracy'])} | [{_f(r['ci_low'])}, {_f(r['ci_high'])}] | "
                        f"{r['covered']}/{r['triplets']} | {_p(r.get('p_vs_puretext'))} | {_ws(r, 'men')} | "
                        f"{_ws(r, 'simlex999')} | {_ws(r, 'wordsim353')} | {r['dim']} | {_f(r.get('paper_rp10k'))} |"
                        for r in result["rows"]]
    src = ", ".join(f"{s} {i['triplets']} (of {i['images']} test images)" for s, i in result["triplet_sources"].items())
    lines = [f"Corpus: `{result['corpus']}`; {result['triplet_count']} triplets mined from the test-split images' "
             f"annotations: {src}.",
             f"Seeds: {result['seeds']}; lr {result['lr']:g} (chosen on Model A's validation perplexity); lambda "
             + (", ".join(f"{v} {x:g}" for v, x in result["lambdas"].items()) or "–")
             + " (chosen on validation perplexity). Test: crossed seeds x triplets t test (mmwe.metrics.seeds).",
             "",
             "| model | triplet acc. (mean ± sd over seeds) | 95% CI (triplets) | covered | p vs puretext | MEN | "
             "val ppl |",
             "|---|---|---|---|---|---|---|"]
    return lines + [f"| {r['model']} | {_f(r['accuracy'])}{_sd(r)} | [{_f(r['ci_low'])}, {_f(r['ci_high'])}] | "
                    f"{r['covered']}/{r['triplets']} | {_p(r.get('p_vs_puretext'))} | {_f(r.get('men'))} | "
                    f"{_f(r.get('val_perplexity'), 1)} |" for r in result["rows"]]


def _finding(f: dict, seeds: bool) -> str:
    if not seeds:
        p = "" if f["p"] is None else f", p = {f['p']:.3g}"
        return (f"- {f['claim']}: **{f['verdict']}** ({_f(f['left'])} vs {_f(f['right'])} on "
                f"{f.get('common', '?')} common triplets{p}).")
    return (f"- {f['claim']}: **{f['verdict']}** ({_f(f['left'])} vs {_f(f['right'])} on {f['common']} "
            f"common triplets, p = {_p(f['p'])}, better in {f['seed_wins']} of {f['seeds']} seeds).")


def _curve(result: dict) -> list[str]:
    lines = ["", "Learning curve (share of the training images):", "",
             "| model | fraction | train images | accuracy (mean ± sd) | covered |", "|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['fraction']:g} | {r.get('train_images', '–')} | {_f(r['accuracy'])}{_sd(r)} "
              f"| {r['covered']}/{r['triplets']} |" for r in result["curve"]]
    lines += ["", "| fraction | A − puretext | p | common triplets |", "|---|---|---|---|"]
    lines += [f"| {g['fraction']:g} | {_f(g['gap'])} | {_p(g['p'])} | {g['common']} |" for g in result["curve_gaps"]]
    if result.get("seconds") is not None:
        how = "" if "workers" not in result else \
            f" ({result['workers']} models at once, {result['threads']} thread(s) each)"
        lines += ["", f"Wall time: {result['seconds'] / 60:.1f} min for {result.get('models_trained', '?')} models"
                  f"{how}."]
    return lines


def markdown(result: dict) -> str:
    """results.md: the table, the findings and, for a study (results with ``seeds``), the learning curve."""
    seeds = "seeds" in result
    lines = _table(result, seeds)
    lines += ["", "Findings of the paper:" if seeds else "Findings of the paper, checked at this scale:", ""]
    lines += [_finding(f, seeds) for f in result["findings"]]
    if seeds:
        lines += _curve(result)
    return "\n".join(lines) + "\n"
