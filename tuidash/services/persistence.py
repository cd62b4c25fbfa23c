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
names, sizes, mtimes, inodes; in object storage from one LIST) and returns a ``StoreChange``;
``watch()`` polls every ``poll_interval`` seconds (2; 15 for a remote store). Changed and
removed models are dropped from ``loaded`` (stale). This service's own writes are not
reported.

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

The parts, each a module of this package: ``base`` (``ServiceBase``: the store, its
threads, ``loaded``, listing, settings), ``loading`` (``ModelLoading``: ``load``,
``load_all``, the memory budget), ``memory`` (how much memory there is), ``changes``
(``MetadataWatch``: other processes' changes); this module adds the writes, the version
operations and ``poll_changes``/``watch``, and is where callers import every name from.

Errors a person caused arrive as ``StoreError`` subclasses from the store (``ModelNotFound``,
``ModelExists``, ``InvalidModelName``, ``ModelDamaged``, ``ModelRefused``, ``StoreWriteError``)
or as ``ServiceError``; both carry ``.message``, one sentence to show as it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

from tuidash.core.store import StoreError, parse_ref
from tuidash.core.store.loading import settle
from tuidash.services.base import ServiceError, StoreListing, log_failure
from tuidash.services.changes import DEFAULT_POLL_INTERVAL, StoreChange
from tuidash.services.loading import LoadFinished, LoadProgress, LoadUpdate, ModelLoading
from tuidash.services.memory import (
    DEFAULT_MEMORY_FRACTION,
    DEFAULT_SIZE_FACTOR,
    available_memory_bytes,
)

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

_log = logging.getLogger(__name__)


class PersistenceService(ModelLoading):
    """Asyncio facade over ``ModelPersistence``: threads for file work, progress events."""

    # -- writes --------------------------------------------------------------------------------

    async def save(self, name: str, model_data: Mapping[str, Any], *, replace: bool = False) -> str:
        """Save a model; returns the store's sentence, raises ``StoreError`` when it cannot."""
        started = time.perf_counter()
        try:
            message = await self._write(
                (name,), self.store.save, name, dict(model_data), replace=replace
            )
        except Exception as error:
            log_failure(_log, f"saving model {name!r} in {self.base_dir}", error)
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

    async def delete(self, name: str) -> str:
        """Delete a model (and free it from memory); returns a sentence or raises."""
        try:
            message = await self._write((name,), self.store.delete, name)
        except Exception as error:
            log_failure(_log, f"deleting model {name!r} from {self.base_dir}", error)
            raise
        _log.info("deleted model %r from %s", name, self.base_dir)
        self._forget(name)
        return message

    async def remove_entry(self, name: str) -> str:
        """Remove a problem entry's files (damaged, refused, orphaned); sentence or raises.

        The store removes every file of the entry (the JSON and the pickle, whichever is
        there), as listed in its problem row's ``files``.
        """
        try:
            message = await self._write((name,), self.store.delete, name)
        except Exception as error:
            log_failure(_log, f"removing entry {name!r} from {self.base_dir}", error)
            raise
        _log.info("removed entry %r (its files) from %s", name, self.base_dir)
        return message

    async def clear_all(self) -> str:
        """Delete every model in the store and empty ``loaded``; returns a sentence or raises."""
        try:
            message = await self._write(None, self.store.clear)
        except Exception as error:
            log_failure(_log, f"clearing {self.base_dir}", error)
            raise
        _log.info("cleared %s: %s", self.base_dir, message)
        self.loaded.clear()
        self._estimates.clear()
        return message

    async def deletion_summary(self, ref: str) -> dict[str, Any]:
        """What deleting ``ref`` (NAME: every version; NAME@vN: one) would remove, for a
        confirmation: {name, version, versions, size_bytes, aliases, message}."""
        return await self._run(self._io, self.store.deletion_summary, ref)

    # -- versions ------------------------------------------------------------------------------

    async def list_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of ``name``, oldest first (version, saved_at, metrics, aliases ...)."""
        return await self._run(self._io, self.store.list_versions, name)

    async def details(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """What the fast listing leaves out of each name's latest version, by name:
        ``predictions`` (the stored sample), ``search`` and ``cluster``; read from the JSON
        when a screen needs them (``list_models(predictions=False)`` lists without them)."""
        return await self._run(self._io, self._details_blocking, list(names))

    def _details_blocking(self, names: list[str]) -> dict[str, dict[str, Any]]:
        out = {}
        for name in names:
            doc = self.store._latest(name).doc
            out[name] = {
                "predictions": doc.get("predictions") or {},
                "search": doc.get("search"),
                "cluster": doc.get("cluster"),
            }
        return out

    async def history(self, name: str) -> list[dict[str, Any]]:
        """The name's history, oldest first: saves, alias moves, roll-backs, deletes, notes."""
        return await self._run(self._io, self.store.history, name)

    async def set_alias(self, name: str, alias: str, version: int | str) -> str:
        """Point ``alias`` at a version of ``name``; returns the store's sentence or raises."""
        return await self._change(
            f"setting alias {alias!r} of {name!r}",
            (name,),
            lambda: self.store.set_alias(name, alias, version),
        )

    async def remove_alias(self, name: str, alias: str) -> str:
        """Remove an alias of ``name``; returns the store's sentence or raises."""
        return await self._change(
            f"removing alias {alias!r} of {name!r}",
            (name,),
            lambda: self.store.remove_alias(name, alias),
        )

    async def rollback(self, name: str, version: int | str) -> str:
        """Make an earlier version's content the new latest version of ``name``."""
        return await self._change(
            f"rolling back {name!r} to {version!r}",
            (name,),
            lambda: self.store.rollback(name, version),
        )

    async def set_note(self, ref: str, text: str | None) -> str:
        """Set the note of a version (``NAME`` is the latest); returns a sentence or raises."""
        return await self._change(
            f"changing the note of {ref!r}", (ref,), lambda: self.store.set_note(ref, text)
        )

    async def set_tags(self, ref: str, tags: Iterable[str]) -> str:
        """Set the tags of a version (``NAME`` is the latest); returns a sentence or raises."""
        listed = list(tags)
        return await self._change(
            f"changing the tags of {ref!r}", (ref,), lambda: self.store.set_tags(ref, listed)
        )

    async def rename(self, old: str, new: str) -> str:
        """Rename a model with all its versions; a loaded latest moves with it."""
        loaded = self.loaded.get(old)

        def rename() -> str:
            if loaded is not None:
                settle(loaded)  # its sample is read from the files it had
            return self.store.rename(old, new)

        message = await self._change(f"renaming {old!r} to {new!r}", (old, new), rename)
        if loaded is not None:
            self.loaded[new] = {**loaded, "name": new}
        return message

    async def prune(
        self, name: str | None = None, *, keep: int, dry_run: bool = False
    ) -> dict[str, Any]:
        """Delete all but the last ``keep`` versions per name (never one an alias holds);
        the store's summary {removed, kept_for_alias, size_bytes, message}."""
        try:
            result = await self._write(
                None if name is None else (name,),
                self.store.prune,
                name,
                keep=keep,
                dry_run=dry_run,
            )
        except Exception as error:
            log_failure(_log, f"pruning {name or 'every model'!r} in {self.base_dir}", error)
            raise
        if not dry_run:
            _log.info(
                "pruned %s in %s: %s", name or "every model", self.base_dir, result["message"]
            )
            for item in result["removed"]:
                self.loaded.pop(f"{item['name']}@v{item['version']}", None)
        return result

    async def _change(self, what: str, touched: tuple[str, ...], call: Callable[[], str]) -> str:
        """Run a version write on the store thread, log it, and drop the first touched
        name from ``loaded`` (with its ``NAME@...`` entries: the latest or an alias moved)."""
        try:
            message = await self._write(touched, call)
        except Exception as error:
            log_failure(_log, f"{what} in {self.base_dir}", error)
            raise
        _log.info("%s in %s: %s", what, self.base_dir, message)
        self._forget(parse_ref(touched[0])[0])
        return message

    # -- external changes ----------------------------------------------------------------------

    async def poll_changes(self) -> StoreChange:
        """Entries added, changed or removed by someone else since the last look (or listing).

        Changed and removed models are dropped from ``loaded``, since the objects there are
        stale; the first call without an earlier listing only takes the baseline.
        """
        change = await self._run(self._io, self._changes.poll)
        for name in change.changed + change.removed:
            if name in change.changed and await self._run(self._io, self._loaded_is_latest, name):
                # Loaded after the change (a job's new version, loaded once it was saved):
                # only the NAME@... references may be stale now.
                for ref in [key for key in self.loaded if key.startswith(f"{name}@")]:
                    self.loaded.pop(ref, None)
                continue
            self._forget(name)
            self._estimates.pop(name, None)
        return change

    def _loaded_is_latest(self, name: str) -> bool:
        """True if the model loaded as ``name`` is the version on disk now (the same
        version number and pickle checksum); False if not loaded, or it cannot be told."""
        from tuidash.core.store.versions import read_latest

        loaded = self.loaded.get(name)
        meta = loaded.get("metadata") if isinstance(loaded, dict) else None
        if not isinstance(meta, dict):
            return False
        try:
            latest = read_latest(self.store.backend, name)
        except Exception:
            return False
        if latest is None or latest.version != meta.get("version"):
            return False
        return bool(meta.get("model_file")) and latest.doc.get("model_file") == meta.get(
            "model_file"
        )

    async def watch(self, interval: float | None = None) -> AsyncIterator[StoreChange]:
        """Poll the store every ``interval`` seconds and yield each non-empty ``StoreChange``."""
        delay = self.poll_interval if interval is None else interval
        if self._changes.baseline is None:
            await self.poll_changes()
        while True:
            await asyncio.sleep(delay)
            change = await self.poll_changes()
            if change:
                yield change
