"""Preprocessing pipeline, split, fit and evaluate: turns a frame into a TrainedModel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tuidash.core.catalog import get_kind


def build_pipeline(
    kind_id: str,
    params: Mapping[str, Any] | None,
    numeric_features: Sequence[str],
    categorical_features: Sequence[str],
    random_state: int | None = 42,
) -> Any:
    """The unfitted sklearn Pipeline that is trained and saved: preprocessing + estimator.

    Numeric columns: median imputation (+ standard scaling when the kind needs it).
    Text/categorical columns: most-frequent imputation + one-hot that ignores unseen values.
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
                ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        )
        transformers.append(("categorical", categorical, list(categorical_features)))
    preprocess = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
    return Pipeline([("preprocess", preprocess), ("model", kind.build(params, random_state))])
