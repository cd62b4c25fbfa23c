"""The Storage section: what removing a problem entry deletes, and where the log file is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tuidash.core import logs
from tuidash.ui.factory import make_app
from tuidash.ui.modals.confirm import ConfirmModal

GUARD_STEPS = 2400
"""Pauses of 50 ms before giving up on a condition (a hang guard, not a time limit)."""


async def until(pilot: Pilot[Any], condition: Callable[[], Any]) -> None:
    """Let the app run until ``condition()`` holds."""
    for _ in range(GUARD_STEPS):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never held")


def summary_text(app: Any) -> str:
    """The Storage summary as plain text."""
    return str(app.screen.query_one("#storage-summary", Static).render())


async def test_removing_an_entry_with_broken_json_names_its_pickle_too(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir, [("Linear", "linear_regression", {}), ("Base", "dummy", {})])
    (store_dir / "metadata" / "Linear.json").write_text("{not json")
    app = make_app(None, store_dir, autoload=False, start_section="storage")
    async with app.run_test(size=(100, 30)) as pilot:
        problems = app.screen.query_one("#problems-table", DataTable)
        await until(pilot, lambda: problems.row_count == 1)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        assert modal.title_text == "Remove 'Linear' from the store?"
        assert modal.body == (
            "These 2 files are deleted from the store:\n"
            "  metadata/Linear.json\n"
            "  models/Linear.pkl\n"
            "The pickle goes too, even if it is intact: copy it elsewhere first to keep it."
        )
        await pilot.click("#cancel")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmModal))
        assert (store_dir / "models" / "Linear.pkl").exists()


async def test_storage_shows_where_the_log_is(store_dir: Path, tmp_path: Path) -> None:
    app = make_app(None, store_dir, autoload=False, start_section="storage")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.state.store.report is not None)
        await pilot.pause()
        # Not turned on in this process (tests build the app directly): where it would be.
        assert f"Log       {logs.log_file()}\n" in summary_text(app)

    blocked = tmp_path / "a_file"
    blocked.write_text("")
    setup = logs.setup_logging("info", {"TUIDASH_LOG_DIR": str(blocked / "logs")})
    try:
        app = make_app(None, store_dir, autoload=False, start_section="storage")
        async with app.run_test(size=(200, 30)) as pilot:
            await until(pilot, lambda: app.state.store.report is not None)
            await pilot.pause()
            reason = f"{blocked} is a file, not a folder"
            assert f"Log       {setup.path} (not written: {reason})\n" in summary_text(app)
    finally:
        logs.reset_logging()
