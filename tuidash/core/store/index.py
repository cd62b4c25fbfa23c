"""The listing cache ``.tuidash-index.json``: listing rows by name, keyed by stat signatures.

It also keeps the library versions of the process that wrote it, under a key of a few stat
calls (``documents.environment_key``), so a fresh process lists without looking them up.

A cache that is safe to delete. A row is used only while the signature of its files is the
one it was stored with (the JSON's inode, size and mtime, the pickle's inode), and only if
its values have the shapes a fresh row would have: the file is plain text that anyone can
edit, so nothing in it is trusted beyond what a listing shows.

Each good row also keeps the rest of its document but the large parts (the prediction
sample, a search's and a cluster's results: ``LAZY_PARTS``), so loading every model need
not parse every JSON (``load_doc``). A load takes it only while the signature still holds,
checks it like a JSON it read, and verifies the pickle against the checksum it holds: a
row that lies about the checksum fails the check, and the load then reads the JSON.
"""

from __future__ import annotations

import json
from typing import Any

from tuidash.core.store.backend import StoreBackend
from tuidash.core.store.documents import (
    MAX_JSON_BYTES,
    Problem,
    adopt_environment,
    environment_key,
    environment_mismatch,
    known_environment,
    parse_json,
)
from tuidash.core.store.names import INDEX_NAME

Signature = tuple[int, ...]
"""What changes whenever an entry's JSON is replaced or edited, or its pickle replaced."""
Index = dict[str, tuple[Signature, Any, Any]]
"""File base -> (signature, listing row or the Problem of a damaged entry, the rest of the
row's document for a load: ``load_rest``'s value, or None)."""

_INDEX_VERSION = 5
_INDEX_FIELDS = (
    "name",
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
    "version",
    "versions",
    "aliases",
    "tags",
    "note",
    "trained_by",
)
_METRIC_TYPE_SET = frozenset((int, float, type(None)))
LAZY_PARTS = ("predictions", "search", "cluster")
"""The large parts of a document a load from the index leaves on disk until asked for."""
_IN_ROW = ("metrics", "params", "data", "environment")
"""Document keys the listing row already holds as they are (not kept twice)."""
_NOT_IN_REST = frozenset(LAZY_PARTS + _IN_ROW)


_SHARED = (
    ("model_name", "name"),
    ("saved_at", "saved_at"),
    ("metric_reasons", "metric_reasons"),
    ("model_type", "model_type"),
    ("task", "task"),
    ("train_seconds", "train_seconds"),
    ("schema_version", "schema_version"),
    ("predictions_total", "predictions_total"),
    ("version", "version"),
    ("versions", "versions"),
    ("aliases", "aliases"),
    ("tags", "tags"),
    ("note", "note"),
    ("trained_by", "trained_by"),
)
"""(document key, row field) pairs whose value the row often holds as it is."""


def load_rest(doc: dict[str, Any], row: dict[str, Any]) -> list[Any]:
    """What a load needs of ``doc`` beyond its listing ``row``: [the other keys, the large
    parts it has (not null), a bit mask of the ``_SHARED`` keys whose value is the row's]."""
    mask = 0
    skip = set(_NOT_IN_REST)
    for bit, (key, field) in enumerate(_SHARED):
        if key in doc and doc[key] == row[field]:
            mask |= 1 << bit
            skip.add(key)
    rest = {k: v for k, v in doc.items() if k not in skip}
    return [rest, [k for k in LAZY_PARTS if doc.get(k) is not None], mask]


def load_doc(row: dict[str, Any], rest: Any) -> tuple[dict[str, Any], list[str]] | None:
    """The document (without its large parts: ``predictions`` is None) a cached row and its
    ``load_rest`` stand for, and the large parts it has on disk; None if ``rest`` is not
    of that shape. The caller checks the document (``check_doc``)."""
    if not (isinstance(rest, list) and len(rest) == 3):
        return None
    other, parts, mask = rest
    if not (isinstance(other, dict) and isinstance(parts, list) and type(mask) is int):
        return None
    if not set(parts) <= set(LAZY_PARTS) or _NOT_IN_REST & other.keys():
        return None
    doc = dict(other)
    for bit, (key, field) in enumerate(_SHARED):
        if mask >> bit & 1:
            value = row[field]
            doc[key] = dict(value) if isinstance(value, dict) else value
    doc["metrics"] = dict(row["metrics"])
    doc["params"] = dict(row["params"])
    for key in ("data", "environment"):
        if row[key] is not None:
            doc[key] = row[key]
    doc["predictions"] = None  # the large parts it has are filled in by the load
    return doc, list(parts)


def read_index(backend: StoreBackend) -> tuple[Index, bool]:
    """The listing cache (empty if it is missing, unreadable or of another version), and
    whether it holds this process's environment (else writing it again saves the next
    process the look-up)."""
    # Keys are file bases; each row carries its model's name (the JSON's model_name).
    try:
        index = parse_json(backend.read(INDEX_NAME, MAX_JSON_BYTES))
    except (OSError, ValueError):  # TooLarge is a ValueError
        return {}, False
    if not isinstance(index, dict) or index.get("version") != _INDEX_VERSION:
        return {}, False
    rows, envs = index.get("rows"), index.get("envs")
    if not isinstance(rows, dict) or not isinstance(envs, list):
        return {}, False
    here = index.get("here")
    # The running environment, found by the process that wrote the cache: taken if
    # nothing was installed or removed since (importlib.metadata costs 50-150 ms).
    env_ok = isinstance(here, dict) and adopt_environment(here.get("key"), here.get("env"))
    mismatch = [environment_mismatch(env) if isinstance(env, dict) else [] for env in envs]
    width = len(_INDEX_FIELDS)
    out: Index = {}
    for name, item in rows.items():
        try:
            key = tuple(item[0])
            if item[1] == "problem":
                kind, reason = item[2], item[3]
                if kind == "damaged" and isinstance(reason, str):
                    out[name] = (key, Problem(kind, reason), None)
                continue
            values = item[1]
            if len(values) != width:
                continue
            row = dict(zip(_INDEX_FIELDS, values, strict=True))
            env_at = row["environment"]
            row["environment"] = dict(envs[env_at]) if env_at is not None else None
            row["environment_mismatch"] = list(mismatch[env_at]) if env_at is not None else []
            row["predictions"] = None
            row["search"] = row["cluster"] = None  # read with the predictions, not cached
            if _row_ok(row):
                out[name] = (key, row, item[2] if len(item) > 2 else None)
        except (TypeError, IndexError, KeyError):
            continue
    return out, env_ok


def write_index(backend: StoreBackend, rows: Index) -> None:
    """Replace the listing cache at once; failures only cost speed next time."""
    envs: list[Any] = []
    env_ids: dict[str, int] = {}
    encoded: dict[str, Any] = {}
    try:
        for name, (key, row, rest) in rows.items():
            if isinstance(row, Problem):
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
            encoded[name] = [list(key), values, rest]
        document: dict[str, Any] = {"version": _INDEX_VERSION, "envs": envs, "rows": encoded}
        here = known_environment()
        if here is not None:
            document["here"] = {"key": environment_key(), "env": here}
        data = json.dumps(
            document,
            allow_nan=False,
            separators=(",", ":"),
        ).encode()
        backend.write_atomic(INDEX_NAME, data)
    except (OSError, ValueError, TypeError):
        pass


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
        and isinstance(row["version"], int)
        and isinstance(row["versions"], int)
        and isinstance(row["aliases"], dict)
        and isinstance(row["tags"], list)
        and (env is None or isinstance(env, dict))
        and (data is None or isinstance(data, dict))
        and (importance is None or isinstance(importance, dict))
    )
