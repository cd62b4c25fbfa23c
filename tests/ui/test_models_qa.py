"""QA of the Models section: a fast `/word` burst lands in the filter, Compare with nothing
marked says what it compares, and the main metric shows at 80 columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pilot_helpers import section_shown, wait_for
from textual import events
from textual.widgets import DataTable, Input

from tuidash.core.text import number_text
from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app
from tuidash.ui.screens.compare import CompareScreen
from tuidash.ui.screens.models import ModelsScreen

SPECS: list[tuple[str, str, dict[str, Any]]] = [
    ("Linear", "linear_regression", {}),
    ("Ridge", "ridge", {}),
    ("Baseline", "dummy", {}),
]


def burst(app: TuidashApp, text: str) -> None:
    """Send keys as a terminal delivers fast typing: all queued before any is handled."""
    for char in text:
        key = "slash" if char == "/" else char
        app.post_message(events.Key(key, char))


async def open_models(pilot: Any, app: TuidashApp, count: int = 3) -> ModelsScreen:
    """The Models section once its table lists ``count`` models."""
    await wait_for(pilot, lambda: section_shown(app, "models") is app.screen, "Models")
    screen = app.screen
    assert isinstance(screen, ModelsScreen)
    table = screen.query_one("#models-table", DataTable)
    await wait_for(pilot, lambda: table.row_count == count, "the models listed")
    await pilot.pause()
    return screen


async def test_a_fast_slash_word_burst_types_the_word_into_the_filter(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir, SPECS)
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_models(pilot, app)
        table = screen.query_one("#models-table", DataTable)
        box = screen.query_one("#models-filter", Input)
        burst(app, "/ridge")
        # Before the fix, d (Data) left the screen: the wait ends either way.
        await wait_for(
            pilot, lambda: box.value == "ridge" or app.screen is not screen, "the burst handled"
        )
        await pilot.pause()
        # No letter ran as a shortcut (r reloads, d opens Data, g and e open dialogs).
        assert app.screen is screen
        assert box.value == "ridge"
        assert box.has_focus
        assert list(table.rows) == ["Ridge"]
        # A "/" typed in the filter is text, not the Filter key again.
        burst(app, "/x")
        await wait_for(pilot, lambda: box.value == "ridge/x", "the slash typed")


def notifications(app: TuidashApp) -> list[str]:
    """The messages of the notifications shown so far."""
    return [str(n.message) for n in app._notifications]


async def test_compare_with_nothing_marked_says_it_compares_every_row(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir, SPECS)
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_models(pilot, app)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), "Compare")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        # As the README says: nothing marked compares the rows (here one group, all three).
        assert sorted(compare.names) == ["Baseline", "Linear", "Ridge"]
        assert notifications(app) == [
            "Nothing is marked, so Compare shows all 3 models in the table; "
            "space marks the models to compare."
        ]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "back on Models")

        # With marks, only the marked models, and nothing more is said.
        table = screen.query_one("#models-table", DataTable)
        table.move_cursor(row=table.get_row_index("Linear"))
        await pilot.press("space")
        table.move_cursor(row=table.get_row_index("Ridge"))
        await pilot.press("space")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), "Compare")
        assert sorted(app.screen.names) == ["Linear", "Ridge"]  # type: ignore[attr-defined]
        assert len(notifications(app)) == 1


async def test_compare_with_nothing_marked_names_the_group_it_opens_on(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir, SPECS)
    document = store_dir / "metadata" / "Baseline.json"
    document.write_text(document.read_text().replace('"target": "target"', '"target": "bmi"'))
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_models(pilot, app)
        table = screen.query_one("#models-table", DataTable)
        table.move_cursor(row=table.get_row_index("Baseline"))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), "Compare")
        assert app.screen.names == ["Baseline"]  # type: ignore[attr-defined]
        assert notifications(app) == [
            "Nothing is marked, so Compare shows all 3 models in the table, opening on the "
            "group of Baseline ('bmi' of sample:diabetes, 1 model); space marks the models "
            "to compare."
        ]


DATA = Path(__file__).resolve().parents[1] / "data"


def save_a_classifier(store: Path) -> None:
    """A species classifier under its default name (a long name of a long kind)."""
    from tuidash.core.data import read_table
    from tuidash.core.store import ModelPersistence
    from tuidash.core.training import TrainConfig, train_model

    penguins = read_table(DATA / "penguins.csv")
    trained = train_model(penguins, "logistic_regression", {}, TrainConfig(target="species"))
    ok, message = ModelPersistence(store).save_model(
        "Logistic Regression classifier", trained.to_model_data()
    )
    assert ok, message


@pytest.mark.parametrize("width", [80, 100, 120])
async def test_the_main_metrics_show_at_80_columns_and_wider(
    store_dir: Path, saved_models: Any, width: int
) -> None:
    saved_models(store_dir, [("Linear Regression", "linear_regression", {}), *SPECS[1:]])
    save_a_classifier(store_dir)
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(width, 24)) as pilot:
        screen = await open_models(pilot, app, count=4)
        table = screen.query_one("#models-table", DataTable)
        lines = [table.render_line(y).text for y in range(table.row_count + 1)]
        header, *rows = lines
        # Each task's main metric, its header and its values, on screen without scrolling.
        assert "R2 ▼" in header and "Bal. acc" in header
        entries = app.state.store.entries
        for name, metric in (
            ("Linear Regression", "R2"),
            ("Logistic Regression classifier", "Balanced accuracy"),
        ):
            value = number_text(entries[name]["metrics"][metric])
            assert any(name in row and value in row for row in rows), (name, value)
