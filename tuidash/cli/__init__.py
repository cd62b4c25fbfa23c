"""The ``tuidash`` command: open the dashboard, or run a headless command on the same store.

``tuidash [DATA]`` opens the dashboard (built by ``tuidash.ui.factory.make_app``);
``tuidash train|models|predict|storage ...`` runs headless. Only argparse and the standard
library are imported at start so that ``--help`` and ``models list`` start fast; each
command imports what it needs.

- ``dispatch``: the parsers, the first-word rule, exit codes and error lines;
- ``common``: the options, store access and output every command shares;
- one module per command group (``train``, ``models``, ``predict``, ``storage``) with
  ``register(subparsers)``; the work itself is in ``tuidash.services.workflows``.

The first word: a command name runs that command; any other word is a data file to open
when it exists or looks like a path (it has an extension or a path separator), and an
unknown command (usage error) otherwise.

The store: the dashboard, ``train`` and ``import`` create it if needed and refuse, before
anything else, one that is a file or cannot be created or written. The other commands only
read: a ``--store`` folder that does not exist is an error for them; the default store
(``./saved_models`` or ``$TUIDASH_STORE``, ``tuidash.core.settings``) that does not exist
yet reads as empty.

Exit codes: 0 success, 2 usage error (argparse), 1 any other failure with exactly one line
on stderr. With ``--json`` a command prints exactly one JSON document on stdout (nothing on
stdout when it fails; each command's module lists its keys). Set ``TUIDASH_DEBUG=1`` to see
a traceback for an unexpected error.

Logs: ``main`` (and only it) turns on the rotating log file of ``tuidash.core.logs`` at
``--log-level`` (default info); saves, loads, deletions, trainings and failures (with their
tracebacks) are recorded there. A log that cannot be written costs one warning on stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from tuidash import __version__
from tuidash.cli.common import CommandError, fail, store_dir, usable_store
from tuidash.cli.dispatch import (
    COMMANDS,
    build_parser,
    first_word,
    looks_like_a_file,
    run_command,
    start_logging,
    unknown_command,
)
from tuidash.core.settings import DEFAULT_STORE, default_store_dir
from tuidash.ui.factory import make_app

__all__ = [
    "COMMANDS",
    "DEFAULT_STORE",
    "CommandError",
    "default_store_dir",
    "main",
    "make_app",
    "run_command",
]

_log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tuidash`` command; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    word = first_word(args_list)
    if word in COMMANDS:
        return run_command(args_list)
    parser = build_parser()
    if word is not None and not Path(word).exists() and not looks_like_a_file(word):
        # Before parsing: `tuidash modles list` is a mistyped command, not a stray "list".
        parser.error(unknown_command(word))
    args = parser.parse_args(args_list)
    if args.data is not None and not Path(args.data).exists():
        print(f"tuidash: {args.data}: no such file.", file=sys.stderr)
        return 1
    start_logging(args.log_level)
    try:
        store = usable_store(store_dir(args))
    except CommandError as error:
        _log.warning("refused to start: %s", error)
        fail(error.message)
        return 1
    _log.info(
        "dashboard started (tuidash %s, store %s%s)",
        __version__,
        store if isinstance(store, str) else store.absolute(),
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


def _busy_threads() -> bool:
    """Whether a non-daemon thread (a training or saving worker) is still running."""
    main_thread = threading.main_thread()
    return any(
        t.is_alive() and not t.daemon and t is not main_thread for t in threading.enumerate()
    )
