"""The question asked on quit while trained models are unsaved: save elsewhere, quit, or stay."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


def names_text(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C' (names quoted as they are typed)."""
    quoted = [f"{name!r}" for name in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return f"{', '.join(quoted[:-1])} and {quoted[-1]}"


class UnsavedModelsModal(ModalScreen[tuple[str, str] | None]):
    """Dismisses with ("save", folder), ("quit", "") or None to stay in tuidash."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stay", "Stay", tooltip="Go back to tuidash", id="unsaved-stay"),
    ]

    def __init__(
        self, names: list[str], folder: str, error: str | None = None, cursor_blink: bool = True
    ) -> None:
        super().__init__()
        self.names = list(names)
        """The trained models that are not saved anywhere."""
        self.folder = folder
        """The folder offered for saving them."""
        self.error = error
        """Why the last attempt to save them elsewhere failed, if it did."""
        self.cursor_blink = cursor_blink
        """Blink the folder box's cursor (the app's setting; off in snapshot tests)."""

    def compose(self) -> ComposeResult:
        """The question, the folder to save in, and three buttons."""
        count = len(self.names)
        title = (
            f"{names_text(self.names)} is not saved."
            if count == 1
            else f"{count} trained models are not saved."
        )
        them = "it" if count == 1 else "them"
        with Vertical(classes="dialog", id="unsaved-dialog"):
            yield Label(title, classes="dialog-title")
            yield Label(
                f"Save {them} in another folder (a model store of its own: tuidash --store "
                f"FOLDER opens it), or quit anyway and lose {names_text(self.names)}.",
                classes="dialog-body",
            )
            with Horizontal(id="unsaved-folder-row"):
                yield Label("Folder ", id="unsaved-folder-label")
                yield Input(self.folder, id="unsaved-folder", compact=True)
            yield Static(self.error or "", id="unsaved-error", classes="-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save there", id="save", variant="primary")
                yield Button("Quit anyway", id="quit", variant="error")
                yield Button("Stay", id="stay")

    def on_mount(self) -> None:
        """Focus the folder, ready to edit or accept with Enter."""
        self.query_one("#unsaved-error", Static).display = bool(self.error)
        if not self.cursor_blink:
            self.query_one("#unsaved-folder", Input).cursor_blink = False
        self.query_one("#unsaved-folder", Input).focus()

    @on(Input.Submitted, "#unsaved-folder")
    def _submitted(self) -> None:
        self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Dismiss with the choice."""
        if event.button.id == "save":
            self._save()
        elif event.button.id == "quit":
            self.dismiss(("quit", ""))
        else:
            self.dismiss(None)

    def _save(self) -> None:
        self.dismiss(("save", self.query_one("#unsaved-folder", Input).value.strip()))

    def action_stay(self) -> None:
        """Dismiss without quitting."""
        self.dismiss(None)
