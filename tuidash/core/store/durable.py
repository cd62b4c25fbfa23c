"""Durable local files: new files written whole and fsynced, folder fsyncs, hashed reads.

The primitives of the local-disk backend. Nothing here follows a symbolic link, writes into
an existing file, or returns bytes other than the ones it hashed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import mmap
import os
import stat
import threading
from pathlib import Path
from typing import Any, BinaryIO

import xxhash

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
"""A new file only (never an existing one, never through a link)."""
READ_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY
HASH_IN_THREAD_BYTES = 4 * 1024 * 1024
"""Files at least this large are hashed by a thread (smaller: handing over costs more)."""
READ_CHUNK = 1024 * 1024
HASH_CHUNK = 8 * 1024 * 1024
"""Reads of a hashing thread: large, because it waits up to the interpreter's switch
interval (5 ms) for the GIL after each one while another thread unpickles, and small
enough to stay in the CPU's cache (32 MB chunks made reading and hashing 4x slower)."""


DIGEST = "xxh3_128"
"""The checksum a save records for its pickle (``model_file.xxh3_128``).

xxh3-128 runs at about 10 GB/s here against sha256's 1.2 GB/s (BLAKE3: 2.8 GB/s), so
verifying a pickle costs a fraction of unpickling it. The checksum guards against damage
and against files swapped or changed outside tuidash; it is not a defence against someone
who can write the store (they can rewrite the JSON too): the restricted unpickler is.
Entries saved before it carry ``model_file.sha256`` and are still verified with sha256."""
DIGEST_KINDS = {"xxh3_128": 32, "sha256": 64}
"""Each checksum a ``model_file`` may carry, newest first, with its length in hex digits."""


def new_hasher(kind: str = DIGEST) -> Any:
    """A hashing object (``update``/``hexdigest``) of checksum ``kind``."""
    if kind == "xxh3_128":
        return xxhash.xxh3_128()
    if kind == "sha256":
        return hashlib.sha256()
    raise ValueError(f"unknown checksum {kind!r}")


def digest_of(data: bytes | memoryview, kind: str = DIGEST) -> str:
    """The hex checksum ``kind`` of ``data``."""
    hasher = new_hasher(kind)
    hasher.update(data)
    return str(hasher.hexdigest())


class TooLarge(ValueError):
    """A file is larger than the reader's limit; ``reason`` says so as a clause."""

    def __init__(self, size: int) -> None:
        self.reason = f"its file is {size} bytes, larger than expected"
        super().__init__(self.reason)


def fsync_dir(path: str | Path) -> None:
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


def sync_file(fd: int) -> None:
    """Flush a new file's data and size to disk (fdatasync where the OS has it)."""
    sync = getattr(os, "fdatasync", None)
    if sync is None:  # macOS, Windows
        os.fsync(fd)
    else:
        sync(fd)


def write_new_file(path: str | Path, data: bytes | memoryview) -> None:
    """Create ``path`` (must not exist), write all of ``data``, fsync, close."""
    fd = os.open(path, NEW_FILE_FLAGS, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        sync_file(fd)
    finally:
        os.close(fd)


def append_line(path: str | Path, line: bytes) -> None:
    """Append ``line`` (ending in a newline) to ``path`` durably, creating it if needed.

    A line torn by a crash is ended first, so it never swallows the next one. If writing
    fails, the file is cut back to what it was (removed if this call created it).
    """
    flags = os.O_WRONLY | os.O_APPEND | _O_NOFOLLOW | _O_CLOEXEC
    created = False
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o644)
        created = True
    size = 0
    try:
        size = os.fstat(fd).st_size
        if size:
            read_fd = os.open(path, READ_FLAGS)
            try:
                last = os.pread(read_fd, 1, size - 1)
            finally:
                os.close(read_fd)
            if last != b"\n":
                line = b"\n" + line
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
        # A new file's folder entry is not fsynced here: the store syncs a name's versions
        # folder before it relies on it (keeping a version), and a history line is
        # best-effort across a power cut anyway (see ``versions``).
        sync_file(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            if created:
                os.unlink(path)
            else:
                os.ftruncate(fd, size)
        raise
    finally:
        os.close(fd)


def write_new_unsynced(path: str | Path, data: bytes) -> None:
    """Create ``path`` (must not exist) with ``data``; no fsync (a cache file)."""
    fd = os.open(path, NEW_FILE_FLAGS, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def unlink_quiet(path: str | Path) -> None:
    """Remove a file if it can be removed; never raises."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def unlink_all(paths: list[str]) -> None:
    """Remove each file that can be removed (run by a thread: freeing blocks is slow)."""
    for path in paths:
        unlink_quiet(path)


class HashingWriter:
    """A new file for pickle.dump: written to ``fd`` and hashed (checksum ``kind``, default
    ``DIGEST``) as it goes.

    The hashing is done in the writing thread: xxh3-128 hashes a 110 MB forest in about
    10 ms, while handing each buffer to a hashing thread cost far more than that (every
    hand-over switches the GIL: 130 ms per forest, measured).
    """

    def __init__(self, fd: int, kind: str = DIGEST) -> None:
        self._fd: int | None = fd
        self.kind = kind
        """The checksum ``digest`` returns."""
        self._hash = new_hasher(kind)
        self.size = 0

    def write(self, data: Any) -> int:
        """Write all of ``data`` (any buffer) and hash it."""
        assert self._fd is not None
        view = memoryview(data).cast("B")
        total = view.nbytes
        done = 0
        while done < total:
            done += os.write(self._fd, view[done:])
        self._hash.update(view)
        self.size += total
        return total

    def sync(self) -> None:
        """Flush the file to disk."""
        assert self._fd is not None
        sync_file(self._fd)

    def digest(self) -> str:
        """The checksum (``kind``) of everything written."""
        return str(self._hash.hexdigest())

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def read_regular(path: str | Path, limit: int | None = None) -> bytes:
    """Read a whole regular file without following a link; OSError if missing."""
    fd = os.open(path, READ_FLAGS)
    with os.fdopen(fd, "rb", buffering=0) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
        if limit is not None and info.st_size > limit:
            raise TooLarge(info.st_size)
        return handle.readall()


class OpenPickle:
    """A large pickle hashed in place: unpickled later from the same open file.

    Large files are not copied into memory: they are hashed by streaming through a
    small buffer, then unpickled from the same file descriptor. tuidash never writes
    into an existing file (every save is a new file + rename), and the file's size and
    modification time are checked again after unpickling, so the bytes unpickled are
    the bytes that were hashed.
    """

    def __init__(self, handle: BinaryIO, info: os.stat_result) -> None:
        self.handle = handle
        self.info = info

    def unchanged(self) -> bool:
        """True if nothing wrote to the file since it was hashed."""
        # Not st_ctime: renames and hard links of the same inode (a save's backup) change it.
        now = os.fstat(self.handle.fileno())
        return (now.st_size, now.st_mtime_ns) == (self.info.st_size, self.info.st_mtime_ns)

    def close(self) -> None:
        """Close the file."""
        self.handle.close()


Payload = bytes | OpenPickle
"""A pickle's verified bytes, or its open file when it is large."""


def close_payload(payload: Any) -> None:
    """Close ``payload`` if it is an open file."""
    if isinstance(payload, OpenPickle):
        payload.close()


_CHUNKS = threading.local()


def _hash_mapped(fd: int, kind: str) -> str | None:
    """The checksum ``kind`` of an open file, hashed where it lies in the page cache (a
    memory map): no copy into a buffer, and one call that releases the GIL for the whole
    file. For the 881 MB of the benchmark store that took 51 ms against 347 ms through a
    read buffer. None where the file cannot be mapped (the caller reads it instead).

    The store never shortens a pickle in place (it writes a new file and renames it); a
    program that truncated one while it is mapped would stop this process (SIGBUS), so a
    mapping is held only while it is hashed."""
    try:
        mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    with mapped:
        if hasattr(mapped, "madvise"):
            with contextlib.suppress(OSError):
                mapped.madvise(mmap.MADV_SEQUENTIAL)
        return digest_of(memoryview(mapped), kind)


def _chunk(size: int) -> memoryview:
    """A reusable read buffer of ``size`` bytes for this thread.

    A fresh buffer per file would cost its page faults (and zeroing) on every file: as much
    as the copy into it. One per thread is reused, so the hashing reads stay in cache.
    """
    view: memoryview | None = getattr(_CHUNKS, "view", None)
    if view is None or len(view) != size:
        view = _CHUNKS.view = memoryview(bytearray(size))
    return view


def read_hashed(
    path: str | Path, want_hash: bool, chunk_size: int = READ_CHUNK, kind: str = DIGEST
) -> tuple[Payload, str | None]:
    """A regular file's bytes (or, if large, its open handle) and its checksum ``kind``.

    A large file is hashed where it lies (``_hash_mapped``; through a small reused buffer
    where it cannot be mapped), then handed over open, at offset 0, with the default
    (small) buffering that ``open()`` gives: the unpickler's large reads then go straight
    into the arrays they fill, as in a plain ``pickle.load(open(path, "rb"))``.
    """
    fd = os.open(path, READ_FLAGS)
    handed = False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
        if info.st_size < HASH_IN_THREAD_BYTES:
            with os.fdopen(fd, "rb", buffering=0, closefd=False) as raw:
                data = raw.readall()
            return data, (digest_of(data, kind) if want_hash else None)
        digest = None
        if want_hash:
            digest = _hash_mapped(fd, kind)
            if digest is None:
                hasher = new_hasher(kind)
                view = _chunk(chunk_size)
                while count := os.readv(fd, [view]):
                    hasher.update(view[:count])
                os.lseek(fd, 0, os.SEEK_SET)
                digest = hasher.hexdigest()
        handle = os.fdopen(fd, "rb")
        handed = True
        return OpenPickle(handle, info), digest
    finally:
        if not handed:
            os.close(fd)
