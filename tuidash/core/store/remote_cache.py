"""The download cache of stores in object storage: pickles by digest on this disk.

Loading streams a pickle into this cache (``~/.cache/tuidash/models``, size-capped) while
hashing it; the next load of the same object (same URL, key, ETag and size) reads the cached
file and hashes it again, so a restart needs no download. Uploads are spooled here too and
kept: what was uploaded is what a load would download.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path

from tuidash.core.store import durable

DEFAULT_CACHE_BYTES = 2 * 1024**3
"""The download cache's size cap (``TUIDASH_CACHE_BYTES`` changes it)."""


def cache_dir() -> Path:
    """The download cache: ``TUIDASH_CACHE_DIR``, else ``$XDG_CACHE_HOME/tuidash/models``."""
    explicit = os.environ.get("TUIDASH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tuidash" / "models"


class DownloadCache:
    """Downloaded pickles by digest under ``cache_dir()``, least recently used dropped first."""

    def __init__(self, folder: Path | None = None, max_bytes: int | None = None) -> None:
        self.folder = folder if folder is not None else cache_dir()
        if max_bytes is None:
            max_bytes = int(os.environ.get("TUIDASH_CACHE_BYTES") or DEFAULT_CACHE_BYTES)
        self.max_bytes = max_bytes
        """The cap: after each new file the oldest-used files go until the rest fit."""

    def spool(self) -> str | None:
        """Where files being uploaded or downloaded are written: in the cache (a rename then
        keeps them), else the system's temp folder (None) when the cache cannot be written."""
        folder = self.folder / "spool"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return str(folder)

    def _object_file(self, digest: str) -> Path:
        return self.folder / "objects" / digest[:2] / digest

    def _tag_file(self, identity: str) -> Path:
        return self.folder / "etags" / hashlib.sha256(identity.encode()).hexdigest()

    def lookup(self, identity: str) -> tuple[Path, str] | None:
        """(file, digest) cached for an object's identity (URL, key, ETag, size)."""
        try:
            digest = self._tag_file(identity).read_text(encoding="ascii").strip()
        except OSError:
            return None
        path = self._object_file(digest)
        if not path.is_file():
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: evicted last
        return path, digest

    def remember(self, identity: str, digest: str) -> None:
        """Note which digest an object's identity holds (its file is in the cache)."""
        tag = self._tag_file(identity)
        with contextlib.suppress(OSError):
            tag.parent.mkdir(parents=True, exist_ok=True)
            tmp = tag.with_name(f".{tag.name}.{secrets.token_hex(4)}")
            tmp.write_text(digest, encoding="ascii")
            os.replace(tmp, tag)

    def adopt(self, path: str | Path, digest: str) -> Path | None:
        """Move a complete local file into the cache as ``digest``; its new path."""
        if self.max_bytes <= 0:
            return None
        target = self._object_file(digest)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
        except OSError:
            return None
        self.trim()
        return target

    def forget(self, digest: str) -> None:
        """Drop a cached file whose bytes no longer match its digest."""
        durable.unlink_quiet(self._object_file(digest))

    def trim(self) -> None:
        """Remove the least recently used files until the cache fits its cap."""
        files = []
        with contextlib.suppress(OSError):
            for path in (self.folder / "objects").glob("*/*"):
                with contextlib.suppress(OSError):
                    info = path.stat()
                    files.append((info.st_mtime, info.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            durable.unlink_quiet(path)
            total -= size
