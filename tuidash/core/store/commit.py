"""How a save commits, rolls back, and is finished or dropped after a crash.

The sequence (steps 1-3 of the package docstring): the pickle and the name's pending JSON
are written as new files and synced; the pickle replaces the old one; the pending JSON
replaces the old metadata (the commit). A reader that meets the pickle of a save between
the two replaces finds its digest in the pending JSON (``read_pending``). Every function
here runs under the store's writer lock, except ``read_pending``.
"""

from __future__ import annotations

import contextlib
import errno
import secrets
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuidash.core.errors import InvalidModelData, StoreWriteError
from tuidash.core.store.backend import StoreBackend
from tuidash.core.store.documents import (
    MAX_JSON_BYTES,
    Problem,
    check_doc,
    encode_doc,
    parse_json,
    recorded_digest,
    short,
)
from tuidash.core.store.durable import DIGEST, HASH_IN_THREAD_BYTES, close_payload
from tuidash.core.store.names import (
    METADATA_DIR,
    MODELS_DIR,
    TMP_PREFIX,
    disk_name_ok,
    json_key,
    key_in,
    pending_key,
    pkl_key,
    stem,
)


def write_entry(
    backend: StoreBackend,
    name: str,
    doc: dict[str, Any],
    model: Any,
    existed: bool,
    *,
    source: str | None = None,
    on_commit: Callable[[], object] | None = None,
) -> None:
    """The crash-safe write sequence; puts the old files back on any error.

    The pickle is ``model`` pickled, or (``source``) a second key of an existing pickle's
    bytes (a roll-back to an earlier version). The files are named by the name's STEM.
    ``on_commit`` runs right after the commit (the history line); if it fails, the save
    is undone like any other failed save.
    """
    import pickle

    base = stem(name)
    token = secrets.token_hex(8)
    tmp_pkl = key_in(MODELS_DIR, f"{TMP_PREFIX}{token}.pkl")
    pending = pending_key(name)
    pkl, meta = pkl_key(base), json_key(base)
    # The old files, kept so an error after a replace can put them back: small ones
    # as bytes in memory, large ones as a second key of the same bytes (no copy).
    backups: dict[str, str | bytes | None] = {pkl: None, meta: None}
    placed = committed = False
    try:
        if backend.stat(pending) is not None:
            recover_pending(backend, pending)
        if source is not None:
            backend.link(source, tmp_pkl)
            payload, digest = backend.read_hashed(tmp_pkl, True)
            close_payload(payload)
            info = backend.stat(tmp_pkl)
            size = info.st_size if info is not None else 0
        else:
            sink = backend.create(tmp_pkl)
            try:
                try:
                    pickle.dump(model, sink, protocol=5)
                except OSError:
                    raise
                except Exception as exc:  # any object can fail to pickle in its own way
                    raise InvalidModelData(
                        f"The model could not be pickled: {short(exc)}."
                    ) from None
                digest, size = sink.digest(), sink.size
                doc["model_file"] = {"name": f"{base}.pkl", DIGEST: digest, "bytes": size}
                # Both new files must be on disk before the pickle's rename: their two
                # flushes run at once (the disk often takes them in one journal commit).
                _both(sink.sync, lambda: backend.write_new(pending, encode_doc(doc)))
            finally:
                sink.close()
        if source is not None:
            doc["model_file"] = {"name": f"{base}.pkl", DIGEST: digest, "bytes": size}
            backend.write_new(pending, encode_doc(doc))
        if existed:
            for target in (pkl, meta):
                backups[target] = _backup(backend, target, token)
        backend.replace(tmp_pkl, pkl)
        placed = True
        backend.sync(MODELS_DIR)
        backend.replace(pending, meta)
        committed = True
        backend.sync(METADATA_DIR)
        if on_commit is not None:
            on_commit()
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


def _both(first: Callable[[], object], second: Callable[[], object]) -> None:
    """Run ``first`` on a thread while ``second`` runs here; raise the first error."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            first()
        except BaseException as exc:  # handed to the caller below
            failed.append(exc)

    thread = threading.Thread(target=run, name="tuidash-sync")
    thread.start()
    try:
        second()
    finally:
        thread.join()
    if failed:
        raise failed[0]


def write_doc(backend: StoreBackend, key: str, doc: dict[str, Any]) -> None:
    """Give the metadata ``key`` the content ``doc`` at once, durably (never torn).

    The new file is written in the metadata folder, where a crash's leftover is found.
    """
    tmp = key_in(METADATA_DIR, f"{TMP_PREFIX}{secrets.token_hex(8)}")
    try:
        backend.write_new(tmp, encode_doc(doc))
        backend.replace(tmp, key)
    finally:
        backend.discard(tmp)
    backend.sync(key.rpartition("/")[0])


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


def write_failure(name: str, exc: OSError, where: Path | str) -> str:
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


def recover_pending(backend: StoreBackend, pending: str) -> None:
    """Roll an interrupted save forward if its pickle is in place, else drop it."""
    try:
        doc = parse_json(backend.read(pending, MAX_JSON_BYTES))
        name = doc.get("model_name") if isinstance(doc, dict) else None
        if not isinstance(name, str) or not disk_name_ok(name) or pending_key(name) != pending:
            raise ValueError("pending file does not belong to its name")
        check_doc(doc, name)
        # An earlier tuidash named files by the name itself: its model_file says which.
        base = doc["model_file"]["name"].removesuffix(".pkl")
        kind, recorded = recorded_digest(doc["model_file"])
        payload, digest = backend.read_hashed(pkl_key(base), True, kind=kind)
        close_payload(payload)
        if digest != recorded:
            raise ValueError("the pickle was not replaced")
    except (OSError, ValueError, KeyError, TypeError, Problem):
        backend.discard(pending)
        return
    backend.replace(pending, json_key(base))
    backend.sync(METADATA_DIR)
