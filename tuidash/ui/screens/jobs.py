"""Jobs section: every training job of the store, newest first; cancel one, read its log."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from tuidash.core.progress import duration_text
from tuidash.ui.modals.confirm import ConfirmModal
from tuidash.ui.screens.base import SectionScreen
from tuidash.ui.sections import section_bindings

if TYPE_CHECKING:
    from tuidash.ui.state import Actions, AppState, JobsState, Settings, StoreState

COLUMNS = ("state", "progress", "elapsed", "what", "result")
"""The table's column keys, in order."""
BAR_CELLS = 6
"""Width of the progress bar drawn in the table."""
WHAT_CELLS = 30
"""Width of the What column (the detail line shows it whole)."""

STATE_STYLES = {
    "running": "bold",
    "queued": "",
    "finished": "green",
    "failed": "red",
    "interrupted": "red",
    "cancelled": "yellow",
}
"""How each state is drawn (theme-independent names Rich knows)."""


def job_what(record: Any) -> str:
    """The job's line for people, with its kind named as on Train ("Logistic Regression").

    Jobs recorded before the services named every kind wrote some by their id
    ("logistic_regression on penguins.csv"); the id at the front (or after "Random search
    of ") becomes the display name, so old and new jobs read the same.
    """
    from tuidash.core.catalog import display_name_of

    what = str(record.what)
    request = record.request if isinstance(record.request, dict) else {}
    kind = request.get("kind")
    if not isinstance(kind, str) or not kind:
        return what
    task = request.get("task")
    shown = display_name_of(kind, task if isinstance(task, str) else "regression")
    if shown == kind:
        return what
    pattern = rf"^((?:\w+ search of )?){re.escape(kind)}(?=\W|$)"
    return re.sub(pattern, lambda match: f"{match.group(1)}{shown}", what, count=1)


def progress_cell(record: Any, progress: Any) -> str:
    """A bar and a percentage while a job is active; "done" once finished; else empty."""
    if record.state == "finished":
        return "done"
    if not record.active:
        return ""
    if record.state == "queued":
        return "waiting"
    fraction = max(0.0, min(1.0, float(getattr(progress, "fraction", None) or 0.0)))
    filled = round(fraction * BAR_CELLS)
    return f"{'█' * filled}{'░' * (BAR_CELLS - filled)} {fraction:4.0%}"


def result_cell(record: Any) -> str:
    """What the job came to: the closing sentence, or the error."""
    if record.active:
        return ""
    return str(record.error or record.message or "")


class JobsScreen(SectionScreen):
    """The store's training jobs: state, progress, elapsed time, what, and how each ended."""

    TITLE_TEXT = "Jobs"
    BINDINGS: ClassVar[list[BindingType]] = [
        *section_bindings(),
        Binding(
            "x",
            "cancel_job",
            "Cancel job",
            tooltip="Stop the highlighted queued or running job (asks first)",
            id="jobs-cancel",
        ),
        Binding(
            "l",
            "show_log",
            "Log",
            tooltip="Show what the highlighted job's process wrote",
            id="jobs-log",
        ),
    ]

    def __init__(
        self, store: StoreState, settings: Settings, jobs: JobsState, actions: Actions
    ) -> None:
        super().__init__(store, settings)
        self.jobs = jobs
        """The jobs as the app last read them."""
        self.actions = actions
        """Cancels jobs and reads their logs."""
        self._shown: list[str] = []
        """The ids in the table, in row order."""
        self._can_cancel: bool | None = None
        """Whether the highlighted job could be cancelled when the footer was drawn."""

    @classmethod
    def for_app(cls, state: AppState, actions: Actions) -> JobsScreen:
        """The Jobs section of the app's store."""
        return cls(state.store, state.settings, state.jobs, actions)

    def compose_body(self) -> ComposeResult:
        """The table of jobs and the highlighted job's details."""
        with Vertical(id="jobs-body"):
            yield Static("", id="jobs-summary")
            yield DataTable(id="jobs-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="job-detail")

    def on_mount(self) -> None:
        """Columns, then the jobs; follow the app's reads; redraw the clocks every second."""
        table = self.query_one("#jobs-table", DataTable)
        table.add_column("State", key="state")
        # Fixed widths: columns never shrink, so widths taken from the first rows drawn
        # would depend on timing.
        table.add_column("Progress", key="progress", width=BAR_CELLS + 5)
        table.add_column("Elapsed", key="elapsed", width=8)
        # What is cut to leave room for how each job ended; the line under the table has both
        # in full for the highlighted job.
        table.add_column("What", key="what", width=WHAT_CELLS)
        table.add_column("Result", key="result")
        self.follow(self.jobs.changed, self._redraw)
        super().on_mount()
        self.set_interval(1.0, self._tick)

    def sync(self) -> None:
        """Show the jobs as last read."""
        self.redraw()

    def _redraw(self, jobs: JobsState) -> None:
        self.redraw()

    def _now(self) -> float:
        return self.settings.clock().timestamp()

    def redraw(self) -> None:
        """Fill the table from the jobs (rows updated in place while the same jobs show)."""
        table = self.query_one("#jobs-table", DataTable)
        records = self.jobs.records
        ids = [record.id for record in records]
        now = self._now()
        rows = [self._row(record, now) for record in records]
        if ids == self._shown:
            for job_id, row in zip(ids, rows, strict=True):
                for key, value in zip(COLUMNS, row, strict=True):
                    table.update_cell(job_id, key, value, update_width=True)
        else:
            current = self.highlighted()
            table.clear()
            for job_id, row in zip(ids, rows, strict=True):
                table.add_row(*row, key=job_id)
            self._shown = ids
            if current in ids:
                table.move_cursor(row=ids.index(current))
        self._summary()
        self._detail()
        self._keys_follow()

    def _keys_follow(self) -> None:
        """Show Cancel job in the footer only while the highlighted job can be cancelled
        (the footer is redrawn only when that changes)."""
        record = self.highlighted_record()
        can_cancel = record is not None and record.active
        if can_cancel != self._can_cancel:
            self._can_cancel = can_cancel
            self.refresh_bindings()

    def _row(self, record: Any, now: float) -> tuple[Any, ...]:
        state = record.state_text()
        return (
            Text(state, style=STATE_STYLES.get(record.state, "")),
            progress_cell(record, self.jobs.progress.get(record.id)),
            duration_text(record.elapsed(now)) if record.started_at else "",
            job_what(record),
            result_cell(record),
        )

    def _tick(self) -> None:
        """Move the elapsed time of the running jobs."""
        table = self.query_one("#jobs-table", DataTable)
        now = self._now()
        for record in self.jobs.records:
            if record.active and record.started_at and record.id in self._shown:
                table.update_cell(record.id, "elapsed", duration_text(record.elapsed(now)))

    def _summary(self) -> None:
        records = self.jobs.records
        line = self.query_one("#jobs-summary", Static)
        if not self.jobs.looked:
            line.update("Reading the jobs…")
            return
        if not records:
            line.update(
                "No training jobs yet: a training started on Train (t) or with "
                "`tuidash train` runs as a job and shows here."
            )
            return
        active = sum(1 for r in records if r.active)
        noun = "job" if len(records) == 1 else "jobs"
        line.update(
            f"{len(records)} {noun}, {active} queued or running. They run on without "
            "tuidash: quit and come back any time."
        )

    def highlighted(self) -> str | None:
        """The id of the highlighted job, or None."""
        table = self.query_one("#jobs-table", DataTable)
        if not self._shown or table.cursor_row < 0 or table.cursor_row >= len(self._shown):
            return None
        return self._shown[table.cursor_row]

    def highlighted_record(self) -> Any | None:
        """The record of the highlighted job, or None."""
        job_id = self.highlighted()
        return self.jobs.get(job_id) if job_id is not None else None

    @on(DataTable.RowHighlighted, "#jobs-table")
    def _highlighted(self) -> None:
        self._detail()
        self._keys_follow()

    def _detail(self) -> None:
        """The highlighted job's id, what it is doing now, and its log file."""
        record = self.highlighted_record()
        detail = self.query_one("#job-detail", Static)
        if record is None:
            detail.update("")
            detail.display = False
            return
        detail.display = True
        parts = [f"Job {record.id}: {record.state_text()}"]
        progress = self.jobs.progress.get(record.id)
        if record.active and progress is not None and progress.text:
            parts.append(str(progress.text))
        elif record.ended:
            parts.append(result_cell(record))
        detail.update(f"{job_what(record)}\n" + " — ".join(p for p in parts if p))

    # ----- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Cancel only a queued or running job; the log of any job."""
        if action == "cancel_job":
            record = self.highlighted_record()
            return bool(record is not None and record.active) or None
        if action == "show_log":
            return self.highlighted() is not None or None
        return True

    def action_cancel_job(self) -> None:
        """Ask, then cancel the highlighted job."""
        record = self.highlighted_record()
        if record is None or not record.active:
            return
        job_id = record.id

        def chosen(yes: bool | None) -> None:
            if yes:
                self.actions.cancel_job(job_id)

        self.app.push_screen(
            ConfirmModal(
                "Cancel this job?",
                f"{job_what(record)} stops now (within about two seconds); nothing of it is saved.",
                "Cancel job",
            ),
            chosen,
        )

    def action_show_log(self) -> None:
        """Show the highlighted job's log (it follows a running job)."""
        from tuidash.ui.modals.job_log import JobLogModal

        record = self.highlighted_record()
        if record is None:
            return
        self.app.push_screen(JobLogModal(record, self.jobs, self.actions.read_job_log))
