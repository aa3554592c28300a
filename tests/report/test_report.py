"""Markdown / HTML report writer."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from mmwe.errors import MmweError
from mmwe.report import Section, format_cell, markdown_table, write_markdown_table, write_report

ROWS = [
    {"dataset": "iaprtc12", "map": "lin", "mnno": 0.51234, "n": 10, "p": None},
    {"dataset": "a|b", "map": "nn", "mnno": math.nan, "n": 3, "p": 0.04},
]


def test_markdown_table_layout_and_formatting():
    text = markdown_table(ROWS, ["dataset", ("mnno", "mNNO(X,Y)"), "n", "p"])
    lines = text.splitlines()
    assert lines[0] == "| dataset | mNNO(X,Y) | n | p |"
    assert lines[1] == "|---|---|---|---|"
    assert lines[2] == "| iaprtc12 | 0.512 | 10 | n/a |"
    assert lines[3] == "| a\\|b | n/a | 3 | 0.040 |"  # the pipe is escaped, NaN prints n/a
    assert len(lines) == 4


def test_default_columns_are_first_row_keys():
    assert markdown_table(ROWS).splitlines()[0] == "| dataset | map | mnno | n | p |"


def test_format_cell():
    assert format_cell(True) == "yes" and format_cell(1.0, 1) == "1.0" and format_cell("x") == "x"


def test_write_markdown_table_atomic(tmp_path):
    p = write_markdown_table(ROWS, ["map", "n"], tmp_path / "t.md")
    assert p.read_text() == "| map | n |\n|---|---|\n| lin | 10 |\n| nn | 3 |\n"
    assert [f.name for f in tmp_path.iterdir()] == ["t.md"]  # no temp file left behind
    with pytest.raises(MmweError, match="does not exist"):
        write_markdown_table(ROWS, ["map"], tmp_path / "missing" / "t.md")


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.tags = [], []

        self.in_td = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.in_td = tag == "td"

    def handle_endtag(self, tag):
        self.in_td = False

    def handle_data(self, data):
        if self.in_td:
            self.cells.append(data)


def test_write_report_md_and_html(tmp_path):
    secs = [Section("Exp 1", "Some <b>text</b>.", ROWS, ["dataset", "mnno"]),
            {"title": "Notes", "text": "only prose"}]
    md, page = write_report(tmp_path, secs, title="Collell")
    m = md.read_text()
    assert m.startswith("# Collell\n") and "## Exp 1" in m and "| iaprtc12 | 0.512 |" in m and "## Notes" in m
    h = page.read_text()
    assert "&lt;b&gt;text&lt;/b&gt;" in h  # prose is escaped, not interpreted
    p = _Collect()
    p.feed(h)
    assert p.cells == ["iaprtc12", "0.512", "a|b", "n/a"]
    assert p.tags.count("table") == 1


def test_write_report_errors(tmp_path):
    with pytest.raises(MmweError, match="existing run folder"):
        write_report(tmp_path / "nope", [])
    with pytest.raises(MmweError, match="report section"):
        write_report(tmp_path, [{"heading": "x"}])


# -- neighbour sets (the explorer's data) -------------------------------------------------------------------
from mmwe.datasets.iaprtc12 import iapr_item_names, load_iaprtc12  # noqa: E402
from mmwe.neighbor_sets import neighbour_set, read_neighbour_set, write_neighbour_set  # noqa: E402
from mmwe.report.explorer import apply_label_names, read_label_names  # noqa: E402


def _toy_spaces(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    return {"x": X, "y": rng.normal(size=(n, 4)), "fx": X @ rng.normal(size=(5, 4)) + 0.5 * rng.normal(size=(n, 4))}


@pytest.mark.parametrize("include_self", [False, True])
def test_neighbour_set_lists_are_the_knn_of_all_rows(include_self, tmp_path):
    from mmwe.neighbors import knn

    spaces = _toy_spaces()
    names = [f"item{i}" for i in range(60)]
    view = {"label": "v", "columns": ["x", "y", "fx"], "headers": ["X", "Y", "f(X)"], "mnno": {}}
    s = neighbour_set(title="toy", names=names, spaces=spaces, views=[view], k=4, include_self=include_self,
                      cap=25, seed=3)
    assert s["capped"] and len(s["query"]) == 25 and s["n_total"] == 60
    rows = np.array(s["rows"])
    assert (np.diff(rows) > 0).all() and [names[r] for r in rows] == s["names"]
    for name, X in spaces.items():
        want = knn(X, 4, metric="cosine", include_self=include_self)  # searched among all 60 rows
        for qi, p in enumerate(s["query"]):
            assert rows[s["spaces"][name][qi]].tolist() == want[rows[p]].tolist()
    if include_self:
        assert all(s["spaces"]["x"][qi][0] == p for qi, p in enumerate(s["query"]))
    again = read_neighbour_set(write_neighbour_set(s, tmp_path / "nb.json"))
    assert again == s


def test_neighbour_set_uncapped_mean_nno_is_the_mnno():
    from mmwe.metrics.overlap import mnno

    spaces = _toy_spaces(n=40)
    s = neighbour_set(title="toy", names=[str(i) for i in range(40)], spaces=spaces, views=[], k=5,
                      include_self=True, cap=500)
    assert not s["capped"] and len(s["query"]) == 40
    nno = [len(set(a) & set(b)) / 5 for a, b in zip(s["spaces"]["x"], s["spaces"]["fx"])]
    assert np.mean(nno) == pytest.approx(mnno(spaces["x"], spaces["fx"], k=5, include_self=True))


def test_neighbour_set_errors():
    spaces = _toy_spaces(n=20)
    with pytest.raises(MmweError, match="expected 19 rows in space"):
        neighbour_set(title="t", names=["a"] * 19, spaces=spaces, views=[], k=3)
    with pytest.raises(MmweError, match="view columns among the spaces"):
        neighbour_set(title="t", names=["a"] * 20, spaces=spaces, views=[{"columns": ["x", "z", "fx"]}], k=3)
    with pytest.raises(MmweError, match="explorer cap of at least 1"):
        neighbour_set(title="t", names=["a"] * 20, spaces=spaces, views=[], k=3, cap=0)


def test_label_names(tmp_path):
    labels = [[3, 0], [], [1]]
    assert iapr_item_names(labels) == ["#1: 0 3", "#2: (no labels)", "#3: 1"]
    nset = {"rows": [0, 2], "labels": [[0, 3], [1]], "names": ["#1: 0 3", "#3: 1"]}
    (tmp_path / "names.txt").write_text("sky\ntree\nman\nwall\n")
    named = apply_label_names(nset, read_label_names(tmp_path / "names.txt"))
    assert named["names"] == ["#1: sky, wall", "#3: tree"] and nset["names"][0] == "#1: 0 3"
    with pytest.raises(MmweError, match="label name for every label id up to 3, got 2 names"):
        apply_label_names(nset, ["sky", "tree"])
    (tmp_path / "bad.txt").write_text("sky\n\nman\n")
    with pytest.raises(MmweError, match=r"bad.txt:2: expected one label name per line"):
        read_label_names(tmp_path / "bad.txt")
    (tmp_path / "nb.json").write_text('{"format": "other"}')
    with pytest.raises(MmweError, match="format 'mmwe-neighbors'"):
        read_neighbour_set(tmp_path / "nb.json")


# -- run folders --------------------------------------------------------------------------------------------
def test_load_run_errors(tmp_path):
    from mmwe.report.runs import load_run, load_runs

    with pytest.raises(MmweError, match="expected a run folder, got nothing there"):
        load_run(tmp_path / "nope")
    with pytest.raises(MmweError, match="expected results.json in the run folder"):
        load_run(tmp_path)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(MmweError, match="expected JSON, got a parse error"):
        load_run(tmp_path)
    (tmp_path / "results.json").write_text('{"rows": [{"x": 1}]}')
    with pytest.raises(MmweError, match="collell reproduction .* or of the Mao et al"):
        load_run(tmp_path)
    with pytest.raises(MmweError, match="at least one run folder"):
        load_runs([])


def test_plots_are_inline_svg():
    from mmwe.report import plots

    rows = [{"dataset": "d", "direction": "I->T", "map": "lin", "mnno_x_fx": 0.3, "mnno_y_fx": 0.1, "mnno_x_y": 0.2}]
    a, b = plots.mnno_plot(rows, 0.05, title="t"), plots.mnno_plot(rows, 0.05, title="t")
    assert a.startswith("<svg ") and "<?xml" not in a and "DOCTYPE" not in a and a.rstrip().endswith("</svg>")
    ids = lambda s: set(__import__("re").findall(r'id="([^"]+)"', s))  # noqa: E731
    assert ids(a) and not ids(a) & ids(b)  # two figures on one page: no id clash
    curves = {"A": [{"step": 2, "loss": 3.0, "tokens_per_s": 10.0}, {"epoch": 0, "step": 2, "val_loss": 2.5}]}
    assert "<svg " in plots.curves_plot(curves, title="c")
    assert "<svg " in plots.throughput_plot({"A": 10.0}, curves, title="t")


# -- real runs: collell exp 1 (IAPR TC-12), exp 2 and a trained Mao run ---------------------------------------
from _report_runs import EXP1_ARGS, report_runs  # noqa: E402


@pytest.fixture(scope="session")
def runs(tmp_path_factory, iapr_dir):
    return report_runs(tmp_path_factory.mktemp("report-runs"), iapr_dir)


def test_collell_neighbours_are_the_runs_knn(runs, iapr_dir):
    """neighbors.json of a real run: X, Y lists = mmwe.neighbors on the CSVs; f(X) lists = kNN of the same
    out-of-fold predictions recomputed with the run's (seeded) map config."""
    from mmwe.experiments import collell as C
    from mmwe.maps import fit_map
    from mmwe.neighbors import knn

    s = json.loads((runs["exp1"] / "neighbors.json").read_text())
    res = json.loads((runs["exp1"] / "results.json").read_text())
    assert s["capped"] and len(s["query"]) == 500 and s["n_total"] == 1962 and s["k"] == 10 and s["include_self"]
    data = load_iaprtc12(iapr_dir)
    rows, q = np.array(s["rows"]), np.array(s["rows"])[s["query"]]
    for space, X in (("image", data.image), ("text", data.text)):
        want = knn(X, 10, metric="cosine", include_self=True)[q]
        assert (rows[np.array(s["spaces"][space])] == want).all(), space
    cfg = C.CollellConfig(data_dir=str(iapr_dir), epochs=int(EXP1_ARGS[EXP1_ARGS.index("--epochs") + 1]))
    folds = C.kfold_indices(1962, cfg.folds, cfg.seed)
    with C.thread_limit(cfg.threads):
        F = C.out_of_fold_predictions(data.image, data.text, folds, lambda a, b, c, f: fit_map(
            a, b, C.map_config(data, "I->T", "lin", cfg, f)).predict(c))
    want = knn(F, 10, metric="cosine", include_self=True)[q]
    got = rows[np.array(s["spaces"]["f I->T lin"])]
    assert (got == want).all()  # same seeds, one torch thread: the maps and their predictions are reproducible
    view = next(v for v in s["views"] if v["label"] == "I->T lin")
    assert view["columns"] == ["image", "text", "f I->T lin"]
    assert view["mnno"]["x_fx"] == pytest.approx(next(r["mnno_x_fx"] for r in res["rows"]
                                                      if (r["direction"], r["map"]) == ("I->T", "lin")))
    assert s["names"][s["query"][0]] == iapr_item_names(data.labels)[q[0]]
    assert "_explorer" not in res  # in-memory only


def test_build_report_on_every_kind_of_run(runs, tmp_path):
    from mmwe.report import build_report

    seen = []
    out = build_report([runs["exp1"], runs["exp2"], runs["mao"]], tmp_path / "report.html",
                       progress=lambda d, t, w: seen.append((d, t)))
    page = out.read_text()
    assert seen[-1][0] == seen[-1][1] == 7
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing to fetch
    for sid in ("tables", "mnno", "wordsim", "curves", "throughput", "explorer", "notes"):
        assert f"<section id='{sid}'>" in page
    assert page.count("<figure class='plot'") == 5 and "Not available" not in page
    p = _Collect()
    p.feed(page)
    assert p.tags.count("table") == 4  # exp 1, exp 2 (Table 3 layout), mao rows, mao findings
    sets = json.loads(re.search(r"id='explorer-data'>(.*?)</script>", page, re.S).group(1))
    assert [s["run"].split(":")[0] for s in sets] == ["collell-exp1 (iaprtc12)", "mao"]
    assert "labels" not in sets[0] and sets[0]["capped"] and not sets[1]["capped"]
    assert out.stat().st_size < 600_000
    md = (tmp_path / "report.md").read_text()
    assert "| iaprtc12 | I->T | lin |" in md and "| puretext |" in md and "| glove-6b-50d | cosine | original |" in md


def test_mao_explorer_lists_are_the_knn_of_the_vectors(runs, tmp_path):
    from mmwe.neighbors import knn
    from mmwe.report.page import mao_neighbour_set
    from mmwe.report.runs import load_run
    from mmwe.vectors import load

    s = mao_neighbour_set(load_run(runs["mao"]), cap=500)
    vecs = {m: load(str(runs["mao"] / m / "vectors.txt")) for m in ("puretext", "A", "C")}
    words = s["names"]
    assert words == [w for w in vecs["puretext"].words if w in vecs["A"] and w in vecs["C"]]
    for m, v in vecs.items():
        want = knn(v.subset(words).matrix, 10, metric="cosine")
        assert s["spaces"][m] == want.tolist()
    assert [v["columns"] for v in s["views"]] == [["puretext", "C", "A"], ["puretext", "A", "C"]]


def test_build_report_notes_what_is_absent(runs, tmp_path):
    import shutil

    from mmwe.report import build_report

    bare = tmp_path / "exp1-old"
    shutil.copytree(runs["exp1"], bare)
    (bare / "neighbors.json").unlink()
    page = build_report([bare], tmp_path / "r.html").read_text()
    assert page.count("Not available") == 3 and "no neighbors.json" in page
    assert "No neighbour lists among these runs" in page


def test_cli_report_quiet_version_and_errors(runs, tmp_path, capsys):
    from _report_runs import _cli

    assert _cli(["--quiet", "report", str(runs["mao"]), "--out", str(tmp_path / "m.html")]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and cap.out.startswith(f"wrote {tmp_path / 'm.html'}") and (tmp_path / "m.md").is_file()
    assert _cli(["--version"]) == 0 and capsys.readouterr().out.strip() == "mmwe 0.1.0"
    assert _cli(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mmwe: error: ") and err.count("\n") == 1 and "nope" in err
    assert _cli(["report", str(runs["mao"]), "--out", str(tmp_path / "no" / "x.html")]) == 0  # --out: as mkdir -p
    assert (tmp_path / "no" / "x.html").is_file()
    capsys.readouterr()
    assert _cli(["--help"]) == 0
    out = capsys.readouterr().out
    for panel in ("Corpus and features", "Training", "Vectors and evaluation", "Maps and neighbours",
                  "Reproductions and reports"):
        assert panel in out


# -- issue 10 / 11 kinds: bridge and imagined runs (real data: ImageNet concepts, classifier rows as visual words) --
@pytest.fixture(scope="module")
def new_kinds(tmp_path_factory):
    from mmwe.datasets.imagenet import class_lemma_vectors
    from mmwe.experiments import bridge, imagined

    base = tmp_path_factory.mktemp("kinds")
    b = bridge.run(bridge.BridgeConfig(dataset="imagenet", epochs=1, maps=("lin",), directions=("T->I",),
                                       losses=("mse", "procrustes"), n_boot=50))
    i = imagined.run(imagined.ImaginedConfig(benchmarks=("men", "simlex999", "rg65"), epochs=1, ci_boot=20),
                     visual={"imagenet-fc": class_lemma_vectors()})
    return bridge.save(b, base / "bridge"), imagined.save(i, base / "imagined")


def test_report_reads_bridge_and_imagined_runs(new_kinds, tmp_path):
    from mmwe.report import build_report, result_table, summary_text, write_run_report
    from mmwe.report.runs import KINDS, load_run

    bdir, idir = new_kinds
    b, i = load_run(bdir), load_run(idir)
    assert (b.kind, i.kind) == ("collell-bridge", "collell-imagined") and {b.kind, i.kind} <= set(KINDS)
    rows, cols = result_table(b.result)
    assert [r["loss"] for r in rows] == ["mse", "procrustes"] and ("gap_ci", "gap 95% CI") in cols
    assert rows[0]["gap_ci"].startswith("[") and "goal (above, with R@10" in summary_text(b.result)
    rows, cols = result_table(i.result)
    assert cols[:3] == ["embedding", "similarity", "vectors"] and "men" in cols
    assert [r["vectors"] for r in rows][:3] == ["pairs scored / visual / imagined", "visual (original)", "text (GloVe)"]
    assert re.fullmatch(r"\d+ / \d+ / 3000", rows[0]["men"]) and "Finding 1 (imagined > visual)" in summary_text(
        i.result)
    out = build_report([bdir, idir], tmp_path / "r.html")
    page = out.read_text(encoding="utf-8")
    assert "data-kind='collell-bridge'" in page and "data-kind='collell-imagined'" in page
    assert "id='plot-mnno-0'" in page and "id='plot-mnno-1'" in page  # scatter with the diagonal + retrieval
    assert "id='plot-wordsim-0'" in page and "mNNO(Y, f(X))" in page and "untrained_lin" in page
    md = out.with_suffix(".md").read_text(encoding="utf-8")
    assert "Collell, Zhang & Moens (2017): imagined visual word vectors" in md and "future work: maps" in md
    for d in (bdir, idir):
        write_run_report(d)
        assert (d / "results.md").is_file() and (d / "report.html").is_file()
