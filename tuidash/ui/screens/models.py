"""Models section: one row per saved model (its latest version) with metrics, status and
details; a filter, marks for Compare, the versions of the highlighted model; load, delete.

The version keys (alias, roll back, delete a version, note, tags, rename, compare
versions) are in ``model_versions``; the versions list and chart in ``widgets/versions``.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Static

from tuidash.core import analysis as an
from tuidash.core.text import duration_text, number_text, size_text
from tuidash.ui import heap
from tuidash.ui.modals.confirm import ConfirmModal
from tuidash.ui.screens.base import SectionScreen
from tuidash.ui.screens.model_versions import VERSION_BINDINGS, VersionKeys
from tuidash.ui.screens.models_table import (
    BATCH_SECONDS,
    CLASSIFICATION_METRICS,
    HIGHER_IS_BETTER,
    METRICS,
    ROWS_AT_ONCE,
    ListingFacts,
    ModelsTable,
    column_labels,
    kind_label,
    listing_facts,
    matches,
    metric_value,
    model_task,
    problem_cells,
    row_cells,
    status_cell,
)
from tuidash.ui.sections import section_bindings
from tuidash.ui.widgets.versions import main_metric, versions_text

if TYPE_CHECKING:
    from tuidash.ui.messages import ModelLoadProgress, ModelsLoadFinished
    from tuidash.ui.state import Actions, AppState, Settings, StoreState

SECTIONS = Binding.Group("Sections", compact=True)
"""The section keys share one footer label on this screen: at 80 columns there is no
room for each key's own description after the Models keys."""


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
        # A priority binding runs as the app takes the key from its queue, before it passes
        # on the keys typed after it: so "/ridge" typed fast goes into the filter (see
        # action_filter) instead of running r, d, g and e as shortcuts.
        Binding(
            "slash",
            "filter",
            "Filter",
            tooltip="Filter by name, kind, target or tag",
            id="m-filter",
            priority=True,
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
        self._problem_rows: set[str] = set()
        """The problem entries (not listed as good) the table was last built with."""
        self._facts: ListingFacts | None = None
        self._facts_of: dict[str, dict[str, Any]] | None = None

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

    def facts(self) -> ListingFacts:
        """What the table shows about the listing as a whole (computed with the listing,
        off the event loop; here only when the state was given entries without them)."""
        store = self.store
        if isinstance(store.facts, ListingFacts):
            return store.facts
        if self._facts_of is not store.entries or self._facts is None:
            entries = [{**entry, "name": name} for name, entry in store.entries.items()]
            self._facts, self._facts_of = listing_facts(entries), store.entries
        return self._facts

    def has_classifiers(self) -> bool:
        """Whether any saved model is a classifier (the table then shows the task)."""
        return self.facts().classifiers

    def metric_columns(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The metric columns of the table (see ``models_table.columns_of_tasks``)."""
        return self.facts().columns()

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
        entries = list(self.store.entries.values())
        if self.filter_text:
            entries = [e for e in entries if matches(e, self.filter_text)]
        keyed = [(self._sort_key(e), str(e.get("name", "")).lower(), e) for e in entries]
        present = [item for item in keyed if item[0][0] == 0]
        missing = [item for item in keyed if item[0][0] == 1]
        # Names A to Z among equal values: sort by name, then (stably) by the column.
        present.sort(key=lambda item: item[1])
        present.sort(key=lambda item: item[0], reverse=self.sort_reverse)
        missing.sort(key=lambda item: item[1])
        return [item[2] for item in present + missing]

    def _redraw(self, store: StoreState) -> None:
        """The store was listed or measured again (versions are asked for again)."""
        self._asked = {name for name in self._asked if name in store.versions}
        self.redraw()

    def _reported(self, store: StoreState) -> None:
        """A storage report: rebuild the table only when its problem rows changed (a
        rebuild of thousands of rows is slow); else update statuses and the summary."""
        problems = {n for n in store.problem_entries() if n not in store.entries}
        same = self._shown_entries is store.entries and problems == self._problem_rows
        if same and not self.filter_text:
            self._redraw_statuses()
            return
        self._redraw(store)

    def redraw(self) -> None:
        """Rebuild the table, keeping the highlighted row.

        Only the first ``ROWS_AT_ONCE`` rows are built now; the others follow a few hundred
        at a time, with the event loop free in between (see ``_add_rows``).
        """
        store = self.store
        table = self.query_one("#models-table", ModelsTable)
        current = self.highlighted_name()
        facts = self.facts()
        main, _rest = facts.columns()
        if self.sort_column not in self.sort_columns():
            # The metric sorted by is not shown (a store of classifiers): sort by the first.
            self.sort_column, self.sort_reverse = main[0], main[0] in HIGHER_IS_BETTER
        rows: list[dict[str, Any] | str] = list(self.ordered())
        problems = [
            name
            for name in store.problem_entries()
            if name not in store.entries and matches({"name": name}, self.filter_text)
        ]
        rows += problems
        self.marked &= set(store.entries)
        self._statuses = {}
        self._problem_rows = set(problems)
        self._shown_entries = store.entries
        table.clear(columns=True)
        for key, label in column_labels(facts).items():
            if key == self.sort_column:
                label += " ▼" if self.sort_reverse else " ▲"
            # Widths are given, not measured by the table when it is next idle: an auto
            # width starts at the label's width, so a frame drawn before that measurement
            # (a redraw during loading, a snapshot) showed every cell cut to its label.
            # The rows widen them as they are added.
            table.add_column(label, key=key, width=cell_len(label))
        self._fill_generation += 1
        self._add_rows(table, facts, rows, 0, current, self._fill_generation)
        self._summary()
        self._show_detail()

    def _add_rows(
        self,
        table: ModelsTable,
        facts: ListingFacts,
        rows: list[dict[str, Any] | str],
        start: int,
        current: str | None,
        generation: int,
    ) -> None:
        """Build and add the rows ``rows[start:]`` (entries, or names of problem entries), a
        go at a time: ROWS_AT_ONCE in the first, so the first rows show at once, then as many
        as BATCH_SECONDS allow (at least ROWS_AT_ONCE), the event loop free between goes."""
        if generation != self._fill_generation:
            return  # the table was rebuilt since
        store = self.store
        built: list[tuple[str, list[Any]]] = []
        began = time.perf_counter()
        end = start
        while end < len(rows):
            if len(built) >= ROWS_AT_ONCE and (
                not start or time.perf_counter() - began > BATCH_SECONDS
            ):
                break
            row = rows[end]
            end += 1
            if isinstance(row, str):
                name, status = row, "problem"
                cells = problem_cells(name, facts)
            else:
                name = str(row["name"])
                status = store.model_status(name)
                cells = row_cells(row, facts, name in self.marked, status)
            self._statuses[name] = status
            built.append((name, cells))
        table.widen([cells for _, cells in built])
        for name, cells in built:
            table.add_row(*cells, key=name)
        heap.settle(collect=False)  # thousands of rows: out of the cycle collector's walk
        if current is not None and current in table.rows:
            table.move_cursor(row=table.get_row_index(current))
            current = None
        if end < len(rows):
            self.set_timer(
                0.001, lambda: self._add_rows(table, facts, rows, end, current, generation)
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
            facts = self.facts()
            metric = {
                frozenset({"regression"}): "R2",
                frozenset({"classification"}): "balanced accuracy",
            }.get(facts.tasks, "R2 / balanced accuracy")
            star = f"★ = best {metric}"
            if facts.known_groups > 1:
                star += " per data and target"
            if facts.unknown:
                star += f" ({facts.unknown} with data unknown: not ranked)"
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
        groups = an.comparison_groups(entries)
        shown = groups[0]
        for group in groups:
            if name in group.names:
                shown = group
                chosen = {id(e) for e in group.models}
                entries = sorted(entries, key=lambda e: id(e) not in chosen)  # stable
                break
        # Comparing every row is what v does with no marks (README): say so, and how to
        # compare fewer, so it is not mistaken for a comparison of the marked models.
        why = "No marked model is in the table" if self.marked else "Nothing is marked"
        count = len(entries)
        if len(groups) == 1:
            what = f"all {count} models in the table" if count > 1 else "the one model in the table"
        else:
            first = name if name in shown.names else shown.names[0]
            size = len(shown.models)
            what = (
                f"all {count} models in the table, opening on the group of {first} "
                f"({shown.label}, {size} model{'' if size == 1 else 's'})"
            )
        self.notify(f"{why}, so Compare shows {what}; space marks the models to compare.")
        self.actions.open_comparison(entries)

    def action_filter(self) -> None:
        """Show the filter box and type in it (a "/" typed in the box is text)."""
        box = self.query_one("#models-filter", Input)
        if box.has_focus:
            raise SkipAction()  # the key goes on to the box
        box.add_class("-shown")
        box.disabled = False
        # Focused now, not after the next refresh as ``box.focus()`` does: the keys typed
        # right after "/" are already queued and go to whatever has the focus when the
        # app takes them.
        self.set_focus(box)

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
        table = self.query_one("#models-table", ModelsTable)
        store = self.store
        shown = self.highlighted_name()
        detail_stale = False
        for row_key in list(table.rows):
            name = row_key.value
            if name is None:
                continue
            status = store.model_status(name)
            if self._statuses.get(name) == status:
                continue
            self._statuses[name] = status
            table.update_cell(row_key, "status", status_cell(status))
            detail_stale = detail_stale or name == shown
        if detail_stale:  # the detail pane says the status too
            self._show_detail()
        # The column is as wide as its widest cell: "on disk" while loading, "loaded" after.
        widths = map(cell_len, {"Status", *self._statuses.values()})
        table.set_width("status", max(widths))
        self._summary()

    def load_finished(self, finished: ModelsLoadFinished) -> None:
        """Redraw statuses and the summary."""
        super().load_finished(finished)
        self._redraw_statuses()

    def store_action_done(self, done: object) -> None:
        """Statuses may have changed."""
        super().store_action_done(done)
        self.redraw()


def _short(value: Any) -> str:
    """A parameter value in a few characters."""
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 30 else text[:27] + "…"
