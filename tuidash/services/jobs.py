"""Jobs: a training that runs in its own process and outlives the terminal that started it.

``Jobs(store)`` is the API the CLI and the dashboard call (plain Python, no textual):

- ``start(request)`` checks the request and the name, records a queued job and starts its
  process in a new session (SIGHUP of the terminal does not reach it); it returns at once;
- ``list_jobs()`` / ``get(id)`` read the records (reconciled: a dead job is "interrupted");
- ``attach(id)`` gives a ``JobWatcher`` whose ``poll()`` returns what is new (state,
  progress reports, the result once finished), without blocking;
- ``cancel(id)`` stops a job within about two seconds, even inside one long fit (its
  process group is sent SIGTERM, and SIGKILL if it is still there), and records
  "cancelled"; a job that is saving finishes its save first (old-or-new, never half);
- ``clean(older_than_days)`` removes ended jobs; ``max_running`` is the store's limit of
  jobs that train at once (default one; the others wait as queued).

A job process is ``python -m tuidash.services.jobs run STORE ID``: it waits for a slot,
then runs ``workflows.train_and_save`` (the same train → evaluate → save path as the app
and the CLI), appending progress and a heartbeat to its progress file and writing its end
state to ``job.json``. Its body is ``services.job_process`` (this module only starts it);
the record format is ``tuidash.core.jobs``.

A store URL (``s3://bucket/prefix``) works the same: the job process opens the store by
its URL (``ModelStore(url)``, as the CLI does) with the storage options it was given in
its environment (``TUIDASH_STORAGE_OPTIONS``, never written to disk: they may hold
secrets); its records are on this machine (``settings.remote_jobs_dir``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuidash.core import jobs as records
from tuidash.core.jobs import (
    CANCELLED,
    DATA_FILE,
    FINISHED,
    LOG_FILE,
    QUEUED,
    RESULT_FILE,
    JobError,
    JobFiles,
    JobNotFound,
    JobRecord,
    ProgressEvent,
)
from tuidash.services.job_process import (
    NO_LOG,
    QUEUE_POLL_SECONDS,
    request_document,
    request_from_document,
    run_job,
)
from tuidash.services.job_process import _Runner as _Runner  # the job process's body

if TYPE_CHECKING:
    from tuidash.core.search import SearchSpec
    from tuidash.services.workflows import TrainRequest

__all__ = [
    "CANCEL_GRACE_SECONDS",
    "NO_LOG",
    "QUEUE_POLL_SECONDS",
    "JobError",
    "JobNotFound",
    "JobRecord",
    "JobUpdate",
    "JobWatcher",
    "Jobs",
    "ProgressEvent",
    "request_document",
    "request_from_document",
    "run_job",
]

_log = logging.getLogger(__name__)

CANCEL_GRACE_SECONDS = 1.5
"""After SIGTERM, a job's process group gets this long before SIGKILL (unless saving)."""
SAVE_GRACE_SECONDS = 120.0
"""A job that is saving when cancelled may finish its save for this long."""
_children: dict[int, subprocess.Popen[bytes]] = {}
"""Job processes this process started: reaped, so a dead one is never a zombie here."""


def _reap() -> None:
    for pid, child in list(_children.items()):
        if child.poll() is not None:
            _children.pop(pid, None)


# --------------------------------------------------------------------------- watching


@dataclass
class JobUpdate:
    """What a ``JobWatcher.poll()`` found: the record and what is new since the last poll."""

    record: JobRecord
    events: list[ProgressEvent] = field(default_factory=list)
    """Progress reports (and heartbeats) written since the last poll, oldest first."""
    progress: ProgressEvent | None = None
    """The latest progress report so far (fraction 0..1 and its text), or None yet."""
    result: dict[str, Any] | None = None
    """Once finished: ``result.json`` ({summary, metadata}), else None."""

    @property
    def done(self) -> bool:
        """The job is in a final state; polling it again changes nothing."""
        return self.record.ended


class JobWatcher:
    """Follows one job: each ``poll()`` reads the record and the new progress lines."""

    def __init__(self, files: JobFiles, job_id: str) -> None:
        self.files = files
        self.job_id = job_id
        """The job followed."""
        self.offset = 0
        """Bytes of the progress file read so far."""
        self.progress: ProgressEvent | None = None
        """The latest progress report seen."""

    def poll(self) -> JobUpdate:
        """The job's record (reconciled) and what it reported since the last poll; a few
        small file reads, never blocks (call it from a timer or a thread)."""
        _reap()
        record = records.reconcile(self.files, self.files.read_record(self.job_id))
        events, self.offset = self.files.read_progress(self.job_id, self.offset)
        latest = records.latest_progress(events)
        if latest is not None:
            self.progress = latest
        result = None
        if record.state == FINISHED:
            result = self.files.read_json(self.job_id, RESULT_FILE)
        return JobUpdate(record, events, self.progress, result)


# --------------------------------------------------------------------------- the service


class Jobs:
    """The jobs of one store: start, list, follow, cancel and clean them."""

    def __init__(
        self,
        store: str | os.PathLike[str],
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        """``store``: a folder (``Path`` or text) or a URL (``"s3://bucket/prefix"``);
        ``storage_options``: the fsspec options of a URL (None: ``TUIDASH_STORAGE_OPTIONS``
        of this process), kept in memory and handed to job processes in their environment."""
        self.files = JobFiles(store)
        """The job files (``STORE/jobs``, or this machine's folder for a store URL)."""
        self.storage_options = dict(storage_options) if storage_options is not None else None
        """The options given, or None for those of this process's environment."""

    @property
    def store_dir(self) -> Path | str:
        """The store: its folder (``Path``) or its URL (text)."""
        return self.files.store_dir

    def _options(self) -> dict[str, Any]:
        from tuidash.core.settings import storage_options

        return self.storage_options if self.storage_options is not None else storage_options()

    # ----- reading

    def list_jobs(self) -> list[JobRecord]:
        """Every job, newest first, reconciled (a dead process's job reads "interrupted")."""
        _reap()
        return records.list_records(self.files)

    def active(self) -> list[JobRecord]:
        """The queued and running jobs (to re-attach to at start), newest first."""
        return [record for record in self.list_jobs() if record.active]

    def get(self, job_id: str) -> JobRecord:
        """One job, reconciled; ``job_id`` may be a unique prefix (``JobNotFound`` if not)."""
        _reap()
        return records.reconcile(self.files, self.files.read_record(self.resolve(job_id)))

    def resolve(self, text: str) -> str:
        """The id a full id or a unique prefix names; ``JobNotFound`` says why not."""
        ids = self.files.ids()
        if text in ids:
            return text
        found = [job_id for job_id in ids if job_id.startswith(text)] if text else []
        if len(found) == 1:
            return found[0]
        if found:
            raise JobNotFound(f"{text!r} names {len(found)} jobs; give more of the id.")
        raise JobNotFound(f"No job {text!r} in {self.store_dir}; see `tuidash jobs list`.")

    def progress(self, job_id: str) -> ProgressEvent | None:
        """A job's latest progress report (fraction and text), or None yet: for lists."""
        return self.files.last_progress(self.resolve(job_id))

    def attach(self, job_id: str) -> JobWatcher:
        """A watcher of one job (its ``poll()`` gives the state, progress and result)."""
        return JobWatcher(self.files, self.resolve(job_id))

    def result(self, job_id: str) -> dict[str, Any] | None:
        """A finished job's ``result.json``: {summary, metadata} (None before it finished)."""
        return self.files.read_json(self.resolve(job_id), RESULT_FILE)

    def log_path(self, job_id: str) -> Path:
        """The job's log file."""
        return self.files.path(self.resolve(job_id), LOG_FILE)

    def read_log(self, job_id: str, offset: int = 0) -> tuple[str, int]:
        """The log from byte ``offset`` on, and the offset after it."""
        return self.files.read_log(self.resolve(job_id), offset)

    # ----- settings

    @property
    def max_running(self) -> int:
        """How many jobs of this store train at once (the others wait as queued)."""
        return self.files.max_running()

    def set_max_running(self, count: int) -> None:
        """Set how many jobs of this store train at once (1 or more); queued jobs see it."""
        self.files.set_max_running(count)

    # ----- starting

    def start(
        self,
        request: TrainRequest,
        *,
        snapshot: bool = False,
        check_name: bool = True,
        search: SearchSpec | None = None,
        cluster: str | None = None,
    ) -> JobRecord:
        """Check the request, record a queued job and start its process; returns at once.

        The data: a request's ``source`` (a file or ``sample``) is read by the job; loaded
        data that came from a file is re-read there (its sha256 is checked, so the job trains
        on the very bytes that were loaded); other data (a frame, or ``snapshot=True``) is
        written to the job's folder as Parquet. Refusals (kind, parameters, settings, the
        name) are ``TuidashError``s raised here, before any job exists.

        ``search``: the job searches the parameters (``services.search``) and saves the best,
        refitted, with its search record; ``cluster``: a Dask scheduler's address to run the
        fits on (a search's, or a plain training's trees). Both are kept in the record's
        ``request`` as plain JSON (``search``, ``cluster``).
        """
        from tuidash.services import search as searching
        from tuidash.services import workflows

        if search is not None:
            searching.check_search(request, search)
        else:
            workflows.check_request(request)
        if check_name:
            from tuidash.core.store import ModelStore
            from tuidash.core.store.remote import open_backend

            backend = open_backend(self.store_dir, self._options())
            workflows.name_for(ModelStore(self.store_dir, backend=backend), request)
        data, frame = _data_reference(request, snapshot)
        document = request_document(request)
        if data.get("source") is not None:
            document["source"] = data["source"]
            document["encoding"] = data.get("encoding")
        if search is not None:
            document["search"] = searching.spec_document(search)
        if cluster is not None:
            document["cluster"] = cluster
        now = time.time()
        record = JobRecord(
            id=records.new_job_id(now),
            state=QUEUED,
            what=_what(request, data, search, cluster),
            request=document,
            data=data,
            store=str(self.store_dir),
            host=records.this_host(),
            created_at=now,
        )

        def fill(folder: Path) -> None:
            if frame is not None:
                _write_snapshot(frame, folder / DATA_FILE)

        self.files.create(record, fill)
        try:
            child = _spawn(self.files, record.id, self._options())
        except BaseException:
            self.files.remove(record.id)
            raise
        _children[child.pid] = child

        def started(current: JobRecord) -> JobRecord:
            current.pid, current.pgid = child.pid, child.pid
            return current

        record = records.update(self.files, record.id, started)
        _log.info("job %s started (pid %d): %s", record.id, child.pid, record.what)
        return record

    # ----- cancelling and cleaning

    def cancel(self, job_id: str) -> JobRecord:
        """Stop a job and record "cancelled"; its record as it ends up (a job that had already
        ended, or finished its save meanwhile, keeps its own end). Within about two seconds
        for a job of this machine; a job of another machine stops at its next heartbeat."""
        job_id = self.resolve(job_id)
        record = self.get(job_id)
        if record.ended:
            return record

        def ask(current: JobRecord) -> JobRecord:
            current.cancel_requested = True
            return current

        record = records.update(self.files, job_id, ask)
        if record.ended:
            return record
        if record.host != records.this_host():
            return record  # its own process sees the request at its next heartbeat
        if record.pid is not None and records.process_alive(record.pid, job_id):
            _stop(self.files, record)
        return records.finish(self.files, job_id, CANCELLED, message=records.CANCELLED_MESSAGE)

    def clean(self, older_than_days: float | None = None) -> list[str]:
        """Remove ended jobs (those that ended more than ``older_than_days`` days ago, if
        given); queued and running jobs are never removed. The ids removed."""
        removed = []
        for record in self.list_jobs():
            if not record.ended:
                continue
            if older_than_days is not None and not records.older_than(record, older_than_days):
                continue
            self.files.remove(record.id)
            removed.append(record.id)
        return removed


def _stop(files: JobFiles, record: JobRecord) -> None:
    """SIGTERM the job's process group, then SIGKILL it if it is still there after the grace
    (longer while it saves: a save is finished, never cut)."""
    pid = record.pid
    assert pid is not None
    group = record.pgid or pid
    if group <= 1 or group == os.getpgrp():
        return  # never our own group
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + CANCEL_GRACE_SECONDS
    killed = False
    while records.process_alive(pid, record.id):
        _reap()
        if time.monotonic() >= deadline and not killed:
            current = files.read_record(record.id)
            if current.phase == "saving" and time.monotonic() < deadline + SAVE_GRACE_SECONDS:
                time.sleep(0.05)
                continue
            _signal_group(group, signal.SIGKILL)
            killed = True
        time.sleep(0.02)
    _reap()


def _signal_group(group: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, number)


def _data_reference(request: TrainRequest, snapshot: bool) -> tuple[dict[str, Any], Any | None]:
    """Where the job finds its data, and a frame to write as a snapshot (or None)."""
    from tuidash.services import workflows

    data = request.data
    if data is None:
        if request.source is None:
            from tuidash.core.errors import TrainingError

            raise TrainingError("Choose the data to train on (a data file or the sample).")
        if workflows.is_sample(request.source):
            return {"source": "sample", "sha256": None, "encoding": None, "snapshot": False}, None
        source = os.path.abspath(os.fspath(request.source))
        return {
            "source": source,
            "sha256": None,
            "encoding": request.encoding,
            "snapshot": False,
        }, None
    from tuidash.core.data import SAMPLE_SOURCE, LoadedData

    if isinstance(data, LoadedData):
        if not snapshot and data.source == SAMPLE_SOURCE:
            return {"source": "sample", "sha256": None, "encoding": None, "snapshot": False}, None
        if not snapshot and data.sha256 and os.path.isfile(data.source):
            return {
                "source": os.path.abspath(data.source),
                "sha256": data.sha256,
                "encoding": data.encoding,
                "snapshot": False,
            }, None
        return {
            "source": data.source,
            "sha256": data.sha256,
            "encoding": data.encoding,
            "format": data.format,
            "snapshot": True,
        }, data.frame
    return {"source": None, "sha256": None, "encoding": None, "snapshot": True}, data


def _write_snapshot(frame: Any, path: Path) -> None:
    try:
        frame.to_parquet(path)
    except Exception as error:
        raise JobError(
            f"This data cannot be handed to a training job ({type(error).__name__}: {error}); "
            "save it as a file and train on the file."
        ) from None


def _what(
    request: TrainRequest,
    data: Mapping[str, Any],
    search: SearchSpec | None = None,
    cluster: str | None = None,
) -> str:
    """ "Random Forest on houses.csv (target price)", "Random search of Random Forest (40
    candidates × 5 folds) as 'RF' on x.csv (target y)": one line for lists."""
    from tuidash.core.catalog import display_name_of

    # The request's task first, then every task: a classification-only kind
    # ("logistic_regression") is not in the regression catalog and was shown by its id.
    kind = display_name_of(request.kind, request.task)
    source = data.get("source")
    if source in (None, ""):
        shown = "the dashboard's data"
    elif source == "sample" or str(source).startswith("sample:"):
        shown = "the diabetes sample"
    else:
        shown = Path(str(source)).name
    named = f" as {request.name!r}" if request.name else ""
    if search is not None:
        if search.method == "random":
            tries = f"{search.n_iter} candidates × {search.cv} folds"
        else:
            tries = f"every combination × {search.cv} folds"
        kind = f"{search.method.capitalize()} search of {kind} ({tries})"
    where = f" on the cluster {cluster}" if cluster else ""
    return f"{kind}{named} on {shown} (target {request.target}){where}"


def _spawn(
    files: JobFiles, job_id: str, options: Mapping[str, Any] | None = None
) -> subprocess.Popen[bytes]:
    """Start the job's process in a new session, its output going to the job's log; the
    storage options of a store URL go to it in its environment, never to a file."""
    import json

    import tuidash
    from tuidash.core.settings import STORAGE_OPTIONS_ENV

    package_root = str(Path(tuidash.__file__).resolve().parents[1])
    env = dict(os.environ)
    # The job runs the very code that started it (a source checkout or the installed one).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    if options:
        env[STORAGE_OPTIONS_ENV] = json.dumps(dict(options))
    else:
        env.pop(STORAGE_OPTIONS_ENV, None)
    from tuidash.core import logs

    # The tuidash log at the starting process's level (none if it keeps no log).
    setup = logs.current()
    level = setup.level if setup is not None else NO_LOG
    log_fd = os.open(files.path(job_id, LOG_FILE), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tuidash.services.jobs",
                "run",
                str(files.store_dir),
                job_id,
                level,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            cwd=str(files.root if files.remote else files.store_dir),
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(log_fd)


def _main(argv: list[str]) -> int:
    if len(argv) not in (3, 4) or argv[0] != "run":
        print("usage: python -m tuidash.services.jobs run STORE JOB_ID [LEVEL]", file=sys.stderr)
        return 2
    return run_job(*argv[1:])


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
