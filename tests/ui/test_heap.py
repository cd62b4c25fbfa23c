"""The app keeps the cycle collector from stalling the screen (issue 13) without turning it
off for good: a block of work that builds many objects runs without collections, and the
collector is back on (as it was) when the last such block ends."""

from __future__ import annotations

import asyncio
import gc

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
