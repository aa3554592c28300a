"""Result tables and run reports: everything here reads saved run folders, never live experiment objects.

* ``tables``: Markdown/HTML tables, the plain per-run report.md / report.html (``write_report``).
* ``runs``: reading run folders (Collell exp 1 / exp 2, Mao) into what the report shows.
* ``summaries``: the main table and summary prose of a Collell & Moens result.
* ``plots``: matplotlib figures as inline SVG.
* ``explorer``: label names for the in-page neighbour explorer (neighbour lists: ``mmwe.neighbor_sets``).
* ``page``: ``build_report(run_dirs, out)``, the self-contained report.html (+ report.md) of any mix of runs,
  and ``write_run_report(run_dir)`` for one reproduction's folder.
"""

from mmwe.report.page import build_report, demo_report, write_run_report
from mmwe.report.summaries import result_table, summary_text
from mmwe.report.tables import (
                                Column,
                                Section,
                                format_cell,
                                html_table,
                                markdown_table,
                                render_html,
                                render_markdown,
                                write_markdown_table,
                                write_report,
)

__all__ = ["Column", "Section", "build_report", "demo_report", "format_cell", "html_table", "markdown_table",
           "render_html", "render_markdown", "result_table", "summary_text", "write_markdown_table", "write_report",
           "write_run_report"]
