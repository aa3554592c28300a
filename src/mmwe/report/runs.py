"""Reading run folders for the report: what kind of run each is and what it holds.

Kinds (told apart by RUN/results.json):

* ``collell-exp1`` / ``collell-exp2`` / ``collell-bridge`` / ``collell-imagined``: ``mmwe reproduce collell
  [--exp 2|bridge|imagined] --out RUN`` (``"experiment"`` key); exp 1 runs may also hold RUN/neighbors.json (the
  explorer's neighbour lists).
* ``mao-study``: ``mmwe reproduce mao --seeds N`` (``"experiment": "mao-study"``): rows over seeds, findings with
  the crossed test, the learning curve (``"curve"``); the models' folders are not read.
* ``mao``: the Mao et al. reproduction: ``"rows"`` with ``"model"`` and ``"accuracy"``, and per trained
  variant a folder RUN/<model>/ with metrics.jsonl (curves), metrics.json (summary) and vectors.txt.

Whatever a run lacks is listed in ``SavedRun.notes`` and skipped by the report, never an error.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from mmwe.errors import MmweError
from mmwe.neighbor_sets import read_neighbour_set

KINDS = ("collell-exp1", "collell-exp2", "collell-bridge", "collell-imagined", "mao", "mao-study")
MAO_BENCHMARKS = ("men", "simlex999", "wordsim353")
TITLES = {"collell-exp1": "Collell & Moens (2018), experiment 1: mNNO of cross-modal maps",
          "collell-exp2": "Collell & Moens (2018), experiment 2: untrained maps",
          "collell-bridge": "Collell & Moens (2018), future work: maps that try to bridge the modalities",
          "collell-imagined": "Collell, Zhang & Moens (2017): imagined visual word vectors",
          "mao": "Mao et al. (2016): multimodal word embeddings from image sentences",
          "mao-study": "Mao et al. (2016) with several seeds: tuned on validation perplexity, a learning curve"}


@dataclass
class SavedRun:
    """One run folder as the report sees it."""

    path: Path  # the run folder
    kind: str  # one of KINDS
    result: dict  # RUN/results.json
    neighbours: dict | None = None  # RUN/neighbors.json (collell exp 1)
    curves: dict[str, list[dict]] = field(default_factory=dict)  # model -> metrics.jsonl records (mao)
    summaries: dict[str, dict] = field(default_factory=dict)  # model -> metrics.json (mao)
    vectors: dict[str, Path] = field(default_factory=dict)  # model -> vectors.txt (mao)
    notes: list[str] = field(default_factory=list)  # what is missing or skipped, shown in the page

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def label(self) -> str:
        """Short name of the run in the page: kind and folder name."""
        extra = ""
        if self.kind in ("collell-exp1", "collell-bridge") and self.result.get("rows"):
            extra = f" ({self.result['rows'][0].get('dataset', '?')})"
        return f"{self.kind}{extra}: {self.path.name}"


def _read_json(path: Path) -> dict:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MmweError(f"expected a readable file, got {type(exc).__name__}", path=path) from exc
    except ValueError as exc:
        raise MmweError(f"expected JSON, got a parse error ({exc}); fix: re-run the reproduction",
                        path=path) from exc
    if not isinstance(obj, dict):
        raise MmweError(f"expected a JSON object, got {type(obj).__name__}", path=path)
    return obj


def _read_jsonl(path: Path) -> list[dict]:
    """Records of a metrics.jsonl; a torn last line (run interrupted while writing) is dropped."""
    out = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as exc:
            if i == len(lines):
                break
            raise MmweError(f"expected one JSON object per line, got a parse error ({exc})", path=path,
                            line=i) from exc
        if isinstance(rec, dict):
            out.append(rec)
    return out


def kind_of(result: dict, path: Path) -> str:
    exp = result.get("experiment")
    if exp in ("collell-exp1", "collell-exp2", "collell-bridge", "collell-imagined", "mao-study"):
        return exp
    rows = result.get("rows")
    if isinstance(rows, list) and rows and all(isinstance(r, dict) and "model" in r and "accuracy" in r for r in rows):
        return "mao"
    raise MmweError("expected results.json of a collell reproduction (key 'experiment') or of the Mao et al. "
                    "reproduction (rows with 'model' and 'accuracy'), got neither; fix: pass a run folder "
                    "written by `mmwe reproduce`", path=path / "results.json")


def load_run(path: str | os.PathLike) -> SavedRun:
    """Read one run folder (RUN/results.json is required; the rest is optional)."""
    path = Path(path)
    if not path.is_dir():
        raise MmweError("expected a run folder, got " + ("a file" if path.exists() else "nothing there")
                        + "; fix: pass the folder given to --out", path=path)
    if not (path / "results.json").is_file():
        raise MmweError("expected results.json in the run folder, got none; fix: pass a folder written by "
                        "`mmwe reproduce ... --out`", path=path)
    result = _read_json(path / "results.json")
    run = SavedRun(path=path, kind=kind_of(result, path), result=result)
    if run.kind == "collell-exp1":
        nb = path / "neighbors.json"
        if nb.is_file():
            run.neighbours = read_neighbour_set(nb)
        else:
            run.notes.append(f"{run.label}: no neighbors.json (written by newer `mmwe reproduce collell`): "
                             "not in the neighbour explorer")
    elif run.kind == "mao":
        _load_mao_variants(run)
    return run


def _load_mao_variants(run: SavedRun) -> None:
    for r in run.result["rows"]:
        name = str(r["model"])
        d = run.path / name
        if not d.is_dir():
            continue  # e.g. the pretrained baseline row: nothing was trained
        if (d / "metrics.jsonl").is_file():
            run.curves[name] = _read_jsonl(d / "metrics.jsonl")
        else:
            run.notes.append(f"{run.label}: {name}/metrics.jsonl missing: no curves for {name}")
        if (d / "metrics.json").is_file():
            run.summaries[name] = _read_json(d / "metrics.json")
        if (d / "vectors.txt").is_file():
            run.vectors[name] = d / "vectors.txt"
        else:
            run.notes.append(f"{run.label}: {name}/vectors.txt missing: {name} not in the neighbour explorer")


def load_runs(paths) -> list[SavedRun]:
    """``load_run`` of each folder (``SavedRun`` objects pass through), in the order given; MmweError when none."""
    paths = list(paths)
    if not paths:
        raise MmweError("expected at least one run folder, got none; fix: e.g. mmwe report runs/demo/collell-exp1")
    return [p if isinstance(p, SavedRun) else load_run(p) for p in paths]
