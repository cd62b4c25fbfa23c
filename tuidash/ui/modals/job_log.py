"""A job's log: what its process wrote, followed while the job runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea

from tuidash.ui.messages import error_sentence
from tuidash.ui.screens.jobs import job_what

if TYPE_CHECKING:
    from tuidash.ui.state import JobsState

FOLLOW_SECONDS = 1.0
"""How often the log of a running job is read again."""


class JobLogModal(ModalScreen[None]):
    """Shows one job's log; Esc closes it."""

    @dataclass
    class LogRead(Message):
        """New text of the log, and where the next read starts."""

        text: str
        offset: int

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", tooltip="Close the log", id="job-log-close"),
    ]

    def __init__(
        self, record: Any, jobs: JobsState, read_log: Callable[[str, int], tuple[str, int]]
    ) -> None:
        super().__init__()
        self.record = record
        """The job whose log is shown."""
        self.jobs = jobs
        """The jobs as the app reads them (to know when this one has ended)."""
        self.read_log = read_log
        """Reads the log from an offset (disk: called in a thread)."""
        self.log_offset = 0
        """Bytes of the log shown so far."""

    def compose(self) -> ComposeResult:
        """Title and the log."""
        with Vertical(classes="dialog", id="job-log-dialog"):
            yield Label(f"Log of job {self.record.id}", classes="dialog-title")
            yield Label(job_what(self.record), classes="dialog-body")
            # Long lines wrap (a Log cut them at the dialog's edge); read only, no cursor: the
            # arrows scroll, and the text can be selected and copied.
            yield TextArea(id="job-log", read_only=True, soft_wrap=True, show_cursor=False)

    def on_mount(self) -> None:
        """Read the log, then again every second while the job is active."""
        self.read_more()
        self.set_interval(FOLLOW_SECONDS, self._follow)

    def _follow(self) -> None:
        record = self.jobs.get(self.record.id)
        if (record is not None and record.active) or self.log_offset == 0:
            self.read_more()

    @work(thread=True, exclusive=True, exit_on_error=False, group="job-log")
    def read_more(self) -> None:
        """Read what the log has gained and append it."""
        try:
            text, offset = self.read_log(self.record.id, self.log_offset)
        except Exception as error:
            problem = f"The log cannot be read: {error_sentence(error)}\n"
            self.post_message(self.LogRead(problem, self.log_offset))
            return
        if text:
            self.post_message(self.LogRead(text, offset))

    @on(LogRead)
    def _show(self, message: LogRead) -> None:
        self.log_offset = max(self.log_offset, message.offset)
        area = self.query_one("#job-log", TextArea)
        following = area.scroll_y >= area.max_scroll_y  # at the end: stay there as it grows
        text = message.text.replace("\r\n", "\n").replace("\r", "\n")
        area.insert(text, area.document.end)
        if following:
            area.scroll_end(animate=False, immediate=False)

    def action_close(self) -> None:
        """Close the log."""
        self.dismiss(None)
