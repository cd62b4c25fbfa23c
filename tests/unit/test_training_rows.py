"""The stored prediction sample names the data-file row of each test row and how the
feature importances were measured (issue 10: the errors table and the Features tab)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tuidash.core import analysis as an
from tuidash.core.training import TrainConfig, train_model


def frame(rows: int = 60) -> pd.DataFrame:
    """y = 2x + row number's parity; the target of every 7th row is missing."""
    x = np.arange(rows, dtype="float64")
    y = 2 * x + (x % 2)
    y[::7] = np.nan
    return pd.DataFrame({"x": x, "noise": np.sin(x), "y": y})


def train(data: pd.DataFrame, kind: str = "ridge", **config: Any) -> Any:
    return train_model(data, kind, None, TrainConfig(target="y", **config))


def test_stored_rows_are_the_data_file_rows_of_the_test_rows() -> None:
    data = frame()
    trained = train(data)
    stored = trained.to_model_data()["predictions"]
    rows, actual = stored["rows"], stored["y_test"]
    assert len(rows) == len(actual) == len(stored["y_pred"])
    # Row r (1-based) of the data holds x = r - 1 and y = 2x + parity: the pairs match.
    for row, value in zip(rows, actual, strict=True):
        assert value == data["y"].iloc[row - 1]
    assert all(row % 7 != 1 for row in rows)  # rows without a target were dropped
    assert rows != sorted(range(1, len(rows) + 1))  # not positions in the test set


def test_stored_rows_follow_kept_order_batching_and_the_cap(monkeypatch: Any) -> None:
    data = frame(100)
    kept = train(data, keep_order=True).to_model_data()["predictions"]
    assert kept["rows"] == sorted(kept["rows"]) and kept["rows"][-1] == 100
    batched = train(data, batch_rows=5, keep_order=True).to_model_data()["predictions"]
    # A batch is numbered by its last row, where its target comes from.
    for row, value in zip(batched["rows"], batched["y_test"], strict=True):
        assert value == data["y"].iloc[row - 1]
    monkeypatch.setattr("tuidash.core.evaluation.PREDICTION_CAP", 4)
    capped = train(data).to_model_data()
    assert len(capped["predictions"]["rows"]) == len(capped["predictions"]["y_test"]) == 4


@pytest.mark.parametrize(
    ("kind", "method"),
    [("knn", "permutation"), ("random_forest", "impurity"), ("ridge", "coefficient")],
)
def test_the_kind_of_importance_is_stored_with_the_values(kind: str, method: str) -> None:
    data = train(frame(), kind).to_model_data()
    assert data["predictions"]["feature_importance_method"] == method
    assert data["feature_importance_method"] == method  # the key kept from before
    assert an.importance_kind(data) == method


def test_rows_and_importance_kind_survive_a_save_and_the_listing(tmp_path: Path) -> None:
    from tuidash.core.store import ModelPersistence

    store = ModelPersistence(tmp_path)
    ok, message = store.save_model("K", train(frame(), "knn").to_model_data())
    assert ok, message
    document = json.loads((tmp_path / "metadata" / "K.json").read_text())
    assert {"y_pred", "y_test", "feature_importance"} <= set(document["predictions"])
    (entry,) = store.list_saved_models()
    assert an.prediction_sample(entry).data_rows is not None
    assert an.importance_kind({**entry, "model_type": "unknown"}) == "permutation"
