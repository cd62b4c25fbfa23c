"""Loading one model: read its JSON, verify its pickle's digest, then unpickle (restricted).

Nothing is unpickled before its bytes matched the digest saved with them (or, for the
original app's files, which have none, a note says so), and the bytes unpickled are the
bytes hashed. ``PreHasher`` hashes the next large pickles on another thread while this one
unpickles (hashlib releases the GIL, so the two overlap on two cores).

A load that follows a listing may take the model's document from the listing cache instead
of parsing its JSON (``Known``): only while the files' signature is still the one the cache
row was stored with, and the pickle is verified against the checksum that row holds (a
mismatch reads the JSON, as a retry). Its large parts (the prediction sample, search and
cluster results) are then read from the JSON when first used (``Deferred``).
"""

from __future__ import annotations

import contextlib
import errno
import stat
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tuidash.core.store.backend import StoreBackend
from tuidash.core.store.commit import read_pending
from tuidash.core.store.documents import (
    NAME_KEYS,
    Problem,
    check_doc,
    environment_mismatch,
    recorded_digest,
    short,
    sklearn_version,
    version_of,
)
from tuidash.core.store.durable import (
    DIGEST,
    HASH_CHUNK,
    HASH_IN_THREAD_BYTES,
    OpenPickle,
    Payload,
    close_payload,
)
from tuidash.core.store.index import LAZY_PARTS, Signature
from tuidash.core.store.listing import signature
from tuidash.core.store.names import fold, json_key, pkl_key, stem, version_json_key
from tuidash.core.store.versions import bases_of, read_json

Prehashed = tuple[Payload, str | None, str]
"""A pickle's payload, checksum and checksum kind, read ahead by a PreHasher."""
Known = tuple[str, Signature, dict[str, Any], list[str]]
"""A listing's knowledge of a model (see ``listing.Known``): (file base, signature of its
files, its document without the large parts, the large parts it has)."""


@dataclass(slots=True)
class Fetched:
    """A model's JSON and verified pickle bytes, ready to unpickle (or its problem)."""

    name: str
    version: int | None = None
    """The earlier version read, or None for the latest."""
    base: str = ""
    """The file base the latest was read from (for the listing's problem memory)."""
    doc: dict[str, Any] | None = None
    payload: Payload | None = None
    warnings: list[str] = field(default_factory=list)
    problem: Problem | None = None
    not_found: bool = False


def fetch(
    backend: StoreBackend,
    name: str,
    prehashed: Prehashed | None = None,
    *,
    version: int | None = None,
    known: Known | None = None,
) -> Fetched:
    """Read and verify one model's files (no unpickling): its latest, or an earlier version.

    ``prehashed`` is (payload, digest) of the latest's pickle (at its STEM) from a
    PreHasher; ``known`` is what a listing learnt of the latest (its document, taken
    instead of the JSON while the files' signature holds). Both are used on the first
    attempt only (a retry reads the files again).
    """
    if version is not None:
        out = Fetched(name, version, stem(name))
        _fetch_into(out, backend, version_json_key(out.base, version), None, None)
        if out.doc is not None:  # its keys about the whole name are those of its time
            out.doc = {k: v for k, v in out.doc.items() if k not in NAME_KEYS}
            out.doc["version"] = version
        return out
    bases = bases_of(name)
    out = Fetched(name)
    for position, base in enumerate(bases):
        out = Fetched(name, None, base)
        usable = known if known is not None and known[0] == base else None
        _fetch_into(out, backend, json_key(base), position == len(bases) - 1, prehashed, usable)
        prehashed = known = None
        if not out.not_found:
            break
    return out


def _fetch_into(
    out: Fetched,
    backend: StoreBackend,
    meta_key: str,
    last: bool | None,
    prehashed: Prehashed | None,
    known: Known | None = None,
) -> None:
    """Fill ``out`` from the JSON at ``meta_key`` and its pickle, retrying a racing save.

    ``last`` is None for an earlier version, else whether this is the name's last
    candidate file base (only then is a pickle without its JSON reported).
    """
    name = out.name
    given = _known_doc(backend, name, known) if known is not None else None
    if given is not None:
        try:
            out.doc, out.payload, out.warnings = _fetch_once(
                backend, name, meta_key, out.base, last, prehashed, given[0]
            )
            prehashed = None
        except (Problem, OSError):
            pass  # the cache row or the files disagree: read the JSON below
        else:
            if out.doc is given[0]:
                _defer_parts(backend, out.doc, out.base, given[1])
            return
        finally:
            if prehashed is not None:
                close_payload(prehashed[0])
                prehashed = None
    for attempt in range(3):
        try:
            out.doc, out.payload, out.warnings = _fetch_once(
                backend, name, meta_key, out.base, last, prehashed
            )
            prehashed = None
            out.problem = None
            return
        except FileNotFoundError:
            out.not_found = True
            out.problem = Problem("damaged", "its files are missing")
            return
        except Problem as problem:
            out.problem = problem
            if problem.kind != "retry":
                return
        except OSError as exc:
            out.problem = Problem("damaged", f"it could not be read ({exc.strerror})")
            return
        finally:
            if prehashed is not None:
                close_payload(prehashed[0])
                prehashed = None
        # A save of this name may be committing right now; give it a moment.
        time.sleep(0.01 * (attempt + 1))
    assert out.problem is not None
    out.problem = Problem("damaged", out.problem.reason)


def _fetch_once(
    backend: StoreBackend,
    name: str,
    meta_key: str,
    base: str,
    last: bool | None,
    prehashed: Prehashed | None,
    given: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Payload, list[str]]:
    """The checked document (``given``, checked already, or the JSON's), the pickle's
    verified payload and notes; raise Problem, FileNotFoundError or OSError."""
    model_key = meta_key.removesuffix(".json") + ".pkl" if last is None else pkl_key(base)
    doc = given if given is not None else _read_doc(backend, name, meta_key, model_key, last)
    model_file = doc.get("model_file")
    kind, recorded = recorded_digest(model_file) if model_file is not None else (DIGEST, "")
    if prehashed is not None and prehashed[2] != kind and model_file is not None:
        close_payload(prehashed[0])  # hashed ahead with the other checksum: hash again
        prehashed = None
    try:
        if prehashed is not None:
            payload, digest, _ = prehashed
        else:
            payload, digest = backend.read_hashed(model_key, model_file is not None, kind=kind)
    except FileNotFoundError:
        raise Problem("damaged", "its pickle file is missing") from None
    except IsADirectoryError:
        raise Problem("damaged", "its pickle is not a regular file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Problem(
                "damaged", "its pickle is a symbolic link, which tuidash does not follow"
            ) from None
        raise
    notes: list[str] = []
    if model_file is None:
        notes.append(
            "This model was saved without a checksum (by the original app), so its "
            "file could not be verified."
        )
        return doc, payload, notes
    if digest != recorded:
        pending = read_pending(backend, name) if last is not None else None
        if pending is not None and _matches(backend, model_key, pending, kind, digest):
            return pending, payload, notes
        close_payload(payload)
        raise Problem(
            "retry",
            "its pickle does not match the checksum saved with it (the file is damaged "
            "or was changed outside tuidash)",
        )
    return doc, payload, notes


def _read_doc(
    backend: StoreBackend, name: str, meta_key: str, model_key: str, last: bool | None
) -> dict[str, Any]:
    """The checked JSON document at ``meta_key`` of model ``name``."""
    try:
        parsed, _ = read_json(backend, meta_key)
    except FileNotFoundError:
        if last and backend.stat(model_key) is not None:
            raise Problem("orphaned", "its pickle has no metadata file") from None
        raise
    if isinstance(parsed, dict):
        other = parsed.get("model_name")
        if isinstance(other, str) and other != name and fold(other) == fold(name):
            # Another model's files: one that shares the STEM ("A B" and an earlier
            # tuidash's "A_B"), or another spelling on a case-insensitive disk.
            raise FileNotFoundError(errno.ENOENT, "no such model", meta_key)
    return check_doc(parsed, name)


def _known_doc(
    backend: StoreBackend, name: str, known: Known
) -> tuple[dict[str, Any], list[str]] | None:
    """The cached document of ``known`` (checked) and its large parts on disk, if the
    files' signature is still the one it was cached with; else None (read the JSON)."""
    base, key, cached, parts = known
    if cached.get("model_name") != name:
        return None
    try:
        if signature(backend, base) != key:
            return None
        return check_doc(dict(cached), name), parts
    except (Problem, OSError):
        return None


def _defer_parts(backend: StoreBackend, doc: dict[str, Any], base: str, parts: list[str]) -> None:
    """Put ``Deferred`` mappings in ``doc`` for the large parts it left on disk."""
    if not parts:
        return
    source = _PartsSource(backend, base, doc)
    for key in parts:
        doc[key] = Deferred(source, key)


class _PartsSource:
    """Reads the large parts of one loaded document from its JSON, once, when first asked.

    The parts are taken only from a document of the same version with the same checksum
    (the latest JSON, or the copy a later save kept under versions/); else there are none.
    """

    __slots__ = ("_backend", "_base", "_digest", "_lock", "_name", "_parts", "_version")

    def __init__(self, backend: StoreBackend, base: str, doc: dict[str, Any]) -> None:
        self._backend, self._base = backend, base
        self._name = doc["model_name"]
        self._version = version_of(doc)
        model_file = doc.get("model_file")
        self._digest = recorded_digest(model_file) if model_file is not None else None
        self._lock = threading.Lock()
        self._parts: dict[str, Any] | None = None

    def get(self, key: str) -> Any:
        with self._lock:
            if self._parts is None:
                self._parts = self._read()
            return self._parts.get(key)

    def _read(self) -> dict[str, Any]:
        for meta_key in (json_key(self._base), version_json_key(self._base, self._version)):
            try:
                parsed, _ = read_json(self._backend, meta_key)
                doc = check_doc(parsed, self._name)
            except (Problem, OSError):
                continue
            model_file = doc.get("model_file")
            digest = recorded_digest(model_file) if model_file is not None else None
            if version_of(doc) == self._version and digest == self._digest:
                return {key: doc.get(key) for key in LAZY_PARTS}
        return {}


class Deferred(Mapping[str, Any]):
    """A large part of a loaded model's document (its prediction sample, say), read from
    its JSON when first used: a read-only mapping, empty if the file no longer holds it.

    A load from the listing cache leaves these on disk (parsing every sample was a fifth
    of the time of loading every model); copy it with ``dict(part)``.
    """

    __slots__ = ("_key", "_source")

    def __init__(self, source: _PartsSource, key: str) -> None:
        self._source, self._key = source, key

    def _value(self) -> Mapping[str, Any]:
        value = self._source.get(self._key)
        return value if isinstance(value, Mapping) else {}

    def __getitem__(self, key: str) -> Any:
        return self._value()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._value())

    def __len__(self) -> int:
        return len(self._value())

    def __repr__(self) -> str:
        return repr(dict(self._value()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self._value()),))  # a copy or pickle is a plain dict


def settle(result: dict[str, Any]) -> None:
    """Read now the parts of a load result left on disk (before its files move away)."""
    metadata = result.get("metadata")
    if isinstance(result.get("predictions"), Deferred):
        result["predictions"] = dict(result["predictions"])
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            if isinstance(value, Deferred):
                metadata[key] = dict(value)
        if isinstance(result.get("predictions"), dict) and "predictions" in metadata:
            metadata["predictions"] = result["predictions"]


def _matches(
    backend: StoreBackend, key: str, doc: dict[str, Any], kind: str, digest: str | None
) -> bool:
    """True if the pickle at ``key`` (whose checksum ``kind`` is ``digest``) is the one
    ``doc`` describes (a save between its two replaces)."""
    other_kind, recorded = recorded_digest(doc["model_file"])
    if other_kind != kind:  # a pending file of this version over an older entry
        payload, digest = backend.read_hashed(key, True, kind=other_kind)
        close_payload(payload)
    return digest == recorded


def unpickle(fetched: Fetched) -> dict[str, Any]:
    """Unpickle verified bytes (restricted) into a load result; raise Problem if it fails."""
    assert fetched.doc is not None and fetched.payload is not None
    from tuidash.core.unpickle import UnpickleRefused, restricted_load, restricted_loads

    doc = fetched.doc
    notes = list(fetched.warnings)
    payload = fetched.payload
    env = doc.get("environment")
    # Only a different scikit-learn makes it warn; skip the (global) filter swap else.
    same_sklearn = isinstance(env, dict) and env.get("sklearn") == sklearn_version()
    recorder: Any = (
        contextlib.nullcontext([]) if same_sklearn else warnings.catch_warnings(record=True)
    )
    try:
        with recorder as caught:
            if not same_sklearn:
                warnings.simplefilter("always")
            if isinstance(payload, OpenPickle):
                model = restricted_load(payload.handle)
                if not payload.unchanged():
                    raise Problem("damaged", "its pickle was changed while it was loading")
            else:
                model = restricted_loads(payload)
    except Problem:
        raise
    except UnpickleRefused as exc:
        raise Problem("refused", exc.message) from None
    except Exception as exc:  # a damaged stream fails in many ways (EOF, ValueError...)
        raise Problem("damaged", f"its pickle could not be read ({short(exc)})") from None
    finally:
        close_payload(payload)
        fetched.payload = None
    mismatch = environment_mismatch(env)
    notes.extend(mismatch)
    if not mismatch:
        for item in caught:
            if item.category.__name__ == "InconsistentVersionWarning":
                notes.append(f"scikit-learn warned while loading: {short(item.message)}")
                break
    preds = doc.get("predictions")
    return {
        "name": fetched.name,
        "version": version_of(doc),
        "model": model,
        "metrics": doc["metrics"],
        "metric_reasons": doc.get("metric_reasons") or {},
        "params": doc["params"],
        "predictions": preds if preds is not None else {},
        "metadata": doc,
        "warnings": notes,
    }


class PreHasher:
    """Hashes the large pickles of a load list ahead of the thread that unpickles them.

    Small pickles are left to the consumer (handing them over costs more than hashing
    them); at most ``depth`` hashed files wait, open, for the consumer.
    """

    def __init__(self, backend: StoreBackend, keys: list[str | None], depth: int = 2) -> None:
        self._backend = backend
        # Sizes first (cheap): only large regular files go to the thread.
        self._large: list[tuple[int, str]] = []
        for position, key in enumerate(keys):
            if key is None:
                continue
            info = backend.stat(key)
            if info is None:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_size >= HASH_IN_THREAD_BYTES:
                self._large.append((position, key))
        self._wanted = {position for position, _ in self._large}
        self._results: dict[int, Prehashed | None] = {}
        self._stop = False
        self._cond = threading.Condition()
        self._slots = threading.Semaphore(depth)
        self._thread: threading.Thread | None = None
        if self._large:
            self._thread = threading.Thread(target=self._run, name="tuidash-prehash", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        for position, key in self._large:
            while not self._slots.acquire(timeout=0.1):
                if self._stop:
                    return
            if self._stop:
                return
            try:
                payload, digest = self._backend.read_hashed(key, True, HASH_CHUNK)
                result: Prehashed | None = (payload, digest, DIGEST)
            except OSError:
                result = None  # the consumer reads it again and reports
            with self._cond:
                self._results[position] = result
                self._cond.notify_all()

    def take(self, position: int) -> Prehashed | None:
        """(payload, digest) of the pickle at ``position`` if hashed ahead, else None."""
        if position not in self._wanted or self._thread is None:
            return None
        self._wanted.discard(position)
        with self._cond:
            while position not in self._results and self._thread.is_alive():
                self._cond.wait(0.1)
            result = self._results.pop(position, None)
        self._slots.release()
        return result

    def close(self) -> None:
        """Stop the thread and close files it hashed that nobody took."""
        self._stop = True
        if self._thread is not None:
            self._thread.join()
        for result in self._results.values():
            if result is not None:
                close_payload(result[0])
        self._results.clear()
