"""The Textual app: the sections as MODES, the app-wide keys, and the workers that do slow work.

The app owns the state every section shows (``state.AppState``: the data set, the store's
entries, the training and the models waiting to be saved), hands each section screen the
parts it shows, and runs every slow call (training, saving, the store) in a worker that
reports back with a message from ``messages.py``. Its handlers update the state, whose
signals tell the screens. Heavy modules (pandas, sklearn and the core modules that import
them) are imported inside the workers, so the first frame never waits for them.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import Binding, BindingType

from tuidash.core.errors import ModelExists
from tuidash.core.settings import absolute_location
from tuidash.ui import heap
from tuidash.ui import messages as msg
from tuidash.ui.batch import BatchOutcome, listed
from tuidash.ui.commands import SectionCommands
from tuidash.ui.job_workers import JobBatch, JobWorkers
from tuidash.ui.messages import error_sentence
from tuidash.ui.screens.data import DataScreen
from tuidash.ui.screens.jobs import JobsScreen
from tuidash.ui.screens.models import ModelsScreen
from tuidash.ui.screens.storage import StorageScreen
from tuidash.ui.screens.train import TrainScreen
from tuidash.ui.sections import SECTIONS
from tuidash.ui.state import AppState, Settings, TrainJob
from tuidash.ui.store_workers import StoreWorkers

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel

    from tuidash.services.persistence import PersistenceService
    from tuidash.ui.screens.base import SectionScreen


def run_until_cancelled(work: Callable[[], Any], cancel: threading.Event, poll: float = 0.1) -> Any:
    """Run ``work`` in a daemon thread; its result, or TrainingCancelled once ``cancel`` is set.

    One step of a fit (a tree, a C routine) cannot be interrupted. Waiting in another thread
    lets the batch end as soon as the person cancels: the abandoned thread stops at its next
    cancel check and its result is dropped; being a daemon, it never holds up quitting.
    """
    from tuidash.core.training import TrainingCancelled

    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:  # handed to the waiting thread
            outcome["error"] = error
        finally:
            finished.set()

    threading.Thread(target=run, name="tuidash-train", daemon=True).start()
    while not finished.wait(poll):
        if cancel.is_set():
            raise TrainingCancelled()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


TIDY_EVERY = 120.0
"""Seconds between looks at whether the heap may be tidied (``TuidashApp.tidy_heap``)."""
IDLE_BEFORE_TIDY = 60.0
"""Seconds without a key or a click before a full cycle collection may run."""
READ_BACK_AFTER = 0.3
"""Seconds between a save and reading the model back: the results are drawn first. Both at
once (drawing on the event loop, unpickling a large forest on a thread) froze the screen
for up to 140 ms (benchmarks/bench_floor.py, the load stall)."""


class TuidashApp(JobWorkers, StoreWorkers):
    """The tuidash dashboard: Data, Train, Models, Storage and Jobs sections."""

    CSS_PATH = "app.tcss"
    TITLE = "tuidash"
    SUB_TITLE = "terminal ML dashboard"
    SECTION_SCREENS: ClassVar[dict[str, type[SectionScreen]]] = {
        "data": DataScreen,
        "train": TrainScreen,
        "models": ModelsScreen,
        "storage": StorageScreen,
        "jobs": JobsScreen,
    }
    """The screen of each section of ``sections.SECTIONS``, by mode (each becomes a mode)."""
    COMMANDS = App.COMMANDS | {SectionCommands}
    # The section keys (d, t, m, s) are on each section screen, where its footer wants them.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "f1,question_mark",
            "toggle_keys",
            "Keys",
            key_display="?",
            tooltip="Show or hide every key of this section",
            id="keys",
        ),
        Binding("ctrl+q", "quit", "Quit", tooltip="Quit tuidash", id="quit", priority=True),
    ]

    def __init__(
        self,
        data_path: str | Path | None = None,
        store_dir: str | Path = "saved_models",
        *,
        autoload: bool = True,
        clock: Callable[[], datetime] = datetime.now,
        theme: str | None = None,
        start_section: str | None = None,
        cwd: str | Path | None = None,
        show_paths: bool = True,
        show_free_space: bool = True,
        animations: bool = True,
        cursor_blink: bool = True,
        jobs: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        if not animations:
            self.animation_level = "none"
        if theme is not None:
            self.theme = theme
        settings = Settings(
            store_dir=absolute_location(store_dir),
            cwd=Path(cwd).absolute() if cwd is not None else Path.cwd(),
            data_path=Path(data_path).absolute() if data_path is not None else None,
            show_paths=show_paths,
            show_free_space=show_free_space,
            cursor_blink=cursor_blink,
            clock=clock,
        )
        self.state = AppState(self, settings, autoload)
        """What the sections show; each section screen is given the parts it shows."""
        self.start_section: str = start_section or ("data" if data_path else "models")
        """The section shown first."""
        self.service: PersistenceService | None = None
        """The async store facade, created on mount."""
        self.cancel_event: threading.Event = threading.Event()
        self.batch_id: int = 0
        """The number of the current (or last) training batch; older batches' messages drop."""
        self.outcome: BatchOutcome | None = None
        """What the current (or last) batch did, for its summary notification."""
        self._timer_key: tuple[int, int] | None = None
        self.monotonic: Callable[[], float] = time.monotonic
        """Seconds for training times (tests may pass a fake clock)."""
        self.use_jobs = jobs
        self.last_input = time.monotonic()
        """When a key was last pressed or the mouse clicked or scrolled (for ``tidy_heap``)."""
        self.job_batch = None
        self._jobs_stop = threading.Event()
        self._jobs_wake = threading.Event()
        self._seen_active = set()
        self._ends_told = set()
        for section in SECTIONS:
            screen = self.SECTION_SCREENS[section.mode]
            self.add_mode(section.mode, partial(screen.for_app, self.state, self))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications are plain sentences: brackets in a name or a reason show as typed
        ("needs tuidash[boost] ..."), whoever asks (screens pass markup=True by default)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # ----- lifecycle -------------------------------------------------------------------

    def on_mount(self) -> None:
        """Show the first section at once, then list the store and (maybe) load models."""
        self.switch_mode(self.start_section)
        self.call_after_refresh(self._start_store)

    def _start_store(self) -> None:
        self.start_store()
        self.monitor_jobs()
        self.set_interval(TIDY_EVERY, self.tidy_heap)

    def tidy_heap(self) -> bool:
        """Free what died in frozen reference cycles (``heap.tidy``), only when nobody has
        pressed a key or clicked for IDLE_BEFORE_TIDY seconds and nothing is running: the
        full collection may hold the screen for a moment. True if it ran."""
        if time.monotonic() - self.last_input < IDLE_BEFORE_TIDY:
            return False
        if self.state.training.running or self.state.store.load_state is not None:
            return False
        return heap.tidy()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(
            event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)
        ):
            self.last_input = time.monotonic()
        await super().on_event(event)

    def on_unmount(self) -> None:
        """Stop a running training and the service's threads, so quitting is quick."""
        # Worker threads are joined when Python exits: without this, Ctrl+Q during a long
        # training would leave the terminal waiting until the fit was done.
        # Training jobs are left alone: they are processes of their own and save their models.
        self.cancel_event.set()
        self._jobs_stop.set()
        self._jobs_wake.set()
        if self.service is not None:
            self.service.close()

    # ----- sections ----------------------------------------------------------------------

    def action_section(self, name: str) -> None:
        """Switch to a section (Data, Train, Models, Storage)."""
        if self.current_mode != name:
            self.switch_mode(name)

    def action_toggle_keys(self) -> None:
        """Show or hide the keys panel."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def run_section_action(self, mode: str, action: str) -> None:
        """Switch to a section and run one of its actions (used by the command palette)."""

        async def run() -> None:
            if self.current_mode != mode:
                await self.switch_mode(mode)
            await self.screen.run_action(action)

        self.call_later(run)

    # ----- data ------------------------------------------------------------------------------

    @on(msg.DataLoaded)
    def _data_loaded(self, message: msg.DataLoaded) -> None:
        heap.settle()  # the data set lives on: out of the cycle collector's walk
        data = self.state.data
        data.use(message.data, message.profile, message.problems)
        frame = message.data.frame
        columns = len(frame.columns)
        self.notify(f"{data.label()} loaded: {len(frame):,} rows, {columns} columns.")

    @on(msg.DataLoadFailed)
    def _data_failed(self, message: msg.DataLoadFailed) -> None:
        self.state.data.fail(message.message)

    # ----- training --------------------------------------------------------------------------

    def start_training(self, jobs: list[TrainJob], config: dict[str, Any]) -> None:
        """Train each model kind as a job (or, without jobs, in a thread worker); results
        come back as messages."""
        data = self.state.data.data
        batch = self.begin_batch(jobs, config, data)
        self.import_charts()
        if self.use_jobs:
            self.start_jobs(batch, list(range(len(jobs))), self.cancel_event)
        else:
            self.train_worker(data, jobs, config, self.cancel_event, self.batch_id)

    def begin_batch(self, jobs: list[TrainJob], config: dict[str, Any], data: Any) -> JobBatch:
        """A new batch: the Train section shows it from now on."""
        training = self.state.training
        heap.settle()  # the data and the screens shown so far live on: out of the walk
        self.cancel_event = threading.Event()
        training.running = True
        training.jobs = list(jobs)
        training.last, training.failed, training.save_failures = {}, {}, {}
        training.timer = None
        self.batch_id += 1
        self.outcome = BatchOutcome(self.batch_id, len(jobs))
        self._timer_key = None
        batch = JobBatch(self.batch_id, list(jobs), dict(config), data, left=set(range(len(jobs))))
        self.job_batch = batch
        training.started.publish(jobs)
        return batch

    def cancel_training(self) -> None:
        """Stop the running training now: the batch ends at once, whatever the worker does.

        The worker stops at its next cancel check; anything it still posts belongs to an
        ended batch and is dropped, so nothing of it is saved.
        """
        self.cancel_event.set()
        if not self.state.training.running:
            return
        batch = self.job_batch
        if self.use_jobs and batch is not None and batch.batch == self.batch_id:
            running = [job_id for job_id, index in batch.places.items() if index in batch.left]
            if running:
                self.cancel_jobs(running, quiet=True)
            for index in sorted(batch.left):
                self.post_message(msg.TrainingCancelled(batch.kinds[index].kind_id, batch.batch))
            batch.left.clear()
            self.post_message(msg.TrainingBatchDone(batch.batch))
        self._finish_batch(cancelled=True)

    def _stale(self, batch: int) -> bool:
        """A training message of a batch that has ended (cancelled) or been replaced."""
        return batch != self.batch_id or not self.state.training.running

    @work(thread=True, exclusive=True, exit_on_error=False, group="train", description="Train")
    def train_worker(
        self,
        data: Any,
        jobs: list[TrainJob],
        config: dict[str, Any],
        cancel: threading.Event,
        batch: int = 0,
    ) -> None:
        """Train the jobs one after another, posting progress and results."""
        from tuidash.core import training
        from tuidash.services import workflows

        for index, job in enumerate(jobs):
            if cancel.is_set():
                self.post_message(msg.TrainingCancelled(job.kind_id, batch))
                continue

            def progress(
                fraction: float, text: str, job: TrainJob = job, index: int = index
            ) -> None:
                if not cancel.is_set():
                    self.post_message(
                        msg.TrainingProgress(job.kind_id, fraction, text, index, len(jobs), batch)
                    )

            def fit(job: TrainJob = job, progress: Any = progress) -> Any:
                request = workflows.TrainRequest(
                    kind=job.kind_id, params=job.params, data=data, **config
                )
                if job.search is not None:  # Search mode: the best candidate, refitted
                    from tuidash.services import search

                    return search.search_job(request, job.search, progress, cancel)
                return workflows.train(request, progress=progress, cancel=cancel)

            try:
                trained = run_until_cancelled(fit, cancel)
            except training.TrainingCancelled:
                self.post_message(msg.TrainingCancelled(job.kind_id, batch))
                continue
            except Exception as error:
                self.post_message(msg.TrainingFailed(job.kind_id, error_sentence(error), batch))
                continue
            self.post_message(msg.TrainingFinished(job.name, trained, job.replace, batch))
        self.post_message(msg.TrainingBatchDone(batch))

    @work(thread=True, exclusive=True, exit_on_error=False, group="imports", description="Imports")
    def import_charts(self) -> None:
        """Import what the results tab draws with (plotext takes a good 100 ms to import),
        here while the models train, not on the event loop when they are done."""
        import tuidash.core.analysis
        import tuidash.ui.widgets.charts
        import tuidash.ui.widgets.class_charts  # noqa: F401

    @on(msg.TrainingProgress)
    def _training_progress(self, message: msg.TrainingProgress) -> None:
        if self._stale(message.batch):
            return
        from tuidash.core.training import ProgressTimer

        training = self.state.training
        key = (message.batch, message.index)
        if self._timer_key != key or training.timer is None:
            # Each model of a batch gets its own clock: its own elapsed time and estimate.
            training.timer = ProgressTimer(self.monotonic)
            if message.elapsed:
                training.timer.started -= message.elapsed  # a job running before we looked
            self._timer_key = key
        training.timer.report(message.fraction, message.text)
        training.progress.publish(message)

    @on(msg.TrainingFinished)
    def _training_finished(self, message: msg.TrainingFinished) -> None:
        if self._stale(message.batch):
            return  # finished after its batch was cancelled: dropped, never saved
        training = self.state.training
        training.last[message.name] = message.trained
        if self.outcome is not None:
            self.outcome.trained.append(message.name)
        if message.saved_version is not None:
            # A job trained it and saved it already.
            training.results_changed.publish(training)
            display_name = message.trained.display_name
            self.post_message(
                msg.ModelSaved(message.name, display_name, message.saved_version, by_job=True)
            )
            return
        training.unsaved[message.name] = message.trained
        training.results_changed.publish(training)
        self.save_trained(message.name, replace=message.replace)

    @on(msg.TrainingFailed)
    def _training_failed(self, message: msg.TrainingFailed) -> None:
        if self._stale(message.batch):
            return
        from tuidash.core.catalog import display_name_of

        label = display_name_of(message.kind_id, self.state.data.resolved_task())
        if self.outcome is not None:
            self.outcome.failed[label] = message.message
        training = self.state.training
        training.failed[label] = message.message
        training.results_changed.publish(training)

    @on(msg.TrainingBatchDone)
    def _training_done(self, message: msg.TrainingBatchDone) -> None:
        if self._stale(message.batch):
            return
        heap.settle()  # the trained models live on: out of the cycle collector's walk
        batch = self.job_batch
        by_job = batch is not None and batch.batch == message.batch and batch.cancelled
        self._finish_batch(cancelled=self.cancel_event.is_set() or by_job)

    def _finish_batch(self, *, cancelled: bool) -> None:
        """The batch is over (all handled, or cancelled): free the form, then summarise."""
        training = self.state.training
        training.running = False
        training.timer = None
        if self.outcome is not None:
            self.outcome.done = True
            self.outcome.cancelled = cancelled
        training.finished.publish(cancelled)
        self._summarise_batch()

    def _summarise_batch(self) -> None:
        """One notification per batch, once every trained model is saved or not."""
        outcome = self.outcome
        if outcome is None or outcome.reported or not outcome.settled():
            return
        outcome.reported = True
        if not (outcome.trained or outcome.failed or outcome.cancelled):
            return
        text, severity, title = outcome.summary()
        self.notify(text, title=title or "", severity=severity, timeout=10)  # type: ignore[arg-type]

    def _in_open_batch(self, name: str) -> bool:
        """Whether ``name`` was trained by a batch whose summary is still to come."""
        outcome = self.outcome
        return outcome is not None and not outcome.reported and name in outcome.trained

    # ----- saving ----------------------------------------------------------------------------

    @work(exclusive=False, exit_on_error=False, group="save", description="Save model")
    async def save_trained(self, name: str, replace: bool = False) -> None:
        """Save a trained model through the service (the original app saved automatically)."""
        trained = self.state.training.unsaved.get(name)
        if trained is None:
            return
        if self.service is None:
            self.post_message(msg.ModelSaveFailed(name, "The model store is not open."))
            return
        try:
            model_data = trained.to_model_data()
            saved = await self.service.save(name, model_data, replace=replace)
        except Exception as error:
            taken = isinstance(error, ModelExists)
            sentence = error_sentence(error)
            if not taken:
                # "Not a directory" says little: say what is wrong with the store itself.
                from tuidash.core.transfer import folder_problem

                where = self.state.settings.store_dir
                problem = None
                if isinstance(where, Path):  # a remote store's error says what happened
                    problem = await asyncio.to_thread(folder_problem, where)
                if problem:
                    sentence = f"The model store cannot be used: {problem}"
            self.post_message(msg.ModelSaveFailed(name, sentence, taken))
            return
        version = re.search(r"as version (\d+)", str(saved))
        self.post_message(
            msg.ModelSaved(name, trained.display_name, int(version.group(1)) if version else 1)
        )

    @on(msg.ModelSaved)
    def _model_saved(self, message: msg.ModelSaved) -> None:
        training = self.state.training
        trained = training.unsaved.pop(message.name, None)
        if self._in_open_batch(message.name):
            assert self.outcome is not None
            self.outcome.not_saved.pop(message.name, None)
            self.outcome.saved.append(message.name)
            if message.version > 1:
                self.outcome.versions[message.name] = message.version
            self._summarise_batch()
        elif message.version > 1:
            self.notify(f"{message.name} saved to disk as version {message.version}")
        else:
            self.notify(f"{message.name} saved to disk")
        training.results_changed.publish(training)
        self.refresh_store()
        if trained is not None or message.by_job:
            # As in the original app a trained model is in memory; reading back what was
            # saved (verified, off the loop) also proves the file is good.
            # A new version of a loaded name replaces the copy in memory.
            self.set_timer(
                READ_BACK_AFTER, partial(self.store_action, "reload", message.name, quiet=True)
            )

    @on(msg.ModelSaveFailed)
    def _model_save_failed(self, message: msg.ModelSaveFailed) -> None:
        training = self.state.training
        training.save_failures[message.name] = message.message
        training.results_changed.publish(training)
        if message.name_taken:
            self.ask_name_for_unsaved(message.name)
            return
        if self._in_open_batch(message.name):
            assert self.outcome is not None
            self.outcome.not_saved[message.name] = message.message
            self._summarise_batch()
            return
        self.notify(
            f"{message.message} The model stays in memory: F3 on Train saves again, and "
            "quitting offers to save it in another folder.",
            title=f"{message.name} not saved",
            severity="error",
            timeout=10,
        )

    def ask_name_for_unsaved(self, name: str) -> None:
        """The name was taken meanwhile (another session): a new version, another name, or
        keep it unsaved."""
        from tuidash.ui.modals.name_taken import NEW_VERSION, NameTakenModal

        def chosen(choice: str | None) -> None:
            if choice is None:
                if self._in_open_batch(name):
                    assert self.outcome is not None
                    self.outcome.not_saved[name] = "Its name is taken; it stays in memory."
                    self._summarise_batch()
                    return
                self.notify(
                    f"{name} was not saved; it stays in memory (Save again on Train).",
                    severity="warning",
                )
            elif choice == NEW_VERSION:
                self.save_trained(name, replace=True)
            else:
                unsaved = self.state.training.unsaved
                unsaved[choice] = unsaved.pop(name)
                if self._in_open_batch(name):
                    assert self.outcome is not None
                    trained_names = self.outcome.trained
                    trained_names[trained_names.index(name)] = choice
                self.state.training.results_changed.publish(self.state.training)
                self.save_trained(choice)

        saved = self.state.store.entries.get(name)
        # Only the very same name can get a new version (not one that only shares its files).
        versions = int(saved.get("versions") or 1) if saved is not None else None
        self.push_screen(
            NameTakenModal(name, self.state.free_name(name), versions=versions), chosen
        )

    def save_again(self) -> None:
        """Retry saving every trained model whose save failed."""
        unsaved = self.state.training.unsaved
        if not unsaved:
            self.notify("Every trained model is saved.")
            return
        for name in list(unsaved):
            self.save_trained(name)

    # ----- quitting ----------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit, but never silently while a trained model is unsaved: ask first.

        Every way out (ctrl+q, the command palette's Quit) comes through here.
        """
        from tuidash.ui.modals.unsaved import UnsavedModelsModal

        if not self.state.training.unsaved:
            self.exit()
            return
        if isinstance(self.screen, UnsavedModelsModal):
            return  # the question is on screen; its buttons decide
        self.ask_before_quitting()

    def ask_before_quitting(self, folder: str | None = None, error: str | None = None) -> None:
        """Offer to save the unsaved models elsewhere, to quit anyway, or to stay."""
        from tuidash.ui.modals.unsaved import UnsavedModelsModal

        def chosen(choice: tuple[str, str] | None) -> None:
            if choice is None:
                return
            action, path = choice
            if action == "quit":
                self.exit()
            else:
                self.save_elsewhere_worker(path)

        shown = folder if folder is not None else str(self.state.settings.rescue_dir)
        unsaved = list(self.state.training.unsaved)
        blink = self.state.settings.cursor_blink
        self.push_screen(UnsavedModelsModal(unsaved, shown, error, blink), chosen)

    @work(exclusive=True, exit_on_error=False, group="save-elsewhere", description="Save elsewhere")
    async def save_elsewhere_worker(self, folder: str) -> None:
        """Write every unsaved model into ``folder`` as a store of its own (asked on quit)."""
        from tuidash.core.transfer import save_elsewhere

        saved: list[str] = []
        path = str(Path(folder).expanduser().absolute()) if folder.strip() else folder
        unsaved = self.state.training.unsaved
        for name, trained in list(unsaved.items()):
            try:
                used, _files = await asyncio.to_thread(
                    save_elsewhere, folder, name, trained.to_model_data()
                )
            except Exception as error:
                self.post_message(msg.SavedElsewhere(path, saved, error_sentence(error)))
                return
            unsaved.pop(name, None)
            saved.append(f"{name!r}" if used == name else f"{name!r} (as {used!r})")
        self.post_message(msg.SavedElsewhere(path, saved))

    @on(msg.SavedElsewhere)
    def _saved_elsewhere(self, message: msg.SavedElsewhere) -> None:
        where = ""
        if message.saved:
            where = f"{listed(message.saved, limit=5)} saved in {message.folder}"
        if message.failed or self.state.training.unsaved:
            reason = message.failed or "Some models are still not saved."
            error = f"{where}. {reason}" if where else reason
            self.ask_before_quitting(message.folder, error)
            return
        self.exit(
            message=(
                f"tuidash: {where} (models/ and metadata/); open "
                f"{'it' if len(message.saved) == 1 else 'them'} with: "
                f"tuidash --store {_shell_quote(message.folder)}"
            )
        )

    # ----- what the sections open ------------------------------------------------------------

    def open_analysis(self, meta: dict[str, Any]) -> None:
        """Push the analysis of one model (charts are imported only now)."""
        from tuidash.core.analysis import is_classification
        from tuidash.ui.screens.analysis import AnalysisScreen
        from tuidash.ui.store_workers import needs_details

        if needs_details(meta):  # listed without its predictions: read them first
            self.with_details([meta], lambda: self.open_analysis(meta))
            return
        if is_classification(meta):
            from tuidash.ui.screens.class_analysis import ClassAnalysisScreen

            self.push_screen(ClassAnalysisScreen(meta, self.state.settings.export_dir))
            return
        self.push_screen(AnalysisScreen(meta, self.state.settings.export_dir))

    def open_prediction(self, selected: str | None = None) -> None:
        """Push the Predict screen, offering every saved model (in memory ones used as is)."""
        from tuidash.ui.screens.predict import PredictScreen

        settings = self.state.settings
        loaded = getattr(self.service, "loaded", None)
        self.push_screen(
            PredictScreen(
                settings.store_dir,
                sorted(self.state.store.entries, key=str.lower),
                selected,
                settings.cwd,
                loaded=loaded,
                export_dir=settings.export_dir,
                show_paths=settings.show_paths,
                cursor_blink=settings.cursor_blink,
            )
        )

    def open_comparison(self, metas: list[dict[str, Any]]) -> None:
        """Push the comparison of several models."""
        from tuidash.ui.screens.compare import CompareScreen
        from tuidash.ui.store_workers import needs_details

        if any(needs_details(meta) for meta in metas):  # read their predictions first
            self.with_details(metas, lambda: self.open_comparison(metas))
            return
        self.push_screen(CompareScreen(metas, self.state.settings.export_dir))


def _shell_quote(text: str) -> str:
    """A path as it would be typed in a shell."""
    import shlex

    return shlex.quote(text)
