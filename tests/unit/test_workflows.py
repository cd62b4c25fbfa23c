"""The workflows that the CLI, the app and (later) jobs share: train → save, predict → file."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import pandas as pd
import pytest

from tuidash.core.catalog import ParamError
from tuidash.core.errors import TuidashError
from tuidash.core.predicting import PredictionError
from tuidash.core.store import ModelPersistence
from tuidash.core.training import TrainingCancelled
from tuidash.services import workflows
from tuidash.services.workflows import TrainRequest


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    """A small CSV: y = 2a + b + 1."""
    path = tmp_path / "d.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["a", "b", "y"])
        for i in range(40):
            writer.writerow([i, i % 5, 2 * i + i % 5 + 1])
    return path


@pytest.fixture
def store(tmp_path: Path) -> ModelPersistence:
    return ModelPersistence(tmp_path / "store")


def request(data_file: Path, **changes: object) -> TrainRequest:
    base = TrainRequest(target="y", kind="linear_regression", source=data_file)
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_train_and_save_fits_evaluates_and_saves(store: ModelPersistence, data_file: Path) -> None:
    seen: list[tuple[float, str]] = []
    outcome = workflows.train_and_save(
        store, request(data_file), progress=lambda f, t: seen.append((f, t))
    )
    assert outcome.saved.name == "Linear Regression"
    assert not outcome.saved.replaced
    assert outcome.trained.metrics.values["R2"] == pytest.approx(1.0)
    assert [e["name"] for e in store.list_saved_models()] == ["Linear Regression"]
    assert seen and all(0.0 <= f <= 1.0 for f, _ in seen)
    # No name: the kind's name again, saved as its next version (nothing is lost).
    again = workflows.train_and_save(store, request(data_file))
    assert (again.saved.name, again.saved.version) == ("Linear Regression", 2)
    assert [v["version"] for v in store.list_versions("Linear Regression")] == [1, 2]


def test_a_taken_name_gets_a_new_version_another_spelling_is_refused_before_training(
    store: ModelPersistence, data_file: Path
) -> None:
    first = workflows.train_and_save(store, request(data_file, name="random forest"))
    assert (first.saved.version, first.saved.replaced) == (1, False)
    calls: list[float] = []

    def progress(fraction: float, text: str) -> None:
        calls.append(fraction)

    # Another spelling of a saved name would share its files: refused before training,
    # naming the saved one.
    for other_name in ("Random Forest", "random_forest"):
        with pytest.raises(workflows.NameTaken) as other:
            workflows.train_and_save(
                store, request(data_file, name=other_name, replace=True), progress=progress
            )
        assert not other.value.same and "'random forest'" in other.value.message
    assert calls == []  # nothing was trained
    again = workflows.train_and_save(store, request(data_file, name="random forest"))
    assert (again.saved.version, again.saved.replaced) == (2, True)
    assert "version 2" in again.saved.message
    assert [v["version"] for v in store.list_versions("random forest")] == [1, 2]
    assert store.load_model("random forest@v1") is not None  # the first is kept


def test_bad_settings_are_refused_before_the_data_is_read(store: ModelPersistence) -> None:
    missing = Path("/nonexistent/data.csv")
    with pytest.raises(ParamError):
        workflows.train_and_save(
            store, TrainRequest(target="y", kind="ridge", source=missing, params={"alpha": "x"})
        )
    with pytest.raises(TuidashError, match="test size"):
        workflows.train_and_save(
            store, TrainRequest(target="y", kind="ridge", source=missing, test_size=0.9)
        )
    assert store.list_saved_models() == []


def test_cancel_by_event_or_callable_saves_nothing(
    store: ModelPersistence, data_file: Path
) -> None:
    event = threading.Event()
    event.set()
    with pytest.raises(TrainingCancelled):
        workflows.train_and_save(store, request(data_file), cancel=event)
    with pytest.raises(TrainingCancelled):
        workflows.train_and_save(store, request(data_file), cancel=lambda: True)
    assert store.list_saved_models() == []


def test_train_on_loaded_data_then_save(store: ModelPersistence, data_file: Path) -> None:
    frame = pd.read_csv(data_file)
    trained = workflows.train(TrainRequest(target="y", kind="dummy", data=frame))
    saved = workflows.save(store, "Baseline", trained)
    assert saved.name == "Baseline" and "Saved" in saved.message
    again = workflows.save(store, "Baseline", trained)  # taken: its next version
    assert (again.version, again.replaced) == (2, True)


def test_predict_to_file_writes_rows_and_predictions(
    store: ModelPersistence, data_file: Path, tmp_path: Path
) -> None:
    workflows.train_and_save(store, request(data_file, name="Line"))
    out = tmp_path / "out.csv"
    outcome = workflows.predict_to_file(store, "Line", data_file, out)
    assert outcome.output == out.absolute()
    written = pd.read_csv(out)
    assert list(written.columns) == ["a", "b", "y", "prediction"]
    assert written["prediction"].round(6).tolist() == written["y"].astype(float).tolist()
    # The loaded model is reused (no store needed) and nothing is written without a path.
    again = workflows.predict_to_file(
        None, "Line", pd.read_csv(data_file).head(3), None, entry=outcome.entry
    )
    assert again.output is None and again.prediction.rows == 3


def test_predict_names_the_missing_column(store: ModelPersistence, data_file: Path) -> None:
    workflows.train_and_save(store, request(data_file, name="Line"))
    with pytest.raises(PredictionError, match="'b'"):
        workflows.predict(store, "Line", pd.DataFrame({"a": [1, 2]}))
