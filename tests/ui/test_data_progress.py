"""Pilot tests of reading a large file: progress messages, the bar, and a UI that stays usable."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pilot_helpers import GUARD_SECONDS, wait_for
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, ProgressBar, Static, TabbedContent

from tuidash.core import data as core_data
from tuidash.ui import messages as msg
from tuidash.ui.factory import make_app
from tuidash.ui.screens.data import PROGRESS_INTERVAL


def of_type(messages: list[Message], kind: type[Message]) -> list[Any]:
    """The captured messages of one type."""
    return [m for m in messages if isinstance(m, kind)]


def big_csv(path: Path, rows: int = 120_000) -> Path:
    """A CSV of a few MB: numbers, a text column and a target."""
    lines = ["id,x,kind,y"]
    lines += [
        f"{i},{(i * 7919) % 1000 / 7:.6f},{'abcd'[i % 4]},{i % 13 - 6.5}" for i in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def open_path(pilot: Pilot[Any], path: Path) -> None:
    """Data section, type the path, Enter."""
    await pilot.press("d")
    await wait_for(pilot, lambda: pilot.app.screen.id != "_default", "the Data section")
    box = pilot.app.screen.query_one("#path", Input)
    box.value = str(path)
    box.focus()
    await pilot.press("enter")


async def test_reading_a_large_csv_posts_progress_up_to_its_size(
    store_dir: Path, tmp_path: Path
) -> None:
    path = big_csv(tmp_path / "big.csv")
    size = path.stat().st_size
    assert size > 2_000_000
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await open_path(pilot, path)
        await wait_for(pilot, lambda: of_type(messages, msg.DataLoaded), "the file loaded")
        await pilot.pause()
        reports = of_type(messages, msg.DataReadProgress)
        assert reports, "no progress was posted"
        assert {(r.name, r.total) for r in reports} == {("big.csv", size)}
        done = [r.done for r in reports]
        assert done == sorted(done) and done[-1] == size
        assert len(app.state.data.data.frame) == 120_000
        # Loaded: the bar is gone and the status says what was read.
        assert not app.screen.query_one("#data-loading", ProgressBar).display
        assert "120,000 rows" in str(app.screen.query_one("#data-status", Static).render())


async def test_the_bar_shows_megabytes_and_the_ui_stays_usable_while_reading(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow read (held half-way by the test) shows its progress; the tabs still switch."""
    real_read = core_data.read_table
    halfway = threading.Event()
    release = threading.Event()
    mib = 1024 * 1024

    def held_read(path: Any, **options: Any) -> core_data.LoadedData:
        progress = options["progress"]
        progress(0, 80 * mib)
        halfway.set()
        # Like a slow disk: the read stays near 12 MB and keeps reporting it.
        deadline = time.monotonic() + GUARD_SECONDS
        while not release.wait(0.05) and time.monotonic() < deadline:
            progress(12 * mib, 80 * mib)
        progress(80 * mib, 80 * mib)
        return real_read(path)

    monkeypatch.setattr(core_data, "read_table", held_read)
    path = big_csv(tmp_path / "slow.csv", rows=100)
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        try:
            await open_path(pilot, path)
            await wait_for(pilot, halfway.is_set, "the read half-way")
            await wait_for(
                pilot,
                lambda: any(r.done == 12 * mib for r in of_type(messages, msg.DataReadProgress)),
                "the half-way report",
            )
            await pilot.pause()
            status = str(app.screen.query_one("#data-status", Static).render())
            assert "Reading slow.csv 12/80 MB" in status
            bar = app.screen.query_one("#data-loading", ProgressBar)
            assert bar.display and bar.total == 80 * mib and bar.progress == 12 * mib
            # The event loop is free while the thread reads: the tabs respond.
            tabs = app.screen.query_one("#data-tabs", TabbedContent)
            app.set_focus(None)  # else focus left in the path box pulls its tab back
            tabs.active = "tab-columns"
            await pilot.pause()
            assert tabs.active == "tab-columns"
        finally:
            release.set()
        await wait_for(pilot, lambda: of_type(messages, msg.DataLoaded), "the file loaded")
        await pilot.pause()
        assert not app.screen.query_one("#data-loading", ProgressBar).display
        assert of_type(messages, msg.DataReadProgress)[-1].done == 80 * mib


async def test_progress_messages_are_throttled(
    store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The core may report thousands of times; the screen gets a few messages a second."""
    real_read = core_data.read_table
    elapsed: list[float] = []

    def chatty_read(path: Any, **options: Any) -> core_data.LoadedData:
        progress = options["progress"]
        started = time.monotonic()
        for done in range(0, 5001):
            progress(done, 5000)
        elapsed.append(time.monotonic() - started)
        return real_read(path)

    monkeypatch.setattr(core_data, "read_table", chatty_read)
    path = big_csv(tmp_path / "chatty.csv", rows=100)
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await open_path(pilot, path)
        await wait_for(pilot, lambda: of_type(messages, msg.DataLoaded), "the file loaded")
        reports = of_type(messages, msg.DataReadProgress)
        # First and last always, plus at most one per interval in between.
        assert len(reports) <= 2 + elapsed[0] / PROGRESS_INTERVAL + 1
        assert reports[-1].done == 5000  # pending older reports may be replaced by newer


async def test_a_file_named_on_the_command_line_is_read_with_progress(
    store_dir: Path, tmp_path: Path
) -> None:
    path = big_csv(tmp_path / "start.csv")
    messages: list[Message] = []
    app = make_app(path, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: of_type(messages, msg.DataLoaded), "the file loaded")
        await pilot.pause()
        assert app.current_mode == "data"
        reports = of_type(messages, msg.DataReadProgress)
        assert reports and reports[-1].done == reports[-1].total == path.stat().st_size
        assert app.state.data.data is not None and app.state.data.data.source == str(
            path.absolute()
        )
        assert len(app.state.data.data.frame) == 120_000


async def test_a_bad_file_named_on_the_command_line_shows_the_sentence(
    store_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    messages: list[Message] = []
    app = make_app(path, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: of_type(messages, msg.DataLoadFailed), "the failure")
        await pilot.pause()
        assert app.state.data.data is None
        status = str(app.screen.query_one("#data-status", Static).render())
        assert "empty" in status
