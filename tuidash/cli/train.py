"""``tuidash train``: train a model on a data file and save it in the store.

The work is ``tuidash.services.workflows.train_and_save``; this module reads the options,
prints progress on a terminal and reports. JSON document (every key is always present):
name, model_type, display_name, store, target, features, rows, train_rows, test_rows,
params, metrics {MAE, MSE, RMSE, MAPE, R2: number|null} (classification: {Accuracy,
Balanced accuracy, Precision/Recall/F1 macro and weighted, ROC AUC, Log loss}),
metric_reasons {metric: why it is null}, task (regression|classification), task_reason
(why), classes (the classes, or null for regression), cv (null or {folds, metric,
splitter, scores, mean, std}), train_seconds, replaced (bool: the name was taken and this
is a new version of it), version (this save's number), versions (how many the name has
now), message (the store's sentence), notes [str] (also printed on stderr), job (the id of
the job that trained it).

Every training runs as a job (``tuidash.services.jobs``): a process in its own session, so
closing the terminal or losing the SSH link does not stop it. Without ``--detach`` the
command follows the job and reports as above (Ctrl-C cancels the job); with ``--detach`` it
prints the job id (``--json``: {job, state, what, store}) and returns at once.

``--name X`` on a taken name saves a new version of X (the earlier one stays as ``X@vN``);
``--replace`` is still accepted so that older scripts run, and changes nothing.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

from tuidash.cli import train_search
from tuidash.cli.common import (
    DATA_HELP,
    METRIC_ORDER,
    CommandError,
    encoding_hint,
    key_value,
    metrics_table,
    number_in,
    open_store,
    print_json,
    shell_word,
    subcommand,
    whole_in,
)
from tuidash.core.text import duration_text, number_text

NAME = "train"
"""The command's name."""

FOLLOW_SECONDS = 0.2
"""How often an attached ``tuidash train`` looks at its job."""

_log = logging.getLogger(__name__)


def _kinds_epilog() -> str:
    from tuidash.core.catalog import CATALOGS

    lines = []
    for task, kinds in CATALOGS.items():
        lines.append(f"{task} kinds and their --param names:")
        for kind in kinds.values():
            params = ", ".join(p.name for p in kind.params) or "-"
            lines.append(f"  {kind.id:<20} {params}")
    return "\n".join(lines)


def register(subparsers: Any) -> None:
    """Add ``train`` and its options."""
    train = subcommand(
        subparsers,
        NAME,
        "train a model on a data file and save it in the store",
        "example:\n"
        "  tuidash train houses.csv --target price --model random_forest \\\n"
        "      --param n_estimators=200 --name 'RF 200' --cv 5\n"
        "  tuidash train sample --target target --model ridge --json\n"
        "  tuidash train iris.csv --target species --model logistic_regression\n\n"
        "--task auto (the default) follows the target: text, true/false and whole numbers\n"
        "with few values (2 to 10) are classification, other numbers regression; the note\n"
        "says which and why. --task regression|classification chooses it.\n\n"
        "Progress goes to stderr when it is a terminal; the metrics are printed at the end\n"
        "(a metric that cannot be computed shows as `undefined (reason)`, null in JSON).\n"
        "JSON fields: name, model_type, display_name, store, target, features, rows,\n"
        "train_rows, test_rows, params, metrics, metric_reasons, task, task_reason, classes,\n"
        "cv, train_seconds, replaced, version, versions, message, notes, job.\n\n"
        "The training runs as a job that goes on if the terminal closes: without --detach\n"
        "the command follows it (Ctrl-C cancels it); --detach prints the job id and returns\n"
        "(see `tuidash jobs list`, `tuidash jobs logs ID -f`).\n\n"
        "--name X on a taken name saves a new version of X (the earlier one stays as X@vN).\n\n"
        + train_search.EXAMPLES
        + "\n"
        + _kinds_epilog(),
        run,
    )
    train.add_argument("data", metavar="DATA", help=DATA_HELP)
    train.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    train.add_argument("--model", required=True, metavar="KIND", help="a model kind (see below)")
    train.add_argument(
        "--task",
        choices=("auto", "regression", "classification"),
        default="auto",
        help="predict a number or a class; auto (default) follows the target's values",
    )
    train.add_argument("--name", help="the name to save it under (default: the kind's name)")
    train.add_argument(
        "--param",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help="a model parameter; repeat for several",
    )
    train.add_argument(
        "--features", metavar="A,B,C", help="comma-separated feature columns (default: all others)"
    )
    train.add_argument(
        "--test-size",
        type=number_in(0.1, 0.4),
        default=0.2,
        metavar="F",
        help="share of rows held out for the metrics, 0.1 to 0.4 (default 0.2)",
    )
    train.add_argument(
        "--random-state",
        type=whole_in(0),
        default=42,
        metavar="N",
        help="seed of the split and model, 0 or more (default 42)",
    )
    train.add_argument(
        "--cv", type=whole_in(2, 20), metavar="K", help="also cross-validate with K folds (2 to 20)"
    )
    train.add_argument(
        "--replace",
        action="store_true",
        help="accepted for older scripts; changes nothing (a taken name gets a new version)",
    )
    train.add_argument(
        "--keep-order",
        action="store_true",
        help="test on the last rows instead of a random sample (time-ordered data)",
    )
    train.add_argument(
        "--batch-rows",
        type=whole_in(1),
        metavar="N",
        help="aggregate every N consecutive rows into one before training: feature means, text "
        "and the target from each batch's last row (for noisy high-rate logs; default: off)",
    )
    train.add_argument("--encoding", metavar="ENC", help="text encoding of a CSV (default: guess)")
    add_job_options(train)
    train_search.add_options(train)


def run(args: argparse.Namespace) -> int:
    """Train, save and report."""
    from tuidash.services import workflows

    features = None
    if args.features is not None:
        features = [f.strip() for f in args.features.split(",") if f.strip()]
        if not features:
            raise CommandError("--features needs at least one column name.")
    request = workflows.TrainRequest(
        target=args.target,
        kind=args.model,
        params=dict(args.param),
        features=features,
        source=args.data,
        encoding=args.encoding,
        test_size=args.test_size,
        random_state=args.random_state,
        keep_order=args.keep_order,
        cv_folds=args.cv,
        batch_rows=args.batch_rows,
        name=args.name,
        # A taken name gets a new version; the store keeps the earlier one (NAME@vN).
        replace=True,
        task=args.task,
    )
    if train_search.wanted(args):
        return train_search.run(args, request, _kind_name(args))
    workflows.check_request(request)
    store = open_store(args, create=True)
    assert store is not None
    summary = _train_as_job(args, store, request)
    if summary is None:
        return 0  # --detach: the job id is printed
    saved_name = str(summary["name"])
    _log.info("saved model %r in %s: %s", saved_name, store.base_dir, summary.get("message"))
    display_name = str(summary.get("display_name") or args.model)
    report = _report_of_job(summary, display_name, str(store.base_dir), args.target)
    row = next(
        (e for e in store.list_saved_models(predictions=False) if e.get("name") == saved_name), {}
    )
    version = row.get("version") or 1
    report.update(
        replaced=version > 1,
        version=version,
        versions=row.get("versions") or 1,
        message=summary.get("message"),
    )
    for note in report["notes"]:
        print(f"tuidash: note: {note}", file=sys.stderr)
    if args.json:
        print_json(report)
        return 0
    train_rows, test_rows = report["train_rows"], report["test_rows"]
    seconds = report["train_seconds"]
    took = f" in {duration_text(seconds)}" if isinstance(seconds, int | float) else ""
    split = f" ({train_rows} training rows, {test_rows} test rows)" if train_rows else ""
    shown = "the diabetes sample" if workflows.is_sample(args.data) else args.data
    task = " classifier" if report["task"] == "classification" else ""
    print(f"Trained {display_name}{task} on {shown}{split}{took}.")
    if version > 1:
        print(
            f"Saved as {saved_name!r} in {store.base_dir}: version {version}; the earlier "
            f"versions are kept (see `tuidash models versions {shell_word(saved_name)}`)."
        )
    else:
        print(f"Saved as {saved_name!r} in {store.base_dir}.")
    print()
    print(metrics_table(report["metrics"], report["metric_reasons"]))
    cv = report["cv"]
    if isinstance(cv, dict) and cv.get("mean") is not None:
        spread = f" ± {number_text(cv.get('std'))}" if cv.get("std") is not None else ""
        metric = cv.get("metric", "R2")
        print(
            f"\nCross-validation ({cv.get('folds')} folds): {metric} "
            f"{number_text(cv.get('mean'))}{spread}"
        )
    return 0


# --------------------------------------------------------------------------- as a job
# Every CLI training runs as a job (tuidash.services.jobs): a process of its own that the
# terminal's SIGHUP does not reach. These functions start it, follow it and report.


def add_job_options(parser: argparse.ArgumentParser) -> None:
    """``--detach``."""
    parser.add_argument(
        "--detach",
        action="store_true",
        help="start the training as a job, print its id and return at once "
        "(follow it with `tuidash jobs logs ID -f`, see it with `tuidash jobs list`)",
    )


def _train_as_job(
    args: argparse.Namespace,
    store: Any,
    request: Any,
    *,
    search: Any = None,
    cluster: str | None = None,
) -> dict[str, Any] | None:
    """Read the data (its problems are reported now), start the job; with ``--detach``
    print its id and return None, else follow it to its end: the summary of what it saved.
    Ctrl-C asks the job to cancel. ``search`` (a ``SearchSpec``) and ``cluster`` (a
    scheduler address) go to the job (``Jobs.start``)."""
    from tuidash.core.settings import absolute_location
    from tuidash.services import workflows
    from tuidash.services.jobs import Jobs

    store_dir = absolute_location(store.base_dir)  # a folder, or a URL (s3://…) as it is
    workflows.name_for(store, request)  # a name that cannot be used costs no data reading
    # The data is read here first: a file that cannot be read (or is not UTF-8) is refused
    # before any job exists, and the job trains on these very bytes (its sha256 is checked).
    with encoding_hint():
        request.data = workflows.request_data(request)
    jobs = Jobs(store_dir)
    record = jobs.start(request, search=search, cluster=cluster)
    _log.info("training job %s started: %s", record.id, record.what)
    if args.detach:
        if args.json:
            print_json(
                {
                    "job": record.id,
                    "state": record.state,
                    "what": record.what,
                    "store": str(store_dir),
                }
            )
        else:
            print(record.id)
        return None
    tty = sys.stderr.isatty()
    if tty:
        doing = "Searching" if search is not None else "Training"
        sys.stderr.write(
            f"{doing} as job {record.id}: Ctrl-C cancels it; it goes on if the terminal "
            "closes (`tuidash jobs list`).\n"
        )
    watcher = jobs.attach(record.id)
    try:
        update = _follow(watcher, tty)
    except KeyboardInterrupt:
        _clear_line(tty)
        ended = jobs.cancel(record.id)
        if ended.state == "finished":
            raise CommandError(
                f"The job {record.id} had already saved its model before the cancel "
                f"({ended.message}); nothing was cancelled."
            ) from None
        raise CommandError(f"Cancelled the job {record.id}; nothing was saved.") from None
    _clear_line(tty)
    return _job_summary(update)


def _follow(watcher: Any, tty: bool) -> Any:
    """Poll a job until it ends, showing its progress on a terminal; the last update."""
    while True:
        update = watcher.poll()
        if tty:
            for event in update.events:
                if not event.heartbeat and event.fraction is not None:
                    percent = max(0, min(100, round(event.fraction * 100)))
                    sys.stderr.write(f"\r\033[K[{percent:3d}%] {event.text}")
            sys.stderr.flush()
        if update.done:
            return update
        time.sleep(FOLLOW_SECONDS)


def _clear_line(tty: bool) -> None:
    if tty:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def _job_summary(update: Any) -> dict[str, Any]:
    """A finished job's summary; a failed, cancelled or interrupted one is a CommandError."""
    record = update.record
    if record.state == "finished":
        if update.result is None or "summary" not in update.result:
            raise CommandError(
                f"The job {record.id} finished ({record.message}) but its result file cannot "
                "be read; see `tuidash models list`."
            )
        summary: dict[str, Any] = update.result["summary"]
        return summary
    if record.state == "failed":
        text = record.error or f"The job {record.id} failed; see `tuidash jobs logs {record.id}`."
        if record.error_type == "DataEncodingError" and record.error_hint:
            text = f"{text} Pass --encoding {record.error_hint}."
        raise CommandError(text)
    if record.state == "cancelled":
        raise CommandError(f"The job {record.id} was cancelled; nothing was saved.")
    raise CommandError(record.error or f"The job {record.id} ended as {record.state}.")


def _report_of_job(
    summary: dict[str, Any], display_name: str, store: str, target: str
) -> dict[str, Any]:
    """The JSON document of a training (see the module docstring) from a job's summary."""
    metrics = dict(summary.get("metrics") or {})
    return {
        "name": summary.get("name"),
        "model_type": summary.get("model_type"),
        "display_name": display_name,
        "store": store,
        "target": target,
        "features": list(summary.get("features") or []),
        "rows": summary.get("rows"),
        "train_rows": summary.get("train_rows"),
        "test_rows": summary.get("test_rows"),
        "params": summary.get("params"),
        "metrics": {m: metrics.get(m) for m in _metric_order(summary)},
        "metric_reasons": dict(summary.get("metric_reasons") or {}),
        "task": summary.get("task") or "regression",
        "task_reason": summary.get("task_reason") or None,
        "classes": summary.get("classes"),
        "cv": summary.get("cv"),
        "train_seconds": summary.get("train_seconds"),
        "replaced": summary.get("replaced"),
        "version": summary.get("version"),
        "notes": [str(n) for n in summary.get("notes") or []],
        "job": summary.get("job"),
    }


def _metric_order(summary: dict[str, Any]) -> tuple[str, ...]:
    """The metrics of the model's task, in the order tables show them."""
    if summary.get("task") == "classification":
        from tuidash.core.metrics import CLASSIFICATION_METRIC_NAMES

        return CLASSIFICATION_METRIC_NAMES
    return METRIC_ORDER


def _kind_name(args: argparse.Namespace) -> str:
    """The display name of the kind asked for (of the chosen task; regression when auto)."""
    from tuidash.core.catalog import CatalogError, get_kind

    task = args.task if args.task in ("regression", "classification") else "regression"
    try:
        return get_kind(args.model, task).display_name
    except CatalogError:
        return str(args.model)
