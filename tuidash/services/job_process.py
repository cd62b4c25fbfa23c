"""The body of a job process (``python -m tuidash.services.jobs run STORE ID LEVEL``): wait
for a slot, train (or search) and save, report progress and a heartbeat, honour a cancel,
write the end state.

``Jobs`` (``services.jobs``) records a job and starts this process; the two share the
request's JSON (``request_document`` writes it, ``request_from_document`` reads it back).
The process runs ``workflows.train_and_save`` (or ``services.search``), the same path as
the app and the CLI: it appends progress and heartbeat lines to the job's progress file,
answers SIGTERM by stopping at once (except while saving: a save is finished, never cut),
honours a cancel asked for on another machine through the heartbeat, and writes its end
state to ``job.json`` and its summary to ``result.json``. The record format is
``tuidash.core.jobs``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from tuidash.core import jobs as records
from tuidash.core.errors import TuidashError
from tuidash.core.jobs import (
    CANCELLED,
    DATA_FILE,
    FAILED,
    FINISHED,
    QUEUED,
    RESULT_FILE,
    RUNNING,
    JobError,
    JobFiles,
    JobRecord,
)

if TYPE_CHECKING:
    from tuidash.services.search import SearchOutcome
    from tuidash.services.workflows import TrainOutcome, TrainRequest

# The job's log lines keep the name they always had (``services.jobs``).
_log = logging.getLogger("tuidash.services.jobs")

NO_LOG = "off"
"""The log level argument of a job process that writes no tuidash log file."""
QUEUE_POLL_SECONDS = 0.5
"""How often a queued job's process looks for a free slot."""

_STEP_NUMBERS = re.compile(r"\d[\d,.]*")


# --------------------------------------------------------------------------- requests


def request_document(request: TrainRequest) -> dict[str, Any]:
    """A training request as JSON (every field but the loaded data), for the job record."""
    from tuidash.core.jsonsafe import plain_json

    document: dict[str, Any] = {}
    for item in dataclasses.fields(request):
        if item.name == "data":
            continue
        value = getattr(request, item.name)
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        document[item.name] = plain_json(value)
    return document


def request_from_document(document: Mapping[str, Any]) -> TrainRequest:
    """The training request of a job record (fields a later version added are ignored)."""
    from tuidash.services.workflows import TrainRequest

    names = {item.name for item in dataclasses.fields(TrainRequest)}
    return TrainRequest(**{k: v for k, v in document.items() if k in names and k != "data"})


# --------------------------------------------------------------------------- the job process


class _Runner:
    """The job process: wait for a slot, train and save, report, write the end state."""

    def __init__(self, files: JobFiles, job_id: str) -> None:
        self.files = files
        self.job_id = job_id
        self.phase_lock = threading.Lock()
        """Held while deciding between "saving" and "cancelling themselves": never both."""
        self.saving = False
        self.stop_beating = threading.Event()
        self.term_deferred = False
        self.last_write = 0.0
        self.last_text: str | None = None
        self.logged: tuple[str, int] = ("", -1)
        """The step and tenth of the way last written to the log."""

    # ----- progress and heartbeat

    def progress(self, fraction: float, text: str) -> None:
        now = time.time()
        step, tenth = _STEP_NUMBERS.sub("#", text), int(float(fraction) * 10)
        if (step, tenth) != self.logged:  # the log (jobs logs -f) gets a line per step/10%
            self.logged = (step, tenth)
            _log.info("job %s: %d%% %s", self.job_id, round(float(fraction) * 100), text)
        if now - self.last_write < records.PROGRESS_MIN_SECONDS and text == self.last_text:
            return
        self.last_write, self.last_text = now, text
        self.files.append_progress(
            self.job_id, {"time": now, "fraction": round(float(fraction), 4), "text": text}
        )

    def beat(self) -> None:
        """Heartbeat lines, and a cancel asked for on another machine (NFS) honoured."""
        while not self.stop_beating.wait(records.HEARTBEAT_SECONDS):
            try:
                self.files.append_progress(self.job_id, {"time": time.time(), "heartbeat": True})
                record = self.files.read_record(self.job_id)
            except (OSError, TuidashError):
                continue
            if record.cancel_requested and not record.ended:
                self.cancel_myself()

    def cancel_myself(self) -> None:
        with self.phase_lock:
            if self.saving:
                return  # too late: the save finishes and the job says so
            records.finish(self.files, self.job_id, CANCELLED, message=records.CANCELLED_MESSAGE)
            _log.info("job %s cancelled", self.job_id)
            logging.shutdown()
            os.killpg(os.getpgrp(), signal.SIGKILL)

    def set_phase(self, phase: str) -> None:
        def change(record: JobRecord) -> JobRecord:
            record.phase = phase
            return record

        records.update(self.files, self.job_id, change)

    def before_save(self, name: str) -> None:
        """From here to the end state SIGTERM waits: a save is finished, never cut."""
        with self.phase_lock:
            signal.signal(signal.SIGTERM, self._defer_term)
            self.saving = True
        self.set_phase("saving")
        _log.info("job %s: saving as %r", self.job_id, name)

    def _defer_term(self, number: int, frame: FrameType | None) -> None:
        self.term_deferred = True

    # ----- the run

    def run(self) -> int:
        record = self.files.read_record(self.job_id)
        if record.pid != os.getpid():

            def mine(current: JobRecord) -> JobRecord:
                current.pid, current.pgid = os.getpid(), os.getpgrp()
                return current

            record = records.update(self.files, self.job_id, mine)
        threading.Thread(target=self.beat, name="tuidash-heartbeat", daemon=True).start()
        _log.info("job %s (%s) in %s", self.job_id, record.what, record.store)
        said_waiting = False
        while True:
            state = records.claim_slot(self.files, self.job_id)
            if state == RUNNING:
                break
            if state != QUEUED:
                _log.info("job %s: %s before it started", self.job_id, state)
                return 0
            if not said_waiting:
                _log.info("job %s: queued until a running job ends", self.job_id)
                self.progress(0.0, "Queued: waiting for a running job to end")
                said_waiting = True
            time.sleep(QUEUE_POLL_SECONDS)
        try:
            outcome = self.train(record)
        except BaseException as error:
            return self.failed(error)
        return self.finished(outcome)

    def train(self, record: JobRecord) -> TrainOutcome | SearchOutcome:
        from tuidash.core.store import ModelStore
        from tuidash.services import workflows

        request = request_from_document(record.request)
        self.progress(0.0, "Reading the data")
        request.data = _read_data(self.files, record)
        self.set_phase("training")
        searched = record.request.get("search")
        cluster = record.request.get("cluster")
        if searched is not None or cluster is not None:
            from tuidash.services import search as searching

            store = ModelStore(record.store)
            data = request.data
            if searched is not None:
                return searching.search_and_save(
                    store,
                    request,
                    searching.spec_from_document(searched),
                    cluster=cluster,
                    progress=self.progress,
                    before_save=self.before_save,
                    data=data,
                )
            return searching.train_on_cluster_and_save(
                store,
                request,
                str(cluster),
                progress=self.progress,
                before_save=self.before_save,
                data=data,
            )
        return workflows.train_and_save(
            ModelStore(record.store),
            request,
            progress=self.progress,
            before_save=self.before_save,
        )

    def finished(self, outcome: TrainOutcome | SearchOutcome) -> int:
        saved = outcome.saved
        summary = _summary(outcome)
        summary["job"] = self.job_id
        metadata = {k: v for k, v in outcome.trained.to_model_data().items() if k != "model"}
        try:
            self.files.write_json(
                self.job_id, RESULT_FILE, {"summary": summary, "metadata": metadata}
            )
        except (OSError, ValueError) as error:
            _log.warning("job %s: the result file could not be written: %s", self.job_id, error)
        if saved.version > 1:
            message = f"Saved as {saved.name!r}, version {saved.version}."
        else:
            message = f"Saved as {saved.name!r}."
        self.progress(1.0, "Saved")
        records.finish(
            self.files,
            self.job_id,
            FINISHED,
            message=message,
            saved=[{"name": saved.name, "version": saved.version}],
        )
        _log.info("job %s finished: %s", self.job_id, message)
        self.end()
        return 0

    def failed(self, error: BaseException) -> int:
        from tuidash.core.progress import TrainingCancelled

        if isinstance(error, TrainingCancelled):
            records.finish(self.files, self.job_id, CANCELLED, message=str(error))
            self.end()
            return 0
        if isinstance(error, TuidashError):
            text = error.message
            _log.warning("job %s failed: %s", self.job_id, text)
        else:
            text = f"unexpected error ({type(error).__name__}): {error}"
            _log.error("job %s failed: %s", self.job_id, text, exc_info=error)
        records.finish(
            self.files,
            self.job_id,
            FAILED,
            error=" ".join(text.split()),
            error_type=type(error).__name__,
            error_hint=getattr(error, "suggestion", None),
        )
        self.end()
        return 1

    def end(self) -> None:
        self.stop_beating.set()
        snapshot = self.files.path(self.job_id, DATA_FILE)
        snapshot.unlink(missing_ok=True)


def _read_data(files: JobFiles, record: JobRecord) -> Any:
    """The data of a job: its snapshot, the sample, or its file (the same bytes as loaded)."""
    from tuidash.core.errors import DataError
    from tuidash.services import workflows

    data = record.data
    if data.get("snapshot"):
        import pandas as pd

        frame = pd.read_parquet(files.path(record.id, DATA_FILE))
        if data.get("source"):
            from tuidash.core.data import LoadedData

            return LoadedData(
                frame=frame,
                source=str(data["source"]),
                sha256=data.get("sha256"),
                format=str(data.get("format") or "parquet"),
                encoding=data.get("encoding"),
            )
        return frame
    source = data.get("source")
    if source == "sample":
        return workflows.load_source("sample")
    loaded = workflows.load_source(str(source), data.get("encoding"))
    expected = data.get("sha256")
    if expected and loaded.sha256 != expected:
        raise DataError(
            f"{source} changed after the training was started; start the training again."
        )
    return loaded


def _summary(outcome: TrainOutcome | SearchOutcome) -> dict[str, Any]:
    """What a finished job reports (the keys of ``tuidash train --json``)."""
    from tuidash.core.jsonsafe import plain_json

    trained, saved = outcome.trained, outcome.saved
    info = dict(trained.data_info or {})
    features = [f.get("name") if isinstance(f, dict) else str(f) for f in info.get("features", [])]
    test_rows = len(trained.y_test) if trained.y_test is not None else None
    rows = info.get("rows")
    train_rows = rows - test_rows if isinstance(rows, int) and test_rows is not None else None
    summary = {
        "name": saved.name,
        "model_type": trained.kind_id,
        "display_name": trained.display_name,
        "target": trained.target,
        "features": features,
        "rows": rows,
        "train_rows": train_rows,
        "test_rows": test_rows,
        "params": trained.params,
        "metrics": dict(trained.metrics.values),
        "metric_reasons": dict(trained.metrics.reasons),
        "task": getattr(trained, "task", "regression"),
        "task_reason": getattr(trained, "task_reason", "") or None,
        "classes": getattr(trained, "classes", None),
        "cv": trained.cv,
        "train_seconds": trained.train_seconds,
        "replaced": saved.replaced,
        "version": saved.version,
        "message": saved.message,
        "notes": [str(n) for n in trained.notes or []],
    }
    from tuidash.services.search import search_summary

    summary["search"] = search_summary(getattr(trained, "search", None))
    summary["cluster"] = getattr(outcome, "cluster", None)
    result: dict[str, Any] = plain_json(summary)
    return result


def run_job(store_dir: str | os.PathLike[str], job_id: str, log_level: str = NO_LOG) -> int:
    """The body of a job process (``python -m tuidash.services.jobs run STORE ID LEVEL``):
    its own log is the job's ``log`` (stderr); ``log_level`` is that of the tuidash log
    file (``off``: none), as the process that started it had it."""
    # Its own session has no terminal; a stray SIGHUP or SIGINT is not a cancel.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # stopped outright, even inside a fit
    from tuidash.core.logs import FORMAT

    logging.basicConfig(level=logging.INFO, format=FORMAT, stream=sys.stderr)
    from tuidash.core import logs

    if log_level in logs.LEVELS:
        # The trainings of jobs are in the tuidash log too, at the level it was asked for;
        # the job's own log keeps every info line.
        logs.setup_logging(log_level)
        logger = logging.getLogger(logs.LOGGER_NAME)
        for handler in logger.handlers:
            handler.setLevel(logs.LEVELS[log_level])
        logger.setLevel(min(logging.INFO, logs.LEVELS[log_level]))
    files = JobFiles(store_dir)
    try:
        return _Runner(files, job_id).run()
    except JobError as error:
        _log.error("job %s: %s", job_id, error.message)
        return 1
