"""The saved form of an XGBoost, LightGBM or CatBoost classifier: labels encoded inside.

XGBoost learns only the labels 0..n-1, and the three libraries differ in what ``classes_``
and ``predict`` give back (CatBoost's ``predict`` is a column for several classes). The
classification pipeline hands ``fit`` whole numbers or text, so every boosting classifier
is wrapped in ``EncodedLabelsClassifier``: it fits the library's model on 0..n-1, keeps the
original labels in ``classes_`` (sorted, as scikit-learn's classifiers do), returns them
from ``predict`` and gives ``predict_proba`` columns in ``classes_`` order.

It imports scikit-learn, so only ``core.boosting.encoded_labels`` imports this module, when
a classifier is built.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class EncodedLabelsClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A boosting library's classifier fitted on label codes, answering in original labels."""

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def encode(self, y: Any) -> np.ndarray:
        """Keep the sorted distinct labels of ``y`` as ``classes_``; return its codes."""
        labels = np.asarray(y).ravel()
        self.classes_, codes = np.unique(labels, return_inverse=True)
        return np.asarray(codes, dtype=np.int64).ravel()

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EncodedLabelsClassifier:
        """Fit the library's model on the codes of ``y`` (its labels kept in ``classes_``)."""
        codes = self.encode(y)
        self.estimator.fit(X, codes, **fit_params)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities, one column per class in ``classes_`` order, each row summing to 1
        (XGBoost's are float32, whose rows miss 1 by enough for log loss to warn)."""
        proba = np.asarray(self.estimator.predict_proba(X), dtype=np.float64)
        normalised: np.ndarray = proba / proba.sum(axis=1, keepdims=True)
        return normalised

    def predict(self, X: Any) -> np.ndarray:
        """The original label of the most probable class of each row."""
        labels: np.ndarray = np.asarray(self.classes_)[self.predict_proba(X).argmax(axis=1)]
        return labels

    @property
    def feature_importances_(self) -> np.ndarray:
        """The library's importances (gain; CatBoost: prediction values change)."""
        return np.asarray(self.estimator.feature_importances_)

    @property
    def n_features_in_(self) -> int:
        """Columns the fitted model expects."""
        return int(self.estimator.n_features_in_)
