"""SVG snapshots of each section at 80x24 and 120x40, with nothing in them that varies.

Fixed: the sample data, random states, the clock, the theme, the models' saved_at and
train_seconds; off: animations, cursor blink, absolute paths, free disk space.
Update after a deliberate change with ``pytest tests/snapshots --snapshot-update`` and look
at every changed picture before committing it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app

FIXED_NOW = datetime(2026, 1, 15, 9, 30)
"""The app's clock in every picture."""

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
"""Every section is pictured at the smallest supported size and a roomy one."""

GUARD_STEPS = 2400
"""Pauses of 50 ms before giving up on a condition (a hang guard, not a time limit)."""


def section_shown(app: App[Any], mode: str) -> Screen[Any] | None:
    """The screen of a section once it is shown (mounted), else None."""
    try:
        stack = app.get_screen_stack(mode)
    except KeyError:  # the mode has not been opened yet
        return None
    return stack[0] if stack and stack[0].is_mounted else None


def stable_app(store: Path, cwd: Path, **options: Any) -> TuidashApp:
    """The app as the CLI builds it, with everything that varies turned off."""
    options.setdefault("autoload", True)
    return make_app(
        None,
        store,
        clock=lambda: FIXED_NOW,
        theme="textual-dark",
        show_paths=False,
        show_free_space=False,
        animations=False,
        cursor_blink=False,
        cwd=cwd,
        **options,
    )


async def until(pilot: Pilot[Any], condition: Callable[[], Any]) -> None:
    """Let the app run until ``condition()`` holds."""
    for _ in range(GUARD_STEPS):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never held")


def quiet(app: TuidashApp) -> bool:
    """No app or section worker busy and no table redraw scheduled.

    The store watcher and the jobs monitor run for ever and the file browser keeps its own
    loader running.
    """
    busy = [
        w
        for w in app.workers
        if not w.is_finished
        and w.group not in ("store-watch", "jobs")
        and isinstance(w.node, App | Screen)
    ]
    models = section_shown(app, "models")
    return (
        not busy
        and app.state.store.load_state is None
        and not getattr(models, "redraw_pending", False)
    )


async def settle(pilot: Pilot[Any]) -> None:
    """Wait for workers and redraws, drop toasts, so the picture shows the screen itself."""
    app: TuidashApp = pilot.app  # type: ignore[assignment]
    await pilot.pause(0.2)
    # A listing or storage report still on its way would redraw the table mid-picture.
    await until(pilot, lambda: quiet(app))
    await pilot.wait_for_scheduled_animations()
    app.clear_notifications()
    await pilot.pause()


def project_dir(tmp_path: Path) -> Path:
    """A folder with a few files for the file browser."""
    folder = tmp_path / "project"
    folder.mkdir(exist_ok=True)
    (folder / "houses.csv").write_text("rooms,price\n3,100\n4,150\n")
    (folder / "notes.txt").write_text("not a table\n")
    (folder / "model.pkl").write_bytes(b"not data")  # not offered: not a data file
    (folder / ".hidden.csv").write_text("a,b\n")  # not offered: hidden
    (folder / "runs").mkdir(exist_ok=True)
    return folder


async def load_sample(pilot: Pilot[Any]) -> None:
    """Load the sample data set from the Data section."""
    app: TuidashApp = pilot.app  # type: ignore[assignment]
    await pilot.press("d")
    await until(pilot, lambda: app.current_mode == "data")
    await pilot.press("f2")
    await until(pilot, lambda: app.state.data.data is not None)
    await pilot.pause()


class TestModels:
    """The Models section on a store with three models."""

    @pytest.mark.parametrize("size", SIZES)
    def test_models_loaded(
        self, snap_compare: Any, store_dir: Path, tmp_path: Path, saved_models: Any, size: Any
    ) -> None:
        saved_models(store_dir)
        app = stable_app(store_dir, project_dir(tmp_path))

        async def before(pilot: Pilot[Any]) -> None:
            await until(
                pilot,
                lambda: app.state.store.load_state is None and section_shown(app, app.current_mode),
            )
            await until(
                pilot,
                lambda: (
                    all(app.state.store.is_loaded(n) for n in app.state.store.entries)
                    and app.state.store.entries
                ),
            )
            await settle(pilot)

        assert snap_compare(app, terminal_size=size, run_before=before)

    @pytest.mark.parametrize("size", SIZES)
    def test_models_with_versions(
        self, snap_compare: Any, store_dir: Path, tmp_path: Path, versioned_models: Any, size: Any
    ) -> None:
        versioned_models(store_dir)
        app = stable_app(store_dir, project_dir(tmp_path), autoload=False)

        async def before(pilot: Pilot[Any]) -> None:
            await until(pilot, lambda: len(app.state.store.entries) == 2)
            await pilot.press("m")
            await until(pilot, lambda: section_shown(app, "models") is app.screen)
            await settle(pilot)
            table = app.screen.query_one("#models-table")
            table.move_cursor(row=table.get_row_index("Forest"))  # type: ignore[attr-defined]
            await until(pilot, lambda: "Forest" in app.state.store.versions)
            await settle(pilot)

        assert snap_compare(app, terminal_size=size, run_before=before)

    def test_empty_store(self, snap_compare: Any, store_dir: Path, tmp_path: Path) -> None:
        app = stable_app(store_dir, project_dir(tmp_path))

        async def before(pilot: Pilot[Any]) -> None:
            await until(pilot, lambda: app.state.store.report is not None)
            await settle(pilot)

        assert snap_compare(app, terminal_size=(80, 24), run_before=before)

    def test_delete_all_dialog(
        self, snap_compare: Any, store_dir: Path, tmp_path: Path, saved_models: Any
    ) -> None:
        saved_models(store_dir)
        app = stable_app(store_dir, project_dir(tmp_path), autoload=False)

        async def before(pilot: Pilot[Any]) -> None:
            await until(pilot, lambda: len(app.state.store.entries) == 3)
            await settle(pilot)
            await pilot.press("ctrl+d")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmModal")
            await settle(pilot)

        assert snap_compare(app, terminal_size=(80, 24), run_before=before)


class TestData:
    """The Data section before and after loading the sample."""

    @pytest.mark.parametrize("size", SIZES)
    def test_file_browser(
        self, snap_compare: Any, store_dir: Path, tmp_path: Path, size: Any
    ) -> None:
        app = stable_app(store_dir, project_dir(tmp_path), start_section="data")

        async def before(pilot: Pilot[Any]) -> None:
            await until(pilot, lambda: app.state.store.report is not None)
            await settle(pilot)

        assert snap_compare(app, terminal_size=size, run_before=before)

    @pytest.mark.parametrize("size", SIZES)
    def test_sample_preview(
        self, snap_compare: Any, store_dir: Path, tmp_path: Path, size: Any
    ) -> None:
        app = stable_app(store_dir, project_dir(tmp_path))

        async def before(pilot: Pilot[Any]) -> None:
            await until(pilot, lambda: app.state.store.report is not None)
            await load_sample(pilot)
            await settle(pilot)

        assert snap_compare(app, terminal_size=size, run_before=before)

    def test_column_profile(self, snap_compare: Any, store_dir: Path, tmp_path: Path) -> None:
        app = stable_app(store_dir, project_dir(tmp_path))

        async def before(pilot: Pilot[Any]) -> None:
            await until(pilot, lambda: app.state.store.report is not None)
            await load_sample(pilot)
            app.screen.query_one("#data-tabs").active = "tab-columns"  # type: ignore[attr-defined]
            await settle(pilot)

        assert snap_compare(app, terminal_size=(120, 40), run_before=before)


class TestTrain:
    """The Train section: the form, an invalid value, and the result of a training."""

    @pytest.mark.parametrize("size", SIZES)
    def test_form(self, snap_compare: Any, store_dir: Path, tmp_path: Path, size: Any) -> None:
        app = stable_app(store_dir, project_dir(tmp_path))

        async def before(pilot: Pilot[Any]) -> None:
            await until(pilot, lambda: app.state.store.report is not None)
            await load_sample(pilot)
            await pilot.press("t")
            await until(pilot, lambda: app.current_mode == "train")
            await settle(pilot)

        assert snap_compare(app, terminal_size=size, run_before=before)

    def test_invalid_value_blocks(self, snap_compare: Any, store_dir: Path, tmp_path: Path) -> None:
        app = stable_app(store_dir, project_dir(tmp_path))

        async def before(pilot: Pilot[Any]) -> None:
            await until(pilot, lambda: app.state.store.report is not None)
            await load_sample(pilot)
            await pilot.press("t")
            await until(pilot, lambda: app.current_mode == "train")
            box = app.screen.query_one("#split-test-size", Input)
            box.value = "0.9"
            await pilot.press("ctrl+r")
            await settle(pilot)

        assert snap_compare(app, terminal_size=(80, 24), run_before=before)

    @pytest.mark.parametrize("size", SIZES)
    def test_trained_and_saved(
        self, snap_compare: Any, store_dir: Path, tmp_path: Path, size: Any
    ) -> None:
        app = stable_app(store_dir, project_dir(tmp_path))

        async def before(pilot: Pilot[Any]) -> None:
            await until(pilot, lambda: app.state.store.report is not None)
            await load_sample(pilot)
            await pilot.press("t")
            await until(pilot, lambda: app.current_mode == "train")
            app.screen.query_one("#param-random_forest-n_estimators", Input).value = "5"
            await pilot.press("ctrl+r")
            await until(
                pilot,
                lambda: (
                    not app.state.training.running
                    and app.state.store.entries
                    and not app.state.training.unsaved
                ),
            )
            await until(pilot, lambda: app.state.store.is_loaded("Random Forest"))
            await settle(pilot)

        assert snap_compare(app, terminal_size=size, run_before=before)


class TestStorage:
    """The Storage section with one damaged model."""

    @pytest.mark.parametrize("size", SIZES)
    def test_storage_with_a_problem(
        self,
        snap_compare: Any,
        store_dir: Path,
        tmp_path: Path,
        saved_models: Any,
        broken_model: Any,
        size: Any,
    ) -> None:
        saved_models(store_dir)
        broken_model(store_dir, "Linear")
        app = stable_app(store_dir, project_dir(tmp_path), start_section="storage")

        async def before(pilot: Pilot[Any]) -> None:
            await until(
                pilot,
                lambda: app.state.store.load_state is None and app.state.store.report is not None,
            )
            await until(
                pilot, lambda: all(app.state.store.is_loaded(n) for n in ("Forest", "Baseline"))
            )
            await pilot.pause(0.3)
            await settle(pilot)

        assert snap_compare(app, terminal_size=size, run_before=before)


def write_jobs(store: Path) -> None:
    """Jobs of every kind of end, and one running on another machine (its heartbeat now)."""
    import time

    from tuidash.core.jobs import JobFiles, JobRecord

    files = JobFiles(store)
    now = FIXED_NOW.timestamp()
    rows = [
        (
            "20260115-090000-aaaa",
            "finished",
            "Random Forest as 'Forest' on houses.csv (target price)",
            95.0,
            {
                "message": "Saved as 'Forest', version 2.",
                "saved": [{"name": "Forest", "version": 2}],
            },
        ),
        (
            "20260115-091000-bbbb",
            "failed",
            "Ridge as 'Baseline' on houses.csv (target price)",
            3.5,
            {
                "error": "houses.csv changed after the training was started; start the "
                "training again."
            },
        ),
        (
            "20260115-091500-cccc",
            "cancelled",
            "Gradient Boosting on houses.csv (target price)",
            41.0,
            {"message": "The job was cancelled; nothing was saved."},
        ),
        (
            "20260115-092000-dddd",
            "interrupted",
            "Random Forest on the diabetes sample (target target)",
            610.0,
            {
                "error": "The job's process (4242 on lab) stopped without "
                "finishing (killed, or the machine restarted); start the "
                "training again."
            },
        ),
    ]
    for index, (job_id, state, what, took, extra) in enumerate(rows):
        started = now - 1800 + index * 300
        files.make(job_id)
        files.write_record(
            JobRecord(
                id=job_id,
                state=state,
                what=what,
                request={"kind": "random_forest"},
                data={},
                store=str(store),
                host="lab",
                created_at=started,
                pid=4242,
                started_at=started,
                ended_at=started + took,
                phase="done",
                **extra,
            )
        )
    job_id = "20260115-092500-eeee"
    files.make(job_id)
    files.write_record(
        JobRecord(
            id=job_id,
            state="running",
            what="Random Forest as 'Big forest' on houses.csv (target price)",
            request={"kind": "random_forest"},
            data={},
            store=str(store),
            host="gpu-box",
            created_at=now - 760,
            pid=99,
            started_at=now - 754,
            phase="training",
        )
    )
    files.append_progress(
        job_id, {"time": time.time(), "fraction": 0.62, "text": "Fitted 1240 of 2000 trees"}
    )
    files.append_progress(job_id, {"time": time.time(), "heartbeat": True})


class TestJobs:
    """The Jobs section: ended jobs of each kind and one running on another machine."""

    @pytest.mark.parametrize("size", SIZES)
    def test_jobs(self, snap_compare: Any, store_dir: Path, tmp_path: Path, size: Any) -> None:
        write_jobs(store_dir)
        app = stable_app(store_dir, project_dir(tmp_path), start_section="jobs")

        async def before(pilot: Pilot[Any]) -> None:
            await until(pilot, lambda: len(app.state.jobs.records) == 5)
            await until(pilot, lambda: app.state.jobs.progress)
            await settle(pilot)

        assert snap_compare(app, terminal_size=size, run_before=before)
