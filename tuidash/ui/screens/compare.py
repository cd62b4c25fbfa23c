"""Comparison of several saved models: metrics table, grouped bars, overlay and a pair diff.

Works from the models' metadata dicts alone (nothing is unpickled). Pushed on top of the
Models section: ``app.push_screen(CompareScreen(models, export_dir))``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Select, Static, TabbedContent, TabPane

from tuidash.core import analysis as an
from tuidash.ui.commands import ScreenCommands
from tuidash.ui.screens.analysis import choice_text, next_choice
from tuidash.ui.widgets.charts import GroupedBarChart, OverlayChart

BEST_MARK = "*"
"""Appended to a best value so it shows without colour too."""


CLASS_RANK_METRICS = ("Balanced accuracy", "F1 macro")
"""The metrics classifiers may be recommended by (the first is the default)."""


class CompareScreen(Screen[None]):
    """Compare models from their metadata dicts: table, charts, recommendation, pair diff."""

    DEFAULT_CSS = """
    CompareScreen #compare-summary {
        height: auto;
        padding: 0 1;
    }
    CompareScreen #compare-group {
        width: 1fr;
        margin: 0 1;
    }
    CompareScreen TabbedContent, CompareScreen ContentSwitcher {
        height: 1fr;
    }
    CompareScreen TabPane {
        height: 1fr;
        padding: 0;
    }
    CompareScreen .note {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    CompareScreen #compare-table {
        height: auto;
        max-height: 1fr;
    }
    CompareScreen #pair-pickers {
        height: auto;
    }
    CompareScreen #pair-pickers Select {
        width: 1fr;
    }
    CompareScreen .pair-label {
        width: 3;
        padding: 1 0 0 1;
        text-style: bold;
    }
    CompareScreen #pair-metrics, CompareScreen #pair-params {
        height: auto;
    }
    """

    COMMANDS: ClassVar = {ScreenCommands}
    COMMAND_LABEL: ClassVar[str] = "Compare"
    """Prefix of this screen's commands in the palette."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back to the models list", id="compare.back"),
        Binding(
            "t",
            "transpose",
            "Transpose",
            tooltip="Swap the table's rows and columns",
            id="compare.transpose",
        ),
        Binding(
            "p",
            "points",
            "Points",
            tooltip="Show more or fewer rows on the overlay",
            id="compare.points",
        ),
        Binding(
            "o",
            "order",
            "Order",
            tooltip="Order the overlay by actual value, or as the rows were stored",
            id="compare.order",
        ),
        Binding(
            "e",
            "export",
            "Export CSV",
            tooltip="Write the comparison table to a new CSV file",
            id="compare.export",
        ),
        Binding(
            "m",
            "metric",
            "Rank by",
            tooltip="Recommend classifiers by balanced accuracy or by F1 macro",
            id="compare.metric",
        ),
    ]

    _TAB_ACTIONS: ClassVar[dict[str, str]] = {"points": "overlay", "order": "overlay"}
    """Actions that only make sense on one tab (hidden from the footer elsewhere)."""

    def __init__(self, models: Sequence[Mapping[str, Any]], export_dir: Path | str) -> None:
        super().__init__()
        self.all_models = list(models)
        """Every model given, in the order given."""
        self.groups = an.comparison_groups(self.all_models)
        """The models split by what they predict (same target of the same data)."""
        first = an.model_name(self.all_models[0]) if self.all_models else None
        self.group_index = next(
            (i for i, group in enumerate(self.groups) if first in group.names), 0
        )
        """The group shown: at first the one of the first model given."""
        self.export_dir = Path(export_dir)
        """Where exported CSV files are written (created when needed)."""
        self.transposed = False
        """True when models are columns instead of rows."""
        self.max_points: int | None = 100
        """Rows on the overlay (None: all)."""
        self.by_actual = True
        """Overlay rows ordered by actual value (shuffled test rows zig-zag otherwise)."""
        self.last_export: Path | None = None
        """The CSV written by the last export, if any."""
        self.initial_tab = "table"
        """The tab shown when the screen is (re)composed."""
        self.class_metric = CLASS_RANK_METRICS[0]
        """The metric classifiers are recommended by (``m`` switches it)."""
        count = len(self.all_models)
        self.sub_title = f"Compare {count} model{'' if count == 1 else 's'}"

    @property
    def group(self) -> an.ModelGroup | None:
        """The group of models shown (None when there are no models)."""
        return self.groups[self.group_index] if self.groups else None

    @property
    def models(self) -> list[Mapping[str, Any]]:
        """The models shown: only models comparable with each other."""
        return list(self.group.models) if self.group else []

    @property
    def names(self) -> list[str]:
        """Names of the models shown, in order."""
        return [an.model_name(m) for m in self.models]

    @property
    def ranked(self) -> bool:
        """True when the models shown may be ranked (two or more, of known data)."""
        return self.group is not None and self.group.known and len(self.models) > 1

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        """Summary, the tabs and the footer."""
        yield Header(icon="▤")
        if len(self.groups) > 1:
            options = [
                (f"{group.label} · {_count(len(group.models))}", index)
                for index, group in enumerate(self.groups)
            ]
            yield Select(
                options,
                value=self.group_index,
                allow_blank=False,
                compact=True,
                id="compare-group",
            )
        yield Static(self._summary(), id="compare-summary")
        with TabbedContent(initial=self.initial_tab):
            with TabPane("Table", id="table"), VerticalScroll():
                # No cursor: a highlighted row would hide the colour of the best values.
                yield DataTable(id="compare-table", cursor_type="none", zebra_stripes=True)
                yield Static(self._best_text(), id="best-per-metric", classes="note")
                yield Static("", id="export-status", classes="note")
            with TabPane("Chart", id="chart"):
                bars = an.normalised_metrics(self.models)
                if bars.metrics:
                    yield GroupedBarChart(bars, id="bars-chart")
                yield Static(self._bars_note(bars), id="bars-note", classes="note")
            with TabPane("Overlay", id="overlay"):
                overlay = self._overlay()
                if overlay.ok:
                    yield OverlayChart(overlay, id="overlay-chart")
                yield Static(overlay.message, id="overlay-note", classes="note")
            with TabPane("Pair", id="pair"), VerticalScroll():
                if len(self.models) < 2:
                    yield Static(
                        "This group has one model: nothing to pair."
                        if len(self.groups) > 1
                        else "Pick at least two models on the Models screen to compare a pair.",
                        classes="note",
                    )
                else:
                    options = [(name, index) for index, name in enumerate(self.names)]
                    with Horizontal(id="pair-pickers"):
                        yield Static("A", classes="pair-label")
                        yield Select(options, value=0, allow_blank=False, id="pair-a")
                        yield Static("B", classes="pair-label")
                        yield Select(options, value=1, allow_blank=False, id="pair-b")
                    yield Static("", id="pair-kinds", classes="note")
                    yield DataTable(id="pair-metrics", cursor_type="none", zebra_stripes=True)
                    yield Static("", id="pair-params-title", classes="note")
                    yield DataTable(id="pair-params", cursor_type="none", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Fill the tables."""
        self._fill_table()
        if len(self.models) >= 2:
            self._fill_pair(0, 1)

    def _summary(self) -> str:
        group = self.group
        if group is None:
            return "No models to compare: pick models on the Models screen."
        parts = []
        if len(self.groups) > 1:
            parts.append(
                f"{len(self.groups)} groups: these models predict different targets or use "
                "different data, and a model is only ranked against models of the same "
                "target and data."
            )
        if not group.known:
            refused = an.comparable(group.models)
            if refused is None:
                refused = (
                    f"The data of {group.names[0]} is unknown (saved without a data "
                    "fingerprint), so it is not ranked."
                )
            parts.append(refused)
        else:
            parts.append(an.recommend(group.models, self.rank_metric()).text)
            if len(self.all_models) == 1:
                parts.append("Pick two or more models on the Models screen to compare them.")
            note = group.test_rows_note()
            if note:
                parts.append(note)
        return " ".join(parts)

    def _best_text(self) -> str:
        if self.group is not None and not self.group.known:
            return "Not ranked: the data of these models is unknown."
        if len(self.models) < 2:
            return "One model: nothing to rank."
        winners = an.best_models(self.models)
        by_model: dict[str, list[str]] = {}
        for metric, names in winners.items():
            for name in names:
                by_model.setdefault(name, []).append(metric)
        parts = [f"{name}: {', '.join(metrics)}" for name, metrics in by_model.items()]
        undefined = [m for m in an.metric_names(self.models) if m not in winners]
        text = "Best (*): " + (" · ".join(parts) if parts else "no metric is defined")
        if undefined:
            text += f"\nUndefined for every model: {', '.join(undefined)}"
        return text

    def _bars_note(self, bars: an.GroupedBars) -> str:
        if not bars.metrics:
            return "No metric is defined for these models."
        if self.group is not None and self.group.task == "classification":
            text = "Higher is better except Log loss. Exact values: Table tab."
        else:
            text = "Lower is better except R2. Exact values: Table tab."
        left_out = [m for m in an.metric_names(self.models) if m not in bars.metrics]
        if left_out:
            text += f" Undefined for every model (left out): {', '.join(left_out)}."
        if bars.undefined:
            missing = ", ".join(f"{name} {metric}" for name, metric in bars.undefined)
            text += f" Undefined (drawn as 0): {missing}."
        return text

    def _cell(self, metric: str, value: float | None, best: dict[str, float], width: int) -> Text:
        """A right-aligned value; the best value of its metric is bold, coloured and starred."""
        if value is None:
            return Text((an.UNDEFINED + " ").rjust(width), style="dim")
        if an.is_best(value, best.get(metric)) and self.ranked:
            colour = self.app.theme_variables.get("success", "green")
            return Text((an.format_value(value) + BEST_MARK).rjust(width), style=f"bold {colour}")
        return Text((an.format_value(value) + " ").rjust(width))

    def _fill_table(self) -> None:
        table = self.query_one("#compare-table", DataTable)
        table.clear(columns=True)
        grid = an.metrics_table(self.models)
        best = an.best_values(self.models)
        value_width = 10
        if not self.transposed:
            # Model names get what the metric columns (and cell padding) leave of the width.
            name_width = max(12, min(30, self.app.size.width - len(grid.column_labels) * 12 - 4))
            table.add_column("Model", key="model")
            for metric in grid.column_labels:
                header = metric.rjust(value_width - 1) + " "
                table.add_column(header, key=metric, width=value_width)
            for name, values in zip(grid.row_labels, grid.values, strict=True):
                table.add_row(
                    an.shorten_label(name, name_width),
                    *(
                        self._cell(metric, value, best, value_width)
                        for metric, value in zip(grid.column_labels, values, strict=True)
                    ),
                )
        else:
            flipped = grid.transposed()
            # Models are columns now: give their names what room the screen has.
            room = (self.app.size.width - 10) // max(len(flipped.column_labels), 1) - 2
            value_width = max(10, min(20, room))
            table.add_column("Metric", key="metric")
            for index, name in enumerate(flipped.column_labels):
                label = an.shorten_label(name, value_width - 1).rjust(value_width - 1) + " "
                table.add_column(label, key=f"m{index}", width=value_width)
            for metric, values in zip(flipped.row_labels, flipped.values, strict=True):
                table.add_row(
                    metric, *(self._cell(metric, value, best, value_width) for value in values)
                )

    def _fill_pair(self, a_index: int, b_index: int) -> None:
        kinds = self.query_one("#pair-kinds", Static)
        metrics_table = self.query_one("#pair-metrics", DataTable)
        params_table = self.query_one("#pair-params", DataTable)
        params_title = self.query_one("#pair-params-title", Static)
        metrics_table.clear(columns=True)
        params_table.clear(columns=True)
        if a_index == b_index:
            kinds.update("Pick two different models.")
            params_title.update("")
            metrics_table.display = params_table.display = False
            return
        metrics_table.display = True
        diff = an.pairwise_diff(self.models[a_index], self.models[b_index])
        kind_a, kind_b = diff.kinds[0] or "unknown kind", diff.kinds[1] or "unknown kind"
        if diff.same_kind:
            kinds.update(f"Both are {kind_a}. B - A per metric:")
        else:
            kinds.update(f"A is {kind_a}, B is {kind_b}. B - A per metric:")
        widths = {"Metric": 6, "A": 10, "B": 10, "B - A": 10, "%": 9}
        for index, (label, width) in enumerate(widths.items()):
            text = label if index == 0 else label.rjust(width)
            metrics_table.add_column(text, key=f"c{index}", width=width)
        metrics_table.add_column("Better", key="better")
        w = list(widths.values())
        for row in diff.metrics:
            metrics_table.add_row(
                row.metric,
                an.format_value(row.a).rjust(w[1]),
                an.format_value(row.b).rjust(w[2]),
                an.format_signed(row.difference).rjust(w[3]),
                an.format_percent(row.percent).rjust(w[4]),
                an.shorten_label(row.better, 20) if row.better else "-",
            )
        if not diff.params:
            params_title.update("Parameters: the two models have the same parameters.")
            params_table.display = False
            return
        params_title.update(f"Parameters that differ ({len(diff.params)}; same ones hidden):")
        params_table.display = True
        params_table.add_column("Parameter", key="name")
        params_table.add_column("A", key="a")
        params_table.add_column("B", key="b")
        for param in diff.params:
            params_table.add_row(
                an.shorten_label(param.name, 24),
                an.shorten_label(param.a, 24),
                an.shorten_label(param.b, 24),
            )

    # ------------------------------------------------------------------ actions

    async def on_select_changed(self, event: Select.Changed) -> None:
        """Show the newly picked group, or pair."""
        if event.select.id == "compare-group":
            if isinstance(event.value, int) and event.value != self.group_index:
                self.group_index = event.value
                # Another group: the same tab, with that group's table, charts and pair.
                self.initial_tab = self.query_one(TabbedContent).active or "table"
                await self.recompose()
                self.on_mount()
                self.refresh_bindings()
            return
        a, b = self.query_one("#pair-a", Select).value, self.query_one("#pair-b", Select).value
        if isinstance(a, int) and isinstance(b, int):
            self._fill_pair(a, b)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Show overlay controls only on the overlay tab (and only when it has a chart)."""
        if action == "metric":
            return self.group is not None and self.group.task == "classification"
        tab = self._TAB_ACTIONS.get(action)
        if tab is None:
            return True
        if not self.query(OverlayChart):
            return False
        return self.query_one(TabbedContent).active == tab

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """Refresh the footer for the new tab."""
        self.refresh_bindings()

    def action_back(self) -> None:
        """Return to the screen underneath."""
        self.dismiss()

    def rank_metric(self) -> str | None:
        """The metric the shown group is recommended by (None: the task's own, R2)."""
        if self.group is not None and self.group.task == "classification":
            return self.class_metric
        return None

    def action_metric(self) -> None:
        """Recommend classifiers by the other metric (balanced accuracy or F1 macro)."""
        self.class_metric = next_choice(CLASS_RANK_METRICS, self.class_metric)
        self.query_one("#compare-summary", Static).update(self._summary())
        self.notify(f"Recommended by {self.class_metric}", timeout=2)

    def action_transpose(self) -> None:
        """Swap the table's rows and columns (and show the table)."""
        self.transposed = not self.transposed
        self._fill_table()
        self.query_one(TabbedContent).active = "table"

    def action_points(self) -> None:
        """Cycle the number of rows on the overlay."""
        self.max_points = next_choice(an.POINT_CHOICES, self.max_points)
        self._redraw_overlay()
        self.notify(f"Overlay: {choice_text(self.max_points)} points", timeout=2)

    def action_order(self) -> None:
        """Switch the overlay between ordered by actual value and stored order."""
        self.by_actual = not self.by_actual
        self._redraw_overlay()
        order = "by actual value" if self.by_actual else "as stored"
        self.notify(f"Overlay: rows {order}", timeout=2)

    def _overlay(self) -> an.Overlay:
        return an.predictions_overlay(self.models, self.max_points, by_actual=self.by_actual)

    def _redraw_overlay(self) -> None:
        overlay = self._overlay()
        for chart in self.query(OverlayChart):
            chart.update(overlay)
        self.query_one("#overlay-note", Static).update(overlay.message)

    def action_export(self) -> None:
        """Write the comparison table to a new CSV file (in a worker: the disk may be slow)."""
        if not self.models:
            self.notify("There are no models to export.", severity="error")
            return
        self._export()

    @work(thread=True, exclusive=True, exit_on_error=False, group="export", description="Export")
    def _export(self) -> None:
        try:
            path = an.export_comparison_csv(self.models, self.export_dir)
        except an.AnalysisError as error:
            self.app.call_from_thread(self.notify, error.message, severity="error")
            return
        self.app.call_from_thread(self._exported, path)

    def _exported(self, path: Path) -> None:
        self.last_export = path
        self.query_one("#export-status", Static).update(f"Exported to {path}")
        self.notify(f"Comparison exported to {path}", title="Export")


def _count(models: int) -> str:
    """ "1 model", "3 models"."""
    return f"{models} model{'' if models == 1 else 's'}"
