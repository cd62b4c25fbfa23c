"""ModelLoading: models loaded into memory, one on demand or all with progress events.

``load_all`` yields one ``LoadProgress`` per model, in order, then one ``LoadFinished``.
It stops before the model whose estimate (pickle bytes x ``size_factor``) would pass
``memory_budget_bytes``; the rest stay listed and ``load(name)`` still loads them (past
the budget, since a person asked for them). Cancelling the consumer stops loading: no
further model is unpickled, and the store's generator is closed right after the model
in flight (whose result is dropped).

Event-loop stalls: ``load_all`` calls ``gc.freeze()`` before and after loading
(``freeze_gc=True``), because full garbage collections, not unpickling, were what stalled
the loop (60-120 ms with sklearn, pandas and textual imported); see ``_settle_gc``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tuidash.core.store import LoadEvent
from tuidash.core.text import size_text
from tuidash.services.base import ServiceBase, log_failure
from tuidash.services.memory import estimate_bytes

_log = logging.getLogger(__name__)


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


def _next_or_done(iterator: Iterator[LoadEvent]) -> LoadEvent | None:
    # StopIteration cannot cross a Future, so the end is None (never an event).
    return next(iterator, None)


def _unexpected(name: str, exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"Model '{name}' could not be loaded: {text[:160]}."


def _close_quietly(generator: Generator[LoadEvent, None, None]) -> None:
    with contextlib.suppress(Exception):
        generator.close()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class ModelLoading(ServiceBase):
    """Loading models into ``loaded`` within a memory budget (see the module)."""

    @property
    def memory_in_use(self) -> int:
        """Estimated bytes held by the models in ``loaded``."""
        return sum(self._estimates.get(name, 0) for name in self.loaded)

    async def load(self, name: str, *, reload: bool = False) -> dict[str, Any]:
        """The loaded model ``name`` (from memory, else from disk); raises with a message."""
        if not reload and name in self.loaded:
            return self.loaded[name]
        started = time.perf_counter()
        try:
            result = await self._run(self._loader, self.store.open_model, name)
        except Exception as error:
            log_failure(_log, f"loading model {name!r} from {self.base_dir}", error)
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

    def _estimate_from_result(self, result: Mapping[str, Any]) -> int:
        meta = result.get("metadata") or {}
        model_file = meta.get("model_file") if isinstance(meta, Mapping) else None
        size = model_file.get("bytes") if isinstance(model_file, Mapping) else None
        return estimate_bytes({"pkl_bytes": size}, self.size_factor) if size else 0

    def unload(self, name: str) -> bool:
        """Free a loaded model; False when it was not loaded."""
        return self._forget(name)

    async def load_all(
        self, names: Sequence[str] | None = None
    ) -> AsyncGenerator[LoadUpdate, None]:
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

    async def _load_all(self, names: Sequence[str] | None) -> AsyncGenerator[LoadUpdate, None]:
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
                    if event is None:  # the generator is finished
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
                f"({size_text(self.memory_budget_bytes)}; it needs about "
                f"{size_text(need)}, {size_text(left)} left): "
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
