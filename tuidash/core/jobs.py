"""Job records on disk: a training that runs in its own process, and what it tells the others.

A job lives in the store's ``jobs/ID/`` folder:

- ``job.json``: the record (``JobRecord``), always replaced whole and atomically (temp
  file, fsync, ``os.replace``, folder fsync) under the jobs lock, so a reader sees the old
  or the new record, never a torn one;
- ``progress.jsonl``: append-only lines ``{"time", "fraction", "text"}`` and, every
  ``HEARTBEAT_SECONDS``, ``{"time", "heartbeat": true}``; a reader keeps its offset and
  reads only what is new;
- ``log``: the job process's log (its stdout and stderr too);
- ``result.json``: when it finished, what the model JSON holds (metrics, prediction sample)
  plus a summary, so the result can be shown without unpickling anything;
- ``data.parquet``: a snapshot of data that came from no file (removed when the job ends).

A job's state is queued | running | finished | failed | cancelled | interrupted. The last
four are final: once written, nothing changes them. ``reconcile`` is how no job stays
"running" forever: a job of this host whose process is gone becomes "interrupted" (or
"cancelled" if a cancel was asked for); a job of another host sharing the store is left
alone while its heartbeat is fresh and becomes "interrupted" once it has been silent for
``OTHER_HOST_SILENT_SECONDS``.

Every file access goes through ``JobFiles`` (small methods addressed by job id), so the
files can move to another backend later. Plain Python: nothing heavy is imported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuidash.core.errors import TuidashError

JOBS_DIR = "jobs"
"""The folder of the store that holds the jobs (the model listing never looks in it)."""
JOB_FILE = "job.json"
PROGRESS_FILE = "progress.jsonl"
LOG_FILE = "log"
RESULT_FILE = "result.json"
DATA_FILE = "data.parquet"
SETTINGS_FILE = "settings.json"
"""``jobs/settings.json``: {"max_running": N}, the store's job settings."""
LOCK_FILE = ".jobs.lock"
"""``jobs/.jobs.lock``: held while a record is read, changed and written back."""

QUEUED = "queued"
RUNNING = "running"
FINISHED = "finished"
FAILED = "failed"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"
STATES = (QUEUED, RUNNING, FINISHED, FAILED, CANCELLED, INTERRUPTED)
ACTIVE_STATES = frozenset({QUEUED, RUNNING})
"""A job in one of these has a process (waiting for a slot, or training)."""
END_STATES = frozenset({FINISHED, FAILED, CANCELLED, INTERRUPTED})
"""Final: once a record has one of these, it never changes again."""

DEFAULT_MAX_RUNNING = 1
"""How many jobs of one store train at once unless the store's settings say otherwise."""
HEARTBEAT_SECONDS = 2.0
"""A job process appends a heartbeat line this often (queued or running)."""
START_GRACE_SECONDS = 60.0
"""A queued record without a process id is given this long for its process to start."""
OTHER_HOST_SILENT_SECONDS = 600.0
"""A job of another host silent this long is taken for dead (its host crashed)."""
CANCELLED_MESSAGE = "The job was cancelled; nothing was saved."
"""The closing sentence of a cancelled job."""
PROGRESS_MIN_SECONDS = 0.2
"""Progress reports closer together than this are not all written (the last one is)."""

SCHEMA_VERSION = 1
_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")


class JobError(TuidashError):
    """A job cannot be found, started, read or changed; ``message`` says what to do."""


class JobNotFound(JobError):
    """No job has that id (or the prefix names none, or several)."""


def this_host() -> str:
    """This machine's name, as recorded in the jobs it starts."""
    return socket.gethostname()


def new_job_id(now: float | None = None) -> str:
    """A new id: UTC start time and four random hex digits (``20261130-170512-3fa2``);
    ids sort by creation time."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(2)}"


def is_job_id(text: str) -> bool:
    """Whether ``text`` has the form of a job id (never a path)."""
    return bool(_ID.match(text))


# --------------------------------------------------------------------------- the record


@dataclass
class JobRecord:
    """What ``job.json`` holds: what is trained on which data, where it runs, how it went."""

    id: str
    state: str
    """queued | running | finished | failed | cancelled | interrupted."""
    what: str
    """One line for people: "Random Forest on houses.csv (target price)"."""
    request: dict[str, Any]
    """The training request's fields (``services.workflows.TrainRequest`` without data)."""
    data: dict[str, Any]
    """Where the data is: {source, sha256, encoding, snapshot (a data.parquet in the folder)}."""
    store: str
    """The store's folder (absolute)."""
    host: str
    """The machine the job's process runs on."""
    created_at: float
    """Epoch seconds; ``started_at``/``ended_at`` likewise (None until then)."""
    pid: int | None = None
    pgid: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    phase: str = "waiting"
    """waiting (queued) | reading | training | saving | done: what the process is doing."""
    cancel_requested: bool = False
    """Someone asked to cancel; the process may be stopped at any moment."""
    saved: list[dict[str, Any]] = field(default_factory=list)
    """[{name, version}] of what the job saved."""
    message: str | None = None
    """The closing sentence: "Saved as 'Forest', version 2." or why not."""
    error: str | None = None
    """The error sentence of a failed or interrupted job."""
    error_type: str | None = None
    """The error's class name (``DataEncodingError``), for callers that add a hint."""
    error_hint: str | None = None
    """A value to suggest with the error (an encoding to try), or None."""
    schema_version: int = SCHEMA_VERSION

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.state in ACTIVE_STATES

    @property
    def ended(self) -> bool:
        """In a final state."""
        return self.state in END_STATES

    def elapsed(self, now: float | None = None) -> float:
        """Seconds it has been running (to its end, or until now); 0 while queued."""
        if self.started_at is None:
            return 0.0
        end = self.ended_at if self.ended_at is not None else time.time() if now is None else now
        return max(0.0, end - self.started_at)

    def state_text(self, host: str | None = None) -> str:
        """The state as people read it: "running on HOST" for another machine's job."""
        host = this_host() if host is None else host
        if self.active and self.host != host:
            return f"{self.state} on {self.host}"
        return self.state

    def to_json(self) -> dict[str, Any]:
        """The JSON document of ``job.json``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> JobRecord:
        """A record from ``job.json``; unknown keys (a later version's) are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in document.items() if k in names})


@dataclass
class ProgressEvent:
    """One line of the progress file: a progress report or a heartbeat."""

    time: float
    fraction: float | None = None
    text: str | None = None
    heartbeat: bool = False


# --------------------------------------------------------------------------- the files


class JobFiles:
    """The job files of one store; every read and write of them goes through here."""

    def __init__(self, store_dir: str | os.PathLike[str]) -> None:
        self.store_dir = Path(os.path.abspath(os.path.expanduser(os.fspath(store_dir))))
        """The store's folder."""
        self.root = self.store_dir / JOBS_DIR
        """The jobs folder (``STORE/jobs``)."""
        self._lock: Any = None

    def folder(self, job_id: str) -> Path:
        """The folder of one job (the id is checked: never a path)."""
        if not is_job_id(job_id):
            raise JobNotFound(f"{job_id!r} is not a job id; see `tuidash jobs list`.")
        return self.root / job_id

    def path(self, job_id: str, name: str) -> Path:
        """One file of a job (``log``: what the process printed)."""
        return self.folder(job_id) / name

    def ids(self) -> list[str]:
        """Every job id in the store, oldest first."""
        try:
            names = os.listdir(self.root)
        except OSError:
            return []
        return sorted(n for n in names if is_job_id(n))

    def make(self, job_id: str) -> None:
        """Create an empty job folder (``create`` is how a job with its record appears)."""
        from tuidash.core.store.durable import fsync_dir

        self.root.mkdir(parents=True, exist_ok=True)
        self.folder(job_id).mkdir()
        fsync_dir(self.root)

    def create(self, record: JobRecord, fill: Callable[[Path], None] | None = None) -> None:
        """Make a new job appear whole: its folder is filled (``fill(folder)``, then
        ``job.json``) under a hidden name and renamed into place, so a reader never sees a
        job without its record."""
        import shutil

        from tuidash.core.jsonsafe import plain_json
        from tuidash.core.store.durable import fsync_dir, write_new_file

        self.root.mkdir(parents=True, exist_ok=True)
        final = self.folder(record.id)
        hidden = self.root / f".new-{record.id}"
        hidden.mkdir()
        try:
            if fill is not None:
                fill(hidden)
            document = json.dumps(plain_json(record.to_json()), indent=1, allow_nan=False)
            write_new_file(hidden / JOB_FILE, document.encode())
            fsync_dir(hidden)
            os.rename(hidden, final)
        except BaseException:
            shutil.rmtree(hidden, ignore_errors=True)
            raise
        fsync_dir(self.root)

    def remove(self, job_id: str) -> None:
        """Remove a job's folder and everything in it."""
        import shutil

        shutil.rmtree(self.folder(job_id), ignore_errors=True)

    @contextlib.contextmanager
    def lock(self, timeout: float = 30.0) -> Iterator[None]:
        """Held while a record is read, changed and written back (one per store)."""
        from filelock import FileLock, Timeout

        if self._lock is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock = FileLock(str(self.root / LOCK_FILE))
        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            raise JobError(
                f"The jobs of {self.store_dir} are locked by another process; try again."
            ) from None
        try:
            yield
        finally:
            self._lock.release()

    # ----- documents

    def read_json(self, job_id: str, name: str) -> dict[str, Any] | None:
        """A JSON file of a job, or None if it is missing; JobError if it is damaged."""
        path = self.path(job_id, name)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise JobError(f"Cannot read {path}: {error.strerror or error}.") from None
        try:
            document = json.loads(raw)
        except ValueError:
            raise JobError(f"{path} is damaged (not JSON); remove the job folder.") from None
        if not isinstance(document, dict):
            raise JobError(f"{path} is damaged (not a JSON object); remove the job folder.")
        return document

    def write_json(self, job_id: str, name: str, document: dict[str, Any]) -> None:
        """Replace a JSON file of a job atomically and durably."""
        from tuidash.core.jsonsafe import plain_json
        from tuidash.core.store.durable import fsync_dir, unlink_quiet, write_new_file

        folder = self.folder(job_id)
        data = json.dumps(plain_json(document), indent=1, allow_nan=False).encode()
        tmp = folder / f".tmp-{name}-{secrets.token_hex(4)}"
        try:
            write_new_file(tmp, data)
            os.replace(tmp, folder / name)
        except BaseException:
            unlink_quiet(tmp)
            raise
        fsync_dir(folder)

    def read_record(self, job_id: str) -> JobRecord:
        """The record of one job; JobNotFound if there is none."""
        document = self.read_json(job_id, JOB_FILE)
        if document is None:
            raise JobNotFound(f"No job {job_id} in {self.store_dir}; see `tuidash jobs list`.")
        try:
            return JobRecord.from_json(document)
        except TypeError:
            path = self.path(job_id, JOB_FILE)
            raise JobError(f"{path} is damaged (keys missing); remove the job folder.") from None

    def write_record(self, record: JobRecord) -> None:
        """Replace a job's record (callers hold ``lock()`` when they read-modify-write)."""
        self.write_json(record.id, JOB_FILE, record.to_json())

    # ----- progress

    def append_progress(self, job_id: str, event: dict[str, Any]) -> None:
        """Append one line to the progress file (no fsync: progress is not precious)."""
        line = (json.dumps(event, allow_nan=False) + "\n").encode()
        fd = os.open(
            self.path(job_id, PROGRESS_FILE), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
        )
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def read_progress(self, job_id: str, offset: int = 0) -> tuple[list[ProgressEvent], int]:
        """The whole lines of the progress file from byte ``offset`` on, and the offset after
        them (pass it back next time to read only what is new)."""
        try:
            with open(self.path(job_id, PROGRESS_FILE), "rb") as stream:
                stream.seek(offset)
                chunk = stream.read()
        except FileNotFoundError:
            return [], offset
        end = chunk.rfind(b"\n") + 1  # a line still being written is read next time
        events = []
        for line in chunk[:end].splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if not isinstance(item, dict) or not isinstance(item.get("time"), int | float):
                continue
            fraction = item.get("fraction")
            events.append(
                ProgressEvent(
                    time=float(item["time"]),
                    fraction=float(fraction) if isinstance(fraction, int | float) else None,
                    text=str(item["text"]) if item.get("text") is not None else None,
                    heartbeat=bool(item.get("heartbeat")),
                )
            )
        return events, offset + end

    def last_progress(self, job_id: str) -> ProgressEvent | None:
        """The latest progress report (not a heartbeat), read from the file's tail."""
        path = self.path(job_id, PROGRESS_FILE)
        try:
            size = os.stat(path).st_size
        except OSError:
            return None
        for tail in (8192, size):
            start = max(0, size - tail)
            # A line cut by the start is no JSON object and is skipped.
            events, _ = self.read_progress(job_id, start)
            found = latest_progress(events)
            if found is not None or not start:
                return found
        return None

    def last_signal(self, job_id: str) -> float | None:
        """When the job last wrote progress or a heartbeat (the file's time), or None."""
        try:
            return os.stat(self.path(job_id, PROGRESS_FILE)).st_mtime
        except OSError:
            return None

    # ----- the log

    def read_log(self, job_id: str, offset: int = 0) -> tuple[str, int]:
        """The log from byte ``offset`` on, and the offset after it."""
        try:
            with open(self.path(job_id, LOG_FILE), "rb") as stream:
                stream.seek(offset)
                chunk = stream.read()
        except FileNotFoundError:
            return "", offset
        return chunk.decode("utf-8", "replace"), offset + len(chunk)

    # ----- settings

    def max_running(self) -> int:
        """How many jobs of this store may train at once (``jobs/settings.json``)."""
        try:
            document = json.loads((self.root / SETTINGS_FILE).read_bytes())
            value = document.get("max_running") if isinstance(document, dict) else None
        except (OSError, ValueError):
            value = None
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        return DEFAULT_MAX_RUNNING

    def set_max_running(self, count: int) -> None:
        """Set how many jobs of this store may train at once (1 or more)."""
        from tuidash.core.store.durable import unlink_quiet, write_new_file

        if count < 1:
            raise JobError("The number of jobs that run at once must be 1 or more.")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".tmp-{SETTINGS_FILE}-{secrets.token_hex(4)}"
        try:
            write_new_file(tmp, json.dumps({"max_running": count}).encode())
            os.replace(tmp, self.root / SETTINGS_FILE)
        except BaseException:
            unlink_quiet(tmp)
            raise


# --------------------------------------------------------------------------- changes


def update(
    files: JobFiles, job_id: str, change: Callable[[JobRecord], JobRecord | None]
) -> JobRecord:
    """Read a record, let ``change`` edit it and write it back, under the jobs lock.

    ``change`` returns the record to write, or None to leave it as it is. A record in a
    final state is never changed (``change`` is not called); the current record is returned.
    """
    with files.lock():
        record = files.read_record(job_id)
        if record.ended:
            return record
        changed = change(dataclasses.replace(record))
        if changed is None:
            return record
        files.write_record(changed)
        return changed


def finish(
    files: JobFiles,
    job_id: str,
    state: str,
    *,
    message: str | None = None,
    error: str | None = None,
    error_type: str | None = None,
    error_hint: str | None = None,
    saved: list[dict[str, Any]] | None = None,
    now: float | None = None,
) -> JobRecord:
    """Put a job in a final state (nothing happens if it already is in one)."""
    if state not in END_STATES:
        raise ValueError(f"not a final state: {state}")

    def change(record: JobRecord) -> JobRecord:
        record.state = state
        record.phase = "done"
        record.ended_at = time.time() if now is None else now
        record.message = message
        record.error = error
        record.error_type = error_type
        record.error_hint = error_hint
        if saved is not None:
            record.saved = saved
        return record

    return update(files, job_id, change)


# --------------------------------------------------------------------------- processes


def process_alive(pid: int | None, job_id: str | None = None) -> bool:
    """Whether process ``pid`` runs on this machine (a zombie does not); where /proc tells,
    also that it is that job's process (its command line names the job), not a reused pid."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    proc = Path("/proc") / str(pid)
    try:
        stat = (proc / "stat").read_text()
    except OSError:
        return True  # no /proc (macOS): the signal check is all there is
    state = stat.rpartition(")")[2].split()[:1]
    if state and state[0] in ("Z", "X"):
        return False
    if job_id is not None:
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            return True
        return job_id.encode() in cmdline
    return True


def reconcile(
    files: JobFiles,
    record: JobRecord,
    *,
    host: str | None = None,
    now: float | None = None,
) -> JobRecord:
    """The record as it really is: an active job whose process is known to be gone is put
    in a final state ("interrupted", or "cancelled" when a cancel was asked for) and saved.

    This host: the process is gone (or the pid is another program's now). Another host:
    neither progress nor a heartbeat for ``OTHER_HOST_SILENT_SECONDS``. A queued record whose
    process never got a pid is given ``START_GRACE_SECONDS``.
    """
    if not record.active:
        return record
    host = this_host() if host is None else host
    now = time.time() if now is None else now
    last = files.last_signal(record.id) or record.created_at
    if record.host == host:
        if record.pid is None:
            dead = now - record.created_at > START_GRACE_SECONDS
        else:
            dead = not process_alive(record.pid, record.id)
        reason = (
            f"The job's process ({record.pid} on {host}) stopped without finishing "
            "(killed, or the machine restarted); start the training again."
        )
    else:
        dead = now - last > OTHER_HOST_SILENT_SECONDS
        reason = (
            f"The job on {record.host} has not reported for {int((now - last) // 60)} min "
            "(its machine may have restarted); start the training again."
        )
    if not dead:
        return record
    if record.cancel_requested:
        return finish(files, record.id, CANCELLED, message=CANCELLED_MESSAGE, now=now)
    return finish(files, record.id, INTERRUPTED, error=reason, error_type="Interrupted", now=now)


def list_records(files: JobFiles, *, reconciled: bool = True) -> list[JobRecord]:
    """Every job of the store, newest first (reconciled unless told not to); a damaged
    record is skipped."""
    records = []
    host = this_host()
    for job_id in reversed(files.ids()):
        try:
            record = files.read_record(job_id)
            if reconciled:
                record = reconcile(files, record, host=host)
        except JobError:
            continue
        records.append(record)
    return records


def claim_slot(files: JobFiles, job_id: str, *, now: float | None = None) -> str:
    """Called by a queued job's process: "running" when it may start now (its record says
    so from here on), "queued" while it must wait, or the record's final state (cancelled
    while waiting). Queued jobs start oldest first, ``max_running`` at a time."""
    now = time.time() if now is None else now
    host = this_host()
    with files.lock():
        record = files.read_record(job_id)
        if record.state != QUEUED:
            return record.state
        running = 0
        ahead = 0
        for other_id in files.ids():
            if other_id == job_id:
                continue
            try:
                other = reconcile(files, files.read_record(other_id), host=host, now=now)
            except JobError:
                continue
            if other.state == RUNNING:
                running += 1
            elif other.state == QUEUED and (other.created_at, other.id) < (
                record.created_at,
                record.id,
            ):
                ahead += 1
        if running + ahead >= files.max_running():
            return QUEUED
        record.state = RUNNING
        record.phase = "reading"
        record.started_at = now
        files.write_record(record)
        return RUNNING


def latest_progress(events: list[ProgressEvent]) -> ProgressEvent | None:
    """The last progress report (not heartbeat) of a list, or None."""
    for event in reversed(events):
        if not event.heartbeat and event.fraction is not None:
            return event
    return None


def older_than(record: JobRecord, days: float, now: float | None = None) -> bool:
    """Whether a job ended more than ``days`` days ago."""
    if not record.ended:
        return False
    now = time.time() if now is None else now
    ended = record.ended_at if record.ended_at is not None else record.created_at
    return now - ended > days * 86400
