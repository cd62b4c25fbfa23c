"""The Textual app: four sections as MODES, app-wide state, and the workers that do slow work.

The app keeps the state every section shows (the data set, the store's entries, the loaded
models, trained models waiting to be saved) and runs every slow call (reading files,
training, the store) in a worker that reports back with a message from ``messages.py``.
Heavy modules (pandas, sklearn and the core modules that import them) are imported inside
the workers, so the first frame never waits for them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType

from tuidash.core.data import default_target
from tuidash.core.errors import ModelExists, TuidashError
from tuidash.ui import messages as msg
from tuidash.ui.commands import SectionCommands
from tuidash.ui.screens.data import DataScreen
from tuidash.ui.screens.models import ModelsScreen
from tuidash.ui.screens.storage import StorageScreen
from tuidash.ui.screens.train import TrainScreen

if TYPE_CHECKING:
    from tuidash.services.persistence import PersistenceService
    from tuidash.ui.screens.base import SectionScreen


UNLOADABLE = ("damaged", "refused")
"""Kinds of store problems that are models which cannot be loaded (orphans are not models)."""


@dataclass
class TrainJob:
    """One model kind to train in a batch: its kind, validated params and the name to save."""

    kind_id: str
    params: dict[str, Any]
    name: str
    replace: bool = False
    """Overwrite a saved model of the same name (the user chose Replace)."""


@dataclass
class BatchOutcome:
    """What one training batch did, gathered for its one summary notification."""

    batch: int
    """The batch's number (messages carry it)."""
    kinds: int
    """How many model kinds the batch was asked to train."""
    trained: list[str] = field(default_factory=list)
    """Names of the models trained, in order (renamed when a save chose a free name)."""
    saved: list[str] = field(default_factory=list)
    not_saved: dict[str, str] = field(default_factory=dict)
    """Trained models whose save failed, with the sentence."""
    failed: dict[str, str] = field(default_factory=dict)
    """Kinds that could not be trained (display name), with the sentence."""
    done: bool = False
    """Every kind has been handled (or the batch was cancelled)."""
    cancelled: bool = False
    reported: bool = False
    """The summary has been shown."""

    def settled(self) -> bool:
        """Done, and every trained model is saved or known not to be."""
        return self.done and all(n in self.saved or n in self.not_saved for n in self.trained)

    def summary(self) -> tuple[str, str, str | None]:
        """(text, severity, title) of the batch's one notification."""
        # Saves finish in any order; the summary lists models in the order they were trained.
        saved = [n for n in self.trained if n in self.saved]
        not_saved, failed = self.not_saved, self.failed
        if self.cancelled:
            if not saved:
                return "Training cancelled; nothing was saved.", "warning", None
            return (
                f"Training cancelled; saved {listed(saved)} before it stopped.",
                "warning",
                None,
            )
        if len(saved) == 1 and not not_saved and not failed:
            return f"{saved[0]} trained and saved to disk", "information", None
        if self.kinds == 1 and len(failed) == 1:
            label, sentence = next(iter(failed.items()))
            return sentence, "error", f"{label} not trained"
        parts = []
        if saved:
            parts.append(f"saved {listed(saved)}")
        if not_saved:
            first = next(iter(not_saved.values()))
            parts.append(
                f"{len(not_saved)} not saved: {listed(list(not_saved))} ({first} "
                "F3 on Train saves again; quitting offers another folder)"
            )
        if failed:
            parts.append(f"{len(failed)} failed: {listed(list(failed))} (see Results)")
        count = len(self.trained)
        head = f"Trained {count} model{'s' if count != 1 else ''}"
        severity = "information" if not (not_saved or failed) else "warning"
        if not saved:
            severity = "error"
        return f"{head}: {'; '.join(parts)}.", severity, "Training finished"


def listed(names: list[str], limit: int = 3) -> str:
    """'A', 'A and B', 'A, B and C', 'A, B, C and 2 more'."""
    if len(names) > limit:
        return f"{', '.join(names[:limit])} and {len(names) - limit} more"
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


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


def error_sentence(error: BaseException) -> str:
    """The one sentence a person should read about an error: a ``TuidashError``'s own, an
    OSError's file and reason, else the error's text (or its type when it has none)."""
    if isinstance(error, TuidashError):
        return error.message
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}."
    return str(error) or type(error).__name__


class TuidashApp(App[None]):
    """The tuidash dashboard: Data, Train, Models and Storage sections."""

    CSS_PATH = "app.tcss"
    TITLE = "tuidash"
    SUB_TITLE = "terminal ML dashboard"
    MODES: ClassVar[dict[str, Any]] = {
        "data": DataScreen,
        "train": TrainScreen,
        "models": ModelsScreen,
        "storage": StorageScreen,
    }
    COMMANDS = App.COMMANDS | {SectionCommands}
    # The section keys (d, t, m, s) live on SectionScreen so the footer shows them first.
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
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.show_free_space: bool = show_free_space
        """Show the disk's free space (snapshot tests turn it off: it changes)."""
        self.cursor_blink: bool = cursor_blink
        """Blink the cursor of text inputs (off for snapshots)."""
        if not animations:
            self.animation_level = "none"
        self.data_path: Path | None = Path(data_path).absolute() if data_path is not None else None
        """A data file to open at start (from the command line); the Data section reads it."""
        self.store_dir: Path = Path(store_dir).absolute()
        """The model store folder."""
        self.autoload: bool = autoload
        """Load every saved model into memory at start (off with ``--no-autoload``)."""
        self.clock: Callable[[], datetime] = clock
        """Wall clock for times shown on screen; tests pass a fixed one."""
        self.cwd: Path = Path(cwd).absolute() if cwd is not None else Path.cwd()
        """Where the file browser starts."""
        self.show_paths: bool = show_paths
        """Show absolute paths; snapshot tests turn this off so pictures do not vary."""
        self.start_section: str = start_section or ("data" if data_path else "models")
        """The section shown first."""
        if theme is not None:
            self.theme = theme
        self.service: PersistenceService | None = None
        """The async store facade, created on mount."""
        self.sections: dict[str, SectionScreen] = {}
        """Section screens that have been shown, by mode name."""

        self.data: Any = None
        """The loaded data set (core ``LoadedData``) or None."""
        self.profile: list[Any] = []
        """The core's ``ColumnProfile`` per column of the data set."""
        self.problems: list[str] = []
        """The data set's problems in plain words."""
        self.target: str | None = None
        """The column to predict."""
        self.feature_columns: list[str] = []
        """The columns used to predict it."""
        self.left_out: dict[str, str] = {}
        """Columns the default feature choice leaves out, each with a one-sentence reason."""

        self.entries: dict[str, dict[str, Any]] = {}
        """Saved models by name, from the JSON files (no unpickling)."""
        self.store_problems: list[dict[str, Any]] = []
        self.report: dict[str, Any] | None = None
        """The last storage report."""
        self.report_time: datetime | None = None
        """When the last storage report was made (by ``clock``)."""
        self.load_state: tuple[int, int] | None = None
        """(done, total) while a bulk load runs."""
        self.load_failures: dict[str, str] = {}
        """Models that could not be loaded, with the reason."""
        self.unsaved: dict[str, Any] = {}
        """Trained models whose save failed, by the name they were meant to get."""
        self.training: bool = False
        self.cancel_event: threading.Event = threading.Event()
        self.batch_id: int = 0
        """The number of the current (or last) training batch; older batches' messages drop."""
        self.outcome: BatchOutcome | None = None
        """What the current (or last) batch did, for its summary notification."""
        self.progress_timer: Any = None
        """The core's ``ProgressTimer`` of the model being trained (elapsed, time left)."""
        self._timer_key: tuple[int, int] | None = None
        self.monotonic: Callable[[], float] = time.monotonic
        """Seconds for training times (tests may pass a fake clock)."""
        self.last_trained: dict[str, Any] = {}
        """Results of the last training batch by model name: TrainedModel or a sentence."""

    # ----- lifecycle -------------------------------------------------------------------

    def on_mount(self) -> None:
        """Show the first section at once, then list the store and (maybe) load models."""
        self.switch_mode(self.start_section)
        self.call_after_refresh(self._start_store)

    def _start_store(self) -> None:
        self.start_store()

    @work(exclusive=True, exit_on_error=False, group="store-start", description="Open store")
    async def start_store(self) -> None:
        """Create the service, list the store from JSON, then auto-load the objects."""
        try:
            # Opening the store touches the disk (folders, stale temp files): not on the loop.
            self.service, setting = await asyncio.to_thread(_open_service, self.store_dir)
        except Exception as error:  # a store that cannot be opened: say so, keep running
            self.notify(error_sentence(error), title="Model store", severity="error", timeout=15)
            return
        if setting is False:
            # The store's own setting (Storage section) turns auto-load off like --no-autoload.
            self.autoload = False
            self._each_section("on_autoload_changed")
        if self.autoload:
            await self._list_and_load()
        else:
            await self._list_now()
            await self._report_now()
        self.watch_store()

    async def _list_now(self) -> list[str]:
        """List the store; return the names listed."""
        assert self.service is not None
        try:
            entries = await self.service.list_models()
        except Exception as error:
            self.notify(error_sentence(error), title="Model store", severity="error")
            return []
        self.post_message(msg.ModelsListed(list(entries)))
        return [str(entry["name"]) for entry in entries]

    async def _list_and_load(self) -> None:
        """List, measure, then load every model with progress."""
        listed = await self._list_now()
        report = await self._report_now()
        # Entries the listing skipped as damaged or refused count as models not loaded.
        unlisted = [
            str(p.get("name"))
            for p in (report or {}).get("problems", [])
            if p.get("kind") in UNLOADABLE and str(p.get("name")) not in listed
        ]
        await self._load_all_now(known_failures=unlisted)

    async def _load_all_now(
        self, names: list[str] | None = None, known_failures: list[str] | None = None
    ) -> None:
        """Drive the service's load_all, posting progress; ``known_failures`` were skipped."""
        from tuidash.services.persistence import LoadProgress

        assert self.service is not None
        finished: msg.ModelsLoadFinished | None = None
        loaded = 0
        failed: set[str] = set()
        stopped: str | None = None
        try:
            async for event in self.service.load_all(names):
                if isinstance(event, LoadProgress):
                    loaded += bool(event.ok)
                    if not event.ok:
                        failed.add(event.name)
                    self.post_message(
                        msg.ModelLoadProgress(
                            event.done, event.total, event.name, event.ok, event.problem
                        )
                    )
                elif getattr(event, "budget_stopped", False):
                    stopped = event.message
        except Exception as error:
            stopped = error_sentence(error)
        # A problem entry counts once, whether the service tried it or the listing skipped it.
        failed.update(known_failures or [])
        finished = msg.ModelsLoadFinished(loaded, len(failed), stopped)
        self.post_message(finished)

    def on_unmount(self) -> None:
        """Stop a running training and the service's threads, so quitting is quick."""
        # Worker threads are joined when Python exits: without this, Ctrl+Q during a long
        # training would leave the terminal waiting until the fit was done.
        self.cancel_event.set()
        if self.service is not None:
            self.service.close()

    @work(exclusive=True, exit_on_error=False, group="store-watch", description="Watch store")
    async def watch_store(self) -> None:
        """Show entries another process adds, changes or removes."""
        service = self.service
        watch = getattr(service, "watch", None)
        if watch is None:
            return
        try:
            async for change in watch():
                self.post_message(
                    msg.StoreChanged(
                        list(getattr(change, "added", [])),
                        list(getattr(change, "changed", [])),
                        list(getattr(change, "removed", [])),
                    )
                )
        except Exception:
            return  # watching is a convenience; the list can still be reloaded by hand

    # ----- sections ----------------------------------------------------------------------

    def register_section(self, name: str, screen: SectionScreen) -> None:
        """Called by a section screen when it mounts, so app state reaches it."""
        self.sections[name] = screen

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

    def _each_section(self, method: str, *args: Any) -> None:
        for screen in list(self.sections.values()):
            handler = getattr(screen, method, None)
            if handler is not None and screen.is_attached:
                handler(*args)

    # ----- data ------------------------------------------------------------------------------

    @on(msg.DataLoaded)
    def _data_loaded(self, message: msg.DataLoaded) -> None:
        self.data = message.data
        self.profile = message.profile
        self.problems = message.problems
        columns = [str(c) for c in message.data.frame.columns]
        self.target = default_target(message.data.frame)
        self.choose_default_features()
        self._each_section("on_data_loaded")
        rows = len(message.data.frame)
        self.notify(f"{self.data_label()} loaded: {rows:,} rows, {len(columns)} columns.")

    @on(msg.DataLoadFailed)
    def _data_failed(self, message: msg.DataLoadFailed) -> None:
        self._each_section("on_data_failed", message.message)

    def display_path(self, path: str | Path) -> str:
        """A path as shown on screen (only its last part when paths are hidden)."""
        return str(path) if self.show_paths else Path(path).name

    def data_label(self) -> str:
        """A short name of the loaded data set."""
        if self.data is None:
            return "No data"
        source = str(self.data.source)
        if source.startswith("sample:"):
            return f"Sample data set ({source.split(':', 1)[1]})"
        return Path(source).name

    def choose_default_features(self) -> None:
        """Tick the core's default features for the current target (dates, ids, empties out)."""
        from tuidash.core.training import default_features

        if self.data is None or self.target is None:
            self.feature_columns, self.left_out = [], {}
            return
        features, reasons = default_features(self.data.frame, self.target)
        self.feature_columns, self.left_out = list(features), dict(reasons)

    def set_target(self, target: str | None, features: list[str]) -> None:
        """Record the target and feature choice of the Data section."""
        self.target = target
        self.feature_columns = [f for f in features if f != target]
        self._each_section("on_target_changed")

    # ----- training --------------------------------------------------------------------------

    def taken_names(self) -> set[str]:
        """Names in the store or waiting to be saved."""
        return set(self.entries) | set(self.unsaved)

    def free_name(self, name: str) -> str:
        """``name`` if free, else a free name like "Random Forest (2)" by the store's rule
        (names that differ only in upper/lower case share files, so they are taken too)."""
        from tuidash.core.store.names import free_name

        return free_name(name, self.taken_names())

    def is_taken(self, name: str) -> bool:
        """Whether saving ``name`` would clash with a saved or waiting model (any case)."""
        return self.free_name(name) != name

    def start_training(self, jobs: list[TrainJob], config: dict[str, Any]) -> None:
        """Train each job in a thread worker; results come back as messages."""
        self.cancel_event = threading.Event()
        self.training = True
        self.last_trained = {}
        self.batch_id += 1
        self.outcome = BatchOutcome(self.batch_id, len(jobs))
        self.progress_timer = None
        self._timer_key = None
        self.train_worker(self.data, jobs, config, self.cancel_event, self.batch_id)
        self._each_section("on_training_started", jobs)

    def cancel_training(self) -> None:
        """Stop the running training now: the batch ends at once, whatever the worker does.

        The worker stops at its next cancel check; anything it still posts belongs to an
        ended batch and is dropped, so nothing of it is saved.
        """
        self.cancel_event.set()
        if self.training:
            self._finish_batch(cancelled=True)

    def _stale(self, batch: int) -> bool:
        """A training message of a batch that has ended (cancelled) or been replaced."""
        return batch != self.batch_id or not self.training

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
        # The results tab draws charts next: import them here, off the event loop.
        import tuidash.core.analysis
        import tuidash.ui.widgets.charts  # noqa: F401

        self.post_message(msg.TrainingBatchDone(batch))

    @on(msg.TrainingProgress)
    def _training_progress(self, message: msg.TrainingProgress) -> None:
        if self._stale(message.batch):
            return
        from tuidash.core.training import ProgressTimer

        key = (message.batch, message.index)
        if self._timer_key != key or self.progress_timer is None:
            # Each model of a batch gets its own clock: its own elapsed time and estimate.
            self.progress_timer = ProgressTimer(self.monotonic)
            self._timer_key = key
        self.progress_timer.report(message.fraction, message.text)
        self._each_section("on_training_progress", message)

    def progress_time_text(self) -> str:
        """Elapsed time and the estimate of the time left of the model being trained."""
        return self.progress_timer.text() if self.progress_timer is not None else ""

    @on(msg.TrainingFinished)
    def _training_finished(self, message: msg.TrainingFinished) -> None:
        if self._stale(message.batch):
            return  # finished after its batch was cancelled: dropped, never saved
        self.last_trained[message.name] = message.trained
        self.unsaved[message.name] = message.trained
        if self.outcome is not None:
            self.outcome.trained.append(message.name)
        self._each_section("on_trained", message.name, message.trained)
        self.save_trained(message.name, replace=message.replace)

    @on(msg.TrainingFailed)
    def _training_failed(self, message: msg.TrainingFailed) -> None:
        if self._stale(message.batch):
            return
        from tuidash.core.catalog import get_kind

        label = get_kind(message.kind_id).display_name
        if self.outcome is not None:
            self.outcome.failed[label] = message.message
        self._each_section("on_training_failed", message.kind_id, message.message)

    @on(msg.TrainingCancelled)
    def _training_cancelled(self, message: msg.TrainingCancelled) -> None:
        if self._stale(message.batch):
            return
        self._each_section("on_training_cancelled", message.kind_id)

    @on(msg.TrainingBatchDone)
    def _training_done(self, message: msg.TrainingBatchDone) -> None:
        if self._stale(message.batch):
            return
        self._finish_batch(cancelled=self.cancel_event.is_set())

    def _finish_batch(self, *, cancelled: bool) -> None:
        """The batch is over (all handled, or cancelled): free the form, then summarise."""
        self.training = False
        self.progress_timer = None
        if self.outcome is not None:
            self.outcome.done = True
            self.outcome.cancelled = cancelled
        self._each_section("on_training_done", cancelled)
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
        trained = self.unsaved.get(name)
        if trained is None:
            return
        if self.service is None:
            self.post_message(msg.ModelSaveFailed(name, "The model store is not open."))
            return
        try:
            model_data = trained.to_model_data()
            await self.service.save(name, model_data, replace=replace)
        except Exception as error:
            taken = isinstance(error, ModelExists)
            sentence = error_sentence(error)
            if not taken:
                # "Not a directory" says little: say what is wrong with the store itself.
                from tuidash.core.transfer import folder_problem

                problem = await asyncio.to_thread(folder_problem, self.store_dir)
                if problem:
                    sentence = f"The model store cannot be used: {problem}"
            self.post_message(msg.ModelSaveFailed(name, sentence, taken))
            return
        self.post_message(msg.ModelSaved(name, trained.display_name))

    @on(msg.ModelSaved)
    def _model_saved(self, message: msg.ModelSaved) -> None:
        trained = self.unsaved.pop(message.name, None)
        if self._in_open_batch(message.name):
            assert self.outcome is not None
            self.outcome.not_saved.pop(message.name, None)
            self.outcome.saved.append(message.name)
            self._summarise_batch()
        else:
            self.notify(f"{message.name} saved to disk")
        self._each_section("on_saved", message.name)
        self.refresh_store()
        if trained is not None:
            # As in the original app a trained model is in memory; reading back what was
            # saved (verified, off the loop) also proves the file is good.
            self.store_action("load", message.name, quiet=True)

    @on(msg.ModelSaveFailed)
    def _model_save_failed(self, message: msg.ModelSaveFailed) -> None:
        self._each_section("on_save_failed", message.name, message.message)
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
        """The name was taken meanwhile (another session): replace, free name or keep."""
        from tuidash.ui.modals.name_taken import NameTakenModal

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
            elif choice == "replace":
                self.save_trained(name, replace=True)
            else:
                trained = self.unsaved.pop(name)
                self.unsaved[choice] = trained
                if self._in_open_batch(name):
                    assert self.outcome is not None
                    trained_names = self.outcome.trained
                    trained_names[trained_names.index(name)] = choice
                self._each_section("on_renamed", name, choice)
                self.save_trained(choice)

        self.push_screen(NameTakenModal(name, self.free_name(name)), chosen)

    def save_again(self) -> None:
        """Retry saving every trained model whose save failed."""
        if not self.unsaved:
            self.notify("Every trained model is saved.")
            return
        for name in list(self.unsaved):
            self.save_trained(name)

    # ----- quitting ----------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit, but never silently while a trained model is unsaved: ask first.

        Every way out (ctrl+q, the command palette's Quit) comes through here.
        """
        from tuidash.ui.modals.unsaved import UnsavedModelsModal

        if not self.unsaved:
            self.exit()
            return
        if isinstance(self.screen, UnsavedModelsModal):
            return  # the question is on screen; its buttons decide
        self.ask_before_quitting()

    @property
    def rescue_dir(self) -> Path:
        """The folder offered for models that cannot be saved in the store."""
        return self.cwd / "tuidash-unsaved-models"

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

        shown = folder if folder is not None else str(self.rescue_dir)
        self.push_screen(UnsavedModelsModal(list(self.unsaved), shown, error), chosen)

    @work(exclusive=True, exit_on_error=False, group="save-elsewhere", description="Save elsewhere")
    async def save_elsewhere_worker(self, folder: str) -> None:
        """Write every unsaved model into ``folder`` as a store of its own (asked on quit)."""
        from tuidash.core.transfer import save_elsewhere

        saved: list[str] = []
        path = str(Path(folder).expanduser().absolute()) if folder.strip() else folder
        for name, trained in list(self.unsaved.items()):
            try:
                used, _files = await asyncio.to_thread(
                    save_elsewhere, folder, name, trained.to_model_data()
                )
            except Exception as error:
                self.post_message(msg.SavedElsewhere(path, saved, error_sentence(error)))
                return
            self.unsaved.pop(name, None)
            saved.append(f"{name!r}" if used == name else f"{name!r} (as {used!r})")
        self.post_message(msg.SavedElsewhere(path, saved))

    @on(msg.SavedElsewhere)
    def _saved_elsewhere(self, message: msg.SavedElsewhere) -> None:
        where = ""
        if message.saved:
            where = f"{listed(message.saved, limit=5)} saved in {message.folder}"
        if message.failed or self.unsaved:
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

    # ----- the store ---------------------------------------------------------------------------

    @on(msg.ModelsListed)
    def _models_listed(self, message: msg.ModelsListed) -> None:
        self.entries = {entry["name"]: entry for entry in message.entries}
        self._each_section("on_models_listed")

    @on(msg.ModelLoadProgress)
    def _load_progress(self, message: msg.ModelLoadProgress) -> None:
        self.load_state = (message.done, message.total)
        if not message.ok:
            self.load_failures[message.name] = message.problem or "could not be loaded"
        else:
            self.load_failures.pop(message.name, None)
        self._each_section("on_load_progress", message)

    @on(msg.ModelsLoadFinished)
    def _load_finished(self, message: msg.ModelsLoadFinished) -> None:
        self.load_state = None
        self._each_section("on_load_finished", message)
        noun = "model" if message.loaded == 1 else "models"
        if message.loaded or message.failed or message.stopped:
            self.notify(f"{message.loaded} {noun} loaded")
        if message.failed:
            self.notify(
                f"{message.failed} could not be loaded — see Storage",
                severity="warning",
                timeout=8,
            )
        if message.stopped:
            self.notify(message.stopped, title="Loading stopped", severity="warning", timeout=10)
        self.refresh_storage()

    def is_loaded(self, name: str) -> bool:
        """Whether a model object is in memory."""
        loaded = getattr(self.service, "loaded", None) or {}
        return name in loaded

    def problem_entries(self) -> dict[str, dict[str, Any]]:
        """Store problems that are models which cannot be loaded, by name."""
        return {str(p.get("name")): p for p in self.store_problems if p.get("kind") in UNLOADABLE}

    def model_status(self, name: str) -> str:
        """loaded / on disk / problem."""
        if name in self.load_failures or name in self.problem_entries():
            return "problem"
        if self.is_loaded(name):
            return "loaded"
        return "on disk"

    @work(exclusive=True, exit_on_error=False, group="list", description="List store")
    async def refresh_store(self) -> None:
        """List the store again from the JSON files."""
        if self.service is not None:
            await self._list_now()
            self.refresh_storage()

    @work(exclusive=True, exit_on_error=False, group="report", description="Storage report")
    async def refresh_storage(self) -> None:
        """Ask the service for the storage report."""
        await self._report_now()

    async def _report_now(self) -> dict[str, Any] | None:
        if self.service is None:
            return None
        try:
            report = dict(await self.service.storage_report())
        except Exception as error:
            self.notify(error_sentence(error), title="Storage", severity="error")
            return None
        self.post_message(msg.StorageReported(report))
        return report

    @on(msg.StorageReported)
    def _storage_reported(self, message: msg.StorageReported) -> None:
        self.report = message.report
        self.report_time = self.clock()
        self.store_problems = list(message.report.get("problems", []))
        self._each_section("on_storage_report")

    @on(msg.StoreChanged)
    def _store_changed(self, message: msg.StoreChanged) -> None:
        for name in message.removed:
            self.load_failures.pop(name, None)
        self.refresh_store()

    @work(exclusive=False, exit_on_error=False, group="store", description="Store action")
    async def store_action(self, action: str, name: str | None = None, quiet: bool = False) -> None:
        """Run one store action (load, unload, delete, clear, clear_memory, remove, recheck)."""
        service = self.service
        if service is None:
            self.post_message(msg.StoreActionDone(action, False, "The store is not open.", name))
            return
        try:
            text = await self._run_store_action(service, action, name)
        except Exception as error:
            self.post_message(msg.StoreActionDone(action, False, error_sentence(error), name))
            return
        self.post_message(msg.StoreActionDone(action, True, text, name, quiet))

    async def _run_store_action(self, service: Any, action: str, name: str | None) -> str:
        if action == "load":
            assert name is not None
            await service.load(name)
            self.load_failures.pop(name, None)
            return f"{name} loaded into memory."
        if action == "unload":
            assert name is not None
            result = service.unload(name)
            if hasattr(result, "__await__"):
                await result
            return f"{name} removed from memory (still on disk)."
        if action == "delete":
            assert name is not None
            await _ok_or_raise(await service.delete(name))
            self.load_failures.pop(name, None)
            return f"{name} deleted from disk."
        if action == "clear":
            count = len(self.entries)
            await _ok_or_raise(await service.clear_all())
            self.load_failures.clear()
            return f"Deleted {count} model{'s' if count != 1 else ''} from disk."
        if action == "clear_memory":
            names = list(getattr(service, "loaded", {}) or {})
            for loaded_name in names:
                result = service.unload(loaded_name)
                if hasattr(result, "__await__"):
                    await result
            return f"Cleared {len(names)} model{'s' if len(names) != 1 else ''} from memory."
        if action == "remove":
            assert name is not None
            remove = getattr(service, "remove_entry", None)
            if remove is None:
                raise RuntimeError("This store cannot remove problem entries yet.")
            await _ok_or_raise(await remove(name))
            self.load_failures.pop(name, None)
            return f"Removed the files of {name}."
        if action == "recheck":
            assert name is not None
            await service.load(name)
            self.load_failures.pop(name, None)
            return f"{name} is fine now and loaded."
        raise ValueError(f"Unknown store action {action!r}.")

    @on(msg.StoreActionDone)
    def _store_action_done(self, message: msg.StoreActionDone) -> None:
        if not message.ok and message.action in ("load", "recheck") and message.name:
            self.load_failures[message.name] = message.message
        if not message.quiet or not message.ok:
            self.notify(message.message, severity="information" if message.ok else "error")
        self._each_section("on_store_action", message)
        if message.action not in ("load", "unload", "clear_memory"):
            self.refresh_store()
        else:
            self.refresh_storage()

    @property
    def export_dir(self) -> Path:
        """Where CSV exports go: ``exports/`` beside where tuidash was started."""
        return self.cwd / "exports"

    def open_analysis(self, meta: dict[str, Any]) -> None:
        """Push the analysis of one model (charts are imported only now)."""
        from tuidash.ui.screens.analysis import AnalysisScreen

        self.push_screen(AnalysisScreen(meta, self.export_dir))

    def open_prediction(self, selected: str | None = None) -> None:
        """Push the Predict screen, offering every saved model (in memory ones used as is)."""
        from tuidash.ui.screens.predict import PredictScreen

        loaded = getattr(self.service, "loaded", None)
        self.push_screen(
            PredictScreen(
                self.store_dir,
                sorted(self.entries, key=str.lower),
                selected,
                self.cwd,
                loaded=loaded,
                export_dir=self.export_dir,
                show_paths=self.show_paths,
            )
        )

    def open_comparison(self, metas: list[dict[str, Any]]) -> None:
        """Push the comparison of several models."""
        from tuidash.ui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(metas, self.export_dir))

    @work(exclusive=True, exit_on_error=False, group="settings", description="Save setting")
    async def set_autoload(self, on: bool) -> None:
        """Turn loading every model at start on or off; the store remembers it."""
        self.autoload = on
        state = "on" if on else "off"
        save_setting = getattr(self.service, "set_autoload", None)
        if save_setting is None:
            self.notify(f"Auto-load at start is {state} for this session.")
            return
        try:
            await asyncio.to_thread(save_setting, on)
        except Exception as error:
            self.notify(error_sentence(error), title="Auto-load setting", severity="error")
            return
        self.notify(f"Auto-load at start is {state} for this store.")

    def reload_all(self) -> None:
        """Load every listed model from disk again (progress as at start)."""
        self.load_failures.clear()
        self.reload_worker()

    @work(exclusive=True, exit_on_error=False, group="store-start", description="Reload all")
    async def reload_worker(self) -> None:
        """Reload every model from disk with progress."""
        if self.service is None:
            return
        for name in list(self.service.loaded):
            self.service.unload(name)
        await self._list_and_load()


def _shell_quote(text: str) -> str:
    """A path as it would be typed in a shell."""
    import shlex

    return shlex.quote(text)


def _open_service(store_dir: Path) -> tuple[PersistenceService, bool | None]:
    """Import and open the service and read its auto-load setting (in a thread: disk)."""
    from tuidash.services.persistence import PersistenceService

    service = PersistenceService(store_dir)
    return service, getattr(service, "autoload_setting", None)


async def _ok_or_raise(result: Any) -> None:
    """Service calls return (ok, message) tuples or raise; turn a False into an error."""
    if isinstance(result, tuple) and len(result) == 2 and result[0] is False:
        raise RuntimeError(str(result[1]))
