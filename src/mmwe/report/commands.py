"""What the commands print after their work, as data: lines and `Table` s in print order (the CLI only draws them).

Each function takes what the library returned (a manifest, metrics, a feature run's summary...) and gives the
`Printout` of one command; ``--json`` prints the plain dict instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmwe.report.summaries import result_table, summary_text
from mmwe.report.tables import Column, format_cell


@dataclass(frozen=True)
class Table:
    """One table of a command's output (drawn by ``mmwe.cli.console.print_table``)."""

    title: str | None  # printed above the table; None: no title
    columns: Sequence[str]  # column headers
    rows: Sequence[Sequence[Any]]  # cells (None prints as "-")
    header: bool = True  # False: a two-column field/value list without headers


Printout = list[str | Table]  # lines and tables, in print order


def manifest_printout(m: Mapping, where: str) -> Printout:
    """`mmwe corpus build` / `corpus info`: a corpus manifest's counts, settings and removals."""
    c, pre, spl, r, v = m["counts"], m["preprocess"], m["split_config"], m["removed"], m["counts"]["vocabulary"]
    return [
        f"{where}: " + ", ".join(f"{s['source']} ({s['reader']})" for s in m["sources"]),
        Table("records", ["split", "images", "sentences", "tokens"],
              [(name, *(f"{row[k]:,}" for k in ("images", "sentences", "tokens")))
               for name, row in [*c["by_split"].items(), ("all", c)]]),
        f"vocabulary: {v['words']:,} words with count >= {v['min_count']} in train "
        f"({v['distinct_words_train']:,} distinct in train, {v['distinct_words_all']:,} in all)",
        f"pre-processing: min_words={pre['min_words']} dedup_threshold={pre['dedup_threshold']} "
        f"max_sentence_chars={pre['max_sentence_chars']}; split: val={spl['val_fraction']} "
        f"test={spl['test_fraction']} seed={spl['seed']}",
        Table(f"removed ({r['records_read']:,} records read, {r['sentences_read']:,} sentences)",
              ["what", "reason", "count"], [(g.replace("_", " "), reason, f"{n:,}")
                                            for g in ("bad_records", "dropped_records", "removed_sentences")
                                            for reason, n in r[g].items()]),
    ]


def download_line(s: Mapping, out: str) -> str:
    """`mmwe corpus download`: URLs downloaded, failed (per reason), bad rows, and the next command."""
    counts = {k: ", ".join(f"{r}={n}" for r, n in s[k].items()) or "none" for k in ("failed", "bad_rows")}
    return (f"{out}/shards: {s['downloaded']:,} of {s['urls_tried']:,} URLs downloaded; failed: {counts['failed']}; "
            f"bad rows: {counts['bad_rows']}; next: mmwe corpus build {out}/shards")


def features_printout(s: Mapping) -> Printout:
    """`mmwe features` (of ``mmwe.vision.extract.extract_features``); the skipped examples: `skipped_lines`."""
    rows = [("images with features", s["images"]), ("dimensions", s["dim"]),
            ("skipped", f"{s['skipped_total']}  {s['skipped'] or ''}"),
            ("fraction of ones" if s["binarized"] else "fraction > 0", s["fraction_positive"]),
            ("images / s", s["images_per_second"]), ("output", s["output"])]
    return [Table(f"{s['model']} features ({s['backend']})", ["", ""], rows, header=False)]


def skipped_lines(s: Mapping) -> str:
    """`mmwe features`: one line per skipped example (printed on stderr)."""
    return "".join(f"skipped {ex['key']}: {ex['error']}\n" for ex in s["skipped_examples"])


def classify_printout(result: Mapping[str, Sequence[Mapping]]) -> Printout:
    """`mmwe classify`: one line per image, its classes with their probabilities."""
    return [f"{Path(p).name}: " + " | ".join(f"{r['class']} {r['p']:.2f}" for r in rows) for p, rows in result.items()]


TRAIN_METRICS = ("val_perplexity", "val_loss", "val_image_loss", "best_epoch", "epochs", "steps", "stopped",
                 "tokens_per_s", "precision", "train_examples", "val_examples", "vocab_size", "skipped")


def train_printout(metrics: Mapping, cfg: Any, out: str) -> Printout:
    """`mmwe train`: the metrics of one language model (``cfg``: its TrainConfig)."""
    title = f"mmwe train: model {cfg.model}{'' if cfg.share else ' (no sharing)'} -> {out}"
    rows = [(k, f"{v:,.3f}" if isinstance(v, float) else v) for k, v in ((k, metrics.get(k)) for k in TRAIN_METRICS)]
    return [Table(title, ["metric", "value"], rows)]


def map_printout(s: Mapping) -> Printout:
    """`mmwe map train` (of ``mmwe.maps.files.train_map_files``' summary)."""
    cfg = s["config"]
    title = (f"{'' if s['trained'] else 'untrained '}map {cfg['model']} ({s['in_dim']} -> {s['out_dim']}), "
             f"loss {cfg['loss']}")
    shown = {**s, "normalize": cfg["normalize"] or "none"}
    keys = ("rows", "normalize", "epochs_run", "best_epoch", "init_val_loss", "best_val_loss", "final_train_loss",
            "stopped_early", "out")
    return [Table(title, ["field", "value"],
                  [(k, f"{shown[k]:.4g}" if isinstance(shown[k], float) else shown[k]) for k in keys])]


def vectors_printout(report: Mapping, path: str) -> Printout:
    """`mmwe vectors info`: one row per field; the norms as key=value, the first words joined."""
    show = {dict: lambda d: "  ".join(f"{k}={v:.4g}" for k, v in d.items()), list: " ".join}
    return [Table(f"vectors: {path}", ["", ""], [(k, show.get(type(v), str)(v)) for k, v in report.items()],
                  header=False)]


def visual_words_printout(stats: Mapping, out: str) -> Printout:
    """`mmwe vectors visual`: the statistics of the visual word vectors (the per-reason counts only in JSON)."""
    return [Table(f"visual word vectors -> {out}", ["", ""],
                  [(k, v) for k, v in stats.items() if not isinstance(v, dict)], header=False)]


def rows_printout(rows: Sequence[Mapping], columns: Sequence[Column]) -> Printout:
    """Result rows of a reproduction as one table (``columns``: keys, or (key, header)), cells as in the reports."""
    keys = [c if isinstance(c, str) else c[0] for c in columns]
    return [Table(None, [c if isinstance(c, str) else c[1] for c in columns],
                  [[format_cell(r.get(k)) for k in keys] for r in rows])]


def collell_printout(result: Mapping, out: str | None) -> Printout:
    """`mmwe reproduce collell`: the result table, its summary, and what was written to ``out`` (if anything)."""
    wrote = [f"wrote {out}/results.json, results.md, report.md, report.html"] if out is not None else []
    return [*rows_printout(*result_table(result)), summary_text(result), *wrote]
