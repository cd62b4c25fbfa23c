"""The app keeps the cycle collector from stalling the screen (issue 13) without turning it
off for good: a block of work that builds many objects runs without collections, and the
collector is back on (as it was) when the last such block ends."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from tuidash.ui import heap


async def test_quiet_blocks_pause_the_collector_and_always_give_it_back() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def listing() -> None:
        async with heap.quiet():
            first_in.set()
            await release.wait()

    task = asyncio.create_task(listing())
    await first_in.wait()
    assert not gc.isenabled()
    async with heap.quiet():  # a second block at the same time
        built = [[i] for i in range(1000)]
        assert not gc.isenabled()
    assert not gc.isenabled()  # the first block still runs
    release.set()
    await task
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(built)  # what they built is frozen

    try:
        async with heap.quiet():
            raise ValueError("a listing failed")
    except ValueError:
        pass
    assert gc.isenabled()  # a failure gives it back too


async def test_a_collector_turned_off_elsewhere_stays_off() -> None:
    gc.disable()
    try:
        async with heap.quiet():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_settling_inside_a_quiet_block_waits_for_its_end() -> None:
    frozen = gc.get_freeze_count()
    async with heap.quiet():
        built = [[i] for i in range(1000)]
        heap.settle()  # a model loaded while a listing runs: no collection of it all now
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() >= frozen + len(built)


class _Cycle:
    """An object in a reference cycle (only the cycle collector can free it)."""

    def __init__(self) -> None:
        self.me = self


async def test_tidy_frees_cycles_that_died_after_they_were_frozen() -> None:
    import weakref

    cycle = _Cycle()
    alive = weakref.ref(cycle)
    heap.settle()  # frozen while alive, as a training's objects are
    del cycle
    gc.collect()
    assert alive() is not None  # frozen: a collection does not reach it
    assert heap.tidy()
    assert alive() is None
    async with heap.quiet():
        assert not heap.tidy()  # never while a listing builds its objects


async def test_the_app_tidies_only_when_nobody_touched_it_and_nothing_runs(
    tmp_path: Path,
) -> None:
    from pilot_helpers import wait_for

    from tuidash.ui import app as app_module
    from tuidash.ui.factory import make_app

    app = make_app(None, tmp_path / "store", autoload=False)
    async with app.run_test() as pilot:
        await pilot.press("m")
        assert not app.tidy_heap()  # a key was just pressed
        app.last_input -= app_module.IDLE_BEFORE_TIDY + 1
        app.state.training.running = True
        assert not app.tidy_heap()  # a training runs
        app.state.training.running = False
        await wait_for(pilot, lambda: app.state.store.load_state is None, "the listing done")
        assert app.tidy_heap()
        await pilot.press("d")
        assert not app.tidy_heap()
