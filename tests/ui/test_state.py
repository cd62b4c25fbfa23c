"""The sections get their state and actions in their constructors and follow its signals.

Issue 11: the app told its sections about events by calling methods found by name, and the
screens read and set the app's attributes. Now a section screen works in any app that hands
it the state objects and an ``Actions`` object, and one table lists the sections.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import Static, TabbedContent

from tuidash.core.data import data_problems, profile_columns, sample_dataset
from tuidash.ui.app import TuidashApp
from tuidash.ui.commands import SectionCommands
from tuidash.ui.factory import make_app
from tuidash.ui.screens.train import TrainScreen
from tuidash.ui.sections import SECTIONS
from tuidash.ui.state import AppState, Settings, TrainJob

GUARD_STEPS = 2400
"""Pauses of 50 ms before giving up (a hang guard, not a time limit)."""


async def until(pilot: Pilot[Any], condition: Callable[[], Any]) -> None:
    for _ in range(GUARD_STEPS):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never held")


class RecordedActions:
    """An ``Actions`` that records what the screen asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        def record(*args: Any, **_kwargs: Any) -> None:
            self.calls.append((name, args))

        return record


class TrainHost(App[None]):
    """A bare app (not TuidashApp) that shows the Train section on its own state."""

    def __init__(self, store: Path) -> None:
        super().__init__()
        self.state = AppState(self, Settings(store_dir=store, cwd=store, cursor_blink=False))
        self.actions = RecordedActions()

    def on_mount(self) -> None:
        self.push_screen(TrainScreen(self.state, self.actions))


async def test_the_train_section_runs_on_state_and_actions_it_is_given(store_dir: Path) -> None:
    host = TrainHost(store_dir)
    async with host.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(host.screen, TrainScreen))
        line = host.screen.query_one("#train-data", Static)
        await until(pilot, lambda: "No data loaded" in str(line.render()))
        loaded = sample_dataset()
        profile = profile_columns(loaded.frame)
        host.state.data.use(loaded, profile, data_problems(loaded.frame, profile=profile))
        await until(pilot, lambda: "predict 'target'" in str(line.render()))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: host.actions.calls)
        name, (jobs, config) = host.actions.calls[0]
        assert name == "start_training"
        assert [job.kind_id for job in jobs] == ["random_forest"]
        assert isinstance(jobs[0], TrainJob) and jobs[0].name == "Random Forest"
        assert config["target"] == "target" and config["features"] == host.state.data.features


async def test_a_state_change_reaches_every_section_that_shows_it(store_dir: Path) -> None:
    app = make_app(None, store_dir, autoload=False, start_section="train")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, TrainScreen))
        await pilot.press("d")
        await until(pilot, lambda: app.current_mode == "data")
        await pilot.press("f2")
        await until(pilot, lambda: app.state.data.data is not None)
        app.state.data.choose_target("bmi")
        await pilot.pause()
        train = app.get_screen_stack("train")[0]
        line = str(train.query_one("#train-data", Static).render())
        assert "predict 'bmi'" in line
        tabs = app.screen.query_one("#data-tabs", TabbedContent)
        assert str(tabs.get_tab("tab-problems").label).startswith("Problems (")


async def test_one_table_makes_the_modes_the_section_keys_and_the_palette(
    store_dir: Path,
) -> None:
    app: TuidashApp = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.state.store.report is not None)
        commands = list(SectionCommands(app.screen).commands())
        names = [name for name, _help, _run in commands]
        repeated = {f"(key {s.key} in {t.label})" for s in SECTIONS for t in SECTIONS}
        assert not [h for _name, h, _run in commands if any(h.endswith(r) for r in repeated)]
        for section in SECTIONS:
            assert section.label in names
            screen = app.SECTION_SCREENS[section.mode]
            keys = {b.key for b in screen.BINDINGS if isinstance(b, Binding)}
            assert {s.key for s in SECTIONS} <= keys
            await app.run_action(section.binding().action)
            await until(pilot, lambda screen=screen: isinstance(app.screen, screen))
            await until(pilot, lambda: app.screen.query("Footer"))
            # The section keys are offered once, not again inside every section.
            assert names.count(section.label) == 1


async def test_a_section_that_fails_to_show_a_change_stops_the_app_loudly(
    store_dir: Path,
) -> None:
    host = TrainHost(store_dir)
    with pytest.raises(ZeroDivisionError):
        async with host.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: isinstance(host.screen, TrainScreen))
            screen = host.screen
            assert isinstance(screen, TrainScreen)
            screen.follow(host.state.training.finished, lambda _cancelled: 1 / 0)
            host.state.training.finished.publish(False)
            await pilot.pause()
