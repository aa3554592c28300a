"""mmwe.report.commands: what the commands print, as data (lines and tables), from known inputs."""

from __future__ import annotations

from types import SimpleNamespace

from mmwe.report.commands import (
    Table,
    classify_printout,
    download_line,
    features_printout,
    manifest_printout,
    map_printout,
    rows_printout,
    skipped_lines,
    train_printout,
    vectors_printout,
    visual_words_printout,
)

MANIFEST = {
    "sources": [{"source": "a.jsonl", "reader": "jsonl"}, {"source": "openmoji", "reader": "openmoji"}],
    "counts": {"images": 1200, "sentences": 3000, "tokens": 45000,
               "by_split": {"train": {"images": 1000, "sentences": 2500, "tokens": 40000},
                            "val": {"images": 200, "sentences": 500, "tokens": 5000}},
               "vocabulary": {"words": 1234, "min_count": 5, "distinct_words_train": 5000, "distinct_words_all": 5600}},
    "preprocess": {"min_words": 4, "dedup_threshold": 0.8, "max_sentence_chars": 10000},
    "split_config": {"val_fraction": 0.05, "test_fraction": 0.0, "seed": 3},
    "removed": {"records_read": 1300, "sentences_read": 3500, "bad_records": {"no_text": 7},
                "dropped_records": {}, "removed_sentences": {"too_short": 400, "duplicate": 100}},
}


def test_manifest_printout_lines_and_tables_in_order():
    p = manifest_printout(MANIFEST, "corp")
    assert p[0] == "corp: a.jsonl (jsonl), openmoji (openmoji)"
    assert p[1] == Table("records", ["split", "images", "sentences", "tokens"],
                         [("train", "1,000", "2,500", "40,000"), ("val", "200", "500", "5,000"),
                          ("all", "1,200", "3,000", "45,000")])
    assert p[2] == "vocabulary: 1,234 words with count >= 5 in train (5,000 distinct in train, 5,600 in all)"
    assert p[3] == ("pre-processing: min_words=4 dedup_threshold=0.8 max_sentence_chars=10000; split: val=0.05 "
                    "test=0.0 seed=3")
    assert p[4] == Table("removed (1,300 records read, 3,500 sentences)", ["what", "reason", "count"],
                         [("bad records", "no_text", "7"), ("removed sentences", "too_short", "400"),
                          ("removed sentences", "duplicate", "100")])
    assert len(p) == 5


def test_download_line():
    s = {"downloaded": 1500, "urls_tried": 2000, "failed": {"http_404": 400, "timeout": 100}, "bad_rows": {}}
    assert download_line(s, "d") == ("d/shards: 1,500 of 2,000 URLs downloaded; failed: http_404=400, timeout=100; "
                                     "bad rows: none; next: mmwe corpus build d/shards")


def test_features_printout_names_the_fraction_by_binarisation():
    s = {"model": "mobilenetv2", "backend": "onnx", "binarized": True, "images": 9, "dim": 1280, "skipped_total": 1,
         "skipped": {"unreadable": 1}, "fraction_positive": 0.25, "images_per_second": 3.5, "output": "f.npy"}
    (t,) = features_printout(s)
    assert t.title == "mobilenetv2 features (onnx)" and not t.header
    assert t.rows == [("images with features", 9), ("dimensions", 1280), ("skipped", "1  {'unreadable': 1}"),
                      ("fraction of ones", 0.25), ("images / s", 3.5), ("output", "f.npy")]
    assert features_printout({**s, "binarized": False, "skipped": {}})[0].rows[2:4] == [
        ("skipped", "1  "), ("fraction > 0", 0.25)]


def test_train_printout_formats_floats_and_keeps_missing_metrics():
    (t,) = train_printout({"val_perplexity": 123.4567, "epochs": 3, "tokens_per_s": 12345.0},
                          SimpleNamespace(model="B", share=False), "runs/x")
    assert t.title == "mmwe train: model B (no sharing) -> runs/x"
    rows = dict(t.rows)
    assert rows["val_perplexity"] == "123.457" and rows["epochs"] == 3 and rows["tokens_per_s"] == "12,345.000"
    assert rows["val_loss"] is None and len(t.rows) == 13


def test_map_printout():
    s = {"trained": False, "in_dim": 4, "out_dim": 3, "rows": 10, "epochs_run": 0, "best_epoch": None,
         "init_val_loss": 0.123456, "best_val_loss": None, "final_train_loss": None, "stopped_early": None,
         "out": "m.pt", "config": {"model": "nn", "loss": "mse", "normalize": ""}}
    (t,) = map_printout(s)
    assert t.title == "untrained map nn (4 -> 3), loss mse"
    assert dict(t.rows) == {"rows": 10, "normalize": "none", "epochs_run": 0, "best_epoch": None,
                            "init_val_loss": "0.1235", "best_val_loss": None, "final_train_loss": None,
                            "stopped_early": None, "out": "m.pt"}


def test_vectors_and_visual_words_printouts():
    report = {"path": "v.txt", "format": "word2vec", "words": 2, "first_words": ["a", "b"],
              "norms": {"min": 1.0, "max": 2.5}}
    assert vectors_printout(report, "v.txt")[0].rows == [("path", "v.txt"), ("format", "word2vec"), ("words", "2"),
                                                         ("first_words", "a b"), ("norms", "min=1  max=2.5")]
    assert visual_words_printout({"words_kept": 3, "per_source": {"x": 1}}, "o.txt")[0].rows == [("words_kept", 3)]


def test_rows_printout_uses_the_report_cells():
    (t,) = rows_printout([{"a": 0.12345, "b": None}, {"a": True}], ["a", ("b", "B!")])
    assert t.title is None and list(t.columns) == ["a", "B!"] and t.rows == [["0.123", "n/a"], ["yes", "n/a"]]


def test_classify_printout_and_skipped_lines():
    result = {"img/cat.png": [{"class": "tabby", "p": 0.8123}, {"class": "lynx", "p": 0.1}], "dog.svg": []}
    assert classify_printout(result) == ["cat.png: tabby 0.81 | lynx 0.10", "dog.svg: "]
    s = {"skipped_examples": [{"key": "a", "error": "cannot decode"}, {"key": "b", "error": "too large"}]}
    assert skipped_lines(s) == "skipped a: cannot decode\nskipped b: too large\n"
    assert skipped_lines({"skipped_examples": []}) == ""


def test_collell_printout_is_the_table_the_summary_and_what_was_written(monkeypatch):
    import mmwe.report.commands as commands

    monkeypatch.setattr(commands, "result_table", lambda r: (r["rows"], ["a"]))
    monkeypatch.setattr(commands, "summary_text", lambda r: "the finding holds.")
    result = {"rows": [{"a": 0.5}]}
    assert commands.collell_printout(result, None) == [Table(None, ["a"], [["0.500"]]), "the finding holds."]
    assert commands.collell_printout(result, "runs/x")[2:] == [
        "wrote runs/x/results.json, results.md, report.md, report.html"]
