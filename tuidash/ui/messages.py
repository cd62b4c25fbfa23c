"""App-wide messages: workers post these to the app, which updates the state the screens show.

A message that reports a failure carries the sentence ``error_sentence`` makes of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from tuidash.core.errors import TuidashError


def error_sentence(error: BaseException) -> str:
    """The one sentence a person should read about an error: a ``TuidashError``'s own, an
    OSError's file and reason, else the error's text (or its type when it has none)."""
    if isinstance(error, TuidashError):
        return error.message
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}."
    return str(error) or type(error).__name__


@dataclass
class DataLoaded(Message):
    """A data set was read and profiled."""

    data: Any
    """The core's ``LoadedData``."""
    profile: list[Any]
    """``ColumnProfile`` per column."""
    problems: list[str]
    """The data's problems in plain words."""


@dataclass
class DataReadProgress(Message):
    """How far the read of a data file has got; later ones replace earlier ones."""

    load_id: int
    """Which load this is (the Data screen ignores reports of a load it has moved past)."""
    name: str
    """The file's name, or "the sample data set"."""
    done: int
    total: int
    """Bytes, as reported by the core's ``read_table(progress=...)``."""

    def can_replace(self, message: Message) -> bool:
        """A newer report of the same load makes a pending older one pointless."""
        return isinstance(message, DataReadProgress) and message.load_id == self.load_id


@dataclass
class DataLoadFailed(Message):
    """A data file could not be read; ``message`` is the core's sentence."""

    path: str
    message: str


@dataclass
class TrainingProgress(Message):
    """Progress of the running training; later ones replace earlier ones."""

    kind_id: str
    fraction: float
    text: str
    index: int = 0
    """Position of this kind in the batch (0-based)."""
    total: int = 1
    """How many kinds the batch trains."""
    batch: int = 0
    """Which training batch posted it; the app drops messages of a batch it has ended."""
    elapsed: float | None = None
    """Seconds the training job has been running (a job followed again after a restart of
    the app has been running longer than the app has seen it)."""

    def can_replace(self, message: Message) -> bool:
        """A newer progress report makes a pending older one pointless."""
        return isinstance(message, TrainingProgress)


@dataclass
class TrainingFinished(Message):
    """One model kind finished training; ``trained`` is the core's ``TrainedModel``."""

    name: str
    trained: Any
    replace: bool = False
    batch: int = 0
    """Which training batch posted it; the app drops messages of a batch it has ended."""
    saved_version: int | None = None
    """Set when a job trained it: the job saved it already, as this version."""


@dataclass
class TrainingFailed(Message):
    """Training one model kind failed with a sentence for the user."""

    kind_id: str
    message: str
    batch: int = 0
    """Which training batch posted it; the app drops messages of a batch it has ended."""


@dataclass
class TrainingCancelled(Message):
    """The user cancelled the training."""

    kind_id: str
    batch: int = 0
    """Which training batch posted it; the app drops messages of a batch it has ended."""


@dataclass
class TrainingBatchDone(Message):
    """Every kind of a batch has been handled (trained, failed or cancelled)."""

    batch: int = 0
    """Which training batch posted it; the app drops messages of a batch it has ended."""


@dataclass
class ModelSaved(Message):
    """A trained model was written to the store."""

    name: str
    display_name: str
    version: int = 1
    """The version the save made (2 and up: the name was taken, earlier ones are kept)."""
    by_job: bool = False
    """A training job saved it (the app loads it, as after its own save)."""


@dataclass
class SavedElsewhere(Message):
    """Unsaved models were written into another folder (asked on quit)."""

    folder: str
    """The folder, a store of its own now (models/ and metadata/)."""
    saved: list[str]
    """Names written there."""
    failed: str | None = None
    """The sentence when writing stopped; the models not in ``saved`` stay unsaved."""


@dataclass
class ModelSaveFailed(Message):
    """Saving a trained model failed; the model stays in memory for "Save again"."""

    name: str
    message: str
    name_taken: bool = False
    existing: str | None = None
    """The saved name it clashes with (maybe in another case), when the name is taken."""


@dataclass
class ModelsListed(Message):
    """The store's entries, from the JSON files alone."""

    entries: list[dict[str, Any]]
    facts: Any = None
    """What the Models table shows about them as a whole (``ListingFacts``), computed off
    the event loop with the listing."""


@dataclass
class ModelLoadProgress(Message):
    """One model of a bulk load was handled (loaded or not)."""

    done: int
    total: int
    name: str
    ok: bool
    problem: str | None = None


@dataclass
class ModelsLoadFinished(Message):
    """A bulk load ended; ``stopped`` is a sentence when it stopped early."""

    loaded: int
    failed: int
    stopped: str | None = None


@dataclass
class StoreActionDone(Message):
    """A store action (load, unload, delete, clear, remove entry) finished."""

    action: str
    ok: bool
    message: str
    name: str | None = None
    quiet: bool = False
    """Done on the app's own initiative: no notification when it worked."""


@dataclass
class VersionsListed(Message):
    """Every version of one model, oldest first (the store's ``list_versions`` rows)."""

    name: str
    versions: list[dict[str, Any]]
    problem: str | None = None
    """The sentence when they could not be listed (``versions`` is then empty)."""


@dataclass
class StorageReported(Message):
    """The storage report (location, sizes, free space, problems)."""

    report: dict[str, Any]


@dataclass
class StoreChanged(Message):
    """Another process added, changed or removed entries in the store."""

    added: list[str]
    changed: list[str]
    removed: list[str]


@dataclass
class StoreTransfer(Message):
    """Bytes of a large model moved to or from a remote store (replaces the previous one)."""

    what: str
    """"upload" or "download"."""
    key: str
    """The object's key in the store (``models/Forest.pkl``)."""
    done: int
    total: int


@dataclass
class JobsPolled(Message):
    """The store's jobs as just read, and what the active ones reported since the last look."""

    records: list[Any]
    """Every job (``JobRecord``), newest first."""
    updates: dict[str, Any]
    """``JobUpdate`` by job id, for the jobs followed (queued or running when looked at)."""


@dataclass
class JobStarted(Message):
    """A job of a training batch was started (its record, state queued)."""

    batch: int
    index: int
    """Position of its model kind in the batch."""
    record: Any


@dataclass
class JobStartRefused(Message):
    """A job of a training batch was not started: the sentence (the name taken: ask)."""

    batch: int
    index: int
    message: str
    name_taken: bool = False
    existing: str | None = None
    """The saved name it clashes with (maybe in another case), when the name is taken."""


@dataclass
class JobCancelDone(Message):
    """A cancel of a job ended; ``record`` is how the job ended (finished if it was saving)."""

    job_id: str
    record: Any | None
    problem: str | None = None
    """The sentence when the job could not be cancelled."""
    quiet: bool = False
    """Cancelled as part of a training batch (its summary says so)."""
