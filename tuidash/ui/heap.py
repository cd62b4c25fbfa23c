"""Keeping Python's cycle collector from stalling the event loop.

A full collection walks every tracked object with the GIL held, from whichever thread's
allocation triggers it: with textual, pandas and scikit-learn imported, a data set, a
trained forest and a listing of thousands of models, that took 100-280 ms here, and the
screen froze for as long (benchmarks/bench_floor.py, the stall rows). So the app takes
what is alive at its calm moments out of the collector's walk (``gc.freeze``): after a
listing, a data set read, a training, a model loaded. Frozen objects are still freed by
reference counting when nothing uses them (an unloaded model, an old listing); reference
cycles that were alive when frozen and die later are freed by ``tidy()``, which the app
runs when nobody has touched it for a while and nothing is running.

``quiet()`` goes further for work that builds a great many objects at once (listing
thousands of models): no collection at all while it runs, then everything is frozen.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

_quiet = 0
"""How many ``quiet()`` blocks are running (the collector is off while any is)."""
_was_enabled = True
"""Whether the collector was on when the first running ``quiet()`` block began."""


def settle(collect: bool = True) -> None:
    """Take what is alive now out of full collections (young garbage is collected first,
    unless ``collect`` is False: after ``quiet()`` the young objects are too many).

    Nothing happens while a ``quiet()`` block runs: its end freezes what is alive then.
    """
    if _quiet:
        return
    if collect:
        gc.collect(1)
    gc.freeze()


def tidy() -> bool:
    """Free the frozen objects that have died in reference cycles: one full collection (it
    can take a few hundred milliseconds, so the app calls it only while it is idle), then
    freeze what is alive again. False when a ``quiet()`` block runs (nothing done)."""
    if _quiet or not gc.isenabled():
        return False
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return True


@asynccontextmanager
async def quiet() -> AsyncIterator[None]:
    """No cycle collection while the block runs (it may await other work); what it built
    is frozen at its end (``settle``)."""
    global _quiet, _was_enabled
    if _quiet == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _quiet += 1
    try:
        yield
    finally:
        _quiet -= 1
        if _quiet == 0:
            gc.freeze()
            if _was_enabled:
                gc.enable()
