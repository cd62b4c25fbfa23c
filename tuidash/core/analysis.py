"""Chart and table data for analysing saved models, from their metadata alone.

Pure Python (no numpy, no pandas, no textual): every function takes the metadata dicts the
store lists without unpickling (keys ``name``, ``metrics``, ``metric_reasons``, ``params``,
``model_type``, ``predictions`` {y_pred, y_test, feature_importance}) and returns plain
lists and small dataclasses that the chart widgets and tables draw. The stored prediction
arrays are capped at a few thousand points, so plain Python is fast enough.

One model's views are here: actual vs predicted, scatter, residuals, histogram, feature
importance, the errors table and its CSV export. What the metadata says (name, kind,
metrics, the stored sample) is ``model_facts``; comparing models is ``comparison``. This
module offers their names too, so ``tuidash.core.analysis`` stays the one import for views.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuidash.core.class_views import (
    PROBABILITY_BIN_CHOICES,
    ClassErrorRow,
    ClassMetrics,
    ClassSample,
    ConfusionMatrix,
    PerClass,
    ProbabilityHistogram,
    RocCurve,
    class_error_rows,
    class_sample,
    confusion_matrix,
    export_class_errors_csv,
    label_text,
    model_classes,
    per_class_metrics,
    probability_histogram,
    roc_curve,
)
from tuidash.core.comparison import (
    RECOMMENDATION_METRICS,
    UNKNOWN_DATA,
    GroupedBars,
    MetricDiff,
    MetricsTable,
    ModelGroup,
    Overlay,
    PairDiff,
    ParamDiff,
    Provenance,
    Recommendation,
    best_models,
    best_per_group,
    best_values,
    comparable,
    comparison_groups,
    export_comparison_csv,
    is_best,
    metrics_table,
    normalised_metrics,
    pairwise_diff,
    predictions_overlay,
    provenance,
    recommend,
    recommendation_metric,
)
from tuidash.core.model_facts import (
    HIGHER_IS_BETTER,
    METRIC_NAMES,
    UNDEFINED,
    AnalysisError,
    PredictionSample,
    csv_number,
    evenly_spaced,
    file_stem,
    finite_value,
    format_percent,
    format_signed,
    format_value,
    is_classification,
    is_higher_better,
    metric_help,
    metric_names,
    metric_reason,
    metric_value,
    model_kind,
    model_name,
    model_task,
    prediction_sample,
    row_order,
    write_new_csv,
)

__all__ = [
    "BIN_CHOICES",
    "HIGHER_IS_BETTER",
    "IMPORTANCE_KINDS",
    "METRIC_NAMES",
    "POINT_CHOICES",
    "PROBABILITY_BIN_CHOICES",
    "RECOMMENDATION_METRICS",
    "TOP_N_CHOICES",
    "UNDEFINED",
    "UNKNOWN_DATA",
    "AnalysisError",
    "ClassErrorRow",
    "ClassMetrics",
    "ClassSample",
    "ConfusionMatrix",
    "ErrorRow",
    "FeatureBar",
    "GroupedBars",
    "Histogram",
    "LineSeries",
    "Measure",
    "MetricDiff",
    "MetricsTable",
    "ModelGroup",
    "Overlay",
    "PairDiff",
    "ParamDiff",
    "PerClass",
    "PredictionSample",
    "ProbabilityHistogram",
    "Provenance",
    "Recommendation",
    "ResidualData",
    "RocCurve",
    "ScatterData",
    "actual_vs_predicted",
    "best_models",
    "best_per_group",
    "best_values",
    "class_error_rows",
    "class_sample",
    "comparable",
    "comparison_groups",
    "confusion_matrix",
    "error_rows",
    "evenly_spaced",
    "export_class_errors_csv",
    "export_comparison_csv",
    "export_errors_csv",
    "feature_importance",
    "format_percent",
    "format_signed",
    "format_value",
    "histogram",
    "importance_kind",
    "importance_note",
    "importance_title",
    "is_best",
    "is_classification",
    "is_higher_better",
    "label_text",
    "metric_help",
    "metric_names",
    "metric_reason",
    "metric_value",
    "metrics_table",
    "model_classes",
    "model_kind",
    "model_name",
    "model_task",
    "normalised_metrics",
    "pairwise_diff",
    "per_class_metrics",
    "prediction_sample",
    "predictions_overlay",
    "probability_histogram",
    "provenance",
    "readable_feature_name",
    "recommend",
    "recommendation_metric",
    "residuals",
    "roc_curve",
    "row_label",
    "row_note",
    "row_order",
    "scatter_data",
    "shorten_label",
    "text_cells",
    "top_features",
    "write_new_csv",
]

POINT_CHOICES: tuple[int | None, ...] = (50, 100, 200, 500, None)
"""How many points the actual-vs-predicted line shows; ``None`` means every stored point."""

BIN_CHOICES: tuple[int, ...] = (5, 10, 20, 40)
"""Histogram bin counts the user can cycle through."""

TOP_N_CHOICES: tuple[int | None, ...] = (5, 10, 20, None)
"""How many features the importance chart shows; ``None`` means all of them."""


@dataclass(frozen=True)
class LineSeries:
    """Actual and predicted values over the test rows, thinned to a readable number of points."""

    rows: list[int]
    """x values: 1-based positions in the stored sample (ranks when ``by_actual``)."""
    actual: list[float]
    """Actual values at those rows."""
    predicted: list[float]
    """Predicted values at those rows."""
    available: int
    """How many stored rows there are to choose from."""
    by_actual: bool = False
    """True when the rows are ordered by their actual value instead of as stored."""


def actual_vs_predicted(
    sample: PredictionSample, max_points: int | None = 200, *, by_actual: bool = False
) -> LineSeries:
    """The line chart data: at most ``max_points`` evenly spaced rows (None: all of them).

    Test rows are usually shuffled, so a line over them zig-zags; ordered ``by_actual`` the
    actual values form a rising curve and each prediction's miss shows as its distance.
    """
    order = row_order(sample.actual, by_actual)
    spaced = evenly_spaced(len(order), max_points)
    picks = [order[j] for j in spaced]
    return LineSeries(
        rows=[(j if by_actual else order[j]) + 1 for j in spaced],
        actual=[sample.actual[i] for i in picks],
        predicted=[sample.predicted[i] for i in picks],
        available=sample.stored,
        by_actual=by_actual,
    )


@dataclass(frozen=True)
class ScatterData:
    """Actual vs predicted points and the range of the perfect-prediction diagonal."""

    actual: list[float]
    """x values."""
    predicted: list[float]
    """y values."""
    low: float
    """Start of the diagonal y = x (the smallest actual or predicted value)."""
    high: float
    """End of the diagonal (the largest actual or predicted value)."""


def scatter_data(sample: PredictionSample) -> ScatterData:
    """The scatter chart data, with the diagonal spanning both axes' values."""
    values = sample.actual + sample.predicted
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    return ScatterData(list(sample.actual), list(sample.predicted), low, high)


@dataclass(frozen=True)
class ResidualData:
    """Residuals (actual - predicted) against the predicted value."""

    predicted: list[float]
    """x values."""
    residuals: list[float]
    """y values: actual minus predicted (positive means the model predicted too low)."""


def residuals(sample: PredictionSample) -> ResidualData:
    """Residuals of every stored pair, actual minus predicted."""
    return ResidualData(
        list(sample.predicted),
        [a - p for a, p in zip(sample.actual, sample.predicted, strict=True)],
    )


@dataclass(frozen=True)
class Histogram:
    """Counts of values in equal-width bins."""

    edges: list[float]
    """Bin edges, one more than there are bins."""
    counts: list[int]
    """How many values fall in each bin (the last bin includes its right edge)."""

    @property
    def centres(self) -> list[float]:
        """The middle of each bin."""
        return [(lo + hi) / 2 for lo, hi in zip(self.edges, self.edges[1:], strict=False)]


def histogram(values: Sequence[float], bins: int = 10) -> Histogram:
    """Equal-width histogram of ``values``; all-equal values make one bin of width 1."""
    if bins < 1:
        raise AnalysisError("A histogram needs at least one bin.")
    finite = [v for v in (finite_value(x) for x in values) if v is not None]
    if not finite:
        return Histogram([], [])
    low, high = min(finite), max(finite)
    if low == high:
        return Histogram([low - 0.5, high + 0.5], [len(finite)])
    width = (high - low) / bins
    counts = [0] * bins
    for value in finite:
        counts[min(int((value - low) / width), bins - 1)] += 1
    edges = [low + i * width for i in range(bins)] + [high]
    return Histogram(edges, counts)


# --------------------------------------------------------------------------- features


def feature_importance(meta: Mapping[str, Any]) -> dict[str, float] | None:
    """The stored feature importances or coefficients, or None when the model has none."""
    sources = [meta.get("predictions"), meta]
    for source in sources:
        if isinstance(source, Mapping):
            raw = source.get("feature_importance")
            if isinstance(raw, Mapping) and raw:
                cleaned = {str(k): v for k, v in ((k, finite_value(v)) for k, v in raw.items())}
                usable = {k: v for k, v in cleaned.items() if v is not None}
                return usable or None
    return None


def readable_feature_name(name: str) -> str:
    """Drop a scikit-learn transformer prefix such as ``num__`` so the column name shows."""
    prefix, sep, rest = name.partition("__")
    if sep and rest and prefix.isidentifier():
        return rest
    return name


def text_cells(text: str) -> int:
    """Terminal cells ``text`` takes: wide (CJK) characters count 2, combining marks 0.

    The UI measures with ``rich.cells.cell_len`` (passed as ``measure``); this is the
    plain-Python fallback so the core needs no rendering library.
    """
    cells = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        cells += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return cells


Measure = Callable[[str], int]
"""How many terminal cells a text takes."""


def _head(text: str, cells: int, measure: Measure) -> str:
    """The longest start of ``text`` that fits in ``cells``."""
    out = ""
    for char in text:
        if measure(out + char) > cells:
            break
        out += char
    return out


def _tail(text: str, cells: int, measure: Measure) -> str:
    """The longest end of ``text`` that fits in ``cells``."""
    out = ""
    for char in reversed(text):
        if measure(char + out) > cells:
            break
        out = char + out
    return out


def shorten_label(name: str, width: int, measure: Measure = text_cells) -> str:
    """``name`` cut to ``width`` cells with an ellipsis in the middle, keeping both ends.

    Widths are terminal cells, not characters: "日本語" takes 6 cells.
    """
    if measure(name) <= width:
        return name
    if width <= 1:
        return _head(name, width, measure)
    head = (width - 1) * 2 // 3 or 1
    start = _head(name, head, measure)
    tail = width - 1 - measure(start)
    return start + "…" + (_tail(name[len(start) :], tail, measure) if tail > 0 else "")


@dataclass(frozen=True)
class FeatureBar:
    """One bar of the feature importance chart."""

    label: str
    """The name as shown: readable and shortened, unique within the chart."""
    name: str
    """The full feature name as stored."""
    value: float
    """Importance or coefficient (coefficients keep their sign)."""


def top_features(
    importance: Mapping[str, float] | None,
    n: int | None = 10,
    label_width: int = 18,
    measure: Measure = text_cells,
) -> list[FeatureBar]:
    """The ``n`` largest features by absolute value (None: all), largest first.

    Labels fit in ``label_width`` terminal cells as counted by ``measure``.
    """
    if not importance:
        return []
    ranked = sorted(importance.items(), key=lambda item: (-abs(item[1]), item[0]))
    if n is not None:
        ranked = ranked[: max(n, 0)]
    bars: list[FeatureBar] = []
    used: set[str] = set()
    for name, value in ranked:
        label = shorten_label(readable_feature_name(name), label_width, measure)
        counter = 2
        while label in used:
            # Two names shortened to the same text: keep them apart with a number.
            suffix = f"~{counter}"
            room = label_width - len(suffix)
            label = shorten_label(readable_feature_name(name), room, measure) + suffix
            counter += 1
        used.add(label)
        bars.append(FeatureBar(label, name, value))
    return bars


IMPORTANCE_KINDS: dict[str, str] = {
    "impurity": "Feature importance (impurity decrease)",
    "gain": "Feature importance (gain)",
    "prediction-change": "Feature importance (prediction change)",
    "coefficient": "Coefficient size (|coef| on scaled inputs)",
    "permutation": "Permutation importance (MAE increase)",
    "permutation-classification": "Permutation importance (accuracy drop)",
    "none": "No importance (a constant baseline)",
    "unknown": "Feature importance",
}
"""Chart titles per kind of stored importance (``feature_importance_method``)."""

_KIND_BY_MODEL = {
    "dummy": "none",
    "linear_regression": "coefficient",
    "ridge": "coefficient",
    "lasso": "coefficient",
    "decision_tree": "impurity",
    "random_forest": "impurity",
    "gradient_boosting": "permutation",
    "knn": "permutation",
    "mlp": "permutation",
    "logistic_regression": "coefficient",
    "xgboost": "gain",
    "lightgbm": "gain",
    "catboost": "prediction-change",
}
"""What training measures for each model kind, for entries saved without the method."""

_BOOST_IMPORTANCE = {"xgboost": "gain", "lightgbm": "gain", "catboost": "prediction-change"}
"""What the boosting kinds' feature_importances_ (stored as "impurity") really measure."""


def importance_kind(meta: Mapping[str, Any]) -> str:
    """How the stored importances were measured: impurity, coefficient, permutation, none.

    Read from ``feature_importance_method`` (in the predictions block, at the top, or in
    the loaded document); older entries get it from their model kind, and "unknown" when
    neither tells. Negative values never come from impurity or |coef|, so an inferred kind
    that contradicts them is "unknown": permutation values are never called coefficients.
    """
    for source in (meta.get("predictions"), meta, meta.get("metadata")):
        if isinstance(source, Mapping):
            stored = source.get("feature_importance_method")
            if isinstance(stored, str) and stored in IMPORTANCE_KINDS:
                # Training calls any feature_importances_ "impurity"; the boosting
                # libraries' are gain (CatBoost: prediction values change).
                if stored == "impurity":
                    return _BOOST_IMPORTANCE.get(model_kind(meta), stored)
                return stored
    kind = _KIND_BY_MODEL.get(model_kind(meta), "unknown")
    if model_kind(meta) in ("svr", "svc"):
        params = meta.get("params")
        linear = isinstance(params, Mapping) and params.get("kernel") == "linear"
        kind = "coefficient" if linear else "permutation"
    values = feature_importance(meta) or {}
    if kind in ("impurity", "coefficient", "gain", "prediction-change") and any(
        v < 0 for v in values.values()
    ):
        return "unknown"
    return kind


def importance_title(kind: str, task: str = "regression") -> str:
    """The chart title for a kind of importance (permutation: MAE or accuracy by task)."""
    if kind == "permutation" and task == "classification":
        return IMPORTANCE_KINDS["permutation-classification"]
    return IMPORTANCE_KINDS.get(kind, IMPORTANCE_KINDS["unknown"])


def importance_note(kind: str, task: str = "regression") -> str:
    """One sentence on how to read the importance chart."""
    if kind == "permutation" and task == "classification":
        return (
            "How much the accuracy drops when a column is shuffled; below 0, shuffling it "
            "helped (the column adds noise)."
        )
    if kind == "coefficient" and task == "classification":
        return "Size of the linear coefficients on the scaled column, averaged over classes."
    return {
        "impurity": "How much the trees' splits on a column reduce the error; never negative.",
        "gain": "How much the boosted trees' splits on a column improved the training loss "
        "(gain); never negative.",
        "prediction-change": "How much the predictions change, on average, when a column's "
        "value changes (CatBoost's PredictionValuesChange); never negative.",
        "coefficient": "Size of the linear coefficient on the scaled column (sign not kept).",
        "permutation": "How much the MAE grows when a column is shuffled; below 0, "
        "shuffling it helped (the column adds noise).",
        "none": "A baseline ignores every column.",
    }.get(kind, "How the importances were measured was not recorded with this model.")


# --------------------------------------------------------------------------- errors table


@dataclass(frozen=True)
class ErrorRow:
    """One row of the errors table."""

    row: int
    """The data-file row (1-based, as a person counts data rows) when the model stores it,
    else the 1-based position in the stored test sample."""
    actual: float
    """Actual target value."""
    predicted: float
    """Predicted value."""
    error: float
    """Actual minus predicted (as in the residual charts)."""
    percent_error: float | None
    """Error as a percentage of |actual|; None (undefined) where the actual value is 0."""


def error_rows(sample: PredictionSample) -> list[ErrorRow]:
    """The errors table: one row per stored pair, numbered as :func:`row_label` says."""
    rows = []
    numbers = sample.data_rows or range(1, sample.stored + 1)
    for number, actual, predicted in zip(numbers, sample.actual, sample.predicted, strict=True):
        error = actual - predicted
        percent = None if actual == 0 else error / abs(actual) * 100
        rows.append(ErrorRow(number, actual, predicted, error, percent))
    return rows


def row_label(sample: PredictionSample | ClassSample) -> str:
    """What the errors table's row numbers are: "Data row" or "Test row" (position)."""
    return "Data row" if sample.data_rows is not None else "Test row"


def row_note(sample: PredictionSample | ClassSample) -> str:
    """A sentence saying what the row numbers of the errors table count."""
    if sample.data_rows is not None:
        return "Data row: the row in the data file (1 = the first row after the header)."
    return (
        "Test row: the position in the test sample; this model was saved without "
        "the data file's row numbers."
    )


def export_errors_csv(meta: Mapping[str, Any], directory: str | Path) -> Path:
    """Write the model's errors table to a new CSV in ``directory``; return its path.

    A classifier's table is (row, actual, predicted, probability, correct):
    ``export_class_errors_csv``."""
    if is_classification(meta):
        return export_class_errors_csv(meta, directory)
    sample = prediction_sample(meta)
    if not sample.stored:
        raise AnalysisError(f"{model_name(meta)} has no stored predictions to export.")
    rows = [
        [
            r.row,
            csv_number(r.actual),
            csv_number(r.predicted),
            csv_number(r.error),
            csv_number(r.percent_error),
        ]
        for r in error_rows(sample)
    ]
    header = [
        "data_row" if sample.data_rows is not None else "test_row",
        "actual",
        "predicted",
        "error",
        "percent_error",
    ]
    return write_new_csv(directory, f"{file_stem(model_name(meta))}_errors", header, rows)
