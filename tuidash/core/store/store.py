"""ModelStore: the crash-safe model store, with one API that raises ``StoreError``s.

Save, open, delete, clear, list, load many and report; versions, aliases, roll-back,
prune, rename, notes and tags; each either does what it says or raises a ``StoreError``
subclass whose ``message`` is one sentence a person can act on. The files are reached
only through the store's backend (``backend.py``).

Every save of a name makes a new version (1, 2, 3 ...); the one it replaces stays
loadable as ``NAME@vN``. Wherever the store takes a name it also takes ``NAME@vN`` and
``NAME@ALIAS`` (``NAME`` alone, or ``NAME@latest``, is the latest version). Every write
runs under the store's writer lock, so moves of one alias by several processes are
applied one after the other and none is lost; each is a line of the name's history.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Collection, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
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
from tuidash.core.store import versions as vs
from tuidash.core.store.backend import Entry, LocalBackend, LockTimeout, StoreBackend
from tuidash.core.store.commit import recover_pending, write_doc, write_entry, write_failure
from tuidash.core.store.documents import (
    NAME_KEYS,
    Problem,
    build_doc,
    clean_tags,
    version_of,
)
from tuidash.core.store.listing import LoadProblems, scan, signature, survey
from tuidash.core.store.loading import Fetched, PreHasher, fetch, unpickle
from tuidash.core.store.names import (
    INDEX_NAME,
    METADATA_DIR,
    MODELS_DIR,
    VERSIONS_DIR,
    Selector,
    alias_problem,
    disk_name_ok,
    fold,
    free_name,
    json_key,
    key_in,
    name_problem,
    parse_ref,
    pending_key,
    pkl_key,
    rename_key,
    stem,
    version_file,
    version_json_key,
    version_pkl_key,
    versions_folder,
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
        if not vs.has_leftovers(self.backend):
            return  # the usual case: no lock, no second look
        try:
            with self.backend.lock(0):
                vs.clean_leftovers(self.backend)
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
        """Save a model as the next version of ``name``; returns a confirmation sentence.

        A taken name gets a new version and the one it replaces stays loadable as
        ``NAME@vN`` (``replace`` is accepted for callers of the earlier API and changes
        nothing: no save loses what it replaces). Raises a StoreError subclass.
        """
        self.check_name(name)
        if not isinstance(data, Mapping) or "model" not in data:
            raise InvalidModelData("The model data must be a mapping with a fitted 'model'.")
        doc = build_doc(name, data)
        self._make_folders()
        base = stem(name)
        with self._writing(name, "save"):
            # The lock covers pickling too: a temp file only exists while its writer holds
            # the lock, so whoever holds it may delete any temp file it finds.
            latest = self._prepare(name)
            archived = False
            if latest is None:
                if self.backend.stat(versions_folder(base), follow_symlinks=True) is not None:
                    vs.wipe_versions(self.backend, base)  # a deleted name's leftovers
                number, count, previous = 1, 1, None
                doc["aliases"] = {}
            else:
                archived = self._archive(latest)
                number = vs.next_number(self.backend, latest)
                count = vs.count_versions(self.backend, latest) + 1
                previous = latest.version
                doc["aliases"] = dict(latest.doc.get("aliases") or {})
                if data.get("tags") is None and latest.doc.get("tags"):
                    doc["tags"] = list(latest.doc["tags"])
            doc.update(version=number, versions=count, replaces=previous)
            try:
                write_entry(
                    self.backend,
                    name,
                    doc,
                    data["model"],
                    latest is not None,
                    on_commit=lambda: vs.append_history(
                        self.backend, base, name, "save", version=number, replaces=previous
                    ),
                )
            except BaseException:
                if archived:
                    self._unarchive(name, latest)
                raise
            self._note_written(name)
        self._forget_problem(name)
        if previous is None:
            return f"Saved model '{name}'."
        return (
            f"Model '{name}' saved as version {number}; version {previous} is kept "
            f"as '{name}@v{previous}'."
        )

    def _make_folders(self) -> None:
        try:
            self.backend.make_folders()
        except OSError as exc:
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

    def open_model(self, name: str) -> dict[str, Any]:
        """Load one model (``NAME``, ``NAME@vN`` or ``NAME@ALIAS``) or raise ModelNotFound,
        ModelDamaged or ModelRefused."""
        model, selector = self._split(name)
        if selector is None:
            return self._finish(fetch(self.backend, model))
        return self._finish(self._fetch_version(model, selector))

    def _fetch_version(self, name: str, selector: Selector) -> Fetched:
        """Read and verify an earlier version (or the latest, if the selector names it)."""
        fetched: Fetched | None = None
        for _attempt in range(3):
            latest = self._latest(name)
            number = self._number(name, latest, selector)
            if number == latest.version:
                fetched = fetch(self.backend, name)
                if fetched.doc is None or version_of(fetched.doc) == number:
                    return fetched
            else:
                fetched = fetch(self.backend, name, version=number)
                if not fetched.not_found:
                    return fetched
            # A save moved the latest on between the two reads: look again.
            if fetched.payload is not None:
                from tuidash.core.store.durable import close_payload

                close_payload(fetched.payload)
        raise ModelNotFound(f"There is no version {selector} of model '{name}'.")

    def _latest(self, name: str) -> vs.Latest:
        """The latest version of ``name``: ModelNotFound or ModelDamaged if it has none."""
        try:
            latest = vs.read_latest(self.backend, name)
        except Problem as problem:
            raise ModelDamaged(f"Model '{name}' cannot be read: {problem.reason}.") from None
        except OSError as exc:
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

    def _finish(self, fetched: Fetched) -> dict[str, Any]:
        """Unpickle verified bytes into a load result, or raise with the entry's problem."""
        name = fetched.name
        shown = name if fetched.version is None else f"{name}@v{fetched.version}"
        try:
            if fetched.problem is not None:
                if fetched.not_found:
                    raise ModelNotFound(f"There is no model named '{shown}'.")
                raise fetched.problem
            result = unpickle(fetched)
        except Problem as problem:
            if fetched.version is None:
                self._remember_problem(name, fetched.base, problem)
            if problem.kind == "refused":
                raise ModelRefused(f"Model '{shown}' was not loaded: {problem.reason}.") from None
            raise ModelDamaged(f"Model '{shown}' cannot be loaded: {problem.reason}.") from None
        if fetched.version is None:
            self._forget_problem(name)
        return result

    def _remember_problem(self, name: str, base: str, problem: Problem) -> None:
        """Keep a load failure so listings show the entry under problems."""
        key = signature(self.backend, base or stem(name))
        if key is not None:
            self._load_problems[name] = (key, problem)

    def _forget_problem(self, name: str) -> None:
        self._load_problems.pop(name, None)

    def iter_load(self, names: Iterable[str] | None = None) -> Generator[LoadEvent, None, None]:
        """Load models one by one; a thread hashes the next large pickles while this one
        unpickles (hashlib releases the GIL, so the two overlap on two cores).

        Without ``names`` every entry in the store is attempted (the latest version of
        each name), smallest pickle first (problem entries last, so a caller's progress
        adds up). ``names`` may hold ``NAME@vN`` and ``NAME@ALIAS`` too. Closing the
        generator stops the hashing thread.
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
            self.backend,
            [pkl_key(stem(n)) if "@" not in n and disk_name_ok(stem(n)) else None for n in ordered],
        )
        try:
            for position, name in enumerate(ordered):
                prehashed = prehasher.take(position)
                try:
                    model, selector = self._split(name)
                    if selector is None:
                        fetched = fetch(self.backend, model, prehashed)
                    else:
                        fetched = self._fetch_version(model, selector)
                    result = self._finish(fetched)
                except StoreError as exc:
                    yield LoadEvent(name, False, None, exc.message)
                    continue
                yield LoadEvent(name, True, result, None)
        finally:
            prehasher.close()

    def model_paths(self, ref: str) -> tuple[Path, Path]:
        """The (pkl, json) file paths of ``NAME`` (its latest), ``NAME@vN`` or
        ``NAME@ALIAS`` in a store on the local disk; paths that do not exist if there is
        no such model (callers check)."""
        name, selector = parse_ref(ref) if isinstance(ref, str) else (str(ref), None)
        keys = pkl_key(stem(name)), json_key(stem(name))
        try:
            latest = self._latest(self._split(name)[0])
            number = self._number(name, latest, selector)
        except StoreError:
            pass
        else:
            if number == latest.version:
                keys = pkl_key(latest.base), json_key(latest.base)
            else:
                keys = version_pkl_key(latest.base, number), version_json_key(latest.base, number)
        path = getattr(self.backend, "path", None)
        if not callable(path):
            raise StoreError(f"The store {self.base_dir} is not on this computer's disk.")
        return Path(path(keys[0])), Path(path(keys[1]))

    # -------------------------------------------------------------------- versions

    def list_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of ``name``, oldest first: version, saved_at, metrics, aliases,
        size_bytes, note, tags, trained_by, replaces, latest, and problem (None if good)."""
        name, _ = self._split(name)
        latest = self._latest(name)
        backend, base = self.backend, latest.base
        by_version: dict[int, list[str]] = {}
        for alias, number in sorted((latest.doc.get("aliases") or {}).items()):
            by_version.setdefault(number, []).append(alias)
        rows = []
        for number in sorted(vs.numbers(backend, base) - {latest.version}):
            problem = None
            try:
                doc = vs.read_version(backend, base, name, number)
            except (OSError, Problem) as exc:
                doc = {"model_name": name, "version": number}
                problem = exc.reason if isinstance(exc, Problem) else str(exc.strerror or exc)
            json_size = _size(backend, version_json_key(base, number))
            pkl_size = _size(backend, version_pkl_key(base, number))
            rows.append(
                _version_row(name, number, doc, json_size + pkl_size, pkl_size, by_version, problem)
            )
        pkl_size = _size(backend, pkl_key(base))
        rows.append(
            _version_row(
                name,
                latest.version,
                latest.doc,
                latest.raw_size + pkl_size,
                pkl_size,
                by_version,
                None,
                latest=True,
            )
        )
        return rows

    def history(self, name: str) -> list[dict[str, Any]]:
        """The name's history, oldest first: each event with at, user, event, version ..."""
        name, _ = self._split(name)
        latest = self._latest(name)
        return vs.read_history(self.backend, latest.base)

    def set_alias(self, name: str, alias: str, version: int | str) -> str:
        """Point ``alias`` at a version of ``name`` (moving it from another); a sentence."""
        problem = alias_problem(alias)
        if problem:
            raise InvalidModelName(problem)
        name, _ = self._split(name)
        with self._writing(name, "set an alias of"):
            latest = self._existing(name)
            number = self._number(name, latest, version)
            aliases = dict(latest.doc.get("aliases") or {})
            previous = aliases.get(alias)
            if previous == number:
                return f"'{name}@{alias}' already is version {number}."
            aliases[alias] = number
            self._change_latest(
                latest,
                {"aliases": aliases},
                "alias",
                alias=alias,
                version=number,
                previous=previous,
            )
        moved = f" (it was version {previous})" if previous is not None else ""
        return f"'{name}@{alias}' now is version {number}{moved}."

    def remove_alias(self, name: str, alias: str) -> str:
        """Remove an alias of ``name``; a sentence (ModelNotFound if it has no such alias)."""
        name, _ = self._split(name)
        with self._writing(name, "remove an alias of"):
            latest = self._existing(name)
            aliases = dict(latest.doc.get("aliases") or {})
            if alias not in aliases:
                known = ", ".join(sorted(aliases)) or "none"
                raise ModelNotFound(
                    f"Model '{name}' has no alias '{alias}' (its aliases: {known})."
                )
            number = aliases.pop(alias)
            self._change_latest(
                latest, {"aliases": aliases}, "unalias", alias=alias, version=number
            )
        return f"Removed the alias '{alias}' (version {number}) of '{name}'."

    def set_note(self, ref: str, text: str | None) -> str:
        """Set (or, with "" or None, clear) the note of a version (``NAME`` = the latest)."""
        if text is not None and not isinstance(text, str):
            raise InvalidModelData("A note must be text.")
        note = (text or "").strip() or None
        return self._set_field(ref, "note", note, "note")

    def set_tags(self, ref: str, tags: Iterable[str]) -> str:
        """Set the tags of a version (``NAME`` = the latest; later saves keep them)."""
        return self._set_field(ref, "tags", clean_tags(list(tags)), "tags")

    def _set_field(self, ref: str, key: str, value: Any, event: str) -> str:
        name, selector = self._split(ref)
        with self._writing(name, f"change the {key} of"):
            latest = self._existing(name)
            number = self._number(name, latest, selector)
            if number == latest.version:
                self._change_latest(latest, {key: value}, event, version=number, **{key: value})
            else:
                target = version_json_key(latest.base, number)
                try:
                    doc = vs.read_version(self.backend, latest.base, name, number)
                except Problem as problem:
                    raise ModelDamaged(
                        f"Version {number} of '{name}' cannot be changed: {problem.reason}."
                    ) from None
                old = dict(doc)
                doc[key] = value
                write_doc(self.backend, target, doc)
                try:
                    vs.append_history(
                        self.backend, latest.base, name, event, version=number, **{key: value}
                    )
                except BaseException:
                    with contextlib.suppress(OSError):
                        write_doc(self.backend, target, old)
                    raise
        what = "note" if key == "note" else "tags"
        return f"Changed the {what} of '{name}@v{number}'."

    def _existing(self, name: str) -> vs.Latest:
        """Under the lock: the latest of an existing name, ready to be changed."""
        latest = self._prepare(name)
        if latest is None:
            raise ModelNotFound(f"There is no model named '{name}'.")
        return latest

    def _change_latest(
        self, latest: vs.Latest, changes: dict[str, Any], event: str, **fields: Any
    ) -> None:
        """Rewrite the latest JSON with ``changes``, then record the event (undone if the
        history cannot be written)."""
        old = dict(latest.doc)
        latest.doc.update(changes)
        vs.rewrite_latest(self.backend, latest)
        try:
            vs.append_history(self.backend, latest.base, latest.doc["model_name"], event, **fields)
        except BaseException:
            with contextlib.suppress(OSError):
                write_doc(self.backend, json_key(latest.base), old)
            raise

    def rollback(self, name: str, version: int | str) -> str:
        """Make the content of an earlier version the new latest version (history is kept)."""
        name, _ = self._split(name)
        with self._writing(name, "roll back"):
            latest = self._existing(name)
            number = self._number(name, latest, version)
            if number == latest.version:
                raise StoreError(f"Version {number} already is the latest version of '{name}'.")
            base = latest.base
            try:
                earlier = vs.read_version(self.backend, base, name, number)
            except Problem as problem:
                raise ModelDamaged(
                    f"Version {number} of '{name}' cannot be restored: {problem.reason}."
                ) from None
            archived = self._archive(latest)
            new = vs.next_number(self.backend, latest)
            doc = {
                key: value
                for key, value in earlier.items()
                if key not in NAME_KEYS and key != "model_file"
            }
            doc.update(
                saved_at=time.strftime("%Y-%m-%d %H:%M:%S"),
                version=new,
                versions=vs.count_versions(self.backend, latest) + 1,
                replaces=latest.version,
                rollback_of=number,
                aliases=dict(latest.doc.get("aliases") or {}),
            )
            try:
                write_entry(
                    self.backend,
                    name,
                    doc,
                    None,
                    True,
                    source=version_pkl_key(base, number),
                    on_commit=lambda: vs.append_history(
                        self.backend,
                        base,
                        name,
                        "rollback",
                        version=new,
                        rollback_of=number,
                        replaces=latest.version,
                    ),
                )
            except BaseException:
                if archived:
                    self._unarchive(name, latest)
                raise
        self._forget_problem(name)
        return (
            f"Rolled '{name}' back to the content of version {number}: it is version {new} "
            f"now, and version {latest.version} is kept."
        )

    def rename(self, old: str, new: str) -> str:
        """Rename a model with all its versions and history (old-or-new after a crash)."""
        self.check_name(new)
        old, _ = self._split(old)
        with self._writing(old, "rename"):
            latest = self._existing(old)
            if fold(new) == fold(old):
                raise ModelExists(
                    f"'{new}' would use the same files as '{old}' (they differ only in "
                    "upper/lower case, spaces or _); pick a name that differs in more."
                )
            taken = vs.model_name_at(self.backend, stem(new))
            if taken is None:
                same = self._fold_map(refresh=True).get(fold(new), set())
                taken = next((vs.model_name_at(self.backend, b) or b for b in sorted(same)), None)
            if taken is None and vs.read_latest(self.backend, new) is not None:
                taken = new
            if taken is not None:
                raise ModelExists(
                    f"A model named '{taken}' already exists (or would share files with "
                    f"'{new}'); pick another name."
                )
            marker = rename_key(old)
            if self.backend.stat(marker) is not None:
                vs.finish_rename(self.backend, marker)
            try:
                moved = vs.rename(self.backend, latest, old, new)
            except BaseException:
                with contextlib.suppress(OSError, Problem):
                    vs.finish_rename(self.backend, marker)
                raise
            with contextlib.suppress(OSError):
                vs.append_history(self.backend, moved.base, new, "rename", old=old, new=new)
        self._forget_problem(old)
        return f"Renamed '{old}' to '{new}' (all {vs_count(moved, self)} versions)."

    def prune(self, name: str | None = None, *, keep: int, dry_run: bool = False) -> dict[str, Any]:
        """Delete all but the last ``keep`` versions of ``name`` (or of every name), never
        the latest nor one an alias points at.

        Returns {"removed": [{name, version, size_bytes}], "kept_for_alias": [{name,
        version, aliases}], "size_bytes", "message"}; ``dry_run`` only says what it would do.
        """
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise InvalidModelData("Prune must keep at least 1 version per name.")
        if name is not None:
            names = [self._split(name)[0]]
        else:
            names = [row["name"] for row in self.list_models(predictions=False)]
        removed: list[dict[str, Any]] = []
        held: list[dict[str, Any]] = []
        with self._writing(name or "the store", "prune"):
            for model in names:
                try:
                    latest = self._latest(model)
                except StoreError:
                    if name is not None:
                        raise
                    continue
                kept = sorted(vs.numbers(self.backend, latest.base) | {latest.version})
                keep_set = set(kept[-keep:]) | {latest.version}
                aliased: dict[int, list[str]] = {}
                for alias, number in (latest.doc.get("aliases") or {}).items():
                    aliased.setdefault(number, []).append(alias)
                doomed = []
                for number in kept:
                    if number in keep_set:
                        continue
                    if number in aliased:
                        held.append(
                            {"name": model, "version": number, "aliases": sorted(aliased[number])}
                        )
                        continue
                    size = _size(self.backend, version_json_key(latest.base, number)) + _size(
                        self.backend, version_pkl_key(latest.base, number)
                    )
                    doomed.append(number)
                    removed.append({"name": model, "version": number, "size_bytes": size})
                if dry_run or not doomed:
                    continue
                for number in doomed:
                    vs.remove_version(self.backend, latest.base, number)
                    with contextlib.suppress(OSError):
                        vs.append_history(
                            self.backend,
                            latest.base,
                            model,
                            "delete",
                            version=number,
                            reason="prune",
                        )
                vs.rewrite_latest(self.backend, latest)
        size = sum(item["size_bytes"] for item in removed)
        verb = "Would remove" if dry_run else "Removed"
        message = f"{verb} {_plural(len(removed), 'earlier version')} ({_mb(size)})"
        if held:
            message += f"; kept {_plural(len(held), 'version')} that an alias points at"
        return {
            "removed": removed,
            "kept_for_alias": held,
            "size_bytes": size,
            "message": message + ".",
        }

    def deletion_summary(self, ref: str) -> dict[str, Any]:
        """What deleting ``ref`` would remove: {name, version (None: every version),
        versions, size_bytes, aliases, message} for a confirmation."""
        name, selector = self._split(ref)
        rows = self.list_versions(name)
        if selector is not None:
            number = self._number(name, self._latest(name), selector)
            rows = [row for row in rows if row["version"] == number]
        size = sum(row["size_bytes"] for row in rows)
        aliases = sorted(alias for row in rows for alias in row["aliases"])
        what = f"'{name}'" if selector is None else f"version {rows[0]['version']} of '{name}'"
        count = _plural(len(rows), "version")
        return {
            "name": name,
            "version": None if selector is None else rows[0]["version"],
            "versions": len(rows),
            "size_bytes": size,
            "aliases": aliases,
            "message": f"Delete {what}: {count}, {_mb(size)}?",
        }

    # ------------------------------------------------------------- delete / clear

    def delete(self, name: str) -> str:
        """Delete a model with every version (``NAME``) or one earlier version
        (``NAME@vN``, ``NAME@ALIAS``); raises a StoreError subclass."""
        if not isinstance(name, str) or not disk_name_ok(stem(parse_ref(name)[0])):
            raise ModelNotFound(f"There is no model named {name!r}.")
        model, selector = self._split(name)
        if not self.backend.exists():
            raise ModelNotFound(f"There is no model named '{model}'.")
        if selector is not None:
            return self._delete_version(model, selector)
        with self._writing(model, "delete"):
            try:
                latest = vs.read_latest(self.backend, model)
            except Problem:
                latest = None  # a damaged entry: removed by its files below
            if latest is None:
                other = vs.model_name_at(self.backend, model)
                jsons, pkls = scan(self.backend)
                if (model not in jsons and model not in pkls) or other not in (None, model):
                    raise ModelNotFound(f"There is no model named '{model}'.")
                self._remove_files(model, jsons.get(model), pkls.get(model))
                count = 1
            else:
                count = vs.count_versions(self.backend, latest)
                jsons, pkls = scan(self.backend)
                self._remove_files(model, jsons.get(latest.base), pkls.get(latest.base))
                vs.wipe_versions(self.backend, latest.base)
        self._forget_problem(model)
        if count > 1:
            return f"Deleted model '{model}' ({count} versions)."
        return f"Deleted model '{model}'."

    def _delete_version(self, name: str, selector: Selector) -> str:
        with self._writing(name, "delete a version of"):
            latest = self._existing(name)
            number = self._number(name, latest, selector)
            if number == latest.version:
                raise StoreError(
                    f"Version {number} is the latest version of '{name}'; roll back to an "
                    f"earlier version first, or delete '{name}' with all its versions."
                )
            aliases = sorted(a for a, n in (latest.doc.get("aliases") or {}).items() if n == number)
            if aliases:
                names = ", ".join(f"'{a}'" for a in aliases)
                which = (
                    f"the alias {names} points"
                    if len(aliases) == 1
                    else f"the aliases {names} point"
                )
                raise StoreError(
                    f"Version {number} of '{name}' cannot be deleted: {which} at it; move or "
                    "remove the alias first."
                )
            vs.remove_version(self.backend, latest.base, number)
            vs.rewrite_latest(self.backend, latest)
            with contextlib.suppress(OSError):
                vs.append_history(self.backend, latest.base, name, "delete", version=number)
        return f"Deleted version {number} of '{name}'."

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
        """Delete every model with its versions, and every problem entry (only files the
        store lists)."""
        if not self.backend.exists():
            return "The store is already empty."
        try:
            with self.backend.lock(LOCK_TIMEOUT):
                vs.clean_leftovers(self.backend)
                jsons, pkls = scan(self.backend)
                names = set(jsons) | set(pkls)
                for name in names:
                    self._remove_files(name, jsons.get(name), pkls.get(name))
                for entry in self.backend.scan(VERSIONS_DIR):
                    if entry.is_dir(follow_symlinks=False):
                        vs.wipe_versions(self.backend, entry.name)
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
        """Sizes (per name, its versions included), counts, free space and every problem
        entry, from the files on disk.

        ``verify=True`` also hashes and (restricted-)unpickles every model (but those in
        ``skip``, known to load), so refused and damaged pickles show up without a load.
        """
        if verify:
            entries, _ = self._survey(predictions=False)
            for _event in self.iter_load([e["name"] for e in entries if e["name"] not in skip]):
                pass
        entries, problems = self._survey(predictions=False)
        kept = self._versions_bytes(entries)
        models = [
            {
                "name": e["name"],
                "size_bytes": e["size_bytes"],
                "versions": e.get("versions") or 1,
                "versions_bytes": kept.get(e["name"], 0),
                "total_bytes": e["size_bytes"] + kept.get(e["name"], 0),
            }
            for e in entries
        ]
        total = sum(m["total_bytes"] for m in models)
        try:
            free = self.backend.free_bytes()
        except OSError:
            free = 0
        return {
            "base_dir": str(self.base_dir),
            "model_count": len(entries),
            "total_size_bytes": total,
            "total_size_mb": round(total / (1024 * 1024), 2),
            "models": models,
            "free_bytes": free,
            "problems": problems,
        }

    def _versions_bytes(self, entries: list[dict[str, Any]]) -> dict[str, int]:
        """Name -> bytes its earlier versions take (a byte shared by hard links with the
        latest or another version counted once)."""
        folders = {
            e.name for e in self.backend.scan(VERSIONS_DIR) if e.is_dir(follow_symlinks=False)
        }
        out: dict[str, int] = {}
        for entry in entries:
            if (entry.get("versions") or 1) <= 1 and stem(entry["name"]) not in folders:
                continue
            base = stem(entry["name"])
            if base not in folders:
                continue
            latest = self.backend.stat(pkl_key(base))
            seen = {latest.st_ino} if latest is not None and latest.st_ino else set()
            total = 0
            for item in self.backend.scan(versions_folder(base)):
                if item.is_dir(follow_symlinks=False):
                    continue
                if version_file(item.name) is None:
                    continue  # the history is a log, not a version
                info = item.stat(follow_symlinks=False)
                if info.st_ino and info.st_ino in seen:
                    continue
                seen.add(info.st_ino)
                total += info.st_size
            out[entry["name"]] = total
        return out


def _size(backend: StoreBackend, key: str) -> int:
    info = backend.stat(key)
    return info.st_size if info is not None else 0


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _version_list(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"only version {numbers[0]}"
    return "versions " + ", ".join(str(n) for n in numbers)


def vs_count(latest: vs.Latest, store: ModelStore) -> int:
    """How many versions a name has (for a sentence)."""
    return vs.count_versions(store.backend, latest)


def _version_row(
    name: str,
    number: int,
    doc: dict[str, Any],
    size: int,
    pkl_size: int,
    aliases: dict[int, list[str]],
    problem: str | None,
    *,
    latest: bool = False,
) -> dict[str, Any]:
    """One row of ``list_versions``."""
    return {
        "name": name,
        "ref": f"{name}@v{number}",
        "version": number,
        "latest": latest,
        "saved_at": doc.get("saved_at"),
        "metrics": doc.get("metrics") or {},
        "metric_reasons": doc.get("metric_reasons") or {},
        "model_type": doc.get("model_type"),
        "task": doc.get("task", "regression"),
        "aliases": list(aliases.get(number, [])),
        "size_bytes": size,
        "pkl_bytes": pkl_size,
        "note": doc.get("note"),
        "tags": list(doc.get("tags") or []),
        "trained_by": doc.get("trained_by"),
        "replaces": doc.get("replaces"),
        "rollback_of": doc.get("rollback_of"),
        "data": doc.get("data"),
        "problem": problem,
    }
