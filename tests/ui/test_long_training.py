"""Pilot tests of long trainings: time on the progress line, Esc while a fit cannot stop,
and one summary notification per batch.

The slow model here is a stand-in for ``train_model`` that blocks on an event the test
holds, so cancel is tested without waiting for anything to take long. A stand-in can only
replace code in this process: these tests train in the app's own process (``jobs=False``;
tests/ui/test_jobs.py covers the dashboard's trainings as jobs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pilot_helpers import wait_for as wait_up_to
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Button, Input, SelectionList, Static

from tuidash.ui import messages as msg
from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app
from tuidash.ui.modals.confirm import ConfirmModal

GUARD_SECONDS = 60.0
"""Only a guard against a hang: the conditions below normally hold within a second."""


async def wait_for(pilot: Pilot[Any], condition: Callable[[], Any], what: str) -> None:
    """Let the app run until ``condition()`` holds (this file's shorter guard)."""
    await wait_up_to(pilot, condition, what, GUARD_SECONDS)


def of_type(messages: list[Message], kind: type[Message]) -> list[Any]:
    return [m for m in messages if isinstance(m, kind)]


def notes(app: TuidashApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def record_notifications(app: TuidashApp) -> list[str]:
    """Every notification text the app shows from now on (even after it timed out)."""
    shown: list[str] = []
    notify = app.notify

    def recording(message: str, *args: Any, **kwargs: Any) -> None:
        shown.append(str(message))
        notify(message, *args, **kwargs)

    app.notify = recording  # type: ignore[method-assign]
    return shown


def line(app: TuidashApp) -> str:
    return str(app.screen.query_one("#train-message", Static).render())


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


async def open_train_with_sample(pilot: Pilot[Any], messages: list[Message]) -> None:
    await pilot.press("d")
    await wait_for(pilot, lambda: pilot.app.screen.id != "_default", "the Data section")
    await pilot.press("f2")
    await wait_for(pilot, lambda: of_type(messages, msg.DataLoaded), "the sample loaded")
    await pilot.press("t")
    await wait_for(pilot, lambda: pilot.app.current_mode == "train", "the Train section")
    await pilot.pause()


@pytest.fixture
def ready_model() -> Any:
    """A real trained model for the stand-in to return once it is let go."""
    from tuidash.core.data import sample_dataset
    from tuidash.core.training import TrainConfig, train_model

    return train_model(sample_dataset(), "ridge", None, TrainConfig("target"))


async def test_esc_frees_the_ui_while_a_fit_cannot_stop_and_its_result_is_dropped(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, ready_model: Any
) -> None:
    from tuidash.core import training

    clock = FakeClock()
    minute_later = threading.Event()
    release = threading.Event()

    def slow_fit(data: Any, kind_id: str, params: Any, config: Any, **kwargs: Any) -> Any:
        progress = kwargs["progress"]
        progress(0.05, "Fitted 0 of 100 trees")
        minute_later.wait()
        progress(0.15, "Fitted 10 of 100 trees")  # ten trees a minute
        release.wait()  # one tree that takes as long as the test says; no cancel check
        return ready_model

    monkeypatch.setattr(training, "train_model", slow_fit)
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False, jobs=False)
    app.monotonic = clock
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        # The blocked fit is let go however the test ends, so the app can close.
        try:
            await open_train_with_sample(pilot, messages)
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: "Fitted 0 of" in line(app), "the start of the fit")
            assert line(app) == "Random Forest: Fitted 0 of 100 trees — 0:00 elapsed"
            clock.now += 60
            minute_later.set()
            await wait_for(pilot, lambda: "Fitted 10 of" in line(app), "the first trees")
            assert line(app) == (
                "Random Forest: Fitted 10 of 100 trees — 1:00 elapsed, about 8 min left"
            )

            await pilot.press("escape")
            # Esc asks first (a stray key over SSH must not end a long run).
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
            assert app.state.training.running
            await pilot.press("escape")  # "no": it trains on
            await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmModal), "no question")
            assert app.state.training.running
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
            await pilot.click("#confirm")
            # The fit is still blocked, yet the batch is over and the form is free.
            await wait_for(pilot, lambda: not app.state.training.running, "the end of the batch")
            await pilot.pause()
            assert not release.is_set()
            assert line(app) == "Training cancelled."
            assert app.screen.query_one("#train", Button).disabled is False
            assert app.screen.query_one("#cancel", Button).disabled is True
            assert "Training cancelled; nothing was saved." in notes(app)

            release.set()  # the tree is done: what the worker reports now is stale
            await wait_for(
                pilot, lambda: of_type(messages, msg.TrainingBatchDone), "the worker's end"
            )
            await pilot.pause(0.2)
            assert not app.state.training.unsaved and not app.state.training.last
            assert not of_type(messages, msg.ModelSaved)
            assert notes(app).count("Training cancelled; nothing was saved.") == 1
            assert not list((store_dir / "metadata").glob("*.json"))
        finally:
            minute_later.set()
            release.set()


async def test_a_new_training_right_after_esc_is_not_mixed_with_the_old_one(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, ready_model: Any
) -> None:
    from tuidash.core import training

    real_train = training.train_model
    release = threading.Event()
    calls: list[str] = []

    def first_blocks(data: Any, kind_id: str, params: Any, config: Any, **kwargs: Any) -> Any:
        calls.append(kind_id)
        if len(calls) == 1:
            kwargs["progress"](0.05, "Fitted 0 of 100 trees")
            release.wait()
            return ready_model  # late: must not be saved under the second batch's name
        return real_train(data, kind_id, params, config, **kwargs)

    monkeypatch.setattr(training, "train_model", first_blocks)
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False, jobs=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        try:
            await open_train_with_sample(pilot, messages)
            app.screen.query_one("#param-random_forest-n_estimators", Input).value = "3"
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: of_type(messages, msg.TrainingProgress), "progress")
            await pilot.click("#cancel")  # the button cancels at once
            await wait_for(pilot, lambda: not app.state.training.running, "the cancel")
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: of_type(messages, msg.ModelSaved), "the second save")
            release.set()
            await pilot.pause(0.3)
            saved = of_type(messages, msg.ModelSaved)
            assert [m.name for m in saved] == ["Random Forest"]
            assert app.state.training.last["Random Forest"] is not ready_model
        finally:
            release.set()


@pytest.mark.slow
async def test_training_several_kinds_ends_with_one_summary_notification(
    store_dir: Path,
) -> None:
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False, jobs=False)
    shown = record_notifications(app)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await open_train_with_sample(pilot, messages)
        app.screen.query_one("#param-random_forest-n_estimators", Input).value = "3"
        kinds = app.screen.query_one("#kinds", SelectionList)
        for kind in ("dummy", "ridge", "knn"):
            kinds.select(kind)
        await wait_for(pilot, lambda: app.screen.query("#param-knn-n_neighbors"), "k-NN form")
        # 500 neighbours in 353 training rows: this kind fails with a sentence.
        app.screen.query_one("#param-knn-n_neighbors", Input).value = "500"
        before = len(shown)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(of_type(messages, msg.ModelSaved)) == 3, "3 saves")
        await wait_for(pilot, lambda: len(shown) > before, "the summary")
        await pilot.pause(0.3)
        assert shown[before:] == [
            "Trained 3 models: saved Dummy, Ridge and Random Forest; "
            "1 failed: k-Nearest Neighbours (see Results)."
        ]
        results = str(app.screen.query_one("#train-results", Static).render())
        assert "k-Nearest Neighbours — not trained: k-Nearest Neighbours with n_neighbors=500" in (
            results
        )
