"""The pickle's checksum (issue 13): xxh3-128 for new saves, sha256 entries still verified,
and damage (a flipped byte, two swapped pickles) caught before anything is unpickled, on
every load path: one model, iter_load with its read-ahead thread, the service's load_all."""

from __future__ import annotations

import asyncio
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xxhash
from store_helpers import frame_and_target, model_data, tuidash_entry

from tuidash.core.store import ModelPersistence
from tuidash.services.persistence import LoadFinished, LoadProgress, PersistenceService

SMALL = 1_000  # floats: an 8 KB array, read and hashed in memory
LARGE = 700_000  # floats: 5.6 MB, hashed in place (and ahead, by a thread, in iter_load)


def fat_model(length: int, value: float) -> Any:
    """A fitted model holding an array: same length -> same pickle size, whatever value."""
    from sklearn.dummy import DummyRegressor

    frame, target = frame_and_target()
    model = DummyRegressor().fit(frame[["income"]], target)
    model.fat_ = np.full(length, value)
    return model


@pytest.fixture
def store(tmp_path: Path) -> ModelPersistence:
    return ModelPersistence(tmp_path / "saved_models")


@pytest.fixture
def no_unpickling(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every call that would unpickle (none may happen for a damaged file)."""
    import tuidash.core.unpickle as unpickle

    calls: list[Any] = []
    real_load, real_loads = unpickle.restricted_load, unpickle.restricted_loads

    def load(handle: Any) -> Any:
        calls.append(handle.name if hasattr(handle, "name") else handle)
        return real_load(handle)

    def loads(data: Any) -> Any:
        calls.append(len(data))
        return real_loads(data)

    monkeypatch.setattr(unpickle, "restricted_load", load)
    monkeypatch.setattr(unpickle, "restricted_loads", loads)
    return calls


def test_a_save_records_the_xxh3_128_of_its_pickle(store: ModelPersistence) -> None:
    store.save_model("Forest", model_data(fat_model(LARGE, 1.0)))
    doc = json.loads((store.base_dir / "metadata" / "Forest.json").read_bytes())
    data = (store.base_dir / "models" / "Forest.pkl").read_bytes()
    assert doc["model_file"] == {
        "name": "Forest.pkl",
        "xxh3_128": xxhash.xxh3_128(data).hexdigest(),
        "bytes": len(data),
    }


@pytest.mark.parametrize("length", [SMALL, LARGE], ids=["small", "large"])
def test_an_entry_saved_with_a_sha256_still_loads_and_is_still_verified(
    tmp_path: Path, length: int, no_unpickling: list[Any]
) -> None:
    base = tmp_path / "store"
    good = pickle.dumps(fat_model(length, 2.0), protocol=5)
    tuidash_entry(base, "Old", good)
    doc = json.loads((base / "metadata" / "Old.json").read_bytes())
    assert doc["model_file"]["sha256"] == hashlib.sha256(good).hexdigest()
    store = ModelPersistence(base)
    result = store.load_model("Old")
    assert result is not None and float(result["model"].fat_[0]) == 2.0
    assert not any("checksum" in text for text in result["warnings"])
    assert [e.ok for e in store.iter_load()] == [True]

    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0x01
    (base / "models" / "Old.pkl").write_bytes(bytes(damaged))
    no_unpickling.clear()
    fresh = ModelPersistence(base)
    assert fresh.load_model("Old") is None
    assert "does not match the checksum" in (fresh.last_error or "")
    [event] = list(ModelPersistence(base).iter_load())
    assert not event.ok and "does not match the checksum" in (event.reason or "")
    assert no_unpickling == []


def test_a_malformed_checksum_is_a_damaged_entry_not_a_crash(store: ModelPersistence) -> None:
    store.save_model("Forest", model_data())
    path = store.base_dir / "metadata" / "Forest.json"
    doc = json.loads(path.read_bytes())
    doc["model_file"]["xxh3_128"] = "not hex"
    path.write_text(json.dumps(doc))
    assert ModelPersistence(store.base_dir).list_saved_models(predictions=False) == []
    [problem] = ModelPersistence(store.base_dir).get_storage_info()["problems"]
    assert problem["kind"] == "damaged"
    assert "model_file.xxh3_128 is not a xxh3_128 hex digest" in problem["reason"]
    del doc["model_file"]["xxh3_128"]
    path.write_text(json.dumps(doc))
    [problem] = ModelPersistence(store.base_dir).get_storage_info()["problems"]
    assert "has no checksum" in problem["reason"]


def _swap(base: Path, first: str, second: str) -> None:
    a, b = base / "models" / f"{first}.pkl", base / "models" / f"{second}.pkl"
    data_a, data_b = a.read_bytes(), b.read_bytes()
    assert len(data_a) == len(data_b)  # only the checksum can tell them apart
    a.write_bytes(data_b)
    b.write_bytes(data_a)


@pytest.mark.parametrize("length", [SMALL, LARGE], ids=["small", "large"])
def test_two_swapped_pickles_are_caught_before_unpickling_on_every_load_path(
    store: ModelPersistence, length: int, no_unpickling: list[Any]
) -> None:
    for index in range(2):
        store.save_model(f"m{index}", model_data(fat_model(length, float(index))))
    store.save_model("other", model_data(fat_model(length, 9.0)))
    _swap(store.base_dir, "m0", "m1")
    no_unpickling.clear()

    fresh = ModelPersistence(store.base_dir)
    assert fresh.load_model("m0") is None and "checksum" in (fresh.last_error or "")
    assert no_unpickling == []

    events = {e.name: e for e in ModelPersistence(store.base_dir).iter_load()}
    assert not events["m0"].ok and not events["m1"].ok
    assert "does not match the checksum" in (events["m1"].reason or "")
    assert events["other"].ok and float(events["other"].result["model"].fat_[0]) == 9.0
    assert len(no_unpickling) == 1  # "other" only

    async def service_load() -> dict[str, Any]:
        service = PersistenceService(store.base_dir)
        try:
            out = {}
            async for event in service.load_all():
                if isinstance(event, LoadProgress):
                    out[event.name] = (event.ok, event.problem)
                else:
                    assert isinstance(event, LoadFinished)
            return out
        finally:
            service.close()

    no_unpickling.clear()
    seen = asyncio.run(service_load())
    assert seen["other"] == (True, None)
    assert not seen["m0"][0] and "checksum" in str(seen["m0"][1])
    assert not seen["m1"][0] and "checksum" in str(seen["m1"][1])
    assert len(no_unpickling) == 1
    # The listing no longer shows them as good once a load has failed.
    rows = fresh.list_saved_models(predictions=False)
    assert [r["name"] for r in rows] == ["m1", "other"]  # m0 failed in this process


def test_a_flipped_byte_in_the_middle_of_a_large_pickle_is_caught_by_the_read_ahead(
    store: ModelPersistence, no_unpickling: list[Any]
) -> None:
    for index in range(3):
        store.save_model(f"fat {index}", model_data(fat_model(LARGE, float(index))))
    path = store.base_dir / "models" / "fat_1.pkl"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    no_unpickling.clear()
    events = list(ModelPersistence(store.base_dir).iter_load(["fat 0", "fat 1", "fat 2"]))
    assert [e.ok for e in events] == [True, False, True]
    assert "does not match the checksum" in (events[1].reason or "")
    assert len(no_unpickling) == 2
