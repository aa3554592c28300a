"""`mmwe demo`, the main job: every reproduction on the real built-in data, then one report (Mao skipped here;
its pipeline is tested in test_mao.py and the report's Mao sections in test_report.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lm.test_train import run_cli

IAPR = Path(__file__).resolve().parents[3] / "shared" / "data" / "iaprtc12"


@pytest.mark.skipif(not IAPR.is_dir(), reason="../shared/data/iaprtc12 not beside the checkout")
def test_demo_runs_every_collell_reproduction_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "demo"
    rc = run_cli(["--quiet", "demo", "--out", str(out), "--skip-mao", "--skip-words", "--collell-epochs", "1",
                  "--iapr-dir", str(IAPR)])
    assert rc == 0
    stdout = capsys.readouterr().out
    assert f"report: {(out / 'report.html').resolve()}" in stdout
    for run in ("collell-exp1-imagenet", "collell-exp1-iaprtc12", "collell-exp2"):
        assert (out / run / "results.json").is_file() and (out / run / "results.md").is_file(), run
    rows = json.loads((out / "collell-exp1-iaprtc12" / "results.json").read_text())["rows"]
    assert {(r["direction"], r["map"]) for r in rows} == {("I->T", "lin"), ("I->T", "nn"), ("T->I", "lin"),
                                                          ("T->I", "nn")}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Neighbour explorer" in html and html.count("<svg") >= 3 and (out / "report.md").is_file()
