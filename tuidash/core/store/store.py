"""ModelStore: the crash-safe model store, with one API that raises ``StoreError``s.

Save, open, delete, clear, list, load many and report here; versions, aliases,
roll-back, prune, rename, notes and tags in ``VersionRegistry`` (``registry``), which
this class extends; opening, references and the writer lock in ``StoreBase`` (``base``).
Each operation either does what it says or raises a ``StoreError`` subclass whose
``message`` is one sentence a person can act on. The files are reached only through
the store's backend (``backend.py``).

Every save of a name makes a new version (1, 2, 3 ...); the one it replaces stays
loadable as ``NAME@vN``. Wherever the store takes a name it also takes ``NAME@vN`` and
``NAME@ALIAS`` (``NAME`` alone, or ``NAME@latest``, is the latest version). Every write
runs under the store's writer lock; a save is the sequence described in the package's
docstring (``commit``), old-or-new after a crash at any instant.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Collection, Generator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuidash.core.errors import (
    InvalidModelData,
    ModelDamaged,
    ModelNotFound,
    ModelRefused,
    StoreError,
    StoreWriteError,
)
from tuidash.core.store import versions as vs
from tuidash.core.store.backend import Entry, LockTimeout
from tuidash.core.store.base import LOCK_TIMEOUT
from tuidash.core.store.commit import write_entry
from tuidash.core.store.documents import (
    Problem,
    build_doc,
    version_of,
)
from tuidash.core.store.index import load_doc, read_index
from tuidash.core.store.listing import Known, scan, survey
from tuidash.core.store.loading import Fetched, PreHasher, fetch, unpickle
from tuidash.core.store.names import (
    INDEX_NAME,
    METADATA_DIR,
    MODELS_DIR,
    VERSIONS_DIR,
    Selector,
    disk_name_ok,
    json_key,
    key_in,
    parse_ref,
    pending_key,
    pkl_key,
    stem,
    version_file,
    version_json_key,
    version_pkl_key,
    versions_folder,
)
from tuidash.core.store.registry import VersionRegistry


@dataclass(frozen=True, slots=True)
class LoadEvent:
    """One model loaded (or not) by ``ModelStore.iter_load``."""

    name: str
    ok: bool
    result: dict[str, Any] | None
    reason: str | None


class ModelStore(VersionRegistry):
    """The pkl + JSON model store; every operation succeeds or raises a StoreError."""

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

    # --------------------------------------------------------------------- loading

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

    def iter_load(self, names: Iterable[str] | None = None) -> Generator[LoadEvent, None, None]:
        """Load models one by one; a thread hashes the next large pickles while this one
        unpickles (hashlib releases the GIL, so the two overlap on two cores).

        Without ``names`` every entry in the store is attempted (the latest version of
        each name), smallest pickle first (problem entries last, so a caller's progress
        adds up). ``names`` may hold ``NAME@vN`` and ``NAME@ALIAS`` too. Closing the
        generator stops the hashing thread.

        On this computer's disk each latest version's document comes from the listing
        cache while its files' signature is the one cached (``loading.fetch``), so its
        JSON is not parsed; its prediction sample is read when first used. (A remote
        store reads the JSON: looking the signature up would cost two requests.)
        """
        known: Known = {}
        local = not self.remote
        if names is None:
            entries, problems = survey(
                self.backend,
                self._load_problems,
                predictions=False,
                known=known if local else None,
            )
            # Smallest first: the list fills quickly, and the thread hashes the large
            # pickles while the small ones unpickle.
            entries.sort(key=lambda e: e["pkl_bytes"])
            ordered = [e["name"] for e in entries] + [p["name"] for p in problems]
        else:
            ordered = list(names)
            if len(ordered) > 1 and local:
                known = self._known_from_index()
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
                        fetched = fetch(
                            self.backend, model, prehashed, known=known.pop(model, None)
                        )
                    else:
                        fetched = self._fetch_version(model, selector)
                    result = self._finish(fetched)
                except StoreError as exc:
                    yield LoadEvent(name, False, None, exc.message)
                    continue
                yield LoadEvent(name, True, result, None)
        finally:
            prehasher.close()

    def _known_from_index(self) -> Known:
        """What the listing cache holds of each entry (for ``iter_load`` of given names)."""
        known: Known = {}
        index, _ = read_index(self.backend)
        for base, (key, row, rest) in index.items():
            if isinstance(row, dict) and rest is not None:
                doc = load_doc(row, rest)
                if doc is not None and base == stem(row["name"]):
                    known[row["name"]] = (base, key, doc[0], doc[1])
        return known

    def model_paths(self, ref: str) -> tuple[Path, Path]:
        """The (pkl, json) file paths of ``NAME`` (its latest), ``NAME@vN`` or
        ``NAME@ALIAS`` in a store on the local disk (a remote store's: downloaded copies);
        paths that do not exist if there is no such model (callers check)."""
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
        local_copy = getattr(self.backend, "local_copy", None)
        if callable(local_copy):  # a remote store: copies on this disk (export, show)
            try:
                return Path(local_copy(keys[0])), Path(local_copy(keys[1]))
            except StoreError:
                raise
            except OSError:
                return Path(self._missing()), Path(self._missing())
        path = getattr(self.backend, "path", None)
        if not callable(path):
            raise StoreError(f"The store {self.base_dir} is not on this computer's disk.")
        return Path(path(keys[0])), Path(path(keys[1]))

    def _missing(self) -> str:
        import tempfile

        return os.path.join(tempfile.gettempdir(), "tuidash-no-such-model", "missing")

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
                if (model not in jsons and model not in pkls) or (
                    other not in (None, model) and self._good_model_at(model, jsons, pkls)
                ):
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

    def _good_model_at(
        self, base: str, jsons: Mapping[str, Entry], pkls: Mapping[str, Entry]
    ) -> bool:
        """Whether the files at ``base`` hold a usable model (listed, not a problem entry):
        then ``base`` is another spelling of its name and is not deleted by it."""
        from tuidash.core.store.listing import _list_entry

        json_entry = jsons.get(base)
        if json_entry is None:
            return False
        try:
            _list_entry(self.backend, base, json_entry, pkls.get(base), False)
        except Problem:
            return False  # a problem entry (storage lists it by ``base``): removable
        return True

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
        free: int | None
        try:
            free = self.backend.free_bytes()
        except OSError:
            free = None if self.remote else 0  # object storage has no free space to show
        return {
            "base_dir": str(self.base_dir),
            "remote": self.remote,
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
