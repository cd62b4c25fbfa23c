"""The store's API: save, list, load, delete, replace, original-app stores, metrics,
environment, storage report, listing without sklearn."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from store_helpers import (
    fitted,
    frame_and_target,
    model_data,
    on_disk_and_s3,
    original_entry,
    store_location,
    strict_json,
)

from tuidash.core.store import (
    InvalidModelData,
    LoadEvent,
    ModelDamaged,
    ModelExists,
    ModelNotFound,
    ModelPersistence,
)
from tuidash.core.store.index import _INDEX_FIELDS


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ModelPersistence:
    """A store in a folder; on moto's S3 server too for tests marked ``on_disk_and_s3``."""
    return ModelPersistence(store_location(request, tmp_path))


def test_new_store_has_the_original_layout_and_an_absolute_base_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = ModelPersistence("saved_models")
    assert store.base_dir == tmp_path / "saved_models"
    assert store.base_dir.is_absolute()
    assert (tmp_path / "saved_models" / "models").is_dir()
    assert (tmp_path / "saved_models" / "metadata").is_dir()
    info = store.get_storage_info()
    assert info["base_dir"] == str(tmp_path / "saved_models")
    assert info["model_count"] == 0 and info["problems"] == [] and info["total_size_mb"] == 0


def test_save_list_load_round_trip_gives_the_same_predictions(store):
    ok, message = store.save_model("Ridge A", model_data())
    assert ok, message
    assert message == "Saved model 'Ridge A'."
    # The original app's file names: spaces become _ ; the JSON keeps the real name.
    assert (store.base_dir / "models" / "Ridge_A.pkl").is_file()
    assert (store.base_dir / "metadata" / "Ridge_A.json").is_file()
    assert not (store.base_dir / "models" / "Ridge A.pkl").exists()
    assert strict_json(store.base_dir / "metadata" / "Ridge_A.json")["model_name"] == "Ridge A"

    [entry] = store.list_saved_models()
    assert entry["name"] == "Ridge A"
    assert entry["metrics"]["R2"] == pytest.approx(0.81)
    assert entry["params"] == {"alpha": 1.0}
    assert entry["model_type"] == "ridge" and entry["task"] == "regression"
    assert entry["predictions"]["y_pred"] == [1.0, 2.0, 3.0]
    assert entry["feature_importance"] == {"age": 0.4, "income": 0.6}
    assert entry["environment"]["sklearn"]
    assert entry["environment_mismatch"] == []
    assert entry["size_bytes"] > entry["pkl_bytes"] > 0
    assert len(entry["saved_at"]) == len("2024-01-01 12:00:00")

    result = ModelPersistence(store.base_dir).load_model("Ridge A")
    assert result is not None
    assert set(result) >= {"model", "metrics", "metric_reasons", "params", "predictions"}
    assert set(result) >= {"metadata", "warnings"}
    assert result["warnings"] == []
    frame, _ = frame_and_target()
    np.testing.assert_array_equal(result["model"].predict(frame), fitted().predict(frame))
    assert result["metadata"]["model_file"]["name"] == "Ridge_A.pkl"


def test_json_keeps_every_original_key_and_adds_tuidash_keys(store):
    store.save_model("M", model_data(data={"rows": 120, "target": "income"}, train_seconds=0.5))
    doc = strict_json(store.base_dir / "metadata" / "M.json")
    for key in ("model_name", "metrics", "params", "predictions", "saved_at"):
        assert key in doc
    for key in ("schema_version", "model_type", "task", "model_file", "environment"):
        assert key in doc
    assert set(doc["environment"]) == {"python", "sklearn", "numpy", "pandas", "tuidash"}
    assert doc["data"] == {"rows": 120, "target": "income"}
    assert doc["train_seconds"] == 0.5
    assert set(doc["model_file"]) == {"name", "xxh3_128", "bytes"}


@on_disk_and_s3
def test_saving_an_existing_name_makes_a_new_version_and_keeps_the_old_one(store):
    assert store.save_model("Forest", model_data())[0]
    ok, message = store.save_model("Forest", model_data(params={"alpha": 2.0}))
    assert ok
    assert message == "Model 'Forest' saved as version 2; version 1 is kept as 'Forest@v1'."
    [row] = store.list_saved_models()
    assert row["params"] == {"alpha": 2.0}
    assert (row["version"], row["versions"]) == (2, 2)
    assert store.load_model("Forest@v1")["params"] == {"alpha": 1.0}
    # replace=True (the earlier API) means the same: a new version, nothing lost.
    ok, message = store.save_model("Forest", model_data(params={"alpha": 3.0}), replace=True)
    assert ok and "saved as version 3" in message
    assert store.list_saved_models()[0]["params"] == {"alpha": 3.0}
    assert store.save("Forest", model_data()).startswith("Model 'Forest' saved as version 4")
    assert [v["params"] for v in map(store.load_model, ["Forest@v1", "Forest@v2"])] == [
        {"alpha": 1.0},
        {"alpha": 2.0},
    ]
    # A name that would share the files of "Forest" (another case) is still refused.
    with pytest.raises(ModelExists):
        store.save("forest", model_data())


@on_disk_and_s3
def test_names_differing_only_by_case_are_refused(store):
    assert store.save_model("Model", model_data())[0]
    for other in ("model", "MODEL"):
        ok, message = store.save_model(other, model_data(), replace=True)
        assert not ok
        assert "upper/lower case" in message and "'Model'" in message
    assert [e["name"] for e in store.list_saved_models()] == ["Model"]


@on_disk_and_s3
def test_free_name_suggests_the_next_number(store):
    assert store.free_name("Random Forest") == "Random Forest"
    store.save_model("Random Forest", model_data())
    assert store.free_name("Random Forest") == "Random Forest (2)"
    store.save_model("Random Forest (2)", model_data())
    assert store.free_name("random forest") == "random forest (3)"


def test_free_name_counts_on_from_a_numbered_name(store):
    store.save_model("Linear Regression", model_data())
    store.save_model("Linear Regression (2)", model_data())
    assert store.free_name("Linear Regression (2)") == "Linear Regression (3)"
    store.save_model("Linear Regression (3)", model_data())
    assert store.free_name("Linear Regression (2)") == "Linear Regression (4)"
    # A free numbered name is kept as it is; a name ending in other brackets gets a number.
    assert store.free_name("Linear Regression (9)") == "Linear Regression (9)"
    store.save_model("Model (v2)", model_data())
    assert store.free_name("Model (v2)") == "Model (v2) (2)"


@on_disk_and_s3
def test_delete_removes_the_model_and_reports_unknown_names(store):
    store.save_model("A", model_data())
    store.save_model("B", model_data())
    assert store.delete_model("A") == (True, "Deleted model 'A'.")
    assert [e["name"] for e in store.list_saved_models()] == ["B"]
    ok, message = store.delete_model("A")
    assert not ok and "no model named 'A'" in message
    assert store.load_model("A") is None
    assert "no model named" in store.last_error
    with pytest.raises(ModelNotFound):
        store.open_model("A")


def test_load_all_models_fills_loaded_models(store):
    for name in ("one", "two", "three"):
        store.save_model(name, model_data())
    fresh = ModelPersistence(store.base_dir)
    assert fresh.load_all_models() == (3, 3)
    assert sorted(fresh.loaded_models) == ["one", "three", "two"]
    assert fresh.loaded_models["two"]["metrics"]["MAE"] == 1.5


@on_disk_and_s3
def test_iter_load_yields_events_and_stops_when_closed(store):
    for index in range(5):
        store.save_model(f"m{index}", model_data())
    events = store.iter_load()
    first = next(events)
    assert isinstance(first, LoadEvent) and first.ok and first.result is not None
    events.close()  # must not hang or leak the reader thread
    named = list(store.iter_load(["m3", "missing", "m1"]))
    assert [(e.name, e.ok) for e in named] == [("m3", True), ("missing", False), ("m1", True)]
    assert "no model named" in named[1].reason


def test_bad_model_data_is_a_message_not_a_traceback(store):
    assert store.save_model("x", {"metrics": {}})[0] is False
    ok, message = store.save_model("x", model_data(model=lambda: None))
    assert not ok and "could not be pickled" in message
    assert store.list_saved_models() == []
    assert not any(p.name.startswith(".tuidash-") for p in (store.base_dir / "models").iterdir())
    with pytest.raises(InvalidModelData):
        store.save("x", model_data(metrics={"MAE": "abc"}))


def test_undefined_metrics_are_null_with_a_reason_and_json_is_strict(store):
    """Issue 2, item 8: MAPE with zeros in the target, R2 of a constant target."""
    from tuidash.core.metrics import regression_metrics

    result = regression_metrics([0.0, 0.0, 0.0], [0.0, 1.0, 2.0])
    assert result.values["MAPE"] is None or result.values["R2"] is None
    data = model_data(metrics=dict(result.values), metric_reasons=dict(result.reasons))
    store.save_model("zeros", data)
    # Raw NaN/inf from another source are caught too.
    data = model_data(metrics={"MAE": 1.0, "MAPE": float("inf"), "R2": float("nan")})
    data["predictions"]["y_pred"] = [1.0, float("nan")]
    store.save_model("raw", data)
    for name in ("zeros", "raw"):
        doc = strict_json(store.base_dir / "metadata" / f"{name}.json")
        for metric, value in doc["metrics"].items():
            if value is None:
                assert doc["metric_reasons"][metric], (name, metric)
    raw = strict_json(store.base_dir / "metadata" / "raw.json")
    assert raw["metrics"] == {"MAE": 1.0, "MAPE": None, "R2": None}
    assert raw["predictions"]["y_pred"] == [1.0, None]
    entry = {e["name"]: e for e in store.list_saved_models()}["raw"]
    assert set(entry["metric_reasons"]) == {"MAPE", "R2"}


def test_sklearn_version_mismatch_is_a_warning_not_a_crash(store):
    """Issue 2, item 9."""
    store.save_model("old", model_data())
    path = store.base_dir / "metadata" / "old.json"
    doc = json.loads(path.read_text())
    doc["environment"]["sklearn"] = "0.24.2"
    path.write_text(json.dumps(doc))
    [entry] = store.list_saved_models()
    assert any("scikit-learn 0.24.2" in text for text in entry["environment_mismatch"])
    result = store.load_model("old")
    assert result is not None
    assert any("scikit-learn 0.24.2" in text for text in result["warnings"])
    frame, _ = frame_and_target()
    assert len(result["model"].predict(frame)) == len(frame)


def test_a_store_written_by_the_original_app_lists_and_loads(tmp_path):
    base = tmp_path / "saved_models"
    from sklearn.ensemble import RandomForestRegressor

    frame, target = frame_and_target()
    forest = RandomForestRegressor(n_estimators=5, random_state=0).fit(frame[["income"]], target)
    original_entry(base, "Random Forest", forest)
    original_entry(base, "Pipeline", fitted())
    store = ModelPersistence(base)
    names = [e["name"] for e in store.list_saved_models()]
    assert names == ["Pipeline", "Random Forest"]
    entry = store.list_saved_models()[1]
    assert entry["metrics"]["MAE"] == 1.5 and entry["saved_at"] == "2024-03-01 12:00:00"
    assert entry["schema_version"] is None and entry["environment_mismatch"] == []
    result = store.load_model("Random Forest")
    assert result is not None
    np.testing.assert_array_equal(
        result["model"].predict(frame[["income"]]), forest.predict(frame[["income"]])
    )
    assert any("without a checksum" in text for text in result["warnings"])
    assert store.load_all_models() == (2, 2)
    assert store.get_storage_info()["problems"] == []


def test_a_joblib_written_pickle_loads_through_the_restricted_unpickler(tmp_path):
    import joblib

    base = tmp_path / "saved_models"
    original_entry(base, "joblib", fitted())
    joblib.dump(fitted("random_forest", n_estimators=3), base / "models" / "joblib.pkl")
    original_entry(base, "joblib-z", fitted())
    joblib.dump(fitted("knn"), base / "models" / "joblib-z.pkl", compress=3)
    store = ModelPersistence(base)
    frame, _ = frame_and_target()
    for name, kind in (("joblib", ("random_forest",)), ("joblib-z", ("knn",))):
        result = store.load_model(name)
        assert result is not None, store.last_error
        expected = fitted(*kind, **({"n_estimators": 3} if name == "joblib" else {}))
        loaded = result["model"]
        if kind == ("random_forest",):  # threaded averaging sums in a varying order
            loaded.set_params(model__n_jobs=1)
            expected.set_params(model__n_jobs=1)
        np.testing.assert_array_equal(loaded.predict(frame), expected.predict(frame))


def test_a_tuidash_store_opens_in_the_original_app(store):
    """The original app read models/NAME.pkl with pickle.load and metadata/NAME.json."""
    store.save_model("Shared", model_data())
    with open(store.base_dir / "models" / "Shared.pkl", "rb") as handle:
        model = pickle.load(handle)
    doc = json.loads((store.base_dir / "metadata" / "Shared.json").read_text())
    assert doc["model_name"] == "Shared" and doc["metrics"]["MAE"] == 1.5
    frame, _ = frame_and_target()
    np.testing.assert_array_equal(model.predict(frame), fitted().predict(frame))


def test_storage_info_reports_sizes_and_models(store):
    store.save_model("a", model_data())
    store.save_model("b", model_data())
    info = store.get_storage_info()
    assert info["model_count"] == 2
    assert [m["name"] for m in info["models"]] == ["a", "b"]
    # Each name's size counts its earlier versions and history too.
    assert info["total_size_bytes"] == sum(m["total_bytes"] for m in info["models"])
    assert all(m["total_bytes"] >= m["size_bytes"] > 0 for m in info["models"])
    assert info["total_size_mb"] == round(info["total_size_bytes"] / 1024 / 1024, 2)
    assert info["free_bytes"] > 0


def test_fast_listing_matches_the_full_listing_and_notices_changes(store):
    store.save_model("a", model_data())
    store.save_model("b", model_data())
    full = store.list_saved_models()
    fast = store.list_saved_models(predictions=False)
    assert [e["name"] for e in fast] == ["a", "b"]
    for slow_entry, fast_entry in zip(full, fast, strict=True):
        assert {k: v for k, v in slow_entry.items() if k != "predictions"} == {
            k: v for k, v in fast_entry.items() if k != "predictions"
        }
        assert fast_entry["predictions"] is None
    # A change by another process (a replace) shows in the next fast listing.
    other = ModelPersistence(store.base_dir)
    other.save_model("a", model_data(params={"alpha": 9.0}), replace=True)
    (store.base_dir / "metadata" / "b.json").write_text("{not json")
    fast = store.list_saved_models(predictions=False)
    assert [(e["name"], e["params"]) for e in fast] == [("a", {"alpha": 9.0})]
    assert [p["name"] for p in store.get_storage_info()["problems"]] == ["b"]


def test_fast_listing_ignores_cache_rows_of_the_wrong_shape(store):
    store.save_model("a", model_data())
    store.save_model("b", model_data())
    expected = store.list_saved_models(predictions=False)
    index_path = store.base_dir / ".tuidash-index.json"
    index = json.loads(index_path.read_text())
    fields = list(index["rows"]["b"][1])
    metrics_at, size_at = _INDEX_FIELDS.index("metrics"), _INDEX_FIELDS.index("size_bytes")
    # A hand-edited cache: a metric that is text for "a", a size that is text for "b".
    index["rows"]["a"][1][metrics_at] = {**index["rows"]["a"][1][metrics_at], "MAE": "tiny"}
    fields[size_at] = "big"
    index["rows"]["b"][1] = fields
    index_path.write_text(json.dumps(index))
    assert store.list_saved_models(predictions=False) == expected


def test_damaged_result_raises_typed_errors(store):
    store.save_model("a", model_data())
    (store.base_dir / "models" / "a.pkl").write_bytes(b"\x80\x05garbage")
    with pytest.raises(ModelDamaged) as caught:
        store.open_model("a")
    assert caught.value.message.startswith("Model 'a' cannot be loaded")


def test_listing_imports_neither_sklearn_nor_pandas_nor_numpy(store):
    store.save_model("a", model_data())
    original_entry(store.base_dir, "legacy")
    code = textwrap.dedent(
        f"""
        import sys
        from tuidash.core.store import ModelPersistence
        store = ModelPersistence({str(store.base_dir)!r})
        names = [e["name"] for e in store.list_saved_models()]
        fast = [e["name"] for e in store.list_saved_models(predictions=False)]
        info = store.get_storage_info()
        assert names == fast == ["a", "legacy"], names
        assert info["model_count"] == 2, info
        heavy = sorted(m for m in ("sklearn", "pandas", "numpy") if m in sys.modules)
        print(",".join(heavy) or "none")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "none"


def test_iter_load_hashes_the_next_large_pickle_while_unpickling_this_one(store, monkeypatch):
    """The sha256 of file k+1 is computed by another thread during the unpickling of k."""
    import threading
    import time

    from sklearn.dummy import DummyRegressor

    import tuidash.core.store.backend as backend_module
    import tuidash.core.unpickle as unpickle_module

    frame, target = frame_and_target()
    for index in range(3):
        model = DummyRegressor().fit(frame[["income"]], target)
        model.fat_ = np.full(700_000, float(index))  # 5.6 MB: hashed ahead
        store.save_model(f"fat {index}", model_data(model))

    log: list[tuple[str, str, float]] = []
    real_hash, real_load = backend_module.read_hashed, unpickle_module.restricted_load

    def hashing(path, want, *chunk):
        log.append(("hash start", threading.current_thread().name, time.perf_counter()))
        return real_hash(path, want, *chunk)

    def unpickling(handle):
        log.append(("load start", threading.current_thread().name, time.perf_counter()))
        time.sleep(0.05)  # a slow unpickle: the next hash must run meanwhile
        result = real_load(handle)
        log.append(("load end", threading.current_thread().name, time.perf_counter()))
        return result

    monkeypatch.setattr(backend_module, "read_hashed", hashing)
    monkeypatch.setattr(unpickle_module, "restricted_load", unpickling)
    events = list(ModelPersistence(store.base_dir).iter_load(["fat 0", "fat 1", "fat 2"]))
    assert [e.ok for e in events] == [True, True, True]
    assert [float(e.result["model"].fat_[0]) for e in events] == [0.0, 1.0, 2.0]
    hashes = [entry for entry in log if entry[0] == "hash start"]
    assert {thread for _, thread, _ in hashes} == {"tuidash-prehash"}
    first_load_end = next(t for kind, _, t in log if kind == "load end")
    # The second file's hash began before the first file finished unpickling.
    assert hashes[1][2] < first_load_end
