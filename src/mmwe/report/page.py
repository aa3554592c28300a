"""``build_report``: one self-contained report.html (plus report.md) for any mix of run folders.

The page has fixed sections, each present even when no run feeds it (it then says so): the reproductions'
tables, mNNO of the maps, word similarity (original vs mapped, and trained vectors), training curves,
throughput, the neighbour explorer and notes. Everything is inline (CSS, JS, SVG figures, the explorer's data);
a Content-Security-Policy ``default-src 'none'`` forbids the page any network request.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Sequence
from importlib.resources import files
from pathlib import Path

from mmwe import vectors as vio
from mmwe.errors import MmweError
from mmwe.fileio import atomic_write, check_output_path
from mmwe.neighbor_sets import DEFAULT_CAP, neighbour_set
from mmwe.progress import Progress
from mmwe.report import plots
from mmwe.report.bridge_plots import bridge_retrieval_plot, bridge_scatter_plot
from mmwe.report.explorer import apply_label_names, read_label_names
from mmwe.report.runs import MAO_BENCHMARKS, TITLES, SavedRun, load_run, load_runs
from mmwe.report.summaries import result_table, summary_text
from mmwe.report.tables import Section, html_table, render_markdown, write_markdown_table, write_report

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
SECTIONS = [("tables", "Results tables"), ("mnno", "mNNO of the cross-modal maps"),
            ("wordsim", "Word similarity: original vs mapped, and trained vectors"),
            ("curves", "Training and validation curves"), ("throughput", "Throughput"),
            ("explorer", "Neighbour explorer"), ("notes", "Notes")]
MAO_COLUMNS = [("model", "model"), ("accuracy", "triplet acc."), ("ci", "95% CI"), ("coverage", "covered"),
               ("p_vs_puretext", "p vs puretext"), ("men", "MEN"), ("simlex999", "SimLex-999"),
               ("wordsim353", "WS-353"), ("dim", "dim"), ("paper_rp10k", "paper RP10K")]
FINDING_COLUMNS = [("claim", "claim"), ("verdict", "verdict"), ("left", "left"), ("right", "right"), ("p", "p")]
STUDY_COLUMNS = [("model", "model"), ("acc_sd", "triplet acc. (mean ± sd)"), ("ci", "95% CI (triplets)"),
                 ("coverage", "covered"), ("p_vs_puretext", "p vs puretext"), ("men", "MEN"),
                 ("val_perplexity", "val ppl")]
STUDY_FINDING_COLUMNS = [*FINDING_COLUMNS, ("common", "triplets"), ("seed_wins", "better in seeds")]
CURVE_COLUMNS = [("model", "model"), ("fraction", "share of train images"), ("train_images", "train images"),
                 ("acc_sd", "accuracy (mean ± sd)"), ("coverage", "covered")]


# ------------------------------------------------------------------------------------------- tables
def run_tables(run: SavedRun) -> tuple[str, list[tuple[str, list[dict], list]]]:
    """(summary text, [(caption, rows, columns)]) of a run, in its paper's layout."""
    if run.kind.startswith("collell"):
        rows, cols = result_table(run.result)
        return summary_text(run.result), [("", rows, cols)]
    res = run.result
    if run.kind == "mao-study":
        return study_tables(res)
    rows = [{**r, "ci": _ci(r.get("ci_low"), r.get("ci_high")),
             "coverage": f"{r.get('covered', 'n/a')}/{r.get('triplets', 'n/a')}"} for r in res["rows"]]
    out = [("Triplet accuracy and word similarity (Spearman, cosine)", rows, MAO_COLUMNS)]
    if res.get("findings"):
        out.append(("Findings of the paper, checked at this scale", res["findings"], FINDING_COLUMNS))
    text = f"Triplets: {res.get('triplets', '?')} ({res.get('triplet_count', '?')}); corpus: {res.get('corpus', '?')}."
    return text, out


def study_tables(res: dict) -> tuple[str, list[tuple[str, list[dict], list]]]:
    """The seeded study: the table over seeds, the findings with the crossed test, the learning curve."""
    def acc_sd(r: dict) -> str:
        a = r.get("accuracy")
        return "n/a" if a is None else f"{a:.3f}" + ("" if r.get("sd") is None else f" ± {r['sd']:.3f}")

    def row(r: dict) -> dict:
        return {**r, "acc_sd": acc_sd(r), "ci": _ci(r.get("ci_low"), r.get("ci_high")),
                "coverage": f"{r.get('covered', 'n/a')}/{r.get('triplets', 'n/a')}"}

    src = ", ".join(f"{s} {i['triplets']}" for s, i in (res.get("triplet_sources") or {}).items())
    text = (f"{res.get('triplet_count', '?')} triplets mined from the test-split images ({src}); {res.get('seeds')} "
            f"seeds; lr {res.get('lr')} and lambda {res.get('lambdas')} chosen on validation perplexity; tests: "
            "crossed seeds x triplets t test." + (f" Wall time {res['seconds'] / 60:.1f} min." if res.get("seconds")
                                                    else ""))
    return text, [("Triplet accuracy over seeds", [row(r) for r in res["rows"]], STUDY_COLUMNS),
                  ("Findings of the paper (crossed seeds x triplets test)", res.get("findings") or [],
                   STUDY_FINDING_COLUMNS),
                  ("Learning curve", [row(r) for r in res.get("curve") or []], CURVE_COLUMNS)]


def _ci(lo, hi) -> str:
    return "n/a" if lo is None or hi is None else f"[{lo:.3f}, {hi:.3f}]"


# ------------------------------------------------------------------------------------------- figures
def run_figures(run: SavedRun) -> dict[str, list[tuple[str, str]]]:
    """Section id -> [(caption, svg)] for one run."""
    res, name = run.result, run.path.name
    if run.kind == "collell-exp1" and res.get("rows"):
        cap = (f"{name}: mNNO per direction and map ({res['config'].get('folds')}-fold out-of-fold f(X), "
               f"K={res['config'].get('k')}); dashed: chance level of two random neighbour lists.")
        return {"mnno": [(cap, plots.mnno_plot(res["rows"], res.get("chance_mnno"), title=f"mNNO ({name})"))]}
    if run.kind == "collell-exp2" and res.get("rows"):
        maps = tuple(res["config"].get("maps", ("lin", "nn")))
        has_ci = any("original_ci_low" in r for r in res["rows"])
        cap = (f"{name}: Spearman per benchmark, original vectors vs untrained maps (cosine); "
               + ("error bars: percentile bootstrap 95% CI over resampled pairs."
                  if has_ci else "no CIs in this run (written before they were recorded)."))
        return {"wordsim": [(cap, plots.spearman_plot(res["rows"], maps, title=f"Experiment 2 ({name})"))]}
    if run.kind == "collell-bridge" and res.get("rows"):
        return {"mnno": bridge_figures(res, name)}
    if run.kind == "collell-imagined" and res.get("rows"):
        return {"wordsim": [imagined_figure(res, name)]}
    if run.kind == "mao-study" and res.get("curve"):
        return {"curves": [(f"{name}: triplet accuracy against the share of training images, mean over seeds with "
                            "± 1 sd; the gap between A and the Pure text RNN is the paper's question.",
                            plots.learning_curve_plot(res["curve"], title=f"Learning curve ({name})"))]}
    if run.kind != "mao":
        return {}
    out: dict[str, list[tuple[str, str]]] = {
        "wordsim": [(f"{name}: triplet accuracy with its bootstrap 95% CI, and Spearman per benchmark.",
                     plots.model_scores_plot(res["rows"], MAO_BENCHMARKS, title=f"Trained vectors ({name})"))]}
    if run.curves:
        out["curves"] = [(f"{name}: training loss per logged interval and validation loss per epoch.",
                          plots.curves_plot(run.curves, title=f"Curves ({name})"))]
        tps = {m: run.summaries.get(m, {}).get("tokens_per_s") or
               next((r.get("tokens_per_s") for r in res["rows"] if r["model"] == m), None) for m in run.curves}
        out["throughput"] = [(f"{name}: training throughput (tokens/s, this machine).",
                              plots.throughput_plot(tps, run.curves, title=f"Throughput ({name})"))]
    return out


def bridge_figures(res: dict, name: str) -> list[tuple[str, str]]:
    """The bridge experiment: mNNO(X,f(X)) vs mNNO(Y,f(X)) with the diagonal, and R@k per loss."""
    n_above = sum(bool(r.get("above")) for r in res["rows"])
    scatter = (f"{name}: mNNO(X,f(X)) against mNNO(Y,f(X)) per loss (colour), direction and map (marker), "
               f"out-of-fold; dashed: the diagonal. Above it (shaded) f(X) is closer to the target's neighbourhoods "
               f"than to the input's: {n_above} of {len(res['rows'])} maps with the gap's 95% CI above 0.")
    bars = f"{name}: R@1 / R@5 / R@10 of the paired item per loss, one panel per direction and map."
    return [(scatter, bridge_scatter_plot(res["rows"], title=f"Bridge: mNNO(Y,f(X)) vs mNNO(X,f(X)) ({name})")),
            (bars, bridge_retrieval_plot(res["rows"], ks=res["config"].get("recall_ks", (1, 5, 10)),
                                         title=f"Bridge: retrieval ({name})"))]


def imagined_figure(res: dict, name: str) -> tuple[str, str]:
    """Spearman per benchmark of the visual, imagined and untrained-imagined vectors, CIs as error bars."""
    maps = tuple(res["config"].get("maps", ("lin", "nn")))
    cols = ["original", *(f"f_{m}" for m in maps), *(f"untrained_{m}" for m in maps)]
    has_ci = any("original_ci_low" in r for r in res["rows"])
    cap = (f"{name}: Spearman per benchmark (cosine) on the pairs the visual vectors cover: original visual word "
           f"vectors, imagined f(GloVe) and untrained-imagined vectors, one panel per visual set; benchmarks with "
           f"fewer than {res.get('min_pairs', 10)} covered pairs left out; "
           + ("error bars: percentile bootstrap 95% CI over resampled pairs." if has_ci else "no CIs in this run."))
    return cap, plots.spearman_plot(res["rows"], maps, columns=cols, title=f"Imagined vectors ({name})")


# ------------------------------------------------------------------------------------------- explorer
def mao_neighbour_set(run: SavedRun, cap: int) -> dict | None:
    """Neighbour lists of the trained vectors (and the pretrained baseline row, when loadable) on their
    shared vocabulary; None when fewer than two vector sets or too few shared words."""
    sets = {m: vio.load(str(p)) for m, p in run.vectors.items()}
    for r in run.result["rows"]:
        m = str(r["model"])
        if m not in sets and not (run.path / m).is_dir():
            try:
                sets[m] = vio.load(m)  # a named pretrained set, e.g. glove-6b-50d
            except MmweError:
                run.notes.append(f"{run.label}: vectors of {m} not loadable: not in the explorer")
    if not sets:
        return None
    first = next(iter(sets.values()))
    words = [w for w in first.words if all(w in v for v in sets.values())]  # order of the first (frequency)
    k = 10
    if len(words) <= k + 1:
        run.notes.append(f"{run.label}: only {len(words)} words shared by all vector sets: no explorer")
        return None
    spaces = {m: v.subset(words).matrix for m, v in sets.items()}
    names = list(spaces)
    ref = "puretext" if "puretext" in spaces else names[0]
    trained = [m for m in names if m in run.vectors]
    base = next((m for m in names if m not in run.vectors), None)
    views = []
    for m in [t for t in trained if t != ref] or [ref]:
        other = base or next((o for o in names if o not in (ref, m)), ref)
        views.append({"label": f"{m} vs {ref} and {other}", "columns": [ref, other, m],
                      "headers": [ref, other, m], "mnno": {}})
    note = (f"Items: words shared by all {len(spaces)} vector sets, most frequent first; neighbours among "
            f"these {len(words)} words (cosine, not counting the word itself).")
    return neighbour_set(title=f"{run.path.name}: trained word vectors", names=words, spaces=spaces, views=views,
                         k=k, metric="cosine", include_self=False, cap=cap, order="first", note=note)


def explorer_sets(runs: Sequence[SavedRun], *, cap: int, label_names: list[str] | None) -> list[dict]:
    out = []
    for run in runs:
        nset = None
        if run.kind == "collell-exp1" and run.neighbours:
            nset = apply_label_names(run.neighbours, label_names) if label_names else run.neighbours
        elif run.kind == "mao":
            nset = mao_neighbour_set(run, cap)
        if nset:  # the page shows names; label ids are only kept in neighbors.json
            out.append({**{k: v for k, v in nset.items() if k != "labels"}, "run": run.label})
    return out


# ------------------------------------------------------------------------------------------- page

_STATIC = files("mmwe") / "report" / "static"
_CSS = (_STATIC / "report.css").read_text(encoding="utf-8")  # inlined into every page (no network requests)
_JS = (_STATIC / "explorer.js").read_text(encoding="utf-8")


def _json_script(obj) -> str:
    """JSON for a <script type=application/json> block ('</' escaped so it cannot end the block)."""
    return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/")


def _explorer_html(sets: list[dict]) -> str:
    if not sets:
        return ("<p class='absent'>No neighbour lists among these runs (they come from collell experiment 1 runs "
                "and from trained vectors of Mao runs).</p>\n<script type='application/json' id='explorer-data'>[]"
                "</script>\n")
    cols = "".join(f"<div class='ex-col' id='ex-col-{c}'><h3 id='ex-head-{c}'></h3><ol id='ex-list-{c}'></ol></div>"
                   for c in ("x", "y", "fx"))
    return ("<div id='explorer-app'>\n<p>Type or pick an item to see its K nearest neighbours in each space. "
            "Highlighted: neighbours shared with the last column (in the last column: shared with the first; a bar "
            "on the left: shared with the second).</p>\n<div class='controls'>"
            "<label>run<select id='ex-set'></select></label><label>view<select id='ex-view'></select></label>"
            "<label>item<input id='ex-item' list='ex-items' autocomplete='off' spellcheck='false'></label>"
            "<datalist id='ex-items'></datalist></div>\n<p class='cap-note' id='ex-cap'></p><div id='ex-status'></div>"
            f"<div id='ex-nno'></div>\n<div class='ex-cols'>{cols}</div>\n</div>\n"
            f"<script type='application/json' id='explorer-data'>{_json_script(sets)}</script>\n")


def render_page(title: str, runs: Sequence[SavedRun], figures: dict[str, list[tuple[str, str]]],
                sets: list[dict], notes: list[str]) -> str:
    e = html.escape
    body: dict[str, list[str]] = {sid: [] for sid, _ in SECTIONS}
    for run in runs:
        text, tables = run_tables(run)
        part = [f"<h3>{e(run.title)}</h3>\n<p><code>{e(str(run.path))}</code></p>\n"
                f"<div class='summary'>{e(text)}</div>\n"]
        for cap, rows, cols in tables:
            if cap:
                part.append(f"<p><b>{e(cap)}</b></p>\n")
            part.append(html_table(rows, cols) if rows else "<p class='absent'>No rows.</p>\n")
        body["tables"].append(f"<div class='run' data-kind='{e(run.kind)}'>" + "".join(part) + "</div>\n")
    for sid, figs in figures.items():
        for i, (cap, svg) in enumerate(figs):
            body[sid].append(f"<figure class='plot' id='plot-{sid}-{i}'>{svg}"
                             f"<figcaption>{e(cap)}</figcaption></figure>\n")
    absent = {"mnno": "collell experiment 1 or bridge", "wordsim": "collell experiment 2, imagined or Mao",
              "curves": "Mao (trained models with metrics.jsonl)", "throughput": "Mao (trained models)"}
    for sid, need in absent.items():
        if not body[sid]:
            body[sid].append(f"<p class='absent'>Not available: no {e(need)} run among the runs given.</p>\n")
    body["explorer"].append(_explorer_html(sets))
    body["notes"].append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>\n" if notes
                         else "<p>Nothing was skipped.</p>\n")
    nav = "".join(f"<a href='#{sid}'>{e(t)}</a>" for sid, t in SECTIONS)
    secs = "".join(f"<section id='{sid}'><h2>{e(t)}</h2>\n" + "".join(body[sid]) + "</section>\n"
                   for sid, t in SECTIONS)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>\n"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">\n"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>\n<title>{e(title)}</title>\n"
            f"<style>{_CSS}</style></head><body>\n<h1>{e(title)}</h1>\n<nav>{nav}</nav>\n{secs}"
            f"<script>{_JS}</script>\n</body></html>\n")


def render_report_markdown(title: str, runs: Sequence[SavedRun], sets: list[dict], notes: list[str]) -> str:
    secs = []
    for run in runs:
        text, tables = run_tables(run)
        secs.append(Section(f"{run.title} ({run.path})", text))
        for cap, rows, cols in tables:
            if rows:
                secs.append(Section(cap or "Results", rows=rows, columns=cols))
    md = render_markdown(title, secs)
    md += "\n## Figures and neighbour explorer\n\nIn report.html (" + (
        f"{len(sets)} neighbour set(s): " + ", ".join(s["run"] for s in sets) if sets
        else "no neighbour lists") + ").\n"
    if notes:
        md += "\n## Notes\n\n" + "".join(f"- {n}\n" for n in notes)
    return md


def build_report(run_dirs: Sequence[str | os.PathLike | SavedRun] | str | os.PathLike, out: str | os.PathLike, *,
                 title: str = "mmwe report", label_names: str | os.PathLike | None = None,
                 explorer_items: int = DEFAULT_CAP, markdown: bool = True,
                 progress: Progress | None = None) -> Path:
    """Write ``out`` (report.html) and, with ``markdown``, the same tables as Markdown beside it (``.md``).

    ``run_dirs``: run folders of any kind in ``mmwe.report.runs.KINDS``; ``label_names``: a file naming IAPR
    TC-12 label ids (line i = id i - 1); ``explorer_items``: cap on items per neighbour set built here
    (trained vectors; collell runs carry their own, capped when the run was saved). Returns ``out``.
    """
    out = check_output_path(out)
    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    names = read_label_names(label_names) if label_names is not None else None
    runs = load_runs(run_dirs)  # SavedRun objects pass through (already loaded)
    total, done = 2 * len(runs) + 1, 0

    def tick(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, what)

    figures: dict[str, list[tuple[str, str]]] = {}
    for run in runs:
        for sid, figs in run_figures(run).items():
            figures.setdefault(sid, []).extend(figs)
        tick(f"figures of {run.path.name}")
    sets = []
    for run in runs:
        sets += explorer_sets([run], cap=explorer_items, label_names=names)
        tick(f"neighbours of {run.path.name}")
    notes = [n for run in runs for n in run.notes]
    if any(s.get("capped") for s in sets):
        notes.append("The neighbour explorer is capped (see its note) to keep this file small.")
    page = render_page(title, runs, figures, sets, notes)
    with atomic_write(out, "w", encoding="utf-8") as fh:
        fh.write(page)
    if markdown:
        with atomic_write(out.with_suffix(".md"), "w", encoding="utf-8") as fh:
            fh.write(render_report_markdown(title, runs, sets, notes))
    tick("page")
    return out


def write_run_report(run_dir: str | os.PathLike) -> Path:
    """RUN_DIR/results.md (the table), report.md and report.html (tables, plots, neighbour explorer) of a Collell
    & Moens run folder written by ``mmwe.experiments.collell.save``; returns RUN_DIR."""
    run_dir = Path(run_dir)
    try:
        result = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MmweError(f"expected a run folder with results.json, got {type(exc).__name__}", path=run_dir) from None
    rows, cols = result_table(result)
    write_markdown_table(rows, cols, run_dir / "results.md")
    title = TITLES[result["experiment"]]
    write_report(run_dir, [Section("Summary", summary_text(result)), Section("Results", rows=rows, columns=cols),
                           Section("Protocol", result.get("protocol", ""))], title=title)
    build_report([run_dir], run_dir / "report.html", title=title, markdown=False)  # plots + explorer
    return run_dir


def demo_report(runs: Sequence[Path], out: str | os.PathLike, *, log: Callable[[str], None] = print,
                progress: Progress | None = None) -> Path:
    """``mmwe demo``'s pages: each Collell run's report (its summary logged), each Mao table logged, then one
    OUT/report.html of every run; returns it."""
    for run_dir in runs:
        if run_dir.name.startswith("collell"):
            write_run_report(run_dir)
            log(summary_text(load_run(run_dir).result))
        else:
            log((run_dir / "results.md").read_text(encoding="utf-8"))  # the Mao table and its findings
    return build_report(runs, Path(out) / "report.html", title="mmwe demo", progress=progress)
