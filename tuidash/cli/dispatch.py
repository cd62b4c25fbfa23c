"""The ``tuidash`` parsers, the first-word rule, and how a command's failure becomes an exit code.

The command groups are modules listed in ``GROUPS``; each has ``NAME`` and
``register(subparsers)``, which adds its sub-parser(s) and sets ``handler`` on them. A new
group is one new module and one line here.

Exit codes: 0 success, 2 usage error (argparse), 1 any other failure with exactly one line
on stderr: a ``TuidashError``'s sentence, an OSError's file and reason, or "unexpected
error" (logged with its traceback; ``TUIDASH_DEBUG=1`` raises it).
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from tuidash import __version__
from tuidash.cli import jobs, models, predict, serve, storage, train
from tuidash.cli.common import UsageError, add_log_level, add_store, fail
from tuidash.core import logs
from tuidash.core.errors import TuidashError

GROUPS: tuple[ModuleType, ...] = (train, models, predict, storage, jobs, serve)
"""The command groups, in the order ``--help`` lists them."""

COMMANDS = tuple(group.NAME for group in GROUPS)
"""Command names; another first word is a data file if it exists or looks like a path."""

Handler = Callable[[argparse.Namespace], int]
"""A command: parsed arguments in, exit code out."""

_log = logging.getLogger(__name__)

_TUI_EPILOG = """\
commands (run headless, same store; `tuidash COMMAND --help` for details):
  tuidash train DATA --target COL --model KIND   train a model and save it
  tuidash models list|show|delete|clear|export|import
  tuidash predict NAME DATA [-o OUT.csv]         predict with a saved model
  tuidash storage                                store location, sizes, problems
  tuidash jobs list|show|logs|cancel|clean|limit the training jobs (they outlive the terminal)
  tuidash serve [--host 127.0.0.1] [--port 8000]  the dashboard in a browser (SSH tunnel)

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


# --------------------------------------------------------------------------- parsers


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
    add_store(parser, default=None)
    add_log_level(parser, default=None)
    parser.add_argument(
        "--no-autoload",
        action="store_true",
        help="list saved models at start but do not load them into memory",
    )
    return parser


def build_command_parser() -> argparse.ArgumentParser:
    """The argument parser of the headless commands: every group registers its own."""
    parser = argparse.ArgumentParser(
        prog="tuidash",
        description="Headless tuidash commands on the model store.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tuidash {__version__}")
    add_store(parser, default=None)
    add_log_level(parser, default=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in GROUPS:
        group.register(commands)
    return parser


# --------------------------------------------------------------------------- first word

_VALUE_OPTIONS = ("--store", "--log-level")
"""Top-level options that take the next word as their value."""


def first_word(argv: Sequence[str]) -> str | None:
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


def wants_command(argv: Sequence[str]) -> bool:
    """True when the first positional word is a command name."""
    return first_word(argv) in COMMANDS


def looks_like_a_file(word: str) -> bool:
    """Whether a word that names nothing on disk was meant as a file: it has an extension
    (``data.csv``) or a path separator (``runs/today``, ``./data``) or starts with ``~``."""
    if word.startswith("~") or "/" in word or os.sep in word:
        return True
    return bool(Path(word).suffix)


def unknown_command(word: str) -> str:
    """The usage error for a first word that is neither a command nor a data file."""
    close = difflib.get_close_matches(word, COMMANDS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"unknown command {word!r}{hint}; the commands are {', '.join(COMMANDS)}. "
        "A data file to open must exist, or have an extension or a / in its name."
    )


# --------------------------------------------------------------------------- running


def start_logging(level: str | None) -> logs.LogSetup:
    """Turn on the log file; when it cannot be written, say so once on stderr and go on."""
    setup = logs.setup_logging(level or logs.DEFAULT_LEVEL)
    if setup.problem is not None:
        print(f"tuidash: warning: {setup.problem}", file=sys.stderr)
    return setup


def run_command(argv: Sequence[str]) -> int:
    """Parse and run one headless command; every failure becomes one line on stderr."""
    parser = build_command_parser()
    problem = models.old_import_spelling(argv)
    if problem:
        parser.error(problem)
    args = parser.parse_args(argv)
    command = " ".join(
        str(part) for part in (args.command, getattr(args, "action", None)) if part is not None
    )
    handler: Handler = args.handler
    start_logging(getattr(args, "log_level", None))
    _log.debug("command: tuidash %s", " ".join(argv))
    try:
        return handler(args)
    except KeyboardInterrupt:
        _log.warning("tuidash %s: interrupted", command)
        fail("interrupted.")
        return 130
    except BrokenPipeError:
        # `tuidash predict ... | head`: the reader left; stop quietly.
        _silence_stdout()
        return 1
    except UsageError as error:
        _log.warning("tuidash %s: usage error: %s", command, error.message)
        print(f"tuidash {command}: error: {error.message}", file=sys.stderr)
        return 2
    except Exception as error:
        text = error_text(error)
        if isinstance(error, TuidashError | OSError):
            # A sentence for a person; its traceback only when asked for (debug).
            debug = _log.isEnabledFor(logging.DEBUG)
            _log.warning("tuidash %s failed: %s", command, text, exc_info=error if debug else None)
        else:
            _log.error("tuidash %s failed: %s", command, text, exc_info=error)
        if os.environ.get("TUIDASH_DEBUG"):
            raise
        fail(text)
        return 1


def error_text(error: BaseException) -> str:
    """One line that says what went wrong: the sentence of a ``TuidashError``, the file and
    reason of an OSError, the type and text of anything unexpected."""
    if isinstance(error, TuidashError):
        return error.message
    if isinstance(error, FileNotFoundError):
        return f"{error.filename}: no such file or folder."
    if isinstance(error, PermissionError):
        return f"{error.filename}: permission denied."
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}."
    return f"unexpected error ({type(error).__name__}): {error}"


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
