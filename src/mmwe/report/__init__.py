"""Result tables and run reports.

* ``tables``: Markdown tables, the plain per-run report.md / report.html (``write_report``).
* ``runs``: reading run folders (Collell exp 1 / exp 2, Mao) into what the report shows.
* ``plots``: matplotlib figures as inline SVG.
* ``explorer``: neighbour lists for the in-page neighbour explorer (``neighbors.json`` of a run).
* ``page``: ``build_report(run_dirs, out)``, the self-contained report.html (+ report.md) of any mix of runs.
"""

from mmwe.report.tables import (Column, Section, format_cell, html_table, markdown_table, render_html,
                                render_markdown, write_markdown_table, write_report)


def build_report(*args, **kwargs):
    """See ``mmwe.report.page.build_report`` (imported lazily: it pulls in matplotlib)."""
    from mmwe.report.page import build_report as _build

    return _build(*args, **kwargs)


__all__ = ["Column", "Section", "build_report", "format_cell", "html_table", "markdown_table", "render_html",
           "render_markdown", "write_markdown_table", "write_report"]
