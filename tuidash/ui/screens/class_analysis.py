"""Analysis of one saved classifier: confusion matrix, per-class metrics, ROC curve,
probability histogram, feature importance, metrics with explanations and the errors table.

The classifier's counterpart of ``analysis.AnalysisScreen`` (whose actual-vs-predicted views
need numbers); the app opens this one for models whose task is classification. Works from
the metadata dict alone: nothing is unpickled.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from tuidash.core import analysis as an
from tuidash.ui.commands import ScreenCommands
from tuidash.ui.screens.analysis import choice_text, metrics_table, next_choice
from tuidash.ui.widgets.charts import FeatureChart
from tuidash.ui.widgets.class_charts import (
    ConfusionTable,
    PerClassChart,
    ProbabilityChart,
    RocChart,
)


class ClassAnalysisScreen(Screen[None]):
    """Charts, metrics and errors of one classifier, from its metadata dict."""

    DEFAULT_CSS = """
    ClassAnalysisScreen #analysis-summary {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    ClassAnalysisScreen TabbedContent, ClassAnalysisScreen ContentSwitcher {
        height: 1fr;
    }
    ClassAnalysisScreen TabPane {
        height: 1fr;
        padding: 0;
    }
    ClassAnalysisScreen .chart-note {
        padding: 1 2;
        color: $text-muted;
    }
    ClassAnalysisScreen .note, ClassAnalysisScreen #errors-status {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    ClassAnalysisScreen #errors-table {
        height: 1fr;
    }
    ClassAnalysisScreen #metrics-pane {
        padding: 0 1;
    }
    """

    COMMANDS: ClassVar = {ScreenCommands}
    COMMAND_LABEL: ClassVar[str] = "Analysis"
    """Prefix of this screen's commands in the palette."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back to the models list", id="canalysis.back"),
        Binding(
            "r",
            "rates",
            "Counts/shares",
            tooltip="Show the confusion matrix as counts or as shares of each actual class",
            id="canalysis.rates",
        ),
        Binding(
            "b",
            "bins",
            "Bins",
            tooltip="Change the probability histogram's bin count",
            id="canalysis.bins",
        ),
        Binding("n", "top_n", "Top N", tooltip="Show more or fewer features", id="canalysis.top_n"),
        Binding(
            "w",
            "wrong_only",
            "Wrong only",
            tooltip="Show only the wrong predictions in the errors table, or every row",
            id="canalysis.wrong",
        ),
        Binding(
            "e",
            "export",
            "Export CSV",
            tooltip="Write the errors table to a new CSV file",
            id="canalysis.export",
        ),
    ]

    _TAB_ACTIONS: ClassVar[dict[str, str]] = {
        "rates": "confusion",
        "bins": "probability",
        "top_n": "features",
        "wrong_only": "errors",
    }
    """Actions that only make sense on one tab (hidden from the footer elsewhere)."""

    def __init__(self, model_meta: Mapping[str, Any], export_dir: Path | str) -> None:
        super().__init__()
        self.model_meta = model_meta
        """The model's metadata (as listed by the store); nothing is unpickled."""
        self.export_dir = Path(export_dir)
        """Where exported CSV files are written (created when needed)."""
        self.model_name = an.model_name(model_meta)
        """The model's name."""
        self.sample = an.class_sample(model_meta)
        """The stored test rows: actual and predicted classes, probabilities."""
        self.normalised = False
        """The confusion matrix shows each actual class's shares instead of counts."""
        self.bins = 10
        """Probability histogram bins."""
        self.top_n: int | None = 10
        """Features on the importance chart (None: all)."""
        self.wrong_only = False
        """The errors table shows only the wrong predictions."""
        self.last_export: Path | None = None
        """The CSV written by the last export, if any."""
        self.sub_title = f"Analysis: {self.model_name}"

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        """Summary line, the tabs and the footer."""
        yield Header(icon="▤")
        yield Static(self._summary(), id="analysis-summary")
        meta = self.model_meta
        with TabbedContent(initial="confusion"):
            with TabPane("Confusion", id="confusion"), VerticalScroll():
                try:
                    matrix: an.ConfusionMatrix | None = an.confusion_matrix(meta)
                except an.AnalysisError as error:
                    yield Static(error.message, classes="chart-note")
                    matrix = None
                if matrix is not None:
                    yield ConfusionTable(matrix, self.normalised, id="confusion-table")
            with TabPane("Per class", id="per-class"):
                try:
                    per_class = an.per_class_metrics(meta)
                except an.AnalysisError as error:
                    yield Static(error.message, classes="chart-note")
                else:
                    yield PerClassChart(per_class, id="per-class-chart")
                    if per_class.note:
                        yield Static(per_class.note, classes="note")
            with TabPane("ROC", id="roc"):
                curve = an.roc_curve(meta)
                if curve.ok:
                    yield RocChart(curve, id="roc-chart")
                else:
                    yield Static(curve.message, id="roc-note", classes="chart-note")
            with TabPane("Probability", id="probability"):
                histogram = an.probability_histogram(meta, self.bins)
                if histogram.ok:
                    yield ProbabilityChart(histogram, id="probability-chart")
                else:
                    yield Static(histogram.message, id="probability-note", classes="chart-note")
            with TabPane("Features", id="features"):
                importance = an.feature_importance(meta)
                if importance:
                    kind = an.importance_kind(meta)
                    yield FeatureChart(
                        importance, self.top_n, kind, task="classification", id="feature-chart"
                    )
                    yield Static(
                        an.importance_note(kind, "classification"),
                        id="features-note",
                        classes="note",
                    )
                else:
                    yield Static(
                        "This model stores no feature importances or coefficients "
                        "(models such as SVC, KNN and MLP have none).",
                        classes="chart-note",
                    )
            with TabPane("Metrics", id="metrics"), VerticalScroll(id="metrics-pane"):
                yield Static(self._metrics_table(), id="metrics-table")
            with TabPane("Errors", id="errors"):
                yield Static(self._errors_status(), id="errors-status")
                yield DataTable(id="errors-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Fill the errors table."""
        self._fill_errors()

    def _fill_errors(self) -> None:
        table = self.query_one("#errors-table", DataTable)
        table.clear(columns=True)
        label = an.row_label(self.sample)
        table.add_column(label.rjust(8), key="row", width=8)
        table.add_column("Actual", key="actual")
        table.add_column("Predicted", key="predicted")
        table.add_column("Probability".rjust(11), key="probability", width=11)
        table.add_column("Right", key="correct")
        rows = an.class_error_rows(self.model_meta, wrong_only=self.wrong_only)
        for index, row in enumerate(rows):
            probability = "" if row.probability is None else an.format_value(row.probability)
            table.add_row(
                str(row.row).rjust(8),
                row.actual,
                row.predicted,
                probability.rjust(11),
                Text("yes", style="dim") if row.correct else Text("no", style="bold"),
                key=str(index),
            )

    def _summary(self) -> str:
        kind = an.model_kind(self.model_meta) or "unknown kind"
        sample = self.sample
        if not sample.stored:
            rows = "no stored predictions"
        elif sample.capped:
            rows = f"{sample.stored} of {sample.total} test rows stored"
        else:
            rows = f"{sample.stored} test rows"
        classes = len(an.model_classes(self.model_meta))
        score = an.format_value(an.metric_value(self.model_meta, "Balanced accuracy"))
        return (
            f"{self.model_name} · {kind} · {classes} classes · {rows} · Balanced accuracy {score}"
        )

    def _metrics_table(self) -> Table:
        return metrics_table(self.model_meta, self.sample)

    def _errors_status(self) -> str:
        if not self.sample.stored:
            return self.sample.problem or "No predictions are stored for this model."
        wrong = sum(1 for r in an.class_error_rows(self.model_meta, wrong_only=True))
        shown = "wrong predictions only" if self.wrong_only else "every stored row"
        text = f"{self.sample.stored} rows, {wrong} wrong · showing {shown} (w) · e: export to CSV"
        if self.last_export is not None:
            text = f"Exported to {self.last_export}"
        return f"{text}\n{an.row_note(self.sample)}"

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Show view controls only on the tab they control."""
        tab = self._TAB_ACTIONS.get(action)
        if tab is None:
            return True
        if action in ("bins", "top_n") and not self.query(f"#{tab} ChartPlot"):
            return False  # the tab shows a note instead of a chart
        if action == "rates" and not self.query(ConfusionTable):
            return False
        return self.query_one(TabbedContent).active == tab

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Refresh the footer for the new tab."""
        self.refresh_bindings()

    def action_back(self) -> None:
        """Return to the screen underneath."""
        self.dismiss()

    def action_rates(self) -> None:
        """Switch the confusion matrix between counts and row shares."""
        self.normalised = not self.normalised
        for table in self.query(ConfusionTable):
            table.show(self.normalised)
        shown = "shares of each actual class" if self.normalised else "counts"
        self.notify(f"Confusion matrix: {shown}", timeout=2)

    def action_bins(self) -> None:
        """Cycle the probability histogram's bin count."""
        self.bins = next_choice(an.PROBABILITY_BIN_CHOICES, self.bins)
        for chart in self.query(ProbabilityChart):
            chart.update(an.probability_histogram(self.model_meta, self.bins))
        self.notify(f"Probability histogram: {self.bins} bins", timeout=2)

    def action_top_n(self) -> None:
        """Cycle how many features are shown."""
        self.top_n = next_choice(an.TOP_N_CHOICES, self.top_n)
        for chart in self.query(FeatureChart):
            chart.update(self.top_n)
        self.notify(f"Features: top {choice_text(self.top_n)}", timeout=2)

    def action_wrong_only(self) -> None:
        """Show only the wrong predictions, or every row."""
        self.wrong_only = not self.wrong_only
        self._fill_errors()
        self.query_one("#errors-status", Static).update(self._errors_status())

    def action_export(self) -> None:
        """Write the errors table as shown to a new CSV file (in a worker)."""
        if not self.sample.stored:
            self.notify(f"{self.model_name} has no stored predictions to export.", severity="error")
            return
        self._export(self.wrong_only)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export", description="Export")
    def _export(self, wrong_only: bool) -> None:
        try:
            if wrong_only:
                path = an.export_class_errors_csv(self.model_meta, self.export_dir, wrong_only=True)
            else:
                path = an.export_errors_csv(self.model_meta, self.export_dir)
        except an.AnalysisError as error:
            self.app.call_from_thread(self.notify, error.message, severity="error")
            return
        self.app.call_from_thread(self._exported, path)

    def _exported(self, path: Path) -> None:
        self.last_export = path
        self.query_one("#errors-status", Static).update(self._errors_status())
        self.notify(f"Errors exported to {path}", title="Export")
