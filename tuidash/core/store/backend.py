"""The one file-system interface of the store, and its local-disk implementation.

Everything the store lists, reads, writes, renames, removes or locks goes through a
``StoreBackend``, addressed by keys: paths inside the store with ``/`` between folders
(``models/Forest.pkl``; the folder ``""`` is the store's top). The operations are the few
that a crash-safe store needs, shaped so that an object store can offer them too:

- ``scan`` lists a folder with every entry's stat signature in one call (one LIST request;
  the listing cache is validated against these signatures, never trusted blindly);
- ``write_new`` never overwrites (a conditional ``If-None-Match`` write there);
- ``replace`` makes one key hold another key's content at once, the old content never
  torn (a rename here; a copy, then a delete, where there is no rename);
- ``sync`` makes the replaces in a folder durable (a folder fsync here; nothing there);
- ``link`` gives existing bytes a second key without copying them where it can (a hard
  link here; a server-side copy there), so each version's bytes are stored once;
- ``append`` adds a line to an append-only file (a name's history).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from tuidash.core.store import durable
from tuidash.core.store.durable import HashingWriter, Payload, read_hashed, read_regular
from tuidash.core.store.names import LOCK_NAME, METADATA_DIR, MODELS_DIR, TMP_PREFIX, key_in


class LockTimeout(Exception):
    """Another process held the store's writer lock for the whole timeout."""


class Stat(Protocol):
    """A file's signature: what ``os.stat`` gives on disk (an object store: from its row)."""

    @property
    def st_mode(self) -> int:
        """File type (regular, folder, link) and permissions."""

    @property
    def st_ino(self) -> int:
        """Changes when the file is replaced (an object store: a number from its ETag)."""

    @property
    def st_size(self) -> int:
        """Size in bytes."""

    @property
    def st_mtime_ns(self) -> int:
        """Last modification, in nanoseconds."""


class NewFile(Protocol):
    """A file being written (``pickle.dump``'s file) that hashes what it is given."""

    size: int
    """Bytes written so far."""

    def write(self, data: Any) -> int:
        """Write all of ``data`` (any buffer)."""

    def sync(self) -> None:
        """Make what was written durable."""

    def digest(self) -> str:
        """The checksum ``durable.DIGEST`` (xxh3-128) of everything written, in hex."""

    def close(self) -> None:
        """Release the file (idempotent); it stays where it was written."""


class Entry(Protocol):
    """One listed file: an ``os.DirEntry`` on disk (an object store offers the same)."""

    @property
    def name(self) -> str:
        """The file's name in its folder."""

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        """True for a folder."""

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        """True for a regular file."""

    def is_symlink(self) -> bool:
        """True for a symbolic link (never followed by the store)."""

    def inode(self) -> int:
        """``stat().st_ino``, known without a second request."""

    def stat(self, *, follow_symlinks: bool = True) -> Stat:
        """The entry's signature."""


class StoreBackend(Protocol):
    """Where a store's files live: the only way the store touches them."""

    @property
    def root(self) -> Path | str:
        """The store's location, as shown to a person: a folder, or a URL (a remote store)."""

    @property
    def remote(self) -> bool:
        """True for a store in object storage (not on this computer's disk)."""

    def exists(self) -> bool:
        """True if the store's top folder is there."""

    def make_folders(self) -> None:
        """Create the store's folders if they are missing (OSError if it cannot)."""

    def scan(self, folder: str) -> list[Entry]:
        """Every entry of ``folder`` with its signature, in one call ([] if unreadable)."""

    def names(self, folder: str) -> list[str]:
        """The names in ``folder`` (OSError if unreadable); cheaper than ``scan``."""

    def stat(self, key: str, *, follow_symlinks: bool = False) -> Stat | None:
        """The signature of ``key``, or None if there is nothing there."""

    def read(self, key: str, limit: int | None = None) -> bytes:
        """A regular file's bytes (FileNotFoundError, IsADirectoryError, TooLarge)."""

    def read_hashed(
        self,
        key: str,
        want_hash: bool,
        chunk_size: int = durable.READ_CHUNK,
        kind: str = durable.DIGEST,
    ) -> tuple[Payload, str | None]:
        """A file's bytes (a large one: its open file) and its checksum ``kind`` (one of
        ``durable.DIGEST_KINDS``), read once."""

    def create(self, key: str) -> NewFile:
        """A new file at ``key`` (never an existing one) that hashes what is written
        (checksum ``durable.DIGEST``)."""

    def write_new(self, key: str, data: bytes | memoryview) -> None:
        """Create ``key`` (never over an existing one) with ``data``, durably."""

    def write_atomic(self, key: str, data: bytes) -> None:
        """Give ``key`` the content ``data`` at once, never torn; not durable (caches)."""

    def replace(self, source: str, target: str) -> None:
        """``target`` holds ``source``'s content at once and ``source`` is gone."""

    def sync(self, folder: str) -> None:
        """Make the replaces and removals in ``folder`` durable."""

    def link(self, source: str, target: str) -> None:
        """A new key ``target`` (never an existing one) holding ``source``'s bytes, durably:
        without copying them where possible (a hard link), else a copy."""

    def append(self, key: str, line: bytes) -> None:
        """Append one line to ``key`` durably (creating it); a torn last line is ended first."""

    def make_folder(self, folder: str) -> None:
        """Create ``folder`` (and its parents) durably if it is missing."""

    def remove_folder(self, folder: str) -> None:
        """Remove ``folder`` if it is empty; never raises."""

    def remove(self, key: str) -> None:
        """Remove ``key`` (OSError if it cannot)."""

    def discard(self, key: str) -> None:
        """Remove ``key`` if it can be removed; never raises."""

    def discard_later(self, keys: list[str]) -> None:
        """Remove ``keys`` in the background (freeing a large file's blocks is slow)."""

    def lock(self, timeout: float) -> AbstractContextManager[None]:
        """The cross-process writer lock, re-entrant; LockTimeout after ``timeout`` s."""

    def free_bytes(self) -> int:
        """Free space where the store lives (OSError if unknown)."""


class LocalBackend:
    """A store in a folder on a local disk: rename for atomicity, fsync for durability."""

    remote = False
    """On this computer's disk."""

    def __init__(self, base_dir: str | os.PathLike[str]) -> None:
        self.root: Path = Path(os.path.abspath(os.path.expanduser(os.fspath(base_dir))))
        # Plain strings on the load path: a Path per file is measurable per model.
        self._prefix = f"{self.root}{os.sep}"
        self._lock: Any = None

    def path(self, key: str) -> str:
        """The file path of ``key``."""
        return self._prefix + key if key else str(self.root)

    def exists(self) -> bool:
        return self.root.is_dir()

    def make_folders(self) -> None:
        (self.root / MODELS_DIR).mkdir(parents=True, exist_ok=True)
        (self.root / METADATA_DIR).mkdir(parents=True, exist_ok=True)

    def scan(self, folder: str) -> list[Entry]:
        try:
            with os.scandir(self.path(folder)) as entries:
                return list(entries)
        except OSError:
            return []

    def names(self, folder: str) -> list[str]:
        return os.listdir(self.path(folder))

    def stat(self, key: str, *, follow_symlinks: bool = False) -> os.stat_result | None:
        try:
            return os.stat(self.path(key), follow_symlinks=follow_symlinks)
        except OSError:
            return None

    def read(self, key: str, limit: int | None = None) -> bytes:
        return read_regular(self.path(key), limit)

    def read_hashed(
        self,
        key: str,
        want_hash: bool,
        chunk_size: int = durable.READ_CHUNK,
        kind: str = durable.DIGEST,
    ) -> tuple[Payload, str | None]:
        return read_hashed(self.path(key), want_hash, chunk_size, kind)

    def create(self, key: str) -> HashingWriter:
        return HashingWriter(os.open(self.path(key), durable.NEW_FILE_FLAGS, 0o644))

    def write_new(self, key: str, data: bytes | memoryview) -> None:
        durable.write_new_file(self.path(key), data)

    def write_atomic(self, key: str, data: bytes) -> None:
        folder = key.rpartition("/")[0]
        tmp = self.path(key_in(folder, f"{TMP_PREFIX}{secrets.token_hex(8)}"))
        try:
            durable.write_new_unsynced(tmp, data)
            os.replace(tmp, self.path(key))
        except BaseException:
            durable.unlink_quiet(tmp)
            raise

    def replace(self, source: str, target: str) -> None:
        os.replace(self.path(source), self.path(target))

    def sync(self, folder: str) -> None:
        durable.fsync_dir(self.path(folder))

    def link(self, source: str, target: str) -> None:
        try:
            os.link(self.path(source), self.path(target), follow_symlinks=False)
            return
        except OSError as exc:
            # No hard links here (another file system, FAT, some network disks): copy.
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
                raise
        folder = target.rpartition("/")[0]
        tmp = key_in(folder, f"{TMP_PREFIX}{secrets.token_hex(8)}.copy")
        try:
            with open(self.path(source), "rb") as src:
                sink = self.create(tmp)
                try:
                    shutil.copyfileobj(src, sink, 1024 * 1024)
                    sink.sync()
                finally:
                    sink.close()
            if os.path.lexists(self.path(target)):  # as link() would: never over a file
                raise FileExistsError(errno.EEXIST, "exists", self.path(target))
            os.replace(self.path(tmp), self.path(target))
        finally:
            self.discard(tmp)

    def append(self, key: str, line: bytes) -> None:
        durable.append_line(self.path(key), line)

    def make_folder(self, folder: str) -> None:
        path = Path(self.path(folder))
        if path.is_dir():
            return
        missing = [p for p in (path, *path.parents) if not p.is_dir()]
        path.mkdir(parents=True, exist_ok=True)
        for created in reversed(missing):  # each new folder's entry made durable once
            durable.fsync_dir(created.parent)

    def remove_folder(self, folder: str) -> None:
        with contextlib.suppress(OSError):
            os.rmdir(self.path(folder))

    def remove(self, key: str) -> None:
        os.unlink(self.path(key))

    def discard(self, key: str) -> None:
        durable.unlink_quiet(self.path(key))

    def discard_later(self, keys: list[str]) -> None:
        paths = [self.path(key) for key in keys]
        threading.Thread(target=durable.unlink_all, args=(paths,), name="tuidash-free").start()

    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        from filelock import FileLock, Timeout

        if self._lock is None:  # one reusable, re-entrant lock object per store
            self._lock = FileLock(self.path(LOCK_NAME))
        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            raise LockTimeout(f"{self.root} is locked by another process") from None
        try:
            yield
        finally:
            self._lock.release()

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free
