"""Training one model: a table and a TrainConfig in, a TrainedModel (fitted pipeline,
metrics, test predictions, importance, data fingerprint) out.

``train_model`` is the orchestration; each step lives with its concept:

- ``pipeline``: the features and their kinds, the preprocessing pipeline, the target;
- ``fitting``: fitting in chunks (progress, cancel, k-NN row checks);
- ``evaluation``: test predictions, cross-validation, importance, the stored sample;
- ``predicting``: the feature schema check and prediction on new rows;
- ``progress``: the progress reporter, TrainingCancelled and the time texts.

The names this module has always offered are importable from it. Pure Python: pandas,
numpy and sklearn are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuidash.core.catalog import get_kind, kinds_with_id
from tuidash.core.data import LoadedData
from tuidash.core.errors import TrainingError
from tuidash.core.evaluation import (
    PERMUTATION_REPEATS,
    PERMUTATION_ROWS,
    PREDICT_CHUNK_ROWS,
    PREDICTION_CAP,
    classify_in_chunks,
    cross_validate,
    data_file_rows,
    feature_importance,
    permutation_rows,
    predict_in_chunks,
    stored_class_predictions,
    stored_predictions,
)
from tuidash.core.fitting import CHUNK_SECONDS, check_neighbours, fit_pipeline, thread_limit
from tuidash.core.jsonsafe import plain_json
from tuidash.core.metrics import (
    MetricsResult,
    class_details,
    classification_metrics,
    regression_metrics,
    roc_points,
)
from tuidash.core.pipeline import (
    ID_MIN_DISTINCT,
    ID_UNIQUE_RATIO,
    ONE_HOT_MAX_CATEGORIES,
    TEXT_DISTINCT_CAP,
    batch_frame,
    build_pipeline,
    choose_features,
    default_features,
    feature_notes,
    features_from_pipeline,
    numeric_target,
    prepare_frame,
    schema_entry,
)
from tuidash.core.predicting import SchemaError, check_schema, predict
from tuidash.core.progress import (
    ESTIMATE_AFTER_SECONDS,
    ProgressCallback,
    ProgressReporter,
    ProgressTimer,
    TrainingCancelled,
    duration_text,
    time_left_text,
)
from tuidash.core.tasks import (
    MAX_CLASSES,
    TaskChoice,
    check_task,
    class_labels,
    decide_task,
    typed_labels,
)
from tuidash.core.text import quoted_names

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "CHUNK_SECONDS",
    "ESTIMATE_AFTER_SECONDS",
    "ID_MIN_DISTINCT",
    "ID_UNIQUE_RATIO",
    "ONE_HOT_MAX_CATEGORIES",
    "PERMUTATION_REPEATS",
    "PERMUTATION_ROWS",
    "PREDICTION_CAP",
    "PREDICT_CHUNK_ROWS",
    "TEXT_DISTINCT_CAP",
    "ProgressCallback",
    "ProgressTimer",
    "SchemaError",
    "TrainConfig",
    "TrainedModel",
    "TrainingCancelled",
    "TrainingError",
    "build_pipeline",
    "check_schema",
    "default_features",
    "duration_text",
    "feature_notes",
    "features_from_pipeline",
    "predict",
    "time_left_text",
    "train_model",
]

_log = logging.getLogger(__name__)

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
    task: str = "auto"
    """auto (follow the target: ``tuidash.core.tasks.decide_task``), regression or
    classification."""

    def validate(self) -> None:
        """Raise TrainingError with one sentence if a setting is outside its range."""
        if not isinstance(self.target, str) or not self.target:
            raise TrainingError("Choose a target column to predict.")
        check_task(self.task)
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
    """{folds, metric: "R2" (classification: "Balanced accuracy"), scores, mean, std, splitter}
    when cross-validation ran."""
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
    task: str = "regression"
    """regression or classification (``task_reason`` says why)."""
    task_reason: str = ""
    """One sentence: why this task (the target's values, or the person's choice)."""
    classes: list[Any] | None = None
    """Classification: the model's classes in its column order (``predict_proba``'s)."""
    y_proba: np.ndarray | None = None
    """Classification: test-row probabilities (rows x classes), None when the model has none."""
    y_score: np.ndarray | None = None
    """Classification without probabilities: decision scores of the test rows, if any."""
    class_details: dict[str, Any] | None = None
    """Classification: per-class metrics and the confusion matrix (``metrics.class_details``)."""
    roc_curve: dict[str, Any] | None = None
    """Two classes: the ROC curve of the whole test set (``metrics.roc_points``)."""
    probability_method: str | None = None
    """Classification: predict_proba, decision_function or None."""

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
        if self.task == "classification":
            predictions = stored_class_predictions(
                self.y_test,
                self.y_pred,
                self.test_data_rows,
                self.feature_importance,
                self.importance_method,
                classes=list(self.classes or []),
                proba=self.y_proba,
                scores=self.y_score,
                details=self.class_details,
                roc=self.roc_curve,
                probability_method=self.probability_method,
            )
        else:
            predictions = stored_predictions(
                self.y_test,
                self.y_pred,
                self.test_data_rows,
                self.feature_importance,
                self.importance_method,
            )
        data: dict[str, Any] = {
            "model": self.pipeline,
            "metrics": dict(self.metrics.values),
            "metric_reasons": dict(self.metrics.reasons),
            "params": plain_json(self.params),
            "predictions": predictions,
            "model_type": self.kind_id,
            "task": self.task,
            "data": plain_json(self.data_info),
            "train_seconds": round(float(self.train_seconds), 4),
            "feature_importance_method": self.importance_method,
        }
        if len(self.y_test) > len(predictions["y_test"]):
            data["predictions_total"] = len(self.y_test)
        if self.cv is not None:
            data["cv"] = plain_json(self.cv)
        if self.task == "classification":
            data["classes"] = list(predictions["classification"]["classes"])
        return data


# --------------------------------------------------------------------------- training


def import_libraries(kind_id: str) -> None:
    """Import the scikit-learn modules a training of ``kind_id`` uses (2-4 s the first time
    in a process), so that a model's train time measures its training, not the imports."""
    import importlib

    import sklearn.compose
    import sklearn.impute
    import sklearn.metrics
    import sklearn.model_selection
    import sklearn.pipeline
    import sklearn.preprocessing  # noqa: F401

    # Every task's kind of that id ("auto" decides on the data, later); an unknown kind is
    # refused below.
    for kind in kinds_with_id(kind_id):
        with contextlib.suppress(ImportError):  # a missing extra is reported by the build
            importlib.import_module(kind.estimator.rpartition(".")[0])


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

    report = ProgressReporter(progress, cancel)
    report(0.0, "Preparing the data")
    import_libraries(kind_id)
    started = time.perf_counter()  # the train time: not the first import of scikit-learn
    config.validate()
    if config.task != "auto":  # an unknown kind is refused before the data is looked at
        get_kind(kind_id, config.task)

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
        raise TrainingError(
            f"There is no column {target!r}; the columns are {quoted_names(columns)}."
        )
    choice = decide_task(frame[target], config.task, target)
    task = choice.task
    classify = task == "classification"
    kind = kind_for_task(kind_id, choice)
    values = kind.validate(params)
    if classify or choice.chosen:  # regression as before keeps its notes as they were
        notes.append(choice.reason)
    features, numeric, categorical, dates = choose_features(frame, target, config.features, notes)

    if classify:
        y_all = class_labels(frame[target], target)
        keep = y_all.notna().to_numpy()
    else:
        y_all = numeric_target(frame[target], target)
        keep = np.isfinite(y_all.to_numpy(dtype=np.float64, na_value=np.nan))
    dropped = int((~keep).sum())
    if dropped:
        frame = frame.loc[keep]
        y_all = y_all.loc[keep]
        notes.append(f"Dropped {dropped} of {rows_read} rows with no value in {target!r}.")
    if len(frame) == 0:
        what = "values" if classify else "numeric values"
        raise TrainingError(f"The target column {target!r} has no {what}.")
    X = prepare_frame(frame[features], numeric, categorical)
    y = typed_labels(y_all) if classify else y_all.astype("float64")
    batches_from = None
    if config.batch_rows is not None and config.batch_rows > 1:
        batches_from = len(X)
        X, y = batch_frame(X, y, config.batch_rows, numeric, categorical, dates)
        notes.append(
            f"Aggregated every {config.batch_rows} rows into one: {batches_from} rows became "
            f"{len(X)} (feature means; text features and the target from each batch's last row)."
        )
    X = X.reset_index(drop=True)
    y = y.reset_index(drop=True)
    rows = len(X)
    if y.nunique() == 1:
        same = f"{y.iloc[0]!r}" if classify else f"{y.iloc[0]:g}"
        raise TrainingError(
            f"The target column {target!r} has the same value ({same}) in every row; "
            "there is nothing to learn."
        )
    if classify and y.nunique() > MAX_CLASSES:
        raise TrainingError(
            f"The target column {target!r} has {y.nunique():,} different values, more than the "
            f"{MAX_CLASSES} classes classification takes; choose regression or another target."
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

    stratified = False
    if config.keep_order:
        train_index = np.arange(n_train)
        test_index = np.arange(n_train, rows)
    else:
        from sklearn.model_selection import train_test_split

        stratify = None
        if classify:
            reason = stratify_problem(y, n_train, n_test)
            if reason is None:
                stratify, stratified = y.to_numpy(), True
            else:
                notes.append(reason)
        train_index, test_index = train_test_split(
            np.arange(rows),
            test_size=n_test,
            random_state=config.random_state,
            shuffle=True,
            stratify=stratify,
        )
    X_train, X_test = X.iloc[train_index], X.iloc[test_index]
    y_train, y_test = y.iloc[train_index], y.iloc[test_index]
    check_neighbours(kind_id, values, n_train, config.cv_folds, config.keep_order)

    pipeline = build_pipeline(
        kind_id, values, numeric, categorical, config.random_state, dates, task=task
    )
    # On small data, OpenMP threads (gradient boosting) cost far more than they save,
    # especially on a busy shared server, so they are limited to one there.
    with thread_limit(n_train):
        fit_start = 0.05
        cv: dict[str, Any] | None = None
        if config.cv_folds:
            cv = cross_validate(
                pipeline,
                kind_id,
                X_train,
                y_train,
                config.cv_folds,
                config.keep_order,
                config.random_state,
                report,
                0.05,
                0.45,
                task,
            )
            fit_start = 0.45
        fit_notes = fit_pipeline(
            pipeline, kind_id, kind.display_name, X_train, y_train, report, fit_start, 0.88
        )
        notes.extend(fit_notes)

        report(0.9, "Evaluating on the test rows")
        # Evaluation's share of the bar is split by the rows each part predicts.
        predicted_rows = len(X_test)
        shuffled_rows = permutation_rows(pipeline, kind_id, features, len(X_test))
        split = 0.9 + 0.1 * predicted_rows / max(1, predicted_rows + shuffled_rows)
        proba = scores = details = roc = None
        classes: list[Any] | None = None
        proba_method = None
        if classify:
            from tuidash.core.evaluation import probability_method

            y_pred, proba, scores = classify_in_chunks(pipeline, X_test, report.scaled(0.9, split))
            classes = list(pipeline.classes_)
            proba_method = probability_method(pipeline)
            truth = y_test.to_numpy(dtype=object)
            metrics = classification_metrics(truth, y_pred, classes, proba=proba, scores=scores)
            details = class_details(truth, y_pred, classes)
            if len(classes) == 2:
                positive = proba[:, 1] if proba is not None else scores
                roc = roc_points(truth, positive, classes[1])
        else:
            y_pred = predict_in_chunks(pipeline, X_test, report.scaled(0.9, split))
            metrics = regression_metrics(y_test.to_numpy(), y_pred)
        importance_report = report.scaled(split, 1.0)
        importance, method = feature_importance(
            pipeline,
            kind_id,
            features,
            X_test,
            y_test,
            config.random_state,
            importance_report,
            task,
        )
    report(1.0, "Done")

    schema = [schema_entry(frame, name, numeric, dates, pipeline) for name in features]
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
    if classify:  # only then: the metadata of regression models stays as it was
        data_info["task"] = task
        data_info["task_reason"] = choice.reason
        data_info["stratified"] = stratified
    if isinstance(data, LoadedData):
        from tuidash.core.provenance import git_commit_of

        data_info["git"] = git_commit_of(source)  # None outside a git work tree
    seconds = time.perf_counter() - started
    headline = "Balanced accuracy" if classify else "R2"
    _log.info(
        "trained %s on %s (target %r, %d training rows, %d test rows) in %.2f s; %s %s",
        kind.display_name,
        source,
        target,
        n_train,
        n_test,
        seconds,
        headline,
        "undefined" if metrics.values.get(headline) is None else f"{metrics.values[headline]:.4f}",
    )
    if dates:  # only then: the metadata of models without dates stays as it was
        data_info["date_features"] = list(dates)
    return TrainedModel(
        kind_id=kind.id,
        display_name=kind.display_name,
        pipeline=pipeline,
        params=values,
        metrics=metrics,
        y_test=y_test.to_numpy(dtype=object if classify else np.float64),
        y_pred=y_pred,
        feature_importance=importance,
        cv=cv,
        train_seconds=seconds,
        data_info=data_info,
        importance_method=method,
        notes=notes,
        test_data_rows=data_file_rows(keep, config.batch_rows, test_index),
        task=task,
        task_reason=choice.reason,
        classes=None if classes is None else [_plain(c) for c in classes],
        y_proba=proba,
        y_score=scores,
        class_details=details,
        roc_curve=roc,
        probability_method=proba_method,
    )


def target_task(data: Any, target: str, requested: str = "auto") -> TaskChoice:
    """The task for predicting ``target`` in ``data`` (a loaded file or a DataFrame;
    ``requested`` wins unless it is ``auto``) and why; a missing column names those there are."""
    import pandas as pd

    from tuidash.core.data import LoadedData
    from tuidash.core.tasks import decide_task
    from tuidash.core.text import quoted_names

    frame = data.frame if isinstance(data, LoadedData) else data
    if not isinstance(frame, pd.DataFrame):
        raise TrainingError("Training needs a table of data (a loaded file or a DataFrame).")
    columns = [str(c) for c in frame.columns]
    if target not in columns:
        raise TrainingError(
            f"There is no column {target!r} to predict; the columns are {quoted_names(columns)}."
        )
    return decide_task(frame.iloc[:, columns.index(target)], requested, target)


def kind_for_task(kind_id: str, choice: TaskChoice) -> Any:
    """The kind of the chosen task; when ``auto`` chose a task the kind does not have, the
    error says why the task was chosen and how to change it."""
    from tuidash.core.catalog import CATALOGS, kinds_for

    if choice.chosen or kind_id in kinds_for(choice.task):
        return get_kind(kind_id, choice.task)
    other = "regression" if choice.task == "classification" else "classification"
    if kind_id not in CATALOGS[other]:
        return get_kind(kind_id, choice.task)  # unknown everywhere: the catalog's error
    name = CATALOGS[other][kind_id].display_name
    known = ", ".join(kinds_for(choice.task))
    raise TrainingError(
        f"{choice.reason.rstrip('.')}, and {name} is a {other} model; choose a "
        f"{choice.task} model ({known}) or set the task to {other}."
    )


def stratify_problem(y: pd.Series, n_train: int, n_test: int) -> str | None:
    """Why the split cannot be stratified (a class with one row, too few test rows), or None."""
    counts = y.value_counts()
    rare = counts[counts < 2]
    if len(rare):
        return (
            f"The split is a plain random one, not stratified: class {_plain(rare.index[0])!r} "
            "has only "
            "1 row (stratifying needs at least 2 rows per class)."
        )
    if n_test < len(counts) or n_train < len(counts):
        return (
            f"The split is a plain random one, not stratified: {len(counts)} classes do not fit "
            f"in {min(n_test, n_train)} {'test' if n_test <= n_train else 'training'} rows."
        )
    return None


def _plain(value: Any) -> Any:
    from tuidash.core.tasks import plain_label

    return plain_label(value)


def _rows_needed(test_size: float) -> int:
    rows = 3
    while rows - math.ceil(rows * test_size) < 2:
        rows += 1
    return rows
