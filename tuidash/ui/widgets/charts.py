"""Chart widgets: ``PlotextPlot`` subclasses that draw plain lists computed in ``core.analysis``.

Each chart keeps its data and redraws it from scratch on mount, on resize (labels and bar
counts depend on the width) and when the app theme changes (series colours come from the
theme's variables, so charts follow it like the rest of the UI). They always draw on their
own ``self.plt`` figure, never the global plotext module.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual.events import Resize
from textual_plotext import PlotextPlot

from tuidash.core.analysis import (
    FeatureBar,
    GroupedBars,
    Histogram,
    LineSeries,
    Overlay,
    ResidualData,
    ScatterData,
    format_value,
    importance_title,
    shorten_label,
    top_features,
)

_SERIES_VARIABLES = ("primary", "warning", "success", "accent", "error", "secondary")
"""Theme variables used, in order, for the colours of data series."""


class ChartPlot(PlotextPlot):
    """A plot that redraws its data on mount, on resize and when the theme changes."""

    DEFAULT_CSS = """
    ChartPlot {
        height: 1fr;
        min-height: 8;
    }
    """

    EMPTY_TEXT: ClassVar[str] = "Nothing to draw."
    """Title shown when the chart has no data."""

    def on_mount(self) -> None:
        """Draw once mounted (PlotextPlot's own on_mount registers the theme)."""
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.replot())
        self.replot()

    def on_resize(self, event: Resize) -> None:
        """Redraw for the new size: label widths and tick counts depend on it."""
        self.replot()

    def replot(self) -> None:
        """Clear the figure and draw the data again for the current size and theme."""
        plt = self.plt
        plt.clear_figure()
        width, height = max(self.size.width, 20), max(self.size.height, 6)
        if self.has_data():
            self.draw(width, height)
        else:
            plt.title(self.EMPTY_TEXT)
        self.refresh()

    def has_data(self) -> bool:
        """Whether there is anything to draw."""
        return False

    def draw(self, width: int, height: int) -> None:
        """Draw the data on ``self.plt`` for a plot of ``width`` x ``height`` cells."""

    def colour(self, index: int) -> tuple[int, int, int]:
        """The RGB colour of series ``index``, taken from the app theme."""
        variables = self.app.theme_variables
        name = _SERIES_VARIABLES[index % len(_SERIES_VARIABLES)]
        return Color.parse(variables.get(name) or variables.get("foreground", "white")).rgb

    def reference_colour(self) -> tuple[int, int, int]:
        """The colour of reference lines (diagonal, zero), the theme's foreground."""
        return Color.parse(self.app.theme_variables.get("foreground", "white")).rgb


def _nice_step(low: float, high: float, count: int) -> float:
    """The round step (1, 2 or 5 times a power of ten) giving closest to ``count`` ticks."""
    exponent = math.floor(math.log10((high - low) / (count - 1)))
    best, best_count = 10.0 ** (exponent + 1), 0
    for power in (exponent - 1, exponent, exponent + 1):
        for factor in (1.0, 2.0, 5.0):
            step = factor * 10.0**power
            ticks = math.floor(high / step + 1e-9) - math.ceil(low / step - 1e-9) + 1
            if best_count < ticks <= count + 1:
                best, best_count = step, ticks
    return best


def _ticks(low: float, high: float, count: int) -> tuple[list[float], list[str]]:
    """About ``count`` round ticks within [low, high] (0 included when the range spans it).

    plotext's own ticks are evenly spaced but not round, and their labels get long.
    """
    if count < 2 or not high > low:
        return [low], [format_value(low)]
    step = _nice_step(low, high, count)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    if len(ticks) < 2:
        return [low, high], [format_value(low), format_value(high)]
    return ticks, [format_value(t) for t in ticks]


class ActualPredictedChart(ChartPlot):
    """Actual and predicted values over the test rows, as two lines."""

    EMPTY_TEXT = "No predictions are stored for this model."

    def __init__(self, series: LineSeries | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.series = series
        """The data drawn; replace it with :meth:`update`."""

    def update(self, series: LineSeries) -> None:
        """Draw new data (e.g. another number of points)."""
        self.series = series
        self.replot()

    def has_data(self) -> bool:
        """True when there are rows to draw."""
        return bool(self.series and self.series.rows)

    def draw(self, width: int, height: int) -> None:
        """Two lines with a legend."""
        assert self.series is not None
        s, plt = self.series, self.plt
        # A terminal cell has one colour: a line of braille dots for the actual values and
        # bare points for the predictions keep both visible where they are close.
        plt.plot(s.rows, s.actual, label="actual", color=self.colour(0), marker="braille")
        plt.scatter(s.rows, s.predicted, label="predicted", color=self.colour(1), marker="dot")
        plt.title(f"Actual vs predicted: {len(s.rows)} of {s.available} rows")
        plt.xlabel("test rows, smallest actual value first" if s.by_actual else "test row")
        plt.xticks(*_ticks(s.rows[0], s.rows[-1], max(2, min(6, width // 14))))
        values = s.actual + s.predicted
        plt.yticks(*_ticks(min(values), max(values), max(2, min(5, (height - 4) // 3))))


class ScatterChart(ChartPlot):
    """Actual vs predicted points with the perfect-prediction diagonal."""

    EMPTY_TEXT = "No predictions are stored for this model."

    def __init__(self, data: ScatterData | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data = data
        """The points drawn."""

    def has_data(self) -> bool:
        """True when there are points."""
        return bool(self.data and self.data.actual)

    def draw(self, width: int, height: int) -> None:
        """Points, then the diagonal y = x over the whole value range."""
        assert self.data is not None
        d, plt = self.data, self.plt
        plt.plot(
            [d.low, d.high],
            [d.low, d.high],
            label="perfect",
            color=self.reference_colour(),
            marker="braille",
        )
        plt.scatter(d.actual, d.predicted, label="test rows", color=self.colour(0))
        plt.title("Actual vs predicted (on the diagonal = perfect)")
        plt.xlabel("actual")
        plt.ylabel("predicted")
        ticks = _ticks(d.low, d.high, max(2, min(6, width // 14)))
        plt.xticks(*ticks)
        plt.yticks(*_ticks(d.low, d.high, max(2, min(5, (height - 4) // 3))))


class ResidualChart(ChartPlot):
    """Residuals (actual - predicted) against the predicted value, with the zero line."""

    EMPTY_TEXT = "No predictions are stored for this model."

    def __init__(self, data: ResidualData | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data = data
        """The points drawn."""

    def has_data(self) -> bool:
        """True when there are residuals."""
        return bool(self.data and self.data.residuals)

    def draw(self, width: int, height: int) -> None:
        """Points around the zero line."""
        assert self.data is not None
        d, plt = self.data, self.plt
        plt.horizontal_line(0, color=self.reference_colour())
        plt.scatter(d.predicted, d.residuals, color=self.colour(0))
        plt.title("Residuals (actual - predicted) by predicted value")
        plt.xlabel("predicted")
        plt.ylabel("residual")
        plt.xticks(*_ticks(min(d.predicted), max(d.predicted), max(2, min(6, width // 14))))
        low, high = min(*d.residuals, 0.0), max(*d.residuals, 0.0)
        plt.yticks(*_ticks(low, high, max(2, min(5, (height - 4) // 3))))


class HistogramChart(ChartPlot):
    """A histogram drawn as touching bars at the bin centres."""

    EMPTY_TEXT = "No residuals to count."

    def __init__(
        self, histogram: Histogram | None = None, title: str = "Residuals", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.histogram = histogram
        """The bins drawn."""
        self.title_text = title
        """What the values are."""

    def update(self, histogram: Histogram) -> None:
        """Draw new bins."""
        self.histogram = histogram
        self.replot()

    def has_data(self) -> bool:
        """True when there is at least one bin."""
        return bool(self.histogram and self.histogram.counts)

    def draw(self, width: int, height: int) -> None:
        """Bars as wide as the bins, with short tick labels at a few edges."""
        assert self.histogram is not None
        h, plt = self.histogram, self.plt
        plt.bar(h.centres, h.counts, width=1, color=self.colour(0))
        plt.title(f"{self.title_text}: {len(h.counts)} bins, {sum(h.counts)} values")
        plt.ylabel("count")
        plt.yticks(*_ticks(0, max(h.counts), max(2, min(5, (height - 4) // 3))))
        plt.xticks(*_ticks(h.edges[0], h.edges[-1], max(2, min(len(h.edges), 7, width // 12))))


_PLACEHOLDER_BASE = 0xE000
"""First private-use character used for label placeholders (one character, one cell)."""


class FeatureChart(ChartPlot):
    """The top features by importance (or coefficient) as horizontal bars, largest on top."""

    EMPTY_TEXT = "This model stores no feature importances or coefficients."

    def __init__(
        self,
        importance: dict[str, float] | None = None,
        top_n: int | None = 10,
        kind: str = "unknown",
        task: str = "regression",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.importance = importance
        """Every feature's value, as stored."""
        self.top_n = top_n
        """How many features to show (None: all)."""
        self.kind = kind
        """How the values were measured (``core.analysis.importance_kind``); sets the title."""
        self.model_task = task
        """The model's task (a classifier's permutation importance is an accuracy drop)."""
        self.bars: list[FeatureBar] = []
        """The bars drawn at the current width (labels shortened to fit)."""
        self._placeholders: dict[str, str] = {}
        """Label stand-ins given to plotext -> the real label (see :meth:`_tick_label`)."""

    def update(self, top_n: int | None) -> None:
        """Show another number of features."""
        self.top_n = top_n
        self.replot()

    def has_data(self) -> bool:
        """True when importances are stored."""
        return bool(self.importance)

    def _tick_label(self, label: str) -> str:
        """What plotext is given for ``label``: itself, or a stand-in as wide in cells.

        plotext lays out tick labels one character per cell, so a wide character ("日")
        would push its row's bar one cell right. Such a label is drawn as private-use
        characters, one per cell, and swapped back for the real text when rendered.
        """
        if cell_len(label) == len(label):
            return label
        start = _PLACEHOLDER_BASE + 64 * len(self._placeholders)
        stand_in = "".join(chr(start + i) for i in range(cell_len(label)))
        self._placeholders[stand_in] = label
        return stand_in

    def render(self) -> RenderResult:
        """The plot, with real labels in place of their stand-ins."""
        rendered = super().render()
        if not self._placeholders or not isinstance(rendered, Text):
            return rendered
        for stand_in, label in self._placeholders.items():
            at = rendered.plain.find(stand_in)
            if at >= 0:
                style = rendered.get_style_at_offset(self.app.console, at)
                rendered = rendered[:at] + Text(label, style=style) + rendered[at + len(stand_in) :]
        return rendered

    def draw(self, width: int, height: int) -> None:
        """One-row bars with a blank row between them; labels take at most a quarter width."""
        label_width = max(8, min(24, width // 4))
        # plotext's own horizontal bars touch each other, so a label cannot be matched
        # to its bar; each bar is drawn as a one-row line of full blocks instead, two rows
        # apart, which limits how many fit in the height.
        rows = max(height - 4, 1)
        fit = max(1, (rows + 1) // 2)
        limit = fit if self.top_n is None else min(self.top_n, fit)
        self.bars = top_features(self.importance, limit, label_width, measure=cell_len)
        plt = self.plt
        count = len(self.bars)
        positions = [float(count - i) for i in range(count)]
        for position, bar in zip(positions, self.bars, strict=True):
            plt.plot([0, bar.value], [position, position], marker="█", color=self.colour(0))
        values = [b.value for b in self.bars]
        low, high = min(*values, 0.0), max(*values, 0.0)
        if low < 0:
            plt.vline(0, color=self.reference_colour())
        self._placeholders = {}
        plt.yticks(positions, [self._tick_label(b.label) for b in self.bars])
        plt.ylim(count - (rows - 1) / 2, count)
        total = len(self.importance or {})
        # The title names what was measured (stored with the model), never guessed from signs.
        plt.title(f"{importance_title(self.kind, self.model_task)}: top {count} of {total}")
        plt.xticks(*_ticks(low, high, max(2, min(5, width // 16))))


class GroupedBarChart(ChartPlot):
    """Metrics of several models as grouped bars, each metric scaled to its largest value."""

    EMPTY_TEXT = "No metric is defined for these models."

    def __init__(self, bars: GroupedBars | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bars = bars
        """The scaled values drawn."""

    def has_data(self) -> bool:
        """True when at least one metric is defined."""
        return bool(self.bars and self.bars.metrics and self.bars.models)

    def draw(self, width: int, height: int) -> None:
        """One group per metric; room is left above the bars for the legend."""
        assert self.bars is not None
        b, plt = self.bars, self.plt
        label_width = max(6, min(20, width // 5))
        labels = [shorten_label(name, label_width) for name in b.models]
        # Bars placed by hand (plotext's multiple_bar lets groups touch): each group takes
        # three quarters of its slot so the metrics stay visibly apart.
        span = 0.75
        bar_width = span / len(b.models)
        positions = [float(p) for p in range(1, len(b.metrics) + 1)]
        for index, (label, row) in enumerate(zip(labels, b.values, strict=True)):
            offset = -span / 2 + bar_width * (index + 0.5)
            plt.bar(
                [p + offset for p in positions],
                row,
                width=bar_width * 0.7,  # plotext rounds widths up; keep bars in their slot
                label=label,
                color=self.colour(index),
            )
        plt.xticks(positions, b.metrics)
        plt.xlim(0.5, len(b.metrics) + 0.5)
        low = min(0.0, *(v for row in b.values for v in row))
        # The legend sits in the top-left corner: raise the top so bars stay below it.
        canvas_rows = max(height - 4, 4)
        legend_rows = len(b.models) + 1
        span = 1.0 - low
        top = 1.0 + span * legend_rows / max(canvas_rows - legend_rows, 1)
        plt.ylim(low, top)
        plt.yticks(*_ticks(low, 1.0, 3 if low < 0 else 2))
        plt.title("Metrics, each divided by its largest value")


class OverlayChart(ChartPlot):
    """The actual values with several models' predictions over the same test rows."""

    EMPTY_TEXT = "No predictions to overlay."

    def __init__(self, overlay: Overlay | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.overlay = overlay
        """The series drawn."""

    def update(self, overlay: Overlay) -> None:
        """Draw new series (e.g. another number of points)."""
        self.overlay = overlay
        self.replot()

    def has_data(self) -> bool:
        """True when the predictions could be overlaid."""
        return bool(self.overlay and self.overlay.ok and self.overlay.rows)

    def draw(self, width: int, height: int) -> None:
        """Actual first (reference colour), then one line per model."""
        assert self.overlay is not None
        o, plt = self.overlay, self.plt
        label_width = max(8, min(24, width // 4))
        # Thin braille marks: a terminal cell has one colour, so thick blocks of one model
        # would hide the others wherever the lines are close.
        plt.plot(o.rows, o.actual, label="actual", color=self.reference_colour(), marker="braille")
        values: list[float] = list(o.actual)
        for index, (name, predicted) in enumerate(o.series):
            plt.scatter(
                o.rows,
                predicted,
                label=shorten_label(name, label_width),
                color=self.colour(index),
                marker="braille",
            )
            values.extend(predicted)
        plt.title(f"Predictions over {len(o.rows)} shared test rows")
        plt.xlabel("test rows, smallest actual value first" if o.by_actual else "test row")
        plt.xticks(*_ticks(o.rows[0], o.rows[-1], max(2, min(6, width // 14))))
        plt.yticks(*_ticks(min(values), max(values), max(2, min(5, (height - 4) // 3))))
