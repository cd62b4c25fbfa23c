"""Loading every model from the listing cache (issue 13): while an entry's files keep the
signature the cache holds, a load takes its document from there instead of parsing the
JSON (the prediction samples made that a fifth of the time), verifies the pickle against
the checksum the cache holds, and reads the prediction sample when it is first used. A
JSON changed outside tuidash, or a cache row that lies, is never taken over the files."""

from __future__ import annotations

import asyncio
import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest
from store_helpers import model_data

from tuidash.core.model_facts import prediction_sample
from tuidash.core.store import ModelPersistence
from tuidash.core.store.backend import LocalBackend
from tuidash.core.store.names import INDEX_NAME
from tuidash.services.persistence import PersistenceService

NAMES = ("Alpha", "Beta model", "Gamma")


def sample(name: str) -> dict[str, Any]:
    """A prediction sample of its own per model, so a mix-up shows."""
    offset = float(len(name))
    return {
        "y_pred": [offset + 1.0, offset + 2.0, offset + 3.0],
        "y_test": [offset + 1.5, offset + 2.5, offset + 2.5],
        "feature_importance": {"age": 0.4, "income": 0.6},
    }


@pytest.fixture
def store(tmp_path: Path) -> ModelPersistence:
    base = ModelPersistence(tmp_path / "saved_models")
    for name in NAMES:
        base.save_model(name, model_data(predictions=sample(name), search={"best": name}))
    base.list_saved_models(predictions=False)  # a listing writes the cache
    return base


@pytest.fixture
def json_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every metadata file the local backend reads whole."""
    seen: list[str] = []
    real = LocalBackend.read

    def read(self: LocalBackend, key: str, limit: int | None = None) -> bytes:
        if key.startswith("metadata/"):
            seen.append(key)
        return real(self, key, limit)

    monkeypatch.setattr(LocalBackend, "read", read)
    return seen


def test_loading_every_model_parses_no_json_and_the_samples_are_still_there(
    store: ModelPersistence, json_reads: list[str]
) -> None:
    fresh = ModelPersistence(store.base_dir)
    assert fresh.load_all_models() == (3, 3)
    assert json_reads == []  # every document came from the listing cache
    for name in NAMES:
        result = fresh.loaded_models[name]
        assert result["metrics"]["MAE"] == 1.5
        assert result["metadata"]["model_file"]["name"].endswith(".pkl")
        # The analysis reads the sample from the load result, as from a listing row.
        shown = prediction_sample(result)
        assert shown.predicted == sample(name)["y_pred"]
        assert shown.actual == sample(name)["y_test"]
        assert dict(result["metadata"]["predictions"]) == sample(name)
        assert dict(result["metadata"]["search"]) == {"best": name}
    assert sorted(json_reads) == sorted(f"metadata/{n.replace(' ', '_')}.json" for n in NAMES)


def test_a_sample_is_plain_data_once_copied_or_pickled(store: ModelPersistence) -> None:
    fresh = ModelPersistence(store.base_dir)
    fresh.load_all_models()
    predictions = fresh.loaded_models["Alpha"]["predictions"]
    assert predictions == sample("Alpha")
    assert pickle.loads(pickle.dumps(predictions)) == sample("Alpha")
    assert json.loads(json.dumps(dict(predictions))) == sample("Alpha")


def test_a_json_rewritten_outside_tuidash_is_read_again_not_taken_from_the_cache(
    store: ModelPersistence, json_reads: list[str]
) -> None:
    path = store.base_dir / "metadata" / "Gamma.json"
    doc = json.loads(path.read_text())
    doc["metrics"]["MAE"] = 0.125
    doc["note"] = "edited by hand"
    path.write_text(json.dumps(doc))  # same pickle, same checksum: a good model still
    fresh = ModelPersistence(store.base_dir)
    assert fresh.load_all_models() == (3, 3)
    gamma = fresh.loaded_models["Gamma"]
    assert gamma["metrics"]["MAE"] == 0.125
    assert gamma["metadata"]["note"] == "edited by hand"
    assert "metadata/Gamma.json" in json_reads


def test_a_cache_row_that_lies_about_the_checksum_costs_a_json_read_not_the_model(
    store: ModelPersistence, json_reads: list[str]
) -> None:
    index_path = store.base_dir / INDEX_NAME
    stat = index_path.stat()
    index = json.loads(index_path.read_text())
    row = index["rows"]["Alpha"]
    row[2][0]["model_file"]["xxh3_128"] = "0" * 32
    index_path.write_text(json.dumps(index))
    os.utime(index_path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    fresh = ModelPersistence(store.base_dir)
    assert fresh.load_all_models() == (3, 3)
    assert fresh.loaded_models["Alpha"]["warnings"] == []
    assert json_reads == ["metadata/Alpha.json"]


def test_a_flipped_byte_is_caught_with_the_cache_in_use(store: ModelPersistence) -> None:
    pkl = store.base_dir / "models" / "Beta_model.pkl"
    data = bytearray(pkl.read_bytes())
    data[len(data) // 2] ^= 0x01
    with open(pkl, "r+b") as handle:  # in place: the same inode, the cache row stays valid
        handle.write(data)
    fresh = ModelPersistence(store.base_dir)
    assert fresh.load_all_models() == (2, 3)
    assert "Beta model" not in fresh.loaded_models
    problems = fresh.get_storage_info()["problems"]
    assert [(p["name"], p["kind"]) for p in problems] == [("Beta model", "damaged")]
    assert "checksum" in problems[0]["reason"]


def test_a_sample_read_after_a_new_save_is_the_loaded_versions(
    store: ModelPersistence,
) -> None:
    fresh = ModelPersistence(store.base_dir)
    fresh.load_all_models()
    loaded = fresh.loaded_models["Alpha"]
    store.save_model("Alpha", model_data(predictions=sample("a much longer name")))
    assert loaded["version"] == 1
    assert dict(loaded["predictions"]) == sample("Alpha")  # kept as Alpha@v1


def test_the_service_loads_from_the_cache_and_the_samples_are_there(
    store: ModelPersistence, json_reads: list[str]
) -> None:
    async def run() -> dict[str, Any]:
        service = PersistenceService(store.base_dir, freeze_gc=False)
        try:
            events = [event async for event in service.load_all()]
            assert events[-1].loaded == 3
            return dict(service.loaded)
        finally:
            service.close()

    loaded = asyncio.run(run())
    assert json_reads == []
    assert {name: dict(loaded[name]["predictions"]) for name in NAMES} == {
        name: sample(name) for name in NAMES
    }


def test_a_renamed_model_keeps_the_sample_it_was_loaded_with(store: ModelPersistence) -> None:
    fresh = ModelPersistence(store.base_dir)
    fresh.load_all_models()
    fresh.rename("Gamma", "Delta")
    assert dict(fresh.loaded_models["Delta"]["predictions"]) == sample("Gamma")


def test_the_service_keeps_a_renamed_models_sample(store: ModelPersistence) -> None:
    async def run() -> dict[str, Any]:
        service = PersistenceService(store.base_dir, freeze_gc=False)
        try:
            async for _event in service.load_all():
                pass
            await service.rename("Gamma", "Delta")
            return dict(service.loaded["Delta"]["predictions"])
        finally:
            service.close()

    assert asyncio.run(run()) == sample("Gamma")


def test_a_model_loaded_from_the_cache_is_the_one_read_from_its_json(
    store: ModelPersistence,
) -> None:
    store.set_tags("Gamma", ["prod"])
    store.set_alias("Gamma", "champion", 1)
    store.list_saved_models(predictions=False)
    fresh = ModelPersistence(store.base_dir)
    fresh.load_all_models()
    for name in NAMES:
        cached = fresh.loaded_models[name]
        direct = store.load_model(name)  # one model: always its JSON
        assert direct is not None
        settled = dict(cached["metadata"])
        for key in ("predictions", "search"):
            settled[key] = dict(settled[key])
        assert settled == direct["metadata"]
        assert {k: v for k, v in cached.items() if k not in ("model", "metadata")} == {
            k: v for k, v in direct.items() if k not in ("model", "metadata")
        }
