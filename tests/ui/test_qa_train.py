"""QA of the Train section: a space that arrives with an arrow toggles the kind it was
pressed on, a refused name or a read-only store leaves a truthful status line, and the
dialogs' error sentences are shown whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pilot_helpers import wait_for
from textual import events
from textual.pilot import Pilot
from textual.widgets import SelectionList

from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app


def burst(app: TuidashApp, keys: list[str]) -> None:
    """Send keys as a terminal delivers them over SSH: all queued before any is handled."""
    for key in keys:
        app.post_message(events.Key(key, " " if key == "space" else None))


async def open_train(pilot: Pilot[Any], app: TuidashApp) -> None:
    """The Train section, shown."""
    await pilot.press("t")
    await wait_for(pilot, lambda: app.current_mode == "train", "the Train section")
    await pilot.pause()


async def test_a_space_sent_with_an_arrow_toggles_the_kind_it_was_pressed_on(
    store_dir: Path,
) -> None:
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_train(pilot, app)
        kinds = app.screen.query_one("#kinds", SelectionList)
        kinds.focus()
        values = [kinds.get_option_at_index(i).value for i in range(kinds.option_count)]
        start = 3
        kinds.highlighted = start
        before = set(kinds.selected)
        await pilot.pause()
        burst(app, ["space", "up"])
        await wait_for(pilot, lambda: kinds.highlighted == start - 1, "the arrow handled")
        await pilot.pause()
        assert set(kinds.selected) ^ before == {values[start]}
        burst(app, ["space", "down"])
        await wait_for(pilot, lambda: kinds.highlighted == start, "the arrow handled")
        await pilot.pause()
        assert set(kinds.selected) ^ before == {values[start], values[start - 1]}
        # A space, an arrow, a space: both kinds toggle (before, they cancelled out).
        burst(app, ["space", "down", "space"])
        await wait_for(pilot, lambda: kinds.highlighted == start + 1, "the arrow handled")
        await pilot.pause()
        assert set(kinds.selected) ^ before == {values[start - 1], values[start + 1]}
