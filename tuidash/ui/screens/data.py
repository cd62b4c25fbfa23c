"""Data section: pick a file on the server (or the sample), preview, profile, target/features."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    DataTable,
    DirectoryTree,
    Input,
    Label,
    ProgressBar,
    Select,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import get_current_worker

from tuidash.core.text import cell_text, progress_size_text
from tuidash.ui import messages as msg
from tuidash.ui.screens.base import SectionScreen
from tuidash.ui.sections import section_bindings
from tuidash.ui.widgets.task_choice import TaskChoiceRow

if TYPE_CHECKING:
    from tuidash.ui.state import Actions, AppState, DataState, Settings, StoreState

ENCODINGS = ("auto", "utf-8", "latin-1", "cp1252", "utf-16")
"""Text encodings offered beside the path box; "auto": UTF-8 first, else the core detects it."""

PREVIEW_ROWS = 50
"""Rows shown in the preview table."""

PROGRESS_INTERVAL = 0.25
"""Seconds between progress messages from the reading thread (the core reports more often)."""


class _Superseded(Exception):
    """Raised inside the core's progress callback to stop a read nobody waits for any more."""


class DataFileTree(DirectoryTree):
    """The server's folders and the files tuidash can read (hidden entries left out)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "backspace",
            "up",
            "Up a folder",
            tooltip="Show the folder that holds this one",
            id="data-browser-up",
        ),
    ]

    def process_label(self, label: Any) -> Any:
        """Labels as DirectoryTree makes them; the file system's root (no name) shows as "/"."""
        if isinstance(label, str) and not label:
            label = "/"
        return super().process_label(label)

    def action_up(self) -> None:
        """Show the parent folder (the root of the file system has none)."""
        folder = Path(self.path).expanduser().absolute()
        if folder.parent != folder:
            self.path = folder.parent

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Folders, and files whose extension the core reads."""
        from tuidash.core.data import FORMATS

        return [
            path
            for path in paths
            if not path.name.startswith(".") and (path.suffix.lower() in FORMATS or _is_dir(path))
        ]


def _is_dir(path: Path) -> bool:
    """A folder (a broken link or an unreadable entry is not)."""
    try:
        return path.is_dir()
    except OSError:
        return False


class DataScreen(SectionScreen):
    """Open a data file and choose what to predict."""

    TITLE_TEXT = "Data"
    BINDINGS: ClassVar[list[BindingType]] = [
        *section_bindings(),
        Binding(
            "ctrl+o",
            "open_path",
            "Open path",
            tooltip="Open the file whose path is typed in the path box",
            id="data-open",
        ),
        Binding(
            "f2",
            "sample",
            "Sample data",
            tooltip="Load the sample data set (diabetes, 442 rows)",
            id="data-sample",
        ),
        Binding(
            "f3",
            "browse",
            "Browse",
            tooltip="Show the file browser and path box",
            id="data-browse",
        ),
    ]

    def __init__(self, data: DataState, store: StoreState, settings: Settings) -> None:
        super().__init__(store, settings)
        self.data = data
        """The data set and the target/feature choice (this section makes them)."""

    @classmethod
    def for_app(cls, state: AppState, actions: Actions) -> DataScreen:
        """The Data section of the app's data set."""
        return cls(state.data, state.store, state.settings)

    def compose_body(self) -> ComposeResult:
        """File chooser, status line and the data tabs."""
        yield Static("", id="data-status")
        yield ProgressBar(id="data-loading", show_eta=False)
        with TabbedContent(id="data-tabs", initial="tab-open"):
            with TabPane("Open file", id="tab-open"):
                with Horizontal(id="path-row"):
                    yield Input(
                        placeholder="Path of a data file",
                        id="path",
                        tooltip="A CSV, TSV, Excel (.xlsx), Parquet or JSON file, or a folder "
                        "to browse; Enter opens it",
                    )
                    yield Select[str](
                        [(name, name) for name in ENCODINGS],
                        value="auto",
                        allow_blank=False,
                        id="encoding",
                        tooltip="Text encoding of CSV, TSV and JSON files (auto: UTF-8, else "
                        "detected and named)",
                    )
                    yield Button("Open", id="open")
                    yield Button("Sample data set", id="sample", variant="primary")
                yield DataFileTree(self.settings.cwd, id="browser")
            with TabPane("Preview", id="tab-preview"):
                yield DataTable(id="preview", zebra_stripes=True)
            with TabPane("Columns", id="tab-columns"):
                yield DataTable(id="columns", zebra_stripes=True, cursor_type="row")
            with TabPane("Target & features", id="tab-target"), Vertical(id="target-box"):
                yield Label("Target — the column to predict:")
                yield Select[str]([], id="target", prompt="Choose the target column")
                yield TaskChoiceRow(self.data, id="data-task")
                yield Label("Features — the columns used to predict it:")
                yield SelectionList[str](id="features")
                yield Static("", id="left-out")
            with TabPane("Problems", id="tab-problems"):
                yield Static("", id="problems")

    load_id: int = 0
    """The number of the latest load started here; progress of older loads is ignored."""
    reading: bool = False
    """Whether a load started here is still running."""

    def on_mount(self) -> None:
        """Follow the data, then fill the tables if data is already loaded."""
        self.query_one("#data-loading").display = False
        browser = self.query_one("#browser", DataFileTree)
        self.watch(browser, "path", self._browser_moved, init=False)
        self.follow(self.data.loaded, self._data_loaded)
        self.follow(self.data.failed, self._data_failed)
        self.follow(self.data.target_changed, self._target_or_features_changed)
        super().on_mount()
        if self.data.data is None:
            # The path box, not the file tree: typed letters go into the box, where a tree
            # would pass "s" of "houses.csv" on to the section keys (Storage).
            self.query_one("#path", Input).focus()
            if self.settings.data_path is not None:
                # The file named on the command line is read like any other: with progress.
                self._open(str(self.settings.data_path))

    def sync(self) -> None:
        """Show the loaded data set, if any."""
        if self.data.data is not None:
            self._data_loaded(self.data)
        else:
            self._status("No data loaded yet: pick a file below or load the sample data set.")

    # ----- actions -------------------------------------------------------------------------

    def action_open_path(self) -> None:
        """Go to the path box; open its path when it is already there and filled in."""
        box = self.query_one("#path", Input)
        tabs = self.query_one("#data-tabs", TabbedContent)
        if tabs.active != "tab-open" or not box.has_focus or not box.value.strip():
            tabs.active = "tab-open"
            box.focus()
            self._status("Type the path of a data file and press Enter.")
            return
        self._open(box.value)

    def action_sample(self) -> None:
        """Load the sample data set."""
        self._begin_loading("Loading the sample data set…")
        self.read_data(self.load_id, None)

    def action_browse(self) -> None:
        """Show the file browser tab."""
        self.query_one("#data-tabs", TabbedContent).active = "tab-open"
        self.query_one("#browser", DirectoryTree).focus()

    def _open(self, raw: str) -> None:
        raw = raw.strip()
        if not raw:
            self._status("Type the path of a data file first.", error=True)
            return
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = self.settings.cwd / path
        if _is_dir(path):
            self._browse(path)
            return
        chosen = self.query_one("#encoding", Select).value
        encoding = None if chosen in ("auto", Select.BLANK) else str(chosen)
        self._begin_loading(f"Reading {path.name}…")
        self.read_data(self.load_id, str(path), encoding)

    def _browse(self, folder: Path) -> None:
        """Show ``folder`` in the file browser (a folder typed into the path box)."""
        tree = self.query_one("#browser", DataFileTree)
        self.query_one("#data-tabs", TabbedContent).active = "tab-open"
        tree.focus()
        if Path(tree.path) == folder.resolve():
            self._browser_moved(tree.path)
        tree.path = folder.resolve()

    def _browser_moved(self, path: str | Path) -> None:
        """Say which folder the browser shows (typed into the path box, or gone up)."""
        self._status(
            f"Showing the folder {path}: choose a file, or press backspace to go up a folder."
        )

    def _begin_loading(self, text: str) -> None:
        self.load_id += 1
        self.reading = True
        self._status(text)
        bar = self.query_one("#data-loading", ProgressBar)
        bar.update(total=None, progress=0)  # pulses until the first report gives a size
        bar.display = True

    def _end_loading(self) -> None:
        self.reading = False
        self.query_one("#data-loading").display = False

    @work(thread=True, exclusive=True, exit_on_error=False, group="data", description="Read data")
    def read_data(self, load_id: int, path: str | None, encoding: str | None = None) -> None:
        """Read a data file (the sample with ``path=None``) and profile it, posting progress."""
        from tuidash.core import data as core_data

        worker = get_current_worker()
        name = "the sample data set" if path is None else Path(path).name
        last_post = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last_post
            if worker.is_cancelled:
                raise _Superseded  # a newer load replaced this one: stop reading at once
            now = time.monotonic()
            # The first and the last report always go out; in between a few per second.
            if done in (0, total) or now - last_post >= PROGRESS_INTERVAL:
                last_post = now
                self.post_message(msg.DataReadProgress(load_id, name, done, total))

        try:
            if path is None:
                loaded = core_data.sample_dataset(progress=progress)
            else:
                loaded = core_data.read_table(path, encoding=encoding, progress=progress)
            profile = core_data.profile_columns(loaded.frame)
            problems = core_data.data_problems(loaded.frame, profile=profile)
        except _Superseded:
            return
        except Exception as error:  # DataError carries the sentence; others get theirs
            if not worker.is_cancelled:
                self.app.post_message(
                    msg.DataLoadFailed(path or "sample", msg.error_sentence(error))
                )
            return
        # A newer load replaced this one meanwhile: its result must not win.
        if not worker.is_cancelled:
            self.app.post_message(msg.DataLoaded(loaded, profile, problems))

    @on(msg.DataReadProgress)
    def _read_progress(self, message: msg.DataReadProgress) -> None:
        message.stop()
        if not self.reading or message.load_id != self.load_id:
            return  # a late report of a load that has ended or been replaced
        bar = self.query_one("#data-loading", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        size = progress_size_text(message.done, message.total)
        if message.done < message.total:
            self._status(f"Reading {message.name} {size}")
        else:
            self._status(f"Read {message.name} ({size}); profiling the columns…")

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#data-status", Static)
        status.update(text)
        status.set_class(error, "-error")

    @on(Button.Pressed, "#open")
    def _open_pressed(self) -> None:
        self._open(self.query_one("#path", Input).value)

    @on(Button.Pressed, "#sample")
    def _sample_pressed(self) -> None:
        self.action_sample()

    @on(Input.Submitted, "#path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        self._open(event.value)

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.query_one("#path", Input).value = str(event.path)
        self._open(str(event.path))

    # ----- the data state ----------------------------------------------------------------

    def _data_loaded(self, data: DataState) -> None:
        """Fill preview, profile, target/features and problems from the data set."""
        self._end_loading()
        frame = data.data.frame
        notes = list(getattr(data.data, "notes", []) or [])
        text = f"{data.label()}: {len(frame):,} rows × {len(frame.columns)} columns."
        if notes:
            text += " " + " ".join(notes)
        self._status(text)
        self._fill_preview(frame)
        self._fill_columns(data.profile)
        self._fill_target([str(c) for c in frame.columns])
        self._show_problems()
        tabs = self.query_one("#data-tabs", TabbedContent)
        tabs.active = "tab-preview"
        # Focus leaves the (now hidden) file chooser, so letter keys work at once.
        self.query_one("#preview", DataTable).focus()

    def _data_failed(self, sentence: str) -> None:
        """Show the core's sentence; the previous data stays."""
        self._end_loading()
        kept = ""
        if self.data.data is not None:
            kept = f" {self.data.label()} is still loaded."
        self._status(sentence + kept, error=True)

    def _target_or_features_changed(self, data: DataState) -> None:
        """The target's own problems (text, dates) change with the target."""
        if data.data is not None:
            self._show_problems()

    def _show_problems(self) -> None:
        """The data's problems, then the chosen target's (a text target is one)."""
        from tuidash.core.data import target_problems

        data = self.data
        problems = list(data.problems)
        if data.data is not None:
            problems += target_problems(data.data.frame, data.target, task=data.task)
        body = "\n".join(f"• {p}" for p in problems) if problems else "No problems found."
        self.query_one("#problems", Static).update(body)
        tabs = self.query_one("#data-tabs", TabbedContent)
        tabs.get_tab("tab-problems").label = f"Problems ({len(problems)})"

    # ----- filling -------------------------------------------------------------------------

    def _fill_preview(self, frame: Any) -> None:
        table = self.query_one("#preview", DataTable)
        table.clear(columns=True)
        table.add_columns(*[str(c) for c in frame.columns])
        head = frame.head(PREVIEW_ROWS)
        for row in head.itertuples(index=False):
            table.add_row(*[cell_text(v) for v in row])

    def _fill_columns(self, profile: list[Any]) -> None:
        table = self.query_one("#columns", DataTable)
        table.clear(columns=True)
        table.add_columns("column", "dtype", "missing", "unique", "min", "mean", "max", "examples")
        for col in profile:
            table.add_row(
                col.name,
                str(col.dtype),
                str(col.missing),
                str(col.unique),
                cell_text(col.minimum),
                cell_text(col.mean),
                cell_text(col.maximum),
                ", ".join(str(e) for e in list(col.examples)[:3]),
            )

    def _fill_target(self, columns: list[str]) -> None:
        data = self.data
        target = self.query_one("#target", Select)
        with target.prevent(Select.Changed):
            target.set_options([(c, c) for c in columns])
            if data.target in columns:
                target.value = data.target
        features = self.query_one("#features", SelectionList)
        with features.prevent(SelectionList.SelectedChanged):
            features.clear_options()
            features.add_options([(c, c, c in data.features) for c in columns if c != data.target])
        self._show_left_out()

    @on(Select.Changed, "#target")
    def _target_changed(self, event: Select.Changed) -> None:
        data = self.data
        # The prompt (no column) is Select.NULL in Textual 8: the target stays as it was.
        if data.data is None or not isinstance(event.value, str):
            return
        target = str(event.value)
        columns = [str(c) for c in data.data.frame.columns]
        # A new target gets the default choice again (the old target becomes a candidate).
        data.choose_target(target)
        features = list(data.features)
        box = self.query_one("#features", SelectionList)
        with box.prevent(SelectionList.SelectedChanged):
            box.clear_options()
            box.add_options([(c, c, c in features) for c in columns if c != target])
        self._show_left_out()

    def _show_left_out(self) -> None:
        """Why the unticked columns were left out, and what is derived from dates."""
        from tuidash.core.training import feature_notes

        data = self.data
        lines = list(data.left_out.values())
        if data.data is not None:
            lines += feature_notes(data.data.frame, data.features).values()
        self.query_one("#left-out", Static).update("\n".join(lines))

    @on(SelectionList.SelectedChanged, "#features")
    def _features_changed(self, event: SelectionList.SelectedChanged[str]) -> None:
        self.data.choose_features([str(v) for v in event.selection_list.selected])
        self._show_left_out()
