"""The metadata document (``metadata/NAME.json``): building it, checking it, listing it.

The original app's keys come first (``ORIGINAL_KEYS``); tuidash adds the pickle's checksum
(``model_file``), the library versions it was saved with (``environment``) and more. A
document read from disk is checked before anything in it is used.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import unicodedata
from collections.abc import Mapping
from typing import Any

from tuidash.core.errors import InvalidModelData
from tuidash.core.store.durable import DIGEST_KINDS
from tuidash.core.store.names import stem

SCHEMA_VERSION = 1
"""Version of the JSON layout this module writes (absent in the original app's files)."""
MAX_JSON_BYTES = 64 * 1024 * 1024
"""A metadata file larger than this is reported as damaged instead of parsed."""
ORIGINAL_KEYS = ("model_name", "metrics", "params", "predictions", "saved_at")
METRIC_NAMES = ("MAE", "MSE", "RMSE", "MAPE", "R2")

_HEX_RE = re.compile(r"[0-9a-f]+")
NAME_KEYS = ("versions", "aliases")
"""Keys about the whole name, true only in the latest JSON (left out of earlier versions)."""


class Problem(Exception):
    """Internal: an entry is damaged, refused or orphaned, with the reason as a clause."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def short(exc: object) -> str:
    """An exception's text, cut to fit in a sentence."""
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# ---------------------------------------------------------------------- environment

_ENVIRONMENT: dict[str, str | None] | None = None
_ENV_KEYS = ("python", "sklearn", "numpy", "pandas", "tuidash")


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


def environment_key() -> list[Any]:
    """What changes when a library could have been installed, upgraded or removed: the
    interpreter, tuidash's own version, and each folder on ``sys.path`` with its inode and
    modification time (installing or removing a package adds or removes an entry in one).

    A few stat calls, where finding the versions (``importlib.metadata``) costs 50-150 ms:
    the listing cache keeps the environment under this key (``known_environment``).
    """
    import sys

    from tuidash import __version__

    key: list[Any] = [sys.version, sys.executable, __version__]
    for entry in sys.path:
        if not entry or not os.path.isabs(entry):
            continue  # the working folder: files come and go there
        try:
            info = os.stat(entry)
        except OSError:
            continue
        key.append([entry, info.st_ino, info.st_mtime_ns])
    return key


def known_environment() -> dict[str, str | None] | None:
    """The environment if this process has found it already (else None; never looks)."""
    return dict(_ENVIRONMENT) if _ENVIRONMENT is not None else None


def adopt_environment(key: Any, environment: Any) -> bool:
    """Take ``environment`` (from a cache) as this process's, if ``key`` is this process's
    ``environment_key()`` and it has the shape ``current_environment`` gives."""
    global _ENVIRONMENT
    if _ENVIRONMENT is not None:
        return True
    if (
        not isinstance(environment, dict)
        or set(environment) != set(_ENV_KEYS)
        or not all(isinstance(v, str | None) for v in environment.values())
        or key != environment_key()
    ):
        return False
    _ENVIRONMENT = dict(environment)
    return True


def sklearn_version() -> str | None:
    """The running scikit-learn's version (None if it is not installed)."""
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


# ----------------------------------------------------------------------------- parsing


def _reject_constant(value: str) -> Any:
    raise ValueError(f"it contains {value}, which is not valid JSON")


_fast_loads: Any
try:  # optional: parses the metadata about 5x faster; the json module is the fallback
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - depends on the environment
    _fast_loads = None


def parse_json(raw: bytes) -> Any:
    """Strict JSON: NaN/Infinity are errors, as in the files tuidash writes."""
    if _fast_loads is not None:
        try:
            return _fast_loads(raw)  # strict too: refuses NaN and Infinity
        except ValueError:
            pass  # let the json module give the precise reason (or accept huge ints)
    return json.loads(raw, parse_constant=_reject_constant)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_doc(doc: Any, name: str) -> dict[str, Any]:
    """Validate a metadata document of entry ``name``; raise Problem("damaged")."""
    if not isinstance(doc, dict):
        raise Problem("damaged", "its metadata is not a JSON object")
    missing = [key for key in ORIGINAL_KEYS if key not in doc]
    if missing:
        raise Problem("damaged", "its metadata is missing " + ", ".join(missing))
    model_name = doc["model_name"]
    if not isinstance(model_name, str):
        raise Problem("damaged", "its metadata has a model_name that is not text")
    if model_name != name:
        raise Problem(
            "damaged",
            f"its metadata names another model ({model_name[:80]!r}), not its own file",
        )
    if not isinstance(doc["saved_at"], str):
        raise Problem("damaged", "its saved_at is not text")
    metrics = doc["metrics"]
    if not isinstance(metrics, dict) or not all(
        isinstance(k, str) and (v is None or _is_number(v)) for k, v in metrics.items()
    ):
        raise Problem("damaged", "its metrics are not a mapping of names to numbers")
    if not isinstance(doc["params"], dict):
        raise Problem("damaged", "its params are not a mapping")
    predictions = doc["predictions"]
    if predictions is not None:
        if not isinstance(predictions, dict):
            raise Problem("damaged", "its predictions are not a mapping")
        for key in ("y_pred", "y_test"):
            values = predictions.get(key)
            if values is not None and not isinstance(values, list):
                raise Problem("damaged", f"its predictions.{key} is not a list")
        importance = predictions.get("feature_importance")
        if importance is not None and not isinstance(importance, dict):
            raise Problem("damaged", "its feature_importance is not a mapping")
    reasons = doc.get("metric_reasons")
    if reasons is not None and not isinstance(reasons, dict):
        raise Problem("damaged", "its metric_reasons are not a mapping")
    model_file = doc.get("model_file")
    if model_file is not None:
        if not isinstance(model_file, dict):
            raise Problem("damaged", "its model_file is not a mapping")
        file_name = model_file.get("name")
        if file_name not in (f"{stem(name)}.pkl", f"{name}.pkl"):
            raise Problem(
                "damaged",
                f"its model_file names {str(file_name)[:80]!r} instead of its own pickle "
                "(tuidash only reads models/NAME.pkl)",
            )
        _check_digests(model_file)
        size = model_file.get("bytes")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise Problem("damaged", "its model_file.bytes is not a file size")
    elif "schema_version" in doc:
        raise Problem("damaged", "its metadata has no model_file checksum")
    for key, kind in (("environment", dict), ("data", dict), ("cv", dict)):
        if doc.get(key) is not None and not isinstance(doc[key], kind):
            raise Problem("damaged", f"its {key} is not a mapping")
    for key in ("schema_version", "version", "versions", "replaces"):
        value = doc.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise Problem("damaged", f"its {key} is not a whole number")
    aliases = doc.get("aliases")
    if aliases is not None and not (
        isinstance(aliases, dict)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in aliases.values())
    ):
        raise Problem("damaged", "its aliases are not a mapping of aliases to versions")
    tags = doc.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise Problem("damaged", "its tags are not a list of words")
    for key in ("note", "trained_by"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise Problem("damaged", f"its {key} is not text")
    return doc


def _check_digests(model_file: Mapping[str, Any]) -> None:
    """A model_file carries at least one checksum, each one well formed."""
    found = False
    for kind, length in DIGEST_KINDS.items():
        value = model_file.get(kind)
        if value is None and kind in model_file:
            value = ""  # an explicit null is as wrong as a bad digest
        if value is None:
            continue
        if not isinstance(value, str) or len(value) != length or not _HEX_RE.fullmatch(value):
            raise Problem("damaged", f"its model_file.{kind} is not a {kind} hex digest")
        found = True
    if not found:
        raise Problem("damaged", "its model_file has no checksum (xxh3_128 or sha256)")


def recorded_digest(model_file: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, hex) of the checksum a checked ``model_file`` carries (the newest kind)."""
    for kind in DIGEST_KINDS:
        value = model_file.get(kind)
        if isinstance(value, str):
            return kind, value
    raise KeyError("no checksum")


def version_of(doc: Mapping[str, Any]) -> int:
    """A document's version number (1 for files saved before versions existed)."""
    number = doc.get("version")
    return number if isinstance(number, int) and number >= 1 else 1


def encode_doc(doc: Mapping[str, Any]) -> bytes:
    """A document as the strict JSON bytes the store writes."""
    return json.dumps(doc, allow_nan=False, ensure_ascii=False).encode("utf-8")


_USER: str | None = None


def current_user() -> str:
    """user@host of this process (for ``trained_by`` and the history)."""
    global _USER
    if _USER is None:
        import getpass
        import socket

        try:
            user = getpass.getuser()
        except (OSError, KeyError, ImportError):
            user = "unknown"
        try:
            host = socket.gethostname() or "localhost"
        except OSError:
            host = "localhost"
        _USER = f"{user}@{host}"
    return _USER


def clean_tags(tags: Any) -> list[str]:
    """Tags as a sorted list of distinct, stripped words; InvalidModelData if not words."""
    if tags is None:
        return []
    if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
        raise InvalidModelData("Tags must be a list of words.")
    out = sorted({t.strip() for t in tags if t.strip()})
    for tag in out:
        if len(tag) > 64 or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in tag):
            raise InvalidModelData(f"The tag {tag[:40]!r} is too long or has control characters.")
    return out


# ---------------------------------------------------------------------------- building

_isfinite = math.isfinite


def to_jsonable(value: Any, depth: int = 0) -> Any:
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
        return {str(k): to_jsonable(v, depth + 1) for k, v in value.items()}
    if type(value) is list and all(type(v) is float and _isfinite(v) for v in value):
        return list(value)  # the common case: prediction arrays, done without recursion
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v, depth + 1) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy arrays and scalars, pandas Series/Index
        return to_jsonable(tolist(), depth + 1)
    item = getattr(value, "item", None)
    if callable(item):
        return to_jsonable(item(), depth + 1)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def clean_metrics(
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


_RESERVED_KEYS = frozenset(
    {"model", "metrics", "metric_reasons", "params", "predictions"}
    | {"model_name", "saved_at", "schema_version", "model_file", "environment"}
    | {"version", "versions", "aliases", "replaces", "trained_by", "note", "tags"}
)


def build_doc(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document (without model_file) for ``data``; strict-JSON clean."""
    metrics, reasons = clean_metrics(data.get("metrics"), data.get("metric_reasons"))
    predictions = data.get("predictions")
    if predictions is not None and not isinstance(predictions, Mapping):
        raise InvalidModelData("The model's predictions must be a mapping.")
    params = data.get("params") or {}
    if not isinstance(params, Mapping):
        raise InvalidModelData("The model's params must be a mapping.")
    doc: dict[str, Any] = {
        "model_name": name,
        "metrics": metrics,
        "params": to_jsonable(params),
        # The original app's three keys always, then whatever else the sample carries
        # (data-file row numbers, the kind of importance).
        "predictions": to_jsonable(
            {
                "y_pred": (predictions or {}).get("y_pred"),
                "y_test": (predictions or {}).get("y_test"),
                "feature_importance": (predictions or {}).get("feature_importance"),
                **{k: v for k, v in (predictions or {}).items() if isinstance(k, str)},
            }
        ),
        "saved_at": time.strftime("%Y-%m-%d %H:%M:%S"),
        "schema_version": SCHEMA_VERSION,
        "metric_reasons": reasons,
    }
    for key, value in data.items():
        if isinstance(key, str) and key not in _RESERVED_KEYS:
            doc[key] = to_jsonable(value)
    doc.setdefault("task", "regression")
    doc["environment"] = current_environment()
    doc["trained_by"] = current_user()
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        raise InvalidModelData("The model's note must be text.")
    doc["note"] = note or None
    if data.get("tags") is not None:
        doc["tags"] = clean_tags(data.get("tags"))
    return doc


# ----------------------------------------------------------------------------- listing


def listing_row(
    name: str, doc: dict[str, Any], size: int, pkl_bytes: int, predictions: bool
) -> dict[str, Any]:
    """One row of ``list_models`` from a checked document."""
    preds = doc.get("predictions") or {}
    row = {
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
        "version": version_of(doc),
        "versions": doc.get("versions") or 1,
        "aliases": dict(doc.get("aliases") or {}),
        "tags": list(doc.get("tags") or []),
        "note": doc.get("note"),
        "trained_by": doc.get("trained_by"),
    }
    # A search's candidates are as large as a prediction sample: listed with it (the fast
    # listing from the index has neither).
    row["search"] = doc.get("search") if predictions else None
    row["cluster"] = doc.get("cluster") if predictions else None
    return row
