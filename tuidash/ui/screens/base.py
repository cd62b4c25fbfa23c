"""The base of the four section screens: header, load status line and footer."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Input

from tuidash.ui.widgets.load_status import LoadStatus

if TYPE_CHECKING:
    from tuidash.ui.app import TuidashApp
    from tuidash.ui.messages import ModelLoadProgress, ModelsLoadFinished


class SectionScreen(Screen[None]):
    """A top-level section; the app calls its ``on_*`` hooks when shared state changes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "app.section('data')", "Data", tooltip="Open a data file", id="section-data"),
        Binding("t", "app.section('train')", "Train", tooltip="Train models", id="section-train"),
        Binding(
            "m", "app.section('models')", "Models", tooltip="Saved models", id="section-models"
        ),
        Binding(
            "s",
            "app.section('storage')",
            "Storage",
            tooltip="The model store",
            id="section-storage",
        ),
    ]
    """Section keys, first in every section's footer (inherited by each section)."""

    SECTION: ClassVar[str] = ""
    """The mode name of this section."""
    TITLE_TEXT: ClassVar[str] = ""

    @property
    def tuidash(self) -> TuidashApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        """Header, the section's body, the load status line and the footer."""
        yield Header(icon="▤")
        yield from self.compose_body()
        yield LoadStatus()
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        """The section's own widgets."""
        yield from ()

    def on_mount(self) -> None:
        """Register with the app and show the current state."""
        self.sub_title = self.TITLE_TEXT
        if not self.tuidash.cursor_blink:
            for box in self.query(Input):
                box.cursor_blink = False
        self.tuidash.register_section(self.SECTION, self)
        state = self.tuidash.load_state
        if state is not None:
            self.query_one(LoadStatus).show_progress(*state)
        self.sync()

    def sync(self) -> None:
        """Show the app's current state (called on mount)."""

    def on_load_progress(self, message: ModelLoadProgress) -> None:
        """A model of the bulk load was handled."""
        self.query_one(LoadStatus).show_progress(message.done, message.total)

    def on_load_finished(self, message: ModelsLoadFinished) -> None:
        """The bulk load ended."""
        self.query_one(LoadStatus).show_result(message.loaded, message.failed)

    def on_store_action(self, message: object) -> None:
        """A load, unload, delete or clear changed what is in memory: say what is now."""
        self.show_memory_status()

    def show_memory_status(self) -> None:
        """The status line counts the models actually in memory (not those of the last load)."""
        app = self.tuidash
        if app.load_state is not None:
            return  # the bulk load's progress is showing and ends with its own count
        loaded = len(getattr(app.service, "loaded", None) or {})
        failed = len(set(app.load_failures) | set(app.problem_entries()))
        self.query_one(LoadStatus).show_result(loaded, failed)
