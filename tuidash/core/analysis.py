"""Chart and table data for analysing and comparing saved models, from their metadata alone.

Pure Python (no numpy, no pandas, no textual): every function takes the metadata dicts the
store lists without unpickling (keys ``name``, ``metrics``, ``metric_reasons``, ``params``,
``model_type``, ``predictions`` {y_pred, y_test, feature_importance}) and returns plain
lists and small dataclasses that the chart widgets and tables draw. The stored prediction
arrays are capped at a few thousand points, so plain Python is fast enough.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuidash.core.errors import TuidashError
from tuidash.core.text import numbered_file_names

METRIC_NAMES: tuple[str, ...] = ("MAE", "MSE", "RMSE", "MAPE", "R2")
"""The regression metrics, in the order they are shown."""

HIGHER_IS_BETTER: frozenset[str] = frozenset({"R2"})
"""Metrics where a larger value is better; every other metric is an error (lower is better)."""

POINT_CHOICES: tuple[int | None, ...] = (50, 100, 200, 500, None)
"""How many points the actual-vs-predicted line shows; ``None`` means every stored point."""

BIN_CHOICES: tuple[int, ...] = (5, 10, 20, 40)
"""Histogram bin counts the user can cycle through."""

TOP_N_CHOICES: tuple[int | None, ...] = (5, 10, 20, None)
"""How many features the importance chart shows; ``None`` means all of them."""

UNDEFINED = "undefined"
"""What a metric or percentage that cannot be computed is shown as."""

_FALLBACK_HELP = {
    "MAE": "Mean absolute error: the average size of a miss, in target units (lower is better).",
    "MSE": "Mean squared error: like MAE but big misses weigh more (lower is better).",
    "RMSE": "Root mean squared error: MSE back in target units (lower is better).",
    "MAPE": "Mean absolute percentage error: the average miss relative to the actual value.",
    "R2": "Share of the target's variance the model explains: 1 is perfect, 0 is the mean.",
}


class AnalysisError(TuidashError):
    """An analysis request that cannot be done; ``message`` is one sentence for the user."""


# --------------------------------------------------------------------------- basics


def model_name(meta: Mapping[str, Any]) -> str:
    """The model's name, whichever key the metadata carries it under."""
    for key in ("name", "model_name"):
        value = meta.get(key)
        if isinstance(value, str) and value:
            return value
    inner = meta.get("metadata")
    if isinstance(inner, Mapping):
        value = inner.get("model_name") or inner.get("name")
        if isinstance(value, str) and value:
            return value
    return "unnamed model"


def model_kind(meta: Mapping[str, Any]) -> str:
    """The model's catalog id (``model_type``), or "" when the metadata does not say."""
    for source in (meta, meta.get("metadata")):
        if isinstance(source, Mapping):
            value = source.get("model_type")
            if isinstance(value, str) and value:
                return value
    return ""


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is missing, not a number, NaN or infinite."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def metric_value(meta: Mapping[str, Any], metric: str) -> float | None:
    """The model's value for ``metric``, or None when it is undefined or missing."""
    metrics = meta.get("metrics")
    if not isinstance(metrics, Mapping):
        return None
    return _finite(metrics.get(metric))


def metric_reason(meta: Mapping[str, Any], metric: str) -> str | None:
    """Why ``metric`` is undefined for this model, when the store recorded a reason."""
    reasons = meta.get("metric_reasons")
    if isinstance(reasons, Mapping):
        reason = reasons.get(metric)
        if isinstance(reason, str) and reason:
            return reason
    return None


def metric_help(metric: str) -> str:
    """A one-line explanation of ``metric`` (from ``tuidash.core.metrics`` when available)."""
    try:
        from tuidash.core.metrics import METRIC_HELP
    except ImportError:  # keep analysis usable even if the metrics module cannot be imported
        METRIC_HELP = {}
    return METRIC_HELP.get(metric) or _FALLBACK_HELP.get(metric, "")


def is_higher_better(metric: str) -> bool:
    """True when a larger value of ``metric`` is better (R2); errors are lower-is-better."""
    return metric in HIGHER_IS_BETTER


def metric_names(models: Iterable[Mapping[str, Any]]) -> list[str]:
    """The metrics to show for ``models``: the standard five, then any extra ones, sorted."""
    extra: set[str] = set()
    for meta in models:
        metrics = meta.get("metrics")
        if isinstance(metrics, Mapping):
            extra.update(str(key) for key in metrics if key not in METRIC_NAMES)
    return [*METRIC_NAMES, *sorted(extra)]


def format_value(value: float | None) -> str:
    """A number in at most about 9 characters; None becomes "undefined"."""
    if value is None:
        return UNDEFINED
    magnitude = abs(value)
    if magnitude != 0 and (magnitude >= 1e6 or magnitude < 1e-3):
        return f"{value:.3e}"
    if magnitude >= 1e4:
        return f"{value:.0f}"
    return f"{value:.4g}"


def format_signed(value: float | None) -> str:
    """Like :func:`format_value` but always with a sign, for differences."""
    if value is None:
        return UNDEFINED
    text = format_value(value)
    return text if text.startswith("-") else f"+{text}"


def format_percent(value: float | None) -> str:
    """A signed percentage with one decimal; None becomes "undefined"."""
    if value is None:
        return UNDEFINED
    return f"{value:+.1f}%"


# --------------------------------------------------------------------------- predictions


@dataclass(frozen=True)
class PredictionSample:
    """The stored (actual, predicted) pairs of one model's test set."""

    actual: list[float]
    """Actual target values, in stored order."""
    predicted: list[float]
    """The model's predictions for the same rows."""
    total: int
    """Rows in the full test set (more than ``len(actual)`` when the store kept a sample)."""
    problem: str | None = None
    """A sentence about pairs that could not be used, if any."""
    data_rows: list[int] | None = None
    """1-based data-file row of each pair (None when the model was saved without them)."""

    @property
    def stored(self) -> int:
        """How many pairs are stored and usable."""
        return len(self.actual)

    @property
    def capped(self) -> bool:
        """True when the stored pairs are a sample of a larger test set."""
        return self.total > self.stored


def prediction_sample(meta: Mapping[str, Any]) -> PredictionSample:
    """The model's usable prediction pairs; empty when the metadata stores none."""
    predictions = meta.get("predictions")
    if not isinstance(predictions, Mapping):
        return PredictionSample([], [], 0, "No predictions are stored for this model.")
    raw_actual = predictions.get("y_test")
    raw_predicted = predictions.get("y_pred")
    if not isinstance(raw_actual, Sequence) or not isinstance(raw_predicted, Sequence):
        return PredictionSample([], [], 0, "No predictions are stored for this model.")
    problems = []
    if len(raw_actual) != len(raw_predicted):
        problems.append(
            f"{len(raw_actual)} actual values but {len(raw_predicted)} predictions are "
            f"stored; the first {min(len(raw_actual), len(raw_predicted))} pairs are used."
        )
    raw_rows = _stored_rows(predictions.get("rows"), len(raw_actual), len(raw_predicted))
    actual: list[float] = []
    predicted: list[float] = []
    data_rows: list[int] = []
    skipped = 0
    for index, (a, p) in enumerate(zip(raw_actual, raw_predicted, strict=False)):
        fa, fp = _finite(a), _finite(p)
        if fa is None or fp is None:
            skipped += 1
            continue
        actual.append(fa)
        predicted.append(fp)
        if raw_rows is not None:
            data_rows.append(raw_rows[index])
    if skipped:
        problems.append(f"{skipped} pairs are not finite numbers and are left out.")
    if not actual and not problems:
        problems.append("No predictions are stored for this model.")
    total = _stored_total(meta)
    return PredictionSample(
        actual,
        predicted,
        max(total or 0, len(actual)),
        " ".join(problems) or None,
        data_rows if raw_rows is not None else None,
    )


def _stored_rows(raw: Any, *lengths: int) -> list[int] | None:
    """``predictions.rows`` when it has a positive whole number for every stored pair."""
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) < min(lengths):
        return None
    if not all(isinstance(r, int) and not isinstance(r, bool) and r > 0 for r in raw):
        return None
    return list(raw)


def _stored_total(meta: Mapping[str, Any]) -> int | None:
    """``predictions_total`` (the full test-set size) wherever the metadata keeps it."""
    for source in (meta, meta.get("metadata")):
        if isinstance(source, Mapping):
            value = source.get("predictions_total")
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


def evenly_spaced(count: int, limit: int | None) -> list[int]:
    """At most ``limit`` indices spread evenly over ``range(count)``, first and last included."""
    if limit is None or count <= limit:
        return list(range(count))
    if limit <= 0:
        return []
    if limit == 1:
        return [0]
    step = (count - 1) / (limit - 1)
    return [round(i * step) for i in range(limit)]


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


def row_order(actual: Sequence[float], by_actual: bool) -> list[int]:
    """Indices of the rows as stored, or from the smallest actual value to the largest."""
    indices = list(range(len(actual)))
    if by_actual:
        indices.sort(key=lambda i: (actual[i], i))
    return indices


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
    finite = [v for v in (_finite(x) for x in values) if v is not None]
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
                cleaned = {str(k): v for k, v in ((k, _finite(v)) for k, v in raw.items())}
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
    "coefficient": "Coefficient size (|coef| on scaled inputs)",
    "permutation": "Permutation importance (MAE increase)",
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
}
"""What training measures for each model kind, for entries saved without the method."""


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
                return stored
    kind = _KIND_BY_MODEL.get(model_kind(meta), "unknown")
    if model_kind(meta) == "svr":
        params = meta.get("params")
        linear = isinstance(params, Mapping) and params.get("kernel") == "linear"
        kind = "coefficient" if linear else "permutation"
    values = feature_importance(meta) or {}
    if kind in ("impurity", "coefficient") and any(v < 0 for v in values.values()):
        return "unknown"
    return kind


def importance_title(kind: str) -> str:
    """The chart title for a kind of importance."""
    return IMPORTANCE_KINDS.get(kind, IMPORTANCE_KINDS["unknown"])


def importance_note(kind: str) -> str:
    """One sentence on how to read the importance chart."""
    return {
        "impurity": "How much the trees' splits on a column reduce the error; never negative.",
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


def row_label(sample: PredictionSample) -> str:
    """What the errors table's row numbers are: "Data row" or "Test row" (position)."""
    return "Data row" if sample.data_rows is not None else "Test row"


def row_note(sample: PredictionSample) -> str:
    """A sentence saying what the row numbers of the errors table count."""
    if sample.data_rows is not None:
        return "Data row: the row in the data file (1 = the first row after the header)."
    return (
        "Test row: the position in the test sample; this model was saved without "
        "the data file's row numbers."
    )


# --------------------------------------------------------------------------- CSV export


def _file_stem(text: str) -> str:
    """A shell-friendly file name part made from a model name."""
    stem = re.sub(r"[^A-Za-z0-9._()-]+", "_", text.strip()).strip("._")
    return stem[:80] or "model"


def _csv_number(value: float | None) -> str:
    """Full precision for numbers, an empty cell for undefined values."""
    return "" if value is None else repr(value)


def write_new_csv(
    directory: str | Path, stem: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Path:
    """Write a CSV under a free name (``stem.csv``, ``stem_2.csv``, ...: the rule of
    ``tuidash.core.text``); never overwrite."""
    folder = Path(directory).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AnalysisError(
            f"Could not create the export folder {folder}: {exc.strerror or exc}."
        ) from exc
    rows = list(rows)
    for path in itertools.islice((folder / n for n in numbered_file_names(stem, ".csv")), 10_000):
        try:
            # "x" creates the file only if it does not exist, so a file that appears
            # between looking and writing is never overwritten.
            with path.open("x", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(rows)
        except FileExistsError:
            continue
        except OSError as exc:
            raise AnalysisError(f"Could not write {path}: {exc.strerror or exc}.") from exc
        return path.resolve()
    raise AnalysisError(f"Could not find a free file name for {stem}.csv in {folder}.")


def export_errors_csv(meta: Mapping[str, Any], directory: str | Path) -> Path:
    """Write the model's errors table to a new CSV in ``directory``; return its path."""
    sample = prediction_sample(meta)
    if not sample.stored:
        raise AnalysisError(f"{model_name(meta)} has no stored predictions to export.")
    rows = [
        [
            r.row,
            _csv_number(r.actual),
            _csv_number(r.predicted),
            _csv_number(r.error),
            _csv_number(r.percent_error),
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
    return write_new_csv(directory, f"{_file_stem(model_name(meta))}_errors", header, rows)


def export_comparison_csv(models: Sequence[Mapping[str, Any]], directory: str | Path) -> Path:
    """Write the models x metrics table (empty cell = undefined) to a new CSV; return its path."""
    if not models:
        raise AnalysisError("There are no models to export.")
    names = metric_names(models)
    # Best values only among comparable models (same target of the same data).
    best: dict[int, dict[str, list[str]]] = {}
    for group in comparison_groups(models):
        if group.known:
            winners = best_models(group.models)
            best.update({id(meta): winners for meta in group.models})
    header = ["model", "kind", *names, "best_at"]
    rows = []
    for meta in models:
        name = model_name(meta)
        own = best.get(id(meta), {})
        wins = [metric for metric in names if name in own.get(metric, [])]
        rows.append(
            [
                name,
                model_kind(meta),
                *(_csv_number(metric_value(meta, metric)) for metric in names),
                " ".join(wins),
            ]
        )
    return write_new_csv(directory, "comparison", header, rows)


# --------------------------------------------------------------------------- comparison


UNKNOWN_DATA = "data unknown"
"""The label of models saved without a data fingerprint (e.g. by the original app)."""


@dataclass(frozen=True)
class Provenance:
    """What a model was trained on, from its ``data`` block: enough to tell comparability."""

    data: str | None
    """Identity of the data: ``sha256:…`` when fingerprinted, else ``source:…``; None unknown."""
    source: str | None
    """Where the data came from (a path or ``sample:…``), for display."""
    target: str | None
    """The column the model predicts."""
    split: tuple[Any, ...] | None
    """How the test rows were chosen (test size, random state, kept order, batching);
    None when not recorded."""

    @property
    def known(self) -> bool:
        """True when both the data and the target are recorded."""
        return self.data is not None and self.target is not None


def _data_block(meta: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for source in (meta, meta.get("metadata")):
        if isinstance(source, Mapping) and isinstance(source.get("data"), Mapping):
            return source["data"]  # type: ignore[no-any-return]
    return None


def provenance(meta: Mapping[str, Any]) -> Provenance:
    """The model's data identity, target and test split, as far as its metadata records them."""
    data = _data_block(meta)
    if data is None:
        return Provenance(None, None, None, None)

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    sha, source, target = text("sha256"), text("source"), text("target")
    if sha:
        identity: str | None = f"sha256:{sha}"
    elif source and source != "frame":  # a DataFrame handed in directly has no identity
        identity = f"source:{source}"
    else:
        identity = None
    split: tuple[Any, ...] | None = None
    test_size, state, keep = data.get("test_size"), data.get("random_state"), data.get("keep_order")
    size = _finite(test_size)
    if size is not None and (keep is True or isinstance(state, int)):
        batch = data.get("batch_rows")
        batch = batch if isinstance(batch, int) and batch > 1 else None
        split = (size, None if keep is True else state, keep is True, batch)
    return Provenance(identity, source, target, split)


def _split_text(split: tuple[Any, ...] | None) -> str:
    if split is None:
        return "split not recorded"
    test_size, state, keep, batch = split
    text = f"test size {format_value(test_size)}, " + (
        "last rows (order kept)" if keep else f"random state {state}"
    )
    return text + (f", batches of {batch}" if batch else "")


def _source_name(source: str | None) -> str:
    if not source:
        return "unnamed data"
    return re.split(r"[\\/]", source)[-1] or source


@dataclass(frozen=True)
class ModelGroup:
    """Models that can be ranked against each other: same target of the same data."""

    models: list[Mapping[str, Any]]
    """The models' metadata dicts, in the order given."""
    provenance: Provenance
    """What they were trained on (of the first model; the rest share data and target)."""

    @property
    def known(self) -> bool:
        """False for the models whose data is unknown (never ranked)."""
        return self.provenance.known

    @property
    def names(self) -> list[str]:
        """Model names, in order."""
        return [model_name(m) for m in self.models]

    @property
    def label(self) -> str:
        """ "'price' of houses.csv", or "data unknown"."""
        if not self.known:
            return UNKNOWN_DATA
        return f"{self.provenance.target!r} of {_source_name(self.provenance.source)}"

    def test_rows_note(self) -> str | None:
        """A sentence when the models were not all tested on the same rows, else None."""
        if not self.known or len(self.models) < 2:
            return None
        splits: dict[str, list[str]] = {}
        for meta in self.models:
            splits.setdefault(_split_text(provenance(meta).split), []).append(model_name(meta))
        if len(splits) == 1 and "split not recorded" not in splits:
            return None
        if len(splits) == 1:
            return "Their test splits are not recorded, so their test rows may differ."
        parts = "; ".join(f"{_join(names)}: {text}" for text, names in splits.items())
        return (
            f"Their test rows differ ({parts}), so the metrics are measured on different "
            "rows of the same data."
        )


def comparison_groups(models: Sequence[Mapping[str, Any]]) -> list[ModelGroup]:
    """Models grouped by what they predict: the same target of the same data.

    Data are the same when the fingerprints (``data.sha256``) match, or, for models saved
    without one, when the sources match. Groups come in the order of their first model;
    models whose data or target is unknown form one last group that is never ranked.
    """
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    unknown: list[Mapping[str, Any]] = []
    for meta in models:
        origin = provenance(meta)
        if origin.data is None or origin.target is None:
            unknown.append(meta)
        else:
            groups.setdefault((origin.data, origin.target), []).append(meta)
    out = [ModelGroup(members, provenance(members[0])) for members in groups.values()]
    if unknown:
        out.append(ModelGroup(unknown, Provenance(None, None, None, None)))
    return out


def comparable(models: Sequence[Mapping[str, Any]]) -> str | None:
    """None when ``models`` can be ranked together; otherwise one sentence saying why not."""
    groups = comparison_groups(models)
    if len(models) < 2 or (len(groups) == 1 and groups[0].known):
        return None
    unknown = [g for g in groups if not g.known]
    if unknown:
        names = unknown[0].names
        whose = f"{names[0]} is" if len(names) == 1 else f"{_join(names)} are"
        return (
            f"The data of {whose} unknown (saved without a data fingerprint), so no model "
            "is recommended: metrics of different data or targets cannot be ranked."
        )
    labels = _join([f"{g.label} ({len(g.models)})" for g in groups])
    return (
        f"These models predict different targets or use different data ({labels}), "
        "so none is recommended across them."
    )


def best_per_group(models: Sequence[Mapping[str, Any]]) -> set[str]:
    """Names of the models with the best R2 among the models comparable with them.

    Ties go to every model holding the best value; models of unknown data are never best.
    """
    best: set[str] = set()
    for group in comparison_groups(models):
        if group.known:
            best.update(best_models(group.models).get("R2", []))
    return best


@dataclass(frozen=True)
class MetricsTable:
    """A grid of metric values with labelled rows and columns."""

    row_labels: list[str]
    """Model names (or metric names when transposed)."""
    column_labels: list[str]
    """Metric names (or model names when transposed)."""
    values: list[list[float | None]]
    """``values[row][column]``; None is undefined."""
    models_are_rows: bool = True
    """False in the transposed view."""

    def transposed(self) -> MetricsTable:
        """The same table with rows and columns swapped."""
        columns = [list(col) for col in zip(*self.values, strict=True)] if self.values else []
        if not self.values:
            columns = [[] for _ in self.column_labels]
        return MetricsTable(
            list(self.column_labels), list(self.row_labels), columns, not self.models_are_rows
        )


def metrics_table(models: Sequence[Mapping[str, Any]]) -> MetricsTable:
    """Models as rows, metrics as columns."""
    names = metric_names(models)
    return MetricsTable(
        [model_name(m) for m in models],
        names,
        [[metric_value(m, metric) for metric in names] for m in models],
    )


def best_values(models: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Best value of each metric (lowest error, highest R2); undefined values are skipped."""
    best: dict[str, float] = {}
    for metric in metric_names(models):
        values = [v for v in (metric_value(m, metric) for m in models) if v is not None]
        if values:
            best[metric] = max(values) if is_higher_better(metric) else min(values)
    return best


def is_best(value: float | None, best: float | None) -> bool:
    """True when ``value`` equals the best value (tolerating float round-off)."""
    if value is None or best is None:
        return False
    return math.isclose(value, best, rel_tol=1e-12, abs_tol=1e-15)


def best_models(models: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """For each metric with a defined value, the model(s) holding the best value."""
    winners: dict[str, list[str]] = {}
    for metric, best in best_values(models).items():
        winners[metric] = [model_name(m) for m in models if is_best(metric_value(m, metric), best)]
    return winners


@dataclass(frozen=True)
class Recommendation:
    """Which model to pick by R2, and by how much it beats the next one."""

    name: str | None
    """The recommended model, or None when no model has a defined R2."""
    r2: float | None
    """Its R2."""
    runner_up: str | None
    """The second best model by R2."""
    runner_up_r2: float | None
    """The runner-up's R2."""
    margin: float | None
    """R2 of the recommended model minus the runner-up's."""
    text: str
    """One sentence for the user."""


def recommend(models: Sequence[Mapping[str, Any]]) -> Recommendation:
    """Recommend the model with the highest R2 and say its margin over the runner-up."""
    if not models:
        return Recommendation(None, None, None, None, None, "No models to compare.")
    refused = comparable(models)
    if refused is not None:
        return Recommendation(None, None, None, None, None, refused)
    scored = [(model_name(m), metric_value(m, "R2")) for m in models]
    ranked = sorted(
        ((name, r2) for name, r2 in scored if r2 is not None), key=lambda item: -item[1]
    )
    if not ranked:
        return Recommendation(
            None, None, None, None, None, "No model has a defined R2, so none is recommended."
        )
    name, r2 = ranked[0]
    if len(models) == 1:
        text = f"Only one model ({name}, R2 {format_value(r2)}): there is nothing to compare."
        return Recommendation(name, r2, None, None, None, text)
    if len(ranked) == 1:
        text = f"{name} is the only model with a defined R2 ({format_value(r2)})."
        return Recommendation(name, r2, None, None, None, text)
    runner, runner_r2 = ranked[1]
    margin = r2 - runner_r2
    if is_best(runner_r2, r2):
        text = f"{name} and {runner} tie on R2 ({format_value(r2)}); neither is ahead."
    else:
        text = (
            f"Recommended: {name}, R2 {format_value(r2)}, "
            f"{format_value(margin)} ahead of {runner} ({format_value(runner_r2)})."
        )
    return Recommendation(name, r2, runner, runner_r2, margin, text)


@dataclass(frozen=True)
class GroupedBars:
    """Metrics scaled for one grouped bar chart: each metric divided by its largest |value|."""

    metrics: list[str]
    """Bar groups (one per metric with at least one defined value)."""
    models: list[str]
    """One bar per model in each group."""
    values: list[list[float]]
    """``values[model][metric]``, in [-1, 1]; undefined values are 0 and listed in
    ``undefined``."""
    undefined: list[tuple[str, str]] = field(default_factory=list)
    """(model, metric) pairs drawn as 0 because the value is undefined."""


def normalised_metrics(models: Sequence[Mapping[str, Any]]) -> GroupedBars:
    """Scale each metric by its largest absolute value so MSE and R2 share one chart."""
    metrics = [m for m in metric_names(models) if m in best_values(models)]
    names = [model_name(m) for m in models]
    values: list[list[float]] = [[] for _ in models]
    undefined: list[tuple[str, str]] = []
    for metric in metrics:
        column = [metric_value(m, metric) for m in models]
        scale = max((abs(v) for v in column if v is not None), default=0.0)
        for index, value in enumerate(column):
            if value is None:
                undefined.append((names[index], metric))
                values[index].append(0.0)
            else:
                values[index].append(value / scale if scale else 0.0)
    return GroupedBars(metrics, names, values, undefined)


@dataclass(frozen=True)
class Overlay:
    """Several models' predictions over the same test rows, with the actual values."""

    ok: bool
    """False when the predictions cannot be overlaid (see ``message``)."""
    message: str
    """What is shown, or why nothing can be."""
    rows: list[int] = field(default_factory=list)
    """1-based test rows shown."""
    actual: list[float] = field(default_factory=list)
    """Actual values at those rows."""
    series: list[tuple[str, list[float]]] = field(default_factory=list)
    """(model name, predictions at those rows) per model."""
    by_actual: bool = False
    """True when the rows are ordered by their actual value (``rows`` are ranks)."""


def predictions_overlay(
    models: Sequence[Mapping[str, Any]], max_points: int | None = 200, *, by_actual: bool = False
) -> Overlay:
    """Overlay the models' predictions, only when they were tested on the same rows."""
    samples = [(model_name(m), prediction_sample(m)) for m in models]
    with_data = [(name, s) for name, s in samples if s.stored]
    missing = [name for name, s in samples if not s.stored]
    if not with_data:
        return Overlay(False, "None of these models has stored predictions.")
    first_name, first = with_data[0]
    different = [name for name, s in with_data[1:] if s.actual != first.actual]
    if different:
        return Overlay(
            False,
            f"{_join(different)} {'was' if len(different) == 1 else 'were'} tested on "
            f"different rows from {first_name}, so the predictions cannot be overlaid.",
        )
    order = row_order(first.actual, by_actual)
    spaced = evenly_spaced(len(order), max_points)
    picks = [order[j] for j in spaced]
    series = [(name, [s.predicted[i] for i in picks]) for name, s in with_data]
    message = f"{len(picks)} of {first.stored} test rows"
    if len(models) == 1:
        message = f"Only one model: {message}"
    if missing:
        message += f"; no stored predictions for {_join(missing)}"
    rows = [(j if by_actual else order[j]) + 1 for j in spaced]
    actual = [first.actual[i] for i in picks]
    return Overlay(True, message + ".", rows, actual, series, by_actual)


def _join(names: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class MetricDiff:
    """One metric of two models and how B differs from A."""

    metric: str
    """Metric name."""
    a: float | None
    """Model A's value."""
    b: float | None
    """Model B's value."""
    difference: float | None
    """B - A; None when either is undefined."""
    percent: float | None
    """(B - A) / |A| * 100; None when undefined or A is 0."""
    better: str | None
    """Name of the better model on this metric; None on a tie or when undefined."""


@dataclass(frozen=True)
class ParamDiff:
    """A parameter whose value differs between two models."""

    name: str
    """Parameter name."""
    a: str
    """Model A's value, as text ("not set" when A has no such parameter)."""
    b: str
    """Model B's value, as text."""


@dataclass(frozen=True)
class PairDiff:
    """Two models side by side: metric differences and the parameters that differ."""

    a_name: str
    """Model A."""
    b_name: str
    """Model B."""
    kinds: tuple[str, str]
    """Both model kinds (catalog ids, "" when unknown)."""
    metrics: list[MetricDiff]
    """Every metric, B relative to A."""
    params: list[ParamDiff]
    """Only the parameters whose values differ."""

    @property
    def same_kind(self) -> bool:
        """True when both models are of the same kind."""
        return self.kinds[0] == self.kinds[1]


_NOT_SET = object()


def _param_text(value: Any) -> str:
    """A parameter value as the user typed it."""
    return "not set" if value is _NOT_SET else str(value)


def pairwise_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> PairDiff:
    """How model B differs from model A, per metric (absolute and %) and per parameter."""
    a_name, b_name = model_name(a), model_name(b)
    diffs = []
    for metric in metric_names([a, b]):
        va, vb = metric_value(a, metric), metric_value(b, metric)
        if va is None or vb is None:
            diffs.append(MetricDiff(metric, va, vb, None, None, None))
            continue
        difference = vb - va
        percent = None if va == 0 else difference / abs(va) * 100
        if is_best(va, vb):
            better = None
        elif (vb > va) == is_higher_better(metric):
            better = b_name
        else:
            better = a_name
        diffs.append(MetricDiff(metric, va, vb, difference, percent, better))
    raw_a, raw_b = a.get("params"), b.get("params")
    params_a: Mapping[str, Any] = raw_a if isinstance(raw_a, Mapping) else {}
    params_b: Mapping[str, Any] = raw_b if isinstance(raw_b, Mapping) else {}
    changed = []
    for key in sorted(set(params_a) | set(params_b), key=str):
        pa, pb = params_a.get(key, _NOT_SET), params_b.get(key, _NOT_SET)
        if pa is _NOT_SET or pb is _NOT_SET or pa != pb:
            changed.append(ParamDiff(str(key), _param_text(pa), _param_text(pb)))
    kinds = (model_kind(a), model_kind(b))
    return PairDiff(a_name, b_name, kinds, diffs, changed)
