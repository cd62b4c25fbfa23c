"""Predict with a saved model on new data: read a file, check its schema, predict, write CSV.

Used by ``tuidash predict`` and the Predict screen. Pure Python; pandas and sklearn are
imported inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuidash.core.errors import TuidashError

if TYPE_CHECKING:
    import pandas as pd

    from tuidash.core.store import ModelPersistence

PREDICTION_COLUMN = "prediction"
"""Name of the column added to the input rows (a suffix is added if the input has one)."""


class PredictionError(TuidashError, ValueError):
    """The data cannot be predicted on with this model; the message says why in one sentence."""


@dataclass
class Prediction:
    """Input rows plus a prediction column, and what a person should know about them."""

    model_name: str
    source: str
    frame: pd.DataFrame
    column: str
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """How many rows were predicted."""
        return len(self.frame)

    def values(self) -> list[Any]:
        """The predictions as plain Python numbers (NaN -> None), for JSON."""
        out: list[Any] = []
        for value in self.frame[self.column].tolist():
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
    from tuidash.core.training import features_from_pipeline

    metadata = entry.get("metadata") if isinstance(entry.get("metadata"), Mapping) else {}
    data = metadata.get("data") if isinstance(metadata.get("data"), Mapping) else {}
    features = data.get("features")
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
    from tuidash.core.training import check_schema

    return list(check_schema(frame, features))


def predict_frame(
    entry: Mapping[str, Any], frame: pd.DataFrame, *, model_name: str = "", source: str = ""
) -> Prediction:
    """Check ``frame`` against the model's schema and add a prediction column to a copy."""
    from tuidash.core.training import SchemaError, predict

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
        raise PredictionError(f"{where}does not fit model {model_name!r}: " + "; ".join(problems))
    try:
        values = predict(model, frame, features)
    except SchemaError as error:
        raise PredictionError(" ".join(error.problems) or str(error)) from None
    except (ValueError, TypeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PredictionError(f"The model {model_name!r} could not predict: {first}") from None
    column = _free_column(frame.columns)
    if column != PREDICTION_COLUMN:
        notes.append(f"The input already has a {PREDICTION_COLUMN!r} column; added {column!r}.")
    result = frame.copy()
    result[column] = values
    return Prediction(model_name, source, result, column, notes)


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


def _free_column(columns: Any) -> str:
    taken = {str(c) for c in columns}
    if PREDICTION_COLUMN not in taken:
        return PREDICTION_COLUMN
    index = 2
    while f"{PREDICTION_COLUMN}_{index}" in taken:
        index += 1
    return f"{PREDICTION_COLUMN}_{index}"
