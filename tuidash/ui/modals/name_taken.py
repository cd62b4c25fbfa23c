"""The dialog shown when a model name is already taken: a new version of it (the
default), another name, or cancel."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

NEW_VERSION = "new-version"
"""What the dialog dismisses with when the model is saved as a new version of the name."""
BUTTON_NAME_CELLS = 20
"""Longest name a button shows whole (a longer one ends in …) so every button fits at 80
columns; the question above and the box show the name in full."""


def button_name(name: str) -> str:
    """``name`` quoted for a button label, cut to ``BUTTON_NAME_CELLS`` characters."""
    if len(name) > BUTTON_NAME_CELLS:
        name = name[: BUTTON_NAME_CELLS - 1] + "…"
    return repr(name)


def holder(name: str, taken: Iterable[str]) -> str:
    """The taken name that ``name`` clashes with by the store's rule (same files: another
    upper/lower case, ``_`` for a space), or ``name`` itself when none does."""
    from tuidash.core.store.names import fold

    key = fold(name)
    same = sorted(n for n in taken if fold(n) == key)
    return name if name in same or not same else same[0]


class NameTakenModal(ModalScreen[str | None]):
    """Dismisses with ``NEW_VERSION``, another name to use instead, or None to cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Do not train", id="name-cancel"),
    ]

    def __init__(
        self,
        name: str,
        free_name: str,
        *,
        versions: int | None = None,
        taken: Iterable[str] = (),
        existing: str | None = None,
    ) -> None:
        super().__init__()
        self.model_name = name
        """The name that is taken."""
        self.taken = set(taken) | ({existing} if existing else set())
        """The names in use (saved or waiting to be saved): the other name must be free."""
        self.existing = existing or holder(name, self.taken)
        """The model that holds the name (maybe spelt in another case)."""
        self.free_name = free_name
        """A free name such as "Random Forest (2)", offered as the other name."""
        self.versions = versions
        """How many versions the saved model has (None: not known, or not that very name)."""

    def compose(self) -> ComposeResult:
        """The question, the other name to type, and the buttons."""
        with Vertical(classes="dialog", id="taken-dialog"):
            yield Label(f"A model named {self.existing!r} already exists.", classes="dialog-title")
            if self.versions is not None:
                number = self.versions + 1
                yield Label(
                    f"Save it as version {number} of {self.model_name!r} (every earlier "
                    "version is kept), or under another name.",
                    classes="dialog-body",
                )
            else:
                yield Label(
                    "Names that differ only in upper/lower case, spaces or _ share files: "
                    "save it under another name.",
                    classes="dialog-body",
                )
            # The button that uses the other name sits beside it: three buttons in one row
            # do not fit in the dialog at 80 (or 100) columns.
            with Horizontal(id="taken-name-row"):
                yield Label("Other name ", id="taken-name-label")
                yield Input(self.free_name, id="taken-name")
                yield Button(f"Use {button_name(self.free_name)}", id="free")
            yield Label("", id="taken-error")
            with Horizontal(classes="dialog-buttons"):
                if self.versions is not None:
                    yield Button(
                        f"New version of {button_name(self.model_name)}",
                        id="version",
                        variant="primary",
                    )
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        """Focus the default: a new version (or the free name when there cannot be one)."""
        default = "#version" if self.versions is not None else "#free"
        self.query_one(default, Button).focus()

    @on(Input.Changed, "#taken-name")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#free", Button).label = f"Use {button_name(event.value.strip())}"
        self.query_one("#taken-error", Label).update("")

    @on(Input.Submitted, "#taken-name")
    def _entered(self) -> None:
        self._use_other()

    def _use_other(self) -> None:
        from tuidash.core.store import name_problem

        name = self.query_one("#taken-name", Input).value.strip()
        problem = name_problem(name)
        if problem is None and name == self.model_name:
            problem = f"{name!r} is the taken name; type another one."
        elif problem is None and (clash := holder(name, self.taken)) in self.taken:
            problem = f"{name!r} is taken by the model {clash!r}; type another one."
        if problem:
            self.query_one("#taken-error", Label).update(problem)
            return
        self.dismiss(name)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Dismiss with the choice."""
        if event.button.id == "version":
            self.dismiss(NEW_VERSION)
        elif event.button.id == "free":
            self._use_other()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        """Dismiss without a choice."""
        self.dismiss(None)
