"""The base of the section screens: header, load status line and footer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.signal import Signal
from textual.widgets import Footer, Header, Input

from tuidash.ui.widgets.load_status import LoadStatus

if TYPE_CHECKING:
    from tuidash.ui.messages import ModelLoadProgress, ModelsLoadFinished, StoreTransfer
    from tuidash.ui.state import Actions, AppState, Settings, StoreState

T = TypeVar("T")


class SectionScreen(Screen[None]):
    """A top-level section; it shows the state it is given and follows its signals.

    Subclasses put ``section_bindings()`` (``tuidash.ui.sections``) in their ``BINDINGS``
    where their footer shows the section keys.
    """

    TITLE_TEXT = ""
    """The section's name under the title."""

    def __init__(self, store: StoreState, settings: Settings) -> None:
        super().__init__()
        self.store = store
        """The model store (every section shows the bulk load in its status line)."""
        self.settings = settings
        """How the session was started."""

    @classmethod
    def for_app(cls, state: AppState, actions: Actions) -> SectionScreen:
        """The section as the app shows it: given the parts of ``state`` it shows."""
        return cls(state.store, state.settings)

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
        """Follow the store's load, then show the current state."""
        self.sub_title = self.TITLE_TEXT
        if not self.settings.cursor_blink:
            for box in self.query(Input):
                box.cursor_blink = False
        self.follow(self.store.load_progress, self.load_progressed)
        self.follow(self.store.transfer, self.transfer_progressed)
        self.follow(self.store.load_finished, self.load_finished)
        self.follow(self.store.action_done, self.store_action_done)
        state = self.store.load_state
        if state is not None:
            self.query_one(LoadStatus).show_progress(*state)
        self.sync()

    def follow(self, signal: Signal[T], show: Callable[[T], Any]) -> None:
        """Call ``show`` whenever ``signal`` is published, at once and in order.

        At once, as the state changes, so what a section shows never lags behind the state.
        Textual logs and drops an exception of an immediate callback: it is raised again on
        this screen instead, so a broken section fails as loudly as a broken handler.
        """

        def deliver(data: T) -> None:
            try:
                show(data)
            except Exception as error:
                self.call_next(_raise, error)

        signal.subscribe(self, deliver, immediate=True)

    def sync(self) -> None:
        """Show the current state (called on mount)."""

    def load_progressed(self, progress: ModelLoadProgress) -> None:
        """A model of the bulk load was handled."""
        self.query_one(LoadStatus).show_progress(progress.done, progress.total)

    def transfer_progressed(self, transfer: StoreTransfer) -> None:
        """Bytes of a large model moved to or from a remote store."""
        self.query_one(LoadStatus).show_transfer(
            transfer.what, transfer.key, transfer.done, transfer.total
        )

    def load_finished(self, finished: ModelsLoadFinished) -> None:
        """The bulk load ended."""
        self.query_one(LoadStatus).show_result(finished.loaded, finished.failed)

    def store_action_done(self, done: object) -> None:
        """A load, unload, delete or clear changed what is in memory: say what is now."""
        self.show_memory_status()

    def show_memory_status(self) -> None:
        """The status line counts the models actually in memory (not those of the last load)."""
        store = self.store
        if store.load_state is not None:
            return  # the bulk load's progress is showing and ends with its own count
        failed = len(set(store.load_failures) | set(store.problem_entries()))
        self.query_one(LoadStatus).show_result(len(store.loaded), failed)


def _raise(error: Exception) -> None:
    """Raise ``error`` (in the screen's own message loop, where Textual reports it)."""
    raise error
