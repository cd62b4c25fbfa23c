"""Regression and classification metrics on the full test set, safe with zeros, constants,
one-class test sets and tiny test sets.

Regression is plain numpy; classification calls scikit-learn's metrics (imported inside
the functions), so importing this module stays cheap for listing and comparing models. A
metric that cannot be computed honestly is ``None`` with a one-sentence reason; values are
never NaN or infinity.
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


# --------------------------------------------------------------------------- classification

CLASSIFICATION_METRIC_NAMES: tuple[str, ...] = (
    "Accuracy",
    "Balanced accuracy",
    "Precision macro",
    "Recall macro",
    "F1 macro",
    "Precision weighted",
    "Recall weighted",
    "F1 weighted",
    "ROC AUC",
    "Log loss",
)
"""Every classification metric, in the order they are shown (all on the whole test set)."""

CLASSIFICATION_LOWER_IS_BETTER: frozenset[str] = frozenset({"Log loss"})
"""The only classification metric where smaller is better."""

CLASSIFICATION_METRIC_HELP: dict[str, str] = {
    "Accuracy": "Share of test rows whose class is predicted right.",
    "Balanced accuracy": "Recall averaged over the classes: every class counts the same, "
    "however rare; predicting the most common class scores 1 / number of classes.",
    "Precision macro": "Of the rows predicted as a class, the share that are right, "
    "averaged over the classes (a class never predicted counts 0).",
    "Recall macro": "Of the rows of a class, the share found, averaged over the classes.",
    "F1 macro": "Harmonic mean of precision and recall per class, averaged over the classes.",
    "Precision weighted": "Precision per class, averaged weighted by each class's test rows.",
    "Recall weighted": "Recall per class weighted by its test rows (equals accuracy).",
    "F1 weighted": "F1 per class, averaged weighted by each class's test rows.",
    "ROC AUC": "How well the model's scores rank the rows of a class above the others: "
    "1 is perfect, 0.5 is chance (one-vs-rest, averaged over classes, for several).",
    "Log loss": "How much probability the model gave the true class (lower is better); "
    "confident wrong answers cost most.",
}
"""One line per classification metric, for help texts and tooltips."""

CLASS_DETAIL_CAP = 50
"""Per-class metrics and the confusion matrix keep at most this many classes: with more,
the ``CLASS_DETAIL_CAP - 1`` classes with the most test rows keep their own row and
column and every other class is merged into one ``OTHER_CLASSES`` row and column (the
metrics themselves always use every class)."""

OTHER_CLASSES = "(other classes)"
"""The label of the merged row/column when there are more than CLASS_DETAIL_CAP classes."""

ROC_POINTS = 200
"""A stored ROC curve keeps at most this many points (the corners always kept)."""


def classification_metrics(
    y_true: Sequence[Any] | Any,
    y_pred: Sequence[Any] | Any,
    classes: Sequence[Any] | Any,
    *,
    proba: Any = None,
    scores: Any = None,
) -> MetricsResult:
    """Accuracy, balanced accuracy, precision/recall/F1 (macro, weighted), ROC AUC, log loss.

    ``classes`` are the model's classes in its column order; ``proba`` is predict_proba's
    (rows x classes) array and ``scores`` decision_function's, when the model has them.
    ROC AUC uses probabilities, else (two classes only) decision scores; log loss needs
    probabilities. An undefined metric is None with a one-sentence reason.
    """
    import warnings

    import numpy as np
    from sklearn import metrics as skm

    true = np.asarray(y_true, dtype=object).ravel()
    pred = np.asarray(y_pred, dtype=object).ravel()
    known = [_plain(c) for c in np.asarray(classes, dtype=object).ravel().tolist()]
    if true.shape != pred.shape:
        raise ValueError(
            f"y_true has {true.size} values but y_pred has {pred.size}; they must match."
        )
    if true.size == 0:
        return _all_undefined_of(
            CLASSIFICATION_METRIC_NAMES, "There are no test rows to measure on."
        )
    values: dict[str, float | None] = dict.fromkeys(CLASSIFICATION_METRIC_NAMES)
    reasons: dict[str, str] = {}
    true, pred = _same_label_type(true, pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _put(values, reasons, "Accuracy", float(skm.accuracy_score(true, pred)))
        _put(values, reasons, "Balanced accuracy", float(skm.balanced_accuracy_score(true, pred)))
        for average in ("macro", "weighted"):
            p, r, f, _ = skm.precision_recall_fscore_support(
                true, pred, average=average, zero_division=0.0
            )
            _put(values, reasons, f"Precision {average}", float(p))
            _put(values, reasons, f"Recall {average}", float(r))
            _put(values, reasons, f"F1 {average}", float(f))
    present = _unique(true)
    unseen = [c for c in present if c not in set(known)]
    probabilities = None if proba is None else np.asarray(proba, dtype=np.float64)
    decision = None if scores is None else np.asarray(scores, dtype=np.float64)
    roc_reason = None
    if unseen:
        roc_reason = (
            f"ROC AUC is undefined because the test rows have {_labels_text(unseen)}, a class "
            "the model never saw in training."
        )
    elif len(present) < 2:
        roc_reason = (
            f"ROC AUC is undefined because every test row is of one class ({present[0]!r}); "
            "it needs rows of at least two classes."
        )
    elif len(known) == 2:
        score = None
        if probabilities is not None:
            score = probabilities[:, 1]
        elif decision is not None:
            score = decision.ravel()
        if score is None:
            roc_reason = "ROC AUC is undefined because the model gives no probabilities or scores."
        elif not np.isfinite(score).all():
            roc_reason = "ROC AUC is undefined because the model gave missing or infinite scores."
        else:
            positive = (true == known[1]).astype(int)
            _put(values, reasons, "ROC AUC", float(skm.roc_auc_score(positive, score)))
    elif probabilities is None:
        roc_reason = (
            "ROC AUC for several classes needs class probabilities, and this model gives none "
            "(for SVC, turn probability on)."
        )
    elif len(present) < len(known):
        missing = [c for c in known if c not in set(present)]
        roc_reason = (
            f"ROC AUC (one-vs-rest) is undefined because {_labels_text(missing)} "
            f"{'has' if len(missing) == 1 else 'have'} no test rows."
        )
    elif not np.isfinite(probabilities).all():
        roc_reason = "ROC AUC is undefined because the model gave missing probabilities."
    else:
        auc = skm.roc_auc_score(
            _label_index(true, known),
            probabilities,
            multi_class="ovr",
            average="macro",
            labels=list(range(len(known))),
        )
        _put(values, reasons, "ROC AUC", float(auc))
    if roc_reason is not None:
        reasons["ROC AUC"] = roc_reason
    if probabilities is None:
        reasons["Log loss"] = "Log loss is undefined because the model gives no probabilities."
    elif unseen:
        reasons["Log loss"] = (
            f"Log loss is undefined because the test rows have {_labels_text(unseen)}, a class "
            "the model never saw in training."
        )
    elif not np.isfinite(probabilities).all():
        reasons["Log loss"] = "Log loss is undefined because the model gave missing probabilities."
    else:
        loss = skm.log_loss(
            _label_index(true, known), probabilities, labels=list(range(len(known)))
        )
        _put(values, reasons, "Log loss", float(loss))
    return MetricsResult(values, reasons)


def balanced_accuracy(y_true: Sequence[Any] | Any, y_pred: Sequence[Any] | Any) -> float | None:
    """Balanced accuracy of labels (the cross-validation score), None without rows."""
    import warnings

    import numpy as np
    from sklearn.metrics import balanced_accuracy_score

    true = np.asarray(y_true, dtype=object).ravel()
    pred = np.asarray(y_pred, dtype=object).ravel()
    if true.size == 0:
        return None
    true, pred = _same_label_type(true, pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(balanced_accuracy_score(true, pred))
    return value if math.isfinite(value) else None


def class_details(
    y_true: Sequence[Any] | Any,
    y_pred: Sequence[Any] | Any,
    classes: Sequence[Any] | Any,
    cap: int = CLASS_DETAIL_CAP,
) -> dict[str, Any]:
    """Per-class precision/recall/F1/support and the confusion matrix, bounded by ``cap``.

    Returns ``{"per_class": [{"class", "precision", "recall", "f1", "support"}],
    "confusion_matrix": {"labels": [...], "counts": [[...]]}, "classes_total": n,
    "classes_shown": k, "note": str | None}``: rows of ``counts`` are actual classes,
    columns predicted ones, in ``labels`` order (the model's class order, then any test
    label it never saw). With more than ``cap`` classes the ``cap - 1`` classes with the
    most test rows are kept and the rest merged into ``OTHER_CLASSES``.
    """
    import warnings

    import numpy as np
    from sklearn import metrics as skm

    true = np.asarray(y_true, dtype=object).ravel()
    pred = np.asarray(y_pred, dtype=object).ravel()
    true, pred = _same_label_type(true, pred)
    labels = [_plain(c) for c in np.asarray(classes, dtype=object).ravel().tolist()]
    seen = set(labels)
    for value in list(_unique(true)) + list(_unique(pred)):
        if value not in seen:
            labels.append(value)
            seen.add(value)
    total = len(labels)
    support = {label: 0 for label in labels}
    for value in true.tolist():
        support[value] += 1
    note = None
    if total > cap:
        order = sorted(range(total), key=lambda i: (-support[labels[i]], i))
        kept = [labels[i] for i in sorted(order[: cap - 1])]
        note = (
            f"{total} classes: the {cap - 1} with the most test rows are shown one by one and "
            f"the other {total - cap + 1} are merged into {OTHER_CLASSES!r}."
        )
    else:
        kept = labels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, s = skm.precision_recall_fscore_support(true, pred, labels=kept, zero_division=0.0)
    per_class = [
        {
            "class": _plain(label),
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "support": int(s[i]),
        }
        for i, label in enumerate(kept)
    ]
    shown = [*kept, OTHER_CLASSES] if total > cap else kept
    position = {label: i for i, label in enumerate(kept)}
    other = len(kept)
    size = len(shown)
    counts = [[0] * size for _ in range(size)]
    for a, b in zip(true.tolist(), pred.tolist(), strict=True):
        counts[position.get(a, other)][position.get(b, other)] += 1
    return {
        "per_class": per_class,
        "confusion_matrix": {"labels": [_plain(v) for v in shown], "counts": counts},
        "classes_total": total,
        "classes_shown": len(kept),
        "note": note,
    }


def roc_points(
    y_true: Sequence[Any] | Any, score: Any, positive: Any, limit: int = ROC_POINTS
) -> dict[str, Any] | None:
    """The binary ROC curve ``{"positive", "fpr", "tpr"}`` of the whole test set, thinned
    to at most ``limit`` points, or None when it is undefined (one class, no scores)."""
    import numpy as np
    from sklearn.metrics import roc_curve

    if score is None:
        return None
    true = np.asarray(y_true, dtype=object).ravel()
    values = np.asarray(score, dtype=np.float64).ravel()
    if values.size != true.size or not np.isfinite(values).all():
        return None
    positive_rows = np.array([v == positive for v in true.tolist()], dtype=int)
    if positive_rows.min(initial=1) == positive_rows.max(initial=0):
        return None
    fpr, tpr, _ = roc_curve(positive_rows, values)
    if fpr.size > limit:
        index = np.unique(np.linspace(0, fpr.size - 1, limit).round().astype(np.int64))
        fpr, tpr = fpr[index], tpr[index]
    return {
        "positive": _plain(positive),
        "fpr": [float(v) for v in fpr],
        "tpr": [float(v) for v in tpr],
    }


def _plain(value: Any) -> Any:
    """A label as a plain JSON value."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    return value if isinstance(value, bool | int | float | str) else str(value)


def _unique(values: Any) -> list[Any]:
    """Distinct values in first-seen order."""
    return list(dict.fromkeys(values.tolist()))


def _same_label_type(true: Any, pred: Any) -> tuple[Any, Any]:
    """Labels sklearn can sort together: plain Python values, all text when types mix."""
    import numpy as np

    a = [_plain(v) for v in true.tolist()]
    b = [_plain(v) for v in pred.tolist()]
    kinds = {type(v) is str for v in a + b}
    if len(kinds) > 1:
        a, b = [str(v) for v in a], [str(v) for v in b]
    if True in kinds:  # text: an object array (sklearn reads it as class names)
        return np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    # Numbers: a numeric array (sklearn calls an object array of ints "unknown").
    return np.asarray(a), np.asarray(b)


def _label_index(true: Any, known: Sequence[Any]) -> Any:
    """Each label's position in the model's classes (all known here)."""
    import numpy as np

    where = {_plain(c): i for i, c in enumerate(known)}
    return np.asarray([where[v] for v in true.tolist()], dtype=np.int64)


def _labels_text(labels: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in labels[:3])
    more = f" and {len(labels) - 3} more" if len(labels) > 3 else ""
    return f"{shown}{more}"


def _all_undefined_of(names: Sequence[str], reason: str) -> MetricsResult:
    return MetricsResult(dict.fromkeys(names), dict.fromkeys(names, reason))
