"""Broken entries (issue 2, item 5) and delete/clear safety (item 7)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from store_helpers import files_under, fitted, model_data, original_entry, tuidash_entry

from tuidash.core.store import ModelPersistence


def _doc(name: str, **changes: object) -> dict:
    doc = {
        "model_name": name,
        "metrics": {"MAE": 1.0},
        "params": {},
        "predictions": {"y_pred": [], "y_test": [], "feature_importance": None},
        "saved_at": "2024-01-01 00:00:00",
    }
    doc.update(changes)
    return doc


def _write(base: Path, name: str, *, pkl: bytes | None, meta: str | None) -> None:
    if pkl is not None:
        (base / "models" / f"{name}.pkl").write_bytes(pkl)
    if meta is not None:
        (base / "metadata" / f"{name}.json").write_text(meta)


def test_broken_entries_are_problems_with_reasons_and_good_models_still_load(tmp_path):
    base = tmp_path / "store"
    store = ModelPersistence(base)
    store.save_model("good one", model_data())
    original_entry(base, "good legacy")
    good_pkl = (base / "models" / "good_one.pkl").read_bytes()  # files are named by STEM
    ok_json = json.dumps(_doc("x"))

    _write(base, "empty pkl", pkl=b"", meta=json.dumps(_doc("empty pkl")))
    tuidash_entry(base, "truncated", good_pkl)
    (base / "models" / "truncated.pkl").write_bytes(good_pkl[: len(good_pkl) // 2])
    _write(base, "truncated legacy", pkl=good_pkl[:100], meta=json.dumps(_doc("truncated legacy")))
    _write(base, "random bytes", pkl=os.urandom(4096), meta=json.dumps(_doc("random bytes")))
    _write(base, "not json", pkl=good_pkl, meta="{not json")
    _write(base, "missing keys", pkl=good_pkl, meta=json.dumps({"model_name": "missing keys"}))
    _write(base, "wrong types", pkl=good_pkl, meta=json.dumps(_doc("wrong types", metrics=[1, 2])))
    _write(
        base, "metric text", pkl=good_pkl, meta=json.dumps(_doc("metric text", metrics={"R2": "x"}))
    )
    _write(base, "json only", pkl=None, meta=json.dumps(_doc("json only")))
    _write(base, "pkl only", pkl=good_pkl, meta=None)
    _write(base, "nan", pkl=good_pkl, meta=ok_json.replace('"MAE": 1.0', '"MAE": NaN'))
    _write(base, "escape", pkl=good_pkl, meta=json.dumps(_doc("../../etc/passwd")))
    tuidash_entry(base, "other file", good_pkl)
    doc = json.loads((base / "metadata" / "other file.json").read_text())
    doc["model_file"]["name"] = "../x"
    (base / "metadata" / "other file.json").write_text(json.dumps(doc))
    _write(base, "array", pkl=good_pkl, meta="[1, 2, 3]")

    expected = {
        "empty pkl": "empty",
        "truncated": "bytes but",
        "truncated legacy": "could not be read",
        "random bytes": "could not be read",
        "not json": "not valid JSON",
        "missing keys": "missing metrics, params, predictions, saved_at",
        "wrong types": "metrics are not",
        "metric text": "metrics are not",
        "json only": "pickle file is missing",
        "pkl only": "no metadata",
        "nan": "NaN",
        "escape": "names another model",
        "other file": "'../x'",
        "array": "not a JSON object",
    }
    fresh = ModelPersistence(base)
    names = [e["name"] for e in fresh.list_saved_models()]
    assert {"good one", "good legacy"} <= set(names)
    assert fresh.load_model("good one") is not None
    assert fresh.load_model("good legacy") is not None
    loaded, total = fresh.load_all_models()
    assert loaded == 2 and total == 2 + len(expected)
    problems = {p["name"]: p for p in fresh.get_storage_info()["problems"]}
    assert set(problems) == set(expected)
    for name, words in expected.items():
        assert words in problems[name]["reason"], (name, problems[name]["reason"])
        assert problems[name]["kind"] in ("damaged", "orphaned")
        assert problems[name]["files"], name
    assert problems["pkl only"]["kind"] == "orphaned"
    assert problems["pkl only"]["files"] == ["models/pkl only.pkl"]
    assert fresh.get_storage_info()["model_count"] == 2
    # load_model of each never raises and explains.
    for name in expected:
        assert fresh.load_model(name) is None
        assert fresh.last_error and name in fresh.last_error
    # remove_entry clears one problem and nothing else.
    assert fresh.remove_entry("random bytes")[0]
    assert "random bytes" not in {p["name"] for p in fresh.get_storage_info()["problems"]}
    assert fresh.load_model("good one") is not None
    assert not (tmp_path / "etc").exists() and not (tmp_path / "x").exists()


def test_a_symlink_in_models_is_never_followed_by_delete_or_clear(tmp_path):
    base = tmp_path / "store"
    outside = tmp_path / "precious.pkl"
    outside.write_bytes(b"user data that must survive")
    outside_json = tmp_path / "precious.json"
    outside_json.write_text(json.dumps(_doc("linked")))
    store = ModelPersistence(base)
    store.save_model("real", model_data())
    (base / "models" / "linked.pkl").symlink_to(outside)
    (base / "metadata" / "linked.json").symlink_to(outside_json)
    (base / "models" / "loose.pkl").symlink_to(outside)

    problems = {p["name"]: p for p in store.get_storage_info()["problems"]}
    assert "symbolic link" in problems["linked"]["reason"]
    assert store.load_model("linked") is None and "symbolic link" in store.last_error
    assert store.delete_model("linked")[0]
    assert not (base / "models" / "linked.pkl").is_symlink()
    assert outside.read_bytes() == b"user data that must survive"
    assert outside_json.exists()
    assert store.clear_all_saved_models()[0]
    assert outside.read_bytes() == b"user data that must survive"
    assert list((base / "models").glob("*.pkl")) == []


def test_clear_leaves_unrelated_user_files_alone(tmp_path):
    base = tmp_path / "store"
    store = ModelPersistence(base)
    for name in ("a", "b"):
        store.save_model(name, model_data())
    (base / "README.txt").write_text("my notes")
    (base / "models" / "notes.txt").write_text("keep")
    (base / "metadata" / "todo.md").write_text("keep")
    (base / "models" / "sub").mkdir()
    (base / "models" / "sub" / "inner.pkl").write_bytes(b"keep")
    (base / "models" / "dir.pkl").mkdir()
    before = {k: v for k, v in files_under(base).items() if k.startswith(("README", "models/n"))}
    ok, message = store.clear_all_saved_models()
    assert ok and message == "Deleted 2 saved models."
    after = files_under(base)
    for path, content in before.items():
        assert after[path] == content
    assert after["metadata/todo.md"] == b"keep"
    assert after["models/sub/inner.pkl"] == b"keep"
    assert (base / "models" / "dir.pkl").is_dir()
    assert store.list_saved_models() == []


def test_delete_only_touches_the_named_model(tmp_path):
    base = tmp_path / "store"
    store = ModelPersistence(base)
    for name in ("a b", "a-b", "a"):
        store.save_model(name, model_data())
    # "a_b" would share the files of "a b" (one STEM), so it never coexists with it.
    assert not store.save_model("a_b", model_data())[0]
    assert store.delete_model("a b")[0]
    assert [e["name"] for e in store.list_saved_models()] == ["a", "a-b"]
    for bad in ("../store/models/a", "*", "a*", ".tuidash.lock", "", "..", "a_b", "a b"):
        ok, _message = store.delete_model(bad)
        assert not ok
    assert [e["name"] for e in store.list_saved_models()] == ["a", "a-b"]


def test_store_folder_deleted_while_running(tmp_path):
    base = tmp_path / "store"
    store = ModelPersistence(base)
    store.save_model("a", model_data())
    shutil.rmtree(base)
    assert store.list_saved_models() == []
    info = store.get_storage_info()
    assert info["model_count"] == 0 and info["problems"] == []
    assert store.load_model("a") is None
    assert store.delete_model("a")[0] is False
    assert store.clear_all_saved_models()[0]
    assert store.load_all_models() == (0, 0)
    ok, message = store.save_model("b", model_data(fitted("dummy")))
    assert ok, message
    assert [e["name"] for e in store.list_saved_models()] == ["b"]
    assert store.load_model("b") is not None


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_store_lists_and_loads_but_refuses_to_save(tmp_path):
    base = tmp_path / "store"
    ModelPersistence(base).save_model("a", model_data())
    for folder in (base, base / "models", base / "metadata"):
        folder.chmod(0o555)
    try:
        store = ModelPersistence(base)
        assert [e["name"] for e in store.list_saved_models()] == ["a"]
        assert store.load_model("a") is not None
        ok, message = store.save_model("b", model_data())
        assert not ok and "permission" in message
    finally:
        for folder in (base, base / "models", base / "metadata"):
            folder.chmod(0o755)
