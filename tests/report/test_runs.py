"""mmwe.report.runs: run folders it refuses."""

from __future__ import annotations

import pytest

from mmwe.errors import MmweError


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
