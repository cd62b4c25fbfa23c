"""The listing cache ``.tuidash-index.json`` (issue 13): a fresh process lists from it with
stat calls and one small read, re-reads only what another process changed, is never
trusted over the files, is safe to delete, and carries the running environment so a
fresh listing does not look the library versions up again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from store_helpers import model_data

from tuidash.core.store import ModelPersistence, documents
from tuidash.core.store.backend import LocalBackend
from tuidash.core.store.names import INDEX_NAME


@pytest.fixture
def store(tmp_path: Path) -> ModelPersistence:
    base = ModelPersistence(tmp_path / "saved_models")
    for name in ("Alpha", "Beta model", "Gamma"):
        base.save_model(name, model_data(params={"name": name}))
    return base


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every key the local backend reads whole (the JSON files and the cache)."""
    seen: list[str] = []
    real = LocalBackend.read

    def read(self: LocalBackend, key: str, limit: int | None = None) -> bytes:
        seen.append(key)
        return real(self, key, limit)

    monkeypatch.setattr(LocalBackend, "read", read)
    return seen


def names_and_metrics(store: ModelPersistence) -> list[tuple[str, Any]]:
    return [(r["name"], r["metrics"]["MAE"]) for r in store.list_saved_models(predictions=False)]


def test_a_fresh_process_lists_from_the_cache_without_reading_any_json(
    store: ModelPersistence, reads: list[str]
) -> None:
    expected = names_and_metrics(store)  # the last run listed: the cache is written
    reads.clear()
    fresh = ModelPersistence(store.base_dir)
    assert names_and_metrics(fresh) == expected
    assert reads == [INDEX_NAME]
    row = fresh.list_saved_models(predictions=False)[0]
    assert row["predictions"] is None  # the arrays are never in the cache
    assert "y_pred" not in (store.base_dir / INDEX_NAME).read_text()


def test_after_another_process_changed_the_store_only_its_changes_are_read(
    store: ModelPersistence, reads: list[str]
) -> None:
    names_and_metrics(store)
    other = ModelPersistence(store.base_dir)
    other.save_model("Alpha", model_data(metrics={"MAE": 0.25}))
    other.save_model("Delta", model_data())
    other.delete_model("Gamma")
    other.set_note("Beta model", "edited")
    reads.clear()
    fresh = ModelPersistence(store.base_dir)
    rows = fresh.list_saved_models(predictions=False)
    assert [(r["name"], r["metrics"]["MAE"]) for r in rows] == [
        ("Alpha", 0.25),
        ("Beta model", 1.5),
        ("Delta", 1.5),
    ]
    assert [r["note"] for r in rows] == [None, "edited", None]
    assert sorted(k for k in reads if k.startswith("metadata/")) == [
        "metadata/Alpha.json",
        "metadata/Beta_model.json",
        "metadata/Delta.json",
    ]
    reads.clear()
    assert len(ModelPersistence(store.base_dir).list_saved_models(predictions=False)) == 3
    assert reads == [INDEX_NAME]  # the listing brought the cache up to date


def test_the_cache_is_safe_to_delete_and_never_trusted_over_the_files(
    store: ModelPersistence,
) -> None:
    expected = names_and_metrics(store)
    (store.base_dir / INDEX_NAME).unlink()
    assert names_and_metrics(ModelPersistence(store.base_dir)) == expected
    # A cache that lies about a row whose files it still matches by signature shows the lie
    # only in what a listing shows (names, metrics); a changed JSON is always read again.
    index_path = store.base_dir / INDEX_NAME
    index = json.loads(index_path.read_text())
    index["rows"]["Gamma"][0][1] += 1  # a signature the files do not have
    index["rows"]["Gamma"][1][0] = "Impostor"
    index_path.write_text(json.dumps(index))
    assert names_and_metrics(ModelPersistence(store.base_dir)) == expected
    index_path.write_text("{not json")
    assert names_and_metrics(ModelPersistence(store.base_dir)) == expected


def test_a_damaged_entry_is_never_listed_as_good_whether_cached_or_not(
    store: ModelPersistence,
) -> None:
    names_and_metrics(store)
    (store.base_dir / "metadata" / "Gamma.json").write_text('{"model_name": "Gamma"}')
    for _ in range(2):  # first read from the file, then from the cache's problem row
        fresh = ModelPersistence(store.base_dir)
        assert [n for n, _ in names_and_metrics(fresh)] == ["Alpha", "Beta model"]
        [problem] = fresh.get_storage_info()["problems"]
        assert problem["name"] == "Gamma" and problem["kind"] == "damaged"
    (store.base_dir / "models" / "Alpha.pkl").unlink()
    assert [n for n, _ in names_and_metrics(ModelPersistence(store.base_dir))] == ["Beta model"]


def test_a_fresh_listing_takes_the_environment_from_the_cache(
    store: ModelPersistence, monkeypatch: pytest.MonkeyPatch
) -> None:
    names_and_metrics(store)
    cached = json.loads((store.base_dir / INDEX_NAME).read_text())["here"]
    assert cached["env"] == documents.current_environment()
    # A fresh process: the environment not known yet, and looking it up is refused.
    monkeypatch.setattr(documents, "_ENVIRONMENT", None)
    monkeypatch.setattr(documents, "_MISMATCH_MEMO", {})
    import importlib.metadata

    def no_lookup(name: str) -> str:
        raise AssertionError(f"looked up {name}")

    monkeypatch.setattr(importlib.metadata, "version", no_lookup)
    rows = ModelPersistence(store.base_dir).list_saved_models(predictions=False)
    assert [r["environment_mismatch"] for r in rows] == [[], [], []]
    assert documents.known_environment() == cached["env"]


def test_a_cached_environment_is_not_taken_after_a_package_was_installed(
    store: ModelPersistence, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    names_and_metrics(store)
    monkeypatch.setattr(documents, "_ENVIRONMENT", None)
    monkeypatch.setattr(documents, "_MISMATCH_MEMO", {})
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))  # a folder on sys.path: a new install changes it
    key = documents.environment_key()
    (site / "newpkg-1.0.dist-info").mkdir()
    assert documents.environment_key() != key
    looked: list[str] = []
    import importlib.metadata

    real = importlib.metadata.version

    def counting(name: str) -> str:
        looked.append(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", counting)
    ModelPersistence(store.base_dir).list_saved_models(predictions=False)
    assert "scikit-learn" in looked  # the cache was written under another key: looked up
    # ... and the cache now holds this key, so the next fresh listing needs no look-up.
    looked.clear()
    monkeypatch.setattr(documents, "_ENVIRONMENT", None)
    monkeypatch.setattr(documents, "_MISMATCH_MEMO", {})
    ModelPersistence(store.base_dir).list_saved_models(predictions=False)
    assert looked == []
