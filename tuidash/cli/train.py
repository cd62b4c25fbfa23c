"""``tuidash train``: train a model on a data file and save it in the store.

The work is ``tuidash.services.workflows.train_and_save``; this module reads the options,
prints progress on a terminal and reports. JSON document (every key is always present):
name, model_type, display_name, store, target, features, rows, train_rows, test_rows,
params, metrics {MAE, MSE, RMSE, MAPE, R2: number|null}, metric_reasons {metric: why it is
null}, cv (null or {folds, metric, splitter, scores, mean, std}), train_seconds, replaced
(bool: the name was taken and this is a new version of it), version (this save's number),
versions (how many the name has now), message (the store's sentence), notes [str] (also
printed on stderr).

``--name X`` on a taken name saves a new version of X (the earlier one stays as ``X@vN``);
``--replace`` is still accepted so that older scripts run, and changes nothing.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Any

from tuidash.cli import train_search
from tuidash.cli.common import (
    DATA_HELP,
    METRIC_ORDER,
    CommandError,
    encoding_hint,
    key_value,
    metrics_table,
    number,
    open_store,
    print_json,
    shell_word,
    subcommand,
    whole,
)
from tuidash.core.text import duration_text, number_text

NAME = "train"
"""The command's name."""

_log = logging.getLogger(__name__)


def _kinds_epilog() -> str:
    from tuidash.core.catalog import CATALOG

    lines = ["model kinds and their --param names:"]
    for kind in CATALOG.values():
        params = ", ".join(p.name for p in kind.params) or "-"
        lines.append(f"  {kind.id:<18} {params}")
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
        "  tuidash train sample --target target --model ridge --json\n\n"
        "Progress goes to stderr when it is a terminal; the metrics are printed at the end\n"
        "(a metric that cannot be computed shows as `undefined (reason)`, null in JSON).\n"
        "JSON fields: name, model_type, display_name, store, target, features, rows,\n"
        "train_rows, test_rows, params, metrics, metric_reasons, cv, train_seconds, replaced,\n"
        "version, versions, message, notes.\n\n"
        "--name X on a taken name saves a new version of X (the earlier one stays as X@vN).\n\n"
        + train_search.EXAMPLES
        + "\n"
        + _kinds_epilog(),
        run,
    )
    train.add_argument("data", metavar="DATA", help=DATA_HELP)
    train.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    train.add_argument("--model", required=True, metavar="KIND", help="a model kind (see below)")
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
        type=number,
        default=0.2,
        metavar="F",
        help="share of rows held out for the metrics, 0.1 to 0.4 (default 0.2)",
    )
    train.add_argument(
        "--random-state",
        type=whole,
        default=42,
        metavar="N",
        help="seed of the split and model (default 42)",
    )
    train.add_argument(
        "--cv", type=whole, metavar="K", help="also cross-validate with K folds (2 to 20)"
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
        type=whole,
        metavar="N",
        help="aggregate every N consecutive rows into one before training: feature means, text "
        "and the target from each batch's last row (for noisy high-rate logs; default: off)",
    )
    train.add_argument("--encoding", metavar="ENC", help="text encoding of a CSV (default: guess)")
    train_search.add_options(train)


def run(args: argparse.Namespace) -> int:
    """Train, save and report."""
    from tuidash.core.catalog import get_kind
    from tuidash.services import workflows

    kind = get_kind(args.model)
    features = None
    if args.features is not None:
        features = [f.strip() for f in args.features.split(",") if f.strip()]
        if not features:
            raise CommandError("--features needs at least one column name.")
    request = workflows.TrainRequest(
        target=args.target,
        kind=kind.id,
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
    )
    if train_search.wanted(args):
        return train_search.run(args, request, kind.display_name)
    workflows.check_request(request)
    store = open_store(args, create=True)
    assert store is not None
    progress = _progress_printer() if sys.stderr.isatty() else None
    try:
        with encoding_hint():
            outcome = workflows.train_and_save(store, request, progress=progress)
    finally:
        if progress is not None:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
    trained, saved = outcome.trained, outcome.saved
    _log.info("saved model %r in %s: %s", saved.name, store.base_dir, saved.message)
    report = _report(trained, saved, kind.display_name, str(store.base_dir), args.target)
    row = next(
        (e for e in store.list_saved_models(predictions=False) if e.get("name") == saved.name), {}
    )
    version = row.get("version") or 1
    report.update(
        replaced=version > 1,
        version=version,
        versions=row.get("versions") or 1,
        message=saved.message,
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
    print(f"Trained {kind.display_name} on {shown}{split}{took}.")
    if version > 1:
        print(
            f"Saved as {saved.name!r} in {store.base_dir}: version {version}; the earlier "
            f"versions are kept (see `tuidash models versions {shell_word(saved.name)}`)."
        )
    else:
        print(f"Saved as {saved.name!r} in {store.base_dir}.")
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


def _report(trained: Any, saved: Any, display_name: str, store: str, target: str) -> dict[str, Any]:
    """The JSON document of a training (see the module docstring)."""
    metrics = dict(trained.metrics.values)
    info = dict(trained.data_info or {})
    feature_names = [
        f.get("name") if isinstance(f, dict) else str(f) for f in info.get("features", [])
    ]
    test_rows = len(trained.y_test) if trained.y_test is not None else None
    rows = info.get("rows")
    train_rows = rows - test_rows if isinstance(rows, int) and test_rows is not None else None
    return {
        "name": saved.name,
        "model_type": trained.kind_id,
        "display_name": display_name,
        "store": store,
        "target": target,
        "features": feature_names,
        "rows": rows,
        "train_rows": train_rows,
        "test_rows": test_rows,
        "params": trained.params,
        "metrics": {m: metrics.get(m) for m in METRIC_ORDER},
        "metric_reasons": dict(trained.metrics.reasons),
        "cv": trained.cv,
        "train_seconds": trained.train_seconds,
        "replaced": saved.replaced,
        "version": saved.version,
        "notes": [str(n) for n in trained.notes or []],
    }


def _progress_printer() -> Callable[[float, str], None]:
    def show(fraction: float, text: str) -> None:
        percent = max(0, min(100, round(float(fraction) * 100)))
        sys.stderr.write(f"\r\033[K[{percent:3d}%] {text}")
        sys.stderr.flush()

    return show
