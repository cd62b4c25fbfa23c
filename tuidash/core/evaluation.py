"""How well a fitted model does: its test predictions (a chunk of rows at a time),
cross-validation scores, feature importance per original column, and the capped sample of
test predictions that the store keeps. numpy, pandas and sklearn are imported inside.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tuidash.core.catalog import get_kind
from tuidash.core.fitting import fit_pipeline
from tuidash.core.metrics import regression_metrics
from tuidash.core.progress import ProgressReporter

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PREDICTION_CAP = 2000
"""At most this many (y_test, y_pred) points are kept for charts; metrics use every row."""

PERMUTATION_ROWS = 500
"""Permutation importance is measured on at most this many test rows (evenly spaced)."""

PERMUTATION_REPEATS = 3
"""Shuffles per column for permutation importance: enough for a ranking, cheap to run."""

PREDICT_CHUNK_ROWS = 2000
"""Test rows predicted per call, so evaluation reports progress and honours cancel.

k-Nearest Neighbours on a large training set predicts about 2,000 rows a second; a chunk
this size keeps every pause between cancel checks near a second.
"""


def cross_validate(
    pipeline: Any,
    kind_id: str,
    X: pd.DataFrame,
    y: pd.Series,
    folds: int,
    keep_order: bool,
    random_state: int,
    report: ProgressReporter,
    start: float,
    end: float,
    task: str = "regression",
) -> dict[str, Any]:
    """R2 (regression) or balanced accuracy (classification) of each of ``folds`` folds on
    the training rows: time-ordered when ``keep_order``, stratified for classification when
    every class has at least ``folds`` training rows (plain k-fold otherwise)."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

    classify = task == "classification"
    if keep_order:
        splitter: Any = TimeSeriesSplit(n_splits=folds)
        splitter_name = "time-ordered"
    elif classify and int(y.value_counts().min()) >= folds:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
        splitter_name = "stratified k-fold"
    else:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=random_state)
        splitter_name = "k-fold"
    metric = "Balanced accuracy" if classify else "R2"
    scores: list[float | None] = []
    width = (end - start) / folds
    split_args = (X, y) if splitter_name == "stratified k-fold" else (X,)
    for number, (train_index, valid_index) in enumerate(splitter.split(*split_args), start=1):
        # The fold's fit reports inside the fold's share ("... fold 2 of 5: Fitted 10 of ...").
        fold_report = report.scaled(
            start + width * (number - 1),
            start + width * number,
            f"Cross-validation fold {number} of {folds}: ",
        )
        fold = clone(pipeline)
        fit_pipeline(
            fold,
            kind_id,
            get_kind(kind_id, task).display_name,
            X.iloc[train_index],
            y.iloc[train_index],
            fold_report,
            0.0,
            1.0,
        )
        if classify:
            from tuidash.core.metrics import balanced_accuracy

            labels = predict_labels_in_chunks(fold, X.iloc[valid_index], fold_report.silent())
            scores.append(balanced_accuracy(y.iloc[valid_index].to_numpy(), labels))
        else:
            predicted = predict_in_chunks(fold, X.iloc[valid_index], fold_report.silent())
            scores.append(regression_metrics(y.iloc[valid_index].to_numpy(), predicted)["R2"])
    defined = [s for s in scores if s is not None]
    return {
        "folds": folds,
        "metric": metric,
        "splitter": splitter_name,
        "scores": scores,
        "mean": float(np.mean(defined)) if defined else None,
        "std": float(np.std(defined)) if defined else None,
    }


# --------------------------------------------------------------------------- importance


def feature_importance(
    pipeline: Any,
    kind_id: str,
    features: Sequence[str],
    X_test: pd.DataFrame,
    y_test: pd.Series,
    random_state: int,
    report: ProgressReporter,
    task: str = "regression",
) -> tuple[dict[str, float] | None, str | None]:
    """Importance per original column and how it was measured.

    Permutation importance is the MAE increase (regression) or the accuracy drop
    (classification) when a column is shuffled."""
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
            size = np.abs(np.asarray(dense, dtype=np.float64))
            if size.ndim == 2 and size.shape[0] > 1:  # a classifier: one row per class (pair)
                size = size.mean(axis=0)
            raw, method = size.ravel(), "coefficient"
    if raw is not None:
        owners = _output_owners(pipeline.named_steps["preprocess"])
        if owners is not None and len(owners) == raw.size:
            totals = dict.fromkeys(features, 0.0)
            for owner, value in zip(owners, raw.tolist(), strict=True):
                if owner in totals and math.isfinite(value):
                    totals[owner] += value
            return _ranked(totals), method
    return _permutation_importance(pipeline, features, X_test, y_test, random_state, report, task)


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
    report: ProgressReporter,
    task: str = "regression",
) -> tuple[dict[str, float] | None, str | None]:
    """Mean drop in (negative) MAE, or in accuracy for classification, when one column is
    shuffled, on a capped test sample.

    The same shuffles and scores as sklearn's ``permutation_importance``, one column at a
    time, so progress is reported and cancel is honoured between predictions.
    """
    import numpy as np
    from sklearn.metrics import accuracy_score, mean_absolute_error

    def score(truth: Any, predicted: Any) -> float:
        if task == "classification":
            return float(accuracy_score(truth, predicted))
        return float(-mean_absolute_error(truth, predicted))

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
    baseline = score(y, pipeline.predict(X))
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
            scores.append(score(y, pipeline.predict(shuffled)))
        value = float(baseline - np.mean(scores))
        values.append(value if math.isfinite(value) else 0.0)
        done = position + 1
        report(done / len(columns), f"Feature importance: {done} of {len(columns)} columns")
    return _ranked(dict(zip(columns, values, strict=True))), "permutation"


def permutation_rows(pipeline: Any, kind_id: str, features: Sequence[str], test_rows: int) -> int:
    """Rows that permutation importance will predict (0 when the model measures its own)."""
    model = pipeline.named_steps["model"]
    if kind_id == "dummy" or hasattr(model, "feature_importances_"):
        return 0
    if getattr(model, "coef_", None) is not None:
        return 0
    return min(test_rows, PERMUTATION_ROWS) * (1 + len(features) * PERMUTATION_REPEATS)


def predict_in_chunks(
    pipeline: Any, X: pd.DataFrame, report: ProgressReporter, chunk_rows: int = PREDICT_CHUNK_ROWS
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


def predict_labels_in_chunks(
    pipeline: Any, X: pd.DataFrame, report: ProgressReporter, chunk_rows: int = PREDICT_CHUNK_ROWS
) -> np.ndarray:
    """Predicted class labels of ``X``, a chunk of rows at a time (an object array)."""
    labels, _proba, _scores = classify_in_chunks(pipeline, X, report, chunk_rows, outputs=False)
    return labels


def classify_in_chunks(
    pipeline: Any,
    X: pd.DataFrame,
    report: ProgressReporter,
    chunk_rows: int = PREDICT_CHUNK_ROWS,
    *,
    outputs: bool = True,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Labels, probabilities (rows x classes, or None) and, without probabilities, decision
    scores of ``X``, a chunk of rows at a time: progress after each, cancel between."""
    import numpy as np

    total = len(X)
    report(0.0, f"Predicting the test rows: 0 of {total:,}")
    has_proba = outputs and probability_method(pipeline) == "predict_proba"
    has_scores = outputs and probability_method(pipeline) == "decision_function"
    # SVC's predict votes with its decision function, which may disagree with its
    # (cross-validated) probabilities, so its labels come from predict itself.
    own_vote = hasattr(getattr(pipeline, "named_steps", {}).get("model"), "probability")
    labels, proba, scores = [], [], []
    for begin in range(0, total, chunk_rows):
        end = min(total, begin + chunk_rows)
        part = X.iloc[begin:end]
        if has_proba:
            probabilities = np.asarray(pipeline.predict_proba(part), dtype=np.float64)
            proba.append(probabilities)
            if own_vote:
                labels.append(np.asarray(pipeline.predict(part), dtype=object).ravel())
            else:  # the class of the highest probability, as these models' predict does
                labels.append(np.asarray(pipeline.classes_, dtype=object)[probabilities.argmax(1)])
        else:
            labels.append(np.asarray(pipeline.predict(part), dtype=object).ravel())
            if has_scores:
                scores.append(np.asarray(pipeline.decision_function(part), dtype=np.float64))
        report(end / total, f"Predicting the test rows: {end:,} of {total:,}")
    out = np.concatenate(labels) if labels else np.empty(0, dtype=object)
    return (
        out,
        np.concatenate(proba) if proba else None,
        np.concatenate(scores) if scores else None,
    )


def probability_method(pipeline: Any) -> str | None:
    """What a fitted classifier gives besides its class: predict_proba, decision_function
    or None (SVC offers predict_proba only when it was fitted with probability=True)."""
    model = getattr(pipeline, "named_steps", {}).get("model", pipeline)
    for method in ("predict_proba", "decision_function"):
        try:
            if hasattr(model, method):
                return method
        except AttributeError:  # available_if raises when the method is switched off
            continue
    return None


def _ranked(values: Mapping[str, float]) -> dict[str, float]:
    return dict(sorted(values.items(), key=lambda item: -item[1]))


# --------------------------------------------------------------------------- stored sample


def stored_predictions(
    y_test: Any,
    y_pred: Any,
    rows: Any,
    importance: Mapping[str, float] | None,
    importance_method: str | None,
) -> dict[str, Any]:
    """The ``predictions`` block the store keeps: at most PREDICTION_CAP (y_test, y_pred)
    pairs, evenly spaced, with the data-file row of each, and the feature importances with
    how they were measured."""
    kept_test, kept_pred, kept_rows = cap_predictions(y_test, y_pred, PREDICTION_CAP, rows)
    return {
        "y_pred": [json_float(v) for v in kept_pred],
        "y_test": [json_float(v) for v in kept_test],
        "feature_importance": (
            None if importance is None else {k: json_float(v) for k, v in importance.items()}
        ),
        # How the importances were measured, next to them (the listing keeps this block),
        # and the data-file row of each stored pair (same cap as y_pred).
        "feature_importance_method": importance_method,
        "rows": kept_rows,
    }


def cap_predictions(
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


def data_file_rows(keep: Any, batch_rows: int | None, test_index: Any) -> Any:
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


def json_float(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def stored_class_predictions(
    y_test: Any,
    y_pred: Any,
    rows: Any,
    importance: Mapping[str, float] | None,
    importance_method: str | None,
    *,
    classes: Sequence[Any],
    proba: Any = None,
    scores: Any = None,
    details: Mapping[str, Any] | None = None,
    roc: Mapping[str, Any] | None = None,
    probability_method: str | None = None,
) -> dict[str, Any]:
    """The ``predictions`` block of a classifier: the same keys as regression (labels in
    ``y_test``/``y_pred``, at most PREDICTION_CAP, evenly spaced) plus ``y_proba`` (the
    probability of each stored row's predicted class), ``y_score`` (two classes: the score
    of the positive class, ``classes[1]``) and ``classification`` (classes, per-class
    metrics, confusion matrix and ROC curve of the whole test set)."""
    import numpy as np

    from tuidash.core.tasks import plain_label

    test = np.asarray(y_test, dtype=object).ravel()
    pred = np.asarray(y_pred, dtype=object).ravel()
    if test.size <= PREDICTION_CAP:
        index = np.arange(test.size)
    else:
        index = np.unique(np.linspace(0, test.size - 1, PREDICTION_CAP).round().astype(np.int64))
    numbers = None if rows is None else np.asarray(rows, dtype=np.int64).ravel()
    kept_rows = (
        None if numbers is None or numbers.size != test.size else [int(r) for r in numbers[index]]
    )
    labels = [plain_label(c) for c in classes]
    y_proba = None
    y_score = None
    if proba is not None:
        probabilities = np.asarray(proba, dtype=np.float64)
        position = {label: i for i, label in enumerate(labels)}
        y_proba = [
            json_float(probabilities[i, position[plain_label(pred[i])]])
            if plain_label(pred[i]) in position
            else None
            for i in index.tolist()
        ]
        if len(labels) == 2:
            y_score = [json_float(v) for v in probabilities[index, 1]]
    elif scores is not None and len(labels) == 2:
        y_score = [json_float(v) for v in np.asarray(scores, dtype=np.float64).ravel()[index]]
    block: dict[str, Any] = {
        "classes": labels,
        "positive_class": labels[1] if len(labels) == 2 else None,
        "probability_method": probability_method,
        **dict(details or {}),
        "roc_curve": None if roc is None else dict(roc),
    }
    return {
        "y_pred": [plain_label(v) for v in pred[index]],
        "y_test": [plain_label(v) for v in test[index]],
        "feature_importance": (
            None if importance is None else {k: json_float(v) for k, v in importance.items()}
        ),
        "feature_importance_method": importance_method,
        "rows": kept_rows,
        "y_proba": y_proba,
        "y_score": y_score,
        "classification": block,
    }
