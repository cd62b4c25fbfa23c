"""Regression metrics on the full test set, safe with zeros, constants and tiny test sets.

Plain numpy (no sklearn import) so that listing and comparing models stays cheap. A metric
that cannot be computed honestly is ``None`` with a one-sentence reason; values are never
NaN or infinity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

METRIC_NAMES: tuple[str, ...] = ("MAE", "MSE", "RMSE", "MAPE", "R2")
"""Every regression metric, in the order they are shown."""

LOWER_IS_BETTER: frozenset[str] = frozenset({"MAE", "MSE", "RMSE", "MAPE"})
"""Metrics where a smaller value is a better model (R2 is the only higher-is-better one)."""

METRIC_HELP: dict[str, str] = {
    "MAE": "Mean absolute error: the average size of a miss, in the target's units.",
    "MSE": "Mean squared error: the average squared miss; punishes large misses hard.",
    "RMSE": "Root mean squared error: like MSE but back in the target's units.",
    "MAPE": "Mean absolute percentage error, as a fraction: 0.15 means misses of 15 % on "
    "average; undefined when the target has zeros.",
    "R2": "Coefficient of determination: 1 is perfect, 0 is no better than predicting the "
    "mean, below 0 is worse than that.",
}
"""One line per metric explaining what it measures, for help texts and tooltips."""


@dataclass(frozen=True)
class MetricsResult:
    """Metric values (None when undefined) and the reason for every undefined one."""

    values: dict[str, float | None]
    reasons: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float | None:
        return self.values.get(name)

    def is_defined(self, name: str) -> bool:
        """Whether the metric has a value."""
        return self.values.get(name) is not None


def format_metric(value: float | None, digits: int = 4) -> str:
    """Format a metric value for a table: a few significant digits, or 'undefined'."""
    if value is None:
        return "undefined"
    return f"{value:.{digits}g}"


def regression_metrics(y_true: Sequence[Any] | Any, y_pred: Sequence[Any] | Any) -> MetricsResult:
    """MAE, MSE, RMSE, MAPE and R2 of predictions against the true values."""
    import numpy as np

    true = np.asarray(y_true, dtype=np.float64).ravel()
    pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if true.shape != pred.shape:
        raise ValueError(
            f"y_true has {true.size} values but y_pred has {pred.size}; they must match."
        )
    values: dict[str, float | None] = dict.fromkeys(METRIC_NAMES)
    reasons: dict[str, str] = {}

    if true.size == 0:
        return _all_undefined("There are no test rows to measure on.")
    if not np.isfinite(true).all():
        return _all_undefined("The test target has missing or infinite values.")
    bad = int((~np.isfinite(pred)).sum())
    if bad:
        return _all_undefined(
            f"The model gave {bad} missing or infinite predictions, so no error can be measured."
        )

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        error = pred - true
        absolute = np.abs(error)
        mae = float(absolute.mean())
        mse = float((error * error).mean())
    _put(values, reasons, "MAE", mae)
    _put(values, reasons, "MSE", mse)
    _put(values, reasons, "RMSE", math.sqrt(mse) if math.isfinite(mse) else math.inf)

    zeros = int((true == 0).sum())
    if zeros:
        values["MAPE"] = None
        reasons["MAPE"] = (
            f"MAPE is undefined because {zeros} of the {true.size} test target values "
            "are 0 (it divides by the true value)."
        )
    else:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            mape = float((absolute / np.abs(true)).mean())
        _put(values, reasons, "MAPE", mape)

    if true.size < 2:
        values["R2"] = None
        reasons["R2"] = f"R2 needs at least 2 test rows; there is {true.size}."
    elif float(true.min()) == float(true.max()):
        values["R2"] = None
        reasons["R2"] = (
            f"R2 is undefined because the target is {true[0]:g} in every test row "
            "(there is no variation to explain)."
        )
    else:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            centred = true - true.mean()
            total = float((centred * centred).sum())
            residual = float((error * error).sum())
        if not math.isfinite(total):
            _put(values, reasons, "R2", math.inf)
        elif total > 0:
            _put(values, reasons, "R2", 1.0 - residual / total)
        else:
            # The values differ, but by so little that their variance is 0 in floating point.
            values["R2"] = None
            reasons["R2"] = (
                "R2 is undefined because the target barely varies across the test rows "
                "(its variance is 0 at floating-point precision)."
            )
    return MetricsResult(values, reasons)


def _put(values: dict[str, float | None], reasons: dict[str, str], name: str, value: float) -> None:
    """Store a value, or None with a reason when it overflowed."""
    if math.isfinite(value):
        values[name] = value
    else:
        values[name] = None
        reasons[name] = f"{name} is too large to represent (the values overflow)."


def _all_undefined(reason: str) -> MetricsResult:
    return MetricsResult(dict.fromkeys(METRIC_NAMES), dict.fromkeys(METRIC_NAMES, reason))
