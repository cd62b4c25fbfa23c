"""Analysis of one saved model: charts, metrics with explanations, and the errors table.

Works from the model's metadata dict alone (the stored prediction sample), so a model that
is not loaded in memory can be analysed. Pushed on top of the Models section:
``app.push_screen(AnalysisScreen(model_meta, export_dir))``.
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
from tuidash.core.search import (
    candidate_cells,
    chart_parameters,
    record_summary,
    score_points,
    search_record,
)
from tuidash.ui.commands import ScreenCommands
from tuidash.ui.widgets.charts import (
    ActualPredictedChart,
    FeatureChart,
    HistogramChart,
    ResidualChart,
    ScatterChart,
)
from tuidash.ui.widgets.search_chart import SearchChart


def next_choice(choices: tuple[Any, ...], current: Any) -> Any:
    """The choice after ``current``, wrapping round."""
    index = choices.index(current) if current in choices else -1
    return choices[(index + 1) % len(choices)]


def choice_text(value: int | None) -> str:
    """A count choice as shown to the user ("all" for None)."""
    return "all" if value is None else str(value)


def metrics_table(model_meta: Mapping[str, Any], sample: Any) -> Table:
    """Each metric with its value and meaning (an undefined one says why); a note when the
    charts show a capped sample."""
    table = Table(box=None, expand=True, show_edge=False, pad_edge=False)
    table.add_column("Metric", no_wrap=True)
    table.add_column("Value", justify="right", no_wrap=True)
    table.add_column("What it means", ratio=1)
    for metric in an.metric_names([model_meta]):
        value = an.metric_value(model_meta, metric)
        meaning = Text(an.metric_help(metric))
        if value is None:
            reason = an.metric_reason(model_meta, metric) or "no reason was recorded."
            meaning.append(f"\nUndefined: {reason}", style="italic")
        table.add_row(
            Text(metric, style="bold"),
            Text(an.format_value(value), style="dim" if value is None else ""),
            meaning,
        )
    if sample.capped:
        table.add_row(
            "",
            "",
            Text(
                f"Metrics use all {sample.total} test rows; the charts show the "
                f"{sample.stored} stored.",
                style="italic",
            ),
        )
    return table


class AnalysisScreen(Screen[None]):
    """Charts, metrics and errors of one model, from its metadata dict."""

    DEFAULT_CSS = """
    AnalysisScreen #analysis-summary {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    AnalysisScreen TabbedContent, AnalysisScreen ContentSwitcher {
        height: 1fr;
    }
    AnalysisScreen TabPane {
        height: 1fr;
        padding: 0;
    }
    AnalysisScreen .chart-note {
        padding: 1 2;
        color: $text-muted;
    }
    AnalysisScreen #errors-status {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    AnalysisScreen #errors-table {
        height: 1fr;
    }
    AnalysisScreen .note {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    AnalysisScreen #metrics-pane {
        padding: 0 1;
    }
    AnalysisScreen #search-table {
        height: 1fr;
        max-height: 12;
    }
    """

    COMMANDS: ClassVar = {ScreenCommands}
    COMMAND_LABEL: ClassVar[str] = "Analysis"
    """Prefix of this screen's commands in the palette."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back to the models list", id="analysis.back"),
        Binding(
            "p",
            "points",
            "Points",
            tooltip="Show more or fewer rows on the actual vs predicted line",
            id="analysis.points",
        ),
        Binding(
            "o",
            "order",
            "Order",
            tooltip="Order the line by actual value, or as the rows were stored",
            id="analysis.order",
        ),
        Binding(
            "b", "bins", "Bins", tooltip="Change the histogram's bin count", id="analysis.bins"
        ),
        Binding("n", "top_n", "Top N", tooltip="Show more or fewer features", id="analysis.top_n"),
        Binding(
            "a",
            "parameter",
            "Parameter",
            tooltip="Chart the search's scores against the next parameter",
            id="analysis.parameter",
        ),
        Binding(
            "e",
            "export",
            "Export CSV",
            tooltip="Write the errors table to a new CSV file",
            id="analysis.export",
        ),
    ]

    _TAB_ACTIONS: ClassVar[dict[str, str]] = {
        "points": "line",
        "order": "line",
        "bins": "histogram",
        "top_n": "features",
        "parameter": "search",
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
        self.sample = an.prediction_sample(model_meta)
        """The stored prediction pairs."""
        self.max_points: int | None = 100
        """Rows on the actual vs predicted line (None: all)."""
        self.by_actual = True
        """Line chart rows ordered by actual value (shuffled test rows zig-zag otherwise)."""
        self.bins = 10
        """Histogram bins."""
        self.top_n: int | None = 10
        """Features on the importance chart (None: all)."""
        self.last_export: Path | None = None
        """The CSV written by the last export, if any."""
        self.sub_title = f"Analysis: {self.model_name}"
        self.search = search_record(model_meta)
        """The model's search record (candidates), or None when it was not searched."""
        self.search_parameter: str | None = (
            next(iter(chart_parameters(self.search)), None) if self.search else None
        )
        """The parameter the search chart shows the scores against."""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        """Summary line, the tabs and the footer."""
        yield Header(icon="▤")
        yield Static(self._summary(), id="analysis-summary")
        has_rows = self.sample.stored > 0
        note = self.sample.problem or "No predictions are stored for this model."
        with TabbedContent(initial="line"):
            with TabPane("Line", id="line"):
                if has_rows:
                    yield ActualPredictedChart(self._line(), id="line-chart")
                else:
                    yield Static(note, classes="chart-note")
            with TabPane("Scatter", id="scatter"):
                if has_rows:
                    yield ScatterChart(an.scatter_data(self.sample), id="scatter-chart")
                else:
                    yield Static(note, classes="chart-note")
            with TabPane("Residuals", id="residuals"):
                if has_rows:
                    yield ResidualChart(an.residuals(self.sample), id="residual-chart")
                else:
                    yield Static(note, classes="chart-note")
            with TabPane("Histogram", id="histogram"):
                if has_rows:
                    yield HistogramChart(self._histogram(), id="histogram-chart")
                else:
                    yield Static(note, classes="chart-note")
            with TabPane("Features", id="features"):
                importance = an.feature_importance(self.model_meta)
                if importance:
                    kind = an.importance_kind(self.model_meta)
                    yield FeatureChart(importance, self.top_n, kind, id="feature-chart")
                    yield Static(an.importance_note(kind), id="features-note", classes="note")
                else:
                    yield Static(
                        "This model stores no feature importances or coefficients "
                        "(models such as SVR, KNN and MLP have none).",
                        classes="chart-note",
                    )
            with TabPane("Metrics", id="metrics"), VerticalScroll(id="metrics-pane"):
                yield Static(self._metrics_table(), id="metrics-table")
            with TabPane("Errors", id="errors"):
                yield Static(self._errors_status(), id="errors-status")
                yield DataTable(id="errors-table", cursor_type="row", zebra_stripes=True)
            if self.search is not None:
                with TabPane("Search", id="search"):
                    yield from self._compose_search(self.search)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Fill the errors table."""
        table = self.query_one("#errors-table", DataTable)
        # The first column is the data file's row when the model stores it (else the
        # position in the test sample), and its header says which.
        row_label = an.row_label(self.sample)
        widths = {row_label: 8, "Actual": 10, "Predicted": 10, "Error": 10, "% error": 10}
        for key, (label, width) in zip(
            ("row", "actual", "predicted", "error", "percent"), widths.items(), strict=True
        ):
            table.add_column(label.rjust(width), key=key, width=width)
        w = list(widths.values())
        for index, row in enumerate(an.error_rows(self.sample)):
            table.add_row(
                str(row.row).rjust(w[0]),
                an.format_value(row.actual).rjust(w[1]),
                an.format_value(row.predicted).rjust(w[2]),
                an.format_value(row.error).rjust(w[3]),
                an.format_percent(row.percent_error).rjust(w[4]),
                key=str(index),
            )

    def _compose_search(self, record: dict[str, Any]) -> ComposeResult:
        """How the search ran, its candidates best first, and scores against a parameter."""
        cluster = self.model_meta.get("cluster")
        yield Static(
            record_summary(record, cluster if isinstance(cluster, Mapping) else None),
            id="search-summary",
            classes="note",
        )
        headers, rows = candidate_cells(record)
        table: DataTable[str] = DataTable(id="search-table", cursor_type="row", zebra_stripes=True)
        for index, header in enumerate(headers):
            table.add_column(header, key=f"c{index}")
        table.add_rows(rows)
        yield table
        if self.search_parameter is not None:
            yield SearchChart(score_points(record, self.search_parameter), id="search-chart")
        else:
            yield Static("Every candidate had the same parameters.", classes="chart-note")

    def _summary(self) -> str:
        kind = an.model_kind(self.model_meta) or "unknown kind"
        sample = self.sample
        if not sample.stored:
            rows = "no stored predictions"
        elif sample.capped:
            rows = f"{sample.stored} of {sample.total} test rows stored"
        else:
            rows = f"{sample.stored} test rows"
        r2 = an.format_value(an.metric_value(self.model_meta, "R2"))
        return f"{self.model_name} · {kind} · {rows} · R2 {r2}"

    def _metrics_table(self) -> Table:
        return metrics_table(self.model_meta, self.sample)

    def _errors_status(self) -> str:
        if not self.sample.stored:
            return self.sample.problem or "No predictions are stored for this model."
        text = f"{self.sample.stored} rows · error = actual - predicted · e: export to CSV"
        if self.last_export is not None:
            text = f"Exported to {self.last_export}"
        return f"{text}\n{an.row_note(self.sample)}"

    def _line(self) -> an.LineSeries:
        return an.actual_vs_predicted(self.sample, self.max_points, by_actual=self.by_actual)

    def _histogram(self) -> an.Histogram:
        return an.histogram(an.residuals(self.sample).residuals, self.bins)

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Show chart controls only on the tab they control."""
        tab = self._TAB_ACTIONS.get(action)
        if tab is None:
            return True
        if not self.query(f"#{tab} ChartPlot"):
            return False  # the tab shows a note instead of a chart
        return self.query_one(TabbedContent).active == tab

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Refresh the footer for the new tab."""
        self.refresh_bindings()

    def action_back(self) -> None:
        """Return to the screen underneath."""
        self.dismiss()

    def action_points(self) -> None:
        """Cycle the number of rows on the line chart."""
        self.max_points = next_choice(an.POINT_CHOICES, self.max_points)
        for chart in self.query(ActualPredictedChart):
            chart.update(self._line())
        self.notify(f"Line chart: {choice_text(self.max_points)} points", timeout=2)

    def action_order(self) -> None:
        """Switch the line chart between ordered by actual value and stored order."""
        self.by_actual = not self.by_actual
        for chart in self.query(ActualPredictedChart):
            chart.update(self._line())
        order = "by actual value" if self.by_actual else "as stored"
        self.notify(f"Line chart: rows {order}", timeout=2)

    def action_bins(self) -> None:
        """Cycle the histogram's bin count."""
        self.bins = next_choice(an.BIN_CHOICES, self.bins)
        for chart in self.query(HistogramChart):
            chart.update(self._histogram())
        self.notify(f"Histogram: {self.bins} bins", timeout=2)

    def action_top_n(self) -> None:
        """Cycle how many features are shown."""
        self.top_n = next_choice(an.TOP_N_CHOICES, self.top_n)
        for chart in self.query(FeatureChart):
            chart.update(self.top_n)
        self.notify(f"Features: top {choice_text(self.top_n)}", timeout=2)

    def action_parameter(self) -> None:
        """Chart the search's scores against the next parameter that varies."""
        if self.search is None or self.search_parameter is None:
            return
        names = tuple(chart_parameters(self.search))
        self.search_parameter = next_choice(names, self.search_parameter)
        for chart in self.query(SearchChart):
            chart.update(score_points(self.search, self.search_parameter))
        self.notify(f"Search chart: scores by {self.search_parameter}", timeout=2)

    def action_export(self) -> None:
        """Write the errors table to a new CSV file (in a worker: the disk may be slow)."""
        if not self.sample.stored:
            self.notify(f"{self.model_name} has no stored predictions to export.", severity="error")
            return
        self._export()

    @work(thread=True, exclusive=True, exit_on_error=False, group="export", description="Export")
    def _export(self) -> None:
        try:
            path = an.export_errors_csv(self.model_meta, self.export_dir)
        except an.AnalysisError as error:
            self.app.call_from_thread(self.notify, error.message, severity="error")
            return
        self.app.call_from_thread(self._exported, path)

    def _exported(self, path: Path) -> None:
        self.last_export = path
        self.query_one("#errors-status", Static).update(self._errors_status())
        self.notify(f"Errors exported to {path}", title="Export")
