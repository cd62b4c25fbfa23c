"""ModelStore: the crash-safe model store, with one API that raises ``StoreError``s.

Save, open, delete, clear, list, load many and report; each either does what it says or
raises a ``StoreError`` subclass whose ``message`` is one sentence a person can act on.
The files are reached only through the store's backend (``backend.py``).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Collection, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tuidash.core.errors import (
    InvalidModelData,
    InvalidModelName,
    ModelDamaged,
    ModelExists,
    ModelNotFound,
    ModelRefused,
    StoreError,
    StoreWriteError,
)
from tuidash.core.store.backend import Entry, LocalBackend, LockTimeout, StoreBackend
from tuidash.core.store.commit import clean_leftovers, has_leftovers, write_entry, write_failure
from tuidash.core.store.documents import Problem, build_doc
from tuidash.core.store.listing import LoadProblems, scan, signature, survey
from tuidash.core.store.loading import Fetched, PreHasher, fetch, unpickle
from tuidash.core.store.names import (
    INDEX_NAME,
    METADATA_DIR,
    MODELS_DIR,
    disk_name_ok,
    fold,
    free_name,
    json_key,
    key_in,
    name_problem,
    pending_key,
    pkl_key,
)

LOCK_TIMEOUT = 60.0
"""Seconds a save waits for another tuidash process's save to finish."""


@dataclass(frozen=True, slots=True)
class LoadEvent:
    """One model loaded (or not) by ``ModelStore.iter_load``."""

    name: str
    ok: bool
    result: dict[str, Any] | None
    reason: str | None


class ModelStore:
    """The pkl + JSON model store; every operation succeeds or raises a StoreError."""

    def __init__(
        self,
        base_dir: str | os.PathLike[str] = "saved_models",
        *,
        backend: StoreBackend | None = None,
    ) -> None:
        """Open (and create) the store; clean temp files a crashed save left, if safe."""
        self.backend: StoreBackend = backend if backend is not None else LocalBackend(base_dir)
        """Where the files live (a folder on the local disk unless given)."""
        self.base_dir = self.backend.root
        """The store's location."""
        self._load_problems: LoadProblems = {}
        self._folds: tuple[tuple[int, ...], dict[str, set[str]]] | None = None
        try:
            self.backend.make_folders()
        except OSError:
            return  # read-only or missing store: listing and loading still work
        self._clean_leftovers()

    def _clean_leftovers(self) -> None:
        """Under the writer lock: finish or drop interrupted saves, delete temp files."""
        if not has_leftovers(self.backend):
            return  # the usual case: no lock, no second look
        try:
            with self.backend.lock(0):
                clean_leftovers(self.backend)
        except LockTimeout:
            return  # another process is saving; its temp files are live
        except OSError:
            return

    # ----------------------------------------------------------------------- names

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

    # ------------------------------------------------------------------------ save

    def save(self, name: str, data: Mapping[str, Any], replace: bool = False) -> str:
        """Save a model or raise a StoreError subclass; returns a confirmation sentence."""
        self.check_name(name)
        if not isinstance(data, Mapping) or "model" not in data:
            raise InvalidModelData("The model data must be a mapping with a fitted 'model'.")
        doc = build_doc(name, data)
        try:
            self.backend.make_folders()
        except OSError as exc:
            raise StoreWriteError(
                f"Could not create the store folder {self.base_dir}: {exc.strerror or exc}."
            ) from None
        try:
            # The lock covers pickling too: a temp file only exists while its writer holds
            # the lock, so whoever holds it may delete any temp file it finds.
            with self.backend.lock(LOCK_TIMEOUT):
                existed = self._check_target(name, replace)
                write_entry(self.backend, name, doc, data["model"], existed)
                self._note_written(name)
        except LockTimeout:
            raise StoreWriteError(
                "Another tuidash process has been saving to this store for over "
                f"{LOCK_TIMEOUT:.0f} seconds; try again later."
            ) from None
        except OSError as exc:  # the lock file itself could not be created
            raise StoreWriteError(write_failure(name, exc, self.base_dir)) from None
        self._load_problems.pop(name, None)
        verb = "Replaced" if existed else "Saved"
        return f"{verb} model '{name}'."

    def _folder_key(self) -> tuple[int, ...]:
        a = self.backend.stat(METADATA_DIR, follow_symlinks=True)
        b = self.backend.stat(MODELS_DIR, follow_symlinks=True)
        if a is None or b is None:
            return ()
        return (a.st_ino, a.st_mtime_ns, b.st_ino, b.st_mtime_ns)

    def _fold_map(self, refresh: bool = False) -> dict[str, set[str]]:
        """Case-folded name -> names on disk; rescanned when a folder changes."""
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
            folds.setdefault(fold(name), set()).add(name)
            self._folds = (self._folder_key(), folds)

    def _check_target(self, name: str, replace: bool) -> bool:
        """Under the lock: refuse clashes; return True if ``name`` exists (replace)."""
        stat = self.backend.stat
        exists = stat(json_key(name)) is not None or stat(pkl_key(name)) is not None
        folded = fold(name)
        same = self._fold_map().get(folded, set())
        if exists and name not in same:
            # A case-insensitive disk found another spelling: look again to name it.
            same = self._fold_map(refresh=True).get(folded, set())
        for other in sorted(same - {name}):
            raise ModelExists(
                f"A model named '{other}' already exists; names that differ only in "
                "upper/lower case would share files on some disks, so pick another name."
            )
        if exists:
            if not replace:
                raise ModelExists(
                    f"A model named '{name}' already exists; choose another name or "
                    "confirm replacing it."
                )
            return True
        return False

    # --------------------------------------------------------------------- listing

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

    # --------------------------------------------------------------------- loading

    def open_model(self, name: str) -> dict[str, Any]:
        """Load one model or raise ModelNotFound, ModelDamaged or ModelRefused."""
        if not disk_name_ok(name):
            if isinstance(name, str) and name_problem(name):
                raise InvalidModelName(name_problem(name) or "")
            raise ModelNotFound(f"There is no model named {name!r}.")
        return self._finish(fetch(self.backend, name))

    def _finish(self, fetched: Fetched) -> dict[str, Any]:
        """Unpickle verified bytes into a load result, or raise with the entry's problem."""
        name = fetched.name
        try:
            if fetched.problem is not None:
                if fetched.not_found:
                    raise ModelNotFound(f"There is no model named '{name}'.")
                raise fetched.problem
            result = unpickle(fetched)
        except Problem as problem:
            self._remember_problem(name, problem)
            if problem.kind == "refused":
                raise ModelRefused(f"Model '{name}' was not loaded: {problem.reason}.") from None
            raise ModelDamaged(f"Model '{name}' cannot be loaded: {problem.reason}.") from None
        self._load_problems.pop(name, None)
        return result

    def _remember_problem(self, name: str, problem: Problem) -> None:
        """Keep a load failure so listings show the entry under problems."""
        key = signature(self.backend, name)
        if key is not None:
            self._load_problems[name] = (key, problem)

    def iter_load(self, names: Iterable[str] | None = None) -> Generator[LoadEvent, None, None]:
        """Load models one by one; a thread hashes the next large pickles while this one
        unpickles (hashlib releases the GIL, so the two overlap on two cores).

        Without ``names`` every entry in the store is attempted, smallest pickle first
        (problem entries last, so a caller's progress adds up). Closing the generator
        stops the hashing thread.
        """
        if names is None:
            entries, problems = self._survey(predictions=False)
            # Smallest first: the list fills quickly, and the thread hashes the large
            # pickles while the small ones unpickle.
            entries.sort(key=lambda e: e["pkl_bytes"])
            ordered = [e["name"] for e in entries] + [p["name"] for p in problems]
        else:
            ordered = list(names)
        if not ordered:
            return
        prehasher = PreHasher(
            self.backend, [pkl_key(n) if disk_name_ok(n) else None for n in ordered]
        )
        try:
            for position, name in enumerate(ordered):
                if not disk_name_ok(name):
                    prehasher.take(position)
                    yield LoadEvent(name, False, None, f"There is no model named {name!r}.")
                    continue
                fetched = fetch(self.backend, name, prehasher.take(position))
                try:
                    result = self._finish(fetched)
                except StoreError as exc:
                    yield LoadEvent(name, False, None, exc.message)
                    continue
                yield LoadEvent(name, True, result, None)
        finally:
            prehasher.close()

    # ------------------------------------------------------------- delete / clear

    def delete(self, name: str) -> str:
        """Delete the files the store lists for ``name`` or raise a StoreError subclass."""
        if not disk_name_ok(name):
            raise ModelNotFound(f"There is no model named {name!r}.")
        if not self.backend.exists():
            raise ModelNotFound(f"There is no model named '{name}'.")
        try:
            with self.backend.lock(LOCK_TIMEOUT):
                jsons, pkls = scan(self.backend)
                if name not in jsons and name not in pkls:
                    raise ModelNotFound(f"There is no model named '{name}'.")
                self._remove_files(name, jsons.get(name), pkls.get(name))
        except LockTimeout:
            raise StoreWriteError(
                "Another tuidash process is saving to this store; try deleting again later."
            ) from None
        except OSError as exc:
            raise StoreWriteError(
                f"Could not delete model '{name}': {exc.strerror or exc}."
            ) from None
        self._load_problems.pop(name, None)
        return f"Deleted model '{name}'."

    def _remove_files(self, name: str, json_entry: Entry | None, pkl_entry: Entry | None) -> None:
        """Remove (never follow) the listed files; the JSON first, so no half-model."""
        self.backend.discard(pending_key(name))
        if json_entry is not None:
            key = key_in(METADATA_DIR, json_entry.name)
            if json_entry.is_dir(follow_symlinks=False):
                raise IsADirectoryError(errno.EISDIR, "is a folder", key)
            self.backend.remove(key)
            self.backend.sync(METADATA_DIR)
        if pkl_entry is not None and not pkl_entry.is_dir(follow_symlinks=False):
            self.backend.remove(key_in(MODELS_DIR, pkl_entry.name))
            self.backend.sync(MODELS_DIR)

    def clear(self) -> str:
        """Delete every model and problem entry (only files the store lists)."""
        if not self.backend.exists():
            return "The store is already empty."
        try:
            with self.backend.lock(LOCK_TIMEOUT):
                clean_leftovers(self.backend)
                jsons, pkls = scan(self.backend)
                names = set(jsons) | set(pkls)
                for name in names:
                    self._remove_files(name, jsons.get(name), pkls.get(name))
                self.backend.discard(INDEX_NAME)
        except LockTimeout:
            raise StoreWriteError(
                "Another tuidash process is saving to this store; try again later."
            ) from None
        except OSError as exc:
            raise StoreWriteError(f"Could not clear the store: {exc.strerror or exc}.") from None
        self._load_problems.clear()
        count = len(names)
        return f"Deleted {count} saved model{'s' if count != 1 else ''}."

    # ---------------------------------------------------------------------- report

    def storage_report(self, *, verify: bool = False, skip: Collection[str] = ()) -> dict[str, Any]:
        """Sizes, counts, free space and every problem entry, from the files on disk.

        ``verify=True`` also hashes and (restricted-)unpickles every model (but those in
        ``skip``, known to load), so refused and damaged pickles show up without a load.
        """
        if verify:
            entries, _ = self._survey(predictions=False)
            for _event in self.iter_load([e["name"] for e in entries if e["name"] not in skip]):
                pass
        entries, problems = self._survey(predictions=False)
        total = sum(e["size_bytes"] for e in entries)
        try:
            free = self.backend.free_bytes()
        except OSError:
            free = 0
        return {
            "base_dir": str(self.base_dir),
            "model_count": len(entries),
            "total_size_bytes": total,
            "total_size_mb": round(total / (1024 * 1024), 2),
            "models": [{"name": e["name"], "size_bytes": e["size_bytes"]} for e in entries],
            "free_bytes": free,
            "problems": problems,
        }
