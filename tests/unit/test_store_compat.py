"""The original app's file names (issue 12): either app reads the other's store, and a store
of an earlier tuidash (files named by the name itself) still opens and moves to the STEM
at its first write, old-or-new after a crash at any step."""

from __future__ import annotations

import json
import os
import pickle
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from store_helpers import fitted, frame_and_target, model_data, tuidash_entry

from tuidash.core.store import ModelPersistence


class OriginalModelPersistence:
    """The original Streamlit app's ModelPersistence, as its persistence guide shows it."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = Path(base_dir)
        self.models_dir = self.base_dir / "models"
        self.metadata_dir = self.base_dir / "metadata"
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.metadata_dir.mkdir(parents=True, exist_ok=True)
        self.loaded_models: dict[str, Any] = {}

    @staticmethod
    def _safe_name(model_name: str) -> str:
        return model_name.replace(" ", "_").replace("/", "_").replace("\\", "_")

    def save_model(self, model_name: str, model_data: dict[str, Any]) -> tuple[bool, str]:
        safe = self._safe_name(model_name)
        with open(self.models_dir / f"{safe}.pkl", "wb") as handle:
            pickle.dump(model_data["model"], handle)
        predictions = model_data["predictions"]
        metadata = {
            "model_name": model_name,
            "metrics": model_data["metrics"],
            "params": model_data["params"],
            "predictions": {
                "y_pred": list(predictions["y_pred"]),
                "y_test": list(predictions["y_test"]),
                "feature_importance": predictions.get("feature_importance"),
            },
            "saved_at": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        }
        with open(self.metadata_dir / f"{safe}.json", "w") as handle:
            json.dump(metadata, handle, indent=4)
        return True, f"Model {model_name} saved successfully"

    def load_model(self, model_name: str) -> dict[str, Any] | None:
        safe = self._safe_name(model_name)
        model_path = self.models_dir / f"{safe}.pkl"
        metadata_path = self.metadata_dir / f"{safe}.json"
        if not model_path.exists() or not metadata_path.exists():
            return None
        with open(model_path, "rb") as handle:
            model = pickle.load(handle)
        with open(metadata_path) as handle:
            metadata = json.load(handle)
        return {
            "model": model,
            "metrics": metadata["metrics"],
            "params": metadata["params"],
            "predictions": metadata["predictions"],
            "saved_at": metadata["saved_at"],
        }

    def load_all_models(self) -> int:
        for metadata_file in self.metadata_dir.glob("*.json"):
            with open(metadata_file) as handle:
                metadata = json.load(handle)
            loaded = self.load_model(metadata["model_name"])
            if loaded is not None:
                self.loaded_models[metadata["model_name"]] = loaded
        return len(self.loaded_models)

    def list_saved_models(self) -> list[dict[str, Any]]:
        rows = []
        for metadata_file in self.metadata_dir.glob("*.json"):
            with open(metadata_file) as handle:
                metadata = json.load(handle)
            rows.append({"name": metadata["model_name"], "saved_at": metadata["saved_at"]})
        return rows


NAMES = ["Linear Regression", "Random Forest", "ridge/v2", "plain"]


def test_a_store_written_by_the_original_app_lists_and_loads_under_its_names(tmp_path):
    original = OriginalModelPersistence(tmp_path / "store")
    for index, name in enumerate(NAMES):
        assert original.save_model(name, model_data(params={"i": index}))[0]
    assert (tmp_path / "store" / "models" / "Linear_Regression.pkl").is_file()
    assert (tmp_path / "store" / "metadata" / "ridge_v2.json").is_file()

    store = ModelPersistence(tmp_path / "store")
    rows = store.list_saved_models()
    assert sorted(r["name"] for r in rows) == sorted(NAMES)
    assert all((r["version"], r["versions"], r["verified"]) == (1, 1, False) for r in rows)
    assert store.get_storage_info()["problems"] == []
    frame, _ = frame_and_target()
    for index, name in enumerate(NAMES):
        result = store.load_model(name)
        assert result is not None, store.last_error
        assert result["params"] == {"i": index} and result["name"] == name
        np.testing.assert_allclose(result["model"].predict(frame), fitted().predict(frame))
    assert store.load_all_models() == (4, 4)
    assert store.load_model("Linear_Regression") is None  # a file name, not a model name

    # A new version of an original-app model: the original app still reads the latest.
    ok, message = store.save_model("Linear Regression", model_data(params={"i": 99}))
    assert ok and "saved as version 2" in message
    assert store.load_model("Linear Regression@v1")["params"] == {"i": 0}
    assert original.load_model("Linear Regression")["params"] == {"i": 99}
    assert original.load_all_models() == 4
    assert store.get_storage_info()["problems"] == []


def test_what_tuidash_saves_is_read_by_the_original_apps_loading_code(tmp_path):
    store = ModelPersistence(tmp_path / "store")
    store.save_model("Linear Regression", model_data(params={"v": 1}))
    store.save_model("Linear Regression", model_data(params={"v": 2}))
    store.set_alias("Linear Regression", "champion", 1)
    store.rollback("Linear Regression", 1)
    store.save_model("Random Forest", model_data(params={"v": 7}))
    store.rename("Random Forest", "Big Forest")

    original = OriginalModelPersistence(tmp_path / "store")
    assert original.load_all_models() == 2
    assert sorted(r["name"] for r in original.list_saved_models()) == [
        "Big Forest",
        "Linear Regression",
    ]
    frame, _ = frame_and_target()
    for name, params in (("Linear Regression", {"v": 1}), ("Big Forest", {"v": 7})):
        loaded = original.loaded_models[name]
        assert loaded["params"] == params
        assert loaded["metrics"]["MAE"] == 1.5
        assert loaded["predictions"]["y_pred"] == [1.0, 2.0, 3.0]
        assert set(loaded["predictions"]) >= {"y_pred", "y_test", "feature_importance"}
        assert datetime.strptime(loaded["saved_at"], "%Y-%m-%d %H:%M:%S")
        np.testing.assert_allclose(loaded["model"].predict(frame), fitted().predict(frame))


def test_two_names_with_one_stem_cannot_coexist(tmp_path):
    store = ModelPersistence(tmp_path / "store")
    assert store.save_model("A B", model_data())[0]
    for other in ("A_B", "a b", "a_b"):
        ok, message = store.save_model(other, model_data())
        assert not ok and "'A B'" in message, message
    assert [r["name"] for r in store.list_saved_models()] == ["A B"]


# -------------------------------------------------------------- an earlier tuidash's store


def _earlier_tuidash_store(base: Path) -> bytes:
    """ "Random Forest.pkl" + "Random Forest.json": files named by the name itself."""
    pkl = pickle.dumps(fitted(), protocol=5)
    tuidash_entry(base, "Random Forest", pkl)
    return pkl


def test_an_earlier_tuidash_store_opens_as_it_is_and_moves_to_the_stem_at_its_first_write(
    tmp_path,
):
    base = tmp_path / "store"
    _earlier_tuidash_store(base)
    store = ModelPersistence(base)
    assert [r["name"] for r in store.list_saved_models()] == ["Random Forest"]
    assert store.load_model("Random Forest") is not None
    assert (base / "metadata" / "Random Forest.json").exists()  # reading changes nothing

    ok, message = store.save_model("Random Forest", model_data(params={"v": 2}))
    assert ok and "saved as version 2" in message
    assert sorted(p.name for p in (base / "metadata").iterdir()) == ["Random_Forest.json"]
    assert sorted(p.name for p in (base / "models").iterdir()) == ["Random_Forest.pkl"]
    assert store.load_model("Random Forest@v1")["params"] == {}
    assert store.load_model("Random Forest")["params"] == {"v": 2}
    assert store.get_storage_info()["problems"] == []


def test_an_earlier_tuidash_store_with_two_names_of_one_stem_keeps_both(tmp_path):
    base = tmp_path / "store"
    tuidash_entry(base, "A B", pickle.dumps(fitted(), protocol=5))
    tuidash_entry(base, "A_B", pickle.dumps(fitted("dummy"), protocol=5))
    store = ModelPersistence(base)
    assert sorted(r["name"] for r in store.list_saved_models()) == ["A B", "A_B"]
    assert store.load_model("A B")["model"].steps[-1][0] == fitted().steps[-1][0]
    ok, message = store.save_model("A B", model_data())
    assert not ok and "'A_B'" in message
    assert store.save_model("A_B", model_data())[0]  # already at its STEM
    assert store.get_storage_info()["problems"] == []


def _crash_at(function: str, index: int, base: Path) -> None:
    """In a child: give "Random Forest" a note (its first write) and die at os.<function>."""
    import tuidash.core.store.durable as durable_module

    real = getattr(os, function)
    calls = [0]

    def dying(*args: Any, **kwargs: Any) -> Any:
        if calls[0] == index:
            os._exit(3)
        calls[0] += 1
        return real(*args, **kwargs)

    store = ModelPersistence(base)
    setattr(durable_module.os, function, dying)
    store.set_note("Random Forest", "moved")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("function", ["write", "replace", "link", "unlink"])
def test_a_crash_at_every_step_of_the_move_to_the_stem_is_old_or_new(tmp_path, function):
    for step in range(30):
        base = tmp_path / f"store-{step}"
        _earlier_tuidash_store(base)
        pid = os.fork()
        if pid == 0:
            try:
                _crash_at(function, step, base)
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        crashed = os.waitstatus_to_exitcode(status) == 3
        reader = ModelPersistence(base)  # the next start: cleans up under the lock
        rows = reader.list_saved_models()
        assert [r["name"] for r in rows] == ["Random Forest"], (function, step)
        assert reader.get_storage_info()["problems"] == [], (function, step)
        result = reader.load_model("Random Forest")
        assert result is not None, (function, step, reader.last_error)
        assert result["metadata"].get("note") in (None, "moved")
        left = sorted(p.name for p in (base / "metadata").iterdir())
        assert left in (["Random Forest.json"], ["Random_Forest.json"]), (function, step, left)
        if not crashed:
            assert left == ["Random_Forest.json"]
            break
    else:
        pytest.fail("the write never finished")
