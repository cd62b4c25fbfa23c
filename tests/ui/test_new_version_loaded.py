"""A model trained in the dashboard under a name that is already saved becomes its next
version and is loaded, like a new name: the Models row and the detail pane say loaded and
the count of models loaded grows by none (the name was loaded before) or one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pilot_helpers import wait_for
from test_flows import load_sample, new_app, of_type, open_train
from textual.message import Message

from tuidash.ui import messages as msg
from tuidash.ui.modals.name_taken import NameTakenModal


async def test_a_new_version_trained_in_the_dashboard_is_loaded(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir, [("Random Forest", "random_forest", {"n_estimators": 3})])
    messages: list[Message] = []
    app = new_app(store_dir)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        store = app.state.store
        await wait_for(pilot, lambda: store.is_loaded("Random Forest"), "v1 loaded at start")
        await load_sample(pilot, messages)
        await open_train(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, NameTakenModal), "the name dialog")
        await pilot.click("#version")
        await wait_for(pilot, lambda: of_type(messages, msg.ModelSaved), "the model saved")
        assert of_type(messages, msg.ModelSaved)[0].version == 2
        await wait_for(pilot, lambda: not app.state.training.running, "the training done")

        def loaded_v2() -> bool:
            entry = store.entries.get("Random Forest") or {}
            return store.is_loaded("Random Forest") and entry.get("version") == 2

        await wait_for(pilot, loaded_v2, "version 2 listed and loaded")
        for _ in range(10):  # the listing and the storage report that follow change nothing
            await pilot.pause(0.05)
        assert store.model_status("Random Forest") == "loaded"
        assert store.loaded["Random Forest"]["version"] == 2
