"""SVG snapshots of the Analysis screen's Search tab (the candidates of a searched model),
at 80x24 and 120x40. The search record is built from formulas, like the other fixtures.
Update with ``--snapshot-update`` only after looking at every changed picture."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from analysis_fixtures import HostApp, forest
from test_snap_analysis import SIZES, open_tab

from tuidash.ui.screens.analysis import AnalysisScreen


def searched_forest() -> dict[str, Any]:
    """A forest whose parameters were searched: 12 candidates, 5 folds, on a cluster."""
    rows = []
    for i in range(12):
        trees = 50 + 40 * i
        depth = (None, 3, 5, 10)[i % 4]
        mean = 0.38 + 0.05 * math.log(trees / 50) - (0.04 if depth == 3 else 0.0)
        rows.append(
            {
                "params": {"n_estimators": trees, "max_depth": depth, "min_samples_split": 2 + i},
                "scores": [mean - 0.01, mean + 0.01, mean, mean - 0.02, mean + 0.02],
                "mean": round(mean, 6),
                "std": 0.0141,
                "fit_seconds": 1.5,
                "error": None,
            }
        )
    rows.sort(key=lambda r: -r["mean"])
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    best = rows[0]
    record = {
        "method": "random",
        "metric": "R2",
        "higher_is_better": True,
        "cv": 5,
        "splitter": "k-fold",
        "random_state": 42,
        "space": {
            "n_estimators": {"low": 50, "high": 500, "type": "int", "log": False},
            "max_depth": {"values": [None, 3, 5, 10]},
            "min_samples_split": {"low": 2, "high": 20, "type": "int", "log": False},
        },
        "candidates_tried": 12,
        "fits": 60,
        "failed_fits": 0,
        "best": {"params": best["params"], "mean": best["mean"], "std": best["std"]},
        "candidates": rows,
        "candidates_recorded": 12,
        "where": "cluster",
    }
    cluster = {"address": "tcp://10.0.0.5:8786", "workers": 2, "threads": 4, "memory_bytes": 1}
    return forest("Tuned forest", params=best["params"], search=record, cluster=cluster)


class TestSearchTab:
    """The candidates of a searched model: the table by score and the score chart."""

    @pytest.mark.parametrize("size", SIZES)
    def test_candidates(self, snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
        app = HostApp(AnalysisScreen(searched_forest(), tmp_path))
        assert snap_compare(app, terminal_size=size, run_before=open_tab("search"))

    def test_scores_by_a_list_parameter(self, snap_compare: Any, tmp_path: Path) -> None:
        app = HostApp(AnalysisScreen(searched_forest(), tmp_path))
        assert snap_compare(app, terminal_size=(120, 40), run_before=open_tab("search", "a", "a"))


class TestSearchMode:
    """The Train form with Search mode ticked: settings and the catalog's default ranges."""

    def test_search_mode_form(self, snap_compare: Any, store_dir: Path, tmp_path: Path) -> None:
        from test_screens import load_sample, project_dir, settle, stable_app, until
        from textual.widgets import Checkbox

        app = stable_app(store_dir, project_dir(tmp_path))

        async def before(pilot: Any) -> None:
            await until(pilot, lambda: app.state.store.report is not None)
            await load_sample(pilot)
            await pilot.press("t")
            await until(pilot, lambda: app.current_mode == "train")
            box = app.screen.query_one("#search-random_forest-on", Checkbox)
            box.value = True
            await settle(pilot)
            box.scroll_visible(top=True, animate=False)
            await settle(pilot)

        assert snap_compare(app, terminal_size=(120, 40), run_before=before)
