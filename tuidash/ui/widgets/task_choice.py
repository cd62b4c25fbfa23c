"""The task choice (auto, regression, classification) with the core's reason sentence.

Shown in Data (beside the target) and in Train (above the kinds); both edit the same
``DataState.task``, so a choice made in one section is the one the other shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Select, Static

from tuidash.core.tasks import TASK_CHOICES

if TYPE_CHECKING:
    from tuidash.ui.state import DataState

TASK_LABELS = {
    "auto": "auto (follow the target)",
    "regression": "regression (a number)",
    "classification": "classification (a class)",
}
"""How each task choice reads in the list."""


class TaskChoiceRow(Vertical):
    """A task list and, under it, which task training will do and why."""

    DEFAULT_CSS = """
    TaskChoiceRow {
        height: auto;
    }
    TaskChoiceRow > Horizontal {
        height: auto;
    }
    TaskChoiceRow .task-label {
        padding: 0 1 0 0;
    }
    TaskChoiceRow Select {
        width: 32;
    }
    TaskChoiceRow .task-reason {
        height: auto;
        color: $text-muted;
    }
    """

    def __init__(self, data: DataState, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="task-choice")
        self.data = data
        """The data set, its target and the task asked for."""

    def compose(self) -> ComposeResult:
        """Label and list on one row, the reason under them."""
        with Horizontal():
            yield Label("Task", classes="task-label")
            yield Select[str](
                [(TASK_LABELS[t], t) for t in TASK_CHOICES],
                value=self.data.task,
                allow_blank=False,
                compact=True,
                classes="task-select",
                tooltip="auto decides from the target's values; choose to override it",
            )
        yield Static("", classes="task-reason")

    def on_mount(self) -> None:
        """Follow the data and the target."""
        self.data.loaded.subscribe(self, self.show, immediate=True)
        self.data.target_changed.subscribe(self, self.show, immediate=True)
        self.show(self.data)

    def reason(self) -> str:
        """The sentence under the list: the task training will do and why."""
        choice = self.data.task_choice()
        if choice is None:
            return "Choose a target to see the task."
        return str(choice.reason)

    def show(self, data: DataState) -> None:
        """Show the task asked for and the reason."""
        select = self.query_one(Select)
        if select.value != data.task:
            with select.prevent(Select.Changed):
                select.value = data.task
        self.query_one(".task-reason", Static).update(self.reason())

    @on(Select.Changed)
    def _chosen(self, event: Select.Changed) -> None:
        event.stop()
        if not isinstance(event.value, str) or event.value == self.data.task:
            return
        self.data.choose_task(str(event.value))
