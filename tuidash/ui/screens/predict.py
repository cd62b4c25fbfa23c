"""Predict with a saved model on a new data file: choose both, see the predictions, export CSV.

The same checks and sentences as ``tuidash predict`` (``tuidash.core.predicting``). Pushed
on top of a section::

    app.push_screen(PredictScreen(store_dir, model_names, selected="Forest", start_dir=cwd))

Reading, loading, predicting and writing run in thread workers that post this screen's own
messages back; the widgets are only touched on the event loop. Escape closes the screen.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    DirectoryTree,
    Footer,
    Header,
    Input,
    Select,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import get_current_worker

from tuidash.core.settings import StoreLocation, absolute_location
from tuidash.ui.commands import ScreenCommands

if TYPE_CHECKING:
    from tuidash.core.predicting import Prediction
    from tuidash.core.store import ModelPersistence

SHOWN_ROWS = 100
"""Rows of the predictions table (the total is stated; the export has every row)."""
SHOWN_COLUMNS = 40
"""Input columns of the predictions table (very wide files would make it unusable)."""


def cell_text(value: Any) -> str:
    """One table cell: numbers in up to 6 significant digits, missing values blank."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if value != value else f"{value:.6g}"
    if hasattr(value, "item"):  # numpy scalars: format like the Python number they hold
        return cell_text(value.item())
    return str(value)


def error_sentence(error: BaseException) -> str:
    """The sentence a person should read (typed core errors carry one in ``message``)."""
    message = getattr(error, "message", None)
    if message:
        return str(message)
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}."
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"Prediction failed ({type(error).__name__}){': ' + text if text else '.'}"


@dataclass
class TableRows:
    """The predictions table, as text, prepared in the worker."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    """Per column: holds numbers (shown right-aligned so magnitudes line up)."""
    hidden_columns: int = 0
    """Input columns left out of the table (still in the export)."""


def table_rows(prediction: Prediction, limit: int = SHOWN_ROWS) -> TableRows:
    """Row number, prediction (and a classifier's class probabilities), then the input
    columns, for the first ``limit`` rows.

    The prediction comes first so it is visible at 80 columns without scrolling; the CSV
    keeps the CLI's order (inputs, then prediction and probabilities).
    """
    frame = prediction.frame
    outputs = [prediction.column, *prediction.probability_columns]
    inputs = [c for c in frame.columns if str(c) not in outputs]
    shown = inputs[:SHOWN_COLUMNS]
    head = frame.head(limit)
    # Column by column: a row of mixed dtypes would turn integers into floats.
    cells = [[str(n) for n in range(1, len(head) + 1)]]
    cells += [[cell_text(v) for v in head[c].tolist()] for c in [*outputs, *shown]]
    columns = ["#", *outputs, *[str(c) for c in shown]]
    # Integer, unsigned and float dtypes (numpy and pandas' nullable ones); not booleans.
    kinds = [getattr(frame[c].dtype, "kind", "O") for c in [*outputs, *shown]]
    numeric = [True, *[kind in "iuf" for kind in kinds]]
    for index, is_number in enumerate(numeric):
        if is_number:  # padded to the column's width so magnitudes line up on the right
            width = max([len(columns[index]), *(len(cell) for cell in cells[index])])
            columns[index] = columns[index].rjust(width)
            cells[index] = [cell.rjust(width) for cell in cells[index]]
    rows = [list(row) for row in zip(*cells, strict=True)]
    return TableRows(columns, rows, numeric, len(inputs) - len(shown))


class PredictScreen(Screen[None]):
    """Choose a saved model and a data file, see the predictions, export them to CSV."""

    DEFAULT_CSS = """
    PredictScreen #predict-controls {
        height: 3;
    }
    PredictScreen #predict-model {
        width: 26;
    }
    PredictScreen #predict-version {
        width: 12;
    }
    PredictScreen #predict-path {
        width: 1fr;
    }
    PredictScreen #predict-run {
        margin-left: 1;
        min-width: 11;
    }
    PredictScreen #predict-message {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $boost;
    }
    PredictScreen #predict-message.-error {
        color: $error;
    }
    PredictScreen #predict-result {
        height: auto;
        max-height: 3;
        padding: 0 1;
        color: $text-muted;
    }
    PredictScreen #predict-tabs {
        height: 1fr;
    }
    PredictScreen #predict-tabs TabPane {
        padding: 0;
        height: 1fr;
    }
    PredictScreen #predict-browser, PredictScreen #predict-table {
        height: 1fr;
    }
    """

    COMMANDS: ClassVar = {ScreenCommands}
    COMMAND_LABEL: ClassVar[str] = "Predict"
    """Prefix of this screen's commands in the palette."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Close Predict", id="predict.back"),
        Binding(
            "f3",
            "browse",
            "Browse",
            tooltip="Show the file browser to choose a data file",
            id="predict.browse",
        ),
        Binding(
            "f5",
            "predict",
            "Predict",
            tooltip="Predict with the chosen model on the chosen file",
            id="predict.run",
        ),
        Binding(
            "f6",
            "export",
            "Export CSV",
            tooltip="Write every row and its prediction to a new CSV file",
            id="predict.export",
        ),
    ]

    @dataclass
    class Predicted(Message):
        """The worker predicted on a file."""

        request: int
        """Which press of Predict this answers (older answers are dropped)."""
        model_name: str
        entry: dict[str, Any]
        """The loaded model, kept for the next prediction with it."""
        prediction: Prediction
        table: TableRows
        shown_source: str

    @dataclass
    class PredictFailed(Message):
        """Predicting failed; ``message`` is one sentence."""

        request: int
        message: str

    @dataclass
    class Exported(Message):
        """The predictions were written to ``path``."""

        path: Path
        rows: int

    @dataclass
    class ExportFailed(Message):
        """Writing the CSV failed; ``message`` is one sentence."""

        message: str

    def __init__(
        self,
        store_dir: str | Path,
        model_names: Sequence[str],
        selected: str | None = None,
        start_dir: str | Path | None = None,
        *,
        loaded: Mapping[str, Mapping[str, Any]] | None = None,
        export_dir: str | Path | None = None,
        show_paths: bool = True,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.store_dir: StoreLocation = absolute_location(store_dir)
        """The model store to load models from."""
        self.model_names: list[str] = list(model_names)
        """The saved models offered in the model chooser."""
        name, _at, version = (selected or "").partition("@")
        self.selected: str | None = name if name in self.model_names else None
        """The model chosen at first (e.g. the one highlighted in Models)."""
        self.selected_version: str = version if self.selected is not None else ""
        """The version chosen at first (``v2`` or an alias; empty: the latest)."""
        self.start_dir: Path = Path(start_dir).absolute() if start_dir else Path.cwd()
        """Where the file browser starts; relative typed paths are taken from here."""
        self.loaded: Mapping[str, Mapping[str, Any]] = loaded if loaded is not None else {}
        """Models already in memory (e.g. the service's ``loaded``), used instead of the disk."""
        self.export_dir: Path = (
            Path(export_dir).absolute() if export_dir else self.start_dir / "exports"
        )
        """Where exported CSV files are written (created when needed)."""
        self.show_paths = show_paths
        """Show absolute paths (the app's setting; off in snapshot tests)."""
        self.cursor_blink = cursor_blink
        """Blink the path box's cursor (the app's setting; off in snapshot tests)."""
        self.prediction: Prediction | None = None
        """The predictions shown in the table (they stay when a later attempt fails)."""
        self.last_export: Path | None = None
        """The CSV written by the last export."""
        self.running: bool = False
        """A prediction is being computed."""
        self._request = 0
        self._entry: tuple[str, dict[str, Any]] | None = None
        self._store: ModelPersistence | None = None
        self._store_lock = threading.Lock()
        self._summary = ""
        self.sub_title = "Predict"

    def display_path(self, path: Path) -> str:
        """A path as shown on screen (only its last part when paths are hidden)."""
        return str(path) if self.show_paths else path.name

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        """Model and path choosers, the two message lines, file browser and results tabs."""
        yield Header(icon="▤")
        with Horizontal(id="predict-controls"):
            yield Select[str](
                [(name, name) for name in self.model_names],
                prompt="Choose a model",
                value=self.selected if self.selected is not None else Select.NULL,
                id="predict-model",
                tooltip="The saved model to predict with",
            )
            yield Input(
                self.selected_version,
                placeholder="latest",
                id="predict-version",
                tooltip="A version of the model: v2, or an alias such as champion (empty: latest)",
            )
            yield Input(
                placeholder="Path of a data file",
                id="predict-path",
                tooltip="A CSV, TSV, Excel, Parquet or JSON file; Enter predicts",
            )
            yield Button("Predict", id="predict-run", variant="primary")
        yield Static(self._hint(), id="predict-message")
        yield Static("", id="predict-result")
        with TabbedContent(id="predict-tabs", initial="predict-file"):
            with TabPane("File", id="predict-file"):
                yield DirectoryTree(self.start_dir, id="predict-browser")
            with TabPane("Predictions", id="predict-rows"):
                yield DataTable(id="predict-table", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Match the app's cursor setting and focus where the next choice is made."""
        if not self.cursor_blink:
            self.query_one("#predict-path", Input).cursor_blink = False
            self.query_one("#predict-version", Input).cursor_blink = False
        self.query_one("#predict-result").display = False
        if self.selected is None and self.model_names:
            self.query_one("#predict-model", Select).focus()
        else:
            self.query_one("#predict-browser", DirectoryTree).focus()

    def _hint(self) -> str:
        if not self.model_names:
            return "The store has no saved models yet: train and save one first."
        return "Choose a model and a data file (browse or type a path), then press F5."

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        """Close the screen."""
        self.dismiss()

    def action_browse(self) -> None:
        """Show the file browser."""
        self.query_one("#predict-tabs", TabbedContent).active = "predict-file"
        self.query_one("#predict-browser", DirectoryTree).focus()

    def action_predict(self) -> None:
        """Predict with the chosen model on the typed or browsed file."""
        self.start_prediction(self.query_one("#predict-path", Input).value)

    def action_export(self) -> None:
        """Write the predictions to a new CSV file (in a worker: the disk may be slow)."""
        if self.prediction is None:
            self._message("Predict first; then F6 writes the predictions to CSV.", error=True)
            return
        self._export(self.prediction, self.export_dir)

    @on(Button.Pressed, "#predict-run")
    def _run_pressed(self) -> None:
        self.action_predict()

    @on(Input.Submitted, "#predict-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        self.start_prediction(event.value)

    @on(DirectoryTree.FileSelected, "#predict-browser")
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.query_one("#predict-path", Input).value = str(event.path)
        self.start_prediction(str(event.path))

    def chosen_model(self) -> str | None:
        """The model chosen in the Select, if any, as ``NAME`` or ``NAME@VERSION`` when a
        version (``v2``, ``2`` or an alias) is typed beside it."""
        value = self.query_one("#predict-model", Select).value
        if not isinstance(value, str):
            return None
        version = self.query_one("#predict-version", Input).value.strip().lstrip("@")
        if version.isdigit():
            version = f"v{version}"
        return f"{value}@{version}" if version and version != "latest" else value

    @on(Input.Submitted, "#predict-version")
    def _version_submitted(self) -> None:
        self.action_predict()

    def start_prediction(self, raw_path: str) -> None:
        """Check the choices, then predict in a worker; problems become one sentence."""
        name = self.chosen_model()
        if name is None:
            self._message("Choose a model to predict with first.", error=True)
            self.query_one("#predict-model", Select).focus()
            return
        raw = raw_path.strip()
        if not raw:
            self._message("Choose a data file first: browse (F3) or type its path.", error=True)
            return
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = self.start_dir / path
        shown = self.display_path(path)
        entry = self.loaded.get(name)
        if entry is None and self._entry is not None and self._entry[0] == name:
            entry = self._entry[1]
        self._request += 1
        self.running = True
        self._message(f"Predicting with {name} on {shown}…")
        self._predict(self._request, name, path, shown, dict(entry) if entry else None)

    # ------------------------------------------------------------------ workers

    def _persistence(self) -> ModelPersistence:
        """The store, opened once (in a worker thread: opening touches the disk)."""
        from tuidash.core.store import ModelPersistence

        with self._store_lock:
            if self._store is None:
                self._store = ModelPersistence(self.store_dir)
            return self._store

    @work(thread=True, exclusive=True, exit_on_error=False, group="predict", description="Predict")
    def _predict(
        self, request: int, name: str, path: Path, shown: str, entry: dict[str, Any] | None
    ) -> None:
        """Load the model if needed, read the file, check it and predict (the workflow
        ``tuidash predict`` runs too)."""
        from tuidash.services import workflows

        worker = get_current_worker()
        try:
            store = self._persistence() if entry is None else None
            outcome = workflows.predict(store, name, path, entry=entry, source=shown)
            if worker.is_cancelled:
                return
            entry, prediction = outcome.entry, outcome.prediction
            table = table_rows(prediction)
        except Exception as error:  # every failure is reported as a sentence, never raised
            if not worker.is_cancelled:
                # The core names the file by the path it was given; show it as paths are shown.
                sentence = error_sentence(error).replace(str(path), shown)
                self.post_message(self.PredictFailed(request, sentence))
            return
        if not worker.is_cancelled:
            self.post_message(self.Predicted(request, name, entry, prediction, table, shown))

    @work(thread=True, exclusive=True, exit_on_error=False, group="export", description="Export")
    def _export(self, prediction: Prediction, folder: Path) -> None:
        """Write the CSV to a free name in ``folder``."""
        try:
            from tuidash.services.workflows import export_predictions

            path = export_predictions(prediction, folder)
        except Exception as error:
            self.post_message(self.ExportFailed(error_sentence(error)))
            return
        self.post_message(self.Exported(path, prediction.rows))

    # ------------------------------------------------------------------ results

    @on(Predicted)
    def _predicted(self, message: Predicted) -> None:
        if message.request != self._request:
            return  # an older run finished after a newer one started
        self.running = False
        self._entry = (message.model_name, message.entry)
        prediction = message.prediction
        self.prediction = prediction
        self._fill_table(message.table)
        total = prediction.rows
        rows = f"{total:,} row{'s' if total != 1 else ''}"
        shown = len(message.table.rows)
        summary = f"Shown: {message.model_name} on {message.shown_source}, {rows} predicted"
        summary += f", showing the first {shown:,}." if shown < total else "."
        if prediction.probability_columns:
            count = len(prediction.probability_columns)
            summary += f" {prediction.column!r} is the class; {count} probability columns follow."
        if message.table.hidden_columns:
            summary += f" {message.table.hidden_columns} more input columns are in the export."
        self._summary = summary
        self._show_result()
        done = f"Predicted {rows}; F6 exports them to CSV."
        self._message(" ".join([done, *prediction.notes]))
        self.query_one("#predict-tabs", TabbedContent).active = "predict-rows"
        self.query_one("#predict-table", DataTable).focus()

    @on(PredictFailed)
    def _predict_failed(self, message: PredictFailed) -> None:
        if message.request != self._request:
            return
        self.running = False
        self._message(message.message, error=True)

    @on(Exported)
    def _exported(self, message: Exported) -> None:
        self.last_export = message.path
        shown = self._export_display(message.path)
        self._message(f"Wrote {message.rows:,} rows to {shown}.")
        self.notify(f"Predictions exported to {shown}", title="Export")

    @on(ExportFailed)
    def _export_failed(self, message: ExportFailed) -> None:
        self._message(message.message, error=True)

    def _export_display(self, path: Path) -> str:
        return str(path) if self.show_paths else f"{path.parent.name}/{path.name}"

    def _fill_table(self, table_rows: TableRows) -> None:
        table = self.query_one("#predict-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*table_rows.columns)
        table.add_rows(table_rows.rows)

    def _show_result(self) -> None:
        text = self._summary
        result = self.query_one("#predict-result", Static)
        result.update(text)
        result.display = bool(text)

    def _message(self, text: str, *, error: bool = False) -> None:
        line = self.query_one("#predict-message", Static)
        line.update(text)
        line.set_class(error, "-error")
