"""Real run folders for the report tests (test_report.py, test_report_browser.py), built once per process.

* ``exp1``: `mmwe reproduce collell --exp 1` on the real IAPR TC-12 data, 2 epochs (through the CLI).
* ``exp2``: collell experiment 2 (untrained maps on GloVe and the ImageNet classifier rows), 50 bootstrap draws.
* ``mao``: the Mao et al. reproduction trained for 3 epochs on a tiny synthetic corpus (real training, real
  metrics.jsonl and vectors.txt) with a triplet file over its words.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

_CACHE: dict[str, dict[str, Path]] = {}
WORDS = [f"w{i}" for i in range(20)]
EXP1_ARGS = ["--exp", "1", "--dataset", "iaprtc12", "--epochs", "2"]  # the map config the fixture run used


def _cli(argv: list[str]) -> int:
    from mmwe.cli import main

    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _tiny_corpus(d: Path, n_img: int = 60, seed: int = 0) -> Path:
    """A corpus folder in the documented layout: runs of consecutive words, so the next word is predictable."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    (d / "shards").mkdir(parents=True)
    imgs = [f"img{i}" for i in range(n_img)]

    def sentence() -> str:
        start, n = rng.integers(0, len(WORDS)), rng.integers(2, 8)
        return " ".join(WORDS[(start + j) % len(WORDS)] for j in range(n))

    sentences = [[sentence() for _ in range(3)] for _ in imgs]
    split = ["val" if i % 8 == 0 else "train" for i in range(n_img)]
    pq.write_table(pa.table({"image": imgs, "image_path": [None] * n_img, "sentences": sentences, "split": split}),
                   d / "shards" / "part-00000.parquet")
    (d / "manifest.json").write_text(json.dumps({"format": "mmwe-corpus",
                                                 "shards": [{"file": "shards/part-00000.parquet", "records": n_img}]}))
    (d / "features").mkdir()
    np.save(d / "features" / "efficientnet-lite0.npy", rng.standard_normal((n_img, 6)).astype(np.float32))
    (d / "features" / "efficientnet-lite0.keys.txt").write_text("\n".join(imgs) + "\n")
    return d


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
    corpus = _tiny_corpus(base / "corpus")
    (base / "triplets.tsv").write_text("".join(f"w{i}\tw{i + 1}\tw{(i + 9) % 20}\n" for i in range(19)))
    small = dict(emb_dim=8, hidden=16, proj=8, negatives=10, batch_size=16, min_count=1, epochs=3, patience=3,
                 lr=0.5, device="cpu", checkpoint_every=0, threads=1, log_every=2)
    cfg = mao.MaoConfig(variants=("puretext", "A", "C"), triplets=str(base / "triplets.tsv"), baseline=None,
                        train_overrides=small)
    mao.run(corpus, corpus / "features" / "efficientnet-lite0.npy", runs["mao"], cfg, log=lambda _m: None)
    _CACHE["runs"] = runs
    return runs
