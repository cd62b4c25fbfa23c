"""SVG snapshots of the Predict screen at 80x24 and 120x40, with nothing in them that varies.

Fixed: the training data and the linear model trained on it, the new files, the theme;
off: animations, cursor blink, absolute paths (only file names are shown). Update after a
deliberate change with ``pytest tests/snapshots/test_snap_predict.py --snapshot-update``
and look at every changed picture before committing it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from tuidash.ui.screens.predict import PredictScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
"""The smallest supported terminal and a roomy one."""

MODELS = ["Houses"]
GUARD_STEPS = 2000
"""Pauses of 20 ms before giving up on a condition (a hang guard, not a time limit)."""


def houses(rows: int) -> pd.DataFrame:
    """Fixed rows: two numbers, one category and a price with a little fixed noise."""
    frame = pd.DataFrame(
        {
            "rooms": [1 + i % 5 for i in range(rows)],
            "area": [30.0 + 7.5 * i for i in range(rows)],
            "city": [("Lyon", "Oslo", "Rome")[i % 3] for i in range(rows)],
        }
    )
    noise = [((i * 37) % 11 - 5) * 0.7 for i in range(rows)]
    city = frame["city"].map({"Lyon": 5.0, "Oslo": 9.0, "Rome": 1.0})
    frame["price"] = frame["rooms"] * 10 + frame["area"] * 2 + city + noise
    return frame


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one linear model trained on 40 fixed rows (read only by the tests)."""
    from tuidash.core.store import ModelPersistence
    from tuidash.core.training import TrainConfig, train_model

    folder = tmp_path_factory.mktemp("snap_predict") / "saved_models"
    trained = train_model(houses(40), "linear_regression", {}, TrainConfig(target="price"))
    ok, message = ModelPersistence(folder).save_model(MODELS[0], trained.to_model_data())
    assert ok, message
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The folder the file browser shows: a good file, one missing a column, a sub-folder."""
    folder = tmp_path / "project"
    folder.mkdir()
    new = houses(130).drop(columns=["price"])
    new["area"] = new["area"] + 3.25
    new.to_csv(folder / "new_houses.csv", index=False)
    new.drop(columns=["area"]).to_csv(folder / "no_area.csv", index=False)
    (folder / "runs").mkdir()
    return folder


class Host(App[None]):
    """A bare app that pushes the Predict screen, as the Models section will."""

    TITLE = "tuidash"

    def __init__(self, screen: PredictScreen) -> None:
        super().__init__()
        self.pushed = screen
        self.theme = "textual-dark"
        self.animation_level = "none"

    def on_mount(self) -> None:
        """Show the screen under test."""
        self.push_screen(self.pushed)


def host(store: Path, project: Path) -> Host:
    """The screen as the app opens it from the Models section, paths hidden."""
    screen = PredictScreen(store, MODELS, MODELS[0], project, show_paths=False, cursor_blink=False)
    return Host(screen)


async def until(pilot: Pilot[Any], condition: Callable[[], Any]) -> None:
    """Let the app run until ``condition()`` holds."""
    for _ in range(GUARD_STEPS):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition never held")


async def settle(pilot: Pilot[Any]) -> None:
    """Drop toasts so the picture shows the screen itself."""
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


async def predict_on(pilot: Pilot[Any], name: str) -> None:
    """Type a file name into the path box and press Enter; wait for the answer."""
    screen = pilot.app.screen
    assert isinstance(screen, PredictScreen)
    box = screen.query_one("#predict-path", Input)
    box.value = ""
    box.focus()
    await pilot.press(*name, "enter")
    await until(pilot, lambda: not screen.running)


def exported(screen: PredictScreen, name: str) -> bool:
    """Whether the last export wrote a file called ``name``."""
    return screen.last_export is not None and screen.last_export.name == name


Before = Callable[[Pilot[Any]], Awaitable[None]]


def steps(*files: str, export: int = 0) -> Before:
    """A run_before that predicts on each file in turn, then exports ``export`` times."""

    async def run_before(pilot: Pilot[Any]) -> None:
        screen = pilot.app.screen
        assert isinstance(screen, PredictScreen)
        tree = screen.query_one("#predict-browser")
        await until(pilot, lambda: len(tree.root.children) == 3)  # type: ignore[attr-defined]
        for name in files:
            await predict_on(pilot, name)
        for number in range(1, export + 1):
            name = "predictions-Houses.csv" if number == 1 else f"predictions-Houses_{number}.csv"
            await pilot.press("f6")
            await until(pilot, partial(exported, screen, name))
        await settle(pilot)

    return run_before


class TestPredictScreen:
    """Choosing, predicting, a schema problem and an export."""

    @pytest.mark.parametrize("size", SIZES)
    def test_choose_a_file(
        self, snap_compare: Any, store: Path, project: Path, size: tuple[int, int]
    ) -> None:
        assert snap_compare(host(store, project), terminal_size=size, run_before=steps())

    @pytest.mark.parametrize("size", SIZES)
    def test_predictions(
        self, snap_compare: Any, store: Path, project: Path, size: tuple[int, int]
    ) -> None:
        before = steps("new_houses.csv")
        assert snap_compare(host(store, project), terminal_size=size, run_before=before)

    @pytest.mark.parametrize("size", SIZES)
    def test_missing_column_keeps_the_result(
        self, snap_compare: Any, store: Path, project: Path, size: tuple[int, int]
    ) -> None:
        before = steps("new_houses.csv", "no_area.csv")
        assert snap_compare(host(store, project), terminal_size=size, run_before=before)

    def test_second_export(self, snap_compare: Any, store: Path, project: Path) -> None:
        before = steps("new_houses.csv", export=2)
        assert snap_compare(host(store, project), terminal_size=(80, 24), run_before=before)
