"""A large store lists names and metrics first (issue 13): the app's first listing leaves the
prediction samples out; Analysis and Compare read them when they open; the Models table shows
its first rows while the others are still being added."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pilot_helpers import section_shown, wait_for
from textual.widgets import DataTable

from tuidash.core.store import stem
from tuidash.services.persistence import PersistenceService
from tuidash.ui.factory import make_app
from tuidash.ui.screens.analysis import AnalysisScreen
from tuidash.ui.screens.compare import CompareScreen
from tuidash.ui.screens.models_table import ROWS_AT_ONCE, ModelsTable

COUNT = 3000


def clone_store(store: Path, count: int) -> list[str]:
    """``count`` entries of the store's one saved model under new names (files written
    directly: the JSON per name, the pickle hard-linked)."""
    source = next((store / "metadata").glob("*.json"))
    doc = json.loads(source.read_bytes())
    pkl = store / "models" / doc["model_file"]["name"]
    names = []
    for i in range(count):
        name = f"Clone {i:04d}"
        base = stem(name)
        os.link(pkl, store / "models" / f"{base}.pkl")
        doc["model_name"] = name
        doc["model_file"]["name"] = f"{base}.pkl"
        doc["metrics"] = dict(doc["metrics"], R2=i / count)
        (store / "metadata" / f"{base}.json").write_text(json.dumps(doc))
        names.append(name)
    return names


async def test_a_large_store_lists_without_predictions_and_analysis_reads_them(
    store_dir: Path, saved_models: Any, monkeypatch: Any
) -> None:
    saved_models(store_dir, [("Linear", "linear_regression", {})])
    clone_store(store_dir, COUNT)
    listings: list[bool] = []
    details: list[list[str]] = []
    real_list = PersistenceService.list_models
    real_details = PersistenceService.details

    async def list_models(self: Any, *, predictions: bool = True) -> Any:
        listings.append(predictions)
        return await real_list(self, predictions=predictions)

    async def read_details(self: Any, names: Any) -> Any:
        details.append(list(names))
        return await real_details(self, names)

    monkeypatch.setattr(PersistenceService, "list_models", list_models)
    monkeypatch.setattr(PersistenceService, "details", read_details)
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: section_shown(app, "models"), "the Models section")
        screen = section_shown(app, "models")
        assert screen is not None
        table = screen.query_one("#models-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == COUNT + 1, "every model listed")
        assert listings and not any(listings)  # names and metrics only
        assert details == []  # no prediction sample read yet
        # Sorted by R2, best first: the top clone is highlighted.
        assert screen.highlighted_name() == f"Clone {COUNT - 1:04d}"
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AnalysisScreen), "the analysis")
        analysis = app.screen
        assert isinstance(analysis, AnalysisScreen)
        assert details == [[f"Clone {COUNT - 1:04d}"]]
        assert analysis.sample.stored > 0  # the chart has the stored predictions
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "back on Models")
        # Opened again: read once, kept with the entry.
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AnalysisScreen), "the analysis")
        assert details == [[f"Clone {COUNT - 1:04d}"]]


async def test_compare_reads_the_predictions_of_the_marked_models(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir)
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: section_shown(app, "models"), "the Models section")
        screen = section_shown(app, "models")
        assert screen is not None
        await wait_for(pilot, lambda: len(app.state.store.entries) == 3, "the listing")
        assert all(e["predictions"] is None for e in app.state.store.entries.values())
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), "the comparison")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        assert compare.models and all(m["predictions"]["y_pred"] for m in compare.models)


async def test_many_models_show_their_first_rows_before_the_rest_and_columns_widen(
    store_dir: Path, saved_models: Any, monkeypatch: Any
) -> None:
    saved_models(store_dir, [("Linear", "linear_regression", {})])
    count = 3 * ROWS_AT_ONCE
    clone_store(store_dir, count)
    # A long name with the worst R2: its row is among the last ones added.
    doc = json.loads((store_dir / "metadata" / "Clone_0000.json").read_bytes())
    long_name = "Clone with a name much longer than every other name"
    base = stem(long_name)
    os.link(store_dir / "models" / "Clone_0000.pkl", store_dir / "models" / f"{base}.pkl")
    doc.update(model_name=long_name, metrics=dict(doc["metrics"], R2=-5.0))
    doc["model_file"]["name"] = f"{base}.pkl"
    (store_dir / "metadata" / f"{base}.json").write_text(json.dumps(doc))
    total = count + 2
    drawn: list[int] = []
    real_render_line = ModelsTable.render_line

    def render_line(self: ModelsTable, y: int) -> Any:
        drawn.append(self.row_count)
        return real_render_line(self, y)

    monkeypatch.setattr(ModelsTable, "render_line", render_line)
    app = make_app(None, store_dir, autoload=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: section_shown(app, "models"), "the Models section")
        screen = section_shown(app, "models")
        assert screen is not None
        table = screen.query_one("#models-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == total, "every model listed")
        await pilot.pause()
        # The table was on screen with its first rows while the others were still coming.
        assert any(0 < rows < total for rows in drawn)
        assert screen.highlighted_name() == f"Clone {count - 1:04d}"  # the best, first
        assert table.get_row_index(long_name) == total - 1
        name = next(c for c in table.ordered_columns if c.key.value == "name")
        assert name.width >= len(long_name)  # widened when its row came
