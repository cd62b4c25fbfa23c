"""Chart and table data for analysing saved classifiers, from their metadata alone.

Pure Python (no numpy, no pandas, no textual), like ``analysis``: the metadata's
``predictions`` block of a classifier holds capped samples of labels (``y_test``,
``y_pred``), the probability of each stored row's predicted class (``y_proba``), for two
classes the positive class's score (``y_score``), and ``classification``: the classes, the
per-class metrics, the confusion matrix and the ROC curve measured on the whole test set
(``tuidash.core.evaluation.stored_class_predictions`` writes it). Views built from the
whole test set say so; where only the sample is there, they say that instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuidash.core.model_facts import (
    AnalysisError,
    csv_number,
    file_stem,
    finite_value,
    is_classification,
    model_name,
    write_new_csv,
)

PROBABILITY_BIN_CHOICES: tuple[int, ...] = (5, 10, 20)
"""Bin counts of the probability histogram the user can cycle through."""


def label_text(label: Any) -> str:
    """A class label as shown: its text (``True``, ``3``, ``setosa``)."""
    return str(label)


def _block(meta: Mapping[str, Any]) -> Mapping[str, Any]:
    predictions = meta.get("predictions")
    if isinstance(predictions, Mapping):
        block = predictions.get("classification")
        if isinstance(block, Mapping):
            return block
    return {}


def model_classes(meta: Mapping[str, Any]) -> list[Any]:
    """The classifier's classes in its order (``predictions.classification.classes`` or
    the top-level ``classes``); empty when not recorded."""
    for source in (_block(meta), meta, meta.get("metadata")):
        if isinstance(source, Mapping):
            classes = source.get("classes")
            if isinstance(classes, list) and classes:
                return list(classes)
    return []


# --------------------------------------------------------------------------- sample


@dataclass(frozen=True)
class ClassSample:
    """The stored (actual, predicted) labels of one classifier's test set."""

    actual: list[Any]
    """Actual classes, in stored order."""
    predicted: list[Any]
    """Predicted classes for the same rows."""
    probability: list[float | None] | None
    """The probability the model gave its predicted class, per row (None: no probabilities)."""
    score: list[float | None] | None
    """Two classes: the positive class's probability or decision score per row."""
    data_rows: list[int] | None
    """1-based data-file row of each pair (None when not stored)."""
    total: int
    """Rows in the whole test set (more than ``stored`` when the store kept a sample)."""
    classes: list[Any] = field(default_factory=list)
    """The model's classes, in its order."""
    positive: Any = None
    """Two classes: the positive class (``classes[1]``), else None."""
    problem: str | None = None
    """A sentence about what is missing, if anything."""

    @property
    def stored(self) -> int:
        """How many pairs are stored."""
        return len(self.actual)

    @property
    def capped(self) -> bool:
        """True when the stored pairs are a sample of a larger test set."""
        return self.total > self.stored


def _list(raw: Any, length: int) -> list[Any] | None:
    if isinstance(raw, list) and len(raw) >= length:
        return list(raw[:length])
    return None


def class_sample(meta: Mapping[str, Any]) -> ClassSample:
    """The classifier's stored sample of test labels (empty when none is stored)."""
    predictions = meta.get("predictions")
    if not isinstance(predictions, Mapping):
        return ClassSample([], [], None, None, None, 0, problem="No predictions are stored.")
    actual, predicted = predictions.get("y_test"), predictions.get("y_pred")
    if not isinstance(actual, list) or not isinstance(predicted, list):
        return ClassSample([], [], None, None, None, 0, problem="No predictions are stored.")
    count = min(len(actual), len(predicted))
    problem = None
    if len(actual) != len(predicted):
        problem = f"{len(actual)} actual classes but {len(predicted)} predictions are stored."
    classes = model_classes(meta)
    probability = _list(predictions.get("y_proba"), count)
    score = _list(predictions.get("y_score"), count)
    rows = predictions.get("rows")
    data_rows = (
        list(rows[:count])
        if isinstance(rows, list)
        and len(rows) >= count
        and all(isinstance(r, int) and not isinstance(r, bool) and r > 0 for r in rows[:count])
        else None
    )
    total = meta.get("predictions_total")
    if not isinstance(total, int) or isinstance(total, bool) or total < count:
        total = count
    return ClassSample(
        list(actual[:count]),
        list(predicted[:count]),
        None if probability is None else [finite_value(p) for p in probability],
        None if score is None else [finite_value(p) for p in score],
        data_rows,
        total,
        classes,
        classes[1] if len(classes) == 2 else None,
        problem,
    )


# --------------------------------------------------------------------------- confusion


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of (actual, predicted) classes; rows are actual classes, columns predicted."""

    labels: list[str]
    """Class labels as text, in the model's order (the merged ``(other classes)`` last)."""
    counts: list[list[int]]
    """``counts[actual][predicted]``."""
    rates: list[list[float | None]]
    """Row-normalised: each row divided by its total (None for a class with no test rows);
    the diagonal is each class's recall."""
    total: int
    """Rows counted."""
    whole_test_set: bool
    """True when measured on the whole test set; False when rebuilt from the stored sample."""
    note: str | None = None
    """A sentence when classes were merged or only the sample was available."""


def confusion_matrix(meta: Mapping[str, Any]) -> ConfusionMatrix:
    """The confusion matrix stored with the model (whole test set), or rebuilt from the
    stored sample for an entry saved without one."""
    stored = _block(meta).get("confusion_matrix")
    if (
        isinstance(stored, Mapping)
        and isinstance(stored.get("labels"), list)
        and isinstance(stored.get("counts"), list)
        and len(stored["counts"]) == len(stored["labels"])
    ):
        labels = [label_text(v) for v in stored["labels"]]
        counts = [[int(c) for c in row] for row in stored["counts"]]
        note = _block(meta).get("note")
        return _matrix(labels, counts, True, note if isinstance(note, str) else None)
    sample = class_sample(meta)
    if not sample.stored:
        raise AnalysisError(f"{model_name(meta)} has no stored predictions to count.")
    order = [label_text(c) for c in sample.classes]
    for value in sample.actual + sample.predicted:
        if label_text(value) not in order:
            order.append(label_text(value))
    where = {label: i for i, label in enumerate(order)}
    counts = [[0] * len(order) for _ in order]
    for a, p in zip(sample.actual, sample.predicted, strict=True):
        counts[where[label_text(a)]][where[label_text(p)]] += 1
    note = None
    if sample.capped:
        note = f"Counted on the {sample.stored:,} stored test rows of {sample.total:,}."
    return _matrix(order, counts, not sample.capped, note)


def _matrix(
    labels: list[str], counts: list[list[int]], whole: bool, note: str | None
) -> ConfusionMatrix:
    rates: list[list[float | None]] = []
    for row in counts:
        total = sum(row)
        rates.append([c / total if total else None for c in row])
    return ConfusionMatrix(labels, counts, rates, sum(map(sum, counts)), whole, note)


# --------------------------------------------------------------------------- per class


@dataclass(frozen=True)
class ClassMetrics:
    """Precision, recall and F1 of one class, with its number of test rows."""

    label: str
    """The class as text."""
    precision: float
    """Of the rows predicted as this class, the share that are of it."""
    recall: float
    """Of the rows of this class, the share predicted as it."""
    f1: float
    """Harmonic mean of precision and recall."""
    support: int
    """Test rows of this class."""


@dataclass(frozen=True)
class PerClass:
    """The per-class metrics of a classifier (whole test set)."""

    rows: list[ClassMetrics]
    """One per class, in the model's order (at most ``CLASS_DETAIL_CAP - 1`` when capped)."""
    classes_total: int
    """How many classes there are in all."""
    note: str | None = None
    """A sentence when not every class is listed."""


def per_class_metrics(meta: Mapping[str, Any]) -> PerClass:
    """The stored per-class metrics; raise AnalysisError when the entry has none."""
    block = _block(meta)
    raw = block.get("per_class")
    if not isinstance(raw, list) or not raw:
        raise AnalysisError(f"{model_name(meta)} has no per-class metrics stored.")
    rows = []
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        rows.append(
            ClassMetrics(
                label_text(item.get("class")),
                finite_value(item.get("precision")) or 0.0,
                finite_value(item.get("recall")) or 0.0,
                finite_value(item.get("f1")) or 0.0,
                int(finite_value(item.get("support")) or 0),
            )
        )
    total = block.get("classes_total")
    total = total if isinstance(total, int) and total >= len(rows) else len(rows)
    note = block.get("note")
    return PerClass(rows, total, note if isinstance(note, str) else None)


# --------------------------------------------------------------------------- ROC


@dataclass(frozen=True)
class RocCurve:
    """The ROC curve of a two-class model: true-positive rate against false-positive rate."""

    ok: bool
    """False when there is no curve (see ``message``)."""
    message: str
    """What is shown, or why nothing can be."""
    fpr: list[float] = field(default_factory=list)
    """x values from 0 to 1."""
    tpr: list[float] = field(default_factory=list)
    """y values from 0 to 1."""
    positive: str = ""
    """The positive class as text."""
    auc: float | None = None
    """The model's ROC AUC (its metric), when defined."""


def roc_curve(meta: Mapping[str, Any]) -> RocCurve:
    """The stored ROC curve (whole test set), else one from the stored scores; ``ok`` is
    False for several classes, one class, or a model without scores."""
    from tuidash.core.model_facts import metric_value

    auc = metric_value(meta, "ROC AUC")
    classes = model_classes(meta)
    if len(classes) != 2:
        return RocCurve(
            False,
            f"A ROC curve is drawn for two classes; this model has {len(classes)}.",
        )
    stored = _block(meta).get("roc_curve")
    if isinstance(stored, Mapping) and isinstance(stored.get("fpr"), list):
        fpr = [finite_value(v) for v in stored["fpr"]]
        tpr = [finite_value(v) for v in stored.get("tpr") or []]
        if len(fpr) == len(tpr) and fpr and None not in fpr and None not in tpr:
            positive = label_text(stored.get("positive", classes[1]))
            return RocCurve(
                True,
                f"Positive class {positive!r}, whole test set.",
                [float(v) for v in fpr if v is not None],
                [float(v) for v in tpr if v is not None],
                positive,
                auc,
            )
    sample = class_sample(meta)
    scores = sample.score
    if not scores or any(s is None for s in scores):
        from tuidash.core.model_facts import metric_reason

        reason = metric_reason(meta, "ROC AUC")
        return RocCurve(False, reason or "This model stored no scores to draw a ROC curve from.")
    positive = classes[1]
    truth = [label_text(a) == label_text(positive) for a in sample.actual]
    if all(truth) or not any(truth):
        return RocCurve(False, "The stored test rows are all of one class: there is no curve.")
    rates = _roc(truth, [float(s) for s in scores if s is not None])
    message = f"Positive class {label_text(positive)!r}, "
    message += (
        f"from the {sample.stored:,} stored test rows of {sample.total:,}."
        if sample.capped
        else "whole test set."
    )
    return RocCurve(True, message, rates[0], rates[1], label_text(positive), auc)


def _roc(truth: Sequence[bool], scores: Sequence[float]) -> tuple[list[float], list[float]]:
    """False- and true-positive rates at every distinct threshold, from (0, 0) to (1, 1)."""
    pairs = sorted(zip(scores, truth, strict=True), key=lambda p: -p[0])
    positives = sum(truth)
    negatives = len(truth) - positives
    fpr, tpr = [0.0], [0.0]
    tp = fp = 0
    for index, (score, is_positive) in enumerate(pairs):
        if is_positive:
            tp += 1
        else:
            fp += 1
        if index + 1 == len(pairs) or pairs[index + 1][0] != score:
            fpr.append(fp / negatives)
            tpr.append(tp / positives)
    return fpr, tpr


# --------------------------------------------------------------------------- probabilities


@dataclass(frozen=True)
class ProbabilityHistogram:
    """How sure the model was: counts of the predicted class's probability in equal bins
    from 0 to 1, split into right and wrong predictions."""

    ok: bool
    """False when the model stored no probabilities (see ``message``)."""
    message: str
    """What is shown, or why nothing can be."""
    edges: list[float] = field(default_factory=list)
    """Bin edges from 0 to 1, one more than there are bins."""
    right: list[int] = field(default_factory=list)
    """Per bin: rows predicted right."""
    wrong: list[int] = field(default_factory=list)
    """Per bin: rows predicted wrong."""

    @property
    def centres(self) -> list[float]:
        """The middle of each bin."""
        return [(lo + hi) / 2 for lo, hi in zip(self.edges, self.edges[1:], strict=False)]


def probability_histogram(meta: Mapping[str, Any], bins: int = 10) -> ProbabilityHistogram:
    """The histogram of the predicted class's probability over the stored test rows."""
    if bins < 1:
        raise AnalysisError("A histogram needs at least one bin.")
    sample = class_sample(meta)
    if sample.probability is None:
        return ProbabilityHistogram(
            False, "This model gives no class probabilities (for SVC, turn probability on)."
        )
    edges = [i / bins for i in range(bins + 1)]
    right, wrong = [0] * bins, [0] * bins
    used = 0
    for actual, predicted, p in zip(
        sample.actual, sample.predicted, sample.probability, strict=True
    ):
        if p is None:
            continue
        used += 1
        index = min(int(p * bins), bins - 1)
        if label_text(actual) == label_text(predicted):
            right[index] += 1
        else:
            wrong[index] += 1
    message = f"{used:,} stored test rows" + (
        f" of {sample.total:,}." if sample.capped else " (the whole test set)."
    )
    return ProbabilityHistogram(True, message, edges, right, wrong)


# --------------------------------------------------------------------------- errors table


@dataclass(frozen=True)
class ClassErrorRow:
    """One row of a classifier's errors table."""

    row: int
    """The data-file row (1-based) when stored, else the position in the stored sample."""
    actual: str
    """The actual class, as text."""
    predicted: str
    """The predicted class, as text."""
    probability: float | None
    """The probability the model gave its prediction (None without probabilities)."""
    correct: bool
    """True when the prediction is right."""


def class_error_rows(meta: Mapping[str, Any], *, wrong_only: bool = False) -> list[ClassErrorRow]:
    """The errors table: one row per stored test row (only the wrong ones with
    ``wrong_only``), numbered like the regression table (``analysis.row_label``)."""
    sample = class_sample(meta)
    numbers = sample.data_rows or list(range(1, sample.stored + 1))
    probabilities = sample.probability or [None] * sample.stored
    rows = []
    for number, a, p, prob in zip(
        numbers, sample.actual, sample.predicted, probabilities, strict=True
    ):
        correct = label_text(a) == label_text(p)
        if wrong_only and correct:
            continue
        rows.append(ClassErrorRow(number, label_text(a), label_text(p), prob, correct))
    return rows


def export_class_errors_csv(
    meta: Mapping[str, Any], directory: str | Path, *, wrong_only: bool = False
) -> Path:
    """Write the classifier's errors table to a new CSV in ``directory``; return its path."""
    if not is_classification(meta):
        raise AnalysisError(f"{model_name(meta)} is not a classifier.")
    sample = class_sample(meta)
    if not sample.stored:
        raise AnalysisError(f"{model_name(meta)} has no stored predictions to export.")
    rows = [
        [r.row, r.actual, r.predicted, csv_number(r.probability), "yes" if r.correct else "no"]
        for r in class_error_rows(meta, wrong_only=wrong_only)
    ]
    header = [
        "data_row" if sample.data_rows is not None else "test_row",
        "actual",
        "predicted",
        "probability",
        "correct",
    ]
    return write_new_csv(directory, f"{file_stem(model_name(meta))}_errors", header, rows)
