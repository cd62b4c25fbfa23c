"""Fixed model metadata dicts and a tiny host app for the analysis and compare screens.

The dicts have the shape ``ModelPersistence.list_saved_models()`` returns, computed from
plain formulas (no randomness), so pictures of the screens never vary.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen

ROWS = 150
"""Test rows in the fixed prediction sample."""


def actual_values(rows: int = ROWS) -> list[float]:
    """A smooth target with a few bumps; row 4 is exactly 0 (percent error undefined)."""
    values = [round(150 + 60 * math.sin(i / 9) + 12 * math.sin(i / 2.3), 3) for i in range(rows)]
    values[3] = 0.0
    return values


def predicted_values(actual: list[float], spread: float, bias: float = 0.0) -> list[float]:
    """Predictions that miss ``actual`` by a deterministic, spread-scaled amount."""
    return [
        round(a + bias + spread * math.sin(i * 1.7) * (1 + i % 3), 3) for i, a in enumerate(actual)
    ]


IMPORTANCE = {
    "num__bmi": 0.31,
    "num__s5": 0.24,
    "num__bp": 0.11,
    "num__average_blood_pressure_over_the_last_six_months": 0.08,
    "num__s6": 0.06,
    "num__age": 0.05,
    "num__s1": 0.045,
    "num__s2": 0.04,
    "num__s3": 0.03,
    "num__s4": 0.02,
    "cat__sex_female": 0.015,
    "cat__sex_male": 0.005,
}
"""Feature importances of the forest (12 features, one name too long for 80 columns)."""


DATA: dict[str, Any] = {
    "source": "/srv/data/diabetes.csv",
    "sha256": "d1" * 32,
    "target": "progression",
    "test_size": 0.2,
    "random_state": 42,
    "keep_order": False,
    "batch_rows": None,
}
"""The data block of the models trained on the same file and target (forest, ridge, dummy)."""


def forest(name: str = "Random Forest", **changes: Any) -> dict[str, Any]:
    """A random forest with every metric but MAPE defined (the target has a zero)."""
    actual = actual_values()
    meta: dict[str, Any] = {
        "name": name,
        "model_type": "random_forest",
        "task": "regression",
        "data": dict(DATA),
        "saved_at": "2026-01-15 09:00:00",
        "metrics": {"MAE": 14.62, "MSE": 341.8, "RMSE": 18.49, "MAPE": None, "R2": 0.8123},
        "metric_reasons": {"MAPE": "The target has values of 0, so percentage errors divide by 0."},
        "params": {"n_estimators": 100, "max_depth": None, "min_samples_leaf": 1},
        "predictions": {
            "y_test": actual,
            "y_pred": predicted_values(actual, 9.0),
            "feature_importance": dict(IMPORTANCE),
        },
    }
    meta.update(changes)
    return meta


def ridge(name: str = "Ridge") -> dict[str, Any]:
    """A ridge regression on the same test rows, with coefficients of both signs."""
    actual = actual_values()
    return {
        "name": name,
        "model_type": "ridge",
        "data": dict(DATA),
        "metrics": {"MAE": 22.4, "MSE": 702.3, "RMSE": 26.5, "MAPE": None, "R2": 0.6141},
        "metric_reasons": {"MAPE": "The target has values of 0, so percentage errors divide by 0."},
        "params": {"alpha": 1.0, "fit_intercept": True},
        "predictions": {
            "y_test": actual,
            "y_pred": predicted_values(actual, 16.0, bias=4.0),
            "feature_importance": {"num__bmi": 24.1, "num__s5": 19.3, "num__bp": -8.2},
        },
    }


def dummy(name: str = "Baseline") -> dict[str, Any]:
    """The mean predictor: R2 0 and no feature importance."""
    actual = actual_values()
    mean = sum(actual) / len(actual)
    return {
        "name": name,
        "model_type": "dummy",
        "data": dict(DATA),
        "metrics": {"MAE": 44.9, "MSE": 2811.0, "RMSE": 53.02, "MAPE": None, "R2": 0.0},
        "metric_reasons": {"MAPE": "The target has values of 0, so percentage errors divide by 0."},
        "params": {"strategy": "mean"},
        "predictions": {
            "y_test": actual,
            "y_pred": [mean] * len(actual),
            "feature_importance": None,
        },
    }


def other_rows(name: str = "Other data") -> dict[str, Any]:
    """A model tested on different rows: the same file and target, another random state."""
    actual = [float(v) for v in range(40)]
    return {
        "name": name,
        "model_type": "knn",
        "data": {**DATA, "random_state": 7},
        "metrics": {"MAE": 1.0, "MSE": 2.0, "RMSE": 1.41, "MAPE": 0.1, "R2": 0.9},
        "params": {"n_neighbors": 5},
        "predictions": {
            "y_test": actual,
            "y_pred": predicted_values(actual, 1.0),
            "feature_importance": None,
        },
    }


def no_predictions(name: str = "Old model") -> dict[str, Any]:
    """A model from an old store: metrics only, everything undefined but R2, no data block."""
    return {
        "name": name,
        "model_type": "linear_regression",
        "metrics": {"MAE": None, "MSE": None, "RMSE": None, "MAPE": None, "R2": 0.41},
        "metric_reasons": {},
        "params": {},
    }


class HostApp(App[None]):
    """A bare app that shows one screen on top of an empty base, like the Models section."""

    TITLE = "tuidash"

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self.pushed = screen
        """The screen under test."""
        # Pictures must not depend on the default theme or on animation timing.
        self.theme = "textual-dark"
        self.animation_level = "none"

    def on_mount(self) -> None:
        """Show the screen under test."""
        self.push_screen(self.pushed)


def export_dir(tmp_path: Path) -> Path:
    """Where a test's exports go (not created: the export creates it)."""
    return tmp_path / "exports"


def other_data(name: str = "Longley LR", r2: float = 0.9854) -> dict[str, Any]:
    """A model of another file and target: never ranked with the diabetes models."""
    meta = other_rows(name)
    meta["model_type"] = "linear_regression"
    meta["metrics"] = {**meta["metrics"], "R2": r2}
    meta["data"] = {**DATA, "source": "/srv/data/longley.csv", "sha256": "1f" * 32}
    meta["data"]["target"] = "Employed"
    return meta
