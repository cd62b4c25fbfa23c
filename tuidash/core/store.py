"""ModelPersistence: the crash-safe pkl + JSON model store (``saved_models/``).

Layout (the original Streamlit app's, so either app opens the other's store)::

    BASE/models/NAME.pkl        the fitted estimator, pickle protocol 5
    BASE/metadata/NAME.json     commit marker + everything shown without unpickling
    BASE/.tuidash.lock          writer lock (filelock)

How a save stays old-or-new after a crash at any instant (power loss included):

1. the pickle is streamed to ``models/.tuidash-tmp-*`` (sha256 computed by a thread as
   it is written) and the new JSON to the name's *pending* file
   ``models/.tuidash-pending-<hash of name>.json``; both are fsynced;
2. ``os.replace`` puts the pickle in place and the models folder is fsynced, which makes
   the new pickle and the pending file durable together;
3. ``os.replace`` moves the pending file to ``metadata/NAME.json`` (the commit) and the
   metadata folder is fsynced.

A reader that finds a pickle whose sha256 does not match ``NAME.json`` looks at the
name's pending file: if that matches the pickle, the save got past step 2 and the new
version is what it reads. The next writer or start-up rolls such a pending file forward
(or deletes it when it does not match), under the writer lock, and removes leftover
temp files. Readers take no lock and never see a torn file: every file they read was
complete before it got its final name, and the bytes they unpickle are the bytes they
hashed.

Loading never runs code from a file: see ``tuidash.core.unpickle``. Listing reads JSON
only; it never unpickles and never imports sklearn.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import json
import math
import os
import queue
import re
import secrets
import shutil
import stat
import threading
import time
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
"""Version of the JSON layout this module writes (absent in the original app's files)."""

MODELS_DIR = "models"
METADATA_DIR = "metadata"
LOCK_NAME = ".tuidash.lock"
INDEX_NAME = ".tuidash-index.json"
TMP_PREFIX = ".tuidash-tmp-"
PENDING_PREFIX = ".tuidash-pending-"
MAX_NAME_BYTES = 250
"""Longest name in UTF-8 bytes: NAME.json must fit the 255-byte file-name limit."""
MAX_JSON_BYTES = 64 * 1024 * 1024
"""A metadata file larger than this is reported as damaged instead of parsed."""
LOCK_TIMEOUT = 60.0
"""Seconds a save waits for another tuidash process's save to finish."""

ORIGINAL_KEYS = ("model_name", "metrics", "params", "predictions", "saved_at")
METRIC_NAMES = ("MAE", "MSE", "RMSE", "MAPE", "R2")

_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in "123456789¹²³"}
    | {f"LPT{i}" for i in "123456789¹²³"}
)
_WINDOWS_FORBIDDEN = set('<>:"|?*')
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
_HASH_IN_THREAD_BYTES = 4 * 1024 * 1024
_READ_CHUNK = 1024 * 1024
_HASH_CHUNK = 32 * 1024 * 1024
"""Large reads between GIL hand-overs: a hashing thread waits up to the interpreter's
switch interval (5 ms) for the GIL after each chunk while another thread unpickles."""


# ---------------------------------------------------------------------------- errors


class StoreError(Exception):
    """A store operation failed; ``message`` is one sentence a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidModelName(StoreError):
    """The name cannot be used as a model name."""


class ModelNotFound(StoreError):
    """No model of that name is in the store."""


class ModelExists(StoreError):
    """A model of that name (or one that would share its files) already exists."""


class ModelDamaged(StoreError):
    """The model's files are missing, torn, unreadable or do not match their checksum."""


class ModelRefused(StoreError):
    """The model's pickle asks for code tuidash will not run, so it was not loaded."""


class StoreWriteError(StoreError):
    """Writing to the store failed; the store is as it was before."""


class InvalidModelData(StoreError):
    """The model_data given to save is missing something or has the wrong shape."""


class _Problem(Exception):
    """Internal: an entry is damaged, refused or orphaned, with the reason."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LoadEvent:
    """One model loaded (or not) by ``ModelPersistence.iter_load``."""

    name: str
    ok: bool
    result: dict[str, Any] | None
    reason: str | None


@dataclass(slots=True)
class _Fetched:
    """A model's JSON and verified pickle bytes, ready to unpickle (or its problem)."""

    name: str
    doc: dict[str, Any] | None = None
    payload: bytes | _OpenPickle | None = None
    warnings: list[str] = field(default_factory=list)
    problem: _Problem | None = None
    not_found: bool = False


# ---------------------------------------------------------------------- environment

_ENVIRONMENT: dict[str, str | None] | None = None


def current_environment() -> dict[str, str | None]:
    """Versions that decide whether a pickle loads the same (no sklearn import)."""
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        import platform
        from importlib import metadata

        def version(dist: str) -> str | None:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                return None

        from tuidash import __version__

        _ENVIRONMENT = {
            "python": platform.python_version(),
            "sklearn": version("scikit-learn"),
            "numpy": version("numpy"),
            "pandas": version("pandas"),
            "tuidash": __version__,
        }
    return dict(_ENVIRONMENT)


def _sklearn_version() -> str | None:
    if _ENVIRONMENT is None:
        current_environment()
    assert _ENVIRONMENT is not None
    return _ENVIRONMENT["sklearn"]


_ENV_LABELS = {"sklearn": "scikit-learn", "numpy": "numpy", "pandas": "pandas"}


_MISMATCH_MEMO: dict[tuple[Any, ...], list[str]] = {}


def environment_mismatch(saved: Mapping[str, Any] | None) -> list[str]:
    """Plain sentences for each library whose version differs from the one saved."""
    if not isinstance(saved, Mapping):
        return []
    memo_key = tuple(saved.get(k) for k in ("python", "sklearn", "numpy", "pandas"))
    if all(isinstance(v, str | None) for v in memo_key):
        known = _MISMATCH_MEMO.get(memo_key)
        if known is None:
            known = _MISMATCH_MEMO[memo_key] = _environment_mismatch(saved)
        return list(known)
    return _environment_mismatch(saved)


def _environment_mismatch(saved: Mapping[str, Any]) -> list[str]:
    now = current_environment()
    out = []
    for key, label in _ENV_LABELS.items():
        then = saved.get(key)
        if isinstance(then, str) and now.get(key) and then != now[key]:
            out.append(f"Saved with {label} {then}; this is {now[key]}, predictions may differ.")
    then_py = saved.get("python")
    now_py = now["python"] or ""
    if isinstance(then_py, str) and then_py.split(".")[:2] != now_py.split(".")[:2]:
        out.append(f"Saved with Python {then_py}; this is {now_py}.")
    return out


# --------------------------------------------------------------------------- names


_NUMBERED_NAME = re.compile(r"^(.*\S) \((\d{1,6})\)$", re.DOTALL)
"""A name that already ends in a free_name number: "Random Forest (2)"."""


def _fold(name: str) -> str:
    """The key under which two names would share files on a case-insensitive disk."""
    return unicodedata.normalize("NFC", name).casefold()


def name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a new model name, as a sentence, or None if it can."""
    if not isinstance(name, str):
        return "A model name must be text."
    if name == "" or name.strip() == "":
        return "A model name cannot be empty."
    shown = repr(name) if len(name) <= 60 else repr(name[:57] + "...")
    if "\x00" in name:
        return f"The model name {shown} contains a NUL character."
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in name):
        return f"The model name {shown} contains control characters."
    if "/" in name or "\\" in name:
        return f"The model name {shown} cannot contain / or \\; use another character."
    if name in (".", ".."):
        return f"The model name {shown} is not allowed."
    if name.startswith("."):
        return f"The model name {shown} cannot start with a dot."
    if name != name.strip():
        return f"The model name {shown} cannot start or end with a space."
    if name.endswith("."):
        return f"The model name {shown} cannot end with a dot."
    bad = sorted(set(name) & _WINDOWS_FORBIDDEN)
    if bad:
        chars = " ".join(bad)
        return f"The model name {shown} cannot contain {chars} (not allowed in file names)."
    stem = name.split(".")[0].rstrip(" ").upper()
    if stem in _WINDOWS_RESERVED:
        return f"The model name {shown} is a reserved device name on Windows; pick another."
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return f"The model name {shown} is not valid text."
    if size > MAX_NAME_BYTES:
        return (
            f"The model name is {size} bytes long; the limit is {MAX_NAME_BYTES} bytes "
            "(UTF-8), so please shorten it."
        )
    return None


def _disk_name_ok(name: Any) -> bool:
    """Looser check for names found on disk (the original app allowed e.g. ':')."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not name.startswith(".tuidash-")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
        and os.sep not in name
        and (os.altsep is None or os.altsep not in name)
        and _encodable(name)
    )


def _encodable(name: str) -> bool:
    if name.isascii():
        return True
    try:
        os.fsencode(name)
        name.encode("utf-8")
    except (UnicodeError, ValueError):
        return False
    return True


# ------------------------------------------------------------------------- file io


def _fsync_dir(path: Path) -> None:
    """Make renames in a folder durable (no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems cannot fsync a folder; anything else is a real failure.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _sync_file(fd: int) -> None:
    """Flush a new file's data and size to disk (fdatasync where the OS has it)."""
    sync = getattr(os, "fdatasync", None)
    if sync is None:  # macOS, Windows
        os.fsync(fd)
    else:
        sync(fd)


def _write_new_file(path: Path, data: bytes | memoryview) -> None:
    """Create ``path`` (must not exist), write all of ``data``, fsync, close."""
    fd = os.open(path, _NEW_FILE_FLAGS, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        _sync_file(fd)
    finally:
        os.close(fd)


_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY


class _HashingWriter:
    """pickle.dump's file: writes to ``fd`` while a thread computes the sha256 behind it."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._hash = hashlib.sha256()
        self._queue: queue.SimpleQueue[Any] | None = None
        self._thread: threading.Thread | None = None
        self.size = 0

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        total = view.nbytes
        done = 0
        while done < total:
            done += os.write(self._fd, view[done:])
        self.size += total
        if self._thread is None and self.size < _HASH_IN_THREAD_BYTES:
            self._hash.update(view)
        else:
            if self._thread is None:
                self._queue = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._run, daemon=True)
                self._thread.start()
            assert self._queue is not None
            self._queue.put(view)
        return total

    def _run(self) -> None:
        assert self._queue is not None
        while (item := self._queue.get()) is not None:
            self._hash.update(item)

    def close(self) -> None:
        """Stop the hashing thread (idempotent)."""
        if self._thread is not None:
            assert self._queue is not None
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def digest(self) -> str:
        """The sha256 of everything written."""
        self.close()
        return self._hash.hexdigest()


def _read_regular(path: str | Path, limit: int | None = None) -> bytes:
    """Read a whole regular file without following a link; OSError if missing."""
    fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY)
    with os.fdopen(fd, "rb", buffering=0) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
        if limit is not None and info.st_size > limit:
            raise _Problem("damaged", f"its file is {info.st_size} bytes, larger than expected")
        return handle.readall()


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        _unlink_quiet(path)


def _unlink_quiet(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _sha256(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


class _OpenPickle:
    """A large pickle hashed in place: unpickled later from the same open file.

    Large files are not copied into memory: they are hashed by streaming through a
    small buffer, then unpickled from the same file descriptor. tuidash never writes
    into an existing file (every save is a new file + rename), and the file's size and
    modification time are checked again after unpickling, so the bytes unpickled are
    the bytes that were hashed.
    """

    def __init__(self, handle: Any, info: os.stat_result) -> None:
        self.handle = handle
        self.info = info

    def unchanged(self) -> bool:
        """True if nothing wrote to the file since it was hashed."""
        # Not st_ctime: renames and hard links of the same inode (a save's backup) change it.
        now = os.fstat(self.handle.fileno())
        return (now.st_size, now.st_mtime_ns) == (self.info.st_size, self.info.st_mtime_ns)

    def close(self) -> None:
        self.handle.close()


def _read_hashed(
    path: str | Path, want_hash: bool, chunk_size: int = _READ_CHUNK
) -> tuple[bytes | _OpenPickle, str | None]:
    """A regular file's bytes (or, if large, its open handle) and its sha256."""
    fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY)
    handle: Any = os.fdopen(fd, "rb", buffering=_READ_CHUNK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
        if not want_hash or info.st_size < _HASH_IN_THREAD_BYTES:
            data = handle.raw.readall()
            handle.close()
            return data, (_sha256(data) if want_hash else None)
        hasher = hashlib.sha256()
        chunk = bytearray(min(info.st_size, chunk_size))
        view = memoryview(chunk)
        raw = handle.raw
        while count := raw.readinto(view):
            hasher.update(view[:count])
        raw.seek(0)
        return _OpenPickle(handle, info), hasher.hexdigest()
    except BaseException:
        handle.close()
        raise


class _FilesOf:
    """An entry's files relative to the store, built only when a problem needs them."""

    __slots__ = ("_json", "_pkl")

    def __init__(self, json_entry: os.DirEntry[str] | None, pkl_entry: Any) -> None:
        self._json, self._pkl = json_entry, pkl_entry

    def __iter__(self) -> Iterator[str]:
        if self._json is not None:
            yield f"{METADATA_DIR}/{self._json.name}"
        if self._pkl is not None:
            yield f"{MODELS_DIR}/{self._pkl.name}"


class _PreHasher:
    """Hashes the large pickles of a load list ahead of the thread that unpickles them.

    Small pickles are left to the consumer (handing them over costs more than hashing
    them); at most ``depth`` hashed files wait, open, for the consumer.
    """

    def __init__(self, paths: list[str | None], depth: int = 2) -> None:
        # Sizes first (cheap): only large regular files go to the thread.
        self._large: list[tuple[int, str]] = []
        for position, path in enumerate(paths):
            if path is None:
                continue
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_size >= _HASH_IN_THREAD_BYTES:
                self._large.append((position, path))
        self._wanted = {position for position, _ in self._large}
        self._results: dict[int, Any] = {}
        self._stop = False
        self._cond = threading.Condition()
        self._slots = threading.Semaphore(depth)
        self._thread: threading.Thread | None = None
        if self._large:
            self._thread = threading.Thread(target=self._run, name="tuidash-prehash", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        for position, path in self._large:
            while not self._slots.acquire(timeout=0.1):
                if self._stop:
                    return
            if self._stop:
                return
            try:
                result: Any = _read_hashed(path, True, _HASH_CHUNK)
            except OSError:
                result = None  # the consumer reads it again and reports
            with self._cond:
                self._results[position] = result
                self._cond.notify_all()

    def take(self, position: int) -> Any:
        """(payload, digest) of the pickle at ``position`` if hashed ahead, else None."""
        if position not in self._wanted or self._thread is None:
            return None
        self._wanted.discard(position)
        with self._cond:
            while position not in self._results and self._thread.is_alive():
                self._cond.wait(0.1)
            result = self._results.pop(position, None)
        self._slots.release()
        if result is None:
            return None
        return result

    def close(self) -> None:
        """Stop the thread and close files it hashed that nobody took."""
        self._stop = True
        if self._thread is not None:
            self._thread.join()
        for result in self._results.values():
            if result is not None:
                _close_payload(result[0])
        self._results.clear()


def _close_payload(payload: Any) -> None:
    if isinstance(payload, _OpenPickle):
        payload.close()


def _reject_constant(value: str) -> Any:
    raise ValueError(f"it contains {value}, which is not valid JSON")


_fast_loads: Any
try:  # optional: parses the metadata about 5x faster; the json module is the fallback
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - depends on the environment
    _fast_loads = None


def _parse_json(raw: bytes) -> Any:
    """Strict JSON: NaN/Infinity are errors, as in the files tuidash writes."""
    if _fast_loads is not None:
        try:
            return _fast_loads(raw)  # strict too: refuses NaN and Infinity
        except ValueError:
            pass  # let the json module give the precise reason (or accept huge ints)
    return json.loads(raw, parse_constant=_reject_constant)


# ------------------------------------------------------------------- JSON contents


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_doc(doc: Any, name: str) -> dict[str, Any]:
    """Validate a metadata document of entry ``name``; raise _Problem("damaged")."""
    if not isinstance(doc, dict):
        raise _Problem("damaged", "its metadata is not a JSON object")
    missing = [key for key in ORIGINAL_KEYS if key not in doc]
    if missing:
        raise _Problem("damaged", "its metadata is missing " + ", ".join(missing))
    model_name = doc["model_name"]
    if not isinstance(model_name, str):
        raise _Problem("damaged", "its metadata has a model_name that is not text")
    if model_name != name:
        raise _Problem(
            "damaged",
            f"its metadata names another model ({model_name[:80]!r}), not its own file",
        )
    if not isinstance(doc["saved_at"], str):
        raise _Problem("damaged", "its saved_at is not text")
    metrics = doc["metrics"]
    if not isinstance(metrics, dict) or not all(
        isinstance(k, str) and (v is None or _is_number(v)) for k, v in metrics.items()
    ):
        raise _Problem("damaged", "its metrics are not a mapping of names to numbers")
    if not isinstance(doc["params"], dict):
        raise _Problem("damaged", "its params are not a mapping")
    predictions = doc["predictions"]
    if predictions is not None:
        if not isinstance(predictions, dict):
            raise _Problem("damaged", "its predictions are not a mapping")
        for key in ("y_pred", "y_test"):
            values = predictions.get(key)
            if values is not None and not isinstance(values, list):
                raise _Problem("damaged", f"its predictions.{key} is not a list")
        importance = predictions.get("feature_importance")
        if importance is not None and not isinstance(importance, dict):
            raise _Problem("damaged", "its feature_importance is not a mapping")
    reasons = doc.get("metric_reasons")
    if reasons is not None and not isinstance(reasons, dict):
        raise _Problem("damaged", "its metric_reasons are not a mapping")
    model_file = doc.get("model_file")
    if model_file is not None:
        if not isinstance(model_file, dict):
            raise _Problem("damaged", "its model_file is not a mapping")
        file_name = model_file.get("name")
        if file_name != f"{name}.pkl":
            raise _Problem(
                "damaged",
                f"its model_file names {str(file_name)[:80]!r} instead of its own pickle "
                "(tuidash only reads models/NAME.pkl)",
            )
        sha = model_file.get("sha256")
        if not isinstance(sha, str) or not _SHA256_RE.fullmatch(sha):
            raise _Problem("damaged", "its model_file.sha256 is not a sha256 hex digest")
        size = model_file.get("bytes")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise _Problem("damaged", "its model_file.bytes is not a file size")
    elif "schema_version" in doc:
        raise _Problem("damaged", "its metadata has no model_file checksum")
    for key, kind in (("environment", dict), ("data", dict), ("cv", dict)):
        if doc.get(key) is not None and not isinstance(doc[key], kind):
            raise _Problem("damaged", f"its {key} is not a mapping")
    schema = doc.get("schema_version")
    if schema is not None and (not isinstance(schema, int) or isinstance(schema, bool)):
        raise _Problem("damaged", "its schema_version is not a whole number")
    return doc


_isfinite = math.isfinite


def _to_jsonable(value: Any, depth: int = 0) -> Any:
    """Plain JSON types from numpy/pandas values; non-finite floats become None."""
    if depth > 50:
        raise InvalidModelData("The model data is nested too deeply to save as JSON.")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _to_jsonable(v, depth + 1) for k, v in value.items()}
    if type(value) is list and all(type(v) is float and _isfinite(v) for v in value):
        return list(value)  # the common case: prediction arrays, done without recursion
    if isinstance(value, list | tuple | set | frozenset):
        return [_to_jsonable(v, depth + 1) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy arrays and scalars, pandas Series/Index
        return _to_jsonable(tolist(), depth + 1)
    item = getattr(value, "item", None)
    if callable(item):
        return _to_jsonable(item(), depth + 1)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _clean_metrics(
    metrics: Any, reasons: Mapping[str, Any] | None
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Metrics as finite floats or None, with a reason for each None."""
    if metrics is None:
        metrics = {}
    if not isinstance(metrics, Mapping):
        raise InvalidModelData("The model's metrics must be a mapping of metric names to numbers.")
    out: dict[str, float | None] = {}
    why: dict[str, str] = {str(k): str(v) for k, v in (reasons or {}).items()}
    for key, raw in metrics.items():
        key = str(key)
        if raw is None:
            out[key] = None
            why.setdefault(key, "It could not be computed for this data.")
            continue
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise InvalidModelData(f"The metric {key} is not a number ({raw!r}).") from None
        if isinstance(raw, bool):
            raise InvalidModelData(f"The metric {key} is not a number ({raw!r}).")
        if math.isfinite(number):
            out[key] = number
        else:
            out[key] = None
            why.setdefault(key, f"It is undefined for this data (the result was {number}).")
    return out, {k: v for k, v in why.items() if out.get(k, 0.0) is None or k not in out}


# ------------------------------------------------------------------------- the store


class ModelPersistence:
    """The pkl + JSON model store with the original app's API, made crash-safe.

    ``loaded_models`` maps a name to its ``load_model`` result for every model that
    ``load_all_models`` (or ``load_model``) loaded in this process.
    """

    def __init__(self, base_dir: str | os.PathLike[str] = "saved_models") -> None:
        """Open (and create) the store; clean temp files a crashed save left, if safe."""
        self.base_dir = Path(os.path.abspath(os.path.expanduser(os.fspath(base_dir))))
        self.models_dir = self.base_dir / MODELS_DIR
        self.metadata_dir = self.base_dir / METADATA_DIR
        self._models_str = str(self.models_dir)
        self._metadata_str = str(self.metadata_dir)
        self.loaded_models: dict[str, dict[str, Any]] = {}
        """Name -> load_model() result of each model loaded in this process."""
        self.last_error: str | None = None
        """The message of the last load_model() that returned None."""
        self._load_problems: dict[str, tuple[tuple[int, ...], _Problem]] = {}
        self._folds: tuple[tuple[int, ...], dict[str, set[str]]] | None = None
        self._writer_lock: Any = None
        try:
            self._ensure_dirs()
        except OSError:
            return  # read-only or missing store: listing and loading still work
        self._cleanup(blocking=False)

    # ----------------------------------------------------------------- paths/locks

    def _pkl(self, name: str) -> Path:
        return self.models_dir / f"{name}.pkl"

    def _pkl_str(self, name: str) -> str:
        # Plain strings on the load path: a Path per file is measurable per model.
        return f"{self._models_str}{os.sep}{name}.pkl"

    def _json_str(self, name: str) -> str:
        return f"{self._metadata_str}{os.sep}{name}.json"

    def _json(self, name: str) -> Path:
        return self.metadata_dir / f"{name}.json"

    def _pending(self, name: str) -> Path:
        key = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        return self.models_dir / f"{PENDING_PREFIX}{key}.json"

    def _ensure_dirs(self) -> None:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.metadata_dir.mkdir(parents=True, exist_ok=True)

    def _lock(self, timeout: float = LOCK_TIMEOUT) -> Any:
        """The cross-process writer lock (one reusable, re-entrant lock object)."""
        if self._writer_lock is None:
            from filelock import FileLock

            self._writer_lock = FileLock(str(self.base_dir / LOCK_NAME))
        return self._writer_lock.acquire(timeout=timeout)

    def _cleanup(self, *, blocking: bool) -> None:
        """Under the writer lock: finish or drop interrupted saves, delete temp files."""
        if not self._has_leftovers():
            return  # the usual case: no lock, no second look
        from filelock import Timeout

        try:
            with self._lock(timeout=LOCK_TIMEOUT if blocking else 0):
                self._cleanup_locked()
        except Timeout:
            return  # another process is saving; its temp files are live
        except OSError:
            return

    def _has_leftovers(self) -> bool:
        for folder in (self.models_dir, self.metadata_dir, self.base_dir):
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            # str.startswith mapped in C: a per-name generator costs ~0.5 ms per 1,000.
            if any(map(str.startswith, names, itertools.repeat((TMP_PREFIX, PENDING_PREFIX)))):
                return True
        return False

    def _cleanup_locked(self) -> None:
        for folder in (self.models_dir, self.metadata_dir, self.base_dir):
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith(PENDING_PREFIX) and folder == self.models_dir:
                    self._recover_pending(Path(entry.path))
                elif entry.name.startswith(TMP_PREFIX) and not entry.is_dir(follow_symlinks=False):
                    _unlink_quiet(Path(entry.path))

    def _recover_pending(self, pending: Path) -> None:
        """Roll an interrupted save forward if its pickle is in place, else drop it."""
        try:
            doc = _parse_json(_read_regular(pending, MAX_JSON_BYTES))
            name = doc.get("model_name") if isinstance(doc, dict) else None
            if (
                not isinstance(name, str)
                or not _disk_name_ok(name)
                or self._pending(name) != pending
            ):
                raise ValueError("pending file does not belong to its name")
            _check_doc(doc, name)
            payload, digest = _read_hashed(self._pkl(name), True)
            _close_payload(payload)
            if digest != doc["model_file"]["sha256"]:
                raise ValueError("the pickle was not replaced")
        except (OSError, ValueError, KeyError, TypeError, _Problem):
            _unlink_quiet(pending)
            return
        os.replace(pending, self._json(name))
        _fsync_dir(self.metadata_dir)

    # ----------------------------------------------------------------------- names

    def check_name(self, name: str) -> None:
        """Raise InvalidModelName with a sentence if ``name`` cannot name a new model."""
        problem = name_problem(name)
        if problem:
            raise InvalidModelName(problem)

    def _scan(self) -> tuple[dict[str, os.DirEntry[str]], dict[str, os.DirEntry[str]]]:
        """Entries of metadata/*.json and models/*.pkl by name (no following links)."""

        def scan(folder: Path, suffix: str) -> dict[str, os.DirEntry[str]]:
            found: dict[str, os.DirEntry[str]] = {}
            try:
                entries = os.scandir(folder)
            except OSError:
                return found
            with entries:
                for entry in entries:
                    if not entry.name.endswith(suffix) or entry.name.startswith(".tuidash-"):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        continue  # a user's folder, not an entry
                    name = entry.name[: -len(suffix)]
                    # A folder listing has no NUL or '/'; only these can be wrong.
                    if name and name not in (".", "..") and "\\" not in name:
                        found[name] = entry
            return found

        return scan(self.metadata_dir, ".json"), scan(self.models_dir, ".pkl")

    def _existing_names(self) -> set[str]:
        jsons, pkls = self._scan()
        return set(jsons) | set(pkls)

    def free_name(self, name: str) -> str:
        """``name`` if unused, else the first free "name (2)", "name (3)", ..."""
        taken = {_fold(n) for n in self._existing_names()}
        if _fold(name) not in taken:
            return name
        # "X (2)" taken -> "X (3)", not "X (2) (2)": count on from a number already there.
        numbered = _NUMBERED_NAME.match(name)
        stem, first = (numbered.group(1), int(numbered.group(2)) + 1) if numbered else (name, 2)
        for number in range(first, first + 100_000):
            suffix = f" ({number})"
            base = stem
            while len((base + suffix).encode("utf-8")) > MAX_NAME_BYTES:
                base = base[:-1]
            candidate = base.rstrip(" .") + suffix
            if _fold(candidate) not in taken:
                return candidate
        raise ModelExists(f"Could not find a free name starting with {name!r}.")

    # ------------------------------------------------------------------------ save

    def save_model(
        self, model_name: str, model_data: Mapping[str, Any], *, replace: bool = False
    ) -> tuple[bool, str]:
        """Save a model; (True, message) or (False, a sentence saying what went wrong)."""
        try:
            return True, self.save(model_name, model_data, replace=replace)
        except StoreError as exc:
            return False, exc.message

    def save(self, name: str, data: Mapping[str, Any], replace: bool = False) -> str:
        """Save a model or raise a StoreError subclass; returns a confirmation sentence."""
        self.check_name(name)
        if not isinstance(data, Mapping) or "model" not in data:
            raise InvalidModelData("The model data must be a mapping with a fitted 'model'.")
        doc = self._build_doc(name, data)
        try:
            self._ensure_dirs()
        except OSError as exc:
            raise StoreWriteError(
                f"Could not create the store folder {self.base_dir}: {exc.strerror or exc}."
            ) from None
        from filelock import Timeout

        try:
            # The lock covers pickling too: a temp file only exists while its writer holds
            # the lock, so whoever holds it may delete any temp file it finds.
            with self._lock():
                existed = self._check_target(name, replace)
                self._write_locked(name, doc, data["model"], existed)
        except Timeout:
            raise StoreWriteError(
                "Another tuidash process has been saving to this store for over "
                f"{LOCK_TIMEOUT:.0f} seconds; try again later."
            ) from None
        except OSError as exc:  # the lock file itself could not be created
            raise StoreWriteError(self._write_failure(name, exc)) from None
        self.loaded_models.pop(name, None)
        self._load_problems.pop(name, None)
        verb = "Replaced" if existed else "Saved"
        return f"{verb} model '{name}'."

    def _folder_key(self) -> tuple[int, ...]:
        try:
            a, b = os.stat(self.metadata_dir), os.stat(self.models_dir)
        except OSError:
            return ()
        return (a.st_ino, a.st_mtime_ns, b.st_ino, b.st_mtime_ns)

    def _fold_map(self, refresh: bool = False) -> dict[str, set[str]]:
        """Case-folded name -> names on disk; rescanned when a folder changes."""
        key = self._folder_key()
        if refresh or self._folds is None or self._folds[0] != key or not key:
            folds: dict[str, set[str]] = {}
            for other in self._existing_names():
                folds.setdefault(_fold(other), set()).add(other)
            self._folds = (key, folds)
        return self._folds[1]

    def _check_target(self, name: str, replace: bool) -> bool:
        """Under the lock: refuse clashes; return True if ``name`` exists (replace)."""
        exists = os.path.lexists(self._json(name)) or os.path.lexists(self._pkl(name))
        folded = _fold(name)
        same = self._fold_map().get(folded, set())
        if exists and name not in same:
            # A case-insensitive disk found another spelling: look again to name it.
            same = self._fold_map(refresh=True).get(folded, set())
        for other in sorted(same - {name}):
            raise ModelExists(
                f"A model named '{other}' already exists; names that differ only in "
                "upper/lower case would share files on some disks, so pick another name."
            )
        if exists:
            if not replace:
                raise ModelExists(
                    f"A model named '{name}' already exists; choose another name or "
                    "confirm replacing it."
                )
            return True
        return False

    def _build_doc(self, name: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON document (without model_file) for ``data``; strict-JSON clean."""
        metrics, reasons = _clean_metrics(data.get("metrics"), data.get("metric_reasons"))
        predictions = data.get("predictions")
        if predictions is not None and not isinstance(predictions, Mapping):
            raise InvalidModelData("The model's predictions must be a mapping.")
        params = data.get("params") or {}
        if not isinstance(params, Mapping):
            raise InvalidModelData("The model's params must be a mapping.")
        doc: dict[str, Any] = {
            "model_name": name,
            "metrics": metrics,
            "params": _to_jsonable(params),
            "predictions": _to_jsonable(
                {
                    "y_pred": (predictions or {}).get("y_pred"),
                    "y_test": (predictions or {}).get("y_test"),
                    "feature_importance": (predictions or {}).get("feature_importance"),
                }
            ),
            "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "schema_version": SCHEMA_VERSION,
            "metric_reasons": reasons,
        }
        reserved = {"model", "metrics", "metric_reasons", "params", "predictions"}
        reserved |= {"model_name", "saved_at", "schema_version", "model_file", "environment"}
        for key, value in data.items():
            if isinstance(key, str) and key not in reserved:
                doc[key] = _to_jsonable(value)
        doc.setdefault("task", "regression")
        doc["environment"] = current_environment()
        return doc

    def _write_locked(self, name: str, doc: dict[str, Any], model: Any, existed: bool) -> None:
        """The crash-safe write sequence (see the module docstring); rolls back on error."""
        import pickle

        token = secrets.token_hex(8)
        tmp_pkl = self.models_dir / f"{TMP_PREFIX}{token}.pkl"
        pending = self._pending(name)
        pkl, meta = self._pkl(name), self._json(name)
        # The old files, kept so an error after a rename can put them back: small ones
        # as bytes in memory, large ones as a hard link (no copy).
        backups: dict[Path, Path | bytes | None] = {pkl: None, meta: None}
        placed = committed = False
        sink: _HashingWriter | None = None
        try:
            if os.path.lexists(pending):
                self._recover_pending(pending)
            fd = os.open(tmp_pkl, _NEW_FILE_FLAGS, 0o644)
            try:
                sink = _HashingWriter(fd)
                try:
                    pickle.dump(model, sink, protocol=5)
                except OSError:
                    raise
                except Exception as exc:  # any object can fail to pickle in its own way
                    raise InvalidModelData(
                        f"The model could not be pickled: {_short(exc)}."
                    ) from None
                # Flush first: the hashing thread catches up while the disk writes.
                _sync_file(fd)
                digest = sink.digest()
            finally:
                os.close(fd)
            doc["model_file"] = {"name": pkl.name, "sha256": digest, "bytes": sink.size}
            encoded = json.dumps(doc, allow_nan=False, ensure_ascii=False).encode("utf-8")
            _write_new_file(pending, encoded)
            if existed:
                for target in (pkl, meta):
                    backups[target] = self._backup(target, token)
            os.replace(tmp_pkl, pkl)
            placed = True
            _fsync_dir(self.models_dir)
            os.replace(pending, meta)
            committed = True
            _fsync_dir(self.metadata_dir)
        except BaseException as exc:
            self._roll_back(existed, (placed, committed), backups, pending, tmp_pkl)
            if isinstance(exc, OSError):
                raise StoreWriteError(self._write_failure(name, exc)) from None
            raise
        finally:
            if sink is not None:
                sink.close()
            _unlink_quiet(tmp_pkl)
            links = [link for link in backups.values() if isinstance(link, Path)]
            if links:
                # Dropping the last link of a large old version frees all its blocks,
                # which takes a while; the save does not need to wait for it.
                threading.Thread(target=_unlink_all, args=(links,), name="tuidash-free").start()
        if self._folds is not None:
            # Our own rename changed the folders' mtimes: keep the map, take the new key.
            folds = self._folds[1]
            folds.setdefault(_fold(name), set()).add(name)
            self._folds = (self._folder_key(), folds)

    def _roll_back(
        self,
        existed: bool,
        renamed: tuple[bool, bool],
        backups: dict[Path, Path | bytes | None],
        pending: Path,
        tmp_pkl: Path,
    ) -> None:
        """Put the store back as it was before a failed save (best effort)."""
        done = [path for path, flag in zip(backups, renamed, strict=True) if flag]
        for path in reversed(done):  # the JSON first: un-commit before touching the pickle
            with contextlib.suppress(OSError):
                old = backups[path]
                if isinstance(old, Path) and os.path.lexists(old):
                    os.replace(old, path)
                    backups[path] = None
                elif isinstance(old, bytes):
                    restore = path.parent / f"{TMP_PREFIX}{secrets.token_hex(8)}.restore"
                    try:
                        _write_new_file(restore, old)
                        os.replace(restore, path)
                    finally:
                        _unlink_quiet(restore)
                elif not existed:
                    os.unlink(path)
        _unlink_quiet(pending)
        _unlink_quiet(tmp_pkl)

    @staticmethod
    def _backup(target: Path, token: str) -> Path | bytes | None:
        """Keep the old version of ``target`` for a roll-back (None if there is none)."""
        try:
            info = os.lstat(target)
            if not stat.S_ISREG(info.st_mode):
                return None
            if info.st_size < _HASH_IN_THREAD_BYTES:
                return _read_regular(target)
            link = target.parent / f"{TMP_PREFIX}{token}.old"
            os.link(target, link, follow_symlinks=False)
            return link
        except OSError:
            return None

    def _write_failure(self, name: str, exc: OSError) -> str:
        if exc.errno == errno.ENOSPC:
            return f"Could not save model '{name}': the disk is full. Nothing was changed."
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return (
                f"Could not save model '{name}': no permission to write in {self.base_dir}. "
                "Nothing was changed."
            )
        return f"Could not save model '{name}': {exc.strerror or exc}. Nothing was changed."

    # --------------------------------------------------------------------- listing

    def list_saved_models(self, *, predictions: bool = True) -> list[dict[str, Any]]:
        """Every good model's metadata from its JSON (no unpickling, no sklearn import).

        With ``predictions=False`` the prediction arrays are left out (``None``) and the
        entries come from a listing cache when the files have not changed: this is the
        fast path for showing names and metrics.
        """
        entries, _problems = self._survey(predictions=predictions)
        return entries

    def _survey(self, *, predictions: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Listing entries and problems of everything in the store's folders."""
        jsons, pkls = self._scan()
        use_index = not predictions
        index = self._read_index() if use_index else {}
        new_index: dict[str, Any] = {}
        changed = False
        entries: list[dict[str, Any]] = []
        problems: list[dict[str, Any]] = []
        load_problems = self._load_problems
        for name in sorted(jsons.keys() | pkls.keys(), key=lambda n: (_fold(n), n)):
            json_entry, pkl_entry = jsons.get(name), pkls.get(name)
            if json_entry is None:
                problems.append(
                    self._problem_row(
                        name,
                        _FilesOf(json_entry, pkl_entry),
                        "orphaned",
                        "its pickle has no metadata file",
                    )
                )
                continue
            try:
                # _stat_key inlined: one lstat of the JSON, the pickle's inode from scandir.
                info = json_entry.stat(follow_symlinks=False)
                key = (
                    info.st_ino,
                    info.st_size,
                    info.st_mtime_ns,
                    pkl_entry.inode() if pkl_entry is not None else 0,
                )
                cached = index.get(name)
                if cached is not None and cached[0] == key:
                    new_index[name] = cached
                    if isinstance(cached[1], _Problem):
                        raise cached[1]
                    entry = cached[1]
                else:
                    entry = self._list_entry(name, json_entry, pkl_entry, predictions)
                    if use_index:
                        new_index[name] = (key, entry)
                        changed = True
            except _Problem as problem:
                if use_index and problem.kind == "damaged" and name not in new_index:
                    new_index[name] = (key, problem)  # the stat taken above; no second lstat
                    changed = True
                problems.append(
                    self._problem_row(
                        name, _FilesOf(json_entry, pkl_entry), problem.kind, problem.reason
                    )
                )
                continue
            except OSError as exc:
                problems.append(
                    self._problem_row(
                        name,
                        _FilesOf(json_entry, pkl_entry),
                        "damaged",
                        f"it could not be read ({exc.strerror})",
                    )
                )
                continue
            remembered = load_problems.get(name) if load_problems else None
            if remembered is not None and remembered[0] == key:
                problems.append(
                    self._problem_row(
                        name,
                        _FilesOf(json_entry, pkl_entry),
                        remembered[1].kind,
                        remembered[1].reason,
                    )
                )
                continue
            entries.append(entry)
        if use_index and (changed or len(new_index) != len(index)):
            self._write_index(new_index)
        return entries, problems

    @staticmethod
    def _stat_key(
        json_entry: os.DirEntry[str], pkl_entry: os.DirEntry[str] | None
    ) -> tuple[int, int, int, int]:
        """Changes whenever the JSON is replaced or edited, or the pickle is replaced."""
        info = json_entry.stat(follow_symlinks=False)
        pkl_ino = pkl_entry.inode() if pkl_entry is not None else 0
        return (info.st_ino, info.st_size, info.st_mtime_ns, pkl_ino)

    def _problem_row(self, name: str, files: Any, kind: str, reason: str) -> dict[str, Any]:
        return {"name": name, "files": list(files), "reason": reason, "kind": kind}

    def _list_entry(
        self,
        name: str,
        json_entry: os.DirEntry[str],
        pkl_entry: os.DirEntry[str] | None,
        predictions: bool,
    ) -> dict[str, Any]:
        """One listing row from the JSON; raise _Problem for a bad entry."""
        if json_entry.is_symlink():
            raise _Problem(
                "damaged", "its metadata file is a symbolic link, which tuidash does not follow"
            )
        try:
            raw = _read_regular(Path(json_entry.path), MAX_JSON_BYTES)
        except IsADirectoryError:
            raise _Problem("damaged", "its metadata is not a regular file") from None
        try:
            doc = _check_doc(_parse_json(raw), name)
        except ValueError as exc:
            raise _Problem("damaged", f"its metadata is not valid JSON ({_short(exc)})") from None
        if pkl_entry is None:
            raise _Problem("damaged", "its pickle file is missing")
        if pkl_entry.is_symlink():
            raise _Problem(
                "damaged", "its pickle is a symbolic link, which tuidash does not follow"
            )
        if not pkl_entry.is_file(follow_symlinks=False):
            raise _Problem("damaged", "its pickle is not a regular file")
        pkl_bytes = pkl_entry.stat(follow_symlinks=False).st_size
        model_file = doc.get("model_file")
        if model_file is not None and model_file["bytes"] != pkl_bytes:
            pending = self._read_pending(name)
            if pending is None or pending["model_file"]["bytes"] != pkl_bytes:
                raise _Problem(
                    "damaged",
                    f"its pickle is {pkl_bytes} bytes but {model_file['bytes']} were saved "
                    "(a torn or replaced file)",
                )
            doc = pending
        return self._row(name, doc, len(raw) + pkl_bytes, pkl_bytes, predictions)

    @staticmethod
    def _row(
        name: str, doc: dict[str, Any], size: int, pkl_bytes: int, predictions: bool
    ) -> dict[str, Any]:
        preds = doc.get("predictions") or {}
        return {
            "name": name,
            "saved_at": doc["saved_at"],
            "metrics": doc["metrics"],
            "metric_reasons": doc.get("metric_reasons") or {},
            "params": doc["params"],
            "model_type": doc.get("model_type"),
            "task": doc.get("task", "regression"),
            "size_bytes": size,
            "pkl_bytes": pkl_bytes,
            "data": doc.get("data"),
            "environment": doc.get("environment"),
            "environment_mismatch": environment_mismatch(doc.get("environment")),
            "train_seconds": doc.get("train_seconds"),
            "schema_version": doc.get("schema_version"),
            "predictions": preds if predictions else None,
            "predictions_total": doc.get("predictions_total"),
            "feature_importance": preds.get("feature_importance"),
            "verified": doc.get("model_file") is not None,
        }

    def _read_pending(self, name: str) -> dict[str, Any] | None:
        """The name's pending JSON (an interrupted or in-flight save), if valid."""
        try:
            doc = _check_doc(_parse_json(_read_regular(self._pending(name), MAX_JSON_BYTES)), name)
        except (OSError, ValueError, _Problem):
            return None
        return doc if doc.get("model_file") is not None else None

    def _read_index(self) -> dict[str, tuple[tuple[int, ...], Any]]:
        """The listing cache: name -> (stat key, listing row or _Problem).

        A plain file in the store, so nothing in it is trusted beyond what a listing
        shows: rows are type-checked, and loading always reads the model's own JSON.
        """
        try:
            index = _parse_json(_read_regular(self.base_dir / INDEX_NAME, MAX_JSON_BYTES))
        except (OSError, ValueError, _Problem):
            return {}
        if not isinstance(index, dict) or index.get("version") != _INDEX_VERSION:
            return {}
        rows, envs = index.get("rows"), index.get("envs")
        if not isinstance(rows, dict) or not isinstance(envs, list):
            return {}
        mismatch = [environment_mismatch(env) if isinstance(env, dict) else [] for env in envs]
        width = len(_INDEX_FIELDS)
        out: dict[str, tuple[tuple[int, ...], Any]] = {}
        for name, item in rows.items():
            try:
                key = tuple(item[0])
                if item[1] == "problem":
                    kind, reason = item[2], item[3]
                    if kind == "damaged" and isinstance(reason, str):
                        out[name] = (key, _Problem(kind, reason))
                    continue
                values = item[1]
                if len(values) != width:
                    continue
                row = dict(zip(_INDEX_FIELDS, values, strict=True))
                env_at = row["environment"]
                row["environment"] = dict(envs[env_at]) if env_at is not None else None
                row["environment_mismatch"] = list(mismatch[env_at]) if env_at is not None else []
                row["name"] = name
                row["predictions"] = None
                if _row_ok(row):
                    out[name] = (key, row)
            except (TypeError, IndexError, KeyError):
                continue
        return out

    def _write_index(self, rows: dict[str, tuple[tuple[int, ...], Any]]) -> None:
        """Replace the listing cache atomically; failures only cost speed next time."""
        tmp = self.base_dir / f"{TMP_PREFIX}index-{secrets.token_hex(8)}"
        envs: list[Any] = []
        env_ids: dict[str, int] = {}
        encoded: dict[str, Any] = {}
        try:
            for name, (key, row) in rows.items():
                if isinstance(row, _Problem):
                    encoded[name] = [list(key), "problem", row.kind, row.reason]
                    continue
                env = row.get("environment")
                env_at = None
                if env is not None:
                    env_key = json.dumps(env, sort_keys=True)
                    env_at = env_ids.get(env_key)
                    if env_at is None:
                        env_at = env_ids[env_key] = len(envs)
                        envs.append(env)
                values = [env_at if f == "environment" else row.get(f) for f in _INDEX_FIELDS]
                encoded[name] = [list(key), values]
            data = json.dumps(
                {"version": _INDEX_VERSION, "envs": envs, "rows": encoded},
                allow_nan=False,
                separators=(",", ":"),
            ).encode()
            fd = os.open(tmp, _NEW_FILE_FLAGS, 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, self.base_dir / INDEX_NAME)
        except (OSError, ValueError, TypeError):
            _unlink_quiet(tmp)

    # --------------------------------------------------------------------- loading

    def load_model(self, model_name: str) -> dict[str, Any] | None:
        """Load one model; None (reason in ``last_error``) if it is missing or bad."""
        try:
            result = self.open_model(model_name)
        except StoreError as exc:
            self.last_error = exc.message
            return None
        self.last_error = None
        return result

    def open_model(self, name: str) -> dict[str, Any]:
        """Load one model or raise ModelNotFound, ModelDamaged or ModelRefused."""
        if not _disk_name_ok(name):
            if isinstance(name, str) and name_problem(name):
                raise InvalidModelName(name_problem(name) or "")
            raise ModelNotFound(f"There is no model named {name!r}.")
        fetched = self._fetch(name)
        result = self._finish(fetched)
        return result

    def _fetch(self, name: str, prehashed: Any = None) -> _Fetched:
        """Read and verify one model's files (no unpickling).

        ``prehashed`` is (payload, digest) of the pickle from a _PreHasher; it is used
        on the first attempt only (a retry reads the files again).
        """
        out = _Fetched(name)
        for attempt in range(3):
            try:
                out.doc, out.payload, out.warnings = self._fetch_once(name, prehashed)
                prehashed = None
                out.problem = None
                return out
            except FileNotFoundError:
                out.not_found = True
                out.problem = _Problem("damaged", "its files are missing")
                return out
            except _Problem as problem:
                out.problem = problem
                if problem.kind != "retry":
                    return out
            except OSError as exc:
                out.problem = _Problem("damaged", f"it could not be read ({exc.strerror})")
                return out
            finally:
                if prehashed is not None:
                    _close_payload(prehashed[0])
                    prehashed = None
            # A save of this name may be committing right now; give it a moment.
            time.sleep(0.01 * (attempt + 1))
        assert out.problem is not None
        out.problem = _Problem("damaged", out.problem.reason)
        return out

    def _fetch_once(
        self, name: str, prehashed: Any = None
    ) -> tuple[dict[str, Any], bytes | _OpenPickle, list[str]]:
        meta_path = self._json_str(name)
        try:
            raw = _read_regular(meta_path, MAX_JSON_BYTES)
        except FileNotFoundError:
            if os.path.lexists(self._pkl_str(name)):
                raise _Problem("orphaned", "its pickle has no metadata file") from None
            raise
        except IsADirectoryError:
            raise _Problem("damaged", "its metadata is not a regular file") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _Problem(
                    "damaged",
                    "its metadata file is a symbolic link, which tuidash does not follow",
                ) from None
            raise
        try:
            parsed = _parse_json(raw)
        except ValueError as exc:
            raise _Problem("damaged", f"its metadata is not valid JSON ({_short(exc)})") from None
        if isinstance(parsed, dict):
            other = parsed.get("model_name")
            if isinstance(other, str) and other != name and _fold(other) == _fold(name):
                # A case-insensitive disk opened another model's file for this spelling.
                raise FileNotFoundError(errno.ENOENT, "no such model", str(meta_path))
        doc = _check_doc(parsed, name)
        pkl_path = self._pkl_str(name)
        try:
            if prehashed is not None:
                payload, digest = prehashed
            else:
                payload, digest = _read_hashed(pkl_path, doc.get("model_file") is not None)
        except FileNotFoundError:
            raise _Problem("damaged", "its pickle file is missing") from None
        except IsADirectoryError:
            raise _Problem("damaged", "its pickle is not a regular file") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _Problem(
                    "damaged", "its pickle is a symbolic link, which tuidash does not follow"
                ) from None
            raise
        notes: list[str] = []
        model_file = doc.get("model_file")
        if model_file is None:
            notes.append(
                "This model was saved without a checksum (by the original app), so its "
                "file could not be verified."
            )
            return doc, payload, notes
        if digest != model_file["sha256"]:
            pending = self._read_pending(name)
            if pending is not None and pending["model_file"]["sha256"] == digest:
                return pending, payload, notes
            _close_payload(payload)
            raise _Problem(
                "retry",
                "its pickle does not match the checksum saved with it (the file is damaged "
                "or was changed outside tuidash)",
            )
        return doc, payload, notes

    def _finish(self, fetched: _Fetched, keep: bool = False) -> dict[str, Any]:
        """Unpickle verified bytes (restricted) into a load_model() result, or raise."""
        name = fetched.name
        if fetched.problem is not None:
            if fetched.not_found:
                raise ModelNotFound(f"There is no model named '{name}'.")
            self._remember_problem(name, fetched.problem)
            if fetched.problem.kind == "refused":
                raise ModelRefused(f"Model '{name}' was not loaded: {fetched.problem.reason}.")
            raise ModelDamaged(f"Model '{name}' cannot be loaded: {fetched.problem.reason}.")
        assert fetched.doc is not None and fetched.payload is not None
        from tuidash.core.unpickle import UnpickleRefused, restricted_load, restricted_loads

        doc = fetched.doc
        notes = list(fetched.warnings)
        payload = fetched.payload
        env = doc.get("environment")
        # Only a different scikit-learn makes it warn; skip the (global) filter swap else.
        same_sklearn = isinstance(env, dict) and env.get("sklearn") == _sklearn_version()
        recorder: Any = (
            contextlib.nullcontext([]) if same_sklearn else warnings.catch_warnings(record=True)
        )
        try:
            with recorder as caught:
                if not same_sklearn:
                    warnings.simplefilter("always")
                if isinstance(payload, _OpenPickle):
                    model = restricted_load(payload.handle)
                    if not payload.unchanged():
                        raise _Problem("damaged", "its pickle was changed while it was loading")
                else:
                    model = restricted_loads(payload)
        except _Problem as changed:
            self._remember_problem(name, changed)
            raise ModelDamaged(f"Model '{name}' cannot be loaded: {changed.reason}.") from None
        except UnpickleRefused as exc:
            self._remember_problem(name, _Problem("refused", exc.message))
            raise ModelRefused(f"Model '{name}' was not loaded: {exc.message}.") from None
        except Exception as exc:  # a damaged stream fails in many ways (EOF, ValueError...)
            reason = f"its pickle could not be read ({_short(exc)})"
            self._remember_problem(name, _Problem("damaged", reason))
            raise ModelDamaged(f"Model '{name}' cannot be loaded: {reason}.") from None
        finally:
            _close_payload(payload)
            fetched.payload = None
        mismatch = environment_mismatch(env)
        notes.extend(mismatch)
        if not mismatch:
            for item in caught:
                if item.category.__name__ == "InconsistentVersionWarning":
                    notes.append(f"scikit-learn warned while loading: {_short(item.message)}")
                    break
        self._load_problems.pop(name, None)
        preds = doc.get("predictions") or {}
        result = {
            "name": name,
            "model": model,
            "metrics": doc["metrics"],
            "metric_reasons": doc.get("metric_reasons") or {},
            "params": doc["params"],
            "predictions": preds,
            "metadata": doc,
            "warnings": notes,
        }
        if keep:
            self.loaded_models[name] = result
        return result

    def _remember_problem(self, name: str, problem: _Problem) -> None:
        """Keep a load failure so listings show the entry under problems."""
        try:
            info = os.stat(self._json(name), follow_symlinks=False)
        except OSError:
            return
        try:
            pkl_ino = os.stat(self._pkl(name), follow_symlinks=False).st_ino
        except OSError:
            pkl_ino = 0
        self._load_problems[name] = (
            (info.st_ino, info.st_size, info.st_mtime_ns, pkl_ino),
            problem,
        )

    def iter_load(
        self, names: Iterable[str] | None = None, *, keep: bool = False
    ) -> Iterator[LoadEvent]:
        """Load models one by one; a thread hashes the next large pickles while this one
        unpickles (hashlib releases the GIL, so the two overlap on two cores).

        Without ``names`` every entry in the store is attempted, smallest pickle first
        (problem entries last, so a caller's progress adds up). ``keep`` also puts
        results in ``loaded_models``. Closing the generator stops the hashing thread.
        """
        if names is None:
            entries, problems = self._survey(predictions=False)
            # Smallest first: the list fills quickly, and the thread hashes the large
            # pickles while the small ones unpickle.
            entries.sort(key=lambda e: e["pkl_bytes"])
            ordered = [e["name"] for e in entries] + [p["name"] for p in problems]
        else:
            ordered = list(names)
        if not ordered:
            return
        prehasher = _PreHasher([self._pkl_str(n) if _disk_name_ok(n) else None for n in ordered])
        try:
            for position, name in enumerate(ordered):
                if not _disk_name_ok(name):
                    prehasher.take(position)
                    yield LoadEvent(name, False, None, f"There is no model named {name!r}.")
                    continue
                fetched = self._fetch(name, prehasher.take(position))
                try:
                    result = self._finish(fetched, keep=keep)
                except StoreError as exc:
                    yield LoadEvent(name, False, None, exc.message)
                    continue
                yield LoadEvent(name, True, result, None)
        finally:
            prehasher.close()

    def load_all_models(self) -> tuple[int, int]:
        """Load every model into ``loaded_models``; (loaded_count, total_count)."""
        loaded = total = 0
        for event in self.iter_load(keep=True):
            total += 1
            loaded += event.ok
        return loaded, total

    # ------------------------------------------------------------- delete / clear

    def delete_model(self, model_name: str) -> tuple[bool, str]:
        """Delete one model's files; (True, message) or (False, why not)."""
        try:
            return True, self.delete(model_name)
        except StoreError as exc:
            return False, exc.message

    def remove_entry(self, name: str) -> tuple[bool, str]:
        """Remove the files of a problem entry (damaged, refused or orphaned)."""
        return self.delete_model(name)

    def delete(self, name: str) -> str:
        """Delete the files the store lists for ``name`` or raise a StoreError subclass."""
        if not _disk_name_ok(name):
            raise ModelNotFound(f"There is no model named {name!r}.")
        if not self.base_dir.is_dir():
            raise ModelNotFound(f"There is no model named '{name}'.")
        from filelock import Timeout

        try:
            with self._lock():
                jsons, pkls = self._scan()
                if name not in jsons and name not in pkls:
                    raise ModelNotFound(f"There is no model named '{name}'.")
                self._remove_files(name, jsons.get(name), pkls.get(name))
        except Timeout:
            raise StoreWriteError(
                "Another tuidash process is saving to this store; try deleting again later."
            ) from None
        except OSError as exc:
            raise StoreWriteError(
                f"Could not delete model '{name}': {exc.strerror or exc}."
            ) from None
        self.loaded_models.pop(name, None)
        self._load_problems.pop(name, None)
        return f"Deleted model '{name}'."

    def _remove_files(
        self, name: str, json_entry: os.DirEntry[str] | None, pkl_entry: os.DirEntry[str] | None
    ) -> None:
        """Unlink (never follow) the enumerated files; the JSON first, so no half-model."""
        _unlink_quiet(self._pending(name))
        if json_entry is not None:
            if json_entry.is_dir(follow_symlinks=False):
                raise IsADirectoryError(errno.EISDIR, "is a folder", json_entry.path)
            os.unlink(json_entry.path)
            _fsync_dir(self.metadata_dir)
        if pkl_entry is not None and not pkl_entry.is_dir(follow_symlinks=False):
            os.unlink(pkl_entry.path)
            _fsync_dir(self.models_dir)

    def clear_all_saved_models(self) -> tuple[bool, str]:
        """Delete every model and problem entry (only files the store lists)."""
        if not self.base_dir.is_dir():
            self.loaded_models.clear()
            return True, "The store is already empty."
        from filelock import Timeout

        names: set[str] = set()
        try:
            with self._lock():
                self._cleanup_locked()
                jsons, pkls = self._scan()
                names = set(jsons) | set(pkls)
                for name in names:
                    self._remove_files(name, jsons.get(name), pkls.get(name))
                _unlink_quiet(self.base_dir / INDEX_NAME)
        except Timeout:
            return False, "Another tuidash process is saving to this store; try again later."
        except OSError as exc:
            return False, f"Could not clear the store: {exc.strerror or exc}."
        self.loaded_models.clear()
        self._load_problems.clear()
        count = len(names)
        return True, f"Deleted {count} saved model{'s' if count != 1 else ''}."

    # ---------------------------------------------------------------------- report

    def get_storage_info(self, *, verify: bool = False) -> dict[str, Any]:
        """Sizes, counts, free space and every problem entry, from the files on disk.

        ``verify=True`` also hashes and (restricted-)unpickles every model not loaded
        yet, so refused and damaged pickles show up without a prior load.
        """
        if verify:
            entries, _ = self._survey(predictions=False)
            pending = [e["name"] for e in entries if e["name"] not in self.loaded_models]
            for _event in self.iter_load(pending):
                pass
        entries, problems = self._survey(predictions=False)
        total = sum(e["size_bytes"] for e in entries)
        try:
            free = shutil.disk_usage(self.base_dir).free
        except OSError:
            free = 0
        return {
            "base_dir": str(self.base_dir),
            "model_count": len(entries),
            "total_size_bytes": total,
            "total_size_mb": round(total / (1024 * 1024), 2),
            "models": [{"name": e["name"], "size_bytes": e["size_bytes"]} for e in entries],
            "free_bytes": free,
            "problems": problems,
        }


_METRIC_TYPES = (int, float, type(None))
_METRIC_TYPE_SET = frozenset(_METRIC_TYPES)
_INDEX_VERSION = 2
_INDEX_FIELDS = (
    "saved_at",
    "metrics",
    "metric_reasons",
    "params",
    "model_type",
    "task",
    "size_bytes",
    "pkl_bytes",
    "data",
    "environment",
    "train_seconds",
    "schema_version",
    "predictions_total",
    "feature_importance",
    "verified",
)


def _row_ok(row: dict[str, Any]) -> bool:
    """A cached listing row has the shapes a fresh one would (the cache is a plain file).

    ``row`` has every ``_INDEX_FIELDS`` key (KeyError otherwise); this runs once per
    cached row on every listing, so it subscripts instead of calling ``get``.
    """
    metrics, env, data, importance = (
        row["metrics"],
        row["environment"],
        row["data"],
        row["feature_importance"],
    )
    return (
        isinstance(row["name"], str)
        and isinstance(row["saved_at"], str)
        and isinstance(metrics, dict)
        and _METRIC_TYPE_SET.issuperset(map(type, metrics.values()))
        and isinstance(row["metric_reasons"], dict)
        and isinstance(row["params"], dict)
        and isinstance(row["size_bytes"], int)
        and isinstance(row["pkl_bytes"], int)
        and (env is None or isinstance(env, dict))
        and (data is None or isinstance(data, dict))
        and (importance is None or isinstance(importance, dict))
    )


def _short(exc: object) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
