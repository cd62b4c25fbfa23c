"""SVG snapshots of the Analysis and Compare screens with fixed models, at 80x24 and 120x40.

The models are plain metadata dicts built from formulas (``analysis_fixtures``); the theme
is fixed and animations are off. Update after a deliberate change with
``pytest tests/snapshots/test_snap_analysis.py --snapshot-update`` and look at every
changed picture before committing it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from analysis_fixtures import (
    HostApp,
    dummy,
    forest,
    no_predictions,
    other_data,
    other_rows,
    ridge,
)
from textual.pilot import Pilot
from textual.screen import Screen

from tuidash.ui.screens.analysis import AnalysisScreen
from tuidash.ui.screens.compare import CompareScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
"""The smallest supported terminal and a roomy one."""


def open_tab(tab: str, *keys: str) -> Any:
    """A run_before that clicks a tab, presses ``keys`` and drops any toast."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await pilot.click(f"#--content-tab-{tab}")
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
        pilot.app.clear_notifications()
        await pilot.pause()

    return run_before


def host(screen: Screen[Any]) -> HostApp:
    return HostApp(screen)


class TestAnalysisScreen:
    """One model: every chart view, the metrics and the errors table."""

    @pytest.mark.parametrize("size", SIZES)
    @pytest.mark.parametrize(
        "tab", ["line", "scatter", "residuals", "histogram", "features", "metrics", "errors"]
    )
    def test_tab(self, snap_compare: Any, tmp_path: Path, tab: str, size: tuple[int, int]) -> None:
        app = host(AnalysisScreen(forest(), tmp_path))
        assert snap_compare(app, terminal_size=size, run_before=open_tab(tab))

    @pytest.mark.parametrize("size", SIZES)
    def test_coefficients_with_both_signs(
        self, snap_compare: Any, tmp_path: Path, size: tuple[int, int]
    ) -> None:
        app = host(AnalysisScreen(ridge(), tmp_path))
        assert snap_compare(app, terminal_size=size, run_before=open_tab("features"))

    def test_model_without_predictions(self, snap_compare: Any, tmp_path: Path) -> None:
        app = host(AnalysisScreen(no_predictions(), tmp_path))
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_tab("line"))

    def test_metrics_of_a_model_without_predictions(
        self, snap_compare: Any, tmp_path: Path
    ) -> None:
        app = host(AnalysisScreen(no_predictions(), tmp_path))
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_tab("metrics"))

    def test_wide_feature_names_and_permutation_importance(
        self, snap_compare: Any, tmp_path: Path
    ) -> None:
        knn = forest("KNN", model_type="knn", feature_importance_method="permutation")
        knn["predictions"]["feature_importance"] = {
            "日本語": 0.41,
            "bmi": 0.3,
            "年齢の列の長い名前です": 0.12,
            "s5": -0.02,
        }
        app = host(AnalysisScreen(knn, tmp_path))
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_tab("features"))

    def test_errors_by_data_row(self, snap_compare: Any, tmp_path: Path) -> None:
        model = forest()
        model["predictions"]["rows"] = [
            7 + 3 * i for i in range(len(model["predictions"]["y_test"]))
        ]
        app = host(AnalysisScreen(model, tmp_path))
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_tab("errors"))


class TestCompareScreen:
    """Several models: table (and transposed), grouped bars, overlay, pair."""

    @pytest.mark.parametrize("size", SIZES)
    @pytest.mark.parametrize(
        ("tab", "keys"),
        [
            pytest.param("table", (), id="table"),
            pytest.param("table", ("t",), id="transposed"),
            pytest.param("chart", (), id="chart"),
            pytest.param("overlay", (), id="overlay"),
            pytest.param("pair", (), id="pair"),
        ],
    )
    def test_tab(
        self,
        snap_compare: Any,
        tmp_path: Path,
        tab: str,
        keys: tuple[str, ...],
        size: tuple[int, int],
    ) -> None:
        app = host(CompareScreen([forest(), ridge(), dummy()], tmp_path))
        assert snap_compare(app, terminal_size=size, run_before=open_tab(tab, *keys))

    def test_overlay_refused_for_different_test_rows(
        self, snap_compare: Any, tmp_path: Path
    ) -> None:
        app = host(CompareScreen([forest(), other_rows()], tmp_path))
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_tab("overlay"))

    def test_one_model(self, snap_compare: Any, tmp_path: Path) -> None:
        app = host(CompareScreen([forest()], tmp_path))
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_tab("table"))

    def test_models_of_different_targets_are_grouped(
        self, snap_compare: Any, tmp_path: Path
    ) -> None:
        app = host(CompareScreen([forest(), other_data(), ridge()], tmp_path))
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_tab("table"))

    def test_unknown_data_is_not_ranked(self, snap_compare: Any, tmp_path: Path) -> None:
        old_a, old_b = forest("Old A"), ridge("Old B")
        del old_a["data"], old_b["data"]
        app = host(CompareScreen([old_a, old_b], tmp_path))
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_tab("table"))
