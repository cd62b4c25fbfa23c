"""PersistenceService: the asyncio facade the app uses instead of the blocking model store.

Every method that touches files runs in a thread, so the event loop (the UI) never waits on
disk or unpickling. Nothing here imports textual, and listing never imports scikit-learn.

Use from Textual (an *async* worker runs on the app's loop, so it may touch widgets)::

    # The constructor touches the disk (folders, stale temp files): build it in a thread.
    self.service = await asyncio.to_thread(PersistenceService, store_dir)

    async def on_mount(self) -> None:
        self.models = await self.service.list_models()    # JSON only: no unpickling
        self.autoload()                                    # then fill in the objects
        self.watch_store()

    @work(exclusive=True, group="autoload", exit_on_error=False)
    async def autoload(self) -> None:
        async for event in self.service.load_all():
            if isinstance(event, LoadProgress):            # one per model, in order
                bar.update(total=event.total, progress=event.done)
                status.update(f"Loading models {event.done}/{event.total}")
            else:                                          # LoadFinished, always last
                self.notify(event.message)

    @work(exclusive=True, group="watch", exit_on_error=False)
    async def watch_store(self) -> None:
        async for change in self.service.watch():          # StoreChange, only when non-empty
            self.models = await self.service.list_models()

Cancelling the worker (or breaking out of the loop) stops loading: no further model is
unpickled, and the store's generator is closed right after the model in flight (whose result
is dropped). Loaded models live in ``service.loaded`` (name -> the store's load result);
``await service.load(name)`` loads one on demand (also past the memory budget, since a person
asked for it), ``service.unload(name)`` frees one.

Listing: ``list_models(predictions=False)`` is the fast path for the first frame (names,
metrics, sizes from the store's listing cache; prediction arrays left out); the default
``predictions=True`` reads every JSON in full. ``listing()`` also returns the problem entries.

Memory: ``load_all`` stops before the model whose estimate (pickle bytes x ``size_factor``,
2.0: a 100 MB forest grows the process by ~200 MB) would pass ``memory_budget_bytes``
(default half of MemAvailable, capped by a cgroup limit); ``LoadFinished.message`` says so and
``skipped`` names the models left for ``load(name)``.

External changes: ``poll_changes()`` compares the metadata folder with the last look (file
names, sizes, mtimes, inodes) and returns a ``StoreChange``; ``watch()`` polls every
``poll_interval`` seconds. Changed and removed models are dropped from ``loaded`` (stale).
This service's own writes are not reported.

Event-loop stalls: ``load_all`` calls ``gc.freeze()`` before and after loading
(``freeze_gc=True``), because full garbage collections, not unpickling, were what stalled the
loop (60-120 ms with sklearn, pandas and textual imported); see ``_settle_gc``.

Versions: every save of a taken name makes a new version (the sentence says which);
``load("NAME@v2")`` and ``load("NAME@champion")`` load earlier versions, and
``list_versions``, ``history``, ``set_alias``, ``remove_alias``, ``rollback``, ``prune``,
``rename``, ``set_note``, ``set_tags`` and ``deletion_summary`` wrap the store's methods of
the same names (writes in order on the store thread, like ``save``). A change of a name's
latest version drops the name and its ``NAME@...`` entries from ``loaded``.

Logging: every save, load, deletion and clear is one line of the ``tuidash`` log (see
``tuidash.core.logs``; nothing is written unless the entry point turned the log on); a
failure a person can act on is a warning with its sentence, any other failure an error with
its traceback.

Errors a person caused arrive as ``StoreError`` subclasses from the store (``ModelNotFound``,
``ModelExists``, ``InvalidModelName``, ``ModelDamaged``, ``ModelRefused``, ``StoreWriteError``)
or as ``ServiceError``; both carry ``.message``, one sentence to show as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuidash.core.store import LoadEvent, ModelPersistence, StoreError, parse_ref, stem

__all__ = [
    "DEFAULT_MEMORY_FRACTION",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_SIZE_FACTOR",
    "LoadFinished",
    "LoadProgress",
    "LoadUpdate",
    "PersistenceService",
    "ServiceError",
    "StoreChange",
    "StoreError",
    "StoreListing",
    "available_memory_bytes",
]

DEFAULT_MEMORY_FRACTION = 0.5
"""Share of the memory available at start-up that ``load_all`` may fill with models."""

DEFAULT_SIZE_FACTOR = 2.0
"""Estimated bytes in memory per byte of pickle (numpy arrays ~1x, plus objects and copies)."""

DEFAULT_POLL_INTERVAL = 2.0
"""Seconds between two looks at the metadata folder in ``watch()``."""

FALLBACK_MEMORY_BUDGET = 2 * 1024**3
"""Budget used when the available memory cannot be read (not Linux, no sysconf)."""

SETTINGS_NAME = ".tuidash-settings.json"
"""The store's own settings file (the store lists, deletes and clears only model files)."""

_log = logging.getLogger(__name__)


class ServiceError(Exception):
    """A problem the service itself found; ``.message`` is one sentence for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class LoadProgress:
    """One model handled by ``load_all``: ``done`` of ``total``, loaded (``ok``) or not."""

    done: int
    total: int
    name: str
    ok: bool
    problem: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def fraction(self) -> float:
        """Progress between 0 and 1, for a progress bar."""
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True, slots=True)
class LoadFinished:
    """The last event of ``load_all``: counts and one message that sums the run up."""

    loaded: int
    failed: int
    skipped: tuple[str, ...]
    message: str
    failures: tuple[tuple[str, str], ...] = ()
    budget_stopped: bool = False


LoadUpdate = LoadProgress | LoadFinished
"""What ``load_all`` yields: ``LoadProgress`` events, then exactly one ``LoadFinished``."""


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


@dataclass(frozen=True, slots=True)
class StoreListing:
    """What the store holds, from its JSON files: good models and problem entries."""

    models: list[dict[str, Any]]
    problems: list[dict[str, Any]]


# --- memory ---------------------------------------------------------------------------------


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom() -> int | None:
    # In a container MemAvailable is the host's; the cgroup limit is what kills us.
    try:
        limit_text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit_text == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(0, int(limit_text) - used)
    except (OSError, ValueError):
        return None


def available_memory_bytes() -> int | None:
    """Memory available now: MemAvailable (capped by a cgroup limit), else sysconf, else None."""
    available = _meminfo_available()
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            available = None
    headroom = _cgroup_headroom()
    if headroom is not None:
        available = headroom if available is None else min(available, headroom)
    return available


def _human_bytes(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(count) < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TB"  # pragma: no cover


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# --- the service -----------------------------------------------------------------------------

_DONE = object()


def _next_or_done(iterator: Iterator[Any]) -> Any:
    # StopIteration cannot cross a Future, so the end is a sentinel.
    return next(iterator, _DONE)


def _unexpected(name: str, exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"Model '{name}' could not be loaded: {text[:160]}."


def _log_failure(what: str, error: BaseException) -> None:
    """One log record for a failed store call: a warning for a sentence meant for a person
    (name taken, damaged file, disk full), an error with the traceback for anything else."""
    if isinstance(error, StoreError | ServiceError):
        _log.warning("%s failed: %s", what, getattr(error, "message", error))
    else:
        _log.error("%s failed: %s", what, error, exc_info=error)


def _close_quietly(generator: Any) -> None:
    with contextlib.suppress(Exception):
        generator.close()


@dataclass(slots=True)
class _Snapshot:
    """What the metadata folder looked like: file name -> (mtime_ns, size, inode)."""

    files: dict[str, tuple[int, int, int]] = field(default_factory=dict)


class PersistenceService:
    """Asyncio facade over ``ModelPersistence``: threads for file work, progress events."""

    def __init__(
        self,
        store_dir: str | os.PathLike[str] = "saved_models",
        *,
        memory_budget_bytes: int | None = None,
        memory_fraction: float = DEFAULT_MEMORY_FRACTION,
        size_factor: float = DEFAULT_SIZE_FACTOR,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        freeze_gc: bool = True,
        store: ModelPersistence | None = None,
    ) -> None:
        self.store: ModelPersistence = store if store is not None else ModelPersistence(store_dir)
        """The blocking store underneath; call it only from a thread."""
        if memory_budget_bytes is None:
            available = available_memory_bytes()
            memory_budget_bytes = (
                int(available * memory_fraction)
                if available is not None
                else FALLBACK_MEMORY_BUDGET
            )
        self.memory_budget_bytes: int = max(0, int(memory_budget_bytes))
        """How much ``load_all`` may fill with models (estimated), in bytes."""
        self.size_factor = size_factor
        """Estimated bytes in memory per byte of pickle."""
        self.poll_interval = poll_interval
        """Default seconds between looks at the store in ``watch()``."""
        self.freeze_gc = freeze_gc
        """Freeze the garbage collector's view of live objects around ``load_all``."""
        self.loaded: dict[str, dict[str, Any]] = {}
        """Loaded models: name -> the store's load result (``model``, ``metrics``, ...)."""
        self._estimates: dict[str, int] = {}
        self._write_lock = asyncio.Lock()
        self._load_all_lock = asyncio.Lock()
        # One thread for writes, listings and polls: they run in order, so a poll never
        # mistakes this service's own save for another process's.
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tuidash-store-io")
        # One thread for unpickling: an on-demand load waits for at most one model in flight.
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tuidash-load")
        self._snapshot: _Snapshot | None = None
        self._names_by_base: dict[str, str] = {}
        """File base (STEM) -> model name, from the last listing (for change reports)."""
        self._closed = False

    @property
    def base_dir(self) -> Path:
        """The store folder (absolute)."""
        return Path(self.store.base_dir)

    @property
    def autoload_setting(self) -> bool | None:
        """Whether this store's models load at start, as last set; None if never set."""
        try:
            raw = (self.base_dir / SETTINGS_NAME).read_bytes()
            value = json.loads(raw).get("autoload") if len(raw) < 65536 else None
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, bool) else None

    def set_autoload(self, on: bool) -> None:
        """Remember for this store whether its models load at start (a tiny atomic write)."""
        path = self.base_dir / SETTINGS_NAME
        tmp = path.with_name(f"{SETTINGS_NAME}.{os.getpid()}.tmp")
        try:
            current = {}
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(path.read_bytes())
                current = loaded if isinstance(loaded, dict) else {}
            current["autoload"] = bool(on)
            tmp.write_text(json.dumps(current), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise ServiceError(
                f"Could not save the auto-load setting in {self.base_dir}: {exc.strerror or exc}."
            ) from None

    @property
    def memory_in_use(self) -> int:
        """Estimated bytes held by the models in ``loaded``."""
        return sum(self._estimates.get(name, 0) for name in self.loaded)

    # -- running blocking work ---------------------------------------------------------------

    async def _run(self, executor: ThreadPoolExecutor, func: Any, *args: Any) -> Any:
        if self._closed:
            raise ServiceError("The model store service was closed; restart tuidash.")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, func, *args)

    async def _write(self, func: Any, *args: Any) -> Any:
        async with self._write_lock:
            return await self._run(self._io, func, *args)

    # -- listing -------------------------------------------------------------------------------

    async def list_models(self, *, predictions: bool = True) -> list[dict[str, Any]]:
        """Every good model's JSON summary (name, metrics, dates, sizes...), no unpickling.

        ``predictions=False`` leaves the prediction arrays out (``None``) and reads the
        store's listing cache: the fast path for a first frame that shows names and metrics.
        """
        listing = await self._run(self._io, self._list_blocking, predictions, False)
        return listing.models

    async def listing(self, *, predictions: bool = False) -> StoreListing:
        """The good models and the problem entries (damaged, refused, orphaned), JSON only."""
        return await self._run(self._io, self._list_blocking, predictions, True)

    def _list_blocking(self, predictions: bool, with_problems: bool) -> StoreListing:
        # Look at the folder first: a change made while we read shows up at the next poll.
        snapshot = self._scan_blocking()
        models = self.store.list_saved_models(predictions=predictions)
        problems = self.store.get_storage_info()["problems"] if with_problems else []
        if self._snapshot is None:
            self._snapshot = snapshot
        for entry in models:
            self._estimates[entry["name"]] = self._estimate(entry)
            self._names_by_base[stem(entry["name"])] = entry["name"]
        return StoreListing(models, problems)

    async def storage_report(self) -> dict[str, Any]:
        """The store's storage info: folder, counts, sizes, free space and problem entries."""
        return await self._run(self._io, self.store.get_storage_info)

    def _estimate(self, entry: Mapping[str, Any]) -> int:
        size = entry.get("pkl_bytes") or entry.get("size_bytes") or 0
        try:
            return int(float(size) * self.size_factor)
        except (TypeError, ValueError):
            return 0

    # -- writes --------------------------------------------------------------------------------

    async def save(self, name: str, model_data: Mapping[str, Any], *, replace: bool = False) -> str:
        """Save a model; returns the store's sentence, raises ``StoreError`` when it cannot."""
        started = time.perf_counter()
        try:
            message = await self._write(self._save_blocking, name, dict(model_data), replace)
        except Exception as error:
            _log_failure(f"saving model {name!r} in {self.base_dir}", error)
            raise
        _log.info(
            "saved model %r in %s in %.2f s: %s",
            name,
            self.base_dir,
            time.perf_counter() - started,
            message,  # says which version it is ("... saved as version 3; ...")
        )
        # A model saved under a loaded name replaces it: the object in memory is the old one.
        self._forget(name)
        return message

    def _save_blocking(self, name: str, model_data: dict[str, Any], replace: bool) -> str:
        typed_save = getattr(self.store, "save", None)
        try:
            if callable(typed_save):
                result = typed_save(name, model_data, replace=replace)
                return result if isinstance(result, str) else f"Saved model '{name}'."
            ok, message = self.store.save_model(name, model_data, replace=replace)
            if not ok:
                raise ServiceError(message)
            return message
        finally:
            self._refresh_snapshot_blocking(name)

    async def delete(self, name: str) -> str:
        """Delete a model (and free it from memory); returns a sentence or raises."""
        try:
            message = await self._write(self._delete_blocking, name)
        except Exception as error:
            _log_failure(f"deleting model {name!r} from {self.base_dir}", error)
            raise
        _log.info("deleted model %r from %s", name, self.base_dir)
        self._forget(name)
        return message

    async def deletion_summary(self, ref: str) -> dict[str, Any]:
        """What deleting ``ref`` (NAME: every version; NAME@vN: one) would remove, for a
        confirmation: {name, version, versions, size_bytes, aliases, message}."""
        return await self._run(self._io, self.store.deletion_summary, ref)

    # -- versions ------------------------------------------------------------------------------

    async def list_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of ``name``, oldest first (version, saved_at, metrics, aliases ...)."""
        return await self._run(self._io, self.store.list_versions, name)

    async def history(self, name: str) -> list[dict[str, Any]]:
        """The name's history, oldest first: saves, alias moves, roll-backs, deletes, notes."""
        return await self._run(self._io, self.store.history, name)

    async def set_alias(self, name: str, alias: str, version: int | str) -> str:
        """Point ``alias`` at a version of ``name``; returns the store's sentence or raises."""
        return await self._change(
            f"setting alias {alias!r} of {name!r}", name, self.store.set_alias, name, alias, version
        )

    async def remove_alias(self, name: str, alias: str) -> str:
        """Remove an alias of ``name``; returns the store's sentence or raises."""
        return await self._change(
            f"removing alias {alias!r} of {name!r}", name, self.store.remove_alias, name, alias
        )

    async def rollback(self, name: str, version: int | str) -> str:
        """Make an earlier version's content the new latest version of ``name``."""
        return await self._change(
            f"rolling back {name!r} to {version!r}", name, self.store.rollback, name, version
        )

    async def set_note(self, ref: str, text: str | None) -> str:
        """Set the note of a version (``NAME`` is the latest); returns a sentence or raises."""
        return await self._change(
            f"changing the note of {ref!r}", ref, self.store.set_note, ref, text
        )

    async def set_tags(self, ref: str, tags: Iterable[str]) -> str:
        """Set the tags of a version (``NAME`` is the latest); returns a sentence or raises."""
        return await self._change(
            f"changing the tags of {ref!r}", ref, self.store.set_tags, ref, list(tags)
        )

    async def rename(self, old: str, new: str) -> str:
        """Rename a model with all its versions; a loaded latest moves with it."""
        loaded = self.loaded.get(old)
        message = await self._change(
            f"renaming {old!r} to {new!r}", old, self.store.rename, old, new, also=new
        )
        if loaded is not None:
            self.loaded[new] = {**loaded, "name": new}
        return message

    async def prune(
        self, name: str | None = None, *, keep: int, dry_run: bool = False
    ) -> dict[str, Any]:
        """Delete all but the last ``keep`` versions per name (never one an alias holds);
        the store's summary {removed, kept_for_alias, size_bytes, message}."""
        try:
            result = await self._write(self._prune_blocking, name, keep, dry_run)
        except Exception as error:
            _log_failure(f"pruning {name or 'every model'!r} in {self.base_dir}", error)
            raise
        if not dry_run:
            _log.info(
                "pruned %s in %s: %s", name or "every model", self.base_dir, result["message"]
            )
            for item in result["removed"]:
                self.loaded.pop(f"{item['name']}@v{item['version']}", None)
        return result

    def _prune_blocking(self, name: str | None, keep: int, dry_run: bool) -> dict[str, Any]:
        try:
            return self.store.prune(name, keep=keep, dry_run=dry_run)
        finally:
            self._refresh_snapshot_blocking(name)

    async def _change(self, what: str, name: str, func: Any, *args: Any, also: str = "") -> str:
        """Run a version write on the store thread, log it, keep ``loaded`` true."""
        try:
            message = await self._write(self._change_blocking, func, args, (name, also))
        except Exception as error:
            _log_failure(f"{what} in {self.base_dir}", error)
            raise
        _log.info("%s in %s: %s", what, self.base_dir, message)
        plain = parse_ref(name)[0]
        if func is not self.store.set_note and func is not self.store.set_tags:
            self._forget(plain)  # the latest (or an alias) changed
        else:
            self._forget(name)
        return message

    def _change_blocking(self, func: Any, args: tuple[Any, ...], names: tuple[str, str]) -> str:
        try:
            return func(*args)
        finally:
            for name in names:
                if name:
                    self._refresh_snapshot_blocking(name)

    async def clear_all(self) -> str:
        """Delete every model in the store and empty ``loaded``; returns a sentence or raises."""
        try:
            message = await self._write(
                self._tuple_blocking, self.store.clear_all_saved_models, None
            )
        except Exception as error:
            _log_failure(f"clearing {self.base_dir}", error)
            raise
        _log.info("cleared %s: %s", self.base_dir, message)
        self.loaded.clear()
        self._estimates.clear()
        return message

    async def remove_entry(self, name: str) -> str:
        """Remove a problem entry's files (damaged, refused, orphaned); sentence or raises.

        The store removes every file of the entry (the JSON and the pickle, whichever is
        there), as listed in its problem row's ``files``.
        """
        try:
            message = await self._write(self._tuple_blocking, self.store.remove_entry, name)
        except Exception as error:
            _log_failure(f"removing entry {name!r} from {self.base_dir}", error)
            raise
        _log.info("removed entry %r (its files) from %s", name, self.base_dir)
        return message

    def _delete_blocking(self, name: str) -> str:
        typed_delete = getattr(self.store, "delete", None)
        if not callable(typed_delete):
            return self._tuple_blocking(self.store.delete_model, name)
        try:
            return typed_delete(name)
        finally:
            self._refresh_snapshot_blocking(name)

    def _tuple_blocking(self, func: Any, name: str | None) -> str:
        ok, message = func(name) if name is not None else func()
        self._refresh_snapshot_blocking(name)
        if not ok:
            raise ServiceError(message)
        return message

    # -- loading -------------------------------------------------------------------------------

    async def load(self, name: str, *, reload: bool = False) -> dict[str, Any]:
        """The loaded model ``name`` (from memory, else from disk); raises with a message."""
        if not reload and name in self.loaded:
            return self.loaded[name]
        started = time.perf_counter()
        try:
            result = await self._run(self._loader, self._load_blocking, name)
        except Exception as error:
            _log_failure(f"loading model {name!r} from {self.base_dir}", error)
            raise
        _log.info(
            "loaded model %r from %s in %.2f s",
            name,
            self.base_dir,
            time.perf_counter() - started,
        )
        self.loaded[name] = result
        self._estimates.setdefault(name, self._estimate_from_result(result))
        return result

    def _load_blocking(self, name: str) -> dict[str, Any]:
        typed_open = getattr(self.store, "open_model", None)
        if callable(typed_open):
            return typed_open(name)
        result = self.store.load_model(name)
        if result is None:
            raise ServiceError(f"The model '{name}' could not be loaded; see Storage.")
        return result

    def _estimate_from_result(self, result: Mapping[str, Any]) -> int:
        meta = result.get("metadata") or {}
        model_file = meta.get("model_file") if isinstance(meta, Mapping) else None
        size = model_file.get("bytes") if isinstance(model_file, Mapping) else None
        return self._estimate({"pkl_bytes": size}) if size else 0

    def unload(self, name: str) -> bool:
        """Free a loaded model; False when it was not loaded."""
        return self._forget(name)

    def _forget(self, name: str) -> bool:
        """Drop ``name`` from ``loaded``; a plain name takes its ``NAME@...`` entries along
        (an alias may point elsewhere now); ``NAME@vN`` alone never changes."""
        if "@" not in name:
            for ref in [key for key in self.loaded if key.startswith(f"{name}@")]:
                self.loaded.pop(ref, None)
        return self.loaded.pop(name, None) is not None

    async def load_all(self, names: Sequence[str] | None = None) -> AsyncIterator[LoadUpdate]:
        """Load every model (or ``names``) not loaded yet, yielding progress events.

        One ``LoadProgress`` per model in order, then one ``LoadFinished``. A bad model is one
        event with ``ok=False`` and its ``problem``; without ``names`` the store's problem
        entries come last as such events, so the counts add up. Loading stops, with a message,
        before the model that would pass ``memory_budget_bytes``; the rest stay listed and
        ``load(name)`` still loads them.
        """
        started = time.perf_counter()
        async with (
            self._load_all_lock,  # a second run waits, then skips what is already loaded
            contextlib.aclosing(self._load_all(names)) as updates,
        ):
            async for update in updates:
                if isinstance(update, LoadProgress) and update.ok:
                    _log.debug("loaded model %r from %s", update.name, self.base_dir)
                elif isinstance(update, LoadProgress):
                    _log.warning("could not load model %r: %s", update.name, update.problem)
                else:
                    _log.info(
                        "loading models from %s took %.2f s: %s",
                        self.base_dir,
                        time.perf_counter() - started,
                        update.message,
                    )
                yield update

    async def _load_all(self, names: Sequence[str] | None) -> AsyncIterator[LoadUpdate]:
        problems: list[str] = []
        if names is None:
            listing = await self.listing()
            names = [entry["name"] for entry in listing.models]
            problems = [row["name"] for row in listing.problems]
        elif any(name not in self._estimates for name in names):
            await self.listing()  # the sizes the memory budget is checked against
        pending = [name for name in dict.fromkeys(names) if name not in self.loaded]
        problems = [name for name in dict.fromkeys(problems) if name not in pending]
        total = len(pending) + len(problems)
        plan, over = self._plan(pending)
        good = len(plan)
        plan += problems  # problem entries take no memory: they fail before unpickling
        self._settle_gc()
        loaded = 0
        failures: list[tuple[str, str]] = []
        done = 0
        while done < len(plan):
            generator = self.store.iter_load(plan[done:])
            try:
                while done < len(plan):
                    expected = plan[done]
                    need = self._estimates.get(expected, 0)
                    if done < good and self.memory_in_use + need > self.memory_budget_bytes:
                        # Models loaded on demand filled the budget meanwhile: stop here too.
                        over = plan[done:good] + over
                        plan = plan[:done]
                        break
                    try:
                        event = await self._run(self._loader, _next_or_done, generator)
                    except Exception as exc:  # the store promises events; never lose the rest
                        if self._closed:
                            raise
                        _log.error("loading model %r failed unexpectedly", expected, exc_info=exc)
                        event = LoadEvent(expected, False, None, _unexpected(expected, exc))
                        restart = True
                    else:
                        restart = False
                    if event is _DONE:
                        plan = plan[:done]
                        break
                    done += 1
                    if event.ok and event.result is not None:
                        self.loaded.setdefault(event.name, event.result)
                        loaded += 1
                        warnings = tuple(str(w) for w in event.result.get("warnings") or ())
                        yield LoadProgress(done, total, event.name, True, None, warnings)
                    else:
                        problem = event.reason or f"Model '{event.name}' could not be loaded."
                        failures.append((event.name, problem))
                        yield LoadProgress(done, total, event.name, False, problem)
                    if restart:
                        break  # a generator that raised is finished; start one for the rest
            finally:
                # Queued behind any next() still running, so the generator is never closed
                # while it executes; a model in flight finishes in the thread and is dropped.
                with contextlib.suppress(RuntimeError):
                    self._loader.submit(_close_quietly, generator)
        self._settle_gc()
        yield self._finished(loaded, failures, tuple(over))

    def _settle_gc(self) -> None:
        """Take what is alive now out of the cycle collector's full passes (``gc.freeze``).

        A full collection walks every tracked object with the GIL held, from whichever thread
        triggers it; with sklearn, pandas and textual imported that is 60-120 ms here, and the
        allocations of a load are what trigger it: that, not unpickling, stalled the event
        loop past 100 ms (benchmarks/bench_autoload.py). Young garbage is collected first
        (cheap); frozen objects are still freed by reference counting (``unload`` works).
        """
        if self.freeze_gc:
            gc.collect(1)
            gc.freeze()

    def _plan(self, pending: list[str]) -> tuple[list[str], list[str]]:
        """Split ``pending`` into the models that fit the memory budget and the rest."""
        used = self.memory_in_use
        for index, name in enumerate(pending):
            need = self._estimates.get(name, 0)
            if used + need > self.memory_budget_bytes:
                return pending[:index], pending[index:]
            used += need
        return pending, []

    def _finished(
        self, loaded: int, failures: list[tuple[str, str]], skipped: tuple[str, ...]
    ) -> LoadFinished:
        parts = [f"{_plural(loaded, 'model')} loaded"]
        if failures:
            parts.append(f"{len(failures)} could not be loaded — see Storage")
        if skipped:
            first = skipped[0]
            need = self._estimates.get(first, 0)
            left = max(0, self.memory_budget_bytes - self.memory_in_use)
            parts.append(
                f"stopped before '{first}' to stay within the memory budget "
                f"({_human_bytes(self.memory_budget_bytes)}; it needs about "
                f"{_human_bytes(need)}, {_human_bytes(left)} left): "
                f"{_plural(len(skipped), 'model')} stay listed and load when opened"
            )
        message = "; ".join(parts) + "."
        return LoadFinished(
            loaded=loaded,
            failed=len(failures),
            skipped=skipped,
            message=message[0].upper() + message[1:],
            failures=tuple(failures),
            budget_stopped=bool(skipped),
        )

    # -- external changes ----------------------------------------------------------------------

    async def poll_changes(self) -> StoreChange:
        """Entries added, changed or removed by someone else since the last look (or listing).

        Changed and removed models are dropped from ``loaded``, since the objects there are
        stale; the first call without an earlier listing only takes the baseline.
        """
        change = await self._run(self._io, self._poll_blocking)
        for name in change.changed + change.removed:
            self._forget(name)
            self._estimates.pop(name, None)
        return change

    async def watch(self, interval: float | None = None) -> AsyncIterator[StoreChange]:
        """Poll the store every ``interval`` seconds and yield each non-empty ``StoreChange``."""
        delay = self.poll_interval if interval is None else interval
        if self._snapshot is None:
            await self.poll_changes()
        while True:
            await asyncio.sleep(delay)
            change = await self.poll_changes()
            if change:
                yield change

    def _metadata_dir(self) -> Path:
        return self.base_dir / "metadata"

    def _scan_blocking(self) -> _Snapshot:
        files: dict[str, tuple[int, int, int]] = {}
        try:
            with os.scandir(self._metadata_dir()) as entries:
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
        return _Snapshot(files)

    def _refresh_snapshot_blocking(self, name: str | None = None) -> None:
        """Move the baseline past this service's own write (of ``name``, or of everything).

        Only that name's file is updated, so another process's change made meanwhile is
        still reported at the next poll.
        """
        if self._snapshot is None:
            return
        if name is None:
            self._snapshot = self._scan_blocking()
            return
        file_name = f"{stem(parse_ref(name)[0])}.json"
        try:
            info = os.stat(self._metadata_dir() / file_name, follow_symlinks=False)
        except OSError:
            self._snapshot.files.pop(file_name, None)
        else:
            self._snapshot.files[file_name] = (info.st_mtime_ns, info.st_size, info.st_ino)

    def _poll_blocking(self) -> StoreChange:
        current = self._scan_blocking()
        before = self._snapshot
        self._snapshot = current
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
            from tuidash.core.store.versions import model_name_at

            known = model_name_at(self.store.backend, base) or base
            self._names_by_base[base] = known
        return known

    # -- shutdown ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the service's threads (queued work is dropped; running work finishes)."""
        self._closed = True
        self._io.shutdown(wait=False, cancel_futures=True)
        self._loader.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> PersistenceService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
