"""Real run folders for the report tests (test_report.py, test_report_browser.py), built once per process.

* ``exp1``: `mmwe reproduce collell --exp 1` on the real IAPR TC-12 data, 2 epochs (through the CLI).
* ``exp2``: collell experiment 2 (untrained maps on GloVe and the ImageNet classifier rows), 50 bootstrap draws.
* ``mao``: the Mao et al. reproduction trained for 3 epochs on a tiny synthetic corpus (real training, real
  metrics.jsonl and vectors.txt) with a triplet file over its words.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli as _cli
from tests.conftest import tiny_corpus

_CACHE: dict[str, dict[str, Path]] = {}
EXP1_ARGS = ["--exp", "1", "--dataset", "iaprtc12", "--epochs", "2"]  # the map config the fixture run used


def report_runs(base: Path, iapr_dir: Path) -> dict[str, Path]:
    """{"exp1", "exp2", "mao"} -> run folder under ``base`` (built on the first call only)."""
    if "runs" in _CACHE:
        return _CACHE["runs"]
    from mmwe.experiments import collell as C
    from mmwe.experiments import mao
    from mmwe.report import write_run_report

    runs = {"exp1": base / "iapr-exp1", "exp2": base / "exp2", "mao": base / "mao"}
    assert _cli(["reproduce", "collell", *EXP1_ARGS, "--data-dir", str(iapr_dir), "--out", str(runs["exp1"])]) == 0
    write_run_report(C.save(C.run(C.CollellConfig(exp=2, ci_boot=50)), runs["exp2"]))
    corpus = tiny_corpus(base / "corpus", n_img=60)
    (base / "triplets.tsv").write_text("".join(f"w{i}\tw{i + 1}\tw{(i + 9) % 20}\n" for i in range(19)))
    small = dict(emb_dim=8, hidden=16, proj=8, negatives=10, batch_size=16, min_count=1, epochs=3, patience=3,
                 lr=0.5, device="cpu", checkpoint_every=0, threads=1, log_every=2)
    cfg = mao.MaoConfig(variants=("puretext", "A", "C"), triplets=str(base / "triplets.tsv"), baseline=None,
                        train_overrides=small)
    mao.run(corpus, corpus / "features" / "efficientnet-lite0.npy", runs["mao"], cfg, log=lambda _m: None)
    _CACHE["runs"] = runs
    return runs
