"""A model of tuidash[boost] in a store where the extra is not installed (issue 15): the
dashboard says what it needs, brackets and all, and keeps running."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pilot_helpers import wait_for
from textual.widgets._toast import Toast

from tuidash.core import boosting
from tuidash.ui.factory import make_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from store_helpers import frame_and_target, original_entry

SENTENCE = "Model 'CatBoost' was not loaded: needs tuidash[boost] (catboost) to load."


def toasts(app: Any) -> list[str]:
    """The texts of the notifications on screen, as drawn (markup would eat "[boost]")."""
    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def test_a_catboost_model_without_the_extra_says_it_needs_it(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catboost import CatBoostRegressor

    import tuidash.core.unpickle as unpickle

    frame, target = frame_and_target()
    model = CatBoostRegressor(iterations=5, verbose=0, allow_writing_files=False)
    original_entry(store_dir, "CatBoost", model.fit(frame[["age", "income"]], target))
    monkeypatch.setattr(boosting, "package_installed", lambda package: package != "catboost")
    monkeypatch.setattr(unpickle, "_RESOLVED", {})
    app = make_app(None, store_dir, autoload=False, start_section="models")
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.state.store.entries, "the store listed")
        await pilot.press("l")
        await wait_for(
            pilot, lambda: any("was not loaded" in t for t in toasts(app)), "the notification", 30
        )
        assert any(SENTENCE in text for text in toasts(app)), toasts(app)
