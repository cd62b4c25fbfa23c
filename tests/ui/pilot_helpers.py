"""What the Pilot tests share: waiting for the app, finding a shown section, a bare app that
shows one dialog with the dashboard's CSS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

import tuidash.ui


class DialogHost(App[None]):
    """A bare app with the dashboard's CSS that shows one dialog."""

    CSS_PATH = str(Path(tuidash.ui.__file__).parent / "app.tcss")

    def __init__(self, modal: Any) -> None:
        super().__init__()
        self.modal = modal

    def on_mount(self) -> None:
        self.push_screen(self.modal)


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
