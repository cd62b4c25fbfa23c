"""Snapshot fixtures: every picture sees the same library versions, whatever is installed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _pinned_environment(fixed_environment: dict[str, str | None]) -> None:
    """The versions shown in the Models detail pane come from FIXED_ENVIRONMENT."""


def write_versioned_models(
    store: Path, write_saved_models: Callable[..., Any], environment: dict[str, Any]
) -> None:
    """A store where 'Forest' has four versions (an alias, a note) and 'Lasso' one; every
    JSON (earlier versions too) is pinned so the pictures never vary."""
    from tuidash.core.store import ModelPersistence

    write_saved_models(
        store,
        [
            ("Forest", "dummy", {}),
            ("Forest", "random_forest", {"n_estimators": 5, "max_depth": 2}),
            ("Forest", "random_forest", {"n_estimators": 5, "max_depth": 4}),
            ("Forest", "linear_regression", {}),
            ("Lasso", "lasso", {}),
        ],
    )
    persistence = ModelPersistence(store)
    persistence.set_alias("Forest", "champion", 3)
    persistence.set_note("Forest@v1", "baseline")
    persistence.set_tags("Forest", ["diabetes"])
    files = [*store.glob("metadata/*.json"), *store.glob("versions/*/v*.json")]
    for path in files:
        document = json.loads(path.read_text())
        number = int(document.get("version") or 1)
        document["saved_at"] = f"2026-01-1{number} 09:00:00"
        document["train_seconds"] = 0.5
        document["environment"] = dict(environment)
        document["trained_by"] = "tester@tuidash"
        path.write_text(json.dumps(document))


@pytest.fixture
def versioned_models(
    saved_models: Callable[..., Any], fixed_environment: dict[str, Any]
) -> Callable[[Path], None]:
    """``versioned_models(store)`` writes Forest v1-v4 and Lasso, pinned."""
    return lambda store: write_versioned_models(store, saved_models, fixed_environment)
