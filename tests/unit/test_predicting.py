"""Prediction on new data (core.predicting) and moving models between stores (core.transfer)."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import pandas as pd
import pytest

from tuidash.core import predicting, transfer
from tuidash.core.store import ModelPersistence
from tuidash.core.training import TrainConfig, train_model


def frame(rows: int = 40) -> pd.DataFrame:
    """Two numbers, a category and a target that is a clean formula of them."""
    x1 = [i % 9 + 0.5 for i in range(rows)]
    x2 = [(i * 5) % 7 - 3.0 for i in range(rows)]
    city = [["oslo", "lima"][i % 2] for i in range(rows)]
    y = [2 * a - b + (4.0 if c == "lima" else 0.0) for a, b, c in zip(x1, x2, city, strict=True)]
    return pd.DataFrame({"x1": x1, "x2": x2, "city": city, "y": y})


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> ModelPersistence:
    """A store holding one linear model named 'Lin'."""
    store = ModelPersistence(tmp_path_factory.mktemp("pred") / "store")
    trained = train_model(frame(), "linear_regression", {}, TrainConfig(target="y"))
    ok, message = store.save_model("Lin", trained.to_model_data())
    assert ok, message
    return store


def test_predict_frame_adds_a_column(saved: ModelPersistence) -> None:
    entry = predicting.load_for_prediction(saved, "Lin")
    new = frame(6).drop(columns="y")
    result = predicting.predict_frame(entry, new, model_name="Lin")
    assert list(result.frame.columns) == ["x1", "x2", "city", "prediction"]
    assert result.rows == 6 and result.column == "prediction"
    expected = [2 * a - b + (4.0 if c == "lima" else 0.0) for a, b, c in new.to_numpy()]
    assert result.values() == pytest.approx(expected, abs=1e-6)
    assert list(new.columns) == ["x1", "x2", "city"]  # the input is not modified


def test_existing_prediction_column_is_kept(saved: ModelPersistence) -> None:
    entry = predicting.load_for_prediction(saved, "Lin")
    new = frame(3).drop(columns="y").assign(prediction=["keep", "these", "values"])
    result = predicting.predict_frame(entry, new, model_name="Lin")
    assert result.column == "prediction_2"
    assert list(result.frame["prediction"]) == ["keep", "these", "values"]
    assert any("prediction_2" in note for note in result.notes)


def test_a_category_never_seen_in_training_is_predicted_and_said(
    saved: ModelPersistence,
) -> None:
    """A city the model never saw still gets a prediction (the city's part left out), and
    the notes name the column and the new values; known cities give no such note."""
    entry = predicting.load_for_prediction(saved, "Lin")
    known = predicting.predict_frame(entry, frame(4).drop(columns="y"), model_name="Lin")
    assert not any("never saw" in note for note in known.notes)
    new = frame(4).drop(columns="y").assign(city=["oslo", "rome", "rome", "kyiv"])
    result = predicting.predict_frame(entry, new, model_name="Lin")
    assert result.rows == 4 and all(isinstance(v, float) for v in result.values())
    assert result.values()[0] == pytest.approx(known.values()[0], abs=1e-6)  # oslo as before
    assert (
        "Column 'city' has 2 values the model never saw in training ('kyiv', 'rome'): "
        "the model ignores that column for those rows." in result.notes
    )


def test_schema_problems_are_named(saved: ModelPersistence) -> None:
    entry = predicting.load_for_prediction(saved, "Lin")
    with pytest.raises(predicting.PredictionError, match="x2"):
        predicting.predict_frame(entry, frame(3).drop(columns=["y", "x2"]), model_name="Lin")
    text = frame(3).drop(columns="y").assign(x1=["1", "two", "3"])
    with pytest.raises(predicting.PredictionError, match="two"):
        predicting.predict_frame(entry, text, model_name="Lin")
    with pytest.raises(predicting.PredictionError, match="no rows"):
        predicting.predict_frame(entry, frame(0).drop(columns="y"), model_name="Lin")


def test_predict_file_and_write_csv(saved: ModelPersistence, tmp_path: Path) -> None:
    source = tmp_path / "new.csv"
    frame(5).drop(columns="y").to_csv(source, index=False)
    result = predicting.predict_file(
        predicting.load_for_prediction(saved, "Lin"), source, model_name="Lin"
    )
    out = predicting.write_csv(result, tmp_path / "out.csv")
    back = pd.read_csv(out)
    assert list(back.columns) == ["x1", "x2", "city", "prediction"] and len(back) == 5
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(predicting.PredictionError, match="does not exist"):
        predicting.write_csv(result, tmp_path / "no" / "out.csv")


def test_unknown_model_is_a_store_error(saved: ModelPersistence) -> None:
    from tuidash.core.store import StoreError

    with pytest.raises(StoreError):
        predicting.load_for_prediction(saved, "Missing")


def test_export_then_import_keeps_metrics_and_schema(
    saved: ModelPersistence, tmp_path: Path
) -> None:
    files = transfer.export_model(saved, "Lin", tmp_path / "out")
    assert [f.name for f in files] == ["Lin.pkl", "Lin.json"]
    with pytest.raises(transfer.TransferError, match="--replace"):
        transfer.export_model(saved, "Lin", tmp_path / "out")
    assert transfer.export_model(saved, "Lin", tmp_path / "out", replace=True) == files

    other = ModelPersistence(tmp_path / "other")
    result = transfer.import_model(other, files[0], metadata_path=files[1])
    assert result.name == "Lin" and result.model_type == "linear_regression"
    assert result.features == ["x1", "x2", "city"]
    original = saved.list_saved_models()[0]
    assert result.metrics["R2"] == pytest.approx(original["metrics"]["R2"])
    entry = predicting.load_for_prediction(other, "Lin")
    assert predicting.predict_frame(entry, frame(2), model_name="Lin").rows == 2


def test_import_without_metadata_records_unknown_metrics(
    saved: ModelPersistence, tmp_path: Path
) -> None:
    pkl = transfer.export_model(saved, "Lin", tmp_path / "bare")[0]
    other = ModelPersistence(tmp_path / "other")
    result = transfer.import_model(other, pkl, name="Bare")
    assert result.metrics == {m: None for m in transfer.METRIC_NAMES}
    assert set(result.metric_reasons.values()) == {"imported without metrics"}
    listed = other.list_saved_models()[0]
    assert listed["metric_reasons"]["MAE"] == "imported without metrics"
    # The feature schema comes from the fitted pipeline, so prediction still checks columns.
    entry = predicting.load_for_prediction(other, "Bare")
    with pytest.raises(predicting.PredictionError, match="city"):
        predicting.predict_frame(entry, frame(2).drop(columns="city"), model_name="Bare")


def test_damaged_model_is_not_exported(saved: ModelPersistence, tmp_path: Path) -> None:
    store = ModelPersistence(tmp_path / "copy")
    trained = train_model(frame(), "dummy", {}, TrainConfig(target="y"))
    store.save_model("D", trained.to_model_data())
    pkl = store.base_dir / "models" / "D.pkl"
    data = bytearray(pkl.read_bytes())
    data[-2] ^= 0xFF  # same size, different bytes
    pkl.write_bytes(bytes(data))
    with pytest.raises(transfer.TransferError, match="damaged"):
        transfer.export_model(store, "D", tmp_path / "out")
    assert not (tmp_path / "out" / "D.pkl").exists()


def test_metadata_metrics_are_validated() -> None:
    values, reasons = transfer.metrics_from_metadata(
        {"metrics": {"MAE": 1.5, "MSE": math.nan, "R2": "high", "RMSE": None}}
    )
    assert values == {"MAE": 1.5, "MSE": None, "RMSE": None, "MAPE": None, "R2": None}
    assert reasons["MSE"] == reasons["R2"] == "not a finite number in the imported metadata"
    assert reasons["MAPE"] == "not recorded in the imported metadata"
    values, reasons = transfer.metrics_from_metadata(None)
    assert set(values.values()) == {None} and len(reasons) == 5


def test_import_refuses_code_and_non_models(tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (exec, (f"open({str(marker)!r}, 'w').close()",))

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(Evil()))
    store = ModelPersistence(tmp_path / "store")
    with pytest.raises(transfer.TransferError, match=r"builtins\.exec"):
        transfer.import_model(store, evil)
    assert not marker.exists()

    plain = tmp_path / "list.pkl"
    plain.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(transfer.TransferError, match="not a fitted model"):
        transfer.import_model(store, plain)
    assert store.list_saved_models() == []

    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(["not", "an", "object"]))
    with pytest.raises(transfer.TransferError, match="not a model metadata file"):
        transfer.read_import_metadata(meta, "0" * 64)


def test_a_model_trained_on_a_file_with_text_dates_predicts_on_a_new_file(
    tmp_path: Path,
) -> None:
    from tuidash.core.data import read_table

    days = pd.date_range("2022-01-01", periods=90, freq="4D")
    lines = ["sold_on;size;price"]
    for i, day in enumerate(days):
        size = 50 + i % 30
        price = 2 * size + 10 * day.month
        lines.append(f"{day:%Y-%m-%d};{size};{price}")
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    loaded = read_table(tmp_path / "train.csv")
    trained = train_model(loaded, "linear_regression", {}, TrainConfig(target="price"))
    store = ModelPersistence(tmp_path / "store")
    ok, message = store.save_model("Dated", trained.to_model_data())
    assert ok, message
    (tmp_path / "new.csv").write_text("sold_on;size\n2023-03-10;60\n2023-11-10;60\n")
    entry = predicting.load_for_prediction(ModelPersistence(tmp_path / "store"), "Dated")
    result = predicting.predict_file(entry, tmp_path / "new.csv", model_name="Dated")
    low, high = result.values()
    assert high > low  # November after March: the month came from the date text
    assert list(result.frame["sold_on"]) == ["2023-03-10", "2023-11-10"]
    (tmp_path / "bad.csv").write_text("sold_on;size\nnext week;60\n")
    with pytest.raises(predicting.PredictionError, match="should hold dates"):
        predicting.predict_file(entry, tmp_path / "bad.csv", model_name="Dated")


def day_first_frame(rows: int = 240) -> pd.DataFrame:
    """A price set by the month of a sale date written day-first (31/12/2023), plus a size."""
    days = pd.date_range("2022-01-01", periods=rows, freq="3D")
    size = [50.0 + (i * 7) % 40 for i in range(rows)]
    price = [2 * s + 20 * d.month for s, d in zip(size, days, strict=True)]
    return pd.DataFrame({"sold_on": days.strftime("%d/%m/%Y"), "size": size, "price": price})


@pytest.fixture(scope="module")
def day_first(tmp_path_factory: pytest.TempPathFactory) -> ModelPersistence:
    """A store holding 'Dated', trained on day-first date text."""
    store = ModelPersistence(tmp_path_factory.mktemp("dayfirst") / "store")
    trained = train_model(day_first_frame(), "linear_regression", {}, TrainConfig(target="price"))
    assert {f["name"]: f for f in trained.features}["sold_on"]["format"] == "%d/%m/%Y"
    ok, message = store.save_model("Dated", trained.to_model_data())
    assert ok, message
    return store


def predicted(store: ModelPersistence, path: Path, dates: list[str]) -> list[float]:
    """Predictions through the path the CLI and the Predict screen share (workflows.predict)."""
    from tuidash.services import workflows

    path.write_text("sold_on,size\n" + "".join(f"{d},60\n" for d in dates))
    outcome = workflows.predict(store, "Dated", path)
    return [float(v) for v in outcome.prediction.values()]


def test_iso_dates_fit_a_model_trained_on_day_first_dates(
    day_first: ModelPersistence, tmp_path: Path
) -> None:
    as_trained = predicted(day_first, tmp_path / "dmy.csv", ["15/03/2023", "20/11/2023"])
    iso = predicted(day_first, tmp_path / "iso.csv", ["2023-03-15", "2023-11-20"])
    assert iso == pytest.approx(as_trained)
    assert as_trained[1] > as_trained[0] + 100  # November after March: the month was read


def test_ambiguous_dates_keep_the_day_month_order_of_training(
    day_first: ModelPersistence, tmp_path: Path
) -> None:
    ambiguous, april, march = predicted(
        day_first, tmp_path / "new.csv", ["03/04/2023", "2023-04-03", "2023-03-04"]
    )
    assert ambiguous == pytest.approx(april)  # 3 April, as training read it
    assert ambiguous != pytest.approx(march)


def test_a_date_in_neither_the_training_format_nor_iso_is_refused_naming_the_format(
    day_first: ModelPersistence, tmp_path: Path
) -> None:
    with pytest.raises(predicting.PredictionError) as info:
        predicted(day_first, tmp_path / "us.csv", ["13/31/2023"])
    assert (
        "Column 'sold_on' should hold dates like 31/12/2023 (day/month/year, as in training) "
        "but has '13/31/2023' (row 1)."
    ) in str(info.value)


def test_a_year_day_month_format_does_not_fall_back_to_iso() -> None:
    from tuidash.core.dates import parse_dates

    # Under year-day-month, ISO would read 2023-03-04 as 4 March instead of 3 April.
    parsed = parse_dates(pd.Series(["2023-03-04", "2023-13-01", "2023-01-13"]), "%Y-%d-%m")
    assert list(parsed.dt.strftime("%Y-%m-%d").fillna("none")) == [
        "2023-04-03",
        "2023-01-13",
        "none",
    ]
