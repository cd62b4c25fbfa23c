"""SVG snapshots of the classifier Analysis views at 80x24 and 120x40: confusion matrix
(counts and shares), per-class metrics, ROC curve (and its note for several classes),
predicted-probability histogram, errors table.

The models are trained once here on the shipped penguins table with a fixed seed; only
their metadata (what the screen reads) is used. Look at every changed picture before
``--snapshot-update``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from analysis_fixtures import HostApp
from textual.pilot import Pilot

from tuidash.ui.screens.class_analysis import ClassAnalysisScreen

DATA = Path(__file__).resolve().parents[1] / "data"
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
"""The smallest supported terminal and a roomy one."""


@cache
def penguin_model(target: str, kind: str = "logistic_regression") -> dict[str, Any]:
    """The metadata of a classifier of ``target`` trained on the penguins (fixed seed)."""
    from tuidash.core.data import read_table
    from tuidash.core.training import TrainConfig, train_model

    data = read_table(DATA / "penguins.csv")
    # Few features, so the pictures show mistakes too.
    features = ["island", "bill_depth_mm"]
    config = TrainConfig(target=target, features=features, random_state=42)
    trained = train_model(data, kind, {}, config)
    meta = {k: v for k, v in trained.to_model_data().items() if k != "model"}
    meta["name"] = f"Penguin {target}"
    return meta


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


class TestClassAnalysisScreen:
    """A three-class model (species) and a two-class one (sex) in every view."""

    @pytest.mark.parametrize("size", SIZES)
    @pytest.mark.parametrize(
        ("target", "tab", "keys"),
        [
            pytest.param("species", "confusion", (), id="confusion"),
            pytest.param("species", "confusion", ("r",), id="confusion-shares"),
            pytest.param("species", "per-class", (), id="per-class"),
            pytest.param("sex", "roc", (), id="roc"),
            pytest.param("species", "probability", (), id="probability"),
            pytest.param("species", "errors", (), id="errors"),
        ],
    )
    def test_view(
        self,
        snap_compare: Any,
        tmp_path: Path,
        target: str,
        tab: str,
        keys: tuple[str, ...],
        size: tuple[int, int],
    ) -> None:
        app = HostApp(ClassAnalysisScreen(penguin_model(target), tmp_path))
        assert snap_compare(app, terminal_size=size, run_before=open_tab(tab, *keys))

    def test_roc_of_several_classes_says_why_not(self, snap_compare: Any, tmp_path: Path) -> None:
        app = HostApp(ClassAnalysisScreen(penguin_model("species"), tmp_path))
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_tab("roc"))

    def test_features_and_metrics(self, snap_compare: Any, tmp_path: Path) -> None:
        app = HostApp(ClassAnalysisScreen(penguin_model("sex", "random_forest"), tmp_path))
        assert snap_compare(app, terminal_size=(120, 40), run_before=open_tab("features"))

    def test_metrics_of_a_baseline(self, snap_compare: Any, tmp_path: Path) -> None:
        app = HostApp(ClassAnalysisScreen(penguin_model("species", "dummy"), tmp_path))
        assert snap_compare(app, terminal_size=(80, 24), run_before=open_tab("metrics"))
