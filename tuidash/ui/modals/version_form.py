"""A small form about the versions of one model: a version choice, text fields, buttons.

The Models section asks with it for an alias, a roll-back, a version to delete, a note,
tags and a new name. It dismisses with what was chosen, or None when cancelled; a
``check`` function refuses a value with one sentence shown in the dialog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select


@dataclass
class FormField:
    """One text field of the form."""

    id: str
    """Its key in the answer and its widget id (``field-ID``)."""
    label: str
    """What to type, shown before it."""
    value: str = ""
    """The text it starts with."""
    placeholder: str = ""
    """Shown while it is empty."""


@dataclass
class FormAnswer:
    """What the form was dismissed with."""

    button: str
    """The id of the button pressed (Enter in a field presses the first one)."""
    version: int | None
    """The version chosen (None when the form has no version choice)."""
    values: dict[str, str] = field(default_factory=dict)
    """Each field's text, by field id, stripped."""


Check = Callable[[FormAnswer], str | None]
"""Why an answer cannot be used, as a sentence, or None if it can."""


class VersionFormModal(ModalScreen[FormAnswer | None]):
    """A question about a model's versions; dismisses with a ``FormAnswer`` or None."""

    DEFAULT_CSS = """
    VersionFormModal {
        align: center middle;
    }
    VersionFormModal .form-row {
        height: auto;
        margin-bottom: 1;
    }
    VersionFormModal .form-label {
        width: 10;
        padding: 1 1 0 0;
    }
    VersionFormModal .form-row Input, VersionFormModal .form-row Select {
        width: 1fr;
    }
    VersionFormModal #form-error {
        color: $error;
        width: 100%;
        height: auto;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Change nothing", id="form-cancel"),
    ]

    def __init__(
        self,
        title: str,
        body: str,
        *,
        buttons: Sequence[tuple[str, str, str]],
        versions: Sequence[tuple[str, int]] = (),
        version: int | None = None,
        fields: Sequence[FormField] = (),
        check: Check | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        """The question."""
        self.body = body
        """What will happen, in a sentence or two."""
        self.buttons = list(buttons)
        """(id, label, variant) of each answer button; Cancel is added."""
        self.versions = list(versions)
        """(label, number) of each version to choose from; none: no choice."""
        self.version = version
        """The version chosen at first."""
        self.fields = list(fields)
        """The text fields."""
        self.check = check
        """Refuses an answer with a sentence."""

    def compose(self) -> ComposeResult:
        """Title, body, the version choice, the fields, an error line and the buttons."""
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Label(self.body, classes="dialog-body")
            if self.versions:
                with Horizontal(classes="form-row"):
                    yield Label("Version", classes="form-label")
                    chosen = self.version
                    if chosen not in [number for _, number in self.versions]:
                        chosen = self.versions[-1][1]
                    yield Select(self.versions, value=chosen, allow_blank=False, id="form-version")
            for item in self.fields:
                with Horizontal(classes="form-row"):
                    yield Label(item.label, classes="form-label")
                    yield Input(item.value, placeholder=item.placeholder, id=f"field-{item.id}")
            yield Label("", id="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                for button_id, label, variant in self.buttons:
                    yield Button(label, id=button_id, variant=variant)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        """Focus the first field, else the version choice, else Cancel."""
        if self.fields:
            self.query_one(f"#field-{self.fields[0].id}", Input).focus()
        elif self.versions:
            self.query_one("#form-version", Select).focus()
        else:
            self.query_one("#cancel", Button).focus()

    def answer(self, button: str) -> FormAnswer:
        """What the form holds now, as if ``button`` were pressed."""
        version = None
        if self.versions:
            value = self.query_one("#form-version", Select).value
            version = value if isinstance(value, int) else None
        values = {f.id: self.query_one(f"#field-{f.id}", Input).value.strip() for f in self.fields}
        return FormAnswer(button, version, values)

    def submit(self, button: str) -> None:
        """Dismiss with the answer, or show why it cannot be used."""
        answer = self.answer(button)
        problem = self.check(answer) if self.check is not None else None
        if problem:
            self.query_one("#form-error", Label).update(problem)
            return
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Cancel, or submit with the button pressed."""
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self.submit(str(event.button.id))

    @on(Input.Submitted)
    def _entered(self) -> None:
        self.submit(self.buttons[0][0])

    def action_cancel(self) -> None:
        """Dismiss without an answer."""
        self.dismiss(None)


def version_choices(rows: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    """(label, number) of every version, oldest first, for the form's version choice."""
    choices = []
    for row in rows:
        label = f"v{row['version']}"
        extras = []
        if row.get("latest"):
            extras.append("latest")
        extras += [f"@{alias}" for alias in sorted(row.get("aliases") or [])]
        if row.get("saved_at"):
            extras.append(str(row["saved_at"])[:16])
        if extras:
            label += " (" + ", ".join(extras) + ")"
        choices.append((label, int(row["version"])))
    return choices
