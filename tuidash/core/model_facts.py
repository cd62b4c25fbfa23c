"""What a saved model's metadata says, read leniently for analysis and comparison.

Pure Python (no numpy, no pandas, no textual): the metadata dicts the store lists without
unpickling (keys ``name``, ``metrics``, ``metric_reasons``, ``params``, ``model_type``,
``predictions`` {y_pred, y_test, rows, feature_importance}) give a model's name and kind,
its metrics with their direction, help and display, and its stored sample of test
predictions. Both CSV exports write through ``write_new_csv`` here.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuidash.core.errors import TuidashError
from tuidash.core.metrics import CLASSIFICATION_METRIC_NAMES
from tuidash.core.text import numbered_file_names

METRIC_NAMES: tuple[str, ...] = ("MAE", "MSE", "RMSE", "MAPE", "R2")
"""The regression metrics, in the order they are shown."""

HIGHER_IS_BETTER: frozenset[str] = frozenset(
    {"R2", *(m for m in CLASSIFICATION_METRIC_NAMES if m != "Log loss")}
)
"""Metrics where a larger value is better (R2 and the classification scores); every other
metric is an error or a loss (lower is better)."""

TASK_METRIC_NAMES: dict[str, tuple[str, ...]] = {
    "regression": METRIC_NAMES,
    "classification": CLASSIFICATION_METRIC_NAMES,
}
"""The standard metrics of each task, in the order they are shown."""

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


def model_task(meta: Mapping[str, Any]) -> str:
    """regression or classification: the metadata's ``task`` (regression when unrecorded,
    as every model of the original app and of tuidash before classification)."""
    for source in (meta, meta.get("metadata")):
        if isinstance(source, Mapping):
            value = source.get("task")
            if value in TASK_METRIC_NAMES:
                return str(value)
    return "regression"


def is_classification(meta: Mapping[str, Any]) -> bool:
    """True for a classifier's metadata."""
    return model_task(meta) == "classification"


def finite_value(value: Any) -> float | None:
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
    return finite_value(metrics.get(metric))


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
    from tuidash.core.metrics import CLASSIFICATION_METRIC_HELP, METRIC_HELP

    return (
        METRIC_HELP.get(metric)
        or CLASSIFICATION_METRIC_HELP.get(metric)
        or _FALLBACK_HELP.get(metric, "")
    )


def is_higher_better(metric: str) -> bool:
    """True when a larger value of ``metric`` is better (R2, accuracy, F1, ROC AUC, ...);
    errors and log loss are lower-is-better."""
    return metric in HIGHER_IS_BETTER


def metric_names(models: Iterable[Mapping[str, Any]]) -> list[str]:
    """The metrics to show for ``models``: the standard ones of their tasks (the five
    regression metrics, then the classification ones when there are classifiers; only the
    classification ones when all are classifiers), then any extra ones, sorted."""
    models = list(models)
    tasks = {model_task(meta) for meta in models} or {"regression"}
    standard: list[str] = []
    for task in ("regression", "classification"):
        if task in tasks:
            standard.extend(TASK_METRIC_NAMES[task])
    extra: set[str] = set()
    for meta in models:
        metrics = meta.get("metrics")
        if isinstance(metrics, Mapping):
            extra.update(str(key) for key in metrics if key not in standard)
    return [*standard, *sorted(extra)]


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
        fa, fp = finite_value(a), finite_value(p)
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


def row_order(actual: Sequence[float], by_actual: bool) -> list[int]:
    """Indices of the rows as stored, or from the smallest actual value to the largest."""
    indices = list(range(len(actual)))
    if by_actual:
        indices.sort(key=lambda i: (actual[i], i))
    return indices


# --------------------------------------------------------------------------- CSV export


def file_stem(text: str) -> str:
    """A shell-friendly file name part made from a model name."""
    stem = re.sub(r"[^A-Za-z0-9._()-]+", "_", text.strip()).strip("._")
    return stem[:80] or "model"


def csv_number(value: float | None) -> str:
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
