"""Chart and table data computed from saved-model metadata (no model object needed)."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tuidash.core import analysis as an

DATA: dict[str, Any] = {
    "source": "/home/ana/houses.csv",
    "sha256": "a" * 64,
    "target": "price",
    "test_size": 0.2,
    "random_state": 42,
    "keep_order": False,
    "batch_rows": None,
}
"""The data block of a tuidash entry: which file, which target, which test split."""


def meta(
    name: str,
    *,
    metrics: dict[str, float | None] | None = None,
    y_test: list[float] | None = None,
    y_pred: list[float] | None = None,
    importance: dict[str, float] | None = None,
    params: dict[str, Any] | None = None,
    model_type: str = "ridge",
    data: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A metadata dict shaped like ModelPersistence.list_saved_models() entries.

    Every model is trained on the same data (``DATA``) unless ``data`` says otherwise.
    """
    return {
        "data": dict(DATA) if data is None else data,
        "name": name,
        "model_type": model_type,
        "metrics": metrics if metrics is not None else {},
        "metric_reasons": extra.pop("metric_reasons", {}),
        "params": params or {},
        "predictions": {
            "y_test": y_test if y_test is not None else [],
            "y_pred": y_pred if y_pred is not None else [],
            "feature_importance": importance,
        },
        **extra,
    }


FULL = {"MAE": 2.0, "MSE": 5.0, "RMSE": 5.0**0.5, "MAPE": 0.1, "R2": 0.8}


# ---------------------------------------------------------------- predictions and charts


def test_prediction_sample_skips_unusable_pairs_and_says_so() -> None:
    m = meta("m", y_test=[1, 2, None, 4, 5], y_pred=[1.5, "x", 3, 4, 5, 6])
    sample = an.prediction_sample(m)
    assert sample.actual == [1.0, 4.0, 5.0]
    assert sample.predicted == [1.5, 4.0, 5.0]
    assert sample.problem is not None
    assert "5 actual values but 6 predictions" in sample.problem
    assert "2 pairs are not finite numbers" in sample.problem


def test_missing_predictions_give_an_empty_sample_with_a_sentence() -> None:
    sample = an.prediction_sample({"name": "old", "metrics": {}})
    assert sample.stored == 0
    assert sample.problem == "No predictions are stored for this model."


def test_capped_sample_reports_the_full_test_size() -> None:
    m = meta("m", y_test=[1, 2, 3], y_pred=[1, 2, 3], predictions_total=5000)
    sample = an.prediction_sample(m)
    assert sample.capped and sample.total == 5000 and sample.stored == 3


def test_line_series_respects_max_points_and_keeps_first_and_last_rows() -> None:
    values = [float(i) for i in range(1000)]
    sample = an.prediction_sample(meta("m", y_test=values, y_pred=[v + 1 for v in values]))
    line = an.actual_vs_predicted(sample, max_points=50)
    assert len(line.rows) == 50
    assert line.rows[0] == 1 and line.rows[-1] == 1000
    assert line.rows == sorted(set(line.rows))
    assert all(p == a + 1 for a, p in zip(line.actual, line.predicted, strict=True))
    assert line.available == 1000
    assert len(an.actual_vs_predicted(sample, max_points=None).rows) == 1000


def test_line_ordered_by_actual_rises_and_keeps_each_pair_together() -> None:
    actual = [5.0, 1.0, 4.0, 2.0, 3.0]
    predicted = [50.0, 10.0, 40.0, 20.0, 30.0]
    sample = an.prediction_sample(meta("m", y_test=actual, y_pred=predicted))
    line = an.actual_vs_predicted(sample, max_points=None, by_actual=True)
    assert line.by_actual and line.rows == [1, 2, 3, 4, 5]
    assert line.actual == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert line.predicted == [10.0, 20.0, 30.0, 40.0, 50.0]
    thinned = an.actual_vs_predicted(sample, max_points=3, by_actual=True)
    assert thinned.actual == [1.0, 3.0, 5.0] and thinned.predicted == [10.0, 30.0, 50.0]
    as_stored = an.actual_vs_predicted(sample, max_points=None)
    assert as_stored.actual == actual and not as_stored.by_actual


@given(st.integers(0, 3000), st.integers(1, 600))
def test_evenly_spaced_is_increasing_unique_and_bounded(count: int, limit: int) -> None:
    picks = an.evenly_spaced(count, limit)
    assert len(picks) == min(count, limit)
    assert picks == sorted(set(picks))
    assert all(0 <= i < count for i in picks)


def test_scatter_diagonal_spans_actual_and_predicted() -> None:
    sample = an.prediction_sample(meta("m", y_test=[1, 5, 3], y_pred=[-2, 4, 9]))
    scatter = an.scatter_data(sample)
    assert (scatter.low, scatter.high) == (-2.0, 9.0)
    assert scatter.actual == [1.0, 5.0, 3.0]


def test_residuals_are_actual_minus_predicted() -> None:
    sample = an.prediction_sample(meta("m", y_test=[10, 20], y_pred=[12, 15]))
    res = an.residuals(sample)
    assert res.predicted == [12.0, 15.0]
    assert res.residuals == [-2.0, 5.0]


def test_histogram_counts_every_value_once_including_the_maximum() -> None:
    hist = an.histogram([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], bins=5)
    assert len(hist.counts) == 5 and len(hist.edges) == 6
    assert sum(hist.counts) == 11
    assert hist.counts[-1] == 3  # 8, 9 and the right edge 10
    assert hist.edges[0] == 0 and hist.edges[-1] == 10
    assert hist.centres[0] == pytest.approx(1.0)


def test_histogram_of_equal_values_and_of_nothing() -> None:
    assert an.histogram([3, 3, 3], bins=10).counts == [3]
    assert an.histogram([], bins=10).counts == []
    with pytest.raises(an.AnalysisError):
        an.histogram([1.0], bins=0)


@given(st.lists(st.floats(-1e9, 1e9), max_size=200), st.integers(1, 50))
def test_histogram_never_loses_a_value(values: list[float], bins: int) -> None:
    assert sum(an.histogram(values, bins).counts) == len(values)


# ---------------------------------------------------------------- features


def test_top_features_sorted_by_magnitude_keep_sign_and_readable_labels() -> None:
    imp = {"num__age": 0.1, "num__bmi": -0.7, "cat__sex_female": 0.3, "num__s5": 0.05}
    bars = an.top_features(imp, n=3)
    assert [b.name for b in bars] == ["num__bmi", "cat__sex_female", "num__age"]
    assert [b.label for b in bars] == ["bmi", "sex_female", "age"]
    assert bars[0].value == -0.7


def test_long_feature_names_are_shortened_to_distinct_labels() -> None:
    imp = {
        "average_household_income_in_region_north": 0.5,
        "average_household_income_in_region_south": 0.4,
    }
    bars = an.top_features(imp, n=None, label_width=14)
    labels = [b.label for b in bars]
    assert all(len(label) <= 14 for label in labels)
    assert len(set(labels)) == 2
    assert labels[0].startswith("average") and "…" in labels[0]


@given(st.text(min_size=0, max_size=60), st.integers(1, 40))
def test_shorten_label_never_exceeds_width(name: str, width: int) -> None:
    short = an.shorten_label(name, width)
    # Widths are terminal cells: a wide character takes two.
    assert an.text_cells(short) <= width
    if an.text_cells(name) <= width:
        assert short == name


def test_feature_importance_absent_or_empty_is_none() -> None:
    assert an.feature_importance(meta("m")) is None
    assert an.feature_importance(meta("m", importance={})) is None
    assert an.feature_importance({"name": "x", "feature_importance": {"a": 1}}) == {"a": 1.0}
    assert an.top_features(None) == []


# ---------------------------------------------------------------- errors table and export


def test_error_rows_percent_is_undefined_where_actual_is_zero() -> None:
    sample = an.prediction_sample(meta("m", y_test=[0, 10, -20], y_pred=[1, 8, -25]))
    rows = an.error_rows(sample)
    assert [r.row for r in rows] == [1, 2, 3]
    assert rows[0].percent_error is None
    assert rows[1].error == 2.0 and rows[1].percent_error == pytest.approx(20.0)
    assert rows[2].error == 5.0 and rows[2].percent_error == pytest.approx(25.0)


def test_export_errors_never_overwrites_and_returns_each_path(tmp_path: Path) -> None:
    m = meta("Random Forest", y_test=[0, 2.5], y_pred=[1, 2])
    first = an.export_errors_csv(m, tmp_path / "exports")
    second = an.export_errors_csv(m, tmp_path / "exports")
    assert first.name == "Random_Forest_errors.csv"
    assert second.name == "Random_Forest_errors_2.csv"
    assert first.is_absolute() and first != second
    with first.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["test_row", "actual", "predicted", "error", "percent_error"]
    assert rows[1] == ["1", "0.0", "1.0", "-1.0", ""]
    assert rows[2][:4] == ["2", "2.5", "2.0", "0.5"]
    assert float(rows[2][4]) == pytest.approx(20.0)


def test_export_keeps_a_file_the_user_already_has(tmp_path: Path) -> None:
    existing = tmp_path / "comparison.csv"
    existing.write_text("mine\n")
    path = an.export_comparison_csv([meta("a", metrics=FULL)], tmp_path)
    assert existing.read_text() == "mine\n"
    assert path.name == "comparison_2.csv"


def test_export_problems_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(an.AnalysisError, match="has no stored predictions"):
        an.export_errors_csv(meta("empty"), tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(an.AnalysisError, match="Could not create the export folder"):
        an.export_errors_csv(meta("m", y_test=[1], y_pred=[1]), blocker / "sub")


def test_export_comparison_rows_columns_and_undefined_cells(tmp_path: Path) -> None:
    models = [
        meta("A", metrics=FULL, model_type="ridge"),
        meta("B", metrics={**FULL, "R2": 0.9, "MAPE": None}, model_type="random_forest"),
    ]
    path = an.export_comparison_csv(models, tmp_path)
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["model"] for r in rows] == ["A", "B"]
    assert rows[1]["kind"] == "random_forest"
    assert rows[1]["MAPE"] == ""
    assert float(rows[1]["R2"]) == 0.9
    assert "R2" in rows[1]["best_at"].split() and "MAPE" in rows[0]["best_at"].split()


# ---------------------------------------------------------------- comparison


def models3() -> list[dict[str, Any]]:
    return [
        meta("Ridge", metrics={"MAE": 3.0, "MSE": 9.0, "RMSE": 3.0, "MAPE": 0.2, "R2": 0.5}),
        meta("Forest", metrics={"MAE": 2.0, "MSE": 16.0, "RMSE": 4.0, "MAPE": None, "R2": 0.7}),
        meta("Dummy", metrics={"MAE": 5.0, "MSE": 25.0, "RMSE": 5.0, "MAPE": 0.1, "R2": None}),
    ]


def test_metrics_table_and_its_transpose() -> None:
    table = an.metrics_table(models3())
    assert table.row_labels == ["Ridge", "Forest", "Dummy"]
    assert table.column_labels == list(an.METRIC_NAMES)
    assert table.values[1][3] is None
    flipped = table.transposed()
    assert flipped.row_labels == list(an.METRIC_NAMES)
    assert flipped.column_labels == ["Ridge", "Forest", "Dummy"]
    assert flipped.values[0] == [3.0, 2.0, 5.0]
    assert not flipped.models_are_rows
    assert flipped.transposed() == table


def test_best_values_lowest_error_highest_r2_skipping_undefined() -> None:
    best = an.best_values(models3())
    assert best == {"MAE": 2.0, "MSE": 9.0, "RMSE": 3.0, "MAPE": 0.1, "R2": 0.7}
    winners = an.best_models(models3())
    assert winners["MAE"] == ["Forest"]
    assert winners["MSE"] == ["Ridge"]
    assert winners["MAPE"] == ["Dummy"]
    assert winners["R2"] == ["Forest"]


def test_metric_undefined_for_every_model_has_no_best() -> None:
    models = [meta("a", metrics={"R2": None}), meta("b", metrics={"R2": None})]
    assert "R2" not in an.best_values(models)
    assert an.best_models(models) == {}


def test_ties_name_every_best_model() -> None:
    models = [meta("a", metrics={"MAE": 1.0}), meta("b", metrics={"MAE": 1.0})]
    assert an.best_models(models)["MAE"] == ["a", "b"]


def test_recommendation_by_r2_with_margin() -> None:
    rec = an.recommend(models3())
    assert rec.name == "Forest" and rec.runner_up == "Ridge"
    assert rec.margin == pytest.approx(0.2)
    assert rec.text == "Recommended: Forest, R2 0.7, 0.2 ahead of Ridge (0.5)."


def test_recommendation_edge_cases_say_what_happened() -> None:
    assert an.recommend([]).text == "No models to compare."
    one = an.recommend([meta("Solo", metrics={"R2": 0.4})])
    assert one.name == "Solo" and "Only one model" in one.text
    none = an.recommend([meta("a", metrics={"R2": None}), meta("b")])
    assert none.name is None and "No model has a defined R2" in none.text
    single = an.recommend([meta("a", metrics={"R2": 0.3}), meta("b", metrics={"R2": None})])
    assert single.name == "a" and "only model with a defined R2" in single.text
    tie = an.recommend([meta("a", metrics={"R2": 0.3}), meta("b", metrics={"R2": 0.3})])
    assert "tie" in tie.text and tie.margin == 0


def test_normalised_metrics_scale_each_metric_and_flag_undefined() -> None:
    bars = an.normalised_metrics(models3())
    assert bars.metrics == list(an.METRIC_NAMES)
    assert bars.models == ["Ridge", "Forest", "Dummy"]
    mse = bars.metrics.index("MSE")
    assert [row[mse] for row in bars.values] == [9 / 25, 16 / 25, 1.0]
    assert ("Dummy", "R2") in bars.undefined and ("Forest", "MAPE") in bars.undefined
    assert all(-1.0 <= v <= 1.0 for row in bars.values for v in row)


def test_overlay_only_when_models_share_the_test_rows() -> None:
    y = [1.0, 2.0, 3.0, 4.0]
    same = [meta("a", y_test=y, y_pred=[1, 2, 3, 5]), meta("b", y_test=y, y_pred=[0, 2, 3, 4])]
    overlay = an.predictions_overlay(same, max_points=None)
    assert overlay.ok and overlay.actual == y
    assert [name for name, _ in overlay.series] == ["a", "b"]
    assert overlay.series[1][1] == [0.0, 2.0, 3.0, 4.0]
    other = [*same, meta("c", y_test=[9.0, 8.0], y_pred=[9.0, 8.0])]
    refused = an.predictions_overlay(other)
    assert not refused.ok
    assert refused.message == (
        "c was tested on different rows from a, so the predictions cannot be overlaid."
    )
    ordered = an.predictions_overlay(same[::-1], max_points=None, by_actual=True)
    assert ordered.by_actual and ordered.actual == sorted(y)
    other_order = an.predictions_overlay(
        [meta("s", y_test=[3.0, 1.0, 2.0], y_pred=[30.0, 10.0, 20.0])], by_actual=True
    )
    assert other_order.series[0][1] == [10.0, 20.0, 30.0]
    nothing = an.predictions_overlay([meta("x"), meta("y")])
    assert not nothing.ok and "None of these models" in nothing.message


def test_overlay_names_models_without_predictions() -> None:
    models = [meta("a", y_test=[1.0], y_pred=[1.0]), meta("old")]
    overlay = an.predictions_overlay(models)
    assert overlay.ok and "no stored predictions for old" in overlay.message


def test_pairwise_diff_absolute_percent_better_and_changed_params_only() -> None:
    a = meta(
        "A",
        metrics={"MAE": 4.0, "MSE": 0.0, "R2": 0.5},
        params={"alpha": 1.0, "fit_intercept": True, "solver": "auto"},
    )
    b = meta(
        "B",
        metrics={"MAE": 3.0, "MSE": 2.0, "R2": 0.6, "MAPE": None},
        params={"alpha": 0.1, "fit_intercept": True, "max_iter": 100},
        model_type="lasso",
    )
    diff = an.pairwise_diff(a, b)
    by_metric = {d.metric: d for d in diff.metrics}
    assert by_metric["MAE"].difference == -1.0
    assert by_metric["MAE"].percent == pytest.approx(-25.0)
    assert by_metric["MAE"].better == "B"
    assert by_metric["MSE"].percent is None and by_metric["MSE"].better == "A"
    assert by_metric["R2"].better == "B"
    assert by_metric["MAPE"].difference is None and by_metric["MAPE"].better is None
    assert [(p.name, p.a, p.b) for p in diff.params] == [
        ("alpha", "1.0", "0.1"),
        ("max_iter", "not set", "100"),
        ("solver", "auto", "not set"),
    ]
    assert diff.kinds == ("ridge", "lasso") and not diff.same_kind


def test_identical_models_have_no_param_differences() -> None:
    a = meta("A", metrics=FULL, params={"alpha": 1})
    diff = an.pairwise_diff(a, {**a, "name": "A2"})
    assert diff.params == []
    assert all(d.better is None and d.difference == 0 for d in diff.metrics)


# ---------------------------------------------------------------- formatting and help


def test_formatting_shows_undefined_and_stays_short() -> None:
    assert an.format_value(None) == "undefined"
    assert an.format_value(2900.1234) == "2900"
    assert an.format_value(53.8512) == "53.85"
    assert an.format_value(123456.7) == "123457"
    assert an.format_value(1.5e9) == "1.500e+09"
    assert an.format_value(0.0) == "0"
    assert an.format_percent(None) == "undefined"
    assert an.format_percent(12.345) == "+12.3%"
    assert an.format_signed(-0.5) == "-0.5" and an.format_signed(0.5) == "+0.5"
    for value in (1e-12, -3.3e20, 99999.4, -0.000123):
        assert len(an.format_value(value)) <= 10


def test_every_metric_has_a_one_line_explanation() -> None:
    for metric in an.METRIC_NAMES:
        text = an.metric_help(metric)
        assert text and "\n" not in text


def test_model_name_and_kind_from_any_metadata_shape() -> None:
    loaded = {"metrics": {}, "metadata": {"model_name": "c", "model_type": "svr"}}
    assert an.model_kind(loaded) == "svr"
    assert an.model_kind({"model_type": "knn"}) == "knn" and an.model_kind({}) == ""
    assert an.model_name({"name": "a"}) == "a"
    assert an.model_name({"model_name": "b"}) == "b"
    assert an.model_name({"metadata": {"model_name": "c"}}) == "c"
    assert an.model_name({}) == "unnamed model"


def test_metric_value_treats_nan_infinite_and_junk_as_undefined() -> None:
    m = meta("m", metrics={"MAE": math.nan, "MSE": math.inf, "RMSE": "x", "R2": 0.5})
    assert [an.metric_value(m, k) for k in ("MAE", "MSE", "RMSE", "MAPE", "R2")] == [
        None,
        None,
        None,
        None,
        0.5,
    ]


def test_analysis_core_imports_without_textual_numpy_or_pandas() -> None:
    code = (
        "import sys, tuidash.core.analysis as a; "
        "bad = [m for m in ('textual', 'textual_plotext', 'rich', 'numpy', 'pandas') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------- comparability (issue 10)


def other_target(name: str, r2: float) -> dict[str, Any]:
    """A model of the same file predicting another column."""
    return meta(name, metrics={"R2": r2}, data={**DATA, "target": "rooms"})


def other_file(name: str, r2: float) -> dict[str, Any]:
    """A model of another file with the same target name."""
    return meta(
        name, metrics={"R2": r2}, data={**DATA, "source": "/data/longley.csv", "sha256": "b" * 64}
    )


def test_models_of_different_targets_or_files_are_not_ranked_together() -> None:
    models = [meta("Forest", metrics={"R2": 0.7}), other_target("Rooms LR", 0.95)]
    rec = an.recommend(models)
    assert rec.name is None and "Recommended" not in rec.text
    assert rec.text == (
        "These models predict different targets or use different data ('price' of "
        "houses.csv (1) and 'rooms' of houses.csv (1)), so none is recommended across them."
    )
    files = an.recommend([meta("Forest", metrics={"R2": 0.7}), other_file("Longley LR", 0.98)])
    assert files.name is None and "longley.csv" in files.text


def test_groups_follow_fingerprint_then_source_and_target() -> None:
    a = meta("A", metrics={"R2": 0.5})
    moved = meta("B", metrics={"R2": 0.6}, data={**DATA, "source": "/elsewhere/copy.csv"})
    changed = meta("C", metrics={"R2": 0.9}, data={**DATA, "sha256": "c" * 64})
    no_hash = {**DATA, "sha256": None, "source": "/data/x.csv"}
    d = meta("D", metrics={"R2": 0.1}, data=no_hash)
    e = meta("E", metrics={"R2": 0.2}, data=dict(no_hash))
    groups = an.comparison_groups([a, moved, changed, d, e])
    assert [g.names for g in groups] == [["A", "B"], ["C"], ["D", "E"]]
    assert groups[0].label == "'price' of houses.csv"
    assert an.best_per_group([a, moved, changed, d, e]) == {"B", "C", "E"}


def test_unknown_data_is_said_and_never_recommended_or_starred() -> None:
    old = [meta("Old A", metrics={"R2": 0.9}, data={}), meta("Old B", metrics={"R2": 0.2})]
    old[1].pop("data")
    rec = an.recommend(old)
    assert rec.name is None
    assert rec.text.startswith("The data of Old A and Old B are unknown")
    groups = an.comparison_groups([*old, meta("New", metrics={"R2": 0.1})])
    assert [g.label for g in groups] == ["'price' of houses.csv", "data unknown"]
    assert an.best_per_group([*old, meta("New", metrics={"R2": 0.1})]) == {"New"}
    frame = meta("Frame", metrics={"R2": 0.3}, data={**DATA, "sha256": None, "source": "frame"})
    assert not an.provenance(frame).known


def test_same_data_but_different_test_rows_are_ranked_with_a_warning() -> None:
    a = meta("A", metrics={"R2": 0.7})
    b = meta("B", metrics={"R2": 0.5}, data={**DATA, "random_state": 7})
    assert an.recommend([a, b]).name == "A"
    (group,) = an.comparison_groups([a, b])
    assert group.test_rows_note() == (
        "Their test rows differ (A: test size 0.2, random state 42; B: test size 0.2, "
        "random state 7), so the metrics are measured on different rows of the same data."
    )
    kept = meta("C", metrics={"R2": 0.5}, data={**DATA, "keep_order": True, "random_state": 1})
    kept2 = meta("D", metrics={"R2": 0.4}, data={**DATA, "keep_order": True, "random_state": 9})
    assert an.comparison_groups([kept, kept2])[0].test_rows_note() is None
    assert an.comparison_groups([a, meta("E", metrics={"R2": 0.1})])[0].test_rows_note() is None


def test_export_comparison_marks_best_only_among_comparable_models(tmp_path: Path) -> None:
    models = [meta("A", metrics={"R2": 0.5}), other_target("B", 0.9)]
    with an.export_comparison_csv(models, tmp_path).open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["best_at"] == "R2" and rows[1]["best_at"] == "R2"


# ---------------------------------------------------------------- importance kind (issue 10)


def test_permutation_importance_with_negative_values_is_not_called_coefficients() -> None:
    stored = meta(
        "KNN",
        model_type="knn",
        importance={"bmi": 0.4, "age": -0.01},
        feature_importance_method="permutation",
    )
    assert an.importance_kind(stored) == "permutation"
    assert an.importance_title("permutation") == "Permutation importance (MAE increase)"
    in_block = meta("KNN", model_type="knn", importance={"bmi": 0.4})
    in_block["predictions"]["feature_importance_method"] = "impurity"
    assert an.importance_kind(in_block) == "impurity"


def test_importance_kind_of_old_entries_is_inferred_never_coefficients_for_negatives() -> None:
    assert an.importance_kind(meta("m", model_type="knn", importance={"a": -0.1})) == "permutation"
    assert an.importance_kind(meta("m", model_type="random_forest", importance={"a": 1})) == (
        "impurity"
    )
    assert an.importance_kind(meta("m", model_type="ridge", importance={"a": 1.0})) == (
        "coefficient"
    )
    # Signed values from a model kind that stores |coef| or impurity: not what it says.
    assert an.importance_kind(meta("m", model_type="ridge", importance={"a": -1.0})) == "unknown"
    original = {"model_name": "old", "predictions": {"feature_importance": {"a": -2.0}}}
    assert an.importance_kind(original) == "unknown"
    assert "Coefficient" not in an.importance_title("unknown")
    svr = meta("s", model_type="svr", params={"kernel": "linear"}, importance={"a": 1.0})
    assert an.importance_kind(svr) == "coefficient"


# ---------------------------------------------------------------- data rows (issue 10)


def test_error_rows_are_numbered_by_data_row_when_stored() -> None:
    m = meta("m", y_test=[1.0, float("nan"), 3.0], y_pred=[1.5, 2.0, 2.0])
    m["predictions"]["rows"] = [17, 4, 250]
    sample = an.prediction_sample(m)
    assert sample.data_rows == [17, 250]
    assert [r.row for r in an.error_rows(sample)] == [17, 250]
    assert an.row_label(sample) == "Data row"
    old = an.prediction_sample(meta("m", y_test=[1.0, 3.0], y_pred=[1.5, 2.0]))
    assert [r.row for r in an.error_rows(old)] == [1, 2]
    assert an.row_label(old) == "Test row" and "position" in an.row_note(old)
    junk = meta("m", y_test=[1.0], y_pred=[1.0])
    junk["predictions"]["rows"] = ["x"]
    assert an.prediction_sample(junk).data_rows is None


def test_export_errors_uses_the_data_rows(tmp_path: Path) -> None:
    m = meta("m", y_test=[1.0, 3.0], y_pred=[1.5, 2.0])
    m["predictions"]["rows"] = [9, 2]
    with an.export_errors_csv(m, tmp_path).open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "data_row" and [r[0] for r in rows[1:]] == ["9", "2"]


# ---------------------------------------------------------------- wide labels (issue 10)


def test_wide_characters_count_two_cells_in_labels() -> None:
    assert an.text_cells("日本語") == 6 and an.text_cells("bmi") == 3
    assert an.shorten_label("日本語", 6) == "日本語"
    short = an.shorten_label("日本語の列の名前", 7)
    assert an.text_cells(short) <= 7 and short.startswith("日本") and "…" in short
    bars = an.top_features({"日本語の長い列の名前": 1.0, "bmi": 0.5}, label_width=8)
    assert all(an.text_cells(b.label) <= 8 for b in bars)
