"""The listing: a row for every good model, a problem row for every other entry.

Two folder scans, then per entry either the cached row (its signature unchanged) or the
JSON read and checked; never a pickle opened, never sklearn imported, never a look into
versions/ (the latest JSON carries the version count and aliases). An entry whose load
failed since its files last changed is listed under problems, not as good.

Entries are found by file base (``metadata/BASE.json``); each row is named by its JSON's
``model_name``, which must be the base (an earlier tuidash's files) or have the base as
its STEM (the original app's and this version's). Where a write is half-way (a model of an
earlier tuidash being moved to its STEM, a rename), the listing shows old-or-new, never
both and never a problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tuidash.core.store.backend import Entry, StoreBackend
from tuidash.core.store.commit import read_pending
from tuidash.core.store.documents import (
    MAX_JSON_BYTES,
    Problem,
    check_doc,
    known_environment,
    listing_row,
    parse_json,
    short,
)
from tuidash.core.store.durable import TooLarge
from tuidash.core.store.index import (
    Index,
    Signature,
    load_doc,
    load_rest,
    read_index,
    write_index,
)
from tuidash.core.store.names import (
    METADATA_DIR,
    MODELS_DIR,
    RENAME_PREFIX,
    fold,
    json_key,
    key_in,
    pkl_key,
    stem,
)
from tuidash.core.store.versions import renames_in_flight

Rows = list[dict[str, Any]]
LoadProblems = dict[str, tuple[Signature, Problem]]
"""Name -> (signature of its files, why loading failed) for loads that failed."""
Known = dict[str, tuple[str, Signature, dict[str, Any], list[str]]]
"""Name -> (file base, signature, document without its large parts, the large parts it
has): what a listing learnt of each good entry, for a load (``loading.fetch``)."""


def scan(backend: StoreBackend) -> tuple[dict[str, Entry], dict[str, Entry]]:
    """Entries of metadata/*.json and models/*.pkl by file base (no following links)."""
    return (
        _entries_by_name(backend.scan(METADATA_DIR), ".json"),
        _entries_by_name(backend.scan(MODELS_DIR), ".pkl"),
    )


def _entries_by_name(
    entries: Iterable[Entry], suffix: str, markers: list[str] | None = None
) -> dict[str, Entry]:
    found: dict[str, Entry] = {}
    for entry in entries:
        if not entry.name.endswith(suffix) or entry.name.startswith(".tuidash-"):
            if markers is not None and entry.name.startswith(RENAME_PREFIX):
                markers.append(entry.name)
            continue
        if entry.is_dir(follow_symlinks=False):
            continue  # a user's folder, not an entry
        name = entry.name[: -len(suffix)]
        # A folder listing has no NUL or '/'; only these can be wrong.
        if name and name not in (".", "..") and "\\" not in name:
            found[name] = entry
    return found


def signature(backend: StoreBackend, base: str) -> Signature | None:
    """Changes whenever the JSON is replaced or edited, or the pickle is replaced."""
    info = backend.stat(json_key(base))
    if info is None:
        return None
    pkl = backend.stat(pkl_key(base))
    return (info.st_ino, info.st_size, info.st_mtime_ns, pkl.st_ino if pkl is not None else 0)


class _FilesOf:
    """An entry's files relative to the store, built only when a problem needs them."""

    __slots__ = ("_json", "_pkl")

    def __init__(self, json_entry: Entry | None, pkl_entry: Entry | None) -> None:
        self._json, self._pkl = json_entry, pkl_entry

    def __iter__(self) -> Iterator[str]:
        if self._json is not None:
            yield f"{METADATA_DIR}/{self._json.name}"
        if self._pkl is not None:
            yield f"{MODELS_DIR}/{self._pkl.name}"


def _problem_row(name: str, files: Iterable[str], kind: str, reason: str) -> dict[str, Any]:
    return {"name": name, "files": list(files), "reason": reason, "kind": kind}


def survey(
    backend: StoreBackend,
    load_problems: LoadProblems,
    *,
    predictions: bool,
    known: Known | None = None,
) -> tuple[Rows, Rows]:
    """Listing rows and problem rows of everything in the store's folders.

    Without ``predictions`` the rows come from the listing cache where the files have
    not changed, and the cache is brought up to date; ``known`` (if given) receives each
    good entry's document from it, for a load that follows.
    """
    jsons = _entries_by_name(backend.scan(METADATA_DIR), ".json")
    markers: list[str] = []
    pkls = _entries_by_name(backend.scan(MODELS_DIR), ".pkl", markers)
    renames = renames_in_flight(backend, markers) if markers else {}
    use_index = not predictions
    index, env_ok = read_index(backend) if use_index else ({}, True)
    new_index: Index = {}
    changed = False
    found: dict[str, tuple[str, dict[str, Any]]] = {}  # model name -> (base, row)
    problems: Rows = []
    legacy_stems: set[str] | None = None
    for base in sorted(jsons.keys() | pkls.keys(), key=lambda n: (fold(n), n)):
        json_entry, pkl_entry = jsons.get(base), pkls.get(base)
        if json_entry is None:
            if legacy_stems is None:
                legacy_stems = {stem(b) for b in jsons if stem(b) != b}
                legacy_stems |= {stem(n) for pair in renames.items() for n in pair}
            if base in legacy_stems:
                continue  # a pickle placed by a write still in flight (or interrupted)
            problems.append(
                _problem_row(
                    base,
                    _FilesOf(json_entry, pkl_entry),
                    "orphaned",
                    "its pickle has no metadata file",
                )
            )
            continue
        try:
            # signature() inlined: one lstat of the JSON, the pickle's inode from the scan.
            info = json_entry.stat(follow_symlinks=False)
            key = (
                info.st_ino,
                info.st_size,
                info.st_mtime_ns,
                pkl_entry.inode() if pkl_entry is not None else 0,
            )
            cached = index.get(base)
            if cached is not None and cached[0] == key:
                new_index[base] = cached
                if isinstance(cached[1], Problem):
                    raise cached[1]
                entry, rest = cached[1], cached[2]
            else:
                entry, rest = _list_entry(backend, base, json_entry, pkl_entry, predictions)
                if use_index:
                    new_index[base] = (key, entry, rest)
                    changed = True
        except Problem as problem:
            if use_index and problem.kind == "damaged" and base not in new_index:
                new_index[base] = (key, problem, None)  # the stat above; no second lstat
                changed = True
            problems.append(
                _problem_row(base, _FilesOf(json_entry, pkl_entry), problem.kind, problem.reason)
            )
            continue
        except OSError as exc:
            problems.append(
                _problem_row(
                    base,
                    _FilesOf(json_entry, pkl_entry),
                    "damaged",
                    f"it could not be read ({exc.strerror})",
                )
            )
            continue
        name = entry["name"]
        remembered = load_problems.get(name) if load_problems else None
        if remembered is not None and remembered[0] == key:
            problems.append(
                _problem_row(
                    name,
                    _FilesOf(json_entry, pkl_entry),
                    remembered[1].kind,
                    remembered[1].reason,
                )
            )
            continue
        earlier = found.get(name)
        if earlier is None or base == stem(name):
            # One model, two files: a move to its STEM is half-way; the STEM's is the new.
            found[name] = (base, entry)
            if known is not None and rest is not None:
                doc = load_doc(entry, rest)
                if doc is not None:
                    known[name] = (base, key, doc[0], doc[1])
    env_new = not env_ok and known_environment() is not None
    if use_index and (changed or len(new_index) != len(index) or env_new):
        write_index(backend, new_index)
    if renames:
        for old, new in renames.items():
            # A committed rename whose old files are not removed yet: show the new name only.
            if new in found and found[new][0] == stem(new):
                found.pop(old, None)
    if len(found) < len(jsons):
        # An earlier tuidash's files whose move to the STEM committed: not a problem.
        problems = [
            p for p in problems if not (p["name"] in found and stem(p["name"]) != p["name"])
        ]
    entries = [row for _, row in found.values()]
    return entries, problems


def _list_entry(
    backend: StoreBackend,
    base: str,
    json_entry: Entry,
    pkl_entry: Entry | None,
    predictions: bool,
) -> tuple[dict[str, Any], list[Any]]:
    """One listing row from the JSON of file base ``base``, and the rest of its document
    for a load (``index.load_rest``); raise Problem for a bad entry."""
    if json_entry.is_symlink():
        raise Problem(
            "damaged", "its metadata file is a symbolic link, which tuidash does not follow"
        )
    try:
        raw = backend.read(key_in(METADATA_DIR, json_entry.name), MAX_JSON_BYTES)
    except IsADirectoryError:
        raise Problem("damaged", "its metadata is not a regular file") from None
    except TooLarge as exc:
        raise Problem("damaged", exc.reason) from None
    try:
        parsed = parse_json(raw)
    except ValueError as exc:
        raise Problem("damaged", f"its metadata is not valid JSON ({short(exc)})") from None
    name = parsed.get("model_name") if isinstance(parsed, dict) else None
    if not isinstance(name, str) or (base != name and base != stem(name)):
        name = base  # check_doc says what is wrong
    doc = check_doc(parsed, name)
    if pkl_entry is None:
        raise Problem("damaged", "its pickle file is missing")
    if pkl_entry.is_symlink():
        raise Problem("damaged", "its pickle is a symbolic link, which tuidash does not follow")
    if not pkl_entry.is_file(follow_symlinks=False):
        raise Problem("damaged", "its pickle is not a regular file")
    pkl_bytes = pkl_entry.stat(follow_symlinks=False).st_size
    model_file = doc.get("model_file")
    if model_file is not None and model_file["bytes"] != pkl_bytes:
        pending = read_pending(backend, name)
        if pending is None or pending["model_file"]["bytes"] != pkl_bytes:
            raise Problem(
                "damaged",
                f"its pickle is {pkl_bytes} bytes but {model_file['bytes']} were saved "
                "(a torn or replaced file)",
            )
        doc = pending
    row = listing_row(name, doc, len(raw) + pkl_bytes, pkl_bytes, predictions)
    return row, load_rest(doc, row)
