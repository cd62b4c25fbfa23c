"""What the dashboard knows, as typed objects the app owns and hands to the screens.

The app creates one ``AppState`` and passes each section screen what it shows (the data
set, the store, the training) in its constructor. Whoever changes a state object (the
app's message handlers, or a screen through the object's own methods) does it through the
object's methods, which announce the change on the object's Textual ``Signal``s; screens
subscribe to those signals and draw from the state. What a screen asks the app to do
(train, open a model, a store action) goes through the typed ``Actions`` interface.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from textual.signal import Signal

from tuidash.core.settings import StoreLocation, is_store_url

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from tuidash.ui.messages import (
        ModelLoadProgress,
        ModelsLoadFinished,
        StoreActionDone,
        StoreTransfer,
        TrainingProgress,
    )

UNLOADABLE = ("damaged", "refused")
"""Kinds of store problems that are models which cannot be loaded (orphans are not models)."""


@dataclass
class TrainJob:
    """One model kind to train in a batch: its kind, validated params and the name to save."""

    kind_id: str
    params: dict[str, Any]
    name: str
    replace: bool = False
    """Save as a new version of the saved model of that name (the user chose so)."""
    search: Any = None
    """A ``SearchSpec`` (and ``cluster`` address) to search the parameters, or None."""


@dataclass(frozen=True)
class Settings:
    """How this session was started: fixed while the app runs (tests fix what varies)."""

    store_dir: StoreLocation
    """The model store: a folder, or a URL (``s3://bucket/prefix``) of a remote store."""
    cwd: Path
    """Where the file browser starts; exports and rescued models go beside it."""
    data_path: Path | None = None
    """A data file to open at start (from the command line); the Data section reads it."""
    show_paths: bool = True
    """Show absolute paths; snapshot tests turn this off so pictures do not vary."""
    show_free_space: bool = True
    """Show the disk's free space (snapshot tests turn it off: it changes)."""
    cursor_blink: bool = True
    """Blink the cursor of text inputs (off for snapshots)."""
    clock: Callable[[], datetime] = datetime.now
    """Wall clock for times shown on screen; tests pass a fixed one."""

    def display_path(self, path: str | Path) -> str:
        """A path as shown on screen (only its last part when paths are hidden)."""
        if not self.show_paths and is_store_url(path):
            return str(path).rstrip("/").rpartition("/")[2]
        return str(path) if self.show_paths else Path(path).name

    @property
    def remote_store(self) -> bool:
        """True when the store is in object storage (its location is a URL)."""
        return is_store_url(self.store_dir)

    @property
    def export_dir(self) -> Path:
        """Where CSV exports go: ``exports/`` beside where tuidash was started."""
        return self.cwd / "exports"

    @property
    def rescue_dir(self) -> Path:
        """The folder offered for models that cannot be saved in the store."""
        return self.cwd / "tuidash-unsaved-models"


class DataState:
    """The data set being worked on, its target and the features that predict it."""

    def __init__(self, owner: DOMNode) -> None:
        self.data: Any = None
        """The loaded data set (core ``LoadedData``) or None."""
        self.profile: list[Any] = []
        """The core's ``ColumnProfile`` per column of the data set."""
        self.problems: list[str] = []
        """The data set's problems in plain words."""
        self.target: str | None = None
        """The column to predict."""
        self.features: list[str] = []
        """The columns used to predict it."""
        self.left_out: dict[str, str] = {}
        """Columns the default feature choice leaves out, each with a one-sentence reason."""
        self.task: str = "auto"
        """The task asked for: auto (follows the target), regression or classification."""
        self.loaded: Signal[DataState] = Signal(owner, "data-loaded")
        """A new data set was loaded (with its default target and features)."""
        self.failed: Signal[str] = Signal(owner, "data-failed")
        """A data file could not be read: the sentence (the previous data stays)."""
        self.target_changed: Signal[DataState] = Signal(owner, "target-changed")
        """The target or the feature choice changed."""

    def label(self) -> str:
        """A short name of the loaded data set."""
        if self.data is None:
            return "No data"
        source = str(self.data.source)
        if source.startswith("sample:"):
            return f"Sample data set ({source.split(':', 1)[1]})"
        return Path(source).name

    def use(self, data: Any, profile: list[Any], problems: list[str]) -> None:
        """Work on a newly read data set: the core's default target and features."""
        from tuidash.core.data import default_target

        self.data, self.profile, self.problems = data, profile, problems
        self.task = "auto"
        self.target = default_target(data.frame)
        self._default_features()
        self.loaded.publish(self)

    def fail(self, sentence: str) -> None:
        """A data file could not be read."""
        self.failed.publish(sentence)

    def choose_target(self, target: str) -> None:
        """A new target gets the default feature choice again (the old target is a candidate)."""
        self.target = target
        self._default_features()
        self.target_changed.publish(self)

    def choose_task(self, task: str) -> None:
        """Ask for this task (auto, regression or classification); the kinds follow it."""
        self.task = task
        self.target_changed.publish(self)

    def task_choice(self) -> Any:
        """The core's ``TaskChoice`` for the target and the task asked for (None: no target)."""
        from tuidash.core.tasks import decide_task

        if self.data is None or self.target is None or self.target not in self.data.frame:
            return None
        return decide_task(self.data.frame[self.target], self.task, name=self.target)

    def resolved_task(self) -> str:
        """regression or classification: what training will do with the current choice."""
        choice = self.task_choice()
        if choice is not None:
            return str(choice.task)
        return "regression" if self.task == "auto" else self.task

    def choose_features(self, features: list[str]) -> None:
        """Use these features (the target never predicts itself)."""
        self.features = [f for f in features if f != self.target]
        self.target_changed.publish(self)

    def _default_features(self) -> None:
        """Tick the core's default features for the target (dates, ids, empties out)."""
        from tuidash.core.training import default_features

        if self.data is None or self.target is None:
            self.features, self.left_out = [], {}
            return
        features, reasons = default_features(self.data.frame, self.target)
        self.features, self.left_out = list(features), dict(reasons)


class StoreState:
    """The model store as last listed, measured and loaded."""

    def __init__(self, owner: DOMNode, autoload: bool = True) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        """Saved models by name, from the JSON files (no unpickling)."""
        self.facts: Any = None
        """What the Models table shows about these entries as a whole (the screens'
        ``ListingFacts``), computed with the listing off the event loop; None if not."""
        self.problems: list[dict[str, Any]] = []
        """The problems of the last storage report (damaged, refused, orphaned entries)."""
        self.report: dict[str, Any] | None = None
        """The last storage report."""
        self.report_time: datetime | None = None
        """When the last storage report was made."""
        self.load_state: tuple[int, int] | None = None
        """(done, total) while a bulk load runs."""
        self.load_failures: dict[str, str] = {}
        """Models that could not be loaded, with the reason."""
        self.autoload: bool = autoload
        """Load every saved model into memory at start (off with ``--no-autoload``)."""
        self.loaded: Mapping[str, Any] = {}
        """Models in memory by name (the open service's own mapping)."""
        self.listed: Signal[StoreState] = Signal(owner, "store-listed")
        """The entries were listed again."""
        self.reported: Signal[StoreState] = Signal(owner, "store-reported")
        """A new storage report (sizes, problems) arrived."""
        self.load_progress: Signal[ModelLoadProgress] = Signal(owner, "load-progress")
        self.transfer: Signal[StoreTransfer] = Signal(owner, "store-transfer")
        """Bytes of a large model moving to or from a remote store."""
        """One model of a bulk load was handled."""
        self.load_finished: Signal[ModelsLoadFinished] = Signal(owner, "load-finished")
        """A bulk load ended."""
        self.action_done: Signal[StoreActionDone] = Signal(owner, "store-action-done")
        """A load, unload, delete, clear or removal finished (what is in memory may differ)."""
        self.autoload_changed: Signal[bool] = Signal(owner, "autoload-changed")
        """The store's own setting turned auto-load off at start."""
        self.versions: dict[str, list[dict[str, Any]]] = {}
        """Every version of a model (``list_versions`` rows, oldest first), by name, for
        the models whose versions were asked for since the last listing."""
        self.version_problems: dict[str, str] = {}
        """Models whose versions could not be listed, with the sentence."""
        self.versions_listed: Signal[str] = Signal(owner, "versions-listed")
        """The versions of one model (its name) were listed."""

    def is_loaded(self, name: str) -> bool:
        """Whether a model object is in memory."""
        return name in self.loaded

    def problem_entries(self) -> dict[str, dict[str, Any]]:
        """Store problems that are models which cannot be loaded, by name."""
        return {str(p.get("name")): p for p in self.problems if p.get("kind") in UNLOADABLE}

    def model_status(self, name: str) -> str:
        """loaded / on disk / problem."""
        if name in self.load_failures or name in self.problem_entries():
            return "problem"
        if self.is_loaded(name):
            return "loaded"
        return "on disk"

    def use_listing(self, entries: list[dict[str, Any]], facts: Any = None) -> None:
        """The store's entries, as just listed (with their ``facts``, if computed)."""
        self.entries = {entry["name"]: entry for entry in entries}
        self.facts = facts
        # A listing follows every change: versions listed before it may be out of date.
        self.versions.clear()
        self.version_problems.clear()
        self.listed.publish(self)

    def use_versions(self, name: str, versions: list[dict[str, Any]], problem: str | None) -> None:
        """The versions of ``name`` as just listed (or the sentence why they cannot be)."""
        if problem is None:
            self.versions[name] = list(versions)
            self.version_problems.pop(name, None)
        else:
            self.versions.pop(name, None)
            self.version_problems[name] = problem
        self.versions_listed.publish(name)

    def use_report(self, report: dict[str, Any], when: datetime) -> None:
        """A storage report made at ``when``."""
        self.report = report
        self.report_time = when
        self.problems = list(report.get("problems", []))
        self.reported.publish(self)

    def loading(self, progress: ModelLoadProgress) -> None:
        """One model of the bulk load was handled (loaded or not)."""
        self.load_state = (progress.done, progress.total)
        if not progress.ok:
            self.load_failures[progress.name] = progress.problem or "could not be loaded"
        else:
            self.load_failures.pop(progress.name, None)
        self.load_progress.publish(progress)

    def loading_finished(self, finished: ModelsLoadFinished) -> None:
        """The bulk load ended."""
        self.load_state = None
        self.load_finished.publish(finished)

    def action_finished(self, done: StoreActionDone) -> None:
        """A store action finished; a load that failed is a load failure."""
        if not done.ok and done.action in ("load", "reload", "recheck") and done.name:
            self.load_failures[done.name] = done.message
        self.action_done.publish(done)

    def set_autoload(self, on: bool) -> None:
        """Turn auto-load at start on or off and say so."""
        self.autoload = on
        self.autoload_changed.publish(on)


class TrainingState:
    """The running (or last) training batch and the trained models not saved yet."""

    def __init__(self, owner: DOMNode) -> None:
        self.running: bool = False
        """A batch is training now."""
        self.jobs: list[TrainJob] = []
        """The model kinds of the running (or last) batch."""
        self.last: dict[str, Any] = {}
        """Results of the last batch by model name (the core's ``TrainedModel``)."""
        self.unsaved: dict[str, Any] = {}
        """Trained models whose save failed or is still running, by the name to give them."""
        self.failed: dict[str, str] = {}
        """Kinds of the last batch that could not be trained (display name), with the sentence."""
        self.save_failures: dict[str, str] = {}
        """Models of the last batch whose save failed, with the sentence."""
        self.timer: Any = None
        """The core's ``ProgressTimer`` of the model being trained (elapsed, time left)."""
        self.started: Signal[list[TrainJob]] = Signal(owner, "training-started")
        """A batch started: its jobs."""
        self.progress: Signal[TrainingProgress] = Signal(owner, "training-progress")
        """The model being trained reported progress."""
        self.results_changed: Signal[TrainingState] = Signal(owner, "training-results")
        """A model was trained, saved, renamed or not saved, or a kind failed."""
        self.finished: Signal[bool] = Signal(owner, "training-finished")
        """The batch ended; True when it was cancelled."""

    def progress_time_text(self) -> str:
        """Elapsed time and the estimate of the time left of the model being trained."""
        return self.timer.text() if self.timer is not None else ""


class JobsState:
    """The store's training jobs as last looked at, and how far the active ones have got."""

    def __init__(self, owner: DOMNode) -> None:
        self.records: list[Any] = []
        """Every job of the store (``JobRecord``), newest first."""
        self.progress: dict[str, Any] = {}
        """The latest progress report (``ProgressEvent``) of each job followed, by id."""
        self.updates: dict[str, Any] = {}
        """The latest ``JobUpdate`` of each job followed since the app started, by id."""
        self.looked: bool = False
        """The jobs have been read at least once."""
        self.changed: Signal[JobsState] = Signal(owner, "jobs-changed")
        """The jobs were read again and something changed (a state, a progress report)."""

    def use(self, records: list[Any], updates: Mapping[str, Any]) -> None:
        """The jobs as just read, with what the followed ones reported."""
        self.records = list(records)
        for job_id, update in updates.items():
            self.updates[job_id] = update
            if update.progress is not None:
                self.progress[job_id] = update.progress
        self.looked = True
        self.changed.publish(self)

    def get(self, job_id: str) -> Any | None:
        """The record of one job, or None."""
        return next((r for r in self.records if r.id == job_id), None)

    def active(self) -> list[Any]:
        """The queued and running jobs."""
        return [r for r in self.records if r.active]


class Actions(Protocol):
    """What a screen may ask the app to do (the app runs it, usually in a worker)."""

    def start_training(self, jobs: list[TrainJob], config: dict[str, Any]) -> None:
        """Train the jobs on the current data with the split ``config``."""

    def cancel_training(self) -> None:
        """Stop the running training; nothing of it is saved."""

    def save_again(self) -> None:
        """Retry saving every trained model whose save failed."""

    def open_analysis(self, meta: dict[str, Any]) -> None:
        """Show the analysis of one model (its metadata)."""

    def open_comparison(self, metas: list[dict[str, Any]]) -> None:
        """Show the comparison of several models."""

    def open_prediction(self, selected: str | None = None) -> None:
        """Show the Predict screen, ``selected`` chosen."""

    def store_action(self, action: str, name: str | None = None, quiet: bool = False) -> Any:
        """Run one store action (load, unload, delete, clear, clear_memory, remove, recheck)."""

    def version_action(self, action: str, name: str, *args: Any) -> Any:
        """Change the versions of ``name``: alias (version, alias), unalias (alias), rollback
        (version), delete_version (version), note (version, text), tags (version, tags),
        rename (new name); the store's sentence is notified."""

    def list_versions(self, name: str) -> Any:
        """List every version of ``name`` into ``StoreState.versions``."""

    def reload_all(self) -> None:
        """Load every listed model from disk again."""

    def refresh_store(self) -> Any:
        """List the store again."""

    def refresh_storage(self) -> Any:
        """Measure the store again."""

    def set_autoload(self, on: bool) -> Any:
        """Turn loading every model at start on or off (the store remembers it)."""

    def cancel_job(self, job_id: str) -> Any:
        """Cancel one job (its end is notified)."""

    def read_job_log(self, job_id: str, offset: int = 0) -> tuple[str, int]:
        """A job's log from byte ``offset`` on and the offset after it (disk: call it in a
        thread)."""


class AppState:
    """Everything the sections show: the session's settings, the data, the store, training."""

    def __init__(self, owner: DOMNode, settings: Settings, autoload: bool = True) -> None:
        self.settings = settings
        """How the session was started."""
        self.data = DataState(owner)
        """The data set and the target/feature choice."""
        self.store = StoreState(owner, autoload)
        """The model store."""
        self.training = TrainingState(owner)
        """The training batch and the models not saved yet."""
        self.jobs = JobsState(owner)
        """The store's training jobs."""

    def taken_names(self) -> set[str]:
        """Names in the store or waiting to be saved."""
        return set(self.store.entries) | set(self.training.unsaved)

    def free_name(self, name: str) -> str:
        """``name`` if free, else a free name like "Random Forest (2)" by the store's rule
        (names that differ only in upper/lower case share files, so they are taken too)."""
        from tuidash.core.store.names import free_name

        return free_name(name, self.taken_names())

    def is_taken(self, name: str) -> bool:
        """Whether saving ``name`` would clash with a saved or waiting model (any case)."""
        return self.free_name(name) != name
