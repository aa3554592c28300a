"""`mmwe demo`: the main job on built-in data (what `make demo` runs).

1. Collell & Moens experiment 1 on the ImageNet-1k concepts (GloVe-6B-50d vs EfficientNet-Lite0 classifier rows),
2. the same on IAPR TC-12 when its CSVs are found (``--iapr-dir``, default ``../shared/data/iaprtc12``),
3. Collell & Moens experiment 2 (untrained maps, word similarity),
4. Mao et al. on the built-in OpenMoji corpus (five models + GloVe, triplets and word similarity),
5. one HTML report over all of them: ``OUT/report.html``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Optional

import typer

from mmwe.cli import app, bar_callback, progress_bar, quiet


def _default_iapr_dir() -> Path:
    return Path(os.environ.get("MMWE_IAPR_DIR", "../shared/data/iaprtc12"))


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Folder for every run and the report."),
    iapr_dir: Optional[Path] = typer.Option(None, "--iapr-dir", help="IAPR TC-12 CSV folder (default: "
                                            "$MMWE_IAPR_DIR or ../shared/data/iaprtc12; skipped when absent)."),
    skip_mao: bool = typer.Option(False, "--skip-mao", help="Leave out the Mao et al. training runs."),
    collell_epochs: Optional[int] = typer.Option(None, "--collell-epochs", help="Map training epochs "
                                                 "(default: the authors' 50)."),
) -> None:
    """Run the reproductions on built-in data and write OUT/report.html."""
    from mmwe.experiments import collell as C
    from mmwe.experiments import mao as M

    out.mkdir(parents=True, exist_ok=True)
    iapr = iapr_dir or _default_iapr_dir()
    jobs: list[tuple[str, int, str]] = [("collell-exp1-imagenet", 1, "imagenet")]
    if iapr_dir is not None or iapr.is_dir():
        jobs.append(("collell-exp1-iaprtc12", 1, "iaprtc12"))
    else:
        typer.echo(f"[demo] IAPR TC-12 not found at {iapr}: skipping that dataset", err=True)
    jobs.append(("collell-exp2", 2, "imagenet"))
    say = (lambda m: None) if quiet() else (lambda m: typer.echo(m, err=True))
    runs: list[Path] = []
    t0 = time.perf_counter()
    for name, exp, dataset in jobs:
        say(f"[demo] {name} ...")
        cfg = C.CollellConfig(dataset=dataset, data_dir=str(iapr) if dataset == "iaprtc12" else None,
                              epochs=collell_epochs, explorer_items=1000).validate()  # all 983 concepts
        with progress_bar() as bar:
            result = (C.run_exp1 if exp == 1 else C.run_exp2)(cfg, bar_callback(bar))
        C.save_run(result, out / name)
        say(C.summary_text(result))
        runs.append(out / name)
    if not skip_mao:
        say("[demo] mao (five language models on the openmoji corpus) ...")
        with progress_bar() as bar:
            corpus, feats = M.prepare_openmoji(out, say, progress=bar_callback(bar))
        cfg = M.MaoConfig(train_overrides=dict(M.SMALL_CORPUS_OVERRIDES, progress=not quiet()))
        result = M.run(corpus, feats, out / "mao", cfg, log=say)
        say(M.markdown(result))
        runs.append(out / "mao")
    with progress_bar() as bar:
        report = _write_report(runs, out / "report.html", bar_callback(bar))
    typer.echo(f"[demo] done in {time.perf_counter() - t0:.0f} s")
    typer.echo(f"report: {report}")


def _write_report(runs: list[Path], path: Path, progress) -> Path:
    from mmwe.report import build_report

    build_report([str(r) for r in runs], str(path), title="mmwe demo", progress=progress)
    return path.resolve()
