"""`mmwe corpus build`, `info` and `vocab` (run in process through tests.conftest.run_cli)."""

from __future__ import annotations

import json

from tests.conftest import run_cli as main


# -- CLI ------------------------------------------------------------------------------------------------------
def test_cli_build_info_vocab(tmp_path, jsonl_sample, capsys):
    out = tmp_path / "c"
    assert main(["corpus", "build", str(jsonl_sample), "--out", str(out), "--min-words", "1",
                 "--dedup-threshold", "0.9", "--min-count", "1", "--test-fraction", "0", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["preprocess"]["min_words"] == 1 and m["preprocess"]["dedup_threshold"] == 0.9
    assert m["split_config"]["test_fraction"] == 0.0 and m["counts"]["by_split"]["test"]["images"] == 0
    assert main(["corpus", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "line_too_long" in text and "images" in text
    assert main(["corpus", "vocab", str(out), "--out", str(tmp_path / "v.tsv")]) == 0
    assert (tmp_path / "v.tsv").read_text().splitlines()[0].split("\t")[0] == "face"
    assert main(["corpus", "build", str(jsonl_sample), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["corpus", "build", "no-such-thing", "--out", str(tmp_path / "x")]) == 2
    assert "built-in corpus" in capsys.readouterr().err
