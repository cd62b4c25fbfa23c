"""A yes/no confirmation dialog."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class ConfirmModal(ModalScreen[bool]):
    """Asks the user to confirm a destructive action; dismisses with True or False."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Do nothing", id="confirm-cancel"),
    ]

    def __init__(self, title: str, body: str, confirm_label: str = "Delete") -> None:
        super().__init__()
        self.title_text = title
        """The question."""
        self.body = body
        """What exactly will happen."""
        self.confirm_label = confirm_label
        """The label of the destructive button."""

    def compose(self) -> ComposeResult:
        """Title, body and two buttons (Cancel focused first)."""
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Label(self.body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.confirm_label, id="confirm", variant="error")

    def on_mount(self) -> None:
        """Focus Cancel so a stray Enter does nothing destructive."""
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Dismiss with the choice."""
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        """Dismiss without confirming."""
        self.dismiss(False)
