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
from pathlib import Path
from typing import Callable, Sequence

from mmwe.errors import MmweError
from mmwe.fileio import atomic_write, check_output_path
from mmwe.report import plots
from mmwe.report.explorer import DEFAULT_CAP, apply_label_names, neighbour_set, read_label_names
from mmwe.report.runs import MAO_BENCHMARKS, Run, load_runs
from mmwe.report.tables import Section, html_table, render_markdown

Progress = Callable[[int, int, str], None]  # (done, total, what)

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
SECTIONS = [("tables", "Results tables"), ("mnno", "mNNO of the cross-modal maps"),
            ("wordsim", "Word similarity: original vs mapped, and trained vectors"),
            ("curves", "Training and validation curves"), ("throughput", "Throughput"),
            ("explorer", "Neighbour explorer"), ("notes", "Notes")]
MAO_COLUMNS = [("model", "model"), ("accuracy", "triplet acc."), ("ci", "95% CI"), ("coverage", "covered"),
               ("p_vs_puretext", "p vs puretext"), ("men", "MEN"), ("simlex999", "SimLex-999"),
               ("wordsim353", "WS-353"), ("dim", "dim"), ("paper_rp10k", "paper RP10K")]
FINDING_COLUMNS = [("claim", "claim"), ("verdict", "verdict"), ("left", "left"), ("right", "right"), ("p", "p")]


# ------------------------------------------------------------------------------------------- tables
def run_tables(run: Run) -> tuple[str, list[tuple[str, list[dict], list]]]:
    """(summary text, [(caption, rows, columns)]) of a run, in its paper's layout."""
    if run.kind.startswith("collell"):
        from mmwe.experiments.collell import result_table, summary_text

        rows, cols = result_table(run.result)
        return summary_text(run.result), [("", rows, cols)]
    res = run.result
    rows = [{**r, "ci": _ci(r.get("ci_low"), r.get("ci_high")),
             "coverage": f"{r.get('covered', 'n/a')}/{r.get('triplets', 'n/a')}"} for r in res["rows"]]
    out = [("Triplet accuracy and word similarity (Spearman, cosine)", rows, MAO_COLUMNS)]
    if res.get("findings"):
        out.append(("Findings of the paper, checked at this scale", res["findings"], FINDING_COLUMNS))
    text = f"Triplets: {res.get('triplets', '?')} ({res.get('triplet_count', '?')}); corpus: {res.get('corpus', '?')}."
    return text, out


def _ci(lo, hi) -> str:
    return "n/a" if lo is None or hi is None else f"[{lo:.3f}, {hi:.3f}]"


# ------------------------------------------------------------------------------------------- figures
def run_figures(run: Run) -> dict[str, list[tuple[str, str]]]:
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


# ------------------------------------------------------------------------------------------- explorer
def mao_neighbour_set(run: Run, cap: int) -> dict | None:
    """Neighbour lists of the trained vectors (and the pretrained baseline row, when loadable) on their
    shared vocabulary; None when fewer than two vector sets or too few shared words."""
    from mmwe import vectors as vio

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


def explorer_sets(runs: Sequence[Run], *, cap: int, label_names: list[str] | None) -> list[dict]:
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
_CSS = """
body{font-family:system-ui,sans-serif;max-width:80em;margin:1.5em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}
nav a{margin-right:1em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.85em}
td,th{border:1px solid #bbb;padding:.2em .5em;text-align:right}th{background:#eee}
td:first-child,th:first-child{text-align:left}
.summary{white-space:pre-wrap;background:#f7f7f7;padding:.5em .8em;border-left:3px solid #bbb;font-size:.9em}
figure.plot{margin:1em 0}figure.plot svg{max-width:100%;height:auto}figcaption{font-size:.85em;color:#555}
.absent{color:#777;font-style:italic}
#explorer .controls{display:flex;flex-wrap:wrap;gap:1em;align-items:end;margin:.5em 0}
#explorer label{display:flex;flex-direction:column;font-size:.85em}
#explorer input{width:22em;font-size:1em;padding:.2em}
.ex-cols{display:grid;grid-template-columns:repeat(3,1fr);gap:1em}
.ex-col{border:1px solid #ccc;border-radius:4px;padding:.3em .8em}
.ex-col ol{padding-left:1.6em;margin:.3em 0}.ex-col li{padding:.05em .2em;cursor:default}
.ex-col li.link{cursor:pointer;text-decoration:underline dotted}
li.shared{background:#ffe58a;font-weight:600}li.in-x{background:#ffe58a}li.in-y{box-shadow:inset 4px 0 #2a9d8f}
li.in-x.in-y{font-weight:600}li.self{color:#888}
#ex-nno{font-size:1.05em;margin:.4em 0}#ex-status{color:#a00;min-height:1.2em}.cap-note{font-size:.85em;color:#555}
"""

_JS = r"""
(function () {
  "use strict";
  var sets = JSON.parse(document.getElementById("explorer-data").textContent);
  var root = document.getElementById("explorer-app");
  if (!sets.length || !root) { return; }
  var $ = function (id) { return document.getElementById(id); };
  var setSel = $("ex-set"), viewSel = $("ex-view"), input = $("ex-item"), opts = $("ex-items");
  var cur = {set: 0, view: 0, item: -1};
  function option(sel, value, text) { var o = document.createElement("option"); o.value = value; o.textContent = text; sel.appendChild(o); }
  sets.forEach(function (s, i) { option(setSel, i, s.run + " (" + s.title + ")"); });
  function S() { return sets[cur.set]; }
  function fillSet() {
    var s = S();
    viewSel.innerHTML = ""; opts.innerHTML = "";
    s.views.forEach(function (v, i) { option(viewSel, i, v.label); });
    s.query.forEach(function (p) { var o = document.createElement("option"); o.value = s.names[p]; opts.appendChild(o); });
    s.qindex = {}; s.query.forEach(function (p, qi) { s.qindex[p] = qi; });
    cur.view = 0;
    $("ex-cap").textContent = (s.capped
      ? "Capped: " + s.query.length + " of " + s.n_total + " items can be looked up (to keep this file small); "
        + "their neighbours were found among all " + s.n_total + "."
      : "All " + s.n_total + " items can be looked up.") + " K = " + s.k + ", " + s.metric
      + (s.include_self ? ", each item counted as its own first neighbour (as in the run's mNNO). " : ". ")
      + (s.note || "");
  }
  function find(text) {
    var s = S(), t = text.trim().toLowerCase(), i, n;
    if (!t) { return -1; }
    var q = s.query, names = s.names;
    for (i = 0; i < q.length; i++) { if (names[q[i]].toLowerCase() === t) { return i; } }
    for (i = 0; i < q.length; i++) { if (names[q[i]].toLowerCase().indexOf(t) === 0) { return i; } }
    for (i = 0; i < q.length; i++) { if (names[q[i]].toLowerCase().indexOf(t) >= 0) { return i; } }
    return -1;
  }
  function overlap(a, b) { var set = {}, n = 0; b.forEach(function (p) { set[p] = 1; }); a.forEach(function (p) { if (set[p]) { n++; } }); return n; }
  function render() {
    var s = S(), v = s.views[cur.view], qi = cur.item;
    if (qi < 0) { return; }
    var me = s.query[qi], lists = v.columns.map(function (c) { return s.spaces[c][qi]; });
    var inF = {}, inX = {}, inY = {};
    lists[2].forEach(function (p) { inF[p] = 1; }); lists[0].forEach(function (p) { inX[p] = 1; }); lists[1].forEach(function (p) { inY[p] = 1; });
    ["x", "y", "fx"].forEach(function (col, c) {
      $("ex-head-" + col).textContent = v.headers[c];
      var ol = $("ex-list-" + col); ol.innerHTML = "";
      lists[c].forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = s.names[p] + (p === me ? " (self)" : "");
        li.setAttribute("data-row", s.rows[p]);
        if (p === me) { li.classList.add("self"); }
        if (c < 2 && inF[p]) { li.classList.add("shared"); }
        if (c === 2 && inX[p]) { li.classList.add("in-x"); }
        if (c === 2 && inY[p]) { li.classList.add("in-y"); }
        if (p !== me && s.qindex[p] !== undefined) {
          li.classList.add("link");
          li.addEventListener("click", function () { select(s.qindex[p]); });
        }
        ol.appendChild(li);
      });
    });
    var k = s.k, nx = overlap(lists[0], lists[2]), ny = overlap(lists[1], lists[2]);
    var nno = $("ex-nno");
    nno.setAttribute("data-nno-x", nx / k); nno.setAttribute("data-nno-y", ny / k);
    nno.textContent = s.names[me] + ": NNO(" + v.headers[0] + ", " + v.headers[2] + ") = " + nx + "/" + k
      + " = " + (nx / k).toFixed(2) + "; NNO(" + v.headers[1] + ", " + v.headers[2] + ") = " + ny + "/" + k
      + " = " + (ny / k).toFixed(2)
      + (v.mnno && v.mnno.x_fx != null ? "  (run's mNNO: " + v.mnno.x_fx.toFixed(3) + " and " + v.mnno.y_fx.toFixed(3) + ")" : "");
  }
  function select(qi) {
    cur.item = qi; $("ex-status").textContent = "";
    var name = S().names[S().query[qi]];
    if (input.value !== name && document.activeElement !== input) { input.value = name; }
    render();
  }
  input.addEventListener("input", function () {
    var qi = find(input.value);
    if (qi >= 0) { select(qi); } else if (input.value.trim()) { $("ex-status").textContent = "No item matches \u201c" + input.value + "\u201d."; }
  });
  setSel.addEventListener("change", function () { cur.set = +setSel.value; fillSet(); input.value = ""; select(0); input.value = S().names[S().query[0]]; });
  viewSel.addEventListener("change", function () { cur.view = +viewSel.value; render(); });
  fillSet(); select(0); input.value = S().names[S().query[0]];
  root.setAttribute("data-ready", "1");
})();
"""


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


def render_page(title: str, runs: Sequence[Run], figures: dict[str, list[tuple[str, str]]],
                sets: list[dict], notes: list[str]) -> str:
    e = html.escape
    body: dict[str, list[str]] = {sid: [] for sid, _ in SECTIONS}
    for run in runs:
        text, tables = run_tables(run)
        part = [f"<h3>{e(run.title)}</h3>\n<p><code>{e(str(run.path))}</code></p>\n<div class='summary'>{e(text)}</div>\n"]
        for cap, rows, cols in tables:
            if cap:
                part.append(f"<p><b>{e(cap)}</b></p>\n")
            part.append(html_table(rows, cols) if rows else "<p class='absent'>No rows.</p>\n")
        body["tables"].append(f"<div class='run' data-kind='{e(run.kind)}'>" + "".join(part) + "</div>\n")
    for sid, figs in figures.items():
        for i, (cap, svg) in enumerate(figs):
            body[sid].append(f"<figure class='plot' id='plot-{sid}-{i}'>{svg}<figcaption>{e(cap)}</figcaption></figure>\n")
    absent = {"mnno": "collell experiment 1", "wordsim": "collell experiment 2 or Mao",
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


def render_report_markdown(title: str, runs: Sequence[Run], sets: list[dict], notes: list[str]) -> str:
    secs = []
    for run in runs:
        text, tables = run_tables(run)
        secs.append(Section(f"{run.title} ({run.path})", text))
        for cap, rows, cols in tables:
            if rows:
                secs.append(Section(cap or "Results", rows=rows, columns=cols))
    md = render_markdown(title, secs)
    md += "\n## Figures and neighbour explorer\n\nIn report.html (" + (
        f"{len(sets)} neighbour set(s): " + ", ".join(s["run"] for s in sets) if sets else "no neighbour lists") + ").\n"
    if notes:
        md += "\n## Notes\n\n" + "".join(f"- {n}\n" for n in notes)
    return md


def build_report(run_dirs: Sequence[str | os.PathLike | Run] | str | os.PathLike, out: str | os.PathLike, *,
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
    runs = load_runs(run_dirs)  # Run objects pass through (already loaded)
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
