"""The chart of the main metric of every version of one model (Models detail pane)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tuidash.ui.widgets.charts import ChartPlot
from tuidash.ui.widgets.versions import main_metric, metric_of


class VersionChart(ChartPlot):
    """The main metric of every version of one model, as a line over version numbers."""

    DEFAULT_CSS = """
    VersionChart {
        height: 1fr;
        min-height: 6;
    }
    """

    EMPTY_TEXT: ClassVar[str] = "One version: nothing to chart yet."

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows: list[dict[str, Any]] = []
        """The versions drawn, oldest first."""
        self.metric: str | None = None
        """The metric drawn."""

    def show(self, rows: Sequence[dict[str, Any]]) -> None:
        """Draw these versions (the store's ``list_versions`` rows)."""
        self.rows = list(rows)
        self.metric = main_metric(self.rows)
        if self.is_mounted:
            self.replot()

    def points(self) -> tuple[list[int], list[float]]:
        """(version numbers, values) of the versions that have the metric."""
        if self.metric is None:
            return [], []
        xs, ys = [], []
        for row in self.rows:
            value = metric_of(row, self.metric)
            if value is not None:
                xs.append(int(row["version"]))
                ys.append(value)
        return xs, ys

    def has_data(self) -> bool:
        """Two versions with the metric make a line."""
        return len(self.points()[0]) >= 2

    def draw(self, width: int, height: int) -> None:
        """The metric's line over the version numbers."""
        plt = self.plt
        xs, ys = self.points()
        plt.plot(xs, ys, marker="braille", color=self.colour(0))
        plt.scatter(xs, ys, marker="●", color=self.colour(1))
        step = max(1, len(xs) // max(1, width // 6))
        ticks = xs[::step]
        plt.xticks([float(n) for n in ticks], [f"v{n}" for n in ticks])
        plt.title(f"{self.metric} by version")
