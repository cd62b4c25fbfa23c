"""The app's side of the model store: open it, list, measure and load models, run actions.

Every call to the store runs in a worker on the app (the service does its disk work in
threads) and reports back with a message from ``messages.py``; the handlers here keep
``AppState.store`` current, whose signals tell the sections.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App

from tuidash.ui import heap
from tuidash.ui import messages as msg
from tuidash.ui.messages import error_sentence
from tuidash.ui.state import UNLOADABLE

if TYPE_CHECKING:
    from tuidash.services.persistence import PersistenceService
    from tuidash.ui.state import AppState


PROGRESS_INTERVAL = 0.15
"""Seconds between two progress messages of models loaded (the bar need not move faster)."""

LARGE_TRANSFER = 8 * 1024 * 1024
"""Uploads and downloads from this size on show a progress bar (smaller ones are quick)."""


class StoreWorkers(App[None]):
    """The workers and message handlers of the model store (a part of ``TuidashApp``)."""

    state: AppState
    """What the sections show; ``state.store`` is kept here."""
    service: PersistenceService | None
    """The async store facade, once opened."""

    @work(exclusive=True, exit_on_error=False, group="store-start", description="Open store")
    async def start_store(self) -> None:
        """Create the service, list the store from JSON, then auto-load the objects."""
        try:
            # Opening the store touches the disk (folders, stale temp files): not on the loop.
            opened = await asyncio.to_thread(_open_service, self.state.settings.store_dir)
        except Exception as error:  # a store that cannot be opened: say so, keep running
            self.notify(error_sentence(error), title="Model store", severity="error", timeout=15)
            return
        self.service, setting = opened
        self._report_transfers(self.service)
        store = self.state.store
        store.loaded = self.service.loaded
        if setting is False:
            # The store's own setting (Storage section) turns auto-load off like --no-autoload.
            store.set_autoload(False)
        if store.autoload:
            await self._list_and_load()
        else:
            await self._list_now()
            await self._report_now()
        self.watch_store()

    async def _list_now(self) -> list[str]:
        """List the store; return the names listed."""
        assert self.service is not None
        from tuidash.ui.screens.models_table import listing_facts

        # Thousands of entries are thousands of new objects: no cycle collection (which
        # would stall the screen) while they are made; frozen once made (see ``heap``).
        async with heap.quiet():
            try:
                # Names and metrics only: the prediction samples are read when a screen
                # needs them (``with_details``); reading every JSON in full made a large
                # store's first listing tens of times slower.
                entries = await self.service.list_models(predictions=False)
            except Exception as error:
                self.notify(error_sentence(error), title="Model store", severity="error")
                return []
            # The best model per group and the tasks present take a noticeable time with
            # thousands of models: not on the event loop.
            facts = await asyncio.to_thread(listing_facts, entries)
        self.post_message(msg.ModelsListed(list(entries), facts))
        return [str(entry["name"]) for entry in entries]

    async def _list_and_load(self) -> None:
        """List, measure, then load every model with progress."""
        listed = await self._list_now()
        report = await self._report_now()
        # Entries the listing skipped as damaged or refused count as models not loaded.
        unlisted = [
            str(p.get("name"))
            for p in (report or {}).get("problems", [])
            if p.get("kind") in UNLOADABLE and str(p.get("name")) not in listed
        ]
        await self._load_all_now(known_failures=unlisted)

    async def _load_all_now(
        self, names: list[str] | None = None, known_failures: list[str] | None = None
    ) -> None:
        """Drive the service's load_all, posting progress; ``known_failures`` were skipped."""
        from tuidash.services.persistence import LoadProgress

        assert self.service is not None
        finished: msg.ModelsLoadFinished | None = None
        loaded = 0
        failed: set[str] = set()
        stopped: str | None = None
        posted = 0.0
        pending: msg.ModelLoadProgress | None = None
        try:
            async for event in self.service.load_all(names):
                if isinstance(event, LoadProgress):
                    loaded += bool(event.ok)
                    if not event.ok:
                        failed.add(event.name)
                    progress = msg.ModelLoadProgress(
                        event.done, event.total, event.name, event.ok, event.problem
                    )
                    # Every handled model costs the event loop (state, signals, every
                    # section's progress bar): a model loaded shows at most every
                    # PROGRESS_INTERVAL; a failure, a model that failed before and the
                    # last one always do.
                    now = time.monotonic()
                    if (
                        not event.ok
                        or event.name in self.state.store.load_failures
                        or event.done >= event.total
                        or now - posted >= PROGRESS_INTERVAL
                    ):
                        self.post_message(progress)
                        posted, pending = now, None
                    else:
                        pending = progress
                elif getattr(event, "budget_stopped", False):
                    stopped = event.message
        except Exception as error:
            stopped = error_sentence(error)
        if pending is not None:
            self.post_message(pending)
        # A problem entry counts once, whether the service tried it or the listing skipped it.
        failed.update(known_failures or [])
        finished = msg.ModelsLoadFinished(loaded, len(failed), stopped)
        self.post_message(finished)

    @work(exclusive=True, exit_on_error=False, group="store-watch", description="Watch store")
    async def watch_store(self) -> None:
        """Show entries another process adds, changes or removes."""
        service = self.service
        watch = getattr(service, "watch", None)
        if watch is None:
            return
        try:
            async for change in watch():
                self.post_message(
                    msg.StoreChanged(
                        list(getattr(change, "added", [])),
                        list(getattr(change, "changed", [])),
                        list(getattr(change, "removed", [])),
                    )
                )
        except Exception:
            return  # watching is a convenience; the list can still be reloaded by hand

    @work(exclusive=True, exit_on_error=False, group="details", description="Read predictions")
    async def with_details(self, metas: list[dict[str, Any]], then: Callable[[], None]) -> None:
        """Read the prediction samples (and search and cluster results) the fast listing left
        out of ``metas`` into them, then call ``then`` (which opens the screen)."""
        missing = [str(m["name"]) for m in metas if needs_details(m)]
        if missing and self.service is not None:
            try:
                details = await self.service.details(missing)
            except Exception as error:
                self.notify(error_sentence(error), title="Model store", severity="error")
                return
            for meta in metas:
                meta.update(details.get(str(meta.get("name")), {}))
        for meta in metas:
            if needs_details(meta):  # nothing to read them from: none are stored
                meta["predictions"] = {}
        then()

    @on(msg.ModelsListed)
    def _models_listed(self, message: msg.ModelsListed) -> None:
        self.state.store.use_listing(message.entries, message.facts)

    def _report_transfers(self, service: PersistenceService) -> None:
        """Post the progress of large uploads and downloads of a remote store (from the
        store's threads; at most one message per percent)."""
        backend = service.store.backend
        if not getattr(backend, "remote", False):
            return
        last: dict[str, int] = {}

        def progress(what: str, key: str, done: int, total: int) -> None:
            if total < LARGE_TRANSFER:
                return
            step = done * 100 // total
            if last.get(key) == step and done < total:
                return
            last[key] = step
            self.post_message(msg.StoreTransfer(what, key, done, total))

        backend.progress = progress  # type: ignore[attr-defined]

    @on(msg.StoreTransfer)
    def _transfer(self, message: msg.StoreTransfer) -> None:
        self.state.store.transfer.publish(message)

    @on(msg.ModelLoadProgress)
    def _load_progress(self, message: msg.ModelLoadProgress) -> None:
        self.state.store.loading(message)

    @on(msg.ModelsLoadFinished)
    def _load_finished(self, message: msg.ModelsLoadFinished) -> None:
        heap.settle()  # the models loaded live on: out of the collector's walk
        self.state.store.loading_finished(message)
        noun = "model" if message.loaded == 1 else "models"
        if message.loaded or message.failed or message.stopped:
            self.notify(f"{message.loaded} {noun} loaded")
        if message.failed:
            self.notify(
                f"{message.failed} could not be loaded — see Storage",
                severity="warning",
                timeout=8,
            )
        if message.stopped:
            self.notify(message.stopped, title="Loading stopped", severity="warning", timeout=10)
        self.refresh_storage()

    @work(exclusive=True, exit_on_error=False, group="list", description="List store")
    async def refresh_store(self) -> None:
        """List the store again from the JSON files."""
        if self.service is not None:
            await self._list_now()
            self.refresh_storage()

    @work(exclusive=True, exit_on_error=False, group="report", description="Storage report")
    async def refresh_storage(self) -> None:
        """Ask the service for the storage report."""
        await self._report_now()

    async def _report_now(self) -> dict[str, Any] | None:
        if self.service is None:
            return None
        try:
            async with heap.quiet():  # it looks at every file: many objects (see _list_now)
                report = dict(await self.service.storage_report())
        except Exception as error:
            self.notify(error_sentence(error), title="Storage", severity="error")
            return None
        self.post_message(msg.StorageReported(report))
        return report

    @on(msg.StorageReported)
    def _storage_reported(self, message: msg.StorageReported) -> None:
        self.state.store.use_report(message.report, self.state.settings.clock())

    @on(msg.StoreChanged)
    def _store_changed(self, message: msg.StoreChanged) -> None:
        for name in message.removed:
            self.state.store.load_failures.pop(name, None)
        self.refresh_store()

    @work(exclusive=False, exit_on_error=False, group="store", description="Store action")
    async def store_action(self, action: str, name: str | None = None, quiet: bool = False) -> None:
        """Run one store action (load, unload, delete, clear, clear_memory, remove, recheck)."""
        service = self.service
        if service is None:
            self.post_message(msg.StoreActionDone(action, False, "The store is not open.", name))
            return
        try:
            text = await self._run_store_action(service, action, name)
        except Exception as error:
            self.post_message(msg.StoreActionDone(action, False, error_sentence(error), name))
            return
        self.post_message(msg.StoreActionDone(action, True, text, name, quiet))

    async def _run_store_action(self, service: Any, action: str, name: str | None) -> str:
        failures = self.state.store.load_failures
        if action in ("load", "reload"):
            assert name is not None
            # A large model is many new objects: no collection (it holds the GIL) meanwhile.
            async with heap.quiet():
                await service.load(name, reload=action == "reload")
            failures.pop(name, None)
            return f"{name} loaded into memory."
        if action == "unload":
            assert name is not None
            result = service.unload(name)
            if hasattr(result, "__await__"):
                await result
            return f"{name} removed from memory (still on disk)."
        if action == "delete":
            assert name is not None
            await _ok_or_raise(await service.delete(name))
            failures.pop(name, None)
            return f"{name} deleted from disk."
        if action == "clear":
            count = len(self.state.store.entries)
            await _ok_or_raise(await service.clear_all())
            failures.clear()
            return f"Deleted {count} model{'s' if count != 1 else ''} from disk."
        if action == "clear_memory":
            names = list(getattr(service, "loaded", {}) or {})
            for loaded_name in names:
                result = service.unload(loaded_name)
                if hasattr(result, "__await__"):
                    await result
            return f"Cleared {len(names)} model{'s' if len(names) != 1 else ''} from memory."
        if action == "remove":
            assert name is not None
            remove = getattr(service, "remove_entry", None)
            if remove is None:
                raise RuntimeError("This store cannot remove problem entries yet.")
            await _ok_or_raise(await remove(name))
            failures.pop(name, None)
            return f"Removed the files of {name}."
        if action == "recheck":
            assert name is not None
            await service.load(name)
            failures.pop(name, None)
            return f"{name} is fine now and loaded."
        raise ValueError(f"Unknown store action {action!r}.")

    @on(msg.StoreActionDone)
    def _store_action_done(self, message: msg.StoreActionDone) -> None:
        if message.ok and message.action in ("load", "reload", "recheck"):
            heap.settle()  # the model loaded lives on: out of the collector's walk
        if not message.quiet or not message.ok:
            self.notify(message.message, severity="information" if message.ok else "error")
        self.state.store.action_finished(message)
        if message.action not in ("load", "reload", "unload", "clear_memory"):
            self.refresh_store()
        else:
            self.refresh_storage()

    @work(exclusive=False, exit_on_error=False, group="versions", description="List versions")
    async def list_versions(self, name: str) -> None:
        """List every version of ``name`` (JSON only) into the store state."""
        if self.service is None:
            return
        try:
            rows = await self.service.list_versions(name)
        except Exception as error:
            self.post_message(msg.VersionsListed(name, [], error_sentence(error)))
            return
        self.post_message(msg.VersionsListed(name, list(rows)))

    @on(msg.VersionsListed)
    def _versions_listed(self, message: msg.VersionsListed) -> None:
        self.state.store.use_versions(message.name, message.versions, message.problem)

    @work(exclusive=False, exit_on_error=False, group="store", description="Version action")
    async def version_action(self, action: str, name: str, *args: Any) -> None:
        """Change the versions of ``name`` (see ``Actions.version_action``)."""
        service = self.service
        if service is None:
            self.post_message(msg.StoreActionDone(action, False, "The store is not open.", name))
            return
        try:
            text = await _run_version_action(service, action, name, args)
        except Exception as error:
            self.post_message(msg.StoreActionDone(action, False, error_sentence(error), name))
            return
        self.post_message(msg.StoreActionDone(action, True, text, name))

    @work(exclusive=True, exit_on_error=False, group="settings", description="Save setting")
    async def set_autoload(self, on: bool) -> None:
        """Turn loading every model at start on or off; the store remembers it."""
        self.state.store.autoload = on
        state = "on" if on else "off"
        save_setting = getattr(self.service, "set_autoload", None)
        if save_setting is None:
            self.notify(f"Auto-load at start is {state} for this session.")
            return
        try:
            await asyncio.to_thread(save_setting, on)
        except Exception as error:
            self.notify(error_sentence(error), title="Auto-load setting", severity="error")
            return
        self.notify(f"Auto-load at start is {state} for this store.")

    def reload_all(self) -> None:
        """Load every listed model from disk again (progress as at start)."""
        self.state.store.load_failures.clear()
        self.reload_worker()

    @work(exclusive=True, exit_on_error=False, group="store-start", description="Reload all")
    async def reload_worker(self) -> None:
        """Reload every model from disk with progress."""
        if self.service is None:
            return
        for name in list(self.service.loaded):
            self.service.unload(name)
        await self._list_and_load()


async def _run_version_action(
    service: PersistenceService, action: str, name: str, args: tuple[Any, ...]
) -> str:
    """One version change through the service; its sentence."""
    if action == "alias":
        version, alias = args
        return await service.set_alias(name, alias, version)
    if action == "unalias":
        return await service.remove_alias(name, args[0])
    if action == "rollback":
        return await service.rollback(name, args[0])
    if action == "delete_version":
        return await service.delete(f"{name}@v{args[0]}")
    if action == "note":
        version, text = args
        return await service.set_note(f"{name}@v{version}", text)
    if action == "tags":
        version, tags = args
        return await service.set_tags(f"{name}@v{version}", tags)
    if action == "rename":
        return await service.rename(name, args[0])
    raise ValueError(f"Unknown version action {action!r}.")


def _open_service(store_dir: Path | str) -> tuple[PersistenceService, bool | None]:
    """Import and open the service and read its auto-load setting (in a thread: disk)."""
    from tuidash.services.persistence import PersistenceService

    service = PersistenceService(store_dir)
    return service, getattr(service, "autoload_setting", None)


def needs_details(meta: dict[str, Any]) -> bool:
    """Whether ``meta`` is a store listing row whose predictions were not read yet."""
    return "name" in meta and "predictions" in meta and meta["predictions"] is None


async def _ok_or_raise(result: Any) -> None:
    """Service calls return (ok, message) tuples or raise; turn a False into an error."""
    if isinstance(result, tuple) and len(result) == 2 and result[0] is False:
        raise RuntimeError(str(result[1]))
