"""The dialog shown when a model name is already taken: replace, free name or cancel."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class NameTakenModal(ModalScreen[str | None]):
    """Dismisses with "replace", the free name to use instead, or None to cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Do not train", id="name-cancel"),
    ]

    def __init__(self, name: str, free_name: str) -> None:
        super().__init__()
        self.model_name = name
        """The name that is taken."""
        self.free_name = free_name
        """A free name such as "Random Forest (2)"."""

    def compose(self) -> ComposeResult:
        """The question and three buttons."""
        with Vertical(classes="dialog"):
            yield Label(
                f"A model named {self.model_name!r} already exists.", classes="dialog-title"
            )
            yield Label(
                "Replace it (the saved one is overwritten), or keep both under a new name.",
                classes="dialog-body",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"Use {self.free_name!r}", id="free", variant="primary")
                yield Button("Replace", id="replace", variant="error")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        """Focus the safe choice: the free name."""
        self.query_one("#free", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Dismiss with the choice."""
        if event.button.id == "replace":
            self.dismiss("replace")
        elif event.button.id == "free":
            self.dismiss(self.free_name)
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        """Dismiss without a choice."""
        self.dismiss(None)
