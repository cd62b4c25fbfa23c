"""Models section: one row per saved model (its latest version) with metrics, status and
details; a filter, marks for Compare, the versions of the highlighted model; load, delete.

The version keys (alias, roll back, delete a version, note, tags, rename, compare
versions) are in ``model_versions``; the versions list and chart in ``widgets/versions``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import ColumnKey

from tuidash.core import analysis as an
from tuidash.core.catalog import CATALOGS
from tuidash.core.text import duration_text, number_text, size_text
from tuidash.ui.modals.confirm import ConfirmModal
from tuidash.ui.screens.base import SectionScreen
from tuidash.ui.screens.model_versions import VERSION_BINDINGS, VersionKeys
from tuidash.ui.sections import section_bindings
from tuidash.ui.widgets.versions import main_metric, versions_text

if TYPE_CHECKING:
    from tuidash.ui.messages import ModelLoadProgress, ModelsLoadFinished
    from tuidash.ui.state import Actions, AppState, Settings, StoreState

METRICS = ("R2", "RMSE", "MAE", "MAPE", "MSE")
"""Metric columns of regressors, in the order shown."""
CLASSIFICATION_METRICS = ("Balanced accuracy", "Accuracy", "F1 macro", "ROC AUC", "Log loss")
"""Metric columns of classifiers, in the order shown."""
METRIC_LABELS = {"Balanced accuracy": "Bal. acc", "Accuracy": "Acc"}
"""Short column headers of long metric names."""
HIGHER_IS_BETTER = {"R2"} | set(CLASSIFICATION_METRICS) - {"Log loss"}
"""Metrics where a larger value is better (the others are errors)."""
SORT_COLUMNS = ("name", *METRICS, "saved_at", "size")
"""Columns the "o" key cycles through (a store with classifiers adds their metrics)."""


def model_task(entry: dict[str, Any]) -> str:
    """regression or classification (entries saved before classification are regressors)."""
    return "classification" if entry.get("task") == "classification" else "regression"


def metric_columns(entries: list[dict[str, Any]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the metric columns right after the kind, the ones after target and data).

    A store of regressors shows exactly the regression columns; a store of classifiers
    the classification ones; with both, each task's main metric comes first.
    """
    tasks = {model_task(entry) for entry in entries}
    if "classification" not in tasks:
        return METRICS[:2], METRICS[2:]
    if tasks == {"classification"}:
        return CLASSIFICATION_METRICS[:2], CLASSIFICATION_METRICS[2:]
    return ("R2", "Balanced accuracy"), (*METRICS[1:], "Accuracy", *CLASSIFICATION_METRICS[2:])


def kind_label(entry: dict[str, Any]) -> str:
    """The display name of an entry's model kind (of its task)."""
    model_type = entry.get("model_type") or ""
    kind = CATALOGS.get(model_task(entry), {}).get(str(model_type))
    return kind.display_name if kind else (str(model_type) or "?")


def metric_value(entry: dict[str, Any], metric: str) -> float | None:
    """One metric of an entry, or None when undefined or missing."""
    value = (entry.get("metrics") or {}).get(metric)
    return float(value) if isinstance(value, int | float) else None


def best_by_r2(entries: dict[str, dict[str, Any]]) -> set[str]:
    """The models with the best main metric (R2; balanced accuracy for classifiers) among
    the models comparable with them.

    Models are comparable when they predict the same target of the same data with the
    same task; a model
    whose data is unknown is never marked (see ``core.analysis.comparison_groups``).
    """
    entries_named = [{**entry, "name": name} for name, entry in entries.items()]
    best: set[str] = set()
    for group in an.comparison_groups(entries_named):
        winners = an.best_per_group(group.models)
        if winners:
            # Ties go to the name that sorts first, the row shown first among equals.
            best.add(min(winners, key=str.lower))
    return best


TASK_CELLS = {"regression": "regr.", "classification": "class."}
"""The Task column's cells (the column shows only when a classifier is saved)."""


SECTIONS = Binding.Group("Sections", compact=True)
"""The section keys share one footer label on this screen: at 80 columns there is no
room for each key's own description after the Models keys."""


def matches(entry: dict[str, Any], words: str) -> bool:
    """Whether every word of a filter is in the entry's name, kind, target or a tag."""
    data = entry.get("data") or {}
    haystack = " ".join(
        [
            str(entry.get("name") or ""),
            kind_label(entry),
            str(entry.get("model_type") or ""),
            str(data.get("target") or "") if isinstance(data, dict) else "",
            *[str(tag) for tag in entry.get("tags") or []],
        ]
    ).lower()
    return all(word in haystack for word in words.lower().split())


def version_cell(entry: dict[str, Any]) -> str:
    """``v4 (3)``: the latest version's number and how many versions the name has (earlier
    ones may have been deleted or pruned, so the two can differ)."""
    return f"v{entry.get('version') or 1} ({entry.get('versions') or 1})"


def data_file(entry: dict[str, Any]) -> str:
    """The data file a model was trained on, its file name only (``sample:diabetes``)."""
    data = entry.get("data") or {}
    source = str(data.get("source") or "") if isinstance(data, dict) else ""
    return source.replace("\\", "/").rsplit("/", 1)[-1]


class ModelsScreen(VersionKeys, SectionScreen):
    """The table of saved models and the detail of the highlighted one."""

    TITLE_TEXT = "Models"
    # The footer shows keys in binding order and cuts what does not fit at 80 columns:
    # the keys used most come first, the rare ones are only in the command palette and
    # the keys list (show=False), and the section keys come last, under one label.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "a",
            "analyse",
            "Analyse",
            tooltip="Charts, metrics and errors of the highlighted model",
            id="m-analyse",
        ),
        Binding(
            "v",
            "compare",
            "Compare",
            tooltip="Compare the marked models (space marks), else the highlighted one's group",
            id="m-compare",
        ),
        Binding(
            "slash",
            "filter",
            "Filter",
            tooltip="Filter by name, kind, target or tag",
            id="m-filter",
        ),
        Binding(
            "space",
            "mark",
            "Mark",
            tooltip="Mark or unmark the highlighted model for Compare",
            id="m-mark",
            show=False,
        ),
        Binding(
            "p",
            "predict",
            "Predict",
            tooltip="Predict with the highlighted model on a new data file",
            id="m-predict",
        ),
        Binding("o", "sort_next", "Sort", tooltip="Sort by the next column", id="m-sort"),
        Binding("l", "load", "Load", tooltip="Load the highlighted model into memory", id="m-load"),
        Binding(
            "delete",
            "delete",
            "Delete",
            key_display="Del",
            tooltip="Delete the highlighted model from disk (asks first)",
            id="m-delete",
        ),
        Binding(
            "u",
            "unload",
            "Unload",
            tooltip="Free the highlighted model's memory",
            id="m-unload",
            show=False,
        ),
        Binding(
            "r",
            "reload_all",
            "Reload all",
            tooltip="Load every model from disk again",
            id="m-reload",
            show=False,
        ),
        Binding(
            "c",
            "clear_memory",
            "Clear memory",
            tooltip="Free every loaded model; files stay on disk",
            id="m-clear-memory",
            show=False,
        ),
        Binding(
            "ctrl+d",
            "delete_all",
            "Delete all",
            tooltip="Delete every saved model from disk (asks first)",
            id="m-delete-all",
            show=False,
        ),
        *VERSION_BINDINGS,
        Binding(
            "escape",
            "clear_filter",
            "Clear filter",
            tooltip="Clear the filter and the marks",
            id="m-clear-filter",
            show=False,
        ),
        *section_bindings(group=SECTIONS, hidden="models"),
    ]

    def __init__(self, store: StoreState, settings: Settings, actions: Actions) -> None:
        super().__init__(store, settings)
        self.actions = actions
        """Opens analyses, comparisons and predictions; runs store actions."""
        self.sort_column: str = "R2"
        """The column the table is sorted by."""
        self.sort_reverse: bool = True
        """Descending (best R2 first by default)."""
        self._redraw_pending = False
        self._statuses: dict[str, str] = {}
        """Name -> the status each row shows (updated in place while models load)."""
        self.filter_text: str = ""
        """Words every shown model has in its name, kind, target or tags."""
        self.marked: set[str] = set()
        """Models marked (space) for Compare."""
        self._asked: set[str] = set()
        self._fill_generation = 0
        """Counts table rebuilds (rows still being added belong to the last one)."""
        self._shown_entries: dict[str, dict[str, Any]] | None = None
        """The store's entries mapping the table was last built from."""

    @classmethod
    def for_app(cls, state: AppState, actions: Actions) -> ModelsScreen:
        """The Models section of the app's store."""
        return cls(state.store, state.settings, actions)

    def compose_body(self) -> ComposeResult:
        """The table and the detail pane."""
        with Vertical(id="models-body"):
            yield Static("", id="models-summary")
            # Disabled while hidden: a hidden input would still take the first focus.
            yield Input(
                placeholder="filter: name, kind, target or tag", id="models-filter", disabled=True
            )
            yield ModelsTable(id="models-table", cursor_type="row", zebra_stripes=True)
            # The versions chart is mounted beside the text when a model has several.
            with Horizontal(id="models-detail"), VerticalScroll(id="detail-scroll"):
                yield Static("", id="detail")

    def _add_columns(self, table: DataTable[Any], rows: list[list[Any]]) -> None:
        """The columns, with an arrow on the sorted one, each as wide as its widest cell."""
        # Status right after the name: at 80 columns the rightmost columns scroll away.
        main, rest = self.metric_columns()
        labels = {"mark": "✓", "best": "★", "name": "Name", "v": "v"}
        labels.update({"status": "Status", "kind": "Kind"})
        if self.has_classifiers():
            labels["task"] = "Task"
        labels.update({m: METRIC_LABELS.get(m, m) for m in main})
        labels.update({"target": "Target", "data": "Data"})
        labels.update({m: METRIC_LABELS.get(m, m) for m in rest})
        labels.update({"size": "Size", "saved_at": "Saved at"})
        for index, (key, label) in enumerate(labels.items()):
            if key == self.sort_column:
                label += " ▼" if self.sort_reverse else " ▲"
            # Widths are given, not measured by the table when it is next idle: an auto
            # width starts at the label's width, so a frame drawn before that measurement
            # (a redraw during loading, a snapshot) showed every cell cut to its label.
            width = max([cell_len(label), *(_cell_width(row[index]) for row in rows)])
            table.add_column(label, key=key, width=width)

    def on_mount(self) -> None:
        """Follow the store's listings and reports."""
        self.follow(self.store.listed, self._redraw)
        self.follow(self.store.reported, self._reported)
        self.follow(self.store.versions_listed, self._versions_listed)
        super().on_mount()

    def sync(self) -> None:
        """Show the store's entries."""
        self.redraw()

    # ----- table -----------------------------------------------------------------------------

    def has_classifiers(self) -> bool:
        """Whether any saved model is a classifier (the table then shows the task)."""
        return any(model_task(e) == "classification" for e in self.store.entries.values())

    def metric_columns(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The metric columns of the table (see :func:`metric_columns`)."""
        return metric_columns(list(self.store.entries.values()))

    def sort_columns(self) -> tuple[str, ...]:
        """Columns the "o" key cycles through."""
        main, rest = self.metric_columns()
        return ("name", *main, *rest, "saved_at", "size")

    def _sort_key(self, entry: dict[str, Any]) -> tuple[int, Any]:
        column = self.sort_column
        value: float | str | None
        if column in METRICS or column in CLASSIFICATION_METRICS:
            value = metric_value(entry, column)
        elif column == "size":
            value = entry.get("size_bytes")
        elif column == "saved_at":
            value = str(entry.get("saved_at") or "")
        else:
            value = str(entry.get("name", "")).lower()
        # Undefined values always go last, whatever the direction.
        missing = value is None
        return (1 if missing else 0, value if not missing else 0)

    def ordered(self) -> list[dict[str, Any]]:
        """Entries in the table's order."""
        entries = [e for e in self.store.entries.values() if matches(e, self.filter_text)]
        present = [e for e in entries if self._sort_key(e)[0] == 0]
        missing = [e for e in entries if self._sort_key(e)[0] == 1]
        # Names A to Z among equal values: sort by name, then (stably) by the column.
        present.sort(key=lambda e: str(e.get("name", "")).lower())
        present.sort(key=self._sort_key, reverse=self.sort_reverse)
        missing.sort(key=lambda e: str(e.get("name", "")).lower())
        return present + missing

    def _redraw(self, store: StoreState) -> None:
        """The store was listed or measured again (versions are asked for again)."""
        self._asked = {name for name in self._asked if name in store.versions}
        self.redraw()

    def _reported(self, store: StoreState) -> None:
        """A storage report: rebuild the table only when its problem rows changed (a
        rebuild of thousands of rows is slow); else update statuses and the summary."""
        shown = {n for n, status in self._statuses.items() if n not in store.entries}
        problems = {n for n in store.problem_entries() if n not in store.entries}
        table = self.query_one("#models-table", DataTable)
        statuses = {store.model_status(name) for name in self._statuses}
        width = max([cell_len("Status"), *map(cell_len, statuses)])
        column = table.columns.get(ColumnKey("status"))
        same_width = column is not None and column.width == width
        same = self._shown_entries is store.entries and problems == shown and same_width
        if same and not self.filter_text:
            self._redraw_statuses()
            return
        self._redraw(store)

    def redraw(self) -> None:
        """Rebuild the table, keeping the highlighted row."""
        store = self.store
        table = self.query_one("#models-table", DataTable)
        current = self.highlighted_name()
        best = best_by_r2(store.entries)
        main, rest = self.metric_columns()
        if self.sort_column not in self.sort_columns():
            # The metric sorted by is not shown (a store of classifiers): sort by the first.
            self.sort_column, self.sort_reverse = main[0], main[0] in HIGHER_IS_BETTER
        classifiers = self.has_classifiers()
        rows: list[tuple[str, list[Any]]] = []
        statuses: dict[str, str] = {}
        for entry in self.ordered():
            name = str(entry["name"])
            own = CLASSIFICATION_METRICS if model_task(entry) == "classification" else METRICS
            metrics = [
                ""  # a metric of the other task
                if m not in own
                else Text("undefined", style="dim")
                if v is None
                else number_text(v)
                for m, v in ((m, metric_value(entry, m)) for m in (*main, *rest))
            ]
            status = store.model_status(name)
            statuses[name] = status
            style = {"loaded": "bold", "problem": "red"}.get(status, "")
            data = entry.get("data") or {}
            cells: list[Any] = [
                "✓" if name in self.marked else "",
                "★" if name in best else "",
                Text(name),
                version_cell(entry),
                Text(status, style=style),
                kind_label(entry),
                *([TASK_CELLS[model_task(entry)]] if classifiers else []),
                *metrics[: len(main)],
                str(data.get("target") or "") if isinstance(data, dict) else "",
                data_file(entry),
                *metrics[len(main) :],
                size_text(entry.get("size_bytes")),
                str(entry.get("saved_at") or ""),
            ]
            rows.append((name, cells))
        for name in store.problem_entries():
            if name in store.entries or not matches({"name": name}, self.filter_text):
                continue
            statuses[name] = "problem"
            cells = ["", "", Text(name), "", Text("problem", style="red"), "?"]
            cells += [""] if classifiers else []
            cells += [*[Text("—", style="dim") for _ in main], "", ""]
            cells += [*[Text("—", style="dim") for _ in rest], "", ""]
            rows.append((name, cells))
        self.marked &= set(store.entries)
        self._statuses = statuses
        self._shown_entries = store.entries
        table.clear(columns=True)
        self._add_columns(table, [cells for _, cells in rows])
        self._fill_generation += 1
        self._add_rows(table, rows, 0, current, self._fill_generation)
        self._summary()
        self._show_detail()

    def _add_rows(
        self,
        table: DataTable[Any],
        rows: list[tuple[str, list[Any]]],
        start: int,
        current: str | None,
        generation: int,
    ) -> None:
        """Add ``rows[start:]`` to the table, ROWS_AT_ONCE at a time: the first rows show at
        once and the event loop stays free between the others (thousands of models)."""
        if generation != self._fill_generation:
            return  # the table was rebuilt since
        for name, cells in rows[start : start + ROWS_AT_ONCE]:
            status = self.store.model_status(name)
            if start and self._statuses.get(name) != status:  # loaded since the rebuild
                self._statuses[name] = status
                style = {"loaded": "bold", "problem": "red"}.get(status, "")
                cells = [*cells[:4], Text(status, style=style), *cells[5:]]
            table.add_row(*cells, key=name)
        if current is not None and current in table.rows:
            table.move_cursor(row=table.get_row_index(current))
            current = None
        if start + ROWS_AT_ONCE < len(rows):
            self.set_timer(
                0.001,
                lambda: self._add_rows(table, rows, start + ROWS_AT_ONCE, current, generation),
            )

    def _summary(self) -> None:
        store = self.store
        count = len(store.entries)
        loaded = sum(1 for name in store.entries if store.is_loaded(name))
        total = sum(int(e.get("size_bytes") or 0) for e in store.entries.values())
        if count == 0:
            text = "No saved models yet. Press d to open data, then t to train one."
        elif self.filter_text:
            shown = len(self.ordered())
            text = f"Filter {self.filter_text!r}: {shown} of {count} models shown (Esc clears it)."
        else:
            noun = "model" if count == 1 else "models"
            entries = [{**e, "name": n} for n, e in store.entries.items()]
            groups = an.comparison_groups(entries)
            known = sum(1 for g in groups if g.known)
            tasks = {model_task(e) for e in store.entries.values()}
            metric = {
                frozenset({"regression"}): "R2",
                frozenset({"classification"}): "balanced accuracy",
            }.get(frozenset(tasks), "R2 / balanced accuracy")
            star = f"★ = best {metric}"
            if known > 1:
                star += " per data and target"
            unknown = sum(len(g.models) for g in groups if not g.known)
            if unknown:
                star += f" ({unknown} with data unknown: not ranked)"
            text = (
                f"{count} saved {noun} ({size_text(total)}), {loaded} loaded in memory. "
                f"Sorted by {self.sort_column}; {star}."
            )
        self.query_one("#models-summary", Static).update(text)

    def highlighted_name(self) -> str | None:
        """The name of the highlighted model."""
        table = self.query_one("#models-table", DataTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:
            return None
        return str(key.value) if key.value is not None else None

    @on(DataTable.RowHighlighted, "#models-table")
    def _row_highlighted(self) -> None:
        self._show_detail()

    @on(DataTable.HeaderSelected, "#models-table")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column in ("mark", "best", "kind", "task", "status", "v", "target", "data"):
            return
        self._sort_by(column)

    def _sort_by(self, column: str) -> None:
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = column
            # Best first: highest R2, lowest errors, newest, largest, A to Z.
            self.sort_reverse = column in HIGHER_IS_BETTER or column in ("saved_at", "size")
        self.redraw()

    def action_sort_next(self) -> None:
        """Sort by the next column."""
        columns = self.sort_columns()
        index = columns.index(self.sort_column) if self.sort_column in columns else -1
        self._sort_by(columns[(index + 1) % len(columns)])

    # ----- detail ----------------------------------------------------------------------------

    def _show_detail(self) -> None:
        name = self.highlighted_name()
        detail = self.query_one("#detail", Static)
        entry = self.store.entries.get(name) if name else None
        problem = self.store.problem_entries().get(name or "")
        if entry is None and problem is not None:
            text = Text()
            text.append(str(name), style="bold")
            text.append(f"  {problem.get('kind', 'problem')} entry\n")
            text.append(f"{problem.get('reason', '')}\n", style="red")
            files = ", ".join(str(f) for f in problem.get("files") or [])
            text.append(f"Files: {files}\nPress s for Storage to remove or re-check it.")
            detail.update(text)
            return
        if entry is None or name is None:
            detail.update("")
            self._chart(None)
            return
        rows = self.store.versions.get(name)
        unlisted = self.store.version_problems.get(name)
        self._chart(rows if rows is not None and len(rows) > 1 else None)
        if rows is not None:
            versions = versions_text(rows, main_metric(rows))
        elif unlisted:
            versions = Text(f"Versions cannot be listed: {unlisted}", style="red")
        else:
            versions = Text("Reading the versions…", style="dim")
            self._ask_versions(name)
        detail.update(self.detail_text(entry, versions))

    def _chart(self, rows: list[dict[str, Any]] | None) -> None:
        """Chart these versions beside the text (mounting the chart the first time), or
        hide the chart (None)."""
        charts = self.query("#version-chart")
        if rows is None:
            for chart in charts:
                chart.display = False
            return
        from tuidash.ui.widgets.version_chart import VersionChart

        if not charts:
            chart = VersionChart(id="version-chart")
            self.query_one("#models-detail").mount(chart)
        else:
            chart = self.query_one("#version-chart", VersionChart)
        chart.display = True
        if chart.rows != rows:
            chart.show(rows)

    def _ask_versions(self, name: str) -> None:
        """Ask for the versions of ``name`` once per listing."""
        if name not in self._asked:
            self._asked.add(name)
            self.actions.list_versions(name)

    def _versions_listed(self, name: str) -> None:
        if name == self.highlighted_name():
            self._show_detail()

    def detail_text(self, entry: dict[str, Any], versions: Text | None = None) -> Text:
        """Metadata of one entry: metrics, ``versions`` (the list, if given), params, data,
        environment, warnings."""
        name = str(entry["name"])
        text = Text()
        text.append(name, style="bold")
        text.append(f"  {kind_label(entry)} · {self.store.model_status(name)}\n")
        problem = self.store.load_failures.get(name)
        if problem:
            text.append(f"Could not be loaded: {problem}\n", style="red")
        for warning in entry.get("environment_mismatch") or []:
            text.append(f"⚠ {warning}\n", style="yellow")
        classifier = model_task(entry) == "classification"
        data_info = entry.get("data") or {}
        if classifier and isinstance(data_info, dict) and data_info.get("task_reason"):
            text.append(f"Classifier: {data_info['task_reason']}\n")
        reasons = entry.get("metric_reasons") or {}
        parts = []
        for metric in CLASSIFICATION_METRICS if classifier else METRICS:
            value = metric_value(entry, metric)
            if value is None:
                parts.append(f"{metric} undefined — {reasons.get(metric, 'not recorded')}")
            else:
                parts.append(f"{metric} {number_text(value)}")
        text.append("Metrics: " + " · ".join(parts) + "\n")
        if versions is not None:
            text.append_text(versions)
            text.append("\n")
        params = entry.get("params") or {}
        if params:
            text.append(
                "Parameters: " + ", ".join(f"{k}={_short(v)}" for k, v in params.items()) + "\n"
            )
        data = entry.get("data") or {}
        if data:
            features = data.get("features") or []
            source = str(data.get("source") or "?")
            if not self.settings.show_paths and "/" in source:
                source = source.rsplit("/", 1)[-1]
            text.append(
                f"Data: {source}, {data.get('rows', '?')} rows, target {data.get('target')!r}, "
                f"{len(features)} features, test size {data.get('test_size', '?')}, "
                f"random state {data.get('random_state', '?')}\n"
            )
        if not an.provenance({"data": data}).known:
            text.append(
                "Data unknown: saved without a data fingerprint and target, so it is not "
                "ranked against other models.\n",
                style="dim",
            )
        env = entry.get("environment") or {}
        if env:
            text.append("Saved with: " + ", ".join(f"{k} {v}" for k, v in env.items()) + "\n")
        seconds = entry.get("train_seconds")
        saved = entry.get("saved_at") or "?"
        size = size_text(entry.get("size_bytes"))
        timing = (
            f", trained in {duration_text(seconds)}" if isinstance(seconds, int | float) else ""
        )
        text.append(f"Saved at {saved}, {size} on disk{timing}.")
        return text

    # ----- actions ---------------------------------------------------------------------------

    def _need_highlight(self) -> str | None:
        name = self.highlighted_name()
        if name is None:
            self.notify("No model highlighted.", severity="warning")
        return name

    def action_analyse(self) -> None:
        """Open the analysis of the highlighted model (from its metadata; no unpickling)."""
        name = self._need_highlight()
        entry = self.store.entries.get(name or "")
        if name is None:
            return
        if entry is None:
            self.notify(f"{name} cannot be analysed: see Storage.", severity="warning")
            return
        self.actions.open_analysis(entry)

    def action_compare(self) -> None:
        """Compare the marked models, else the saved models in the table's order with the
        highlighted one's group first.

        Compare shows one group of comparable models at a time (same target of the same
        data) and opens on the group of the first model it is given.
        """
        entries = self.ordered()
        if self.marked:
            marked = [e for e in entries if e.get("name") in self.marked]
            if marked:
                self.actions.open_comparison(marked)
                return
        if not entries:
            self.notify("There are no saved models to compare.")
            return
        name = self.highlighted_name()
        for group in an.comparison_groups(entries):
            if name in group.names:
                chosen = {id(e) for e in group.models}
                entries = sorted(entries, key=lambda e: id(e) not in chosen)  # stable
                break
        self.actions.open_comparison(entries)

    def action_filter(self) -> None:
        """Show the filter box and type in it."""
        box = self.query_one("#models-filter", Input)
        box.add_class("-shown")
        box.disabled = False
        box.focus()

    @on(Input.Changed, "#models-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.redraw()

    @on(Input.Submitted, "#models-filter")
    def _filter_done(self) -> None:
        self.query_one("#models-table", DataTable).focus()

    def action_clear_filter(self) -> None:
        """Clear the filter (hiding its box), then the marks."""
        box = self.query_one("#models-filter", Input)
        if box.has_class("-shown") or self.filter_text:
            box.value = ""
            box.remove_class("-shown")
            box.disabled = True
            self.filter_text = ""
            self.query_one("#models-table", DataTable).focus()
            self.redraw()
        elif self.marked:
            self.marked.clear()
            self.redraw()

    def action_mark(self) -> None:
        """Mark or unmark the highlighted model for Compare (and go to the next row)."""
        name = self._need_highlight()
        if name is None or name not in self.store.entries:
            return
        self.marked ^= {name}
        self.redraw()
        table = self.query_one("#models-table", DataTable)
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)

    def action_predict(self) -> None:
        """Predict with the highlighted model on a data file."""
        self.actions.open_prediction(self.highlighted_name())

    def action_load(self) -> None:
        """Load the highlighted model into memory."""
        name = self._need_highlight()
        if name is not None:
            self.actions.store_action("load", name)

    def action_unload(self) -> None:
        """Free the highlighted model's memory."""
        name = self._need_highlight()
        if name is not None:
            self.actions.store_action("unload", name)

    def action_delete(self) -> None:
        """Delete the highlighted model after confirmation."""
        name = self._need_highlight()
        if name is None:
            return
        entry = self.store.entries.get(name, {})
        count = int(entry.get("versions") or 1)
        size = entry.get("size_bytes")
        rows = self.store.versions.get(name)
        if rows is not None:
            size = sum(int(row.get("size_bytes") or 0) for row in rows)
            count = len(rows)

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.actions.store_action("delete", name)

        what = f"All {count} versions" if count > 1 else "Its files"
        self.app.push_screen(
            ConfirmModal(
                f"Delete {name!r}" + (f" with all {count} versions?" if count > 1 else "?"),
                f"{what} ({size_text(size)}) are removed from the store for good.",
            ),
            confirmed,
        )

    def action_reload_all(self) -> None:
        """Load every model from disk again."""
        self.actions.reload_all()

    def action_clear_memory(self) -> None:
        """Free every loaded model; files stay on disk."""
        self.actions.store_action("clear_memory")

    def action_delete_all(self) -> None:
        """Delete every saved model after a confirmation naming how many and how big."""
        store = self.store
        count = len(store.entries)
        # Clearing the store also removes damaged and orphaned files: the question says so.
        extra = len({str(p.get("name")) for p in store.problems} - set(store.entries))
        if count == 0 and extra == 0:
            self.notify("There are no saved models to delete.")
            return
        total = sum(int(e.get("size_bytes") or 0) for e in store.entries.values())
        noun, verb = ("model", "is") if count == 1 else ("models", "are")
        entries = "entry" if extra == 1 else "entries"
        also = f" and {extra} damaged or orphaned {entries}" if extra else ""

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.actions.store_action("clear")

        self.app.push_screen(
            ConfirmModal(
                f"Delete all {count} saved {noun}{also}?",
                f"{count} {noun} ({size_text(total)}){also} {verb if not extra else 'are'} "
                f"removed from {self.settings.display_path(self.settings.store_dir)} for good.",
                confirm_label=f"Delete {count} {noun}" + (f" + {extra}" if extra else ""),
            ),
            confirmed,
        )

    # ----- the store's load ----------------------------------------------------------------

    def load_progressed(self, progress: ModelLoadProgress) -> None:
        """Redraw statuses at most four times a second while models load."""
        super().load_progressed(progress)
        if not self._redraw_pending:
            self._redraw_pending = True
            self.set_timer(0.25, self._redraw_statuses)

    @property
    def redraw_pending(self) -> bool:
        """A status redraw is scheduled (the table is about to change)."""
        return self._redraw_pending

    def _redraw_statuses(self) -> None:
        """Update the Status cells in place: loading changes nothing else in the table.

        Rebuilding the table made it measure every cell again, on the event loop: with 200
        models that stalled the screen for hundreds of milliseconds four times a second.
        """
        self._redraw_pending = False
        table = self.query_one("#models-table", DataTable)
        store = self.store
        for row_key in list(table.rows):
            name = row_key.value
            if name is None:
                continue
            status = store.model_status(name)
            if self._statuses.get(name) == status:
                continue
            self._statuses[name] = status
            style = {"loaded": "bold", "problem": "red"}.get(status, "")
            table.update_cell(row_key, "status", Text(status, style=style))
        self._summary()

    def load_finished(self, finished: ModelsLoadFinished) -> None:
        """Redraw statuses and the summary."""
        super().load_finished(finished)
        self._redraw_statuses()

    def store_action_done(self, done: object) -> None:
        """Statuses may have changed."""
        super().store_action_done(done)
        self.redraw()


ROWS_AT_ONCE = 500
"""Rows the Models table adds in one go (then the event loop runs before the next ones)."""


class ModelsTable(DataTable[Any]):
    """The models table: its columns have given widths and its rows one line each, so new
    rows need no measuring.

    Textual's DataTable measures every cell of the rows added since it was last idle (for
    column widths it does not use when they are given): with 10,000 models that was
    150,000 cells and seconds on the event loop before the list showed.
    """

    def _update_dimensions(self, new_rows: Any) -> None:
        columns = list(self.columns.values())
        if any(column.auto_width for column in columns) or any(
            self.rows[key].auto_height or self.rows[key].label is not None
            for key in new_rows
            if key in self.rows
        ):
            super()._update_dimensions(new_rows)
            return
        width = sum(column.get_render_width(self) for column in columns)
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            width + self._row_label_column_width, self._total_row_height + header
        )


def _cell_width(cell: Any) -> int:
    """The width a table cell needs (str or rich Text, one line)."""
    return cell.cell_len if isinstance(cell, Text) else cell_len(str(cell))


def _short(value: Any) -> str:
    """A parameter value in a few characters."""
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 30 else text[:27] + "…"
