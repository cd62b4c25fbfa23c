"""Noticing what another process changed in the store: a look at the metadata folder.

``MetadataWatch`` keeps what the folder looked like (file name -> mtime, size, inode) and
compares the next look with it. The service moves that baseline past each of its own
writes (``refresh``), so only other processes' changes are reported. The looks are
blocking: the service makes them on its store thread, in order with its writes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tuidash.core.store import parse_ref, stem

DEFAULT_POLL_INTERVAL = 2.0
"""Seconds between two looks at the metadata folder in ``watch()``."""


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

    def __init__(self, metadata_dir: Path, name_at: Callable[[str], str | None]) -> None:
        self.metadata_dir = metadata_dir
        """The folder of the latest versions' JSON files (one per name)."""
        self.baseline: Snapshot | None = None
        """The last look; None until the first listing or poll."""
        self._name_at = name_at
        self._names_by_base: dict[str, str] = {}
        """File base (STEM) -> model name, from listings (for change reports)."""

    def scan(self) -> Snapshot:
        """A look at the folder now (an empty one if the folder is gone)."""
        files: dict[str, tuple[int, int, int]] = {}
        try:
            with os.scandir(self.metadata_dir) as entries:
                for entry in entries:
                    if entry.name.startswith(".tuidash-") or not entry.name.endswith(".json"):
                        continue  # the store's temp files come and go with every write
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    files[entry.name] = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            pass  # the folder was deleted: everything is removed
        return Snapshot(files)

    def listed(self, snapshot: Snapshot, names: Iterable[str]) -> None:
        """A listing read the store after ``snapshot``: take it as the first baseline, and
        remember the listed names' file bases."""
        if self.baseline is None:
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
            self.baseline = self.scan()
            return
        file_name = f"{stem(parse_ref(name)[0])}.json"
        try:
            info = os.stat(self.metadata_dir / file_name, follow_symlinks=False)
        except OSError:
            self.baseline.files.pop(file_name, None)
        else:
            self.baseline.files[file_name] = (info.st_mtime_ns, info.st_size, info.st_ino)

    def poll(self) -> StoreChange:
        """What changed since the baseline, which becomes this look (nothing at the first)."""
        current = self.scan()
        before = self.baseline
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
