"""mmwe.report end to end on real runs (Collell experiments 1 and 2 on IAPR TC-12, a trained Mao run, bridge and
imagined runs): the explorer's lists are the runs' k-NN, every kind of run is reported, what is absent is said,
and `mmwe report`."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _report_runs import EXP1_ARGS, report_runs

from mmwe.datasets.iaprtc12 import iapr_item_names, load_iaprtc12
from tests.report.conftest import _Collect

# -- real runs: collell exp 1 (IAPR TC-12), exp 2 and a trained Mao run ---------------------------------------


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
