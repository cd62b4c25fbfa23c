"""Pilot tests of quitting: a trained model that could not be saved is never lost silently."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pilot_helpers import wait_for
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Label, Static

from tuidash.ui import messages as msg
from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app
from tuidash.ui.modals.unsaved import UnsavedModelsModal


def of_type(messages: list[Message], kind: type[Message]) -> list[Any]:
    return [m for m in messages if isinstance(m, kind)]


def texts(screen: Any) -> str:
    return " ".join(str(label.render()) for label in screen.query(Label))


async def train_a_forest(pilot: Pilot[Any], messages: list[Message]) -> None:
    """Sample data, Train, a 3-tree forest, until the batch is over."""
    app: TuidashApp = pilot.app  # type: ignore[assignment]
    await pilot.press("d")
    await wait_for(pilot, lambda: app.screen.id != "_default", "the Data section")
    await pilot.press("f2")
    await wait_for(pilot, lambda: of_type(messages, msg.DataLoaded), "the sample loaded")
    await pilot.press("t")
    await wait_for(pilot, lambda: app.current_mode == "train", "the Train section")
    await pilot.pause()
    app.screen.query_one("#param-random_forest-n_estimators", Input).value = "3"
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: of_type(messages, msg.ModelSaveFailed), "the failed save")
    await wait_for(pilot, lambda: not app.state.training.running, "the end of the batch")
    await pilot.pause()


def break_the_store(store: Path) -> None:
    """The store folder is replaced by a file while tuidash runs (moved away in one step
    first: the app may be writing its listing cache into it at this very moment)."""
    gone = store.with_name(store.name + "-gone")
    store.rename(gone)
    store.write_text("not a folder any more\n")
    shutil.rmtree(gone, ignore_errors=True)


async def test_a_store_that_breaks_mid_session_then_quit_saves_elsewhere(
    store_dir: Path, tmp_path: Path
) -> None:
    from tuidash.core.store import ModelPersistence

    messages: list[Message] = []
    # Unsaved models exist only when the app trains itself: a job saves its own model.
    app = make_app(None, store_dir, autoload=False, cwd=tmp_path, jobs=False)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: app.service is not None, "the store")
        break_the_store(store_dir)
        await train_a_forest(pilot, messages)
        sentence = f"The model store cannot be used: {store_dir} is a file, not a folder."
        assert of_type(messages, msg.ModelSaveFailed)[0].message == sentence
        results = str(app.screen.query_one("#train-results", Static).render())
        assert f"not saved: {sentence} (F3 saves again)" in results
        assert "Random Forest" in app.state.training.unsaved

        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedModelsModal), "the question")
        assert not app._exit
        assert "'Random Forest' is not saved." in texts(app.screen)
        assert "quit anyway and lose 'Random Forest'" in texts(app.screen)
        await pilot.press("escape")  # stay
        await pilot.pause()
        assert not isinstance(app.screen, UnsavedModelsModal) and not app._exit
        assert "Random Forest" in app.state.training.unsaved

        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedModelsModal), "the question")
        box = app.screen.query_one("#unsaved-folder", Input)
        assert box.value == str(tmp_path / "tuidash-unsaved-models")
        # First the broken store itself: refused with a sentence, the question stays.
        box.value = str(store_dir)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, UnsavedModelsModal) and app.screen.error,
            "the refusal",
        )
        assert app.screen.error == f"Cannot save there: {store_dir} is a file, not a folder."
        assert not app._exit
        rescue = tmp_path / "rescued"
        app.screen.query_one("#unsaved-folder", Input).value = str(rescue)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app._exit, "the exit")
        said = " ".join(str(r) for r in app._exit_renderables)
    assert f"'Random Forest' saved in {rescue}" in said
    assert f"tuidash --store {rescue}" in said
    assert (rescue / "metadata" / "Random_Forest.json").is_file()
    loaded = ModelPersistence(rescue).load_model("Random Forest")
    assert loaded is not None and hasattr(loaded["model"], "predict")


async def test_quit_from_the_command_palette_asks_too_and_quit_anyway_quits(
    store_dir: Path, tmp_path: Path
) -> None:
    messages: list[Message] = []
    # Unsaved models exist only when the app trains itself: a job saves its own model.
    app = make_app(None, store_dir, autoload=False, cwd=tmp_path, jobs=False)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: app.service is not None, "the store")
        break_the_store(store_dir)
        await train_a_forest(pilot, messages)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"quit")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedModelsModal), "the question")
        assert not app._exit
        await pilot.click("#quit")
        await wait_for(pilot, lambda: app._exit, "the exit")
    assert not (tmp_path / "tuidash-unsaved-models").exists()


async def test_quit_with_everything_saved_does_not_ask(store_dir: Path) -> None:
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.service is not None, "the store")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: app._exit, "the exit")
        assert not isinstance(app.screen, UnsavedModelsModal)
