"""A name's versions: the latest in models/ + metadata/, earlier ones under versions/STEM/.

Layout of one name (STEM is its file base, see ``names``)::

    models/STEM.pkl, metadata/STEM.json     the latest version (what the original app reads)
    versions/STEM/vN.pkl, vN.json           every earlier version, immutable
    versions/STEM/history.jsonl             append-only: saves, alias moves, roll-backs ...

The latest JSON also holds what is true of the whole name (``NAME_KEYS``: the number of
versions and the aliases), so the listing needs no look into versions/.

Each function here runs under the store's writer lock (but ``read_latest``, ``numbers``,
``read_version`` and ``read_history``), and each leaves the store readable at every instant:

- archiving a version links its pickle (bytes stored once), then writes its JSON (the
  version's commit marker: a ``vN.pkl`` without ``vN.json`` is a leftover);
- a model saved by an earlier tuidash under its own name (``Random Forest.pkl``) is moved
  to its STEM at its first write: pickle linked, JSON written (the commit), old files
  removed; readers and the listing prefer the STEM file, so old-or-new holds throughout;
- a rename builds the new name's files next to the old ones under a marker file, commits
  with the new latest JSON, then removes the old files; ``clean_leftovers`` finishes a
  committed rename or undoes one that was not.

A crash between a write and its history line loses that line (never the write): the
history is appended after the change it records, so it never tells of one that did not
happen.
"""

from __future__ import annotations

import datetime
import errno
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

from tuidash.core.store.backend import StoreBackend
from tuidash.core.store.commit import recover_pending, write_doc
from tuidash.core.store.documents import (
    MAX_JSON_BYTES,
    NAME_KEYS,
    Problem,
    check_doc,
    current_user,
    parse_json,
    short,
    version_of,
)
from tuidash.core.store.durable import TooLarge
from tuidash.core.store.names import (
    HISTORY_NAME,
    METADATA_DIR,
    MODELS_DIR,
    PENDING_PREFIX,
    RENAME_PREFIX,
    TMP_PREFIX,
    disk_name_ok,
    json_key,
    key_in,
    pkl_key,
    rename_key,
    stem,
    version_file,
    version_json_key,
    version_pkl_key,
    versions_folder,
)

_FOLDERS = (MODELS_DIR, METADATA_DIR, "")
"""Where writes leave temp, pending and marker files (the top holds the listing cache's)."""


@dataclass(slots=True)
class Latest:
    """Where a name's latest version lives (its file base) and its checked document."""

    base: str
    doc: dict[str, Any]
    raw_size: int = 0

    @property
    def version(self) -> int:
        """The latest version's number."""
        return version_of(self.doc)


# ------------------------------------------------------------------------------ reading


def bases_of(name: str) -> tuple[str, ...]:
    """Where a name's latest may live: its STEM, else (an earlier tuidash's) the name."""
    base = stem(name)
    return (base,) if base == name or not disk_name_ok(name) else (base, name)


def read_json(backend: StoreBackend, key: str) -> tuple[Any, int]:
    """A metadata file parsed (FileNotFoundError if missing, Problem if unreadable)."""
    try:
        raw = backend.read(key, MAX_JSON_BYTES)
    except IsADirectoryError:
        raise Problem("damaged", "its metadata is not a regular file") from None
    except TooLarge as exc:
        raise Problem("damaged", exc.reason) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Problem(
                "damaged", "its metadata file is a symbolic link, which tuidash does not follow"
            ) from None
        raise
    try:
        return parse_json(raw), len(raw)
    except ValueError as exc:
        raise Problem("damaged", f"its metadata is not valid JSON ({short(exc)})") from None


def model_name_at(backend: StoreBackend, base: str) -> str | None:
    """The model_name in metadata/BASE.json, the base if it is unreadable, None if missing."""
    try:
        doc, _ = read_json(backend, json_key(base))
    except FileNotFoundError:
        return base if backend.stat(pkl_key(base)) is not None else None
    except (OSError, Problem):
        return base
    name = doc.get("model_name") if isinstance(doc, dict) else None
    return name if isinstance(name, str) else base


def read_latest(backend: StoreBackend, name: str) -> Latest | None:
    """The name's latest version, or None if it has none; Problem if its JSON is bad."""
    for base in bases_of(name):
        try:
            doc, size = read_json(backend, json_key(base))
        except FileNotFoundError:
            continue
        if isinstance(doc, dict) and doc.get("model_name") != name:
            continue  # another model's files (or, on a case-insensitive disk, spelling)
        return Latest(base, check_doc(doc, name), size)
    return None


def numbers(backend: StoreBackend, base: str) -> set[int]:
    """The numbers of the earlier versions kept for ``base`` (those with their JSON)."""
    try:
        names = backend.names(versions_folder(base))
    except OSError:
        return set()
    found = set()
    for file_name in names:
        parsed = version_file(file_name)
        if parsed is not None and parsed[1] == "json":
            found.add(parsed[0])
    return found


def read_version(backend: StoreBackend, base: str, name: str, number: int) -> dict[str, Any]:
    """An earlier version's checked JSON (FileNotFoundError, Problem), without the keys
    about the whole name (true only in the latest JSON)."""
    raw, _ = read_json(backend, version_json_key(base, number))
    doc = check_doc(raw, name)
    for key in NAME_KEYS:
        doc.pop(key, None)
    doc["version"] = number
    return doc


def count_versions(backend: StoreBackend, latest: Latest) -> int:
    """How many versions the name has, the latest included."""
    return len(numbers(backend, latest.base) | {latest.version})


def next_number(backend: StoreBackend, latest: Latest) -> int:
    """The number of the name's next version."""
    return max(numbers(backend, latest.base) | {latest.version}) + 1


# ------------------------------------------------------------------------------ history


def append_history(
    backend: StoreBackend, base: str, name: str, event: str, **fields: Any
) -> dict[str, Any]:
    """Add one event (with time and user@host) to the name's history; returns it."""
    line = {
        "at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "user": current_user(),
        "event": event,
        "name": name,
        **fields,
    }
    backend.make_folder(versions_folder(base))
    encoded = json.dumps(line, ensure_ascii=False, allow_nan=False) + "\n"
    backend.append(key_in(versions_folder(base), HISTORY_NAME), encoded.encode("utf-8"))
    return line


def read_history(backend: StoreBackend, base: str) -> list[dict[str, Any]]:
    """Every event of the name's history, oldest first (a torn line is skipped)."""
    try:
        raw = backend.read(key_in(versions_folder(base), HISTORY_NAME))
    except (OSError, ValueError):
        return []
    events = []
    for line in raw.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


# ----------------------------------------------------------------------------- writing


def archive(backend: StoreBackend, latest: Latest) -> None:
    """Keep the latest version under versions/STEM/vN before it is replaced (idempotent).

    Both files are second keys of the latest's bytes (hard links: nothing is copied); the
    JSON is linked last, as the version's commit. Its ``NAME_KEYS`` are those of the time
    and are ignored when the version is read.
    """
    base, number = latest.base, latest.version
    target_json = version_json_key(base, number)
    if backend.stat(target_json) is not None:
        return  # archived by a save that was interrupted after this step
    backend.make_folder(versions_folder(base))
    target_pkl = version_pkl_key(base, number)
    if backend.stat(target_pkl) is not None:
        backend.remove(target_pkl)  # an interrupted archive's pickle without its JSON
    if backend.stat(pkl_key(base)) is not None:
        backend.link(pkl_key(base), target_pkl)
    backend.link(json_key(base), target_json)
    backend.sync(versions_folder(base))


def remove_version(backend: StoreBackend, base: str, number: int) -> None:
    """Remove an earlier version: its JSON first (then it is gone), then its pickle."""
    backend.remove(version_json_key(base, number))
    backend.sync(versions_folder(base))
    backend.discard_later([version_pkl_key(base, number)])


def wipe_versions(backend: StoreBackend, base: str) -> None:
    """Remove everything under versions/BASE/ (only the files a version folder holds)."""
    folder = versions_folder(base)
    entries = [e for e in backend.scan(folder) if not e.is_dir(follow_symlinks=False)]
    # JSONs first: a version is gone the moment its JSON is.
    entries.sort(key=lambda e: not e.name.endswith(".json"))
    doomed = []
    for entry in entries:
        if version_file(entry.name) is not None or entry.name == HISTORY_NAME:
            backend.discard(key_in(folder, entry.name))
        elif entry.name.startswith(TMP_PREFIX):
            doomed.append(key_in(folder, entry.name))
    for key in doomed:
        backend.discard(key)
    backend.sync(folder)
    backend.remove_folder(folder)


def rewrite_latest(backend: StoreBackend, latest: Latest) -> None:
    """Give the latest JSON ``latest.doc`` (same pickle: aliases, note, count changed)."""
    latest.doc["versions"] = count_versions(backend, latest)
    write_doc(backend, json_key(latest.base), latest.doc)


def migrate(backend: StoreBackend, name: str, latest: Latest) -> Latest:
    """Move a model an earlier tuidash saved as NAME.pkl to STEM.pkl (old-or-new throughout).

    The caller made sure no other model uses the STEM's files.
    """
    base, old = stem(name), latest.base
    if backend.stat(pkl_key(base)) is not None:
        backend.remove(pkl_key(base))  # an interrupted migration's pickle (no JSON)
    if backend.stat(pkl_key(old)) is not None:
        backend.link(pkl_key(old), pkl_key(base))
        backend.sync(MODELS_DIR)
    doc = dict(latest.doc)
    if isinstance(doc.get("model_file"), dict):
        doc["model_file"] = {**doc["model_file"], "name": f"{base}.pkl"}
    write_doc(backend, json_key(base), doc)  # the commit: readers now find the STEM
    backend.discard(pkl_key(old))
    backend.sync(MODELS_DIR)
    backend.discard(json_key(old))
    backend.sync(METADATA_DIR)
    return Latest(base, doc, latest.raw_size)


# ------------------------------------------------------------------------------ rename


def rename(backend: StoreBackend, latest: Latest, old: str, new: str) -> Latest:
    """Move every version of ``old`` to ``new``; the new latest JSON is the commit."""
    marker = rename_key(old)
    source, target = latest.base, stem(new)
    backend.write_new(marker, json.dumps({"old": old, "new": new}).encode("utf-8"))
    backend.sync(MODELS_DIR)
    wipe_versions(backend, target)  # a deleted name's leftovers, never a live name's
    kept = sorted(numbers(backend, source))
    if kept or backend.stat(key_in(versions_folder(source), HISTORY_NAME)) is not None:
        backend.make_folder(versions_folder(target))
    for number in kept:
        doc = read_version(backend, source, old, number)
        if backend.stat(version_pkl_key(source, number)) is not None:
            backend.link(version_pkl_key(source, number), version_pkl_key(target, number))
        doc["model_name"] = new
        if isinstance(doc.get("model_file"), dict):
            doc["model_file"] = {**doc["model_file"], "name": f"{target}.pkl"}
        write_doc(backend, version_json_key(target, number), doc)
    history = key_in(versions_folder(source), HISTORY_NAME)
    if backend.stat(history) is not None:
        backend.link(history, key_in(versions_folder(target), HISTORY_NAME))
    if backend.stat(pkl_key(target)) is not None:
        backend.remove(pkl_key(target))  # an undone rename's leftover (no JSON)
    backend.link(pkl_key(source), pkl_key(target))
    backend.sync(MODELS_DIR)
    doc = dict(latest.doc)
    doc["model_name"] = new
    if isinstance(doc.get("model_file"), dict):
        doc["model_file"] = {**doc["model_file"], "name": f"{target}.pkl"}
    write_doc(backend, json_key(target), doc)  # the commit
    _drop_renamed(backend, old, source)
    backend.discard(marker)
    backend.sync(MODELS_DIR)
    return Latest(target, doc, latest.raw_size)


def _drop_renamed(backend: StoreBackend, old: str, source: str) -> None:
    """After a rename's commit: remove the old name's files, its JSON first."""
    backend.discard(json_key(source))
    backend.sync(METADATA_DIR)
    backend.discard(pkl_key(source))
    backend.sync(MODELS_DIR)
    # The history was linked, not copied: the new name's link keeps it.
    wipe_versions(backend, source)


def renames_in_flight(backend: StoreBackend, model_names: list[str]) -> dict[str, str]:
    """old name -> new name of each rename marker among ``model_names`` (models/ names)."""
    out = {}
    for file_name in model_names:
        if file_name.startswith(RENAME_PREFIX):
            try:
                marker = parse_json(backend.read(key_in(MODELS_DIR, file_name), 4096))
                old, new = marker["old"], marker["new"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if isinstance(old, str) and isinstance(new, str):
                out[old] = new
    return out


def finish_rename(backend: StoreBackend, marker: str) -> None:
    """Finish a rename that committed, or undo one that did not (under the lock)."""
    found = renames_in_flight(backend, [marker.rpartition("/")[2]])
    for old, new in found.items():
        target, source = stem(new), stem(old)
        if model_name_at(backend, target) == new:
            # Committed: whatever of the old name is left goes (its JSON first).
            if backend.stat(json_key(source)) is None or model_name_at(backend, source) == old:
                _drop_renamed(backend, old, source)
        elif backend.stat(json_key(target)) is None:
            backend.discard(pkl_key(target))
            backend.sync(MODELS_DIR)
            wipe_versions(backend, target)
    backend.discard(marker)
    backend.sync(MODELS_DIR)


# ------------------------------------------------------------------ interrupted writes


def has_leftovers(backend: StoreBackend) -> bool:
    """True if an interrupted write left something to finish or remove (no lock taken)."""
    prefixes = (TMP_PREFIX, PENDING_PREFIX, RENAME_PREFIX)
    for folder in _FOLDERS:
        try:
            names = backend.names(folder)
        except OSError:
            continue
        # str.startswith mapped in C: a per-name generator costs ~0.5 ms per 1,000.
        if any(map(str.startswith, names, itertools.repeat(prefixes))):
            return True
        if folder == METADATA_DIR and _legacy_twins(names):
            return True
    return False


def _legacy_twins(json_names: list[str]) -> list[str]:
    """Bases of earlier-tuidash JSONs whose STEM has a JSON too (a migration's leftover?)."""
    if " " not in "".join(json_names):  # one C pass; only old stores have spaces in names
        return []
    bases = {n[:-5] for n in json_names if n.endswith(".json")}
    return [b for b in bases if stem(b) != b and stem(b) in bases]


def _young(backend: StoreBackend, entry: Any) -> bool:
    """True for a remote store's temp object younger than its grace period: its writer
    may be alive (an object store's lock can expire under a stalled writer); on disk a
    temp file exists only while its writer holds the lock, so none is young."""
    grace = getattr(backend, "leftover_grace", 0)
    if not grace:
        return False
    age_ns = time.time_ns() - entry.stat(follow_symlinks=False).st_mtime_ns
    return bool(age_ns < grace * 1e9)


def clean_leftovers(backend: StoreBackend) -> None:
    """Finish or drop interrupted writes and delete temp files (under the writer lock)."""
    for folder in _FOLDERS:
        for entry in backend.scan(folder):
            key = key_in(folder, entry.name)
            if entry.name.startswith(TMP_PREFIX) and _young(backend, entry):
                continue
            if entry.name.startswith(PENDING_PREFIX) and folder == MODELS_DIR:
                recover_pending(backend, key)
            elif entry.name.startswith(RENAME_PREFIX) and folder == MODELS_DIR:
                finish_rename(backend, key)
            elif entry.name.startswith(TMP_PREFIX) and not entry.is_dir(follow_symlinks=False):
                backend.discard(key)
    for old in _legacy_twins(backend.names(METADATA_DIR)):
        # A migration committed (STEM.json names this model) but its old files remain.
        if model_name_at(backend, stem(old)) == old:
            backend.discard(pkl_key(old))
            backend.sync(MODELS_DIR)
            backend.discard(json_key(old))
            backend.sync(METADATA_DIR)
