"""Settings of ``mmwe report`` (torch-free: the CLI builds its options from `ReportConfig`, one a field, its comment
the help; see ``mmwe.config.Opt``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from mmwe.config import Opt


@dataclass(frozen=True)
class ReportConfig:
    """``mmwe report RUN... --out report.html`` (`mmwe.report.build_report`)."""

    runs: Annotated[tuple[str, ...], Opt(argument=True, metavar="RUN")]  # Run folders: `mmwe reproduce collell`
    # (exp 1 or 2) and Mao runs, any mix.
    out: Annotated[str, Opt(out=True)] = "report.html"  # The HTML file to write; the Markdown tables go beside it
    # (.md).
    title: str = "mmwe report"  # Page title.
    label_names: str | None = None  # IAPR TC-12 label names, one a line (line i names label id i-1), to show items
    # by name.
    explorer_items: Annotated[int, Opt(min=1)] = 500  # Items per neighbour set built here (trained vectors);
    # collell runs bring their own.
