"""The log file: where it is, and turning it on (only the ``tuidash`` command does that).

The file is ``tuidash.log`` in ``$TUIDASH_LOG_DIR`` if set, else in
``$XDG_STATE_HOME/tuidash``, else in ``~/.local/state/tuidash``. It is rotated at 1 MB and
the five files before it are kept (``tuidash.log.1`` ... ``tuidash.log.5``).

Modules log through ``logging.getLogger(__name__)`` (everything under the ``tuidash``
logger); nothing here runs at import, so importing tuidash never creates a file.
``setup_logging`` attaches the file handler; a folder that cannot be written does not stop
tuidash: the setup says why in ``LogSetup.reason`` and logging goes nowhere.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_NAME = "tuidash.log"
"""The log file's name inside the log folder."""

MAX_BYTES = 1024 * 1024
"""The log file is rotated when it would grow past this many bytes."""

BACKUP_COUNT = 5
"""How many rotated files (``tuidash.log.1`` ... ``.5``) are kept."""

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
"""The values of ``--log-level``, by name."""

DEFAULT_LEVEL = "info"
"""The level used when ``--log-level`` is not given."""

LOGGER_NAME = "tuidash"
"""The logger every tuidash module logs under."""

FORMAT = "%(asctime)s %(levelname)-7s [%(process)d] %(name)s: %(message)s"
"""One line per record: time, level, process id (several may share a store), where, what."""


@dataclass(frozen=True, slots=True)
class LogSetup:
    """Where the log goes: its file, and why it is not written when it cannot be."""

    path: Path
    """The log file (written to, or where it would be)."""
    level: str
    """The level name (debug, info, warning, error)."""
    reason: str | None = None
    """Why the file is not written (a few words), or None when it is."""

    @property
    def active(self) -> bool:
        """Whether records reach the file."""
        return self.reason is None

    @property
    def problem(self) -> str | None:
        """One sentence for stderr saying that the log is not written and why, or None."""
        if self.reason is None:
            return None
        return (
            f"The log file {self.path} cannot be written ({self.reason}); "
            "tuidash runs without a log."
        )


class _LogFileHandler(RotatingFileHandler):
    """A rotating file handler that never writes to stderr (the terminal UI owns it).

    The stdlib handler prints "--- Logging error ---" and a traceback on stderr when a
    write fails, which would draw over the dashboard; this one stops writing and
    remembers why instead.
    """

    failure: str | None = None
    """Why a write failed (the handler is silent from then on)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record unless an earlier write failed."""
        if self.failure is None:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """Remember why the write failed and stop writing (nothing on stderr)."""
        error = sys.exc_info()[1]
        text = getattr(error, "strerror", None) or str(error) or type(error).__name__
        self.failure = f"a write failed: {text}"


_current: LogSetup | None = None
_handler: logging.Handler | None = None


def log_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The log folder: ``$TUIDASH_LOG_DIR``, else ``$XDG_STATE_HOME/tuidash``, else
    ``~/.local/state/tuidash``."""
    env = os.environ if environ is None else environ
    if env.get("TUIDASH_LOG_DIR"):
        return Path(env["TUIDASH_LOG_DIR"]).expanduser()
    state = env.get("XDG_STATE_HOME")
    # The XDG spec says a relative value is invalid and must be ignored.
    if state and Path(state).is_absolute():
        return Path(state) / "tuidash"
    return Path.home() / ".local" / "state" / "tuidash"


def log_file(environ: Mapping[str, str] | None = None) -> Path:
    """The log file's path (whether or not it exists)."""
    return log_dir(environ) / LOG_NAME


def current() -> LogSetup | None:
    """What this process logs to (the last ``setup_logging``), or None if it was not called."""
    setup = _current
    if setup is None:
        return None
    handler = _handler
    failure = handler.failure if isinstance(handler, _LogFileHandler) else None
    if failure is not None and setup.reason is None:
        return LogSetup(setup.path, setup.level, failure)
    return setup


def setup_logging(level: str = DEFAULT_LEVEL, environ: Mapping[str, str] | None = None) -> LogSetup:
    """Send tuidash's records at ``level`` or above to the rotating log file.

    Calling it again replaces the handler it added before (nothing else is touched). When
    the folder or the file cannot be written, records go nowhere and ``reason`` says why.
    """
    global _current, _handler
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; choose one of {', '.join(LEVELS)}")
    logger = logging.getLogger(LOGGER_NAME)
    reset_logging()
    logger.setLevel(LEVELS[level])
    path = log_file(environ)
    handler: logging.Handler
    reason = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _LogFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
    except OSError as error:
        reason = error.strerror or str(error)
        if isinstance(error, NotADirectoryError | FileExistsError):
            reason = f"{_blocking_file(path.parent) or path.parent} is a file, not a folder"
        # Records must not fall through to logging's last resort, which prints on stderr.
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    _handler = handler
    _current = LogSetup(path, level, reason)
    return _current


def reset_logging() -> None:
    """Remove (and close) the handler ``setup_logging`` added, if any."""
    global _current, _handler
    handler, _handler, _current = _handler, None, None
    if handler is not None:
        logging.getLogger(LOGGER_NAME).removeHandler(handler)
        # A file that failed (disk gone, closed under us) may fail to flush again.
        with contextlib.suppress(OSError, ValueError):
            handler.close()


def _blocking_file(folder: Path) -> Path | None:
    """The first ancestor of ``folder`` (or itself) that exists but is not a folder."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None
