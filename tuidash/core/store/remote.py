"""A store in object storage (S3 and other fsspec file systems): ``RemoteBackend``.

The same layout, keys and JSON as on disk (``aws s3 sync`` of a local store gives a valid
remote one and back) and the same save sequence (``commit``); what an object store lacks
is made up here:

- no rename: ``replace`` writes the target whole (a PUT or a server-side copy: readers see
  the old object or the new one, never a torn one), then deletes the source. The pickle is
  uploaded first under ``models/.tuidash-tmp-*`` (a key no reader lists), the JSON last
  as the commit, exactly as on disk;
- no lock file: the writer lock is an object (``.tuidash.lock``) created with
  ``If-None-Match: *``, kept alive by a heartbeat and taken over with ``If-Match`` when its
  lease ran out (its writer was killed): ``remote_lock``; the JSON commit itself is
  conditional too (``If-Match`` the ETag the writer read, ``If-None-Match`` for a new
  name), so even a writer whose lease was taken never overwrites blindly: it gets a
  sentence instead;
- listing: one LIST per folder; each row's signature is the object's ETag, size and time
  from that LIST, so the listing cache is validated without a request per model;
- loading streams the pickle into a local cache keyed by its digest (``~/.cache/tuidash``,
  size-capped): ``remote_cache``, while hashing it; the next load of the same object (same
  ETag) reads the cached file and hashes it again, so a restart needs no download;
- network failures become ``StoreUnreachable``: one sentence, "could not reach URL: timed
  out; nothing was changed".

Conditional writes are exact on S3 (and S3-compatible servers that support them, such as
MinIO and moto); other fsspec file systems (``memory://``, ``gcs://``, ``az://``) get them
emulated within one process, which is enough for ``memory://`` (tests) but not for two
machines. Uploads and downloads report progress to ``RemoteBackend.progress``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import socket
import stat
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuidash.core.errors import StoreError
from tuidash.core.settings import is_store_url
from tuidash.core.settings import storage_options as default_options
from tuidash.core.store import durable
from tuidash.core.store.backend import Entry, StoreBackend
from tuidash.core.store.durable import OpenPickle, Payload, TooLarge
from tuidash.core.store.names import METADATA_DIR, MODELS_DIR
from tuidash.core.store.remote_cache import DEFAULT_CACHE_BYTES as DEFAULT_CACHE_BYTES
from tuidash.core.store.remote_cache import DownloadCache
from tuidash.core.store.remote_cache import cache_dir as cache_dir
from tuidash.core.store.remote_lock import (
    _EMULATION_LOCK,
    ObjectLock,
    WriteConflict,
    _etag,
    _etag_or_sig,
    _mtime_ns,
)
from tuidash.core.store.remote_lock import LEASE_SECONDS as LEASE_SECONDS

LEFTOVER_GRACE_SECONDS = float(os.environ.get("TUIDASH_LEFTOVER_GRACE") or 600.0)
"""Temp objects younger than this are never removed by another process's clean-up."""
UPLOAD_CHUNK = 16 * 1024 * 1024
"""Part size of multipart uploads (S3 needs at least 5 MB)."""

Progress = Callable[[str, str, int, int], None]
"""``progress(what, key, done_bytes, total_bytes)``; what is "upload" or "download"."""


class StoreUnreachable(OSError, StoreError):
    """The object store could not be reached; ``strerror`` is a clause for a sentence."""

    def __init__(self, code: int, reason: str) -> None:
        OSError.__init__(self, code, reason)

    @property
    def message(self) -> str:  # type: ignore[override]
        """One sentence: "Could not reach s3://bucket/prefix: timed out; nothing was changed." """
        text = str(self.strerror or "could not reach the store")
        return f"{text[:1].upper()}{text[1:]}; nothing was changed."


# ----------------------------------------------------------------------------- entries


@dataclass(frozen=True, slots=True)
class RemoteStat:
    """An object's signature: st_ino comes from its ETag, st_mtime_ns from its time."""

    st_mode: int
    st_ino: int
    st_size: int
    st_mtime_ns: int
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """One listed object (or common prefix, a folder) with its signature."""

    name: str
    info: RemoteStat

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return stat.S_ISDIR(self.info.st_mode)

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return stat.S_ISREG(self.info.st_mode)

    def is_symlink(self) -> bool:
        return False

    def inode(self) -> int:
        return self.info.st_ino

    def stat(self, *, follow_symlinks: bool = True) -> RemoteStat:
        return self.info


def _to_stat(info: Mapping[str, Any]) -> RemoteStat:
    if info.get("type") == "directory":
        # Folders of an object store have no signature: a fresh one on every look, so a
        # cache keyed on it is always rebuilt.
        return RemoteStat(stat.S_IFDIR | 0o755, 0, 0, time.time_ns())
    size = int(info.get("size") or 0)
    mtime = _mtime_ns(info)
    tag = _etag(info)
    ident = tag if tag is not None else f"{size}:{mtime}"
    return RemoteStat(stat.S_IFREG | 0o644, zlib.crc32(ident.encode()) + 1, size, mtime, tag)


class _Transfer:
    """An fsspec callback that forwards byte counts to a ``Progress``."""

    def __init__(self, progress: Progress | None, what: str, key: str, total: int) -> None:
        from fsspec.callbacks import Callback

        outer = self

        class _Callback(Callback):  # type: ignore[misc]
            def call(self, *args: Any, **kwargs: Any) -> None:
                outer.report(int(self.value or 0), int(self.size or total))

        self._progress, self._what, self._key, self._total = progress, what, key, total
        self.callback = _Callback()
        self.callback.set_size(total)

    def report(self, done: int, total: int | None = None) -> None:
        if self._progress is not None:
            with contextlib.suppress(Exception):  # a progress bar never breaks a transfer
                self._progress(self._what, self._key, done, total or self._total)


# ------------------------------------------------------------------------------- files


class _Upload:
    """A new remote file: spooled to a local file (hashed as written), uploaded on sync."""

    def __init__(self, backend: RemoteBackend, key: str) -> None:
        self._backend, self._key = backend, key
        fd, self._spool = tempfile.mkstemp(prefix=".upload-", dir=backend.cache.spool())
        self._file: Any = os.fdopen(fd, "wb")
        self._hash = durable.new_hasher()
        self._uploaded = False
        self.size = 0

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._file.write(view)
        self._hash.update(view)
        self.size += view.nbytes
        return view.nbytes

    def sync(self) -> None:
        """Upload what was written under its key (multipart for large files)."""
        self._file.close()
        if not self._uploaded:
            self._backend.upload(self._spool, self._key, self.size)
            self._uploaded = True
            # What was uploaded is what a load would download: keep it in the cache.
            self._backend.cache.adopt(self._spool, self.digest())

    def digest(self) -> str:
        return str(self._hash.hexdigest())

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        durable.unlink_quiet(self._spool)


# ----------------------------------------------------------------------------- backend


def _is_network_error(exc: BaseException) -> bool:
    """True for a timeout, a refused or reset connection, a failed DNS look-up."""
    if isinstance(exc, TimeoutError | ConnectionError | socket.gaierror):
        return True
    names = {klass.__name__ for klass in type(exc).__mro__}
    return bool(
        names
        & {
            "EndpointConnectionError",
            "ConnectTimeoutError",
            "ReadTimeoutError",
            "ConnectionClosedError",
            "ClientConnectorError",
            "ServerDisconnectedError",
            "ClientOSError",
            "ServerTimeoutError",
        }
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
        return "timed out"
    if "Connect" in type(exc).__name__ or isinstance(exc, ConnectionError):
        return "the connection failed"
    return str(exc).strip().split("\n")[0][:120] or type(exc).__name__


class RemoteBackend(ObjectLock):
    """A store in object storage, reached through fsspec (see the module)."""

    remote = True
    """The store is not on this computer's disk."""

    def __init__(
        self,
        url: str,
        storage_options: Mapping[str, Any] | None = None,
        *,
        cache: DownloadCache | None = None,
    ) -> None:
        from fsspec.core import url_to_fs

        options = dict(storage_options or {})
        protocol = url.split("://", 1)[0]
        if protocol in ("s3", "s3a"):
            # Fail in seconds, not minutes, when the endpoint is down (a user's options win).
            config = {"connect_timeout": 5, "read_timeout": 30, "retries": {"max_attempts": 2}}
            config.update(options.get("config_kwargs") or {})
            options["config_kwargs"] = config
            if os.environ.get("AWS_ENDPOINT_URL") and "endpoint_url" not in options:
                options.setdefault("client_kwargs", {}).setdefault(
                    "endpoint_url", os.environ["AWS_ENDPOINT_URL"]
                )
        options.setdefault("skip_instance_cache", True)
        options.setdefault("use_listings_cache", False)
        try:
            fs, path = url_to_fs(url, **options)
        except ImportError as exc:
            raise StoreUnreachable(
                errno.ENOPROTOOPT,
                f"{protocol}:// stores need an extra package ({exc}); "
                "pip install 'tuidash[s3]' for S3",
            ) from None
        self.fs: Any = fs
        """The fsspec file system."""
        if self._is_s3_fs(fs):
            # s3fs retries a failed request 5 times with back-off on top of botocore's own:
            # a store that is down would take a minute to say so.
            fs.retries = 2
        self._base = path.rstrip("/")
        self.root: str = url.rstrip("/")
        """The store's URL, as shown to a person."""
        protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
        self._s3 = any(p in ("s3", "s3a") for p in protocols)
        self._folders = any(p in ("memory", "file", "local") for p in protocols)
        self.cache = cache if cache is not None else DownloadCache()
        """Downloaded pickles, by digest."""
        self.progress: Progress | None = None
        """Told the bytes done of each upload and download (a progress bar)."""
        self.leftover_grace = LEFTOVER_GRACE_SECONDS
        """Temp objects younger than this are left alone by clean-ups (a live writer's)."""
        self.requests = 0
        """Requests made (counted for the benchmark)."""
        self._init_lock()
        self._exists = False

    # -- plumbing -----------------------------------------------------------------------

    @staticmethod
    def _is_s3_fs(fs: Any) -> bool:
        protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
        return any(p in ("s3", "s3a") for p in protocols)

    def object_path(self, key: str) -> str:
        """The object path of ``key`` (bucket/prefix/key)."""
        return f"{self._base}/{key}" if key else self._base

    def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One request; a network failure becomes StoreUnreachable, others an OSError."""
        self.requests += 1
        try:
            return func(*args, **kwargs)
        except (FileNotFoundError, FileExistsError, IsADirectoryError, PermissionError):
            raise
        except (StoreUnreachable, WriteConflict, TooLarge):
            raise
        except Exception as exc:
            if _is_network_error(exc) or _is_network_error(exc.__cause__ or exc):
                cause = exc.__cause__ if _is_network_error(exc.__cause__ or exc) else exc
                raise StoreUnreachable(
                    errno.EHOSTUNREACH, f"could not reach {self.root}: {_reason(cause or exc)}"
                ) from None
            if isinstance(exc, OSError) and exc.errno == errno.EINVAL and "condition" in str(exc):
                raise WriteConflict(
                    errno.EBUSY, "another tuidash process changed it at the same time"
                ) from None
            if isinstance(exc, OSError):
                raise
            raise OSError(errno.EIO, f"{type(exc).__name__}: {exc}") from None

    def _info(self, key: str) -> dict[str, Any]:
        last = key.rpartition("/")[2]
        if self._s3 and "." in last:
            # A file's key: one HEAD (s3fs's info also lists the prefix when it is missing).
            bucket, _, name = self.object_path(key).partition("/")
            head = self._call(self.fs.call_s3, "head_object", Bucket=bucket, Key=name)
            headers = (head.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
            return {
                "type": "file",
                "size": int(head.get("ContentLength") or 0),
                "ETag": head.get("ETag"),
                "LastModified": head.get("LastModified"),
                # The server's clock at the answer: a lock's age is read against it, never
                # against this machine's (which may be minutes off).
                "ServerDate": headers.get("date"),
            }
        return dict(self._call(self.fs.info, self.object_path(key)))

    def _put(
        self, key: str, data: bytes | memoryview, *, create: bool = False, match: str | None = None
    ) -> None:
        """PUT ``data`` at ``key``: only if absent (``create``), only over ETag ``match``."""
        self._check_lock()
        body = bytes(data)
        if self._s3:
            kwargs: dict[str, Any] = {}
            if create:
                kwargs["mode"] = "create"
            elif match is not None:
                kwargs["IfMatch"] = match
            result = self._call(self.fs.pipe_file, self.object_path(key), body, **kwargs)
            tag = result.get("ETag") if isinstance(result, dict) else None
            if tag:
                self._note_seen(key, str(tag))
                return
        elif create or match is not None:
            with _EMULATION_LOCK:
                try:
                    current = _etag_or_sig(self._info(key))
                except FileNotFoundError:
                    current = None
                if create and current is not None:
                    raise FileExistsError(errno.EEXIST, "exists", self.object_path(key))
                if match is not None and current != match:
                    raise WriteConflict(
                        errno.EBUSY, "another tuidash process changed it at the same time"
                    )
                self._call(self.fs.pipe_file, self.object_path(key), body)
        else:
            self._call(self.fs.pipe_file, self.object_path(key), body)
        self._note_seen(key, None, written=True)

    def _note_seen(self, key: str, etag: str | None, *, written: bool = False) -> None:
        """Remember the ETag a lock holder read (the next write of the JSON is If-Match it)."""
        if not key.startswith(METADATA_DIR + "/") or self._owner != threading.get_ident():
            return
        if written:
            try:
                etag = _etag_or_sig(self._info(key))
            except OSError:
                self._seen.pop(key, None)
                return
        self._seen[key] = etag

    # -- the protocol -------------------------------------------------------------------

    def exists(self) -> bool:
        if self._exists:
            return True  # a bucket does not go away under a running store
        try:
            if self._s3:
                bucket = self._base.split("/", 1)[0]
                self._call(self.fs.call_s3, "head_bucket", Bucket=bucket)
                self._exists = True
                return True
            return bool(self._call(self.fs.isdir, self._base))
        except StoreUnreachable:
            raise
        except OSError:
            return False

    def make_folders(self) -> None:
        if self._folders:
            for folder in (MODELS_DIR, METADATA_DIR):
                self._call(self.fs.makedirs, self.object_path(folder), exist_ok=True)
            return
        if not self.exists():
            bucket = self._base.split("/", 1)[0]
            raise FileNotFoundError(errno.ENOENT, f"the bucket {bucket} does not exist")

    def scan(self, folder: str) -> list[Entry]:
        path = self.object_path(folder)
        try:
            listed = self._call(self.fs.ls, path, detail=True, **self._refresh())
        except FileNotFoundError:
            return []
        except StoreUnreachable:
            raise
        except OSError:
            return []
        prefix = path.rstrip("/") + "/"
        out: list[Entry] = []
        for info in listed:
            name = str(info.get("name", "")).rstrip("/")
            if not name.startswith(prefix):
                continue  # the folder itself (some file systems list it)
            out.append(RemoteEntry(name[len(prefix) :], _to_stat(info)))
        return out

    def _refresh(self) -> dict[str, Any]:
        return {"refresh": True} if self._s3 else {}

    def names(self, folder: str) -> list[str]:
        path = self.object_path(folder)
        if not self._folders:
            return [entry.name for entry in self.scan(folder)]
        listed = self._call(self.fs.ls, path, detail=False)
        prefix = path.rstrip("/") + "/"
        return [str(n).rstrip("/")[len(prefix) :] for n in listed if str(n).startswith(prefix)]

    def stat(self, key: str, *, follow_symlinks: bool = False) -> RemoteStat | None:
        if not self._folders and key in ("", MODELS_DIR, METADATA_DIR):
            # An object store's top folders always "exist" and have no signature of their
            # own: a fresh one, without a request (callers then look at the listing).
            return _to_stat({"type": "directory"})
        try:
            return _to_stat(self._info(key))
        except StoreUnreachable:
            raise
        except OSError:
            return None

    def read(self, key: str, limit: int | None = None) -> bytes:
        if self._owner == threading.get_ident() and key.startswith(METADATA_DIR + "/"):
            # The lock holder reads what it may replace: keep the ETag for If-Match.
            try:
                info = self._info(key)
            except FileNotFoundError:
                self._seen.setdefault(key, None)
                raise
            if info.get("type") == "directory":
                raise IsADirectoryError(errno.EISDIR, "not a regular file", self.object_path(key))
            if limit is not None and int(info.get("size") or 0) > limit:
                raise TooLarge(int(info["size"]))
            data = self._read_matching(key, info)
            # The first look of this lock hold counts: a later read must not bless a change
            # another process made meanwhile (only this holder's own writes move it on).
            self._seen.setdefault(key, _etag_or_sig(info))
            return data
        data = bytes(self._call(self.fs.cat_file, self.object_path(key)))
        if limit is not None and len(data) > limit:
            raise TooLarge(len(data))
        return data

    def _read_matching(self, key: str, info: Mapping[str, Any]) -> bytes:
        """The bytes of the object version ``info`` describes (WriteConflict if replaced)."""
        if self._s3 and _etag(info):
            try:
                with self.fs.open(self.object_path(key), "rb", cache_type="none") as handle:
                    self.requests += 1
                    if _etag(handle.details) != _etag(info):
                        raise WriteConflict(errno.EBUSY, "it changed while it was read")
                    return bytes(self._call(handle.read))
            except FileNotFoundError:
                raise
        return bytes(self._call(self.fs.cat_file, self.object_path(key)))

    def read_hashed(
        self,
        key: str,
        want_hash: bool,
        chunk_size: int = durable.READ_CHUNK,
        kind: str = durable.DIGEST,
    ) -> tuple[Payload, str | None]:
        info = self._info(key)
        if info.get("type") == "directory":
            raise IsADirectoryError(errno.EISDIR, "not a regular file", self.object_path(key))
        size = int(info.get("size") or 0)
        # The cache is keyed by the checksum the entry records (xxh3-128, or an older
        # entry's sha256), so a cached file is verified with that same checksum.
        identity = f"{self.root}\n{key}\n{_etag_or_sig(info)}\n{size}\n{kind}"
        found = self.cache.lookup(identity)
        if found is not None:
            payload, digest = durable.read_hashed(found[0], True, chunk_size, kind)
            if digest == found[1]:
                return payload, (digest if want_hash else None)
            durable.close_payload(payload)
            self.cache.forget(found[1])  # damaged on this disk: download again
        return self._download(key, size, identity, want_hash, kind)

    def _download(
        self, key: str, size: int, identity: str, want_hash: bool, kind: str = durable.DIGEST
    ) -> tuple[Payload, str | None]:
        """Stream the object into a cache file while hashing it; its open file or bytes."""
        hasher = durable.new_hasher(kind)
        fd, spool = tempfile.mkstemp(prefix=".download-", dir=self.cache.spool())
        transfer = _Transfer(self.progress, "download", key, size)
        try:
            with os.fdopen(fd, "wb") as sink:
                self.requests += 1
                try:
                    with self.fs.open(
                        self.object_path(key), "rb", block_size=UPLOAD_CHUNK
                    ) as source:
                        done = 0
                        while chunk := self._call(source.read, UPLOAD_CHUNK):
                            sink.write(chunk)
                            hasher.update(chunk)
                            done += len(chunk)
                            transfer.report(done, size)
                except FileNotFoundError:
                    raise
                except OSError:
                    raise
                except Exception as exc:  # FileExpired: replaced while it was read
                    raise OSError(errno.EAGAIN, f"it changed while it was read ({exc})") from None
            digest = hasher.hexdigest()
            kept = self.cache.adopt(spool, digest)
            if kept is not None:
                self.cache.remember(identity, digest)
                path: Path | str = kept
            else:
                path = spool
            if size < durable.HASH_IN_THREAD_BYTES:
                data = Path(path).read_bytes()
                if kept is None:
                    durable.unlink_quiet(path)
                return data, (digest if want_hash else None)
            handle: Any = open(path, "rb", buffering=durable.READ_CHUNK)  # noqa: SIM115
            if kept is None:
                durable.unlink_quiet(path)  # the open handle keeps its bytes
            return OpenPickle(handle, os.fstat(handle.fileno())), (digest if want_hash else None)
        except BaseException:
            durable.unlink_quiet(spool)
            raise

    def upload(self, local: str, key: str, size: int) -> None:
        """Upload a local file to ``key`` (multipart when large), reporting progress."""
        self._check_lock()
        transfer = _Transfer(self.progress, "upload", key, size)
        kwargs: dict[str, Any] = {"callback": transfer.callback}
        if self._s3:
            kwargs["chunksize"] = UPLOAD_CHUNK
        self._call(self.fs.put_file, local, self.object_path(key), **kwargs)
        transfer.report(size, size)

    def local_copy(self, key: str) -> str:
        """A copy of ``key`` on this disk (for export): FileNotFoundError if there is none."""
        place = hashlib.sha256(self.root.encode()).hexdigest()[:16]
        target = self.cache.folder / "files" / place / key
        target.parent.mkdir(parents=True, exist_ok=True)
        size = int(self._info(key).get("size") or 0)
        transfer = _Transfer(self.progress, "download", key, size)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
        try:
            self._call(
                self.fs.get_file, self.object_path(key), str(tmp), callback=transfer.callback
            )
            os.replace(tmp, target)
        finally:
            durable.unlink_quiet(tmp)
        return str(target)

    def create(self, key: str) -> _Upload:
        return _Upload(self, key)

    def write_new(self, key: str, data: bytes | memoryview) -> None:
        self._put(key, data, create=True)

    def write_atomic(self, key: str, data: bytes) -> None:
        self._call(self.fs.pipe_file, self.object_path(key), bytes(data))

    def replace(self, source: str, target: str) -> None:
        if target.startswith(METADATA_DIR + "/") or not self._s3:
            # The commit: a PUT conditional on the ETag this writer read (If-Match), or on
            # there being none (If-None-Match) for a new name.
            data = bytes(self._call(self.fs.cat_file, self.object_path(source)))
            self._put_seen(target, data)
        else:
            self._copy(source, target)  # a pickle: a server-side copy, whole or not at all
        self.discard(source)

    def _copy(self, source: str, target: str) -> None:
        """A server-side copy (one request; s3fs copies objects over 5 GB in parts)."""
        self._check_lock()
        bucket, _, name = self.object_path(target).partition("/")
        source_bucket, _, source_name = self.object_path(source).partition("/")
        try:
            self._call(
                self.fs.call_s3,
                "copy_object",
                Bucket=bucket,
                Key=name,
                CopySource={"Bucket": source_bucket, "Key": source_name},
            )
        except FileNotFoundError:
            raise
        except OSError:
            self._call(self.fs.copy, self.object_path(source), self.object_path(target))

    def _put_seen(self, target: str, data: bytes) -> None:
        """Write ``target``: conditional on what this lock holder last read of it."""
        if target in self._seen and self._owner == threading.get_ident():
            seen = self._seen[target]
            if seen is None:
                self._put(target, data, create=True)
            else:
                self._put(target, data, match=seen)
        else:
            self._put(target, data)

    def sync(self, folder: str) -> None:
        return None  # an object is durable once its PUT returned

    def link(self, source: str, target: str) -> None:
        if self.stat(target) is not None:
            raise FileExistsError(errno.EEXIST, "exists", self.object_path(target))
        if self._s3:
            # The writer lock keeps others from creating the target since the look above.
            self._copy(source, target)
        else:
            self._check_lock()
            self._call(self.fs.copy, self.object_path(source), self.object_path(target))

    def append(self, key: str, line: bytes) -> None:
        for _attempt in range(5):
            try:
                info = self._info(key)
            except FileNotFoundError:
                try:
                    self._put(key, line, create=True)
                    return
                except FileExistsError:
                    continue
            old = self._read_matching(key, info) if self._s3 else self.read(key)
            if old and not old.endswith(b"\n"):
                old += b"\n"
            try:
                self._put(key, old + line, match=_etag_or_sig(info))
                return
            except WriteConflict:
                continue
        raise WriteConflict(errno.EBUSY, "another process kept changing the history")

    def make_folder(self, folder: str) -> None:
        if self._folders:
            self._call(self.fs.makedirs, self.object_path(folder), exist_ok=True)

    def remove_folder(self, folder: str) -> None:
        if self._folders:
            with contextlib.suppress(Exception):
                if not self.fs.ls(self.object_path(folder)):
                    self.fs.rmdir(self.object_path(folder))

    def remove(self, key: str) -> None:
        self._check_lock()
        if self.stat(key) is None:
            raise FileNotFoundError(errno.ENOENT, "no such object", self.object_path(key))
        self._call(self.fs.rm_file, self.object_path(key))
        self._seen.pop(key, None)

    def discard(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self._call(self.fs.rm_file, self.object_path(key))
            self._seen.pop(key, None)

    def discard_later(self, keys: list[str]) -> None:
        for key in keys:  # a delete request is quick whatever the object's size
            self.discard(key)

    def free_bytes(self) -> int:
        raise OSError(errno.ENOTSUP, "an object store has no free space to report")


def open_backend(
    location: str | os.PathLike[str], storage_options: Mapping[str, Any] | None = None
) -> StoreBackend:
    """The backend of a store location: a folder (``LocalBackend``) or a URL (``RemoteBackend``)."""
    from tuidash.core.store.backend import LocalBackend

    if is_store_url(location):
        options = storage_options if storage_options is not None else default_options()
        return RemoteBackend(os.fspath(location), options)
    text = os.fspath(location)
    if isinstance(text, str) and text.startswith("file://"):
        text = text[len("file://") :]
    return LocalBackend(text)
