"""`mmwe reproduce collell --losses`: repeatable, or comma-separated (split in the CLI; the library gets a tuple)."""

from __future__ import annotations

import pytest

from mmwe.cli import main


@pytest.mark.parametrize("argv", [["--losses", "mse,procrustes"], ["--losses", "mse", "--losses", "procrustes"],
                                  ["--losses", " mse, ,procrustes "], ["--set", "losses=mse,procrustes"]])
def test_losses_reach_the_library_as_a_tuple(argv, monkeypatch):
    import mmwe.experiments.collell_runs as runs

    got = []

    def catch(run):
        got.append(run)
        raise SystemExit(0)

    monkeypatch.setattr(runs, "collell_experiment", catch)
    assert main(["reproduce", "collell", "--exp", "bridge", *argv]) == 0
    assert got[0].losses == ("mse", "procrustes") and got[0].exp == "bridge"
