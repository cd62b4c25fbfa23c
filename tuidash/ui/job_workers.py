"""The app's side of training jobs: start them, follow them, cancel them.

A training started from the dashboard is a job (``services.jobs``): a process of its own
that trains and saves, so closing the terminal loses nothing. The app only watches: one
thread worker reads the store's jobs every half second and posts ``JobsPolled``; the
handlers keep ``AppState.jobs`` current and turn the jobs of the Train section's batch into
the training messages the Train section already follows (progress, trained, failed,
cancelled), with the model already saved by the job.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App

from tuidash.ui import messages as msg
from tuidash.ui.messages import error_sentence

if TYPE_CHECKING:
    from tuidash.services.jobs import Jobs
    from tuidash.ui.batch import BatchOutcome
    from tuidash.ui.state import AppState, TrainJob

POLL_SECONDS = 0.5
"""How often the jobs are looked at."""


@dataclass
class JobMetrics:
    """A finished job's metrics, shaped like the core's ``Metrics`` (values and reasons)."""

    values: dict[str, Any] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)


@dataclass
class JobResult:
    """What a finished job trained, shaped like the core's ``TrainedModel`` where the Train
    section reads one (metrics, cross-validation, the model data for charts)."""

    name: str
    """The name it was saved under."""
    display_name: str
    """The model kind's name."""
    metrics: JobMetrics
    cv: dict[str, Any] | None
    metadata: dict[str, Any]
    """The saved metadata (no model object): predictions for the charts."""
    task: str = "regression"
    """"regression" or "classification"."""
    task_reason: str = ""
    """Why the task was chosen (one sentence)."""
    classes: list[Any] | None = None
    """A classifier's classes."""
    search: dict[str, Any] | None = None
    """The parameter search that chose it, if any."""

    @classmethod
    def of(cls, record: Any, result: dict[str, Any] | None) -> JobResult:
        """The result of a finished job (its ``result.json``; empty metrics when missing)."""
        summary = dict((result or {}).get("summary") or {})
        metadata = dict((result or {}).get("metadata") or {})
        saved = record.saved[0] if record.saved else {}
        return cls(
            name=str(saved.get("name") or summary.get("name") or record.request.get("name")),
            display_name=str(summary.get("display_name") or record.request.get("kind")),
            metrics=JobMetrics(
                dict(summary.get("metrics") or {}), dict(summary.get("metric_reasons") or {})
            ),
            cv=summary.get("cv"),
            metadata=metadata,
            task=str(summary.get("task") or metadata.get("task") or "regression"),
            task_reason=str(summary.get("task_reason") or ""),
            classes=summary.get("classes") or metadata.get("classes"),
            search=metadata.get("search") or summary.get("search"),
        )

    def to_model_data(self) -> dict[str, Any]:
        """The model data as the Train section's charts read it."""
        return dict(self.metadata)


@dataclass
class JobBatch:
    """The jobs of the training batch the Train section shows."""

    batch: int
    kinds: list[TrainJob]
    """The model kinds, in batch order."""
    config: dict[str, Any]
    """The split settings shared by the batch."""
    data: Any
    """The data the batch trains on (handed to a job started again under another name)."""
    places: dict[str, int] = field(default_factory=dict)
    """Job id → position of its kind in the batch."""
    left: set[int] = field(default_factory=set)
    """Positions whose job has not ended yet."""
    cancelled: bool = False
    """A job of the batch was cancelled (from Jobs or the command line)."""
    posted: dict[str, float] = field(default_factory=dict)
    """Job id → time of the last progress report passed on."""


def kind_of(record: Any) -> TrainJob:
    """The model kind, parameters and name a job record trains."""
    from tuidash.ui.state import TrainJob

    request = record.request
    kind = str(request.get("kind"))
    name = request.get("name")
    if not name:
        from tuidash.core.catalog import CATALOG

        name = CATALOG[kind].display_name if kind in CATALOG else kind
    return TrainJob(kind, dict(request.get("params") or {}), str(name))


def start_sentence(error: BaseException, store: Any) -> str:
    """Why a job could not be started, as one sentence; a store that cannot be written
    (its jobs folder) is named as the command line names it."""
    if isinstance(error, OSError) and not isinstance(error, FileNotFoundError):
        from tuidash.core.errors import unwritable_store

        return unwritable_store(store, error)
    return error_sentence(error)


class JobWorkers(App[None]):
    """The workers and handlers of training jobs (a part of ``TuidashApp``)."""

    state: AppState
    batch_id: int
    outcome: BatchOutcome | None
    cancel_event: threading.Event
    job_batch: JobBatch | None
    """The jobs of the Train section's batch (None before the first)."""
    use_jobs: bool
    """Train in job processes (the dashboard's way); False trains in this process."""
    _jobs: Jobs | None = None
    _jobs_stop: threading.Event
    _jobs_wake: threading.Event
    _seen_active: set[str]
    """Jobs seen queued or running by this app: their end is news."""
    _ends_told: set[str]
    """Jobs whose end has been handled (notified, model loaded)."""

    def jobs_service(self) -> Jobs:
        """The store's jobs (created on first use; it holds no open files)."""
        if self._jobs is None:
            from tuidash.services.jobs import Jobs

            self._jobs = Jobs(self.state.settings.store_dir)
        return self._jobs

    # ----- looking at the jobs ------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="jobs", description="Jobs")
    def monitor_jobs(self) -> None:
        """Read the jobs every half second; follow the active ones; post what changed."""
        service = self.jobs_service()
        watchers: dict[str, Any] = {}
        last: Any = None
        while not self._jobs_stop.is_set():
            try:
                records = service.list_jobs()
                for record in records:
                    if record.active and record.id not in watchers:
                        watchers[record.id] = service.attach(record.id)
                updates = {}
                for job_id, watcher in list(watchers.items()):
                    update = watcher.poll()
                    updates[job_id] = update
                    if update.done:
                        del watchers[job_id]
            except Exception:  # a job folder being written or removed: look again soon
                self._jobs_wake.wait(POLL_SECONDS)
                continue
            seen = [(r.id, r.state, r.phase, r.ended_at) for r in records]
            # Only news is posted: a state, a phase, a progress report or a heartbeat.
            if seen != last or any(update.events for update in updates.values()):
                last = seen
                self.post_message(msg.JobsPolled(records, updates))
            self._jobs_wake.wait(POLL_SECONDS)
            self._jobs_wake.clear()

    def wake_jobs_monitor(self) -> None:
        """Look at the jobs now rather than in half a second."""
        self._jobs_wake.set()

    @on(msg.JobsPolled)
    def _jobs_polled(self, message: msg.JobsPolled) -> None:
        first = not self.state.jobs.looked
        self.state.jobs.use(message.records, message.updates)
        if first:
            self._reattach(message.records)
        for record in message.records:
            if record.active:
                self._seen_active.add(record.id)
        for job_id, update in message.updates.items():
            self._job_update(job_id, update)

    def _reattach(self, records: list[Any]) -> None:
        """At start: this machine's queued and running jobs become the Train section's batch
        (progress, Esc cancels); finished ones are in the store listing already."""
        from tuidash.core.jobs import this_host

        host = this_host()
        mine = [r for r in reversed(records) if r.active and r.host == host]
        if not mine or not self.use_jobs or self.state.training.running:
            return
        kinds = [kind_of(record) for record in mine]
        batch = self.begin_batch(kinds, {}, None)
        for index, record in enumerate(mine):
            batch.places[record.id] = index
        count = len(mine)
        self.notify(
            f"Following {count} training job{'s' if count != 1 else ''} still running from "
            "before (t shows the training, j every job)."
        )

    def begin_batch(self, kinds: list[TrainJob], config: dict[str, Any], data: Any) -> JobBatch:
        """Start the Train section's batch (the app's bookkeeping; a subclass fills it in)."""
        raise NotImplementedError

    def _job_update(self, job_id: str, update: Any) -> None:
        """One job's news: the batch's training messages, or the end of another job."""
        batch = self.job_batch
        record = update.record
        if (
            batch is not None
            and job_id in batch.places
            and batch.batch == self.batch_id
            and self.state.training.running
        ):
            index = batch.places[job_id]
            if index not in batch.left:
                return
            kind = batch.kinds[index]
            progress = update.progress
            if progress is not None and batch.posted.get(job_id) != progress.time:
                batch.posted[job_id] = progress.time
                self.post_message(
                    msg.TrainingProgress(
                        kind.kind_id,
                        float(progress.fraction or 0.0),
                        str(progress.text or ""),
                        index,
                        len(batch.kinds),
                        batch.batch,
                        elapsed=record.elapsed(),
                    )
                )
            if update.done:
                self._ends_told.add(job_id)
                batch.left.discard(index)
                self._batch_job_ended(batch, kind, record, update.result)
            return
        if update.done and job_id in self._seen_active and job_id not in self._ends_told:
            self._ends_told.add(job_id)
            self._other_job_ended(record)

    def _batch_job_ended(self, batch: JobBatch, kind: TrainJob, record: Any, result: Any) -> None:
        """Pass a batch job's end on as the training message it stands for."""
        from tuidash.core.jobs import CANCELLED, FINISHED

        if record.state == FINISHED:
            trained = JobResult.of(record, result)
            version = int(record.saved[0].get("version") or 1) if record.saved else 1
            finished = msg.TrainingFinished(
                trained.name, trained, batch=batch.batch, saved_version=version
            )
            self.post_message(finished)
        elif record.state == CANCELLED:
            batch.cancelled = True
            self.post_message(msg.TrainingCancelled(kind.kind_id, batch.batch))
        else:
            sentence = record.error or record.message or f"The job ended {record.state}."
            self.post_message(msg.TrainingFailed(kind.kind_id, sentence, batch.batch))
        if not batch.left:
            self.post_message(msg.TrainingBatchDone(batch.batch))

    def _other_job_ended(self, record: Any) -> None:
        """A job this app saw running ended outside the Train section's batch: say so; its
        model appears in Models (and is loaded, as after a save)."""
        from tuidash.core.jobs import FINISHED, INTERRUPTED

        if record.state == FINISHED:
            self.notify(f"{record.what}: {record.message or 'finished.'}", title="Job finished")
            self.refresh_store()  # type: ignore[attr-defined]
            if self.state.store.autoload:
                for saved in record.saved:
                    self.store_action("reload", str(saved.get("name")), quiet=True)  # type: ignore[attr-defined]
        elif record.state in (INTERRUPTED, "failed"):
            self.notify(
                record.error or "The job failed.",
                title=f"Job {record.state}: {record.what}",
                severity="error",
                timeout=10,
            )

    # ----- starting ----------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="jobs-start", description="Start jobs")
    def start_jobs(
        self,
        batch: JobBatch,
        positions: list[int],
        cancel: threading.Event,
    ) -> None:
        """Start one job per model kind of the batch (at ``positions``); each starts at once
        and the jobs queue by the store's limit."""
        from tuidash.core.errors import ModelExists
        from tuidash.services import workflows

        service = self.jobs_service()
        store = self.state.settings.store_dir
        for index in positions:
            kind = batch.kinds[index]
            if cancel.is_set():
                self.post_message(msg.JobStartRefused(batch.batch, index, ""))
                continue
            request = workflows.TrainRequest(
                kind=kind.kind_id,
                params=kind.params,
                data=batch.data,
                name=kind.name,
                replace=kind.replace,
                **batch.config,
            )
            searching = getattr(kind, "search", None)  # Search mode: a SearchJob
            try:
                record = service.start(
                    request,
                    search=searching.spec if searching is not None else None,
                    cluster=searching.cluster if searching is not None else None,
                )
            except Exception as error:
                taken = isinstance(error, ModelExists)
                existing = getattr(error, "existing", None)
                self.post_message(
                    msg.JobStartRefused(
                        batch.batch, index, start_sentence(error, store), taken, existing
                    )
                )
                continue
            # Known at once, before the job can report anything.
            batch.places[record.id] = index
            if cancel.is_set():
                # Cancelled while it was being started; its end is read like any job's.
                with contextlib.suppress(Exception):
                    record = service.cancel(record.id)
            self.post_message(msg.JobStarted(batch.batch, index, record))
            self.wake_jobs_monitor()

    @on(msg.JobStarted)
    def _job_started(self, message: msg.JobStarted) -> None:
        update = self.state.jobs.updates.get(message.record.id)
        if update is not None:
            self._job_update(message.record.id, update)

    @on(msg.JobStartRefused)
    def _job_start_refused(self, message: msg.JobStartRefused) -> None:
        batch = self.job_batch
        if batch is None or batch.batch != message.batch or message.index not in batch.left:
            return
        kind = batch.kinds[message.index]
        if message.name_taken and self.state.training.running:
            self._ask_job_name(batch, message.index, message.existing)
            return
        batch.left.discard(message.index)
        if message.message:
            self.post_message(msg.TrainingFailed(kind.kind_id, message.message, batch.batch))
        else:
            self.post_message(msg.TrainingCancelled(kind.kind_id, batch.batch))
        if not batch.left:
            self.post_message(msg.TrainingBatchDone(batch.batch))

    def _ask_job_name(self, batch: JobBatch, index: int, existing: str | None = None) -> None:
        """The name was taken meanwhile (another session): another name, or not trained."""
        from dataclasses import replace

        from tuidash.ui.modals.name_taken import NEW_VERSION, NameTakenModal

        kind = batch.kinds[index]

        def chosen(choice: str | None) -> None:
            if batch.batch != self.batch_id or not self.state.training.running:
                return
            if choice is None:
                batch.left.discard(index)
                self.post_message(
                    msg.TrainingFailed(
                        kind.kind_id, f"Not trained: the name {kind.name!r} is taken.", batch.batch
                    )
                )
                if not batch.left:
                    self.post_message(msg.TrainingBatchDone(batch.batch))
                return
            if choice == NEW_VERSION:
                batch.kinds[index] = replace(kind, replace=True)
            else:
                batch.kinds[index] = replace(kind, name=choice)
            self.start_jobs(batch, [index], self.cancel_event)

        # Nothing trains while the dialog waits: say so rather than "Training NAME…".
        self.post_message(
            msg.TrainingProgress(
                kind.kind_id,
                0.0,
                f"waiting for another name ({kind.name!r} is taken)",
                index,
                len(batch.kinds),
                batch.batch,
            )
        )
        saved = self.state.store.entries.get(kind.name)
        versions = int(saved.get("versions") or 1) if saved is not None else None
        taken = self.state.taken_names()
        self.push_screen(
            NameTakenModal(
                kind.name,
                self.state.free_name(kind.name),
                versions=versions,
                taken=taken,
                existing=existing,
            ),
            chosen,
        )

    # ----- cancelling and the log -----------------------------------------------------------------

    def cancel_job(self, job_id: str) -> None:
        """Cancel one job (asked from the Jobs section); its end is notified."""
        self.cancel_jobs([job_id], quiet=False)

    @work(thread=True, exit_on_error=False, group="jobs-cancel", description="Cancel jobs")
    def cancel_jobs(self, job_ids: list[str], quiet: bool = False) -> None:
        """Cancel jobs (each takes up to about two seconds); post how each ended."""
        service = self.jobs_service()
        for job_id in job_ids:
            try:
                record = service.cancel(job_id)
            except Exception as error:
                self.post_message(msg.JobCancelDone(job_id, None, error_sentence(error), quiet))
                continue
            self.post_message(msg.JobCancelDone(job_id, record, None, quiet))
        self.wake_jobs_monitor()

    @on(msg.JobCancelDone)
    def _job_cancel_done(self, message: msg.JobCancelDone) -> None:
        from tuidash.core.jobs import CANCELLED, FINISHED

        record = message.record
        if record is None:
            self.notify(message.problem or "The job could not be cancelled.", severity="error")
        elif record.state == FINISHED:
            # It was saving: a save is finished, never cut; the model is kept.
            self.notify(
                f"{record.what} was already saving: {record.message}", title="Not cancelled"
            )
        elif record.state == CANCELLED and not message.quiet:
            self.notify(f"Cancelled: {record.what}", severity="warning")
        elif record.state != CANCELLED:
            self.notify(f"{record.what}: {record.state_text()}")

    def read_job_log(self, job_id: str, offset: int = 0) -> tuple[str, int]:
        """A job's log from byte ``offset`` on (call it in a thread)."""
        return self.jobs_service().read_log(job_id, offset)
