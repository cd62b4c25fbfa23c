"""Noticing what another process changed in the store: a look at the metadata folder.

``MetadataWatch`` keeps what the folder looked like (file name -> mtime, size, inode; in
object storage: LastModified, size and a number from the ETag) and compares the next look
with it. The service moves that baseline past each of its own writes (``refresh``), so
only other processes' (or machines') changes are reported. The looks are blocking: the
service makes them on its store thread, in order with its writes. A look that fails (the
network) or that finds a remote folder empty while its files are still there reports
nothing, so a bad moment never shows every model as removed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tuidash.core.store import METADATA_DIR, StoreBackend, parse_ref, stem

DEFAULT_POLL_INTERVAL = 2.0
"""Seconds between two looks at the metadata folder in ``watch()``."""

REMOTE_POLL_INTERVAL = 15.0
"""The same for a store in object storage: a look is one LIST request (a few per 1,000
models), about 6,000 a day for a dashboard left open."""


@dataclass(frozen=True, slots=True)
class StoreChange:
    """Entries another process added, changed or removed since the service last looked."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the change touches."""
        return self.added + self.changed + self.removed


@dataclass(slots=True)
class Snapshot:
    """What the metadata folder looked like: file name -> (mtime_ns, size, inode)."""

    files: dict[str, tuple[int, int, int]] = field(default_factory=dict)


class MetadataWatch:
    """The metadata folder as last seen, and what others changed in it since."""

    def __init__(self, backend: StoreBackend, name_at: Callable[[str], str | None]) -> None:
        self.backend = backend
        """Where the store's files are (its folder of the latest versions' JSON files)."""
        self.baseline: Snapshot | None = None
        """The last look; None until the first listing or poll."""
        self._name_at = name_at
        self._names_by_base: dict[str, str] = {}
        """File base (STEM) -> model name, from listings (for change reports)."""

    def scan(self) -> Snapshot | None:
        """A look at the folder now (an empty one if the folder is gone); None if the look
        failed (a remote store that did not answer)."""
        files: dict[str, tuple[int, int, int]] = {}
        try:
            entries = self.backend.scan(METADATA_DIR)  # a gone folder: [] (all removed)
        except OSError:
            return None
        for entry in entries:
            if entry.name.startswith(".tuidash-") or not entry.name.endswith(".json"):
                continue  # the store's temp files come and go with every write
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            files[entry.name] = (info.st_mtime_ns, info.st_size, info.st_ino)
        return Snapshot(files)

    def listed(self, snapshot: Snapshot | None, names: Iterable[str]) -> None:
        """A listing read the store after ``snapshot``: take it as the first baseline, and
        remember the listed names' file bases."""
        if self.baseline is None and snapshot is not None:
            self.baseline = snapshot
        for name in names:
            self._names_by_base[stem(name)] = name

    def refresh(self, name: str | None = None) -> None:
        """Move the baseline past this service's own write (of ``name``, or of everything).

        Only that name's file is updated, so another process's change made meanwhile is
        still reported at the next poll.
        """
        if self.baseline is None:
            return
        if name is None:
            self.baseline = self.scan() or self.baseline
            return
        file_name = f"{stem(parse_ref(name)[0])}.json"
        try:
            info = self.backend.stat(f"{METADATA_DIR}/{file_name}")
        except OSError:
            info = None
        if info is None:
            self.baseline.files.pop(file_name, None)
        else:
            self.baseline.files[file_name] = (info.st_mtime_ns, info.st_size, info.st_ino)

    def _emptied_by_mistake(self, before: Snapshot, current: Snapshot) -> bool:
        """A remote folder listed empty while one of its files is still there (a listing
        an object store answered badly): not a removal of everything."""
        if current.files or not before.files or not self.backend.remote:
            return False
        try:
            return self.backend.stat(f"{METADATA_DIR}/{next(iter(before.files))}") is not None
        except OSError:
            return True

    def poll(self) -> StoreChange:
        """What changed since the baseline, which becomes this look (nothing at the first)."""
        current = self.scan()
        before = self.baseline
        if current is None or (before is not None and self._emptied_by_mistake(before, current)):
            return StoreChange()  # no answer: look again next time
        self.baseline = current
        if before is None:
            return StoreChange()
        old, new = before.files, current.files
        return StoreChange(
            added=self._names(sorted(new.keys() - old.keys())),
            changed=self._names(sorted(k for k in new.keys() & old.keys() if new[k] != old[k])),
            removed=self._names(sorted(old.keys() - new.keys())),
        )

    def _names(self, file_names: Iterable[str]) -> tuple[str, ...]:
        return tuple(self._name_of(file_name) for file_name in file_names)

    def _name_of(self, file_name: str) -> str:
        """The model name of metadata/``file_name`` (a STEM: "Linear_Regression.json")."""
        base = file_name.removesuffix(".json")
        known = self._names_by_base.get(base)
        if known is None:
            known = self._name_at(base) or base
            self._names_by_base[base] = known
        return known
