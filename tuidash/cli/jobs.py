"""``tuidash jobs``: the training jobs of the store: list, show, logs, cancel, clean, limit.

A training runs as a job (``tuidash.services.jobs``): a process of its own that goes on
when the terminal closes. Every command here reads the records as they really are: a job
whose process died without saying so (kill -9, a reboot) is shown "interrupted"; a job of
another machine sharing the store is shown "running on HOST" and left alone.

JSON documents: ``list``: {store, max_running, jobs: [JOB]}; ``show``: JOB plus result
(the finished training's summary: name, version, metrics, metric_reasons, cv,
train_seconds, rows, notes ... or null) and log (the log file); ``cancel``: JOB;
``clean``: {removed: [id]}; ``limit``: {max_running}. JOB is {id, state, state_text, what,
kind, name, target, data, host, pid, created, started, ended (ISO UTC or null),
elapsed_seconds, phase, progress (0..1 or null), progress_text, saved [{name, version}],
message, error, cancel_requested}.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tuidash.cli.common import (
    CommandError,
    days,
    format_table,
    group_parser,
    metrics_table,
    plural,
    print_json,
    store_dir,
    subcommand,
    whole,
)
from tuidash.core.progress import duration_text

if TYPE_CHECKING:
    from tuidash.services.jobs import JobRecord, Jobs

NAME = "jobs"
"""The command's name."""

FOLLOW_SECONDS = 0.3
"""How often ``jobs logs -f`` looks for more."""


def register(subparsers: Any) -> None:
    """Add ``jobs`` and its actions."""
    jobs = group_parser(
        subparsers,
        NAME,
        "list, show, follow, cancel or clean the training jobs of the store",
        "Every training runs as a job: a process of its own that goes on when the terminal\n"
        "closes or the SSH link drops. Its record, progress and log are in STORE/jobs/ID/.\n"
        "ID may be given by a unique start of it.",
        "examples:\n  tuidash train data.csv --target y --model random_forest --detach\n"
        "  tuidash jobs list\n  tuidash jobs logs 20261130-170512-3fa2 -f\n"
        "  tuidash jobs cancel 20261130-170512\n  tuidash jobs clean --older-than 7",
    )
    actions = jobs.add_subparsers(dest="action", metavar="ACTION", required=True)
    subcommand(
        actions,
        "list",
        "list the jobs, newest first, with state, progress, elapsed time and result",
        "example:\n  tuidash jobs list --json\n\n"
        "States: queued, running, finished, failed, cancelled, interrupted (the process\n"
        "died without finishing); a job of another machine reads `running on HOST`.\n"
        "JSON: {store, max_running, jobs: [{id, state, state_text, what, kind, name, target,\n"
        "data, host, pid, created, started, ended, elapsed_seconds, phase, progress,\n"
        "progress_text, saved, message, error, cancel_requested}]}",
        _cmd_list,
    )
    show = subcommand(
        actions,
        "show",
        "show one job: what it trains, its state and progress, and its result",
        "example:\n  tuidash jobs show 20261130-170512-3fa2 --json\n\n"
        "JSON: the list fields plus result (the finished training's summary or null), log.",
        _cmd_show,
    )
    show.add_argument("id", metavar="ID")
    logs = subcommand(
        actions,
        "logs",
        "print a job's log; -f follows it until the job ends",
        "example:\n  tuidash jobs logs 20261130-170512-3fa2 -f",
        _cmd_logs,
        json_flag=False,
    )
    logs.add_argument("id", metavar="ID")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing until the job ends"
    )
    cancel = subcommand(
        actions,
        "cancel",
        "cancel a queued or running job (nothing of it is saved)",
        "example:\n  tuidash jobs cancel 20261130-170512-3fa2\n\n"
        "A running job stops within about two seconds, even inside a long fit; a job that\n"
        "is already saving its model finishes the save (the answer says so).",
        _cmd_cancel,
    )
    cancel.add_argument("id", metavar="ID")
    clean = subcommand(
        actions,
        "clean",
        "remove ended jobs (finished, failed, cancelled, interrupted) and their logs",
        "example:\n  tuidash jobs clean --older-than 7\n\n"
        "Queued and running jobs are never removed; the saved models stay.",
        _cmd_clean,
    )
    clean.add_argument(
        "--older-than",
        type=days,
        metavar="DAYS",
        help="only jobs that ended more than DAYS days ago (default: every ended job)",
    )
    limit = subcommand(
        actions,
        "limit",
        "show or set how many jobs of the store train at once (default 1)",
        "example:\n  tuidash jobs limit 2\n\n"
        "Jobs beyond the limit wait as queued and start, oldest first, when one ends.",
        _cmd_limit,
    )
    limit.add_argument("count", nargs="?", type=whole, metavar="N", help="the new limit")


# --------------------------------------------------------------------------- commands


def _service(args: argparse.Namespace) -> Jobs:
    """The jobs of the command's store (a ``--store`` that does not exist is an error)."""
    from tuidash.services.jobs import Jobs

    base = store_dir(args)
    if isinstance(base, str):
        return Jobs(base)  # a store URL: its jobs are recorded on this machine
    if not base.exists() and getattr(args, "store", None):
        raise CommandError(f"The store folder {base.absolute()} does not exist; check --store.")
    if base.exists() and not base.is_dir():
        raise CommandError(f"{base}: the store must be a folder, but it is a file.")
    return Jobs(base)


def _cmd_list(args: argparse.Namespace) -> int:
    jobs = _service(args)
    listed = jobs.list_jobs()
    documents = [job_document(jobs, record) for record in listed]
    if args.json:
        print_json(
            {"store": str(jobs.store_dir), "max_running": jobs.max_running, "jobs": documents}
        )
        return 0
    if not documents:
        print(f"No jobs in {jobs.store_dir}.")
        return 0
    rows = [
        (
            doc["id"],
            doc["state_text"],
            _percent(doc),
            duration_text(doc["elapsed_seconds"]) if doc["started"] else "-",
            doc["what"],
            _result_text(doc),
        )
        for doc in documents
    ]
    print(format_table(("ID", "State", "Done", "Elapsed", "What", "Result"), rows, right=(2, 3)))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    jobs = _service(args)
    record = jobs.get(args.id)
    document = job_document(jobs, record)
    result = jobs.result(record.id)
    summary = result.get("summary") if isinstance(result, dict) else None
    document["result"] = summary
    document["log"] = str(jobs.log_path(record.id))
    if args.json:
        print_json(document)
        return 0
    lines = [
        ("Job", document["id"]),
        ("What", document["what"]),
        ("State", document["state_text"]),
        ("Progress", f"{_percent(document)} {document['progress_text'] or ''}".strip()),
        ("Host", f"{document['host']} (pid {document['pid']})"),
        ("Created", document["created"]),
        ("Started", document["started"] or "-"),
        ("Ended", document["ended"] or "-"),
        ("Elapsed", duration_text(document["elapsed_seconds"])),
        ("Result", _result_text(document)),
        ("Log", document["log"]),
    ]
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        print(f"{key.ljust(width)}  {value}")
    if isinstance(summary, dict):
        print()
        print(metrics_table(summary.get("metrics") or {}, summary.get("metric_reasons") or {}))
    return 0


def _cmd_logs(args: argparse.Namespace) -> int:
    jobs = _service(args)
    job_id = jobs.resolve(args.id)
    offset = 0
    try:
        while True:
            # The state first: the text read after it is complete once the job has ended.
            ended = jobs.get(job_id).ended if args.follow else True
            text, offset = jobs.read_log(job_id, offset)
            if text:
                sys.stdout.write(text)
                sys.stdout.flush()
            if ended:
                return 0
            time.sleep(FOLLOW_SECONDS)
    except KeyboardInterrupt:
        return 0  # stop following; the job goes on


def _cmd_cancel(args: argparse.Namespace) -> int:
    jobs = _service(args)
    before = jobs.get(args.id)
    record = jobs.cancel(before.id)
    if args.json:
        print_json(job_document(jobs, record))
        return 0
    if before.ended:
        print(f"The job {record.id} had already ended ({record.state}); nothing to cancel.")
    elif record.state == "cancelled":
        print(f"Cancelled the job {record.id}; nothing was saved.")
    elif record.active:
        print(
            f"Asked the job {record.id} on {record.host} to cancel; it stops at its next "
            "heartbeat (see `tuidash jobs list`)."
        )
    else:
        result = _result_text(job_document(jobs, record))
        print(f"The job {record.id} ended as {record.state} before the cancel: {result}")
    return 0


def _cmd_clean(args: argparse.Namespace) -> int:
    jobs = _service(args)
    removed = jobs.clean(args.older_than)
    if args.json:
        print_json({"removed": removed})
        return 0
    print(f"Removed {plural(len(removed), 'ended job')} from {jobs.store_dir}.")
    return 0


def _cmd_limit(args: argparse.Namespace) -> int:
    jobs = _service(args)
    if args.count is not None:
        if args.count < 1:
            raise CommandError("The limit must be 1 or more jobs at once.")
        jobs.set_max_running(args.count)
    if args.json:
        print_json({"max_running": jobs.max_running})
        return 0
    print(f"{plural(jobs.max_running, 'job')} of {jobs.store_dir} train at once.")
    return 0


# --------------------------------------------------------------------------- documents


def iso(seconds: float | None) -> str | None:
    """Epoch seconds as ISO UTC text (``2026-11-30T17:05:12Z``), or None."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def job_document(jobs: Jobs, record: JobRecord) -> dict[str, Any]:
    """The JSON document of one job (see the module docstring)."""
    progress = jobs.progress(record.id)
    request = record.request
    return {
        "id": record.id,
        "state": record.state,
        "state_text": record.state_text(),
        "what": record.what,
        "kind": request.get("kind"),
        "name": request.get("name"),
        "target": request.get("target"),
        "data": record.data.get("source"),
        "host": record.host,
        "pid": record.pid,
        "created": iso(record.created_at),
        "started": iso(record.started_at),
        "ended": iso(record.ended_at),
        "elapsed_seconds": round(record.elapsed(), 3),
        "phase": record.phase,
        "progress": progress.fraction if progress is not None else None,
        "progress_text": progress.text if progress is not None else None,
        "saved": list(record.saved),
        "message": record.message,
        "error": record.error,
        "cancel_requested": record.cancel_requested,
    }


def _percent(document: dict[str, Any]) -> str:
    fraction = document.get("progress")
    if document["state"] == "finished":
        return "100%"
    if fraction is None or document["state"] == "queued":
        return "-"
    return f"{round(float(fraction) * 100)}%"


def _result_text(document: dict[str, Any]) -> str:
    return str(document.get("error") or document.get("message") or "")
