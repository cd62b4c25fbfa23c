"""The writer lock of a store in object storage, and the conditional writes it rests on.

An object store has no lock file: the writer lock is an object (``.tuidash.lock``) created
with ``If-None-Match: *``, refreshed by a heartbeat (``If-Match``: nobody took it meanwhile)
every quarter of its lease, and taken over with ``If-Match`` when its lease ran out (its
writer was killed); its age is read on the store's clock (the answer's HTTP ``Date``), so a
machine whose clock is off never takes a live writer's lock. A writer whose lease was taken
gets ``WriteConflict`` on its next write instead of overwriting blindly. File systems
without conditional writes (``memory://``) get them emulated within one process
(``_EMULATION_LOCK``).

``ObjectLock`` is a part of ``RemoteBackend`` (``remote``): it makes its requests through
the backend's ``_call``, ``_info``, ``object_path`` and ``fs``.
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import errno
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tuidash.core.store.backend import LockTimeout
from tuidash.core.store.names import LOCK_NAME

LEASE_SECONDS = float(os.environ.get("TUIDASH_LOCK_LEASE") or 60.0)
"""How long a writer lock lives without its heartbeat (a killed writer's lock then expires)."""


class WriteConflict(OSError):
    """A conditional write lost: another process changed the object first."""


_EMULATION_LOCK = threading.Lock()
"""Serialises conditional writes on file systems that have none (memory://)."""


def _etag(info: Mapping[str, Any]) -> str | None:
    tag = info.get("ETag") or info.get("etag") or info.get("md5_checksum")
    return str(tag) if tag else None


def _mtime_ns(info: Mapping[str, Any]) -> int:
    for key in ("LastModified", "last_modified", "mtime", "updated", "created"):
        value = info.get(key)
        if isinstance(value, datetime.datetime):
            return int(value.timestamp() * 1e9)
        if isinstance(value, int | float):
            return int(value * 1e9)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(datetime.datetime.fromisoformat(value).timestamp() * 1e9)
    return 0


def _server_now(info: Mapping[str, Any]) -> float:
    """The time at the store when ``info`` was read (its HTTP ``Date``), so that ages are
    measured on one clock; this machine's clock where the answer had none (memory://)."""
    date = info.get("ServerDate")
    if isinstance(date, str):
        with contextlib.suppress(TypeError, ValueError, IndexError):
            return email.utils.parsedate_to_datetime(date).timestamp()
    return time.time()


def _etag_or_sig(info: Mapping[str, Any]) -> str:
    """The object's ETag, or where there is none, its size and time."""
    return _etag(info) or f"{info.get('size')}:{_mtime_ns(info)}"


class ObjectLock:
    """The writer lock of a ``RemoteBackend`` (see the module): re-entrant in its thread."""

    fs: Any
    root: str
    _s3: bool
    _call: Callable[..., Any]
    _info: Callable[[str], dict[str, Any]]
    object_path: Callable[[str], str]
    _seen: dict[str, str | None]
    """The ETags this lock's holder read (its next write of each is conditional on it)."""

    def _init_lock(self) -> None:
        self._lock_state = threading.RLock()
        self._held = 0
        self._owner: int | None = None
        self._lock_etag: str | None = None
        self._lock_lost = False
        self._heartbeat: threading.Thread | None = None
        self._beating = threading.Event()
        self._seen: dict[str, str | None] = {}

    def _check_lock(self) -> None:
        if self._lock_lost and self._owner == threading.get_ident():
            raise WriteConflict(
                errno.EBUSY,
                "this process lost the store's writer lock (it was silent too long)",
            )

    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        me = threading.get_ident()
        with self._lock_state:
            if self._owner == me:
                self._held += 1
                reentered = True
            else:
                reentered = False
        if not reentered:
            self._acquire(timeout)
        try:
            yield
        finally:
            with self._lock_state:
                self._held -= 1
                last = self._held == 0
            if last:
                self._release()

    def _lock_body(self) -> bytes:
        return json.dumps(
            {"host": socket.gethostname(), "pid": os.getpid(), "token": secrets.token_hex(8)}
        ).encode()

    def _acquire(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pause = 0.02
        while True:
            try:
                self._call_put_lock(create=True)
                break
            except FileExistsError:
                pass
            stale = self._stale_lock()
            if stale is not None:
                try:
                    self._call_put_lock(match=stale)
                    break
                except (WriteConflict, FileNotFoundError):
                    pass
            if time.monotonic() >= deadline:
                raise LockTimeout(f"{self.root} is locked by another process")
            time.sleep(
                min(pause, max(0.0, deadline - time.monotonic()))
                * (0.5 + secrets.randbelow(100) / 100)
            )
            pause = min(pause * 1.5, 0.5)
        with self._lock_state:
            self._owner, self._held, self._lock_lost = threading.get_ident(), 1, False
            self._seen = {}
        self._beating = threading.Event()
        self._heartbeat = threading.Thread(
            target=self._beat,
            args=(self._lock_etag, self._beating),
            name="tuidash-lock",
            daemon=True,
        )
        self._heartbeat.start()

    def _call_put_lock(self, *, create: bool = False, match: str | None = None) -> None:
        data = self._lock_body()
        if self._s3:
            kwargs: dict[str, Any] = {"mode": "create"} if create else {"IfMatch": match}
            result = self._call(self.fs.pipe_file, self.object_path(LOCK_NAME), data, **kwargs)
            tag = result.get("ETag") if isinstance(result, dict) else None
            self._lock_etag = tag or _etag_or_sig(self._info(LOCK_NAME))
            return
        with _EMULATION_LOCK:
            try:
                current: str | None = _etag_or_sig(self._info(LOCK_NAME))
            except FileNotFoundError:
                current = None
            if create and current is not None:
                raise FileExistsError(errno.EEXIST, "locked", self.object_path(LOCK_NAME))
            if match is not None and current != match:
                raise WriteConflict(errno.EBUSY, "the lock moved")
            self._call(self.fs.pipe_file, self.object_path(LOCK_NAME), data)
            self._lock_etag = _etag_or_sig(self._info(LOCK_NAME))

    def _stale_lock(self) -> str | None:
        """The lock's ETag if its lease ran out (its writer stopped beating), else None."""
        try:
            info = self._info(LOCK_NAME)
        except FileNotFoundError:
            return None
        if int(info.get("size") or 0) == 0:
            # No writer of an object store made it (their lock holds who and a token): an
            # empty lock file of a local store that `aws s3 sync` copied. Nobody holds it.
            return _etag_or_sig(info)
        age = _server_now(info) - _mtime_ns(info) / 1e9
        return _etag_or_sig(info) if age > LEASE_SECONDS else None

    def _beat(self, etag: str | None, released: threading.Event) -> None:
        """Refresh the lock object while it is held (If-Match: nobody took it meanwhile)."""
        while not released.wait(LEASE_SECONDS / 4):
            with self._lock_state:
                if self._owner is None or self._lock_etag != etag:
                    return
                try:
                    self._call_put_lock(match=etag)
                    etag = self._lock_etag
                except (OSError, FileNotFoundError):
                    self._lock_lost = True
                    return

    def _release(self) -> None:
        self._beating.set()
        with self._lock_state:
            etag, lost = self._lock_etag, self._lock_lost
            self._owner, self._lock_etag, self._seen = None, None, {}
        if lost:
            return
        with contextlib.suppress(Exception):
            if _etag_or_sig(self._info(LOCK_NAME)) == etag:
                self._call(self.fs.rm_file, self.object_path(LOCK_NAME))
