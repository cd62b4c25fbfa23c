"""QA of the Train section: a space that arrives with an arrow toggles the kind it was
pressed on, a refused name or a read-only store leaves a truthful status line, and the
dialogs' error sentences are shown whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pilot_helpers import DialogHost, wait_for
from textual import events
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Label, SelectionList, Static

from tuidash.core.store.names import alias_problem
from tuidash.ui import messages as msg
from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app
from tuidash.ui.modals.name_taken import NameTakenModal
from tuidash.ui.modals.version_form import FormField, VersionFormModal

SIZES = [(80, 24), (100, 30)]
"""The sizes the dashboard is made for."""


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


async def load_sample(pilot: Pilot[Any], app: TuidashApp, messages: list[Message]) -> None:
    """Data section, F2 (the sample), then the Train section."""
    await pilot.press("d")
    await wait_for(pilot, lambda: app.current_mode == "data", "the Data section")
    await pilot.press("f2")
    await wait_for(
        pilot, lambda: any(isinstance(m, msg.DataLoaded) for m in messages), "the sample"
    )
    await pilot.pause()
    await open_train(pilot, app)


def status(app: TuidashApp) -> str:
    """The Train section's status line."""
    return str(app.get_screen_stack("train")[0].query_one("#train-message", Static).render())


def started(messages: list[Message]) -> bool:
    """Whether any training progress was reported."""
    return any(isinstance(m, msg.TrainingProgress) for m in messages)


async def test_a_name_taken_in_another_case_names_the_saved_model_and_nothing_runs(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir, [("Ridge", "ridge", {})])
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: "Ridge" in app.state.store.entries, "the store listed")
        await load_sample(pilot, app, messages)
        app.screen.query_one("#name-random_forest", Input).value = "ridge"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, NameTakenModal), "the dialog")
        title = str(app.screen.query_one(".dialog-title", Label).render())
        assert title == "A model named 'Ridge' already exists."
        assert not app.state.training.running
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, NameTakenModal), "closed")
        await pilot.pause()
        assert status(app) == "Not trained: the name 'ridge' is taken by 'Ridge'."
        assert not app.state.training.running and not started(messages)


async def test_the_other_name_must_not_clash_with_a_saved_one(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir, [("Ridge", "ridge", {})])
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: "Ridge" in app.state.store.entries, "the store listed")
        await load_sample(pilot, app, messages)
        app.screen.query_one("#name-random_forest", Input).value = "Ridge"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, NameTakenModal), "the dialog")
        dialog = app.screen
        dialog.query_one("#taken-name", Input).value = "ridge"
        dialog.query_one("#taken-name", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        # Refused in the dialog: it stays open, nothing is trained under a clashing name.
        assert app.screen is dialog
        error = str(dialog.query_one("#taken-error", Label).render())
        assert error == "'ridge' is taken by the model 'Ridge'; type another one."
        assert not app.state.training.running and not started(messages)


async def test_a_name_taken_meanwhile_and_refused_does_not_say_training_finished(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuidash.services import workflows
    from tuidash.services.jobs import Jobs

    def start(self: Any, request: Any, **options: Any) -> Any:
        # Another session saved 'random forest' since the store was listed.
        raise workflows.NameTaken("random forest", same=False)

    monkeypatch.setattr(Jobs, "start", start)
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await load_sample(pilot, app, messages)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, NameTakenModal), "the dialog")
        title = str(app.screen.query_one(".dialog-title", Label).render())
        assert title == "A model named 'random forest' already exists."
        await wait_for(pilot, lambda: "waiting" in status(app), "the status line")
        assert status(app).startswith(
            "Random Forest: waiting for another name ('Random Forest' is taken)"
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.state.training.running, "the batch over")
        await pilot.pause()
        assert status(app) == "Not trained: the name 'Random Forest' is taken."
        assert "finished" not in status(app)


async def test_a_store_that_cannot_be_written_is_one_sentence_and_no_finished_line(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuidash.services.jobs import Jobs

    def start(self: Any, request: Any, **options: Any) -> Any:
        # What creating the job's folder raises once the store turned read-only.
        raise PermissionError(13, "Permission denied", str(store_dir / "jobs"))

    monkeypatch.setattr(Jobs, "start", start)
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await load_sample(pilot, app, messages)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app._notifications, "the toast")
        await wait_for(pilot, lambda: not app.state.training.running, "the batch over")
        await pilot.pause()
        sentence = (
            f"The store folder {store_dir} cannot be written (permission denied); "
            "choose another with --store."
        )
        toasts = [str(n.message) for n in app._notifications]
        assert sentence in toasts
        assert status(app) == f"Random Forest not trained: {sentence}"


def shown_text(label: Label) -> str:
    """The words a label shows on screen, its lines joined (cut-off words are missing)."""
    geometry = label.screen.find_widget(label)
    visible = geometry.region.intersection(geometry.clip)
    lines = [
        strip.crop(0, visible.width).text.strip()
        for strip in label.render_lines(visible.reset_offset)
    ]
    return " ".join(line for line in lines if line)


@pytest.mark.parametrize("size", SIZES)
async def test_the_alias_dialog_shows_its_whole_error_sentence(size: tuple[int, int]) -> None:
    modal = VersionFormModal(
        "Alias of a version of 'Ridge'",
        "An alias names one version.",
        buttons=[("set", "Set alias", "primary")],
        fields=[FormField("alias", "Alias", "", "champion")],
        check=lambda answer: alias_problem(answer.values["alias"]),
    )
    host = DialogHost(modal)
    async with host.run_test(size=size) as pilot:
        await pilot.pause()
        modal.query_one("#field-alias", Input).value = "my alias"
        modal.query_one("#field-alias", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        sentence = alias_problem("my alias")
        assert sentence and len(sentence) > 70  # longer than one line of the dialog
        assert shown_text(modal.query_one("#form-error", Label)) == sentence


@pytest.mark.parametrize("size", SIZES)
async def test_the_name_taken_dialog_shows_its_whole_error_sentence(
    size: tuple[int, int],
) -> None:
    name = "A rather long model name for the forest"
    modal = NameTakenModal("Forest", "Forest (2)", taken={"Forest", name})
    host = DialogHost(modal)
    async with host.run_test(size=size) as pilot:
        await pilot.pause()
        box = modal.query_one("#taken-name", Input)
        box.value = name.lower()
        box.focus()
        await pilot.press("enter")
        await pilot.pause()
        sentence = f"{name.lower()!r} is taken by the model {name!r}; type another one."
        assert len(sentence) > 72  # longer than one line of the dialog
        assert shown_text(modal.query_one("#taken-error", Label)) == sentence


async def test_the_footer_leaves_a_space_after_the_sections_label(store_dir: Path) -> None:
    from textual.widgets._footer import FooterKey, FooterLabel

    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(140, 30)) as pilot:
        await pilot.press("m")
        await wait_for(pilot, lambda: app.current_mode == "models", "the Models section")
        await wait_for(pilot, lambda: app.screen.query(FooterLabel), "the footer")
        await pilot.pause()
        label = app.screen.query_one(FooterLabel)
        assert "Sections" in str(label.render())
        after = [
            key
            for key in app.screen.query(FooterKey)
            if key.region.y == label.region.y and key.region.x >= label.region.right
        ]
        quit_key = min(after, key=lambda key: key.region.x)
        # "Sections ^q Quit", not "Sections^q Quit".
        assert quit_key.region.x > label.region.right
