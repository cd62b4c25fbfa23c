"""Regression metrics: exact on normal data, undefined-with-a-reason on degenerate data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuidash.core.metrics import (
    LOWER_IS_BETTER,
    METRIC_HELP,
    METRIC_NAMES,
    format_metric,
    regression_metrics,
)


def test_names_help_and_direction() -> None:
    assert METRIC_NAMES == ("MAE", "MSE", "RMSE", "MAPE", "R2")
    assert set(METRIC_HELP) == set(METRIC_NAMES)
    assert all(text.strip() and "\n" not in text for text in METRIC_HELP.values())
    assert {"MAE", "MSE", "RMSE", "MAPE"} <= LOWER_IS_BETTER
    assert "R2" not in LOWER_IS_BETTER


def test_values_match_sklearn() -> None:
    from sklearn import metrics as sk

    rng = np.random.default_rng(1)
    y_true = rng.uniform(1, 100, size=200)
    y_pred = y_true + rng.normal(0, 5, size=200)
    result = regression_metrics(y_true, y_pred)
    assert result.reasons == {}
    assert result["MAE"] == pytest.approx(sk.mean_absolute_error(y_true, y_pred))
    assert result["MSE"] == pytest.approx(sk.mean_squared_error(y_true, y_pred))
    assert result["RMSE"] == pytest.approx(math.sqrt(sk.mean_squared_error(y_true, y_pred)))
    assert result["MAPE"] == pytest.approx(sk.mean_absolute_percentage_error(y_true, y_pred))
    assert result["R2"] == pytest.approx(sk.r2_score(y_true, y_pred))


def test_mape_with_a_zero_in_the_target_is_undefined_not_huge() -> None:
    result = regression_metrics([0.0, 2.0, 4.0], [0.5, 2.0, 3.0])
    assert result["MAPE"] is None
    assert "1 of the 3" in result.reasons["MAPE"] and "0" in result.reasons["MAPE"]
    assert result["MAE"] == pytest.approx(0.5)
    assert result["R2"] is not None


def test_r2_of_a_constant_test_target_is_undefined_not_one() -> None:
    result = regression_metrics([5.0, 5.0, 5.0], [5.0, 5.0, 5.0])
    assert result["R2"] is None
    assert "same" in result.reasons["R2"] or "every test row" in result.reasons["R2"]
    assert result["MAE"] == 0.0 and result["MAPE"] == 0.0


def test_r2_of_one_row_is_undefined() -> None:
    result = regression_metrics([3.0], [2.0])
    assert result["R2"] is None and "at least 2" in result.reasons["R2"]
    assert result["MAE"] == 1.0 and result["RMSE"] == 1.0


def test_no_rows_all_undefined() -> None:
    result = regression_metrics([], [])
    assert all(result[name] is None for name in METRIC_NAMES)
    assert set(result.reasons) == set(METRIC_NAMES)


def test_non_finite_predictions_are_reported_not_propagated() -> None:
    result = regression_metrics([1.0, 2.0], [float("nan"), 2.0])
    assert all(result[name] is None for name in METRIC_NAMES)
    assert "1 missing or infinite predictions" in result.reasons["MAE"]


def test_overflow_becomes_undefined() -> None:
    result = regression_metrics([1e200, -1e200], [-1e200, 1e200])
    assert result["MSE"] is None and "too large" in result.reasons["MSE"]
    assert result["MAE"] == pytest.approx(2e200)


def test_mismatched_lengths_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        regression_metrics([1.0, 2.0], [1.0])


def test_format_metric() -> None:
    assert format_metric(None) == "undefined"
    assert format_metric(0.123456) == "0.1235"


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=0, max_size=40))
def test_values_are_never_nan_or_infinite(pairs: list[tuple[float, float]]) -> None:
    y_true = [t for t, _ in pairs]
    y_pred = [p for _, p in pairs]
    result = regression_metrics(y_true, y_pred)
    for name in METRIC_NAMES:
        value = result[name]
        assert value is None or math.isfinite(value)
        assert (value is None) == (name in result.reasons)
    if result["MSE"] is not None:
        assert result["RMSE"] == pytest.approx(math.sqrt(result["MSE"]))
        assert result["MAE"] is not None and result["MAE"] <= result["RMSE"] * (1 + 1e-9) + 1e-12
    if result["R2"] is not None:
        assert result["R2"] <= 1.0 + 1e-9


@settings(max_examples=100, deadline=None)
@given(st.lists(finite, min_size=2, max_size=40))
def test_perfect_predictions(values: list[float]) -> None:
    result = regression_metrics(values, values)
    assert result["MAE"] == 0.0 and result["MSE"] == 0.0
    if len(set(values)) == 1:
        assert result["R2"] is None
    elif result["R2"] is None:  # differences so tiny that the variance underflows to 0
        assert "varies" in result.reasons["R2"]
    else:
        assert result["R2"] == pytest.approx(1.0)
