"""``tuidash predict NAME DATA``: predict with a saved model on a data file.

The work is ``tuidash.services.workflows.predict_to_file``; this module reads the options
and reports. JSON document (every key is always present): model, data, rows, output (path
or null), column, predictions [numbers, or class labels for a classifier], probabilities
{class: [numbers]} (a classifier's probability of each class per row; {} otherwise),
notes [str].
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from tuidash.cli.common import (
    DATA_HELP,
    CommandError,
    encoding_hint,
    find_ref,
    open_store,
    print_json,
    store_dir,
    subcommand,
)

NAME = "predict"
"""The command's name."""

_log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add ``predict`` and its options."""
    predict = subcommand(
        subparsers,
        NAME,
        "predict with a saved model on a data file",
        "examples:\n  tuidash predict 'Random Forest' new.csv -o predictions.csv\n"
        "  tuidash predict 'Random Forest' new.csv > predictions.csv\n"
        "  tuidash predict Ridge sample --json\n"
        "  tuidash predict 'Random Forest@champion' new.csv   (a version: NAME@v2, NAME@ALIAS)\n\n"
        "DATA must have the model's feature columns (missing ones are named); the output\n"
        "is the input rows plus a `prediction` column, as CSV on stdout or in OUT.csv.\n"
        "An existing OUT.csv is kept unless --overwrite; the DATA file never is replaced.\n"
        "A classifier predicts a class and, when it has probabilities, adds one column per\n"
        "class: probability_<class>.\n"
        "With --json, stdout gets one JSON document instead: {model, data, rows, output,\n"
        "column, predictions, probabilities, notes}.",
        run,
        model_name=True,
    )
    predict.add_argument("data", metavar="DATA", help=DATA_HELP)
    predict.add_argument(
        "-o", "--output", metavar="OUT.csv", help="write the CSV here (a new file)"
    )
    predict.add_argument(
        "--overwrite",
        action="store_true",
        help="replace OUT.csv if it exists (never the DATA file itself)",
    )
    predict.add_argument(
        "--encoding", metavar="ENC", help="text encoding of a CSV (default: guess)"
    )


def run(args: argparse.Namespace) -> int:
    """Load the model, predict, write the CSV (file or stdout) and report."""
    from tuidash.core.data import SAMPLE_SOURCE
    from tuidash.services import workflows

    if args.output is not None:
        check_output(args.data, Path(args.output).expanduser(), overwrite=args.overwrite)
    store = open_store(args, create=False)
    find_ref(store, args.name, store_dir(args))
    assert store is not None
    with encoding_hint():
        outcome = workflows.predict_to_file(
            store, args.name, args.data, args.output, encoding=args.encoding
        )
    _log.info("loaded model %r from %s to predict", args.name, store.base_dir)
    result, output = outcome.prediction, outcome.output
    if output is None and not args.json:
        result.frame.to_csv(sys.stdout, index=False)
        sys.stdout.flush()
    for note in result.notes:
        print(f"tuidash: note: {note}", file=sys.stderr)
    if args.json:
        from_sample = workflows.is_sample(args.data)
        print_json(
            {
                "model": args.name,
                "data": SAMPLE_SOURCE if from_sample else str(Path(args.data).absolute()),
                "rows": result.rows,
                "output": str(output) if output else None,
                "column": result.column,
                "predictions": result.values(),
                "probabilities": result.probabilities(),
                "notes": result.notes,
            }
        )
    elif output is not None:
        print(f"Wrote {result.rows} predictions to {output}.")
    _log.info(
        "predicted %d rows with %r%s", result.rows, args.name, f" into {output}" if output else ""
    )
    return 0


def check_output(data: str, output: Path, *, overwrite: bool) -> None:
    """Refuse an ``-o`` file that exists (unless ``overwrite``) or that is the data file."""
    if not output.exists() or output.is_dir():  # a folder: the writer names the problem
        return
    try:
        same = output.samefile(Path(data).expanduser())
    except OSError:  # no such data file (``sample``) or unreadable
        same = False
    if same:
        raise CommandError(f"{output} is the data being predicted; choose another output file.")
    if not overwrite:
        raise CommandError(
            f"{output} already exists; pass --overwrite to replace it, or choose another "
            "output file."
        )
