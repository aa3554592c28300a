"""Markdown tables and the plain per-run report (report.md, results.md, a minimal report.html).

Rows are plain dicts (as returned by the experiments); ``columns`` picks and orders the keys, optionally
with a header (``("mnno_x_fx", "mNNO(X,f(X))")``). Floats print with 3 decimals, NaN / None as ``n/a``.
Every file is written atomically.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmwe.errors import MmweError
from mmwe.fileio import atomic_write

Column = str | tuple[str, str]  # key, or (key, header)


@dataclass
class Section:
    """One part of a report: a title, optional prose (Markdown, kept verbatim) and an optional table."""

    title: str  # section heading
    text: str = ""  # paragraphs shown before the table (Markdown; shown pre-formatted in HTML)
    rows: list[dict] = field(default_factory=list)  # table rows; empty = no table
    columns: list[Column] | None = None  # keys to show (default: keys of the first row)


def format_cell(value: Any, digits: int = 3) -> str:
    """How one value prints in a table."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _split_columns(rows: Sequence[Mapping], columns: Sequence[Column] | None) -> tuple[list[str], list[str]]:
    if columns is None:
        columns = list(rows[0]) if rows else []
    keys = [c if isinstance(c, str) else c[0] for c in columns]
    heads = [c if isinstance(c, str) else c[1] for c in columns]
    return keys, heads


def markdown_table(rows: Sequence[Mapping], columns: Sequence[Column] | None = None, *, digits: int = 3) -> str:
    """A GitHub-flavoured Markdown table of ``rows`` (missing keys print as n/a); '|' in cells is escaped."""
    keys, heads = _split_columns(rows, columns)
    if not keys:
        raise MmweError("expected at least one column for a table, got none")

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [line(heads), "|" + "|".join("---" for _ in keys) + "|"]
    out += [line([format_cell(r.get(k), digits) for k in keys]) for r in rows]
    return "\n".join(out) + "\n"


def html_table(rows: Sequence[Mapping], columns: Sequence[Column] | None = None, *, digits: int = 3) -> str:
    keys, heads = _split_columns(rows, columns)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(format_cell(r.get(k), digits))}</td>" for k in keys) + "</tr>\n"
        for r in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n"


def write_markdown_table(rows: Sequence[Mapping], columns: Sequence[Column] | None, path: str | os.PathLike) -> Path:
    """Write ``markdown_table(rows, columns)`` to ``path`` atomically; returns the path."""
    text = markdown_table(rows, columns)
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)


def _as_section(s: Section | Mapping) -> Section:
    if isinstance(s, Section):
        return s
    try:
        return Section(**s)
    except TypeError as exc:
        raise MmweError(f"expected a report section with keys title, text, rows, columns; got {sorted(s)}") from exc


def render_markdown(title: str, sections: Sequence[Section]) -> str:
    parts = [f"# {title}\n"]
    for s in sections:
        parts.append(f"\n## {s.title}\n")
        if s.text:
            parts.append("\n" + s.text.strip() + "\n")
        if s.rows:
            parts.append("\n" + markdown_table(s.rows, s.columns))
    return "".join(parts)


_CSS = ("body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.2em .6em;text-align:right}"
        "th{background:#eee}pre{white-space:pre-wrap;font-family:inherit}")


def render_html(title: str, sections: Sequence[Section]) -> str:
    parts = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body>\n<h1>{html.escape(title)}</h1>\n"]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>\n")
        if s.text:
            parts.append(f"<pre>{html.escape(s.text.strip())}</pre>\n")
        if s.rows:
            parts.append(html_table(s.rows, s.columns))
    parts.append("</body></html>\n")
    return "".join(parts)


def write_report(run_dir: str | os.PathLike, sections: Sequence[Section | Mapping], *,
                 title: str = "mmwe report") -> tuple[Path, Path]:
    """Write RUN_DIR/report.md and RUN_DIR/report.html (atomic); the folder must exist."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MmweError("expected an existing run folder, got none; fix: create it first", path=run_dir)
    secs = [_as_section(s) for s in sections]
    md, page = run_dir / "report.md", run_dir / "report.html"
    with atomic_write(md, "w", encoding="utf-8") as fh:
        fh.write(render_markdown(title, secs))
    with atomic_write(page, "w", encoding="utf-8") as fh:
        fh.write(render_html(title, secs))
    return md, page
