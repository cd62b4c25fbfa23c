"""What the Pilot tests share: waiting for the app, finding a shown section."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

GUARD_SECONDS = 120.0
"""Only a guard against a hang: the conditions normally hold in a second or two."""


def section_shown(app: App[Any], mode: str) -> Screen[Any] | None:
    """The screen of a section once it is shown (mounted), else None."""
    try:
        stack = app.get_screen_stack(mode)
    except KeyError:  # the mode has not been opened yet
        return None
    return stack[0] if stack and stack[0].is_mounted else None


async def wait_for(
    pilot: Pilot[Any], condition: Callable[[], Any], what: str, guard: float = GUARD_SECONDS
) -> None:
    """Let the app run until ``condition()`` holds (``guard`` seconds at most)."""
    waited = 0.0
    while not condition():
        await pilot.pause(0.05)
        waited += 0.05
        if waited > guard:
            raise AssertionError(f"the app never got to: {what}")
