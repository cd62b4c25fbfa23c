"""Preprocessing pipeline, split, fit and evaluate: turns a frame into a TrainedModel.

Pure Python: pandas, numpy and sklearn are imported inside the functions. Progress is a
plain callback ``progress(fraction, text)``; cancelling is a ``threading.Event`` checked
between chunks of estimators, boosting rounds, epochs and cross-validation folds.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuidash.core.catalog import get_kind
from tuidash.core.data import LoadedData, column_kind
from tuidash.core.errors import TuidashError
from tuidash.core.jsonsafe import plain_json
from tuidash.core.metrics import MetricsResult, regression_metrics

_log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PREDICTION_CAP = 2000
"""At most this many (y_test, y_pred) points are kept for charts; metrics use every row."""

PERMUTATION_ROWS = 500
"""Permutation importance is measured on at most this many test rows (evenly spaced)."""

PERMUTATION_REPEATS = 3
"""Shuffles per column for permutation importance: enough for a ranking, cheap to run."""

ONE_HOT_MAX_CATEGORIES = 50
"""One-hot columns per text feature at most; rarer values share one "infrequent" column.

A column with a different value in nearly every row (an ID) would otherwise become as many
dense columns as rows: gigabytes and minutes of an uninterruptible fit.
"""

ID_MIN_DISTINCT = 50
"""A text column with more distinct values than this ..."""

ID_UNIQUE_RATIO = 0.5
"""... in more than this share of its rows looks like an identifier and is left out by default."""

TEXT_DISTINCT_CAP = 1000
"""A text column with more distinct values than this is left out by default (too many to learn)."""

ProgressCallback = Callable[[float, str], None]


def build_pipeline(
    kind_id: str,
    params: Mapping[str, Any] | None,
    numeric_features: Sequence[str],
    categorical_features: Sequence[str],
    random_state: int | None = 42,
    date_features: Sequence[str] = (),
) -> Any:
    """The unfitted sklearn Pipeline that is trained and saved: preprocessing + estimator.

    Numeric columns: median imputation (+ standard scaling when the kind needs it).
    Text/categorical columns: most-frequent imputation + one-hot of at most
    ONE_HOT_MAX_CATEGORIES columns each (rare and unseen values share one column).
    Date columns (real, or dates written as text): year, month, day of week and ordinal day
    (``tuidash.core.dates.DateFeatures``), then like numbers.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    kind = get_kind(kind_id)
    numeric_steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if kind.needs_scaling:
        numeric_steps.append(("scale", StandardScaler()))
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric_features:
        transformers.append(("numeric", Pipeline(numeric_steps), list(numeric_features)))
    if categorical_features:
        categorical = Pipeline(
            [
                ("impute", SimpleImputer(strategy="most_frequent")),
                (
                    "onehot",
                    # Bounded width whatever the column holds; values never seen in training
                    # go to the "infrequent" column when there is one, else to all zeros.
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        max_categories=ONE_HOT_MAX_CATEGORIES,
                        sparse_output=False,
                    ),
                ),
            ]
        )
        transformers.append(("categorical", categorical, list(categorical_features)))
    if date_features:
        from tuidash.core.dates import DateFeatures

        # keep_empty_features: always four outputs per column, so importance adds up per column.
        date_steps: list[tuple[str, Any]] = [
            ("dates", DateFeatures()),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ]
        if kind.needs_scaling:
            date_steps.append(("scale", StandardScaler()))
        transformers.append(("dates", Pipeline(date_steps), list(date_features)))
    preprocess = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("preprocess", preprocess), ("model", kind.build(params, random_state))])


# --------------------------------------------------------------------------- errors


class TrainingError(TuidashError, ValueError):
    """Training cannot start or finish on this data; the message is one sentence for a person."""


class TrainingCancelled(Exception):
    """The person cancelled training; nothing was produced."""

    def __init__(self, message: str = "Training was cancelled.") -> None:
        super().__init__(message)


class SchemaError(TuidashError, ValueError):
    """New data does not fit a model's feature schema; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        """Every reason the data does not fit, one sentence each."""
        super().__init__(" ".join(self.problems) or "The data does not fit the model.")


# --------------------------------------------------------------------------- config


@dataclass
class TrainConfig:
    """What to learn from which columns, and how to split and batch the rows."""

    target: str
    features: Sequence[str] | None = None
    """Feature columns; None means every column except the target."""
    test_size: float = 0.2
    """Share of rows held out for the metrics, 0.1 to 0.4."""
    random_state: int = 42
    keep_order: bool = False
    """Keep row order and test on the last rows (time-ordered data)."""
    cv_folds: int | None = None
    """k-fold cross-validation on the training rows (2 to 20), or None for none."""
    batch_rows: int | None = None
    """Aggregate every N rows into one before training (None or 1: no batching)."""

    def validate(self) -> None:
        """Raise TrainingError with one sentence if a setting is outside its range."""
        if not isinstance(self.target, str) or not self.target:
            raise TrainingError("Choose a target column to predict.")
        size = self.test_size
        if isinstance(size, bool) or not isinstance(size, int | float) or math.isnan(size):
            raise TrainingError(f"The test size must be a number from 0.1 to 0.4, not {size!r}.")
        if not 0.1 <= size <= 0.4:
            raise TrainingError(
                f"The test size must be from 0.1 to 0.4 (10% to 40%), not {size:g}."
            )
        if not _is_int(self.random_state) or self.random_state < 0:
            raise TrainingError(
                f"The random state must be a whole number 0 or more, not {self.random_state!r}."
            )
        if self.cv_folds is not None and (
            not _is_int(self.cv_folds) or not 2 <= self.cv_folds <= 20
        ):
            raise TrainingError(
                "Cross-validation folds must be a whole number from 2 to 20, "
                f"not {self.cv_folds!r}."
            )
        if self.batch_rows is not None and (not _is_int(self.batch_rows) or self.batch_rows < 1):
            raise TrainingError(
                f"Batch rows must be a whole number 1 or more, not {self.batch_rows!r}."
            )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------- result


@dataclass
class TrainedModel:
    """A fitted pipeline with its metrics, test predictions and everything the store keeps."""

    kind_id: str
    display_name: str
    pipeline: Any
    """The fitted sklearn Pipeline (preprocess + model); it predicts on raw rows."""
    params: dict[str, Any]
    metrics: MetricsResult
    y_test: np.ndarray
    y_pred: np.ndarray
    feature_importance: dict[str, float] | None
    """Importance per original column, largest first (see ``importance_method``)."""
    cv: dict[str, Any] | None
    """{folds, metric: "R2", scores, mean, std, splitter} when cross-validation ran."""
    train_seconds: float
    """Wall time of the whole train_model call."""
    data_info: dict[str, Any]
    """The data fingerprint: source, sha256, rows, target, features [{name, dtype, kind}], ..."""
    importance_method: str | None = None
    """impurity (trees), coefficient (|coef| on scaled inputs), permutation, or none."""
    notes: list[str] = field(default_factory=list)
    """What a person should know: dropped rows, skipped columns, non-convergence."""
    test_data_rows: np.ndarray | None = None
    """The data-file row (1-based data row) of each test row, in ``y_test`` order."""

    @property
    def features(self) -> list[dict[str, Any]]:
        """The feature schema [{name, dtype, kind}] that predict() checks new data against."""
        return list(self.data_info.get("features", []))

    @property
    def target(self) -> str:
        """The target column's name."""
        return str(self.data_info.get("target", ""))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predict on raw rows after checking them against the feature schema."""
        return predict(self.pipeline, frame, self.features)

    def to_model_data(self) -> dict[str, Any]:
        """The dict ModelPersistence.save_model takes (predictions capped to PREDICTION_CAP)."""
        y_test, y_pred, rows = _cap_predictions(
            self.y_test, self.y_pred, PREDICTION_CAP, self.test_data_rows
        )
        importance = None
        if self.feature_importance is not None:
            importance = {k: _json_float(v) for k, v in self.feature_importance.items()}
        data: dict[str, Any] = {
            "model": self.pipeline,
            "metrics": dict(self.metrics.values),
            "metric_reasons": dict(self.metrics.reasons),
            "params": plain_json(self.params),
            "predictions": {
                "y_pred": [_json_float(v) for v in y_pred],
                "y_test": [_json_float(v) for v in y_test],
                "feature_importance": importance,
                # How the importances were measured, next to them (the listing keeps this
                # block), and the data-file row of each stored pair (same cap as y_pred).
                "feature_importance_method": self.importance_method,
                "rows": rows,
            },
            "model_type": self.kind_id,
            "task": "regression",
            "data": plain_json(self.data_info),
            "train_seconds": round(float(self.train_seconds), 4),
            "feature_importance_method": self.importance_method,
        }
        if len(self.y_test) > len(y_test):
            data["predictions_total"] = len(self.y_test)
        if self.cv is not None:
            data["cv"] = plain_json(self.cv)
        return data


def _cap_predictions(
    y_test: Any, y_pred: Any, cap: int, rows: Any = None
) -> tuple[list[Any], list[Any], list[int] | None]:
    """An evenly spaced sample (order kept) of at most ``cap`` points, with their data rows."""
    import numpy as np

    test = np.asarray(y_test, dtype=np.float64).ravel()
    pred = np.asarray(y_pred, dtype=np.float64).ravel()
    numbers = None if rows is None else np.asarray(rows, dtype=np.int64).ravel()
    if numbers is not None and numbers.size != test.size:
        numbers = None
    if test.size <= cap:
        index = np.arange(test.size)
    else:
        index = np.unique(np.linspace(0, test.size - 1, cap).round().astype(np.int64))
    kept_rows = None if numbers is None else [int(r) for r in numbers[index]]
    return test[index].tolist(), pred[index].tolist(), kept_rows


def _test_data_rows(keep: Any, batch_rows: int | None, test_index: Any) -> Any:
    """The 1-based data-file row of each test row.

    ``keep`` marks the data rows with a target value (the others were dropped); a batch of
    rows is numbered by its last row, the row its target comes from.
    """
    import numpy as np

    rows = np.flatnonzero(np.asarray(keep, dtype=bool)) + 1
    if batch_rows is not None and batch_rows > 1:
        rows = rows[
            np.minimum(
                np.arange(batch_rows - 1, rows.size + batch_rows - 1, batch_rows), rows.size - 1
            )
        ]
    return rows[np.asarray(test_index, dtype=np.int64)]


def _json_float(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


# --------------------------------------------------------------------------- progress

PREDICT_CHUNK_ROWS = 2000
"""Test rows predicted per call, so evaluation reports progress and honours cancel.

k-Nearest Neighbours on a large training set predicts about 2,000 rows a second; a chunk
this size keeps every pause between cancel checks near a second.
"""

CHUNK_SECONDS = 1.0
"""Ensembles are grown in chunks of about this many seconds (see ``_fit_grown``)."""

ESTIMATE_AFTER_SECONDS = 2.0
"""A step must have run this long before its pace is trusted to estimate the time left."""

_NUMBERS = re.compile(r"\d[\d,.]*")


class _Progress:
    """Reports progress and raises TrainingCancelled when the cancel event is set.

    ``scaled`` gives a child that maps its own 0..1 into a part of this one's range and
    puts a prefix before its texts (a cross-validation fold reports inside its share).
    """

    def __init__(
        self,
        callback: ProgressCallback | None,
        cancel: threading.Event | None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.callback = callback
        self.cancel = cancel
        self.clock = clock
        """Seconds for sizing chunks of work (tests pass a fake one)."""

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise TrainingCancelled()

    def __call__(self, fraction: float, text: str) -> None:
        self.check()
        if self.callback is not None:
            self.callback(max(0.0, min(1.0, fraction)), text)

    def scaled(self, start: float, end: float, prefix: str = "") -> _Progress:
        """A child reporting into ``start``..``end`` of this range, texts after ``prefix``."""
        parent = self

        def forward(fraction: float, text: str) -> None:
            parent(start + (end - start) * fraction, f"{prefix}{text}")

        return _Progress(forward if self.callback is not None else None, self.cancel, self.clock)

    def silent(self) -> _Progress:
        """The same cancel checks without progress reports."""
        return _Progress(None, self.cancel, self.clock)


def duration_text(seconds: float) -> str:
    """A stopwatch reading: 0:07, 12:05, 1:02:03."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def time_left_text(seconds: float) -> str:
    """A rough estimate in words: "a few seconds left", "about 40 s left", "about 7 min left"."""
    if seconds < 10:
        return "a few seconds left"
    if seconds < 60:
        return f"about {round(seconds / 10) * 10} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min left" if minutes else f"about {hours} h left"


class ProgressTimer:
    """Elapsed time and an estimate of the time left of one training, from its reports.

    Reports whose texts differ only in their numbers ("Fitted 10 of 100 trees", "Fitted 20
    of 100 trees") belong to one step. Once a step has moved the fraction for at least
    ESTIMATE_AFTER_SECONDS, its pace estimates the rest; a single long fit that reports only
    when it starts gives no estimate, only the elapsed time. ``clock`` returns seconds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        """Seconds (monotonic); tests pass a fake clock."""
        self.started = clock()
        """When the training started."""
        self.fraction = 0.0
        """The last reported fraction."""
        self._step: str | None = None
        self._first: tuple[float, float] | None = None
        self._last: tuple[float, float] | None = None

    def report(self, fraction: float, text: str) -> None:
        """Record one progress report (call it when the report arrives)."""
        now = self.clock()
        step = _NUMBERS.sub("#", text)
        if step != self._step or self._first is None:
            self._step = step
            self._first = (now, fraction)
        self._last = (now, fraction)
        self.fraction = fraction

    def elapsed(self) -> float:
        """Seconds since the training started."""
        return max(0.0, self.clock() - self.started)

    def remaining(self) -> float | None:
        """Estimated seconds left, or None while there is no pace to go by."""
        if self._first is None or self._last is None:
            return None
        (first_at, first_fraction), (last_at, last_fraction) = self._first, self._last
        took = last_at - first_at
        moved = last_fraction - first_fraction
        if took < ESTIMATE_AFTER_SECONDS or moved <= 0:
            return None
        pace = moved / took
        return max(0.0, (1.0 - last_fraction) / pace - (self.clock() - last_at))

    def text(self) -> str:
        """ "1:05 elapsed" or "1:05 elapsed, about 7 min left"."""
        shown = f"{duration_text(self.elapsed())} elapsed"
        left = self.remaining()
        return shown if left is None else f"{shown}, {time_left_text(left)}"


# --------------------------------------------------------------------------- training


def train_model(
    data: LoadedData | pd.DataFrame,
    kind_id: str,
    params: Mapping[str, Any] | None,
    config: TrainConfig,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> TrainedModel:
    """Prepare, split, fit and evaluate one model; raise TrainingError or TrainingCancelled."""
    import numpy as np
    import pandas as pd

    started = time.perf_counter()
    report = _Progress(progress, cancel)
    config.validate()
    kind = get_kind(kind_id)
    values = kind.validate(params)
    report(0.0, "Preparing the data")

    if isinstance(data, LoadedData):
        frame, source, sha256, fmt = data.frame, data.source, data.sha256, data.format
    elif isinstance(data, pd.DataFrame):
        frame, source, sha256, fmt = data, "frame", None, None
    else:
        raise TrainingError("Training needs a table of data (a loaded file or a DataFrame).")
    notes: list[str] = []
    columns = [str(c) for c in frame.columns]
    if len(set(columns)) != len(columns):
        twice = sorted({c for c in columns if columns.count(c) > 1})
        raise TrainingError(f"The data has duplicate column names: {', '.join(map(repr, twice))}.")
    frame = frame.set_axis(columns, axis=1)
    rows_read = len(frame)

    target = config.target
    if target not in frame.columns:
        raise TrainingError(f"There is no column {target!r}; the columns are {_names(columns)}.")
    features, numeric, categorical, dates = _choose_features(frame, config, notes)

    y_all = _numeric_target(frame[target], target)
    keep = np.isfinite(y_all.to_numpy(dtype=np.float64, na_value=np.nan))
    dropped = int((~keep).sum())
    if dropped:
        frame = frame.loc[keep]
        y_all = y_all.loc[keep]
        notes.append(f"Dropped {dropped} of {rows_read} rows with no value in {target!r}.")
    if len(frame) == 0:
        raise TrainingError(f"The target column {target!r} has no numeric values.")
    X = _prepare_frame(frame[features], numeric, categorical)
    y = y_all.astype("float64")
    batches_from = None
    if config.batch_rows is not None and config.batch_rows > 1:
        batches_from = len(X)
        X, y = _batch(X, y, config.batch_rows, numeric, categorical, dates)
        notes.append(
            f"Aggregated every {config.batch_rows} rows into one: {batches_from} rows became "
            f"{len(X)} (feature means; text features and the target from each batch's last row)."
        )
    X = X.reset_index(drop=True)
    y = y.reset_index(drop=True)
    rows = len(X)
    if y.nunique() == 1:
        raise TrainingError(
            f"The target column {target!r} has the same value ({y.iloc[0]:g}) in every row; "
            "there is nothing to learn."
        )
    n_test = math.ceil(rows * config.test_size)
    n_train = rows - n_test
    if n_train < 2 or n_test < 1:
        need = _rows_needed(config.test_size)
        raise TrainingError(
            f"Only {rows} rows have a value in {target!r}; a {config.test_size:.0%} test split "
            f"needs at least {need}."
        )
    report.check()

    if config.keep_order:
        train_index = np.arange(n_train)
        test_index = np.arange(n_train, rows)
    else:
        from sklearn.model_selection import train_test_split

        train_index, test_index = train_test_split(
            np.arange(rows), test_size=n_test, random_state=config.random_state, shuffle=True
        )
    X_train, X_test = X.iloc[train_index], X.iloc[test_index]
    y_train, y_test = y.iloc[train_index], y.iloc[test_index]
    _check_neighbours(kind_id, values, n_train, config.cv_folds, config.keep_order)

    pipeline = build_pipeline(kind_id, values, numeric, categorical, config.random_state, dates)
    # On small data, OpenMP threads (gradient boosting) cost far more than they save,
    # especially on a busy shared server, so they are limited to one there.
    with _thread_limit(n_train):
        fit_start = 0.05
        cv: dict[str, Any] | None = None
        if config.cv_folds:
            cv = _cross_validate(pipeline, kind_id, X_train, y_train, config, report, 0.05, 0.45)
            fit_start = 0.45
        fit_notes = _fit(
            pipeline, kind_id, kind.display_name, X_train, y_train, report, fit_start, 0.88
        )
        notes.extend(fit_notes)

        report(0.9, "Evaluating on the test rows")
        # Evaluation's share of the bar is split by the rows each part predicts.
        predicted_rows = len(X_test)
        shuffled_rows = _permutation_rows(pipeline, kind_id, features, len(X_test))
        split = 0.9 + 0.1 * predicted_rows / max(1, predicted_rows + shuffled_rows)
        y_pred = _predict_in_chunks(pipeline, X_test, report.scaled(0.9, split))
        metrics = regression_metrics(y_test.to_numpy(), y_pred)
        importance_report = report.scaled(split, 1.0)
        importance, method = _feature_importance(
            pipeline, kind_id, features, X_test, y_test, config.random_state, importance_report
        )
    report(1.0, "Done")

    schema = [_schema_entry(frame, name, numeric, dates, pipeline) for name in features]
    data_info: dict[str, Any] = {
        "source": source,
        "sha256": sha256,
        "format": fmt,
        "rows": rows,
        "rows_read": rows_read,
        "target": target,
        "features": schema,
        "numeric_features": list(numeric),
        "categorical_features": list(categorical),
        "test_size": float(config.test_size),
        "random_state": int(config.random_state),
        "keep_order": bool(config.keep_order),
        "batch_rows": config.batch_rows,
        "cv_folds": config.cv_folds,
        "dropped_rows": dropped,
        "train_rows": int(n_train),
        "test_rows": int(n_test),
    }
    seconds = time.perf_counter() - started
    _log.info(
        "trained %s on %s (target %r, %d training rows, %d test rows) in %.2f s; R2 %s",
        kind.display_name,
        source,
        target,
        n_train,
        n_test,
        seconds,
        "undefined" if metrics.values.get("R2") is None else f"{metrics.values['R2']:.4f}",
    )
    if dates:  # only then: the metadata of models without dates stays as it was
        data_info["date_features"] = list(dates)
    return TrainedModel(
        kind_id=kind.id,
        display_name=kind.display_name,
        pipeline=pipeline,
        params=values,
        metrics=metrics,
        y_test=y_test.to_numpy(dtype=np.float64),
        y_pred=y_pred,
        feature_importance=importance,
        cv=cv,
        train_seconds=seconds,
        data_info=data_info,
        importance_method=method,
        notes=notes,
        test_data_rows=_test_data_rows(keep, config.batch_rows, test_index),
    )


def _names(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _rows_needed(test_size: float) -> int:
    rows = 3
    while rows - math.ceil(rows * test_size) < 2:
        rows += 1
    return rows


def default_features(frame: pd.DataFrame, target: str) -> tuple[list[str], dict[str, str]]:
    """The features used when none are chosen, and a one-sentence reason per left-out column.

    Every column except the target, empty columns, durations, and text columns that look
    like identifiers or have too many distinct values to learn from. Dates (real, or
    written as text) are features: ``feature_notes`` says what is derived from them.
    """
    features: list[str] = []
    reasons: dict[str, str] = {}
    rows = len(frame)
    for position, raw_name in enumerate(frame.columns):
        name = str(raw_name)
        if name == target:
            continue
        series = frame.iloc[:, position]
        reason = _left_out_reason(name, series, rows)
        if reason is None:
            features.append(name)
        else:
            reasons[name] = reason
    return features, reasons


def _left_out_reason(name: str, series: pd.Series, rows: int) -> str | None:
    """Why a column is not a default feature, or None when it is one."""
    kind = column_kind(series)
    present = series.dropna()
    if present.empty:
        return f"Left out {name!r}: every value is missing."
    if kind == "datetime":
        if _is_date(series):
            return None
        return f"Left out {name!r}: it holds durations, which training cannot use yet."
    if kind != "text":
        return None
    if _is_date(series):
        return None
    distinct = _distinct(present)
    if distinct > ID_MIN_DISTINCT and distinct > ID_UNIQUE_RATIO * rows:
        return (
            f"Left out {name!r}: it looks like an identifier ({distinct:,} different values in "
            f"{rows:,} rows), which cannot help predict new rows."
        )
    if distinct > TEXT_DISTINCT_CAP:
        return (
            f"Left out {name!r}: it has {distinct:,} different text values, more than the "
            f"{TEXT_DISTINCT_CAP:,} a text feature may have; choose it explicitly to use it."
        )
    return None


def _distinct(present: pd.Series) -> int:
    try:
        return int(present.nunique())
    except TypeError:  # unhashable values (lists from JSON): count their text
        return int(present.astype(str).nunique())


def _is_date(series: pd.Series) -> bool:
    """Dates or times (not durations), real or written as text in one format."""
    from tuidash.core.dates import is_date_column

    return is_date_column(series)


def feature_notes(frame: pd.DataFrame, features: Sequence[str]) -> dict[str, str]:
    """What training derives from the chosen features that are not used as they are.

    Today: dates, which become year, month, day of week and ordinal day (one sentence each).
    """
    from tuidash.core.dates import date_note

    notes: dict[str, str] = {}
    columns = [str(c) for c in frame.columns]
    for name in features:
        if name in columns and _is_date(frame.iloc[:, columns.index(name)]):
            notes[name] = date_note(name)
    return notes


def _choose_features(
    frame: pd.DataFrame, config: TrainConfig, notes: list[str]
) -> tuple[list[str], list[str], list[str], list[str]]:
    """The feature columns, split into numeric, categorical (text, booleans) and dates."""
    target = config.target
    if config.features is not None:
        if isinstance(config.features, str):
            raise TrainingError("Features must be a list of column names, not one string.")
        chosen = [str(f) for f in config.features]
        unknown = [f for f in chosen if f not in frame.columns]
        if unknown:
            raise TrainingError(
                f"There is no column {_names(unknown)}; "
                f"the columns are {_names(list(frame.columns))}."
            )
        if target in chosen:
            raise TrainingError(
                f"The target {target!r} cannot also be a feature; remove it from the features."
            )
        twice = sorted({f for f in chosen if chosen.count(f) > 1})
        if twice:
            raise TrainingError(f"The feature {_names(twice)} is chosen more than once.")
    else:
        chosen, reasons = default_features(frame, target)
        notes.extend(reasons.values())
    from tuidash.core.dates import date_note

    features: list[str] = []
    numeric: list[str] = []
    categorical: list[str] = []
    dates: list[str] = []
    skipped_empty: list[str] = []
    for name in chosen:
        series = frame[name]
        kind = column_kind(series)
        if series.isna().all():
            skipped_empty.append(name)
            continue
        if kind in ("datetime", "text") and _is_date(series):
            features.append(name)
            dates.append(name)
            notes.append(date_note(name))
            continue
        if kind == "datetime":
            raise TrainingError(
                f"Column {name!r} holds durations, which training cannot use yet; "
                "leave it out of the features."
            )
        features.append(name)
        if kind == "numeric":
            numeric.append(name)
            continue
        categorical.append(name)
        distinct = _distinct(series.dropna())
        if distinct > ONE_HOT_MAX_CATEGORIES:
            notes.append(
                f"{name!r} has {distinct:,} different values; only the "
                f"{ONE_HOT_MAX_CATEGORIES - 1} most common get a column of their own and the "
                "rest share one."
            )
    if skipped_empty:
        notes.append(f"Left out empty columns {_names(skipped_empty)} (every value missing).")
    if not features:
        raise TrainingError("There are no usable feature columns; choose at least one.")
    return features, numeric, categorical, dates


def _schema_entry(
    frame: pd.DataFrame, name: str, numeric: Sequence[str], dates: Sequence[str], pipeline: Any
) -> dict[str, Any]:
    """One entry of the feature schema; a date column records the format it was read with."""
    entry: dict[str, Any] = {"name": name, "dtype": str(frame[name].dtype)}
    if name in dates:
        entry["kind"] = "date"
        step = _date_step(pipeline)
        entry["format"] = None if step is None else step.formats_.get(name)
    else:
        entry["kind"] = "numeric" if name in numeric else "categorical"
    return entry


def _date_step(pipeline: Any) -> Any:
    """The fitted DateFeatures step of a pipeline built by build_pipeline, or None."""
    preprocess = getattr(pipeline, "named_steps", {}).get("preprocess")
    for name, transformer, _columns in getattr(preprocess, "transformers_", []) or []:
        if name == "dates":
            return dict(getattr(transformer, "named_steps", {})).get("dates")
    return None


def _numeric_target(series: pd.Series, name: str) -> pd.Series:
    """The target as floats (inf counts as missing); raise if it holds text."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        present = series.dropna()
        numbers = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
        bad = present[numbers.isna().to_numpy()]
        if pd.api.types.is_bool_dtype(series) or len(bad):
            example = f" such as {bad.iloc[0]!r}" if len(bad) else ""
            raise TrainingError(
                f"The target column {name!r} is not numeric (it holds {_describe(series)}"
                f"{example}); choose a column of numbers to predict."
            )
        series = pd.to_numeric(series.astype(str).str.strip(), errors="coerce")
    values = series.astype("float64")
    return values.where(np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan)))


def _describe(series: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "true/false values"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "dates"
    return "text"


def _prepare_frame(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]) -> Any:
    """Normalise raw columns the same way for training and prediction.

    Numbers become float64 with inf as missing; text and booleans become Python strings
    with NaN for missing, so the imputer and one-hot encoder see one type per column.
    """
    import numpy as np
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        series = frame[name]
        if name in numeric:
            values = pd.to_numeric(series, errors="coerce").astype("float64")
            out[name] = values.where(np.isfinite(values.to_numpy(na_value=np.nan)))
        elif name in categorical:
            out[name] = _as_text(series)
        else:
            out[name] = series
    return out


def _as_text(series: pd.Series) -> pd.Series:
    """Strings for categories; whole floats lose '.0' so 3 and 3.0 are the same category."""
    import numpy as np
    import pandas as pd

    missing = series.isna().to_numpy()
    if pd.api.types.is_string_dtype(series) and not pd.api.types.is_object_dtype(series):
        out = series.astype(object)  # pandas' own string dtype: already str values
    elif pd.api.types.is_bool_dtype(series):
        out = series.map({True: "True", False: "False"}).astype(object)
    else:

        def text(value: Any) -> Any:
            if isinstance(value, float | np.floating) and float(value).is_integer():
                return str(int(value))
            if isinstance(value, np.generic):
                value = value.item()
            return str(value)

        values = series.to_numpy(dtype=object)
        out = pd.Series(
            [np.nan if gone else text(v) for v, gone in zip(values, missing, strict=True)],
            index=series.index,
            dtype=object,
        )
    return out.where(~missing, np.nan)


def _batch(
    X: pd.DataFrame,
    y: pd.Series,
    size: int,
    numeric: Sequence[str],
    categorical: Sequence[str],
    dates: Sequence[str] = (),
) -> tuple[Any, Any]:
    """Aggregate every ``size`` consecutive rows: feature means, target of the last row.

    Text and date features take the batch's last non-missing value (a mean of text does not
    exist). A final, shorter batch is kept.
    """
    import numpy as np
    import pandas as pd

    group = np.arange(len(X)) // size
    parts = []
    if numeric:
        parts.append(X[list(numeric)].groupby(group).mean())
    if categorical:
        parts.append(X[list(categorical)].groupby(group).last())
    if dates:
        parts.append(X[list(dates)].groupby(group).last())
    batched = pd.concat(parts, axis=1)[list(X.columns)]
    for name in categorical:
        batched[name] = batched[name].astype(object)
    target = y.groupby(group).last()
    return batched, target


def _check_neighbours(
    kind_id: str, params: Mapping[str, Any], n_train: int, folds: int | None, keep_order: bool
) -> None:
    """k-NN needs at least k rows in every training set it is fitted on."""
    if folds:
        if keep_order:  # TimeSeriesSplit: the first fold trains on the fewest rows
            minimum = n_train - folds * (n_train // (folds + 1))
        else:  # KFold: every fold leaves out at most ceil(n / folds) rows
            minimum = n_train - math.ceil(n_train / folds)
        if (keep_order and n_train < folds + 1) or (not keep_order and n_train < folds):
            raise TrainingError(
                f"{folds}-fold cross-validation needs at least {folds + (1 if keep_order else 0)} "
                f"training rows; there are {n_train}."
            )
    else:
        minimum = n_train
    if kind_id == "knn":
        k = int(params.get("n_neighbors", 5))
        if k > minimum:
            raise TrainingError(
                f"k-Nearest Neighbours with n_neighbors={k} needs at least {k} training rows "
                f"in every fit; there are {minimum}. Lower n_neighbors or use more data."
            )


def _fit(
    pipeline: Any,
    kind_id: str,
    display_name: str,
    X: pd.DataFrame,
    y: pd.Series,
    report: _Progress,
    start: float,
    end: float,
) -> list[str]:
    """Fit the pipeline in chunks so progress is reported and cancel is honoured."""
    from sklearn.exceptions import ConvergenceWarning

    notes: list[str] = []
    preprocess = pipeline.named_steps["preprocess"]
    model = pipeline.named_steps["model"]
    span = end - start
    report(start, f"Fitting {display_name}")
    # Warnings are recorded, not printed: a traceback-like line on stderr would tear a TUI.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            Xt = preprocess.fit_transform(X, y)
            report.check()
            target = y.to_numpy()
            if kind_id == "random_forest":
                _fit_grown(model, "n_estimators", Xt, target, report, start, span, "trees")
            elif kind_id == "gradient_boosting":
                _fit_grown(model, "max_iter", Xt, target, report, start, span, "rounds")
            elif kind_id == "mlp":
                if not _fit_epochs(model, Xt, target, report, start, span):
                    notes.append(
                        f"The neural network did not converge in {model.max_iter} epochs; "
                        "more epochs (max_iter) or a larger learning rate may help."
                    )
            else:
                model.fit(Xt, target)
        except (TrainingCancelled, TrainingError):
            raise
        except (ValueError, TypeError, ArithmeticError) as error:
            raise TrainingError(
                f"{display_name} could not be trained on this data: {_first_line(error)}."
            ) from None
    if kind_id != "mlp" and any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes.append(f"{display_name} did not fully converge; more iterations (max_iter) may help.")
    report.check()
    return notes


SMALL_DATA_ROWS = 10_000
"""Below this many training rows, native thread pools are limited to one thread."""


def _thread_limit(rows: int) -> Any:
    """A context that limits OpenMP/BLAS threads to one for small data (no-op otherwise)."""
    import contextlib

    if rows >= SMALL_DATA_ROWS:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - sklearn depends on threadpoolctl
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].rstrip(".") if text else type(error).__name__


def _fit_grown(
    model: Any,
    param: str,
    Xt: Any,
    y: Any,
    report: _Progress,
    start: float,
    span: float,
    unit: str,
) -> None:
    """Grow an ensemble with warm_start in chunks; same result as one fit.

    At most ten chunks; when one tree or round takes long (large data) the chunks shrink to
    about CHUNK_SECONDS each (never below one unit per parallel job), so progress moves and
    cancel is honoured between them.
    """
    total = int(getattr(model, param))
    largest = max(1, math.ceil(total / 10))
    smallest = min(largest, _parallel_jobs(model))
    step = smallest  # the first chunk measures how long one unit takes
    done = 0
    model.set_params(warm_start=True)
    report(start, f"Fitted 0 of {total} {unit}")
    try:
        while done < total:
            before = done
            done = min(total, done + step)
            began = report.clock()
            model.set_params(**{param: done})
            model.fit(Xt, y)
            took = report.clock() - began
            report(start + span * done / total, f"Fitted {done} of {total} {unit}")
            # Gradient boosting may stop early (early stopping on large data).
            if param == "max_iter" and getattr(model, "n_iter_", done) < done:
                break
            per_unit = took / max(1, done - before)
            fits = int(CHUNK_SECONDS / per_unit) if per_unit > 0 else largest
            step = max(smallest, min(largest, fits))
    finally:
        model.set_params(warm_start=False, **{param: total})


def _parallel_jobs(model: Any) -> int:
    """How many units one fit call builds at once (trees of a forest grow in parallel)."""
    n_jobs = getattr(model, "n_jobs", None)
    if n_jobs is None:
        return 1
    try:
        from joblib import effective_n_jobs

        return max(1, int(effective_n_jobs(n_jobs)))
    except Exception:  # pragma: no cover - joblib comes with sklearn
        return 1


def _fit_epochs(model: Any, Xt: Any, y: Any, report: _Progress, start: float, span: float) -> bool:
    """Train an MLP in chunks of epochs with warm_start; return whether it converged.

    Each chunk restarts the optimiser's moment estimates, so the result differs slightly
    from one uninterrupted fit; the weights carry over.
    """
    total = int(model.max_iter)
    step = max(10, math.ceil(total / 10))
    done = 0
    converged = False
    model.set_params(warm_start=True)
    report(start, f"Trained 0 of {total} epochs")
    try:
        while done < total:
            chunk = min(step, total - done)
            model.set_params(max_iter=chunk)
            model.fit(Xt, y)
            done += int(model.n_iter_)
            report(start + span * min(done, total) / total, f"Trained {done} of {total} epochs")
            if model.n_iter_ < chunk:
                converged = True
                break
    finally:
        model.set_params(warm_start=False, max_iter=total)
    return converged


def _cross_validate(
    pipeline: Any,
    kind_id: str,
    X: pd.DataFrame,
    y: pd.Series,
    config: TrainConfig,
    report: _Progress,
    start: float,
    end: float,
) -> dict[str, Any]:
    """R2 of each fold on the training rows (time-ordered folds when keep_order is set)."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import KFold, TimeSeriesSplit

    folds = int(config.cv_folds or 0)
    if config.keep_order:
        splitter: Any = TimeSeriesSplit(n_splits=folds)
        splitter_name = "time-ordered"
    else:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=config.random_state)
        splitter_name = "k-fold"
    scores: list[float | None] = []
    width = (end - start) / folds
    for number, (train_index, valid_index) in enumerate(splitter.split(X), start=1):
        # The fold's fit reports inside the fold's share ("... fold 2 of 5: Fitted 10 of ...").
        fold_report = report.scaled(
            start + width * (number - 1),
            start + width * number,
            f"Cross-validation fold {number} of {folds}: ",
        )
        fold = clone(pipeline)
        _fit(
            fold,
            kind_id,
            get_kind(kind_id).display_name,
            X.iloc[train_index],
            y.iloc[train_index],
            fold_report,
            0.0,
            1.0,
        )
        predicted = _predict_in_chunks(fold, X.iloc[valid_index], fold_report.silent())
        scores.append(regression_metrics(y.iloc[valid_index].to_numpy(), predicted)["R2"])
    defined = [s for s in scores if s is not None]
    return {
        "folds": folds,
        "metric": "R2",
        "splitter": splitter_name,
        "scores": scores,
        "mean": float(np.mean(defined)) if defined else None,
        "std": float(np.std(defined)) if defined else None,
    }


# --------------------------------------------------------------------------- importance


def _feature_importance(
    pipeline: Any,
    kind_id: str,
    features: Sequence[str],
    X_test: pd.DataFrame,
    y_test: pd.Series,
    random_state: int,
    report: _Progress,
) -> tuple[dict[str, float] | None, str | None]:
    """Importance per original column and how it was measured."""
    import numpy as np

    model = pipeline.named_steps["model"]
    if kind_id == "dummy":
        return dict.fromkeys(features, 0.0), "none"
    raw: Any = None
    method = None
    if hasattr(model, "feature_importances_"):
        raw, method = np.asarray(model.feature_importances_, dtype=np.float64), "impurity"
    else:
        try:
            coef = model.coef_
        except AttributeError:
            coef = None
        if coef is not None:
            dense = coef.toarray() if hasattr(coef, "toarray") else np.asarray(coef)
            raw, method = np.abs(np.asarray(dense, dtype=np.float64)).ravel(), "coefficient"
    if raw is not None:
        owners = _output_owners(pipeline.named_steps["preprocess"])
        if owners is not None and len(owners) == raw.size:
            totals = dict.fromkeys(features, 0.0)
            for owner, value in zip(owners, raw.tolist(), strict=True):
                if owner in totals and math.isfinite(value):
                    totals[owner] += value
            return _ranked(totals), method
    return _permutation_importance(pipeline, features, X_test, y_test, random_state, report)


def _output_owners(preprocess: Any) -> list[str] | None:
    """The original column behind every column the ColumnTransformer outputs (one-hot too)."""
    owners: list[str] = []
    for name, transformer, columns in preprocess.transformers_:
        if name == "remainder" or transformer == "drop":
            continue
        columns = [str(c) for c in columns]
        if transformer == "passthrough":
            owners.extend(columns)
            continue
        steps = dict(getattr(transformer, "named_steps", {}))
        if "dates" in steps:  # DATE_PARTS outputs per column (the imputer keeps empty ones)
            from tuidash.core.dates import DATE_PARTS

            for column in columns:
                owners.extend([column] * len(DATE_PARTS))
            continue
        imputer = steps.get("impute")
        kept = list(imputer.get_feature_names_out(columns)) if imputer is not None else columns
        onehot = steps.get("onehot")
        if onehot is not None:
            infrequent = getattr(onehot, "infrequent_categories_", None)
            if infrequent is None:
                infrequent = [None] * len(onehot.categories_)
            for column, categories, rare in zip(kept, onehot.categories_, infrequent, strict=True):
                # Infrequent values share one output column.
                width = len(categories) if rare is None else len(categories) - len(rare) + 1
                owners.extend([str(column)] * width)
        else:
            owners.extend(str(c) for c in kept)
    return owners


def _permutation_importance(
    pipeline: Any,
    features: Sequence[str],
    X_test: pd.DataFrame,
    y_test: pd.Series,
    random_state: int,
    report: _Progress,
) -> tuple[dict[str, float] | None, str | None]:
    """Mean drop in (negative) MAE when one column is shuffled, on a capped test sample.

    The same shuffles and scores as sklearn's ``permutation_importance``, one column at a
    time, so progress is reported and cancel is honoured between predictions.
    """
    import numpy as np
    from sklearn.metrics import mean_absolute_error

    if len(X_test) < 2:
        return dict.fromkeys(features, 0.0), "permutation"
    index = np.arange(len(X_test))
    if len(index) > PERMUTATION_ROWS:
        index = np.unique(np.linspace(0, len(index) - 1, PERMUTATION_ROWS).round().astype(int))
    X = X_test.iloc[index]
    y = y_test.iloc[index]
    columns = list(X.columns)
    report(0.0, f"Feature importance: 0 of {len(columns)} columns")
    # As sklearn: one seed drawn from random_state, the same shuffles for every column.
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    baseline = -mean_absolute_error(y, pipeline.predict(X))
    values = []
    for position, column in enumerate(columns):
        shuffler = np.random.RandomState(seed)
        shuffled = X.copy()
        order = np.arange(len(shuffled))
        scores = []
        for _ in range(PERMUTATION_REPEATS):
            report.check()
            shuffler.shuffle(order)
            moved = shuffled.iloc[order, position]
            moved.index = shuffled.index
            shuffled[column] = moved
            scores.append(-mean_absolute_error(y, pipeline.predict(shuffled)))
        value = float(baseline - np.mean(scores))
        values.append(value if math.isfinite(value) else 0.0)
        done = position + 1
        report(done / len(columns), f"Feature importance: {done} of {len(columns)} columns")
    return _ranked(dict(zip(columns, values, strict=True))), "permutation"


def _permutation_rows(pipeline: Any, kind_id: str, features: Sequence[str], test_rows: int) -> int:
    """Rows that permutation importance will predict (0 when the model measures its own)."""
    model = pipeline.named_steps["model"]
    if kind_id == "dummy" or hasattr(model, "feature_importances_"):
        return 0
    if getattr(model, "coef_", None) is not None:
        return 0
    return min(test_rows, PERMUTATION_ROWS) * (1 + len(features) * PERMUTATION_REPEATS)


def _predict_in_chunks(
    pipeline: Any, X: pd.DataFrame, report: _Progress, chunk_rows: int = PREDICT_CHUNK_ROWS
) -> np.ndarray:
    """Predict ``X`` a chunk of rows at a time: progress after each, cancel between them."""
    import numpy as np

    total = len(X)
    report(0.0, f"Predicting the test rows: 0 of {total:,}")
    parts = []
    for begin in range(0, total, chunk_rows):
        end = min(total, begin + chunk_rows)
        parts.append(np.asarray(pipeline.predict(X.iloc[begin:end]), dtype=np.float64).ravel())
        report(end / total, f"Predicting the test rows: {end:,} of {total:,}")
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)


def _ranked(values: Mapping[str, float]) -> dict[str, float]:
    return dict(sorted(values.items(), key=lambda item: -item[1]))


# --------------------------------------------------------------------------- prediction

_NUMERIC_DTYPE = re.compile(r"^(u?int|float|Int|UInt|Float|number|numeric|complex)", re.IGNORECASE)


def _expected_kind(feature: Mapping[str, Any]) -> str | None:
    """numeric, categorical, date or None (unknown) for one entry of a feature schema."""
    kind = feature.get("kind")
    if kind in ("numeric", "categorical", "date"):
        return str(kind)
    dtype = feature.get("dtype")
    if not isinstance(dtype, str) or not dtype:
        return None
    return "numeric" if _NUMERIC_DTYPE.match(dtype) else "categorical"


def _schema_names(features: Sequence[Mapping[str, Any] | str]) -> list[dict[str, Any]]:
    schema = []
    for item in features:
        if isinstance(item, str):
            schema.append({"name": item, "dtype": None})
        else:
            schema.append(dict(item))
    return schema


def check_schema(frame: pd.DataFrame, features: Sequence[Mapping[str, Any] | str]) -> list[str]:
    """Problems that stop ``frame`` from being predicted on; empty when it fits.

    Missing columns are named; extra columns are ignored; a column that was numbers (or
    dates) in training but holds text now is reported with an example value and its row.
    """
    import pandas as pd

    problems: list[str] = []
    schema = _schema_names(features)
    columns = [str(c) for c in frame.columns]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        problems.append(f"The data has duplicate column names: {_names(twice)}.")
    missing = [f["name"] for f in schema if f["name"] not in columns]
    if missing:
        word = "column" if len(missing) == 1 else "columns"
        problems.append(f"The data is missing the {word} the model needs: {_names(missing)}.")
    if len(frame) == 0:
        problems.append("The data has no rows.")
    if twice:
        return problems
    renamed = frame.set_axis(columns, axis=1)
    for feature in schema:
        name = feature["name"]
        if name in columns and _expected_kind(feature) == "date":
            problem = _date_problem(renamed, name, feature.get("format"))
            if problem is not None:
                problems.append(problem)
            continue
        if name not in columns or _expected_kind(feature) != "numeric":
            continue
        series = renamed[name]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            continue
        present = series.dropna()
        numbers = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
        bad = present[numbers.isna().to_numpy()]
        if pd.api.types.is_bool_dtype(series):
            problems.append(
                f"Column {name!r} should hold numbers (as in training) but holds true/false."
            )
        elif len(bad):
            row = list(renamed.index).index(bad.index[0]) + 1
            problems.append(
                f"Column {name!r} should hold numbers (as in training) but has text such as "
                f"{bad.iloc[0]!r} (row {row})."
            )
    return problems


def _date_problem(frame: pd.DataFrame, name: str, fmt: Any) -> str | None:
    """A sentence naming the first value of a date column that cannot be read as a date."""
    import pandas as pd

    from tuidash.core.dates import parse_dates

    series = frame[name]
    present = series.dropna()
    if present.empty:
        return None
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return f"Column {name!r} should hold dates (as in training) but holds numbers."
    parsed = parse_dates(present, fmt if isinstance(fmt, str) else None)
    bad = present[parsed.isna().to_numpy()]
    if len(bad) == 0:
        return None
    row = list(frame.index).index(bad.index[0]) + 1
    return (
        f"Column {name!r} should hold dates (as in training) but has {bad.iloc[0]!r} (row {row})."
    )


def features_from_pipeline(pipeline: Any) -> list[dict[str, Any]] | None:
    """The feature schema of a pipeline built by build_pipeline, read from its fitted parts."""
    preprocess = getattr(pipeline, "named_steps", {}).get("preprocess")
    transformers = getattr(preprocess, "transformers_", None)
    if not transformers:
        names = getattr(pipeline, "feature_names_in_", None)
        return [{"name": str(n), "dtype": None} for n in names] if names is not None else None
    schema: dict[str, dict[str, Any]] = {}
    for name, _transformer, columns in transformers:
        if name == "remainder":
            continue
        kind = {"numeric": "numeric", "dates": "date"}.get(name, "categorical")
        for column in columns:
            schema[str(column)] = {"name": str(column), "dtype": None, "kind": kind}
    order = getattr(preprocess, "feature_names_in_", None)
    if order is not None:
        return [schema[str(n)] for n in order if str(n) in schema]
    return list(schema.values())


def predict(
    model: Any,
    frame: pd.DataFrame,
    features: Sequence[Mapping[str, Any] | str] | None = None,
) -> np.ndarray:
    """Check ``frame`` against the feature schema, then predict; SchemaError if it does not fit.

    ``model`` is a fitted pipeline, a TrainedModel, or a dict from the store (``"model"`` key).
    """
    import numpy as np

    if isinstance(model, TrainedModel):
        features = features if features is not None else model.features
        pipeline = model.pipeline
    elif isinstance(model, Mapping):
        pipeline = model.get("model")
        if features is None:
            metadata = model.get("metadata") or {}
            recorded = (
                (metadata.get("data") or {}).get("features")
                if isinstance(metadata, Mapping)
                else None
            )
            features = recorded or None
    else:
        pipeline = model
    if pipeline is None or not hasattr(pipeline, "predict"):
        raise SchemaError(["The model has no fitted estimator to predict with."])
    if features is None:
        features = features_from_pipeline(pipeline)
    if not features:
        raise SchemaError(["The model does not record which columns it needs."])
    problems = check_schema(frame, features)
    if problems:
        raise SchemaError(problems)
    schema = _schema_names(features)
    names = [f["name"] for f in schema]
    numeric, categorical = _split_kinds(pipeline, schema)
    columns = [str(c) for c in frame.columns]
    X = _prepare_frame(frame.set_axis(columns, axis=1)[names], numeric, categorical)
    return np.asarray(pipeline.predict(X), dtype=np.float64).ravel()


def _split_kinds(pipeline: Any, schema: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """Numeric and categorical columns: from the pipeline itself when it was built here."""
    known = features_from_pipeline(pipeline) or []
    kinds = {f["name"]: f.get("kind") for f in known if f.get("kind")}
    numeric: list[str] = []
    categorical: list[str] = []
    for feature in schema:
        kind = kinds.get(feature["name"]) or _expected_kind(feature)
        if kind == "numeric":
            numeric.append(feature["name"])
        elif kind == "categorical":
            categorical.append(feature["name"])
    return numeric, categorical
