"""Pilot tests share one process: what an app froze out of the cycle collector's walk
(``tuidash.ui.heap``) is given back after each test, so one test's dead app is collected."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def unfreeze_after_the_test() -> Iterator[None]:
    """``gc.unfreeze()`` once the test is over (an app is one per process outside tests)."""
    yield
    gc.unfreeze()
