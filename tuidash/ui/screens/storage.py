"""Storage section: where the store is, its size, free space, problems, the auto-load setting
and where the log file is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Label, Static, Switch

from tuidash.core import logs
from tuidash.core.text import size_text
from tuidash.ui.modals.confirm import ConfirmModal
from tuidash.ui.screens.base import SectionScreen
from tuidash.ui.sections import section_bindings

if TYPE_CHECKING:
    from tuidash.ui.messages import ModelsLoadFinished
    from tuidash.ui.state import Actions, AppState, Settings, StoreState


class StorageScreen(SectionScreen):
    """The store's location, sizes and problems."""

    TITLE_TEXT = "Storage"
    BINDINGS: ClassVar[list[BindingType]] = [
        *section_bindings(),
        Binding(
            "x",
            "remove_entry",
            "Remove entry",
            tooltip="Remove the files of the highlighted problem entry (asks first)",
            id="st-remove",
        ),
        Binding(
            "r",
            "recheck",
            "Re-check",
            tooltip="Try to load the highlighted problem entry again",
            id="st-recheck",
        ),
        Binding(
            "a",
            "toggle_autoload",
            "Auto-load",
            tooltip="Turn loading every model at start on or off",
            id="st-autoload",
        ),
        Binding("u", "refresh", "Refresh", tooltip="Measure the store again", id="st-refresh"),
    ]

    def __init__(self, store: StoreState, settings: Settings, actions: Actions) -> None:
        super().__init__(store, settings)
        self.actions = actions
        """Runs store actions, measures the store, saves the auto-load setting."""

    @classmethod
    def for_app(cls, state: AppState, actions: Actions) -> StorageScreen:
        """The Storage section of the app's store."""
        return cls(state.store, state.settings, actions)

    def compose_body(self) -> ComposeResult:
        """Summary, auto-load switch, problems table and sizes table."""
        with VerticalScroll(id="storage-body"):
            yield Static("Measuring the store…", id="storage-summary")
            with Horizontal(id="autoload-row"):
                yield Switch(id="autoload", tooltip="Load every saved model at start")
                yield Label("Load every saved model into memory at start", id="autoload-label")
            yield Label("Problems", classes="section-title", id="problems-title")
            yield DataTable(id="problems-table", cursor_type="row")
            yield Static("", id="problem-detail")
            yield Label("Models by size (all versions)", classes="section-title")
            yield DataTable(id="sizes-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        """Columns, then the last report (and ask for a fresh one); follow the store."""
        problems = self.query_one("#problems-table", DataTable)
        problems.add_column("Entry", key="name")
        problems.add_column("Problem", key="kind")
        problems.add_column("Reason", key="reason")
        sizes = self.query_one("#sizes-table", DataTable)
        sizes.add_column("Model", key="name")
        sizes.add_column("Size", key="size")
        sizes.add_column("Versions", key="versions")
        sizes.add_column("Latest", key="latest")
        # As wide as its widest value ("on disk", "problem"): columns never shrink, so a width
        # taken from the first values drawn would depend on timing.
        sizes.add_column("Status", key="status", width=7)
        switch = self.query_one("#autoload", Switch)
        with switch.prevent(Switch.Changed):
            switch.value = self.store.autoload
        self.follow(self.store.reported, self._redraw)
        self.follow(self.store.listed, self._redraw)
        self.follow(self.store.autoload_changed, self._autoload_setting)
        super().on_mount()
        self.actions.refresh_storage()

    def sync(self) -> None:
        """Show the last report."""
        self.redraw()

    def _redraw(self, store: StoreState) -> None:
        """A new report or listing (statuses may have changed)."""
        self.redraw()

    def redraw(self) -> None:
        """Fill the summary and both tables from the store's last report."""
        store, settings = self.store, self.settings
        report = store.report
        if report is None:
            return
        location = settings.display_path(report.get("base_dir", settings.store_dir))
        count = int(report.get("model_count") or 0)
        total = report.get("total_size_bytes")
        free = report.get("free_bytes")
        loaded = sum(1 for name in store.entries if store.is_loaded(name))
        summary = Text()
        summary.append("Location  ", style="bold")
        summary.append(f"{location}{'  (remote)' if settings.remote_store else ''}\n")
        summary.append("Models    ", style="bold")
        summary.append(f"{count} saved, {loaded} loaded in memory\n")
        summary.append("Size      ", style="bold")
        summary.append(f"{size_text(total)} in total\n")
        summary.append("Free      ", style="bold")
        if settings.remote_store:
            summary.append("unlimited (object storage)\n")
        else:
            free_text = size_text(free) if settings.show_free_space else "(hidden)"
            summary.append(f"{free_text} free on this disk\n")
        summary.append("Log       ", style="bold")
        summary.append(f"{self._log_text()}\n")
        summary.append("Checked   ", style="bold")
        checked = store.report_time.strftime("%H:%M:%S") if store.report_time else "?"
        summary.append(f"{checked} (u measures again)")
        self.query_one("#storage-summary", Static).update(summary)

        problems = self._problems()
        table = self.query_one("#problems-table", DataTable)
        table.clear()
        for problem in problems:
            table.add_row(
                Text(str(problem["name"])),
                str(problem.get("kind", "")),
                Text(str(problem.get("reason", ""))),
                key=str(problem["name"]),
            )
        title = f"Problems ({len(problems)})" if problems else "Problems: none"
        self.query_one("#problems-title", Label).update(title)
        table.display = bool(problems)
        self._show_problem()

        sizes = self.query_one("#sizes-table", DataTable)
        sizes.clear()
        models = sorted(report.get("models") or [], key=lambda m: -_total_bytes(m))
        for model in models:
            name = str(model["name"])
            sizes.add_row(
                Text(name),
                size_text(_total_bytes(model)),
                str(model.get("versions") or 1),
                size_text(model.get("size_bytes")),
                store.model_status(name),
                key=name,
            )

    def _log_text(self) -> str:
        """Where this session's log goes, or why it is not written."""
        setup = logs.current()
        path = setup.path if setup is not None else logs.log_file()
        shown = self.settings.display_path(path)
        if setup is not None and setup.reason is not None:
            return f"{shown} (not written: {setup.reason})"
        return shown

    def _problems(self) -> list[dict[str, Any]]:
        """The store's problems plus models that failed to load this session."""
        problems = [dict(p) for p in self.store.problems]
        named = {str(p.get("name")) for p in problems}
        for name, reason in self.store.load_failures.items():
            if name not in named:
                problems.append({"name": name, "kind": "not loaded", "reason": reason})
        return problems

    @on(DataTable.RowHighlighted, "#problems-table")
    def _show_problem(self) -> None:
        detail = self.query_one("#problem-detail", Static)
        name = self.highlighted_problem()
        problem = next((p for p in self._problems() if str(p["name"]) == name), None)
        detail.display = problem is not None
        if problem is None:
            return
        text = Text()
        text.append(f"{name}: ", style="bold")
        text.append(str(problem.get("reason", "")))
        files = ", ".join(str(f) for f in problem.get("files") or [])
        if files:
            text.append(f"\nFiles: {files}")
        text.append("\nx removes its files · r tries to load it again", style="dim")
        detail.update(text)

    def highlighted_problem(self) -> str | None:
        """The name of the highlighted problem entry."""
        table = self.query_one("#problems-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None

    def action_remove_entry(self) -> None:
        """Remove a problem entry's files after confirmation."""
        name = self.highlighted_problem()
        if name is None:
            self.notify("There is no problem entry to remove.")
            return
        problem = next((p for p in self._problems() if str(p["name"]) == name), {})

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.actions.store_action("remove", name)

        self.app.push_screen(
            ConfirmModal(
                f"Remove {name!r} from the store?",
                removal_text([str(f) for f in problem.get("files") or []]),
                confirm_label="Remove",
            ),
            confirmed,
        )

    def action_recheck(self) -> None:
        """Try to load a problem entry again."""
        name = self.highlighted_problem()
        if name is None:
            self.notify("There is no problem entry to re-check.")
            return
        self.actions.store_action("recheck", name)

    def action_toggle_autoload(self) -> None:
        """Flip the auto-load switch."""
        self.query_one("#autoload", Switch).toggle()

    @on(Switch.Changed, "#autoload")
    def _autoload_changed(self, event: Switch.Changed) -> None:
        self.actions.set_autoload(event.value)

    def _autoload_setting(self, on: bool) -> None:
        """The store's setting turned auto-load off at start."""
        switch = self.query_one("#autoload", Switch)
        with switch.prevent(Switch.Changed):
            switch.value = on

    def action_refresh(self) -> None:
        """Measure the store again."""
        self.actions.refresh_store()

    def load_finished(self, finished: ModelsLoadFinished) -> None:
        """Show failures from the bulk load."""
        super().load_finished(finished)
        self.redraw()

    def store_action_done(self, done: object) -> None:
        """Statuses may have changed."""
        super().store_action_done(done)
        self.redraw()


def removal_text(files: list[str]) -> str:
    """What removing a problem entry deletes: each file by name (a damaged JSON takes its
    pickle with it, which may be intact)."""
    if not files:
        return "Its metadata (.json) and model (.pkl) files are deleted from the store."
    if len(files) == 1:
        return f"This file is deleted from the store:\n  {files[0]}"
    listed = "\n".join(f"  {f}" for f in files)
    text = f"These {len(files)} files are deleted from the store:\n{listed}"
    if any(f.endswith(".pkl") for f in files):
        text += "\nThe pickle goes too, even if it is intact: copy it elsewhere first to keep it."
    return text


def _total_bytes(model: dict[str, Any]) -> int:
    """What a model takes on disk with all its versions (the latest alone if not known)."""
    total = model.get("total_bytes")
    return int(total if total is not None else model.get("size_bytes") or 0)
