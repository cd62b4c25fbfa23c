"""Predict with a model on new data: check the rows against the model's feature schema,
predict, and (for ``tuidash predict`` and the Predict screen) read a file and write a CSV.

Training hands its fitted pipeline and feature schema to ``predict`` here; this module
never imports training. Pure Python; pandas and sklearn are imported inside the functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tuidash.core.errors import TuidashError
from tuidash.core.pipeline import features_from_pipeline, prepare_frame, unseen_categories
from tuidash.core.text import quoted_names

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tuidash.core.store import ModelPersistence

PREDICTION_COLUMN = "prediction"
"""Name of the column added to the input rows (a suffix is added if the input has one)."""

PROBABILITY_PREFIX = "probability_"
"""A classifier with probabilities adds one column per class: ``probability_<class>``."""


class PredictionError(TuidashError, ValueError):
    """The data cannot be predicted on with this model; the message says why in one sentence."""


class SchemaError(TuidashError, ValueError):
    """New data does not fit a model's feature schema; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        """Every reason the data does not fit, one sentence each."""
        super().__init__(" ".join(self.problems) or "The data does not fit the model.")


@runtime_checkable
class FittedModel(Protocol):
    """A fitted pipeline with the feature schema it was trained on (a ``TrainedModel``)."""

    pipeline: Any

    @property
    def features(self) -> list[dict[str, Any]]:
        """The feature schema [{name, dtype, kind}] that new data is checked against."""


@dataclass
class Prediction:
    """Input rows plus a prediction column, and what a person should know about them."""

    model_name: str
    source: str
    frame: pd.DataFrame
    column: str
    notes: list[str] = field(default_factory=list)
    probability_columns: dict[str, Any] = field(default_factory=dict)
    """Classifiers with probabilities: column name -> class, in the model's class order."""

    @property
    def rows(self) -> int:
        """How many rows were predicted."""
        return len(self.frame)

    def values(self) -> list[Any]:
        """The predictions as plain Python values (numbers, or class labels; NaN -> None)."""
        return _plain_values(self.frame[self.column].tolist())

    def probabilities(self) -> dict[str, list[Any]]:
        """Classifiers: each class's probability column as plain numbers, keyed by the
        class as text; empty for regression and models without probabilities."""
        return {
            str(label): _plain_values(self.frame[column].tolist())
            for column, label in self.probability_columns.items()
        }


def _plain_values(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, float) and value != value:
            out.append(None)
        else:
            out.append(value.item() if hasattr(value, "item") else value)
    return out


def model_features(entry: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The feature schema [{name, dtype}] recorded for a loaded model, or None if unknown.

    tuidash stores it in the metadata's ``data.features``; for stores of the original app
    the fitted pipeline's own column lists are the fallback (dtypes unknown).
    """
    metadata = entry.get("metadata")
    data = metadata.get("data") if isinstance(metadata, Mapping) else None
    features = data.get("features") if isinstance(data, Mapping) else None
    if isinstance(features, list) and features:
        schema = []
        for item in features:
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                schema.append(dict(item))
            elif isinstance(item, str):
                schema.append({"name": item, "dtype": None})
        if schema:
            return schema
    model = entry.get("model")
    return features_from_pipeline(model) if model is not None else None


def schema_problems(frame: pd.DataFrame, features: list[dict[str, Any]]) -> list[str]:
    """Problems that stop ``frame`` from being predicted on (missing columns named)."""
    return list(check_schema(frame, features))


def predict_frame(
    entry: Mapping[str, Any], frame: pd.DataFrame, *, model_name: str = "", source: str = ""
) -> Prediction:
    """Check ``frame`` against the model's schema and add a prediction column to a copy."""
    model = entry.get("model")
    if model is None or not hasattr(model, "predict"):
        raise PredictionError(f"The model {model_name!r} has no fitted estimator to predict with.")
    if len(frame) == 0:
        raise PredictionError(f"{source or 'The data'} has no rows to predict on.")
    features = model_features(entry)
    notes: list[str] = []
    if not features:
        raise PredictionError(
            f"The model {model_name!r} does not record which columns it needs, "
            "so new data cannot be checked against it."
        )
    problems = schema_problems(frame, features)
    if problems:
        where = f"{source} " if source else "The data "
        raise PredictionError(f"{where}does not fit model {model_name!r}: " + " ".join(problems))
    try:
        pipeline, X = _prepared(model, frame, features)
        values = _predicted(pipeline, X)
        probabilities = _probabilities(pipeline, X)
    except SchemaError as error:
        raise PredictionError(" ".join(error.problems) or str(error)) from None
    except (ValueError, TypeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PredictionError(f"The model {model_name!r} could not predict: {first}") from None
    notes.extend(_unseen_notes(pipeline, X))
    column = _free_column(frame.columns)
    if column != PREDICTION_COLUMN:
        notes.append(f"The input already has a {PREDICTION_COLUMN!r} column; added {column!r}.")
    result = frame.copy()
    result[column] = values
    probability_columns: dict[str, Any] = {}
    if probabilities is not None:
        classes, table = probabilities
        taken = {str(c) for c in result.columns}
        for index, label in enumerate(classes):
            name = _free_name(f"{PROBABILITY_PREFIX}{label}", taken)
            taken.add(name)
            result[name] = table[:, index]
            probability_columns[name] = label
    return Prediction(model_name, source, result, column, notes, probability_columns)


def _unseen_notes(pipeline: Any, X: Any) -> list[str]:
    """One sentence per categorical column holding values the model never saw in training."""
    notes = []
    for column, (values, grouped) in unseen_categories(pipeline, X).items():
        shown = quoted_names(values, limit=5)
        how = (
            "they were treated like its rare values"
            if grouped
            else "the model ignores that column for those rows"
        )
        count = "a value" if len(values) == 1 else f"{len(values)} values"
        notes.append(
            f"Column {column!r} has {count} the model never saw in training ({shown}): {how}."
        )
    return notes


def predict_file(
    entry: Mapping[str, Any],
    path: str | Path,
    *,
    encoding: str | None = None,
    model_name: str = "",
) -> Prediction:
    """Read a data file (CSV, TSV, Excel, Parquet, JSON) and predict on every row."""
    from tuidash.core.data import read_table

    loaded = read_table(path, encoding=encoding)
    prediction = predict_frame(entry, loaded.frame, model_name=model_name, source=str(path))
    prediction.notes[:0] = list(getattr(loaded, "notes", []) or [])
    return prediction


def load_for_prediction(store: ModelPersistence, name: str) -> dict[str, Any]:
    """Load a saved model (restricted unpickling); raise a store error saying why not."""
    open_model = getattr(store, "open_model", None)
    if callable(open_model):
        return dict(open_model(name))
    entry = store.load_model(name)
    if entry is None:
        raise PredictionError(f"The model {name!r} could not be loaded from {store.base_dir}.")
    return dict(entry)


def write_csv(prediction: Prediction, path: Path) -> Path:
    """Write the rows + predictions as CSV atomically (a crash leaves no half file)."""
    target = Path(path).expanduser().absolute()
    folder = target.parent
    if not folder.is_dir():
        raise PredictionError(f"Cannot write {path}: the folder {folder} does not exist.")
    if target.is_dir():
        raise PredictionError(f"Cannot write {path}: it is a folder.")
    from tuidash.core.transfer import write_file_atomic

    # Permissions follow the umask like any file the user writes (mkstemp's were 0600).
    return write_file_atomic(target, lambda stream: prediction.frame.to_csv(stream, index=False))


def _free_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    index = 2
    while f"{name}_{index}" in taken:
        index += 1
    return f"{name}_{index}"


def _free_column(columns: Any) -> str:
    taken = {str(c) for c in columns}
    if PREDICTION_COLUMN not in taken:
        return PREDICTION_COLUMN
    index = 2
    while f"{PREDICTION_COLUMN}_{index}" in taken:
        index += 1
    return f"{PREDICTION_COLUMN}_{index}"


# --------------------------------------------------------------------------- the schema

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
        problems.append(f"The data has duplicate column names: {quoted_names(twice)}.")
    missing = [f["name"] for f in schema if f["name"] not in columns]
    if missing:
        word = "column" if len(missing) == 1 else "columns"
        problems.append(f"The data is missing the {word} the model needs: {quoted_names(missing)}.")
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

    from tuidash.core.dates import format_example, parse_dates

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
    written = format_example(fmt) if isinstance(fmt, str) else None
    expected = "dates (as in training)"
    if written is not None:
        expected = f"dates like {written[0]} ({written[1]}, as in training)"
    return f"Column {name!r} should hold {expected} but has {bad.iloc[0]!r} (row {row})."


def predict(
    model: Any,
    frame: pd.DataFrame,
    features: Sequence[Mapping[str, Any] | str] | None = None,
) -> np.ndarray:
    """Check ``frame`` against the feature schema, then predict; SchemaError if it does not fit.

    ``model`` is a fitted pipeline, a FittedModel (``TrainedModel``), or a dict from the store
    (``"model"`` key). Regression gives floats; a classifier gives its class labels.
    """

    pipeline, X = _prepared(model, frame, features)
    return _predicted(pipeline, X)


def _predicted(pipeline: Any, X: Any) -> np.ndarray:
    import numpy as np

    if _is_classifier(pipeline):
        return np.asarray(pipeline.predict(X), dtype=object).ravel()
    return np.asarray(pipeline.predict(X), dtype=np.float64).ravel()


def predict_probabilities(
    model: Any,
    frame: pd.DataFrame,
    features: Sequence[Mapping[str, Any] | str] | None = None,
) -> tuple[list[Any], np.ndarray] | None:
    """A classifier's classes and its probability of each per row (rows x classes), or None
    for regression and classifiers without probabilities (SVC with probability off)."""
    pipeline, X = _prepared(model, frame, features)
    return _probabilities(pipeline, X)


def _probabilities(pipeline: Any, X: Any) -> tuple[list[Any], np.ndarray] | None:
    import numpy as np

    if not _is_classifier(pipeline) or not hasattr(pipeline, "predict_proba"):
        return None
    from tuidash.core.tasks import plain_label

    table = np.asarray(pipeline.predict_proba(X), dtype=np.float64)
    return [plain_label(c) for c in pipeline.classes_], table


def _is_classifier(pipeline: Any) -> bool:
    """A fitted classifier (or a pipeline ending in one): it has classes (CatBoostRegressor
    has ``classes_`` too, empty)."""
    try:
        classes = getattr(pipeline, "classes_", None)
    except AttributeError:
        return False
    return classes is not None and len(classes) > 0


def _prepared(
    model: Any,
    frame: pd.DataFrame,
    features: Sequence[Mapping[str, Any] | str] | None,
) -> tuple[Any, Any]:
    """The pipeline and the checked, normalised rows it predicts on."""
    if isinstance(model, FittedModel):
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
    X = prepare_frame(frame.set_axis(columns, axis=1)[names], numeric, categorical)
    return pipeline, X


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
