"""Pictures of a classifier: the confusion matrix as a table, per-class metrics as bars,
the ROC curve and the predicted-probability histogram. They draw plain values computed in
``core.class_views`` (through ``core.analysis``), like the regression charts in ``charts``.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tuidash.core.analysis import (
    ConfusionMatrix,
    PerClass,
    ProbabilityHistogram,
    RocCurve,
    format_value,
    shorten_label,
)
from tuidash.ui.widgets.charts import ChartPlot, _ticks


def percent_text(rate: float | None) -> str:
    """A share as "93%" (a class without test rows: "—")."""
    return "—" if rate is None else f"{rate * 100:.0f}%"


class ConfusionTable(Static):
    """The confusion matrix: actual classes as rows, predicted as columns, counts or row
    shares; the diagonal (right answers) in the success colour, mistakes in the warning one."""

    DEFAULT_CSS = """
    ConfusionTable {
        height: auto;
        padding: 0 1;
    }
    ConfusionTable.train-table {
        border: round $primary;
    }
    """

    def __init__(
        self, matrix: ConfusionMatrix | None, normalised: bool = False, **kwargs: Any
    ) -> None:
        super().__init__("", **kwargs)
        self.matrix = matrix
        """The matrix drawn (None: nothing stored)."""
        self.normalised = normalised
        """Show each row's shares (the diagonal is the recall) instead of counts."""

    def on_mount(self) -> None:
        """Draw with the app theme's colours."""
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.redraw())
        self.redraw()

    def on_resize(self) -> None:
        """Label widths depend on the width."""
        self.redraw()

    def show(self, normalised: bool) -> None:
        """Counts (False) or row shares (True)."""
        self.normalised = normalised
        self.redraw()

    def redraw(self) -> None:
        """Build the table again."""
        self.update(self.table())

    def plain(self) -> str:
        """What the widget shows, as plain text (at its current width)."""
        import io

        from rich.console import Console

        out = io.StringIO()
        Console(width=max(self.size.width, 40), file=out, color_system=None).print(self.table())
        return out.getvalue()

    def table(self) -> RenderableType:
        """The matrix as a Rich table with a title and notes under it."""
        matrix = self.matrix
        if matrix is None or not matrix.labels:
            return Text("No confusion matrix is stored for this model.", style="italic")
        variables = self.app.theme_variables
        right = variables.get("success", "green")
        wrong = variables.get("warning", "yellow")
        width = max(self.size.width, 40)
        # Each column gets what the row labels leave; labels shrink to fit.
        label_width = max(6, min(18, width // 4))
        cell_width = max(5, min(12, (width - label_width - 4) // max(len(matrix.labels), 1) - 1))
        shown = [shorten_label(label, cell_width) for label in matrix.labels]
        what = "share of each actual class (diagonal = recall)" if self.normalised else "test rows"
        title = f"Confusion matrix — actual ↓ predicted →, {what}"
        table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 1))
        table.add_column("actual", no_wrap=True, style="bold", max_width=label_width)
        # Columns as wide as their widest entry, numbers padded to line up on the right.
        values = [
            [
                percent_text(matrix.rates[i][j]) if self.normalised else str(count)
                for j, count in enumerate(row)
            ]
            for i, row in enumerate(matrix.counts)
        ]
        widths = [max([len(shown[j]), *(len(row[j]) for row in values)]) for j in range(len(shown))]
        for label, column_width in zip(shown, widths, strict=True):
            table.add_column(label.rjust(column_width), no_wrap=True, max_width=cell_width)
        for index, label in enumerate(matrix.labels):
            cells: list[Text] = []
            for column, count in enumerate(matrix.counts[index]):
                value = values[index][column].rjust(widths[column])
                if index == column:
                    style = f"bold {right}"
                elif count:
                    style = wrong
                else:
                    style = "dim"
                cells.append(Text(value, style=style, justify="right"))
            table.add_row(shorten_label(label, label_width), *cells)
        notes = [f"{matrix.total:,} test rows" + ("" if matrix.whole_test_set else " (stored)")]
        if matrix.note:
            notes.append(matrix.note)
        return Group(Text(title, style="bold"), table, Text(" · ".join(notes), style="italic dim"))


class PerClassChart(ChartPlot):
    """Precision, recall and F1 of each class as grouped bars (0 to 1)."""

    EMPTY_TEXT = "No per-class metrics are stored for this model."
    METRICS = ("precision", "recall", "f1")
    """The bars of each class, in order."""

    def __init__(self, per_class: PerClass | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.per_class = per_class
        """The classes drawn."""
        self.shown = 0
        """How many classes fitted at the last draw."""

    def has_data(self) -> bool:
        """True when there is a class."""
        return bool(self.per_class and self.per_class.rows)

    def draw(self, width: int, height: int) -> None:
        """Three bars per class; as many classes as fit the width (most test rows first)."""
        assert self.per_class is not None
        rows = self.per_class.rows
        fit = max(1, (width - 8) // 8)
        if len(rows) > fit:
            rows = sorted(rows, key=lambda r: -r.support)[:fit]
        self.shown = len(rows)
        plt = self.plt
        span = 0.75
        bar_width = span / len(self.METRICS)
        positions = [float(p) for p in range(1, len(rows) + 1)]
        for index, metric in enumerate(self.METRICS):
            offset = -span / 2 + bar_width * (index + 0.5)
            plt.bar(
                [p + offset for p in positions],
                [float(getattr(r, metric)) for r in rows],
                width=bar_width * 0.7,
                label=metric,
                color=self.colour(index),
            )
        label_width = max(4, (width - 8) // max(len(rows), 1) - 1)
        plt.xticks(positions, [shorten_label(r.label, label_width) for r in rows])
        plt.xlim(0.5, len(rows) + 0.5)
        # Room above 1 for the legend in the top-left corner.
        canvas_rows = max(height - 4, 4)
        plt.ylim(0.0, 1.0 + 4 / max(canvas_rows - 4, 1))
        plt.yticks([0.0, 0.5, 1.0], ["0", "0.5", "1"])
        total = self.per_class.classes_total
        more = f" ({len(rows)} of {total} with the most test rows)" if len(rows) < total else ""
        plt.title(f"Precision, recall and F1 per class{more}")


class RocChart(ChartPlot):
    """The ROC curve of a two-class model with the chance diagonal."""

    EMPTY_TEXT = "No ROC curve for this model."

    def __init__(self, curve: RocCurve | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.curve = curve
        """The curve drawn."""

    def has_data(self) -> bool:
        """True when the curve exists."""
        return bool(self.curve and self.curve.ok and self.curve.fpr)

    def draw(self, width: int, height: int) -> None:
        """Chance line first (reference colour), then the curve."""
        assert self.curve is not None
        c, plt = self.curve, self.plt
        plt.plot([0, 1], [0, 1], label="chance", color=self.reference_colour(), marker="braille")
        plt.plot(c.fpr, c.tpr, label="model", color=self.colour(0), marker="braille")
        auc = f", AUC {format_value(c.auc)}" if c.auc is not None else ""
        plt.title(f"ROC curve, positive class {c.positive!r}{auc}")
        plt.xlabel("false positive rate")
        plt.ylabel("true positive rate")
        plt.xlim(0, 1)
        plt.ylim(0, 1)
        plt.xticks(*_ticks(0.0, 1.0, max(2, min(6, width // 14))))
        plt.yticks(*_ticks(0.0, 1.0, max(2, min(5, (height - 4) // 3))))


class ProbabilityChart(ChartPlot):
    """How sure the model was of its predicted class: right and wrong answers stacked."""

    EMPTY_TEXT = "No probabilities are stored for this model."

    def __init__(self, histogram: ProbabilityHistogram | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.histogram = histogram
        """The bins drawn."""

    def update(self, histogram: ProbabilityHistogram) -> None:
        """Draw new bins."""
        self.histogram = histogram
        self.replot()

    def has_data(self) -> bool:
        """True when probabilities were counted."""
        return bool(self.histogram and self.histogram.ok and self.histogram.right)

    def draw(self, width: int, height: int) -> None:
        """Right answers at the bottom, wrong ones on top, per probability bin."""
        assert self.histogram is not None
        h, plt = self.histogram, self.plt
        centres = list(h.centres)
        totals = [r + w for r, w in zip(h.right, h.wrong, strict=True)]
        # Stacked by hand: the whole bar in the "wrong" colour, then the right answers over
        # its lower part. One bar per call, empty bins left out: plotext paints an empty
        # bar as a coloured strip, and sizes bars by the spacing of the ones given.
        step = h.edges[1] - h.edges[0] if len(h.edges) > 1 else 1.0
        for values, colour, label in ((totals, 4, "wrong"), (h.right, 2, "right")):
            bars = [(x, v) for x, v in zip(centres, values, strict=True) if v > 0]
            for index, (x, v) in enumerate(bars):
                plt.bar(
                    [x],
                    [v],
                    width=step,
                    color=self.colour(colour),
                    label=label if index == 0 else None,
                    reset_ticks=False,
                )
        top = max(totals) if totals else 1
        plt.xlim(h.edges[0], h.edges[-1])
        plt.title(f"Probability of the predicted class: {sum(totals)} test rows")
        plt.xlabel("probability")
        plt.ylabel("rows")
        canvas_rows = max(height - 4, 4)
        plt.ylim(0, top * (1 + 3 / max(canvas_rows - 3, 1)))
        plt.yticks(*_ticks(0, top, max(2, min(5, (height - 4) // 3))))
        plt.xticks(*_ticks(h.edges[0], h.edges[-1], max(2, min(len(h.edges), 6, width // 12))))
