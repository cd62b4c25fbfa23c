"""The Models section ranks only comparable models and keeps its main keys visible at 80x24.

Issue 10: ★ "best R2" crossed targets and files; Compare recommended across them; at 80
columns the footer cut off Compare, Predict and Sort.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual.widgets._footer import FooterKey

from tuidash.ui.app import TuidashApp
from tuidash.ui.commands import SectionCommands
from tuidash.ui.factory import make_app
from tuidash.ui.screens.compare import CompareScreen

GUARD_STEPS = 2400
"""Pauses of 50 ms before giving up (a hang guard, not a time limit)."""


async def until(pilot: Pilot[Any], condition: Any) -> None:
    for _ in range(GUARD_STEPS):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never held")


def edit_json(store: Path, name: str, change: Any) -> None:
    """Change a saved model's metadata the way another training or an old app would."""
    path = store / "metadata" / f"{name}.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def another_target(document: dict[str, Any]) -> None:
    document["data"]["target"] = "bmi"


def no_data_block(document: dict[str, Any]) -> None:
    document.pop("data")


def star_column(app: TuidashApp) -> dict[str, str]:
    table = app.screen.query_one("#models-table", DataTable)
    return {str(key.value): str(table.get_cell(key, "best")) for key in table.rows}


async def test_best_r2_star_is_per_target_and_data_and_never_on_unknown_data(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(
        store_dir,
        specs=[
            ("Linear", "linear_regression", {}),
            ("Forest", "random_forest", {"n_estimators": 5, "max_depth": 3}),
            ("Baseline", "dummy", {}),
            ("Old", "ridge", {}),
        ],
    )
    edit_json(store_dir, "Baseline", another_target)  # the worst R2, but of another target
    edit_json(store_dir, "Old", no_data_block)  # as the original app saved it
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: len(app.state.store.entries) == 4)
        await pilot.pause()
        stars = star_column(app)
        assert stars == {"Linear": "★", "Forest": "", "Baseline": "★", "Old": ""}
        summary = str(app.screen.query_one("#models-summary", Static).render())
        assert "★ = best R2 per data and target" in summary
        assert "1 with data unknown: not ranked" in summary
        table = app.screen.query_one("#models-table", DataTable)
        table.move_cursor(row=table.get_row_index("Old"))
        await pilot.pause()
        detail = str(app.screen.query_one("#detail", Static).render())
        assert "Data unknown" in detail


async def test_compare_from_models_opens_the_highlighted_models_group(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir)
    edit_json(store_dir, "Baseline", another_target)
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: len(app.state.store.entries) == 3)
        await pilot.pause()
        table = app.screen.query_one("#models-table", DataTable)
        table.move_cursor(row=table.get_row_index("Baseline"))
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert screen.names == ["Baseline"]
        summary = str(screen.query_one("#compare-summary", Static).render())
        assert "Recommended" not in summary
        assert "only ranked against models of the same target and data" in summary


async def test_main_models_keys_fit_in_the_footer_at_80_columns(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir)
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.state.store.entries) == 3)
        await pilot.pause()
        keys = {str(k.key): k.region for k in app.screen.query(FooterKey)}
        palette = keys.pop("ctrl+p")
        for key in ("a", "v", "p", "o", "delete", "d", "t", "s"):
            region = keys[key]
            assert region.width > 0 and region.right <= palette.x, key
        # Less used keys leave the footer but stay in the keys list and the palette.
        active = app.screen.active_bindings
        for key in ("u", "r", "c", "ctrl+d", "m"):
            assert key in active and key not in keys
        names = [name for name, _help, _run in SectionCommands(app.screen).commands()]
        for command in ("Models: Unload", "Models: Reload all", "Models: Delete all"):
            assert command in names
        assert not [name for name in names if name.startswith("Models: Focus")]
