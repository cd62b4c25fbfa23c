"""Search mode on the Train screen: ranges with catalog defaults, a refused range, a search
that saves its best candidate with the candidates, and the cluster check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pilot_helpers import wait_for
from test_flows import load_sample, new_app, of_type
from textual.message import Message
from textual.widgets import Checkbox, DataTable, Input, Static

from tuidash.services.jobs import Jobs
from tuidash.ui import messages as msg


async def test_search_mode_saves_the_best_candidate_with_its_search(store_dir: Path) -> None:
    """The in-process path (no jobs): every progress message reaches the app."""
    messages: list[Message] = []
    app = new_app(store_dir, jobs=False)
    shown: list[str] = []  # every notification, even one that timed out on a slow machine
    notify = app.notify

    def record(message: str, **options: Any) -> None:
        shown.append(str(message))
        notify(message, **options)

    app.notify = record  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await load_sample(pilot, messages)
        await pilot.press("t")
        await wait_for(pilot, lambda: pilot.app.current_mode == "train", "the Train section")
        await pilot.pause()
        screen = app.screen
        body = screen.query_one("#search-random_forest .search-body")
        assert not body.display or "-off" in body.classes  # hidden until Search is ticked
        screen.query_one("#search-random_forest-on", Checkbox).value = True
        await pilot.pause()
        assert "-off" not in body.classes
        # The catalog's default ranges are there to edit.
        ranges = screen.query_one("#search-random_forest-range-n_estimators", Input)
        assert ranges.value == "50:500"
        assert screen.query_one("#search-random_forest-range-max_depth", Input).value == (
            "none,3,5,10,20"
        )
        # A range the core refuses blocks training with the core's sentence.
        ranges.value = "500:50"
        await pilot.press("ctrl+r")
        await pilot.pause()
        message = str(screen.query_one("#train-message", Static).render())
        assert "n_estimators must go from low to high" in message
        assert not app.state.training.running
        # A small search: 3 candidates x 2 folds.
        ranges.value = "5:15"
        screen.query_one("#search-random_forest-candidates", Input).value = "3"
        screen.query_one("#search-random_forest-folds", Input).value = "2"
        screen.query_one("#search-random_forest-metric", Input).value = "MAE"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: of_type(messages, msg.ModelSaved), "the model saved")
        await wait_for(pilot, lambda: not app.state.training.running, "the search done")
        texts = [m.text for m in of_type(messages, msg.TrainingProgress)]
        # Progress counts candidates x folds (replaceable messages: not every count is seen).
        assert "Searching: 0 of 6 fits (3 candidates × 2 folds)" in texts
        assert any(t.startswith("Refitting the best candidate") for t in texts)
        results = str(screen.query_one("#train-results", Static).render())
        assert "Best of 3 candidates (random, 2-fold MAE)" in results
        assert "CV 2 folds: MAE" in results
        assert "Random Forest trained and saved to disk" in shown
    doc = json.loads((store_dir / "metadata" / "Random_Forest.json").read_text())
    assert doc["search"]["candidates_tried"] == 3 and doc["search"]["metric"] == "MAE"
    assert doc["search"]["space"]["n_estimators"] == {
        "low": 5.0,
        "high": 15.0,
        "type": "int",
        "log": False,
    }
    assert doc["params"]["n_estimators"] == doc["search"]["best"]["params"]["n_estimators"]


async def test_search_mode_runs_as_a_job_and_the_analysis_shows_its_candidates(
    store_dir: Path,
) -> None:
    """With jobs (the default) the search runs in a job process: it reports its fits, saves
    the best with its search record, and the model's Analysis has the candidates."""
    messages: list[Message] = []
    app = new_app(store_dir)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await load_sample(pilot, messages)
        await pilot.press("t")
        await wait_for(pilot, lambda: pilot.app.current_mode == "train", "the Train section")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#search-random_forest-on", Checkbox).value = True
        await pilot.pause()
        screen.query_one("#search-random_forest-range-n_estimators", Input).value = "5:15"
        screen.query_one("#search-random_forest-candidates", Input).value = "3"
        screen.query_one("#search-random_forest-folds", Input).value = "2"
        screen.query_one("#search-random_forest-metric", Input).value = "MAE"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: of_type(messages, msg.JobStarted), "the job started")
        record = of_type(messages, msg.JobStarted)[0].record
        assert record.what.startswith("Random search of Random Forest (3 candidates × 2 folds)")
        assert record.request["search"]["n_iter"] == 3
        await wait_for(pilot, lambda: of_type(messages, msg.ModelSaved), "the model saved")
        await wait_for(pilot, lambda: not app.state.training.running, "the search done")
        # The dashboard shows the latest report at each poll (a fast search may pass all
        # its fits between two polls); the job's own reports hold every fit.
        texts = [m.text for m in of_type(messages, msg.TrainingProgress)]
        assert texts[-1] == "Saved", texts
        reports = [e.text for e in Jobs(store_dir).attach(record.id).poll().events if e.text]
        assert any(t.startswith("Searching: ") and "of 6 fits" in t for t in reports), reports
        results = str(screen.query_one("#train-results", Static).render())
        assert "Best of 3 candidates (random, 2-fold MAE)" in results
        doc = json.loads((store_dir / "metadata" / "Random_Forest.json").read_text())
        assert doc["search"]["candidates_tried"] == 3 and doc["search"]["metric"] == "MAE"
        assert doc["params"]["n_estimators"] == doc["search"]["best"]["params"]["n_estimators"]
        await pilot.press("f4")
        await wait_for(
            pilot, lambda: app.screen.query("#search-table"), "the Analysis with its Search tab"
        )
        table = app.screen.query_one("#search-table", DataTable)
        assert table.row_count == 3


async def test_the_cluster_check_says_plainly_when_it_cannot_be_reached(store_dir: Path) -> None:
    messages: list[Message] = []
    app = new_app(store_dir)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: pilot.app.current_mode == "train", "the Train section")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#search-random_forest-on", Checkbox).value = True
        screen.query_one("#search-random_forest-cluster", Input).value = "tcp://127.0.0.1:9"
        await pilot.pause()
        screen.query_one("#search-random_forest-check").press()
        info = screen.query_one("#search-random_forest .cluster-info", Static)
        await wait_for(pilot, lambda: "cannot be reached" in str(info.render()), "the sentence")
        assert str(info.render()).startswith("The Dask scheduler at tcp://127.0.0.1:9")
        assert "-error" in info.classes
