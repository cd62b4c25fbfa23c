"""The candidates of a search: their mean cross-validation score against one parameter."""

from __future__ import annotations

from typing import Any

from tuidash.core.analysis import format_value
from tuidash.core.search import ScorePoints
from tuidash.ui.widgets.charts import ChartPlot, _ticks


class SearchChart(ChartPlot):
    """Mean CV score of each candidate against one parameter's value (the best marked)."""

    EMPTY_TEXT = "No candidate of this search was scored."

    def __init__(self, points: ScorePoints | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.points = points
        """The data drawn; replace it with :meth:`update`."""

    def update(self, points: ScorePoints) -> None:
        """Draw another parameter."""
        self.points = points
        self.replot()

    def has_data(self) -> bool:
        """True when some candidate has a score."""
        return bool(self.points and self.points.y)

    def draw(self, width: int, height: int) -> None:
        """The candidates as points, the best one on top in another colour."""
        assert self.points is not None
        p, plt = self.points, self.plt
        best = max(p.y) if p.higher_is_better else min(p.y)
        at = p.y.index(best)
        others = [i for i in range(len(p.y)) if i != at]
        # No legend: in a corner it hides the candidates there; the title names the marker.
        plt.scatter([p.x[i] for i in others], [p.y[i] for i in others], color=self.colour(0))
        plt.scatter([p.x[at]], [best], color=self.colour(1), marker="●")
        better = "higher" if p.higher_is_better else "lower"
        plt.title(f"{p.metric} ({better} is better) by {p.parameter} · ● the best")
        plt.xlabel(f"{p.parameter} (log10)" if p.log else p.parameter)
        if p.labels:
            plt.xticks(list(range(len(p.labels))), p.labels)
            plt.xlim(-0.5, len(p.labels) - 0.5)
        elif min(p.x) < max(p.x):
            low_x, high_x = min(p.x), max(p.x)
            plt.xticks(*_ticks(low_x, high_x, max(2, min(6, width // 14))))
            pad = (high_x - low_x) * 0.04  # the points at either end stay off the frame
            plt.xlim(low_x - pad, high_x + pad)
        low, high = min(p.y), max(p.y)
        if high > low:
            plt.yticks(*_ticks(low, high, max(2, min(5, (height - 4) // 3))))
        else:
            plt.yticks([low], [format_value(low)])
