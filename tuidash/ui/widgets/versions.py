"""The versions of one model in the Models detail pane: the list (here) and the chart of a
metric (``version_chart``, imported only when a model has several versions: plotext is
heavy and the first frames never wait for it).

Both draw the store's ``list_versions`` rows (plain dicts from ``tuidash.core.store``,
oldest first) as they are; nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text

from tuidash.core.text import number_text

MAIN_METRICS = ("R2", "Balanced accuracy", "Accuracy", "F1", "RMSE", "MAE")
"""The metric charted across versions: the first of these that a version has."""


def metric_of(row: dict[str, Any], metric: str) -> float | None:
    """A version's value of ``metric``, or None when it is undefined or missing."""
    value = (row.get("metrics") or {}).get(metric)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def main_metric(rows: Sequence[dict[str, Any]]) -> str | None:
    """The metric to chart: the first of ``MAIN_METRICS`` any version has, else None."""
    for metric in MAIN_METRICS:
        if any(metric_of(row, metric) is not None for row in rows):
            return metric
    return None


def versions_text(rows: Sequence[dict[str, Any]], metric: str | None) -> Text:
    """One line per version, newest first: number (* latest), date, metrics, aliases, note."""
    text = Text()
    count = len(rows)
    text.append(f"Versions ({count})", style="bold")
    text.append("  * latest; @alias\n", style="dim")
    # A classifier's second number is its accuracy; a regressor's an error.
    if metric in ("Balanced accuracy", "Accuracy", "F1"):
        second = "Accuracy" if metric != "Accuracy" else "F1 macro"
    else:
        second = "RMSE" if metric != "RMSE" else "MAE"
    for row in reversed(rows):
        number = row.get("version")
        text.append(f"v{number}{' *' if row.get('latest') else '  '} ", style="bold")
        text.append(f"{str(row.get('saved_at') or '?')[:16]}  ")
        for name in (metric, second):
            if name is None:
                continue
            value = metric_of(row, name)
            text.append(f"{name} {number_text(value) if value is not None else '—'}  ")
        aliases = row.get("aliases") or []
        if aliases:
            text.append(" ".join(f"@{a}" for a in sorted(aliases)) + "  ", style="bold green")
        if row.get("problem"):
            text.append(f"cannot be read: {row['problem']}", style="red")
        elif row.get("note"):
            note = " ".join(str(row["note"]).split())
            text.append(note if len(note) <= 40 else note[:39] + "…", style="italic")
        elif row.get("rollback_of"):
            text.append(f"rolled back to v{row['rollback_of']}", style="dim")
        text.append("\n")
    text.rstrip()
    return text
