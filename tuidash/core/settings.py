"""Configuration the core owns: where the model store is when nobody says otherwise.

The CLI (``--store``) and the dashboard both start from ``default_store_dir()``, so the
two always agree on which store a bare ``tuidash`` means. A store is a folder or a URL
(``s3://bucket/prefix``, ``memory://name``): ``store_location`` keeps a URL as text
(``Path`` would fold its ``//``) and turns anything else into a ``Path``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

DEFAULT_STORE = "saved_models"
"""The store folder used when neither ``--store`` nor ``TUIDASH_STORE`` is given."""

STORE_ENV = "TUIDASH_STORE"
"""The environment variable that names the store folder (or URL)."""

STORAGE_OPTIONS_ENV = "TUIDASH_STORAGE_OPTIONS"
"""A JSON object of fsspec options for a store URL (``--storage-option`` sets it, so the
processes tuidash starts inherit it)."""

StoreLocation = Path | str
"""A store folder (a ``Path``) or a store URL (text, ``s3://bucket/prefix``)."""


def is_store_url(location: str | os.PathLike[str]) -> bool:
    """True if ``location`` is a URL of an fsspec file system (not ``file://``)."""
    text = os.fspath(location)
    return isinstance(text, str) and "://" in text and not text.startswith("file://")


def store_location(text: str | os.PathLike[str]) -> StoreLocation:
    """A URL as it is (without a trailing ``/``), anything else as a ``Path``."""
    if is_store_url(text):
        return os.fspath(text).rstrip("/")
    raw = os.fspath(text)
    if isinstance(raw, str) and raw.startswith("file://"):
        raw = raw[len("file://") :]
    return Path(raw)


def absolute_location(location: str | os.PathLike[str]) -> StoreLocation:
    """``store_location`` made absolute (a URL is absolute already)."""
    found = store_location(location)
    return found if isinstance(found, str) else found.absolute()


def default_store_dir() -> StoreLocation:
    """The store: ``TUIDASH_STORE`` if set (a folder or a URL), else ``./saved_models``."""
    return store_location(os.environ.get(STORE_ENV) or DEFAULT_STORE)


STATE_ENV = "XDG_STATE_HOME"
"""The user's state folder (``~/.local/state`` when unset): the job records of store URLs."""


def state_dir() -> Path:
    """tuidash's folder in the user's state folder (``$XDG_STATE_HOME/tuidash``)."""
    base = os.environ.get(STATE_ENV) or os.path.join("~", ".local", "state")
    return Path(os.path.expanduser(base)).absolute() / "tuidash"


def remote_jobs_dir(url: str) -> Path:
    """The local folder of the job records of a store URL: ``STATE/jobs/<hash of the URL>``.

    Object storage has no cheap append or heartbeat, so a remote store's jobs are recorded
    on this machine; the same URL (a trailing ``/`` aside) always gives the same folder."""
    import hashlib

    text = os.fspath(url).rstrip("/")
    return state_dir() / "jobs" / hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_storage_options(pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` texts as fsspec options: a VALUE that is JSON (true, 3, {...}) is
    decoded, others stay text; ``a.b=V`` sets ``{"a": {"b": V}}``. ValueError names a bad one."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"expected KEY=VALUE, got {pair!r}")
        try:
            decoded: Any = json.loads(value)
        except ValueError:
            decoded = value
        target = options
        *parents, last = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"{key} mixes a value and nested options")
        target[last] = decoded
    return options


def storage_options() -> dict[str, Any]:
    """The fsspec options for store URLs in this process (``TUIDASH_STORAGE_OPTIONS``)."""
    raw = os.environ.get(STORAGE_OPTIONS_ENV)
    if not raw:
        return {}
    try:
        options = json.loads(raw)
    except ValueError:
        return {}
    return options if isinstance(options, dict) else {}


def set_storage_options(options: Mapping[str, Any]) -> None:
    """Use ``options`` for store URLs in this process and the processes it starts."""
    if options:
        os.environ[STORAGE_OPTIONS_ENV] = json.dumps(dict(options))
    else:
        os.environ.pop(STORAGE_OPTIONS_ENV, None)
