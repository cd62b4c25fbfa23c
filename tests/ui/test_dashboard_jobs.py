"""Pilot tests of training jobs from the dashboard: real job processes, no stand-ins.

A training started on Train is a job process of its own: the app can go away while it
runs, a new app shows how it ended, Esc on Train and the Jobs section cancel it, and an app
started while a job runs follows it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pilot_helpers import GUARD_SECONDS, wait_for
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Static

from tuidash.services import workflows
from tuidash.services.jobs import Jobs
from tuidash.ui import messages as msg
from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app
from tuidash.ui.modals.confirm import ConfirmModal
from tuidash.ui.modals.job_log import JobLogModal

pytestmark = pytest.mark.slow

LONG_TREES = "2000"
"""A forest that takes well over the time a test needs to look at it (it is cancelled)."""


def of_type(messages: list[Message], kind: type[Message]) -> list[Any]:
    return [m for m in messages if isinstance(m, kind)]


def notes(app: TuidashApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def wait_outside(condition: Callable[[], Any], what: str) -> Any:
    """Wait with no app running (a guard against a hang, not a time limit)."""
    deadline = time.monotonic() + GUARD_SECONDS
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never got to: {what}")
        time.sleep(0.1)


@pytest.fixture
def jobs_of(store_dir: Path) -> Iterator[Jobs]:
    """The store's jobs; any job a test leaves running is cancelled at the end."""
    jobs = Jobs(store_dir)
    yield jobs
    for record in jobs.active():
        jobs.cancel(record.id)


async def train_sample(pilot: Pilot[Any], messages: list[Message], trees: str) -> None:
    """Load the sample, open Train with a forest of ``trees`` trees, train it."""
    await pilot.press("d")
    await wait_for(pilot, lambda: pilot.app.screen.id != "_default", "the Data section")
    await pilot.press("f2")
    await wait_for(pilot, lambda: of_type(messages, msg.DataLoaded), "the sample loaded")
    await pilot.press("t")
    await wait_for(pilot, lambda: pilot.app.current_mode == "train", "the Train section")
    await pilot.pause()
    pilot.app.screen.query_one("#param-random_forest-n_estimators", Input).value = trees
    await pilot.press("ctrl+r")


def running_job(app: TuidashApp) -> Any:
    """The job the app shows running with some progress reported, or None."""
    jobs = app.state.jobs
    return next((r for r in jobs.records if r.state == "running" and r.id in jobs.progress), None)


def metadata_files(store_dir: Path) -> list[Path]:
    return list((store_dir / "metadata").glob("*.json"))


async def test_a_job_outlives_the_app_and_a_new_app_shows_it_finished(
    store_dir: Path, jobs_of: Jobs
) -> None:
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=True)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await train_sample(pilot, messages, "400")
        await wait_for(pilot, lambda: of_type(messages, msg.JobStarted), "the job started")
        job_id = of_type(messages, msg.JobStarted)[0].record.id
        await wait_for(pilot, lambda: of_type(messages, msg.TrainingProgress), "progress")
        # Quitting while the job runs asks nothing: the job saves its model itself.
        await pilot.press("ctrl+q")
        assert app.return_code == 0
        assert not app.state.training.unsaved
    # The app is gone; the job goes on and saves with its metrics.
    record = wait_outside(lambda: jobs_of.get(job_id).ended and jobs_of.get(job_id), "job end")
    assert record.state == "finished", record.error
    assert record.saved == [{"name": "Random Forest", "version": 1}]
    saved = json.loads((store_dir / "metadata" / "Random_Forest.json").read_text())
    assert saved["metrics"]["R2"] is not None and saved["params"]["n_estimators"] == 400

    messages = []
    again = make_app(None, store_dir, autoload=True)
    async with again.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: again.state.jobs.looked, "the jobs read")
        await wait_for(
            pilot, lambda: again.state.store.is_loaded("Random Forest"), "the model loaded"
        )
        assert not again.state.training.running  # nothing to follow: it has ended
        await pilot.press("j")
        await wait_for(pilot, lambda: again.current_mode == "jobs", "the Jobs section")
        await pilot.pause()
        table = again.screen.query_one("#jobs-table", DataTable)
        assert str(table.get_cell(job_id, "state")) == "finished"
        assert str(table.get_cell(job_id, "result")) == "Saved as 'Random Forest'."
        assert "Random Forest" in str(table.get_cell(job_id, "what"))


async def test_a_finished_job_shows_its_metrics_chart_and_loads_its_model(
    store_dir: Path, jobs_of: Jobs
) -> None:
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await train_sample(pilot, messages, "5")
        await wait_for(pilot, lambda: of_type(messages, msg.ModelSaved), "the model saved")
        await wait_for(pilot, lambda: not app.state.training.running, "the batch done")
        assert "Random Forest trained and saved to disk" in notes(app)
        results = str(app.screen.query_one("#train-results", Static).render())
        assert "Random Forest — saved" in results and "R2 " in results
        await wait_for(pilot, lambda: app.screen.query(".train-chart"), "the chart")
        await wait_for(
            pilot, lambda: app.state.store.is_loaded("Random Forest"), "the model loaded"
        )
        await wait_for(pilot, lambda: "Random Forest" in app.state.store.entries, "in Models")
        [record] = jobs_of.list_jobs()
        assert record.state == "finished"


async def test_esc_on_train_cancels_the_job_and_nothing_is_written(
    store_dir: Path, jobs_of: Jobs
) -> None:
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await train_sample(pilot, messages, LONG_TREES)
        await wait_for(pilot, lambda: running_job(app), "the job running")
        job_id = running_job(app).id
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: not app.state.training.running, "the form free")
        assert app.screen.query_one("#train", Button).disabled is False
        await wait_for(
            pilot,
            lambda: (r := app.state.jobs.get(job_id)) is not None and r.ended,
            "the job ended",
        )
        assert app.state.jobs.get(job_id).state == "cancelled"
        assert "Training cancelled; nothing was saved." in notes(app)
    assert jobs_of.get(job_id).state == "cancelled"
    assert not metadata_files(store_dir)
    assert not list((store_dir / "models").glob("*.pkl"))


async def test_cancel_from_the_jobs_section_asks_then_stops_the_job(
    store_dir: Path, jobs_of: Jobs
) -> None:
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await train_sample(pilot, messages, LONG_TREES)
        await wait_for(pilot, lambda: running_job(app), "the job running")
        job_id = running_job(app).id
        await pilot.press("j")
        await wait_for(pilot, lambda: app.current_mode == "jobs", "the Jobs section")
        table = app.screen.query_one("#jobs-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1, "the job listed")
        assert "%" in str(table.get_cell(job_id, "progress"))
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, JobLogModal), "the log")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, JobLogModal), "log closed")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        await pilot.click("#confirm")
        await wait_for(
            pilot, lambda: str(table.get_cell(job_id, "state")) == "cancelled", "cancelled"
        )
        # The Train section followed the job: its batch ended as cancelled.
        await wait_for(pilot, lambda: not app.state.training.running, "the batch ended")
        assert str(table.get_cell(job_id, "result")) == "The job was cancelled; nothing was saved."
    assert not metadata_files(store_dir)


async def test_an_app_started_while_a_job_runs_follows_it(store_dir: Path, jobs_of: Jobs) -> None:
    request = workflows.TrainRequest(
        target="target",
        kind="random_forest",
        params={"n_estimators": int(LONG_TREES)},
        source="sample",
        name="Long forest",
    )
    started = jobs_of.start(request)
    wait_outside(lambda: jobs_of.get(started.id).state == "running", "the job running")
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: app.state.training.running, "the job followed")
        await pilot.press("t")
        await wait_for(pilot, lambda: app.current_mode == "train", "the Train section")
        assert app.screen.query_one("#train-progress").display
        assert app.screen.query_one("#cancel", Button).disabled is False
        await wait_for(
            pilot,
            lambda: "Fitted" in str(app.screen.query_one("#train-message").render()),
            "its progress on Train",
        )
        await pilot.press("j")
        await wait_for(pilot, lambda: app.current_mode == "jobs", "the Jobs section")
        table = app.screen.query_one("#jobs-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1, "the job listed")
        assert str(table.get_cell(started.id, "state")) == "running"
        assert "%" in str(table.get_cell(started.id, "progress"))
        # Esc on Train cancels the job it follows (once confirmed).
        await pilot.press("t")
        await wait_for(pilot, lambda: app.current_mode == "train", "the Train section")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        await pilot.click("#confirm")
        await wait_for(
            pilot, lambda: app.state.jobs.get(started.id).state == "cancelled", "cancelled"
        )
    assert not metadata_files(store_dir)


async def test_a_job_that_fails_says_why_on_train(store_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "houses.csv"
    data.write_text(
        "rooms,area,price\n" + "".join(f"{i % 5},{i * 3},{i * 10}\n" for i in range(60))
    )
    messages: list[Message] = []
    app = make_app(data, store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: of_type(messages, msg.DataLoaded), "the file loaded")
        # The file changes after it was loaded: the job refuses to train on other bytes.
        data.write_text(data.read_text() + "1,2,3\n")
        await pilot.press("t")
        await wait_for(pilot, lambda: app.current_mode == "train", "the Train section")
        await pilot.pause()
        app.screen.query_one("#param-random_forest-n_estimators", Input).value = "5"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: of_type(messages, msg.TrainingFailed), "the failure")
        await wait_for(pilot, lambda: not app.state.training.running, "the batch ended")
        results = str(app.screen.query_one("#train-results", Static).render())
        assert "Random Forest — not trained: " in results
        assert "houses.csv changed after the training was started" in results
    assert not metadata_files(store_dir)
