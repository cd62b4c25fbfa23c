"""How a save commits, rolls back, and is finished or dropped after a crash.

The sequence (steps 1-3 of the package docstring): the pickle and the name's pending JSON
are written as new files and synced; the pickle replaces the old one; the pending JSON
replaces the old metadata (the commit). A reader that meets the pickle of a save between
the two replaces finds its digest in the pending JSON (``read_pending``). Every function
here runs under the store's writer lock, except ``read_pending`` and ``has_leftovers``.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import secrets
import stat
from pathlib import Path
from typing import Any

from tuidash.core.errors import InvalidModelData, StoreWriteError
from tuidash.core.store.backend import StoreBackend
from tuidash.core.store.documents import MAX_JSON_BYTES, Problem, check_doc, parse_json, short
from tuidash.core.store.durable import HASH_IN_THREAD_BYTES, close_payload
from tuidash.core.store.names import (
    METADATA_DIR,
    MODELS_DIR,
    PENDING_PREFIX,
    TMP_PREFIX,
    disk_name_ok,
    json_key,
    key_in,
    pending_key,
    pkl_key,
)

_FOLDERS = (MODELS_DIR, METADATA_DIR, "")
"""Where a save leaves temp and pending files (the top holds the listing cache's)."""


def write_entry(
    backend: StoreBackend, name: str, doc: dict[str, Any], model: Any, existed: bool
) -> None:
    """The crash-safe write sequence; puts the old files back on any error."""
    import pickle

    token = secrets.token_hex(8)
    tmp_pkl = key_in(MODELS_DIR, f"{TMP_PREFIX}{token}.pkl")
    pending = pending_key(name)
    pkl, meta = pkl_key(name), json_key(name)
    # The old files, kept so an error after a replace can put them back: small ones
    # as bytes in memory, large ones as a second key of the same bytes (no copy).
    backups: dict[str, str | bytes | None] = {pkl: None, meta: None}
    placed = committed = False
    try:
        if backend.stat(pending) is not None:
            recover_pending(backend, pending)
        sink = backend.create(tmp_pkl)
        try:
            try:
                pickle.dump(model, sink, protocol=5)
            except OSError:
                raise
            except Exception as exc:  # any object can fail to pickle in its own way
                raise InvalidModelData(f"The model could not be pickled: {short(exc)}.") from None
            # Flush first: the hashing thread catches up while the disk writes.
            sink.sync()
            digest = sink.digest()
        finally:
            sink.close()
        doc["model_file"] = {"name": f"{name}.pkl", "sha256": digest, "bytes": sink.size}
        encoded = json.dumps(doc, allow_nan=False, ensure_ascii=False).encode("utf-8")
        backend.write_new(pending, encoded)
        if existed:
            for target in (pkl, meta):
                backups[target] = _backup(backend, target, token)
        backend.replace(tmp_pkl, pkl)
        placed = True
        backend.sync(MODELS_DIR)
        backend.replace(pending, meta)
        committed = True
        backend.sync(METADATA_DIR)
    except BaseException as exc:
        _roll_back(backend, existed, (placed, committed), backups, (pending, tmp_pkl))
        if isinstance(exc, OSError):
            raise StoreWriteError(write_failure(name, exc, backend.root)) from None
        raise
    finally:
        backend.discard(tmp_pkl)
        links = [link for link in backups.values() if isinstance(link, str)]
        if links:
            # Dropping the last link of a large old version frees all its blocks,
            # which takes a while; the save does not need to wait for it.
            backend.discard_later(links)


def _backup(backend: StoreBackend, target: str, token: str) -> str | bytes | None:
    """Keep the old version of ``target`` for a roll-back (None if there is none)."""
    try:
        info = backend.stat(target)
        if info is None or not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size < HASH_IN_THREAD_BYTES:
            return backend.read(target)
        link = key_in(target.rpartition("/")[0], f"{TMP_PREFIX}{token}.old")
        backend.link(target, link)
        return link
    except OSError:
        return None


def _roll_back(
    backend: StoreBackend,
    existed: bool,
    replaced: tuple[bool, bool],
    backups: dict[str, str | bytes | None],
    leftovers: tuple[str, str],
) -> None:
    """Put the store back as it was before a failed save (best effort)."""
    done = [key for key, flag in zip(backups, replaced, strict=True) if flag]
    for key in reversed(done):  # the JSON first: un-commit before touching the pickle
        with contextlib.suppress(OSError):
            old = backups[key]
            if isinstance(old, str) and backend.stat(old) is not None:
                backend.replace(old, key)
                backups[key] = None
            elif isinstance(old, bytes):
                token = secrets.token_hex(8)
                restore = key_in(key.rpartition("/")[0], f"{TMP_PREFIX}{token}.restore")
                try:
                    backend.write_new(restore, old)
                    backend.replace(restore, key)
                finally:
                    backend.discard(restore)
            elif not existed:
                backend.remove(key)
    for key in leftovers:
        backend.discard(key)


def write_failure(name: str, exc: OSError, where: Path) -> str:
    """The sentence for a save that failed with ``exc`` (nothing was changed)."""
    if exc.errno == errno.ENOSPC:
        return f"Could not save model '{name}': the disk is full. Nothing was changed."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"Could not save model '{name}': no permission to write in {where}. "
            "Nothing was changed."
        )
    return f"Could not save model '{name}': {exc.strerror or exc}. Nothing was changed."


def read_pending(backend: StoreBackend, name: str) -> dict[str, Any] | None:
    """The name's pending JSON (an interrupted or in-flight save), if valid."""
    try:
        raw = backend.read(pending_key(name), MAX_JSON_BYTES)
        doc = check_doc(parse_json(raw), name)
    except (OSError, ValueError, Problem):
        return None
    return doc if doc.get("model_file") is not None else None


def has_leftovers(backend: StoreBackend) -> bool:
    """True if an interrupted save left a temp or pending file (checked without the lock)."""
    for folder in _FOLDERS:
        try:
            names = backend.names(folder)
        except OSError:
            continue
        # str.startswith mapped in C: a per-name generator costs ~0.5 ms per 1,000.
        if any(map(str.startswith, names, itertools.repeat((TMP_PREFIX, PENDING_PREFIX)))):
            return True
    return False


def clean_leftovers(backend: StoreBackend) -> None:
    """Finish or drop interrupted saves and delete temp files (under the writer lock)."""
    for folder in _FOLDERS:
        for entry in backend.scan(folder):
            if entry.name.startswith(PENDING_PREFIX) and folder == MODELS_DIR:
                recover_pending(backend, key_in(folder, entry.name))
            elif entry.name.startswith(TMP_PREFIX) and not entry.is_dir(follow_symlinks=False):
                backend.discard(key_in(folder, entry.name))


def recover_pending(backend: StoreBackend, pending: str) -> None:
    """Roll an interrupted save forward if its pickle is in place, else drop it."""
    try:
        doc = parse_json(backend.read(pending, MAX_JSON_BYTES))
        name = doc.get("model_name") if isinstance(doc, dict) else None
        if not isinstance(name, str) or not disk_name_ok(name) or pending_key(name) != pending:
            raise ValueError("pending file does not belong to its name")
        check_doc(doc, name)
        payload, digest = backend.read_hashed(pkl_key(name), True)
        close_payload(payload)
        if digest != doc["model_file"]["sha256"]:
            raise ValueError("the pickle was not replaced")
    except (OSError, ValueError, KeyError, TypeError, Problem):
        backend.discard(pending)
        return
    backend.replace(pending, json_key(name))
    backend.sync(METADATA_DIR)
