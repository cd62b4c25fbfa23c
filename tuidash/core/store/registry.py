"""VersionRegistry: the version operations of ``ModelStore``.

Every save of a name makes a new version (1, 2, 3 ...); the one it replaces stays
loadable as ``NAME@vN``. Here a name's versions are listed and its history read;
aliases are set and removed, notes and tags changed, an earlier version rolled back to,
a name renamed with all its versions, earlier versions pruned or deleted one at a time.
Each either does what it says or raises a ``StoreError`` subclass whose ``message`` is
one sentence a person can act on.

Every write runs under the store's writer lock (``StoreBase._writing``) and stays
old-or-new after a crash: a change of the latest JSON is one atomic rewrite, then its
history line is appended (the rewrite is undone if the line cannot be written); a
roll-back is a save whose pickle is the earlier version's (``commit.write_entry``); a
rename is ``versions.rename``, committed by the new latest JSON. The file formats and
the moves on disk are in ``versions``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from typing import Any

from tuidash.core.errors import (
    InvalidModelData,
    InvalidModelName,
    ModelDamaged,
    ModelExists,
    ModelNotFound,
    StoreError,
)
from tuidash.core.store import versions as vs
from tuidash.core.store.backend import StoreBackend
from tuidash.core.store.base import StoreBase
from tuidash.core.store.commit import write_doc, write_entry
from tuidash.core.store.documents import (
    NAME_KEYS,
    Problem,
    clean_tags,
)
from tuidash.core.store.names import (
    Selector,
    alias_problem,
    fold,
    json_key,
    pkl_key,
    rename_key,
    stem,
    version_json_key,
    version_pkl_key,
)
from tuidash.core.text import size_text


class VersionRegistry(StoreBase):
    """A name's versions, history, aliases, notes, tags, roll-back, rename and prune."""

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
        return (
            f"Renamed '{old}' to '{new}' (all {vs.count_versions(self.backend, moved)} versions)."
        )

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
        message = f"{verb} {_plural(len(removed), 'earlier version')} ({size_text(size)})"
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
            "message": f"Delete {what}: {count}, {size_text(size)}?",
        }

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


def _size(backend: StoreBackend, key: str) -> int:
    info = backend.stat(key)
    return info.st_size if info is not None else 0


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


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
