"""What a model sees: the feature columns and their kinds, the preprocessing pipeline that
is trained and saved, and the one way raw columns are normalised for training and for
prediction. pandas and sklearn are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tuidash.core.catalog import get_kind
from tuidash.core.errors import TrainingError
from tuidash.core.profiling import column_kind
from tuidash.core.text import quoted_names

if TYPE_CHECKING:
    import pandas as pd

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


def build_pipeline(
    kind_id: str,
    params: Mapping[str, Any] | None,
    numeric_features: Sequence[str],
    categorical_features: Sequence[str],
    random_state: int | None = 42,
    date_features: Sequence[str] = (),
    task: str = "regression",
) -> Any:
    """The unfitted sklearn Pipeline that is trained and saved: preprocessing + estimator.

    ``task`` picks the kind from that task's catalog (``random_forest`` is a regressor or a
    classifier); a classifier keeps its classes (``classes_``) so predictions come back as
    the original labels.

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

    kind = get_kind(kind_id, task)
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


def unseen_categories(pipeline: Any, X: Any) -> dict[str, tuple[list[str], bool]]:
    """Categorical columns of ``X`` holding values the fitted pipeline never saw in training:
    column -> (the unseen values, sorted, and whether they go to an "infrequent" group).

    Empty for pipelines not built by build_pipeline (nothing to tell).
    """
    preprocess = getattr(pipeline, "named_steps", {}).get("preprocess")
    transformers = getattr(preprocess, "transformers_", None) or []
    out: dict[str, tuple[list[str], bool]] = {}
    for name, transformer, columns in transformers:
        if name != "categorical":
            continue
        encoder = getattr(transformer, "named_steps", {}).get("onehot")
        categories = getattr(encoder, "categories_", None)
        if categories is None:
            continue
        infrequent = getattr(encoder, "infrequent_categories_", None) or [None] * len(columns)
        for column, known, rare in zip(columns, categories, infrequent, strict=False):
            if column not in getattr(X, "columns", ()):
                continue
            seen = {str(value) for value in known}
            present = X[column].dropna().astype(str).unique()
            new = sorted(str(value) for value in present if str(value) not in seen)
            if new:
                out[str(column)] = (new, rare is not None)
    return out


def _date_step(pipeline: Any) -> Any:
    """The fitted DateFeatures step of a pipeline built by build_pipeline, or None."""
    preprocess = getattr(pipeline, "named_steps", {}).get("preprocess")
    for name, transformer, _columns in getattr(preprocess, "transformers_", []) or []:
        if name == "dates":
            return dict(getattr(transformer, "named_steps", {})).get("dates")
    return None


# --------------------------------------------------------------------------- features


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


def choose_features(
    frame: pd.DataFrame, target: str, chosen_features: Sequence[str] | None, notes: list[str]
) -> tuple[list[str], list[str], list[str], list[str]]:
    """The feature columns, split into numeric, categorical (text, booleans) and dates."""
    if chosen_features is not None:
        if isinstance(chosen_features, str):
            raise TrainingError("Features must be a list of column names, not one string.")
        chosen = [str(f) for f in chosen_features]
        unknown = [f for f in chosen if f not in frame.columns]
        if unknown:
            raise TrainingError(
                f"There is no column {quoted_names(unknown)}; "
                f"the columns are {quoted_names(list(frame.columns))}."
            )
        if target in chosen:
            raise TrainingError(
                f"The target {target!r} cannot also be a feature; remove it from the features."
            )
        twice = sorted({f for f in chosen if chosen.count(f) > 1})
        if twice:
            raise TrainingError(f"The feature {quoted_names(twice)} is chosen more than once.")
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
        notes.append(f"Left out empty columns {quoted_names(skipped_empty)} (every value missing).")
    if not features:
        raise TrainingError("There are no usable feature columns; choose at least one.")
    return features, numeric, categorical, dates


def schema_entry(
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


# --------------------------------------------------------------------------- rows


def numeric_target(series: pd.Series, name: str) -> pd.Series:
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


def prepare_frame(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]) -> Any:
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


def batch_frame(
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
