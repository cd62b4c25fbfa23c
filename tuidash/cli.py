"""Command line: argument parsing, subcommands and ``make_app()``, the one app factory.

``tuidash [DATA]`` opens the dashboard; ``tuidash train|models|predict|storage ...`` runs
headless on the same store. Only argparse and the standard library are imported here so
that ``--help`` and ``models list`` start fast; each subcommand imports what it needs.

The first word: a command name runs that command; any other word is a data file to open
when it exists or looks like a path (it has an extension or a path separator), and an
unknown command (usage error) otherwise.

The store: the dashboard, ``train`` and ``import`` create it if needed and refuse, before
anything else, one that is a file or cannot be created or written. The other commands only
read: a ``--store`` folder that does not exist is an error for them; the default store
(``./saved_models`` or ``$TUIDASH_STORE``) that does not exist yet reads as empty.

Exit codes: 0 success, 2 usage error (argparse), 1 any other failure with exactly one line
on stderr. With ``--json`` a command prints exactly one JSON document on stdout (nothing on
stdout when it fails). Set ``TUIDASH_DEBUG=1`` to see a traceback for an unexpected error.

Logs: ``main`` (and only it) turns on the rotating log file of ``tuidash.core.logs`` at
``--log-level`` (default info); saves, loads, deletions, trainings and failures (with their
tracebacks) are recorded there. A log that cannot be written costs one warning on stderr.

JSON documents (every key is always present):

- ``train``: name, model_type, display_name, store, target, features, rows, train_rows,
  test_rows, params, metrics {MAE, MSE, RMSE, MAPE, R2: number|null}, metric_reasons
  {metric: why it is null}, cv (null or {folds, metric, splitter, scores, mean, std}),
  train_seconds, replaced (bool), notes [str] (also printed on stderr).
- ``models list``: store, models [{name, model_type, task, saved_at, target, rows,
  features (count), metrics, metric_reasons, size_bytes, environment_mismatch}],
  problems [{name, kind, reason}] (entries that cannot be used; see ``storage``).
- ``models show``: the list fields plus params, data, cv, train_seconds, environment,
  feature_importance, predictions_stored, predictions_total, schema_version, files.
- ``models delete`` / ``models clear``: store, deleted [names], message.
- ``models export``: name, files [absolute paths written].
- ``models import``: name, model_type, store, metrics, metric_reasons, features, source,
  metadata (the metadata file used: ``--metadata FILE`` or the JSON beside the pickle; null).
- ``predict``: model, data, rows, output (path or null), column, predictions [numbers],
  notes [str].
- ``storage``: the store's report: base_dir, model_count, total_size_bytes, total_size_mb,
  free_bytes, models [{name, size_bytes}], problems [{name, files, reason, kind}].
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import hashlib
import itertools
import json
import logging
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuidash import __version__
from tuidash.core import logs
from tuidash.core.jsonsafe import plain_json

if TYPE_CHECKING:
    from tuidash.core.store import ModelPersistence
    from tuidash.ui.app import TuidashApp

DEFAULT_STORE = "saved_models"
"""The store folder used when neither ``--store`` nor ``TUIDASH_STORE`` is given."""

COMMANDS = ("train", "models", "predict", "storage")
"""Subcommand names; another first word is a data file if it exists or looks like a path."""

_log = logging.getLogger(__name__)

METRIC_ORDER = ("MAE", "MSE", "RMSE", "MAPE", "R2")


class CommandError(Exception):
    """A failure a person can fix; its message is the one line printed on stderr."""


def default_store_dir() -> Path:
    """The store folder: ``TUIDASH_STORE`` if set, else ``./saved_models``."""
    return Path(os.environ.get("TUIDASH_STORE") or DEFAULT_STORE)


def make_app(
    data_path: str | Path | None = None,
    store_dir: str | Path | None = None,
    *,
    autoload: bool = True,
    **options: Any,
) -> TuidashApp:
    """Build the Textual app; the ``tuidash`` command and the tests both use this."""
    from tuidash.ui.app import TuidashApp

    store = Path(store_dir) if store_dir is not None else default_store_dir()
    return TuidashApp(data_path=data_path, store_dir=store, autoload=autoload, **options)


# --------------------------------------------------------------------------- parsers

_TUI_EPILOG = """\
commands (run headless, same store; `tuidash COMMAND --help` for details):
  tuidash train DATA --target COL --model KIND   train a model and save it
  tuidash models list|show|delete|clear|export|import
  tuidash predict NAME DATA [-o OUT.csv]         predict with a saved model
  tuidash storage                                store location, sizes, problems

A first word that is not a command is the data file to open when it exists or looks
like a path (has an extension or a /, e.g. data.csv, ./runs/today); any other word is
an unknown command (exit 2).

examples:
  tuidash data.csv --store /data/models
  tuidash models list --json
"""


def _epilog() -> str:
    """The commands, the first-word rule and examples, then where the log file is."""
    return (
        f"{_TUI_EPILOG}\nlog file: {logs.log_file()}\n"
        f"  rotated at {logs.MAX_BYTES // (1024 * 1024)} MB, {logs.BACKUP_COUNT} old files kept; "
        "$TUIDASH_LOG_DIR moves it (default\n"
        "  $XDG_STATE_HOME/tuidash or ~/.local/state/tuidash); --log-level sets what it records\n"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tuidash`` command that opens the dashboard."""
    parser = argparse.ArgumentParser(
        prog="tuidash",
        usage="tuidash [DATA] [--store DIR] [--no-autoload] [--log-level LEVEL]\n"
        "       tuidash COMMAND ...",
        description="A terminal ML dashboard: open a data file, train, compare and keep models.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tuidash {__version__}")
    parser.add_argument(
        "data",
        nargs="?",
        metavar="DATA",
        help="a data file to open (CSV, TSV, Excel, Parquet, JSON); it must exist",
    )
    _add_store(parser, default=None)
    _add_log_level(parser, default=None)
    parser.add_argument(
        "--no-autoload",
        action="store_true",
        help="list saved models at start but do not load them into memory",
    )
    return parser


def _add_store(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--store",
        metavar="DIR",
        default=default,
        help="the model store folder (default: $TUIDASH_STORE, then ./saved_models)",
    )


def _add_log_level(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--log-level",
        choices=tuple(logs.LEVELS),
        default=default,
        metavar="LEVEL",
        help=f"what the log file records: {'|'.join(logs.LEVELS)} (default {logs.DEFAULT_LEVEL})",
    )


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout instead"
    )


def _sub(
    subparsers: Any, name: str, help_text: str, epilog: str, *, json_flag: bool = True
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # SUPPRESS so that `tuidash --store X models list` keeps the top-level value.
    _add_store(parser, default=argparse.SUPPRESS)
    _add_log_level(parser, default=argparse.SUPPRESS)
    if json_flag:
        _add_json(parser)
    return parser


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), value


def _kinds_epilog() -> str:
    from tuidash.core.catalog import CATALOG

    lines = ["model kinds and their --param names:"]
    for kind in CATALOG.values():
        params = ", ".join(p.name for p in kind.params) or "-"
        lines.append(f"  {kind.id:<18} {params}")
    return "\n".join(lines)


def build_command_parser() -> argparse.ArgumentParser:
    """The argument parser of the headless subcommands (train, models, predict, storage)."""
    parser = argparse.ArgumentParser(
        prog="tuidash",
        description="Headless tuidash commands on the model store.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tuidash {__version__}")
    _add_store(parser, default=None)
    _add_log_level(parser, default=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = _sub(
        commands,
        "train",
        "train a model on a data file and save it in the store",
        "example:\n"
        "  tuidash train houses.csv --target price --model random_forest \\\n"
        "      --param n_estimators=200 --name 'RF 200' --cv 5\n"
        "  tuidash train sample --target target --model ridge --json\n\n"
        "Progress goes to stderr when it is a terminal; the metrics are printed at the end\n"
        "(a metric that cannot be computed shows as `undefined (reason)`, null in JSON).\n"
        "JSON fields: name, model_type, display_name, store, target, features, rows,\n"
        "train_rows, test_rows, params, metrics, metric_reasons, cv, train_seconds, replaced,\n"
        "notes.\n\n" + _kinds_epilog(),
    )
    train.add_argument(
        "data",
        metavar="DATA",
        help="CSV, TSV, Excel, Parquet or JSON file, or `sample` for the diabetes data set",
    )
    train.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    train.add_argument("--model", required=True, metavar="KIND", help="a model kind (see below)")
    train.add_argument("--name", help="the name to save it under (default: the kind's name)")
    train.add_argument(
        "--param",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="a model parameter; repeat for several",
    )
    train.add_argument(
        "--features", metavar="A,B,C", help="comma-separated feature columns (default: all others)"
    )
    train.add_argument(
        "--test-size",
        type=_number,
        default=0.2,
        metavar="F",
        help="share of rows held out for the metrics, 0.1 to 0.4 (default 0.2)",
    )
    train.add_argument(
        "--random-state",
        type=_whole,
        default=42,
        metavar="N",
        help="seed of the split and model (default 42)",
    )
    train.add_argument(
        "--cv", type=_whole, metavar="K", help="also cross-validate with K folds (2 to 20)"
    )
    train.add_argument(
        "--replace", action="store_true", help="overwrite a saved model of the same name"
    )
    train.add_argument(
        "--keep-order",
        action="store_true",
        help="test on the last rows instead of a random sample (time-ordered data)",
    )
    train.add_argument(
        "--batch-rows",
        type=_whole,
        metavar="N",
        help="aggregate every N consecutive rows into one before training: feature means, text "
        "and the target from each batch's last row (for noisy high-rate logs; default: off)",
    )
    train.add_argument("--encoding", metavar="ENC", help="text encoding of a CSV (default: guess)")

    models = commands.add_parser(
        "models",
        help="list, show, delete, clear, export or import saved models",
        description="Work with the saved models of the store.",
        epilog="examples:\n  tuidash models list\n  tuidash models show 'Random Forest' --json\n"
        "  tuidash models export 'Random Forest' /tmp/out\n"
        "  tuidash models import '/tmp/out/Random Forest.pkl' --name 'RF from Bob'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_store(models, default=argparse.SUPPRESS)
    _add_log_level(models, default=argparse.SUPPRESS)
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)

    _sub(
        actions,
        "list",
        "list the saved models with their main metrics (reads JSON only, fast)",
        "example:\n  tuidash models list --store /data/models\n\n"
        "JSON: {store, models: [{name, model_type, task, saved_at, target, rows, features,\n"
        "metrics, metric_reasons, size_bytes, environment_mismatch}],\n"
        "problems: [{name, kind, reason}]}  (damaged or refused entries, also on stderr)",
    )
    show = _sub(
        actions,
        "show",
        "show everything recorded about one saved model",
        "example:\n  tuidash models show 'Random Forest'\n\n"
        "JSON: the list fields plus params, data, cv, train_seconds, environment,\n"
        "feature_importance, predictions_stored, predictions_total, schema_version, files.",
    )
    show.add_argument("name", metavar="NAME")
    delete = _sub(
        actions,
        "delete",
        "delete one saved model (its .pkl and .json)",
        "example:\n  tuidash models delete 'Random Forest' --yes\n\n"
        "Without --yes it asks on a terminal and refuses when stdin is not one.\n"
        "NAME may also be an entry that cannot be used (see `tuidash storage`): the\n"
        "question and the message name every file of it that is deleted.\n"
        "JSON: {store, deleted: [names], message}",
    )
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    clear = _sub(
        actions,
        "clear",
        "delete every saved model of the store",
        "example:\n  tuidash models clear --yes\n\n"
        "Without --yes it asks on a terminal and refuses when stdin is not one.\n"
        "JSON: {store, deleted: [names], message}",
    )
    clear.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    export = _sub(
        actions,
        "export",
        "copy a saved model's .pkl and .json into a folder",
        "example:\n  tuidash models export 'Random Forest' /tmp/share\n\n"
        "The folder is created if needed; existing files are kept unless --replace.\n"
        "JSON: {name, files: [absolute paths]}",
    )
    export.add_argument("name", metavar="NAME")
    export.add_argument("dest", metavar="DEST_DIR")
    export.add_argument("--replace", action="store_true", help="overwrite files in DEST_DIR")
    imp = _sub(
        actions,
        "import",
        "check a .pkl from elsewhere and add it to the store",
        "examples:\n  tuidash models import '/tmp/out/Random Forest.pkl'\n"
        "  tuidash models import model.pkl --metadata notes/model.json --name 'From Bob'\n\n"
        "The pickle is read with the store's restricted unpickler: a file that would run\n"
        "code is refused, naming what it refused. Its metrics, parameters, predictions,\n"
        "data description and name come from its metadata JSON (a tuidash or original-app\n"
        "metadata file): --metadata FILE, else the .json beside the pickle with the same\n"
        "name (what `models export` writes), else they are recorded as unknown. The JSON\n"
        "is checked as the store checks its own and must describe this pickle (sha256);\n"
        "one that does not is refused, naming why (--no-metadata imports without it).\n"
        "JSON: {name, model_type, store, metrics, metric_reasons, features, source, metadata}",
    )
    imp.add_argument("pkl", metavar="PKL", help="the pickle file to check and import")
    beside = imp.add_mutually_exclusive_group()
    beside.add_argument(
        "--metadata", metavar="FILE", help="its metadata JSON (default: PKL's name with .json)"
    )
    beside.add_argument(
        "--no-metadata",
        action="store_true",
        help="ignore any metadata JSON: metrics and parameters are recorded as unknown",
    )
    # The report flag's earlier spelling, kept working (it clashes with nothing).
    imp.add_argument("--json-report", dest="json", action="store_true", help=argparse.SUPPRESS)
    imp.add_argument("--name", help="the name to save it under (default: from JSON or file)")
    imp.add_argument("--replace", action="store_true", help="overwrite a model of that name")

    predict = _sub(
        commands,
        "predict",
        "predict with a saved model on a data file",
        "examples:\n  tuidash predict 'Random Forest' new.csv -o predictions.csv\n"
        "  tuidash predict 'Random Forest' new.csv > predictions.csv\n"
        "  tuidash predict Ridge sample --json\n\n"
        "DATA must have the model's feature columns (missing ones are named); the output\n"
        "is the input rows plus a `prediction` column, as CSV on stdout or in OUT.csv.\n"
        "With --json, stdout gets one JSON document instead: {model, data, rows, output,\n"
        "column, predictions, notes}.",
    )
    predict.add_argument("name", metavar="NAME")
    predict.add_argument(
        "data",
        metavar="DATA",
        help="CSV, TSV, Excel, Parquet or JSON file, or `sample` for the diabetes data set",
    )
    predict.add_argument("-o", "--output", metavar="OUT.csv", help="write the CSV here")
    predict.add_argument(
        "--encoding", metavar="ENC", help="text encoding of a CSV (default: guess)"
    )

    storage = _sub(
        commands,
        "storage",
        "show where the store is, its size, free space and any problem entries",
        "example:\n  tuidash storage --store /data/models --json\n\n"
        "JSON: {base_dir, model_count, total_size_bytes, total_size_mb, free_bytes,\n"
        "models: [{name, size_bytes}], problems: [{name, files, reason, kind}]}",
    )
    storage.add_argument(
        "--verify",
        action="store_true",
        help="also check every pickle (checksum + restricted unpickling); slower",
    )
    return parser


_VALUE_OPTIONS = ("--store", "--log-level")
"""Top-level options that take the next word as their value."""


def _first_word(argv: Sequence[str]) -> str | None:
    """The first positional word (a command or a data file), or None."""
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in _VALUE_OPTIONS:
            skip = True
            continue
        if token == "--":
            return None
        if token.startswith("-"):
            continue
        return token
    return None


def _wants_command(argv: Sequence[str]) -> bool:
    """True when the first positional word is a subcommand name."""
    return _first_word(argv) in COMMANDS


def looks_like_a_file(word: str) -> bool:
    """Whether a word that names nothing on disk was meant as a file: it has an extension
    (``data.csv``) or a path separator (``runs/today``, ``./data``) or starts with ``~``."""
    if word.startswith("~") or "/" in word or os.sep in word:
        return True
    return bool(Path(word).suffix)


def _unknown_command(word: str) -> str:
    """The usage error for a first word that is neither a command nor a data file."""
    close = difflib.get_close_matches(word, COMMANDS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"unknown command {word!r}{hint}; the commands are {', '.join(COMMANDS)}. "
        "A data file to open must exist, or have an extension or a / in its name."
    )


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tuidash`` command; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    word = _first_word(args_list)
    if word in COMMANDS:
        return run_command(args_list)
    parser = build_parser()
    if word is not None and not Path(word).exists() and not looks_like_a_file(word):
        # Before parsing: `tuidash modles list` is a mistyped command, not a stray "list".
        parser.error(_unknown_command(word))
    args = parser.parse_args(args_list)
    if args.data is not None and not Path(args.data).exists():
        print(f"tuidash: {args.data}: no such file.", file=sys.stderr)
        return 1
    start_logging(args.log_level)
    try:
        store = usable_store(_store_dir(args))
    except CommandError as error:
        _log.warning("refused to start: %s", error)
        _fail(str(error))
        return 1
    _log.info(
        "dashboard started (tuidash %s, store %s%s)",
        __version__,
        store.absolute(),
        f", data {Path(args.data).absolute()}" if args.data else "",
    )
    app = make_app(args.data, store, autoload=not args.no_autoload)
    app.run()
    code = int(app.return_code or 0)
    # Textual keeps the first unhandled exception that ended the app (it prints it too).
    crash = getattr(app, "_exception", None)
    if isinstance(crash, BaseException):
        _log.error("the dashboard stopped on an unexpected error", exc_info=crash)
    _log.info("dashboard closed (exit code %d)", code)
    if _busy_threads():
        # A fit inside scikit-learn cannot be interrupted between its own steps; waiting for
        # it would keep the terminal hostage after Ctrl+Q. Store writes are atomic (temp file
        # + rename), so leaving now loses at most the model being trained or saved.
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    return code


def start_logging(level: str | None) -> logs.LogSetup:
    """Turn on the log file; when it cannot be written, say so once on stderr and go on."""
    setup = logs.setup_logging(level or logs.DEFAULT_LEVEL)
    if setup.problem is not None:
        print(f"tuidash: warning: {setup.problem}", file=sys.stderr)
    return setup


def usable_store(base: Path) -> Path:
    """The store folder, created if needed; CommandError when it cannot hold models.

    Refused: a file, a folder that cannot be created (a parent is a file, no permission)
    and one where no file can be written (read-only file system or permissions).
    """
    if base.exists() and not base.is_dir():
        raise CommandError(f"{base}: the store must be a folder, but it is a file.")
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocker = next((p for p in base.parents if p.exists() and not p.is_dir()), None)
        reason = f"{blocker} is a file, not a folder" if blocker is not None else _os_reason(error)
        raise CommandError(
            f"Cannot create the store folder {base}: {reason}; choose another with --store."
        ) from None
    try:
        # The store writes through temp files in its folders: try exactly that.
        handle, probe = tempfile.mkstemp(prefix=".tuidash-probe-", dir=base)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise CommandError(
            f"The store folder {base} cannot be written ({_os_reason(error)}); "
            "choose another with --store."
        ) from None
    return base


def _os_reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def _busy_threads() -> bool:
    """Whether a non-daemon thread (a training or saving worker) is still running."""
    import threading

    main = threading.main_thread()
    return any(t.is_alive() and not t.daemon and t is not main for t in threading.enumerate())


def run_command(argv: Sequence[str]) -> int:
    """Parse and run one headless subcommand; every failure becomes one line on stderr."""
    parser = build_command_parser()
    if _old_import_spelling(argv):
        parser.error(
            "`models import --json` now asks for JSON output; name the metadata file with "
            "--metadata FILE."
        )
    args = parser.parse_args(argv)
    command = args.command if args.command != "models" else f"models {args.action}"
    handler = _HANDLERS[command]
    start_logging(getattr(args, "log_level", None))
    _log.debug("command: tuidash %s", " ".join(argv))
    try:
        return handler(args)
    except KeyboardInterrupt:
        _log.warning("tuidash %s: interrupted", command)
        _fail("interrupted.")
        return 130
    except BrokenPipeError:
        # `tuidash predict ... | head`: the reader left; stop quietly.
        _silence_stdout()
        return 1
    except Exception as error:
        text = _error_text(error)
        if _is_expected(error):
            # A sentence for a person; its traceback only when asked for (debug).
            debug = _log.isEnabledFor(logging.DEBUG)
            _log.warning("tuidash %s failed: %s", command, text, exc_info=error if debug else None)
        else:
            _log.error("tuidash %s failed: %s", command, text, exc_info=error)
        if os.environ.get("TUIDASH_DEBUG"):
            raise
        _fail(text)
        return 1


def _old_import_spelling(argv: Sequence[str]) -> bool:
    """``models import X.pkl --json X.json``: the metadata flag's spelling before --metadata."""
    if "import" not in argv:
        return False
    return any(
        token == "--json" and following.lower().endswith(".json")
        for token, following in itertools.pairwise(argv)
    )


def _is_expected(error: BaseException) -> bool:
    """A failure phrased for a person (bad input, missing file), not a bug."""
    return isinstance(error, (CommandError, OSError, *_typed_error_classes()))


def _error_text(error: BaseException) -> str:
    """One line that says what went wrong, for typed errors and unexpected ones alike."""
    if isinstance(error, CommandError):
        return str(error)
    message = getattr(error, "message", None) or str(error)
    known = _typed_error_classes()
    if isinstance(error, known):
        return str(message)
    if isinstance(error, FileNotFoundError):
        return f"{error.filename}: no such file or folder."
    if isinstance(error, PermissionError):
        return f"{error.filename}: permission denied."
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or message}."
    return f"unexpected error ({type(error).__name__}): {message}"


def _typed_error_classes() -> tuple[type[BaseException], ...]:
    """The core's typed errors that are already phrased for a person (only if imported)."""
    classes: list[type[BaseException]] = []
    names = {
        "tuidash.core.catalog": ("CatalogError",),
        "tuidash.core.data": ("DataError",),
        "tuidash.core.training": ("TrainingError", "SchemaError"),
        "tuidash.core.store": ("StoreError",),
        "tuidash.core.predicting": ("PredictionError",),
        "tuidash.core.transfer": ("TransferError",),
    }
    for module_name, class_names in names.items():
        module = sys.modules.get(module_name)
        for class_name in class_names:
            cls = getattr(module, class_name, None) if module else None
            if isinstance(cls, type):
                classes.append(cls)
    return tuple(classes)


def _fail(message: str) -> None:
    line = " ".join(str(message).split())
    print(f"tuidash: {line}", file=sys.stderr)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(plain_json(document), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


# --------------------------------------------------------------------------- formatting


def format_number(value: Any) -> str:
    """A metric for people: about 6 significant digits, at most 4 decimals, no exponent
    unless the number is tiny (below 0.001)."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "undefined"
    if value == 0:
        return "0"
    if abs(value) < 1e-3:
        return f"{value:.3e}"
    exponent = math.floor(math.log10(abs(value)))
    decimals = min(4, max(0, 5 - exponent))
    return f"{value:.{decimals}f}"


def format_bytes(size: Any) -> str:
    """Bytes as B/KB/MB/GB with one decimal."""
    if not isinstance(size, int | float):
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def format_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], right: Iterable[int] = ()
) -> str:
    """Columns padded to their widest cell; the columns in ``right`` align right."""
    right_set = set(right)
    table = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(table):
        cells = [
            cell.rjust(widths[i]) if i in right_set else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def metric_text(name: str, metrics: dict[str, Any], reasons: dict[str, Any]) -> str:
    """A metric value, or ``undefined (reason)`` when it could not be computed."""
    value = (metrics or {}).get(name)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return format_number(value)
    reason = (reasons or {}).get(name)
    return f"undefined ({reason})" if reason else "undefined"


def _metrics_table(metrics: dict[str, Any], reasons: dict[str, Any]) -> str:
    names = [m for m in METRIC_ORDER if m in (metrics or {}) or m in (reasons or {})]
    names = names or list(METRIC_ORDER)
    return format_table(("Metric", "Value"), [(m, metric_text(m, metrics, reasons)) for m in names])


# --------------------------------------------------------------------------- store access


def _store_dir(args: argparse.Namespace) -> Path:
    store = getattr(args, "store", None)
    return Path(store) if store else default_store_dir()


def _open_store(args: argparse.Namespace, *, create: bool) -> ModelPersistence | None:
    """The store (created when the command writes); None for a reading command on the default
    store that does not exist yet. A ``--store`` folder that does not exist is an error for
    a reading command: it is more likely a typo than a store nobody has saved to yet."""
    base = _store_dir(args)
    if create:
        usable_store(base)
    elif not base.exists():
        if getattr(args, "store", None):
            raise CommandError(f"The store folder {base.absolute()} does not exist; check --store.")
        return None
    elif not base.is_dir():
        raise CommandError(f"{base}: the store must be a folder, but it is a file.")
    from tuidash.core.store import ModelPersistence

    return ModelPersistence(str(base))


def _list_entries(
    store: ModelPersistence | None, *, predictions: bool = False
) -> list[dict[str, Any]]:
    """The store's good models from their JSON (the fast cached path unless predictions)."""
    if store is None:
        return []
    return list(store.list_saved_models(predictions=predictions))


def _find_entry(
    store: ModelPersistence | None, name: str, base: Path, *, predictions: bool = False
) -> dict[str, Any]:
    for entry in _list_entries(store, predictions=predictions):
        if entry.get("name") == name:
            return entry
    raise CommandError(_not_found_text(store, name, base))


def _not_found_text(store: ModelPersistence | None, name: str, base: Path) -> str:
    if store is None:
        return f"No model named {name!r}: the store {base} does not exist."
    for problem in _problems(store):
        if problem.get("name") == name:
            return f"The model {name!r} cannot be used: {problem.get('reason')}"
    names = [e.get("name") for e in _list_entries(store)]
    hint = f" Saved models: {', '.join(map(str, names))}." if names else " The store is empty."
    return f"No model named {name!r} in {store.base_dir}.{hint}"


def _problems(store: ModelPersistence) -> list[dict[str, Any]]:
    try:
        return list(store.get_storage_info().get("problems", []))
    except Exception:
        return []


def _confirm(question: str, refusal: str, yes: bool) -> bool:
    """True when the user agreed; without a terminal and without --yes, refuse."""
    if yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise CommandError(refusal)
    # The question goes to stderr so that stdout stays one JSON document with --json.
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


# --------------------------------------------------------------------------- train


def _cmd_train(args: argparse.Namespace) -> int:
    from tuidash.core.catalog import get_kind

    kind = get_kind(args.model)
    raw_params: dict[str, str] = {}
    for key, value in args.param:
        raw_params[key] = value
    params = kind.validate(raw_params)
    features = None
    if args.features is not None:
        features = [f.strip() for f in args.features.split(",") if f.strip()]
        if not features:
            raise CommandError("--features needs at least one column name.")

    store = _open_store(args, create=True)
    assert store is not None
    if args.name is not None:
        name = args.name
        store.check_name(name)
        existing = {e.get("name") for e in store.list_saved_models()}
        if name in existing and not args.replace:
            raise CommandError(
                f"A model named {name!r} already exists; pass --replace to overwrite it "
                "or --name to choose another name."
            )
    else:
        name = store.free_name(kind.display_name)

    from tuidash.core.data import SAMPLE_SOURCE, read_table, sample_dataset
    from tuidash.core.training import TrainConfig, train_model

    if args.data in (SAMPLE_SOURCE, "sample"):
        data = sample_dataset()
    else:
        with _encoding_hint():
            data = read_table(args.data, encoding=args.encoding)
    config = TrainConfig(
        target=args.target,
        features=features,
        test_size=args.test_size,
        random_state=args.random_state,
        keep_order=args.keep_order,
        cv_folds=args.cv,
        batch_rows=args.batch_rows,
    )
    progress = _progress_printer() if sys.stderr.isatty() else None
    try:
        trained = train_model(data, kind.id, params, config, progress=progress)
    finally:
        if progress is not None:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    notes = [str(n) for n in getattr(trained, "notes", []) or []]
    model_data = trained.to_model_data()
    ok, message = store.save_model(name, model_data, replace=args.replace)
    if not ok:
        _log.warning("could not save model %r in %s: %s", name, store.base_dir, message)
        raise CommandError(message)
    _log.info("saved model %r in %s: %s", name, store.base_dir, message)

    metrics = dict(trained.metrics.values)
    reasons = dict(trained.metrics.reasons)
    info = dict(getattr(trained, "data_info", {}) or model_data.get("data") or {})
    feature_names = [
        f.get("name") if isinstance(f, dict) else str(f) for f in info.get("features", [])
    ]
    test_rows = len(trained.y_test) if getattr(trained, "y_test", None) is not None else None
    rows = info.get("rows")
    train_rows = rows - test_rows if isinstance(rows, int) and test_rows is not None else None
    report = {
        "name": name,
        "model_type": kind.id,
        "display_name": kind.display_name,
        "store": str(store.base_dir),
        "target": args.target,
        "features": feature_names,
        "rows": rows,
        "train_rows": train_rows,
        "test_rows": test_rows,
        "params": params,
        "metrics": {m: metrics.get(m) for m in METRIC_ORDER},
        "metric_reasons": reasons,
        "cv": getattr(trained, "cv", None),
        "train_seconds": getattr(trained, "train_seconds", None),
        "replaced": bool(args.replace and "replac" in message.lower()),
        "notes": notes,
    }
    for note in notes:
        print(f"tuidash: note: {note}", file=sys.stderr)
    if args.json:
        _print_json(report)
        return 0
    seconds = report["train_seconds"]
    took = f" in {seconds:.2f} s" if isinstance(seconds, int | float) else ""
    split = f" ({train_rows} training rows, {test_rows} test rows)" if train_rows else ""
    shown = "the diabetes sample" if data.source == SAMPLE_SOURCE else args.data
    print(f"Trained {kind.display_name} on {shown}{split}{took}.")
    print(f"Saved as {name!r} in {store.base_dir}.")
    print()
    print(_metrics_table(metrics, reasons))
    cv = report["cv"]
    if isinstance(cv, dict) and cv.get("mean") is not None:
        spread = f" ± {format_number(cv.get('std'))}" if cv.get("std") is not None else ""
        metric = cv.get("metric", "R2")
        print(
            f"\nCross-validation ({cv.get('folds')} folds): {metric} "
            f"{format_number(cv.get('mean'))}{spread}"
        )
    return 0


@contextlib.contextmanager
def _encoding_hint() -> Iterator[None]:
    """Add the flag to use to a core 'not UTF-8 text' sentence (the core names no flags)."""
    from tuidash.core.data import DataEncodingError

    try:
        yield
    except DataEncodingError as error:
        if not error.suggestion:
            raise
        raise CommandError(f"{error.message} Pass --encoding {error.suggestion}.") from None


def _progress_printer() -> Callable[[float, str], None]:
    def show(fraction: float, text: str) -> None:
        percent = max(0, min(100, round(float(fraction) * 100)))
        sys.stderr.write(f"\r\033[K[{percent:3d}%] {text}")
        sys.stderr.flush()

    return show


# --------------------------------------------------------------------------- models


def _entry_summary(entry: dict[str, Any]) -> dict[str, Any]:
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    features = data.get("features") if isinstance(data.get("features"), list) else None
    metrics = entry.get("metrics") if isinstance(entry.get("metrics"), dict) else {}
    return {
        "name": entry.get("name"),
        "model_type": entry.get("model_type"),
        "task": entry.get("task"),
        "saved_at": entry.get("saved_at"),
        "target": data.get("target"),
        "rows": data.get("rows"),
        "features": len(features) if features is not None else None,
        "metrics": {m: metrics.get(m) for m in METRIC_ORDER},
        "metric_reasons": entry.get("metric_reasons") or {},
        "size_bytes": entry.get("size_bytes"),
        "environment_mismatch": list(entry.get("environment_mismatch") or []),
    }


def _cmd_models_list(args: argparse.Namespace) -> int:
    store = _open_store(args, create=False)
    base = store.base_dir if store is not None else _store_dir(args).absolute()
    entries = [_entry_summary(e) for e in _list_entries(store)]
    problems = [
        {"name": p.get("name"), "kind": p.get("kind"), "reason": p.get("reason")}
        for p in (_problems(store) if store is not None else [])
    ]
    if args.json:
        _print_json({"store": str(base), "models": entries, "problems": problems})
        return 0
    if problems:
        count = len(problems)
        names = ", ".join(repr(p["name"]) for p in problems)
        print(
            f"tuidash: {count} entr{'ies' if count != 1 else 'y'} cannot be used ({names}); "
            "see `tuidash storage`.",
            file=sys.stderr,
        )
    if not entries:
        missing = " (the folder does not exist yet)" if store is None else ""
        print(f"No saved models in {base}{missing}.")
        return 0
    rows = []
    for e in entries:
        rows.append(
            (
                e["name"],
                e["model_type"] or "-",
                e["saved_at"] or "-",
                e["target"] or "-",
                _short_metric("R2", e),
                _short_metric("RMSE", e),
                format_bytes(e["size_bytes"]),
            )
        )
    print(format_table(("NAME", "KIND", "SAVED", "TARGET", "R2", "RMSE", "SIZE"), rows, (4, 5, 6)))
    count = len(entries)
    print(f"\n{count} model{'s' if count != 1 else ''} in {base}.")
    return 0


def _short_metric(name: str, entry: dict[str, Any]) -> str:
    value = entry["metrics"].get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(value)
    return "undefined" if name in entry["metric_reasons"] else "-"


def _cmd_models_show(args: argparse.Namespace) -> int:
    store = _open_store(args, create=False)
    entry = _find_entry(store, args.name, _store_dir(args), predictions=True)
    assert store is not None
    # The listing row leaves out a few keys (cv, model_file); the JSON has them all.
    entry = {**_raw_metadata(store, args.name), **entry}
    document = _entry_summary(entry)
    predictions = entry.get("predictions") if isinstance(entry.get("predictions"), dict) else {}
    y_pred = predictions.get("y_pred") if isinstance(predictions.get("y_pred"), list) else []
    importance = entry.get("feature_importance")
    if importance is None:
        importance = predictions.get("feature_importance")
    model_file = entry.get("model_file") if isinstance(entry.get("model_file"), dict) else {}
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    document.update(
        {
            "params": entry.get("params") or {},
            "data": data,
            "cv": entry.get("cv"),
            "train_seconds": entry.get("train_seconds"),
            "environment": entry.get("environment") or {},
            "feature_importance": importance,
            "predictions_stored": len(y_pred),
            "predictions_total": entry.get("predictions_total") or len(y_pred),
            "schema_version": entry.get("schema_version"),
            "files": {
                "pkl": model_file.get("name"),
                "pkl_bytes": entry.get("pkl_bytes") or model_file.get("bytes"),
                "sha256": model_file.get("sha256"),
            },
        }
    )
    if args.json:
        _print_json(document)
        return 0
    _print_show(document, store.base_dir)
    return 0


def _raw_metadata(store: ModelPersistence, name: str) -> dict[str, Any]:
    """The model's JSON document as saved, or {} if it cannot be read now."""
    from tuidash.core.transfer import model_files

    try:
        document = json.loads(model_files(store, name)[1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _print_show(doc: dict[str, Any], base: Path) -> None:
    data = doc["data"]
    features = data.get("features") if isinstance(data.get("features"), list) else []
    feature_names = [f.get("name") if isinstance(f, dict) else str(f) for f in features]
    fields = [
        ("Name", doc["name"]),
        ("Kind", doc["model_type"] or "-"),
        ("Task", doc["task"] or "-"),
        ("Saved", doc["saved_at"] or "-"),
        ("Store", str(base)),
        ("Size", format_bytes(doc["size_bytes"])),
        ("Data", data.get("source") or "-"),
        ("Rows", data.get("rows") if data.get("rows") is not None else "-"),
        ("Target", data.get("target") or "-"),
        ("Features", ", ".join(map(str, feature_names)) or "-"),
        ("Test size", data.get("test_size") if data.get("test_size") is not None else "-"),
        (
            "Random state",
            data.get("random_state") if data.get("random_state") is not None else "-",
        ),
        (
            "Train time",
            f"{doc['train_seconds']:.2f} s"
            if isinstance(doc["train_seconds"], int | float)
            else "-",
        ),
    ]
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        print(f"{label:<{width}}  {value}")
    params = doc["params"]
    if params:
        print("\nParameters")
        print(format_table(("Name", "Value"), sorted((k, v) for k, v in params.items())))
    print("\nMetrics (test set)")
    print(_metrics_table(doc["metrics"], doc["metric_reasons"]))
    cv = doc["cv"]
    if isinstance(cv, dict) and cv.get("mean") is not None:
        print(
            f"Cross-validation ({cv.get('folds')} folds): {cv.get('metric', 'R2')} "
            f"{format_number(cv.get('mean'))} ± {format_number(cv.get('std'))}"
        )
    importance = doc["feature_importance"]
    if isinstance(importance, dict) and importance:
        top = sorted(importance.items(), key=lambda kv: -abs(_as_float(kv[1])))[:10]
        print("\nFeature importance (top 10)")
        print(
            format_table(("Feature", "Importance"), [(k, format_number(v)) for k, v in top], (1,))
        )
    env = doc["environment"]
    if env:
        print("\nEnvironment: " + ", ".join(f"{k} {v}" for k, v in env.items()))
    for line in doc["environment_mismatch"]:
        print(f"Warning: {line}")


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _cmd_models_delete(args: argparse.Namespace) -> int:
    store = _open_store(args, create=False)
    base = _store_dir(args)
    names = {e.get("name") for e in _list_entries(store)}
    problem = None
    if args.name not in names:
        problem = next(
            (p for p in (_problems(store) if store else []) if p.get("name") == args.name), None
        )
        if problem is None:
            raise CommandError(_not_found_text(store, args.name, base))
    assert store is not None
    if problem is not None:
        # A damaged entry may still have a good pickle: say which files go, both of them.
        files = _entry_files_text(problem.get("files") or [], store.base_dir)
        question = (
            f"{args.name!r} cannot be used ({problem.get('reason')}). "
            f"Delete {files} from {store.base_dir}?"
        )
    else:
        question = f"Delete model {args.name!r} from {store.base_dir}?"
    if not _confirm(
        question,
        f"Refusing to delete {args.name!r} without confirmation; pass --yes "
        "(stdin is not a terminal).",
        args.yes,
    ):
        print("Nothing deleted.", file=sys.stderr)
        return 1
    if problem is not None:
        ok, message = store.remove_entry(args.name)
        if ok:
            message = f"Removed {args.name!r}: deleted {files}."
    else:
        ok, message = store.delete_model(args.name)
    if not ok:
        _log.warning("could not delete %r from %s: %s", args.name, store.base_dir, message)
        raise CommandError(message)
    _log.info("%s (store %s)", message.rstrip("."), store.base_dir)
    return _report_deleted(args, store, [args.name], message)


def _entry_files_text(files: Iterable[Any], base: Path) -> str:
    """The files of a store entry for a question: relative to the store, joined with 'and'."""
    shown = []
    for file in files:
        path = Path(str(file))
        try:
            shown.append(str(path.relative_to(base)))
        except ValueError:
            shown.append(str(path))
    if not shown:
        return "its files"
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _cmd_models_clear(args: argparse.Namespace) -> int:
    store = _open_store(args, create=False)
    names = [str(e.get("name")) for e in _list_entries(store)]
    # Problem entries (damaged, refused, orphaned files) are cleared too.
    names += [str(p.get("name")) for p in (_problems(store) if store else [])]
    if store is None or not names:
        base = store.base_dir if store is not None else _store_dir(args).absolute()
        message = f"No saved models in {base}; nothing to delete."
        if args.json:
            _print_json({"store": str(base), "deleted": [], "message": message})
        else:
            print(message)
        return 0
    count = len(names)
    if not _confirm(
        f"Delete all {count} saved model{'s' if count != 1 else ''} in {store.base_dir}?",
        f"Refusing to delete {count} model{'s' if count != 1 else ''} without confirmation; "
        "pass --yes (stdin is not a terminal).",
        args.yes,
    ):
        print("Nothing deleted.", file=sys.stderr)
        return 1
    ok, message = store.clear_all_saved_models()
    if not ok:
        _log.warning("could not clear %s: %s", store.base_dir, message)
        raise CommandError(message)
    _log.info("%s (store %s: cleared)", message.rstrip("."), store.base_dir)
    remaining = {e.get("name") for e in _list_entries(store)}
    remaining |= {p.get("name") for p in _problems(store)}
    deleted = [n for n in names if n not in remaining]
    return _report_deleted(args, store, deleted, message)


def _report_deleted(
    args: argparse.Namespace, store: ModelPersistence, deleted: list[str], message: str
) -> int:
    if args.json:
        _print_json({"store": str(store.base_dir), "deleted": deleted, "message": message})
    else:
        print(message)
    return 0


def _cmd_models_export(args: argparse.Namespace) -> int:
    from tuidash.core.transfer import export_model

    store = _open_store(args, create=False)
    _find_entry(store, args.name, _store_dir(args))
    assert store is not None
    files = export_model(store, args.name, Path(args.dest), replace=args.replace)
    _log.info("exported model %r from %s to %s", args.name, store.base_dir, files[0].parent)
    if args.json:
        _print_json({"name": args.name, "files": [str(f) for f in files]})
        return 0
    print(f"Exported {args.name!r}:")
    for path in files:
        print(f"  {path}")
    return 0


def _cmd_models_import(args: argparse.Namespace) -> int:
    from tuidash.core.transfer import import_model

    store = _open_store(args, create=True)
    assert store is not None
    pkl = Path(args.pkl).expanduser()
    metadata = _import_metadata(args, pkl)
    result = import_model(store, pkl, metadata_path=metadata, name=args.name, replace=args.replace)
    _log.info(
        "imported %s as %r into %s%s",
        pkl.absolute(),
        result.name,
        store.base_dir,
        f" with the metadata of {metadata.absolute()}" if metadata else " without metadata",
    )
    document = {
        "name": result.name,
        "model_type": result.model_type,
        "store": str(store.base_dir),
        "metrics": {m: result.metrics.get(m) for m in METRIC_ORDER},
        "metric_reasons": result.metric_reasons,
        "features": result.features,
        "source": str(pkl.absolute()),
        "metadata": str(metadata.absolute()) if metadata else None,
    }
    if args.json:
        _print_json(document)
        return 0
    print(f"Imported {args.pkl} as {result.name!r} into {store.base_dir}.")
    if metadata is not None:
        print(f"Metrics, parameters and data description from {metadata}.")
    print(f"Kind: {result.model_type or 'unknown'}; features: {len(result.features)}.")
    print()
    print(_metrics_table(result.metrics, result.metric_reasons))
    for note in result.notes:
        print(f"Note: {note}", file=sys.stderr)
    return 0


def _import_metadata(args: argparse.Namespace, pkl: Path) -> Path | None:
    """The metadata JSON to import with ``pkl``, checked; None when there is none to use.

    ``--metadata FILE`` if given, else ``PKL`` with ``.json`` (what ``models export`` wrote
    beside it) if it exists, unless ``--no-metadata``.
    """
    if args.no_metadata or not pkl.is_file():
        return None  # a missing pickle is reported by the import itself
    if args.metadata:
        path = Path(args.metadata).expanduser()
        _check_import_metadata(path, pkl, shown=str(path), hint="")
        return path
    beside = pkl.with_suffix(".json")
    if not beside.is_file():
        return None
    _check_import_metadata(
        beside,
        pkl,
        shown=f"{beside} (the metadata beside the pickle)",
        hint="; fix or move it, or pass --no-metadata to import without it",
    )
    return beside


def _check_import_metadata(path: Path, pkl: Path, *, shown: str, hint: str) -> None:
    """Check a metadata JSON as the store checks its own, and that it describes ``pkl``."""
    from tuidash.core.store import documents as store_checks

    try:
        if path.stat().st_size > store_checks.MAX_JSON_BYTES:
            raise CommandError(f"{shown} is too large for a metadata file{hint}.")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CommandError(f"{shown}: no such file.") from None
    except OSError as error:
        raise CommandError(f"Cannot read {shown}: {_os_reason(error)}{hint}.") from None
    try:
        document = store_checks.parse_json(raw)
    except ValueError as error:
        reason = " ".join(str(error).split())[:160]
        raise CommandError(f"{shown} is not valid JSON ({reason}){hint}.") from None
    name = document.get("model_name") if isinstance(document, dict) else None
    checked = document
    if isinstance(document, dict) and isinstance(document.get("model_file"), dict):
        # In the store a JSON must name its own pickle; beside an exported or renamed file
        # the pickle is identified by its sha256 (checked below), not by its file name.
        own_file = {**document["model_file"], "name": f"{name}.pkl"}
        checked = {**document, "model_file": own_file}
    try:
        store_checks.check_doc(checked, name if isinstance(name, str) else "")
    except store_checks.Problem as problem:
        raise CommandError(f"{shown} cannot be used: {problem.reason}{hint}.") from None
    model_file = document.get("model_file") if isinstance(document, dict) else None
    recorded = model_file.get("sha256") if isinstance(model_file, dict) else None
    if recorded is not None and recorded != _sha256_of(pkl):
        raise CommandError(
            f"{shown} describes another pickle than {pkl} (the sha256 differs){hint}."
        )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- predict / storage


def _cmd_predict(args: argparse.Namespace) -> int:
    store = _open_store(args, create=False)
    _find_entry(store, args.name, _store_dir(args))
    assert store is not None
    from tuidash.core.data import SAMPLE_SOURCE, sample_dataset
    from tuidash.core.predicting import (
        load_for_prediction,
        predict_file,
        predict_frame,
        write_csv,
    )

    entry = load_for_prediction(store, args.name)
    _log.info("loaded model %r from %s to predict", args.name, store.base_dir)
    # `sample` means the bundled diabetes data here too, as it does for `train`.
    from_sample = args.data in (SAMPLE_SOURCE, "sample")
    if from_sample:
        frame = sample_dataset().frame
        result = predict_frame(entry, frame, model_name=args.name, source=SAMPLE_SOURCE)
    else:
        with _encoding_hint():
            result = predict_file(entry, args.data, encoding=args.encoding, model_name=args.name)
    output = None
    if args.output:
        output = write_csv(result, Path(args.output))
    elif not args.json:
        result.frame.to_csv(sys.stdout, index=False)
        sys.stdout.flush()
    for note in result.notes:
        print(f"tuidash: note: {note}", file=sys.stderr)
    if args.json:
        _print_json(
            {
                "model": args.name,
                "data": SAMPLE_SOURCE if from_sample else str(Path(args.data).absolute()),
                "rows": result.rows,
                "output": str(output) if output else None,
                "column": result.column,
                "predictions": result.values(),
                "notes": result.notes,
            }
        )
    elif output is not None:
        print(f"Wrote {result.rows} predictions to {output}.")
    _log.info(
        "predicted %d rows with %r%s", result.rows, args.name, f" into {output}" if output else ""
    )
    return 0


def _cmd_storage(args: argparse.Namespace) -> int:
    store = _open_store(args, create=False)
    if store is None:
        base = _store_dir(args).absolute()
        info: dict[str, Any] = {
            "base_dir": str(base),
            "model_count": 0,
            "total_size_bytes": 0,
            "total_size_mb": 0.0,
            "free_bytes": None,
            "models": [],
            "problems": [],
        }
    else:
        info = dict(store.get_storage_info(verify=args.verify))
    if args.json:
        _print_json(info)
        return 0
    exists = store is not None
    print(f"Store       {info.get('base_dir')}{'' if exists else '  (does not exist yet)'}")
    print(f"Models      {info.get('model_count', 0)}")
    print(f"Total size  {format_bytes(info.get('total_size_bytes'))}")
    if info.get("free_bytes") is not None:
        print(f"Free space  {format_bytes(info.get('free_bytes'))}")
    models = info.get("models") or []
    if models:
        print()
        rows = [(m.get("name"), format_bytes(m.get("size_bytes"))) for m in models]
        print(format_table(("NAME", "SIZE"), rows, (1,)))
    problems = info.get("problems") or []
    if problems:
        print(f"\n{len(problems)} problem entr{'ies' if len(problems) != 1 else 'y'}:")
        rows = [(p.get("name"), p.get("kind"), p.get("reason")) for p in problems]
        print(format_table(("NAME", "KIND", "REASON"), rows))
        print("Remove one with: tuidash models delete NAME")
    return 0


_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": _cmd_train,
    "models list": _cmd_models_list,
    "models show": _cmd_models_show,
    "models delete": _cmd_models_delete,
    "models clear": _cmd_models_clear,
    "models export": _cmd_models_export,
    "models import": _cmd_models_import,
    "predict": _cmd_predict,
    "storage": _cmd_storage,
}
