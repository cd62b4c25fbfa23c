"""ServiceBase: what every part of ``PersistenceService`` stands on.

The blocking store and the two threads its calls run on (one for writes, listings and
polls, in order, so a poll never mistakes this service's own save for another process's;
one for unpickling), the models in memory (``loaded``), the listing, the store's
settings file and shutdown. ``ModelLoading`` (``loading``) and ``PersistenceService``
(``persistence``) build on this class.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, Self, TypeVar

from tuidash.core.errors import TuidashError
from tuidash.core.store import ModelPersistence
from tuidash.core.store.versions import model_name_at
from tuidash.services.changes import DEFAULT_POLL_INTERVAL, REMOTE_POLL_INTERVAL, MetadataWatch
from tuidash.services.memory import (
    DEFAULT_MEMORY_FRACTION,
    DEFAULT_SIZE_FACTOR,
    estimate_bytes,
    memory_budget,
)

SETTINGS_NAME = ".tuidash-settings.json"
"""The store's own settings file (the store lists, deletes and clears only model files)."""

P = ParamSpec("P")
T = TypeVar("T")


class ServiceError(TuidashError):
    """A problem the service itself found; ``.message`` is one sentence for a person."""


@dataclass(frozen=True, slots=True)
class StoreListing:
    """What the store holds, from its JSON files: good models and problem entries."""

    models: list[dict[str, Any]]
    problems: list[dict[str, Any]]


def log_failure(log: logging.Logger, what: str, error: BaseException) -> None:
    """One log record for a failed store call: a warning for a sentence meant for a person
    (name taken, damaged file, disk full), an error with the traceback for anything else."""
    if isinstance(error, TuidashError):
        log.warning("%s failed: %s", what, error.message)
    else:
        log.error("%s failed: %s", what, error, exc_info=error)


class ServiceBase:
    """The store, its threads, ``loaded``, the listing and the settings (see the module)."""

    def __init__(
        self,
        store_dir: str | os.PathLike[str] = "saved_models",
        *,
        memory_budget_bytes: int | None = None,
        memory_fraction: float = DEFAULT_MEMORY_FRACTION,
        size_factor: float = DEFAULT_SIZE_FACTOR,
        poll_interval: float | None = None,
        freeze_gc: bool = True,
        store: ModelPersistence | None = None,
    ) -> None:
        self.store: ModelPersistence = store if store is not None else ModelPersistence(store_dir)
        """The blocking store underneath; call it only from a thread."""
        if memory_budget_bytes is None:
            memory_budget_bytes = memory_budget(memory_fraction)
        self.memory_budget_bytes: int = max(0, int(memory_budget_bytes))
        """How much ``load_all`` may fill with models (estimated), in bytes."""
        self.size_factor = size_factor
        """Estimated bytes in memory per byte of pickle."""
        if poll_interval is None:
            remote = self.store.remote
            poll_interval = REMOTE_POLL_INTERVAL if remote else DEFAULT_POLL_INTERVAL
        self.poll_interval: float = poll_interval
        """Default seconds between looks at the store in ``watch()`` (2 s; 15 s for a store
        in object storage, where a look is a request)."""
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
        self._changes = MetadataWatch(self.store.backend, self._name_at)
        self._closed = False

    @property
    def base_dir(self) -> Path | str:
        """The store folder (absolute), or the URL of a remote store."""
        base = self.store.base_dir
        return base if isinstance(base, str) else Path(base)

    def _name_at(self, base: str) -> str | None:
        return model_name_at(self.store.backend, base)

    # -- settings ------------------------------------------------------------------------------

    @property
    def autoload_setting(self) -> bool | None:
        """Whether this store's models load at start, as last set; None if never set."""
        try:
            raw = self.store.backend.read(SETTINGS_NAME, 65536)
            value = json.loads(raw).get("autoload")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, bool) else None

    def set_autoload(self, on: bool) -> None:
        """Remember for this store whether its models load at start (a tiny atomic write)."""
        backend = self.store.backend
        try:
            current = {}
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(backend.read(SETTINGS_NAME, 65536))
                current = loaded if isinstance(loaded, dict) else {}
            current["autoload"] = bool(on)
            # A temp file and a rename on disk, one PUT in object storage: never torn.
            backend.write_atomic(SETTINGS_NAME, json.dumps(current).encode("utf-8"))
        except OSError as exc:
            raise ServiceError(
                f"Could not save the auto-load setting in {self.base_dir}: {exc.strerror or exc}."
            ) from None

    # -- running blocking work -----------------------------------------------------------------

    async def _run(
        self,
        executor: ThreadPoolExecutor,
        func: Callable[P, T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        if self._closed:
            raise ServiceError("The model store service was closed; restart tuidash.")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, functools.partial(func, *args, **kwargs))

    async def _write(
        self,
        touched: Sequence[str] | None,
        func: Callable[P, T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run a store write on the store thread, after the writes before it; then move the
        change baseline past it (past the files of the ``touched`` names, or of everything
        with None), whether it succeeded or not."""
        async with self._write_lock:
            return await self._run(
                self._io, self._own_write, touched, functools.partial(func, *args, **kwargs)
            )

    def _own_write(self, touched: Sequence[str] | None, call: Callable[[], T]) -> T:
        try:
            return call()
        finally:
            if touched is None:
                self._changes.refresh()
            for name in touched or ():
                self._changes.refresh(name)

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
        snapshot = self._changes.scan()
        if with_problems:  # one pass gives both (a storage report would add a second)
            models, problems = self.store._survey(predictions=predictions)
        else:
            models, problems = self.store.list_models(predictions=predictions), []
        self._changes.listed(snapshot, [entry["name"] for entry in models])
        for entry in models:
            self._estimates[entry["name"]] = estimate_bytes(entry, self.size_factor)
        return StoreListing(models, problems)

    async def storage_report(self) -> dict[str, Any]:
        """The store's storage info: folder, counts, sizes, free space and problem entries."""
        return await self._run(self._io, self.store.storage_report)

    def _forget(self, name: str) -> bool:
        """Drop ``name`` from ``loaded``; a plain name takes its ``NAME@...`` entries along
        (an alias may point elsewhere now); ``NAME@vN`` alone never changes."""
        if "@" not in name:
            for ref in [key for key in self.loaded if key.startswith(f"{name}@")]:
                self.loaded.pop(ref, None)
        return self.loaded.pop(name, None) is not None

    # -- shutdown ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the service's threads (queued work is dropped; running work finishes)."""
        self._closed = True
        self._io.shutdown(wait=False, cancel_futures=True)
        self._loader.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
