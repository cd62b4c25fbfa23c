"""StoreBase: what every operation of ``ModelStore`` stands on.

Opening a store (and finishing what a crashed writer left), the name rules, turning a
reference (``NAME``, ``NAME@vN``, ``NAME@ALIAS``; ``NAME`` alone or ``NAME@latest`` is the
latest version) into a name and a version number, and the writer lock with the steps
every write takes under it (``_prepare``: finish the name's interrupted save, refuse a
name whose files another model uses, move an earlier tuidash's files to the STEM; and
``_archive``: keep the latest version before it is replaced).

Every write runs under the store's writer lock, so moves of one alias by several
processes are applied one after the other and none is lost. ``VersionRegistry``
(``registry``) and ``ModelStore`` (``store``) build on this class.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tuidash.core.errors import (
    InvalidModelName,
    ModelDamaged,
    ModelExists,
    ModelNotFound,
    StoreError,
    StoreWriteError,
)
from tuidash.core.store import versions as vs
from tuidash.core.store.backend import LockTimeout, StoreBackend
from tuidash.core.store.commit import recover_pending, write_failure
from tuidash.core.store.documents import (
    Problem,
)
from tuidash.core.store.listing import LoadProblems, scan, signature, survey
from tuidash.core.store.names import (
    METADATA_DIR,
    MODELS_DIR,
    Selector,
    disk_name_ok,
    fold,
    free_name,
    name_problem,
    parse_ref,
    pending_key,
    stem,
    version_json_key,
    version_pkl_key,
    versions_folder,
)
from tuidash.core.store.remote import open_backend

LOCK_TIMEOUT = 60.0
"""Seconds a save waits for another tuidash process's save to finish."""


class StoreBase:
    """Opening the store, names, references and the writer lock (see the module)."""

    def __init__(
        self,
        base_dir: str | os.PathLike[str] = "saved_models",
        *,
        backend: StoreBackend | None = None,
    ) -> None:
        """Open (and create) the store; clean temp files a crashed save left, if safe.

        ``base_dir`` is a folder, or a URL (``s3://bucket/prefix``) of a store in object
        storage (``remote.RemoteBackend``, with ``TUIDASH_STORAGE_OPTIONS``).
        """
        self.backend: StoreBackend = backend if backend is not None else open_backend(base_dir)
        """Where the files live (a folder on the local disk, or object storage)."""
        self.base_dir: Path | str = self.backend.root
        """The store's location: a folder (``Path``) or a URL (text)."""
        self._load_problems: LoadProblems = {}
        self._folds: tuple[tuple[int, ...], dict[str, set[str]]] | None = None
        try:
            self.backend.make_folders()
        except OSError:
            return  # read-only or missing store: listing and loading still work
        self._clean_leftovers()

    @property
    def remote(self) -> bool:
        """True for a store in object storage (its location is a URL)."""
        return bool(getattr(self.backend, "remote", False))

    def _clean_leftovers(self) -> None:
        """Under the writer lock: finish or drop interrupted saves, delete temp files."""
        if not vs.has_leftovers(self.backend):
            return  # the usual case: no lock, no second look
        try:
            with self.backend.lock(0):
                vs.clean_leftovers(self.backend)
        except LockTimeout:
            return  # another process is saving; its temp files are live
        except OSError:
            return

    # ------------------------------------------------------------------------ names

    def check_name(self, name: str) -> None:
        """Raise InvalidModelName with a sentence if ``name`` cannot name a new model."""
        problem = name_problem(name)
        if problem:
            raise InvalidModelName(problem)

    def free_name(self, name: str) -> str:
        """``name`` if unused, else the first free "name (2)", "name (3)", ..."""
        return free_name(name, self._existing_names())

    def _existing_names(self) -> set[str]:
        jsons, pkls = scan(self.backend)
        return set(jsons) | set(pkls)

    def _folder_key(self) -> tuple[int, ...]:
        a = self.backend.stat(METADATA_DIR, follow_symlinks=True)
        b = self.backend.stat(MODELS_DIR, follow_symlinks=True)
        if a is None or b is None:
            return ()
        return (a.st_ino, a.st_mtime_ns, b.st_ino, b.st_mtime_ns)

    def _fold_map(self, refresh: bool = False) -> dict[str, set[str]]:
        """Folded name -> file bases on disk; rescanned when a folder changes."""
        key = self._folder_key()
        if refresh or self._folds is None or self._folds[0] != key or not key:
            folds: dict[str, set[str]] = {}
            for other in self._existing_names():
                folds.setdefault(fold(other), set()).add(other)
            self._folds = (key, folds)
        return self._folds[1]

    def _note_written(self, name: str) -> None:
        if self._folds is not None:
            # Our own rename changed the folders' mtimes: keep the map, take the new key.
            folds = self._folds[1]
            folds.setdefault(fold(name), set()).add(stem(name))
            self._folds = (self._folder_key(), folds)

    # ------------------------------------------------------------------- references

    def _split(self, ref: Any) -> tuple[str, Selector]:
        """(name, selector) of ``NAME``, ``NAME@vN`` or ``NAME@ALIAS``; raises if it cannot be."""
        if not isinstance(ref, str):
            raise InvalidModelName("A model name must be text.")
        name, selector = parse_ref(ref)
        if not disk_name_ok(stem(name)) or (selector == "" and "@" in ref):
            problem = name_problem(name) if name else None
            if problem and "@" not in ref:
                raise InvalidModelName(problem)
            raise ModelNotFound(f"There is no model named {ref!r}.")
        return name, selector

    def _latest(self, name: str) -> vs.Latest:
        """The latest version of ``name``: ModelNotFound or ModelDamaged if it has none."""
        try:
            latest = vs.read_latest(self.backend, name)
        except Problem as problem:
            raise ModelDamaged(f"Model '{name}' cannot be read: {problem.reason}.") from None
        except OSError as exc:
            if isinstance(exc, StoreError):  # an unreachable remote store says so itself
                raise exc from None
            raise ModelDamaged(f"Model '{name}' cannot be read: {exc.strerror or exc}.") from None
        if latest is None:
            raise ModelNotFound(f"There is no model named '{name}'.")
        return latest

    def _number(self, name: str, latest: vs.Latest, selector: Selector | str) -> int:
        """The version number a selector (3, "v3", "3" or an alias) picks; ModelNotFound."""
        if isinstance(selector, str):
            text = selector.strip()
            if text.isdigit() or (text[:1] in "vV" and text[1:].isdigit()):
                selector = int(text.lstrip("vV"))
        if selector is None:
            return latest.version
        if isinstance(selector, str):
            aliases = latest.doc.get("aliases") or {}
            if selector not in aliases:
                known = ", ".join(sorted(aliases)) or "none"
                raise ModelNotFound(
                    f"Model '{name}' has no alias '{selector}' (its aliases: {known})."
                )
            return int(aliases[selector])
        if selector != latest.version and selector not in vs.numbers(self.backend, latest.base):
            kept = sorted(vs.numbers(self.backend, latest.base) | {latest.version})
            raise ModelNotFound(
                f"Model '{name}' has no version {selector} (it has {_version_list(kept)})."
            )
        return int(selector)

    # ----------------------------------------------------------------------- writes

    def _make_folders(self) -> None:
        try:
            self.backend.make_folders()
        except OSError as exc:
            if isinstance(exc, StoreError):  # an unreachable remote store says so itself
                raise StoreWriteError(exc.message) from None
            raise StoreWriteError(
                f"Could not create the store folder {self.base_dir}: {exc.strerror or exc}."
            ) from None

    @contextlib.contextmanager
    def _writing(self, name: str, what: str) -> Iterator[None]:
        """The writer lock, with a lock timeout and an OSError turned into a sentence."""
        try:
            with self.backend.lock(LOCK_TIMEOUT):
                yield
        except LockTimeout:
            raise StoreWriteError(
                "Another tuidash process has been writing to this store for over "
                f"{LOCK_TIMEOUT:.0f} seconds; try again later."
            ) from None
        except OSError as exc:
            if what == "save":
                raise StoreWriteError(write_failure(name, exc, self.base_dir)) from None
            raise StoreWriteError(
                f"Could not {what} '{name}': {exc.strerror or exc}. Nothing was changed."
            ) from None

    def _prepare(self, name: str) -> vs.Latest | None:
        """Under the lock, before a write of ``name``: its latest (None if new).

        Finishes the name's interrupted save, refuses a name whose files another model
        uses, and moves the files of an earlier tuidash (NAME.pkl) to the STEM.
        """
        backend = self.backend
        if backend.stat(pending_key(name)) is not None:
            recover_pending(backend, pending_key(name))
        base = stem(name)
        try:
            latest = vs.read_latest(backend, name)
        except Problem as problem:
            raise ModelDamaged(
                f"Model '{name}' cannot be changed: {problem.reason}; remove it in Storage "
                "or pick another name."
            ) from None
        if latest is None or latest.base != base:
            other = vs.model_name_at(backend, base)
            if other is not None and other != name:
                raise ModelExists(
                    f"A model named '{other}' already uses the files {base}.pkl and "
                    f"{base}.json that '{name}' would use (spaces, / and \\ become _); "
                    "pick another name."
                )
        if latest is not None and latest.base == base:
            return latest  # an existing name at its STEM: nothing can clash any more
        own = {base} | ({latest.base} if latest is not None else set())
        folded = fold(name)
        same = self._fold_map().get(folded, set())
        if same - own:
            same = self._fold_map(refresh=True).get(folded, set())
        for other_base in sorted(same - own):
            other = vs.model_name_at(backend, other_base) or other_base
            raise ModelExists(
                f"A model named '{other}' already exists; names that differ only in "
                "upper/lower case (or in spaces and _) would share files, so pick another name."
            )
        if latest is not None and latest.base != base:
            latest = vs.migrate(backend, name, latest)
        return latest

    def _existing(self, name: str) -> vs.Latest:
        """Under the lock: the latest of an existing name, ready to be changed."""
        latest = self._prepare(name)
        if latest is None:
            raise ModelNotFound(f"There is no model named '{name}'.")
        return latest

    def _archive(self, latest: vs.Latest) -> bool:
        """Keep the latest version under versions/; True if this call created it."""
        if self.backend.stat(version_json_key(latest.base, latest.version)) is not None:
            return False
        try:
            vs.archive(self.backend, latest)
        except BaseException:
            self.backend.discard(version_json_key(latest.base, latest.version))
            self.backend.discard(version_pkl_key(latest.base, latest.version))
            raise
        return True

    def _unarchive(self, name: str, latest: vs.Latest | None) -> None:
        """After a failed save: drop the copy of the latest it archived, if the latest is
        still that version (the failed save was rolled back)."""
        assert latest is not None
        with contextlib.suppress(OSError, Problem):
            now = vs.read_latest(self.backend, name)
            if now is not None and now.version == latest.version:
                self.backend.discard(version_json_key(latest.base, latest.version))
                self.backend.discard(version_pkl_key(latest.base, latest.version))
                self.backend.sync(versions_folder(latest.base))

    # ---------------------------------------------------------------------- listing

    def list_models(self, *, predictions: bool = True) -> list[dict[str, Any]]:
        """Every good model's metadata from its JSON (no unpickling, no sklearn import).

        With ``predictions=False`` the prediction arrays are left out (``None``) and the
        entries come from a listing cache when the files have not changed: this is the
        fast path for showing names and metrics.
        """
        entries, _problems = self._survey(predictions=predictions)
        return entries

    def _survey(self, *, predictions: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return survey(self.backend, self._load_problems, predictions=predictions)

    def _remember_problem(self, name: str, base: str, problem: Problem) -> None:
        """Keep a load failure so listings show the entry under problems."""
        key = signature(self.backend, base or stem(name))
        if key is not None:
            self._load_problems[name] = (key, problem)

    def _forget_problem(self, name: str) -> None:
        self._load_problems.pop(name, None)


def _version_list(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"only version {numbers[0]}"
    return "versions " + ", ".join(str(n) for n in numbers)
