"""Versions (issue 12): every save of a taken name makes a new version, NAME@vN and
NAME@ALIAS everywhere, aliases, roll-back, delete, prune, rename, notes, tags, history."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from store_helpers import fitted, frame_and_target, model_data, on_disk_and_s3, store_location

from tuidash.core.store import (
    InvalidModelName,
    ModelExists,
    ModelNotFound,
    ModelPersistence,
    StoreError,
)
from tuidash.core.text import size_text


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ModelPersistence:
    """A store in a folder; on moto's S3 server too for tests marked ``on_disk_and_s3``."""
    return ModelPersistence(store_location(request, tmp_path))


def _save_versions(store: ModelPersistence, name: str, count: int) -> None:
    for number in range(1, count + 1):
        ok, message = store.save_model(name, model_data(params={"v": number}))
        assert ok, message


def test_every_save_of_a_taken_name_is_a_new_version_and_earlier_ones_stay(store):
    _save_versions(store, "Random Forest", 3)
    base = store.base_dir
    # The latest is where the original app looks; earlier ones under versions/STEM/.
    assert json.loads((base / "metadata" / "Random_Forest.json").read_text())["version"] == 3
    assert sorted(p.name for p in (base / "versions" / "Random_Forest").iterdir()) == [
        "history.jsonl",
        "v1.json",
        "v1.pkl",
        "v2.json",
        "v2.pkl",
    ]
    rows = store.list_versions("Random Forest")
    assert [(r["version"], r["latest"]) for r in rows] == [(1, False), (2, False), (3, True)]
    for row in rows:
        assert {"version", "saved_at", "metrics", "aliases", "size_bytes", "note"} <= set(row)
        assert row["size_bytes"] > 0 and row["metrics"]["MAE"] == 1.5
        assert row["aliases"] == [] and row["note"] is None and row["problem"] is None
        assert row["trained_by"] and "@" in row["trained_by"]
    assert [r["replaces"] for r in rows] == [None, 1, 2]
    for ref, number in [("Random Forest@v1", 1), ("Random Forest@V2", 2), ("Random Forest", 3)]:
        result = store.load_model(ref)
        assert result is not None, store.last_error
        assert result["params"] == {"v": number} and result["version"] == number
    assert store.load_model("Random Forest@latest")["params"] == {"v": 3}
    assert store.load_model("Random Forest@v9") is None
    assert store.last_error == ("Model 'Random Forest' has no version 9 (it has versions 1, 2, 3).")
    [row] = store.list_saved_models()
    assert (row["name"], row["version"], row["versions"], row["aliases"]) == (
        "Random Forest",
        3,
        3,
        {},
    )
    assert store.get_storage_info()["problems"] == []


def test_an_earlier_versions_bytes_are_stored_once(store):
    store.save_model("Forest", model_data(params={"v": 1}))
    first = (store.base_dir / "models" / "Forest.pkl").stat()
    store.save_model("Forest", model_data(params={"v": 2}))
    kept = (store.base_dir / "versions" / "Forest" / "v1.pkl").stat()
    assert (kept.st_ino, kept.st_size) == (first.st_ino, first.st_size)  # a link, not a copy


@on_disk_and_s3
def test_aliases_point_at_one_version_move_and_are_recorded(store):
    _save_versions(store, "Forest", 3)
    assert store.set_alias("Forest", "champion", 2) == "'Forest@champion' now is version 2."
    assert store.load_model("Forest@champion")["params"] == {"v": 2}
    assert store.set_alias("Forest", "champion", "v1") == (
        "'Forest@champion' now is version 1 (it was version 2)."
    )
    store.set_alias("Forest", "staging", 3)
    assert store.load_model("Forest@champion")["params"] == {"v": 1}
    assert [r["aliases"] for r in store.list_versions("Forest")] == [["champion"], [], ["staging"]]
    assert store.list_saved_models()[0]["aliases"] == {"champion": 1, "staging": 3}
    for reserved in ("latest", "v2", "V7"):
        with pytest.raises(InvalidModelName, match="reserved"):
            store.set_alias("Forest", reserved, 1)
    with pytest.raises(ModelNotFound, match="no version 8"):
        store.set_alias("Forest", "other", 8)
    assert store.remove_alias("Forest", "staging") == (
        "Removed the alias 'staging' (version 3) of 'Forest'."
    )
    with pytest.raises(ModelNotFound, match="no alias 'staging'"):
        store.open_model("Forest@staging")
    events = [(e["event"], e.get("alias"), e.get("version")) for e in store.history("Forest")]
    assert events == [
        ("save", None, 1),
        ("save", None, 2),
        ("save", None, 3),
        ("alias", "champion", 2),
        ("alias", "champion", 1),
        ("alias", "staging", 3),
        ("unalias", "staging", 3),
    ]
    for event in store.history("Forest"):
        assert event["user"] == store.history("Forest")[0]["user"] and "@" in event["user"]
        assert event["at"][:4].isdigit() and "T" in event["at"]  # ISO time with its offset


def test_rollback_makes_an_earlier_content_the_new_latest_without_rewriting_history(store):
    _save_versions(store, "Forest", 3)
    message = store.rollback("Forest", 1)
    assert message == (
        "Rolled 'Forest' back to the content of version 1: it is version 4 now, and "
        "version 3 is kept."
    )
    latest = store.load_model("Forest")
    assert latest["params"] == {"v": 1} and latest["version"] == 4
    assert latest["metadata"]["rollback_of"] == 1 and latest["metadata"]["replaces"] == 3
    assert [store.load_model(f"Forest@v{n}")["params"]["v"] for n in (1, 2, 3, 4)] == [1, 2, 3, 1]
    v1 = (store.base_dir / "versions" / "Forest" / "v1.pkl").stat()
    assert (store.base_dir / "models" / "Forest.pkl").stat().st_ino == v1.st_ino  # no copy
    assert [e["event"] for e in store.history("Forest")] == ["save", "save", "save", "rollback"]
    with pytest.raises(StoreError, match="already is the latest"):
        store.rollback("Forest", 4)
    frame, _ = frame_and_target()
    assert list(latest["model"].predict(frame)) == list(fitted().predict(frame))


@on_disk_and_s3
def test_delete_one_version_unless_an_alias_holds_it_or_it_is_the_latest(store):
    _save_versions(store, "Forest", 3)
    store.set_alias("Forest", "champion", 2)
    ok, message = store.delete_model("Forest@v2")
    assert not ok and message == (
        "Version 2 of 'Forest' cannot be deleted: the alias 'champion' points at it; move "
        "or remove the alias first."
    )
    ok, message = store.delete_model("Forest@v3")
    assert not ok and "latest version" in message
    summary = store.deletion_summary("Forest@v1")
    assert (summary["version"], summary["versions"]) == (1, 1)
    assert summary["message"].startswith("Delete version 1 of 'Forest': 1 version, ")
    assert store.delete_model("Forest@v1") == (True, "Deleted version 1 of 'Forest'.")
    assert store.load_model("Forest@v1") is None and "no version 1" in store.last_error
    assert [r["version"] for r in store.list_versions("Forest")] == [2, 3]
    assert store.list_saved_models()[0]["versions"] == 2
    assert store.history("Forest")[-1]["event"] == "delete"


def test_deleting_a_name_deletes_every_version_after_a_summary(store):
    _save_versions(store, "Forest", 3)
    store.save_model("Other", model_data())
    summary = store.deletion_summary("Forest")
    sizes = sum(r["size_bytes"] for r in store.list_versions("Forest"))
    assert (summary["name"], summary["versions"], summary["size_bytes"]) == ("Forest", 3, sizes)
    assert summary["message"] == f"Delete 'Forest': 3 versions, {size_text(sizes)}?"
    assert " KB?" in summary["message"]  # small models: KB, not "0.0 MB"
    assert store.delete_model("Forest") == (True, "Deleted model 'Forest' (3 versions).")
    assert not (store.base_dir / "versions" / "Forest").exists()
    assert [r["name"] for r in store.list_saved_models()] == ["Other"]
    # A later model of that name starts afresh at version 1.
    store.save_model("Forest", model_data())
    assert [r["version"] for r in store.list_versions("Forest")] == [1]


@on_disk_and_s3
def test_prune_keeps_the_last_n_and_every_version_an_alias_holds(store):
    _save_versions(store, "Forest", 5)
    _save_versions(store, "Ridge", 2)
    store.set_alias("Forest", "champion", 1)
    plan = store.prune(keep=2, dry_run=True)
    assert [(r["name"], r["version"]) for r in plan["removed"]] == [("Forest", 2), ("Forest", 3)]
    assert plan["kept_for_alias"] == [{"name": "Forest", "version": 1, "aliases": ["champion"]}]
    assert plan["message"].startswith("Would remove 2 earlier versions (")
    assert len(store.list_versions("Forest")) == 5  # a dry run changes nothing
    done = store.prune(keep=2)
    assert done["removed"] == plan["removed"]
    assert [r["version"] for r in store.list_versions("Forest")] == [1, 4, 5]
    assert [r["version"] for r in store.list_versions("Ridge")] == [1, 2]
    assert store.prune("Ridge", keep=1)["removed"] == [
        {"name": "Ridge", "version": 1, "size_bytes": pytest.approx(1, abs=10**9)}
    ]
    assert [r["version"] for r in store.list_versions("Ridge")] == [2]
    with pytest.raises(StoreError, match="at least 1"):
        store.prune(keep=0)
    deletes = [e for e in store.history("Forest") if e["event"] == "delete"]
    assert [(e["version"], e["reason"]) for e in deletes] == [(2, "prune"), (3, "prune")]


def test_rename_moves_every_version_alias_and_the_history(store):
    _save_versions(store, "Forest", 3)
    store.set_alias("Forest", "champion", 1)
    store.save_model("Ridge", model_data())
    assert (
        store.rename("Forest", "Big Forest") == "Renamed 'Forest' to 'Big Forest' (all 3 versions)."
    )
    assert sorted(r["name"] for r in store.list_saved_models()) == ["Big Forest", "Ridge"]
    assert store.load_model("Big Forest@champion")["params"] == {"v": 1}
    assert store.load_model("Big Forest@v2")["metadata"]["model_name"] == "Big Forest"
    assert store.load_model("Forest") is None
    assert not (store.base_dir / "versions" / "Forest").exists()
    assert not (store.base_dir / "metadata" / "Forest.json").exists()
    assert (store.base_dir / "metadata" / "Big_Forest.json").is_file()
    assert [e["event"] for e in store.history("Big Forest")][-2:] == ["alias", "rename"]
    with pytest.raises(ModelExists, match="'Ridge' already exists"):
        store.rename("Big Forest", "Ridge")
    with pytest.raises(ModelExists, match="same files"):
        store.rename("Big Forest", "Big_Forest")
    assert store.get_storage_info()["problems"] == []


@on_disk_and_s3
def test_notes_and_tags_per_version(store):
    _save_versions(store, "Forest", 2)
    assert store.set_note("Forest@v1", "baseline, before the new features") == (
        "Changed the note of 'Forest@v1'."
    )
    store.set_note("Forest", "with the new features")
    store.set_tags("Forest", ["housing", "prod ", "housing"])
    rows = store.list_versions("Forest")
    assert [r["note"] for r in rows] == [
        "baseline, before the new features",
        "with the new features",
    ]
    assert [r["tags"] for r in rows] == [[], ["housing", "prod"]]
    [row] = store.list_saved_models()
    assert (row["note"], row["tags"]) == ("with the new features", ["housing", "prod"])
    # A new version keeps the name's tags; a note belongs to its version only.
    store.save_model("Forest", model_data(params={"v": 3}))
    [row] = store.list_saved_models()
    assert (row["note"], row["tags"], row["version"]) == (None, ["housing", "prod"], 3)
    assert store.load_model("Forest@v2")["metadata"]["note"] == "with the new features"
    store.set_note("Forest@v1", "")
    assert store.list_versions("Forest")[0]["note"] is None
    assert [e["event"] for e in store.history("Forest")].count("note") == 3


def test_each_version_records_who_trained_it_and_what_it_replaced(store):
    store.save_model("Forest", model_data(note="first try", tags=["a"]))
    store.save_model("Forest", model_data())
    meta = json.loads((store.base_dir / "metadata" / "Forest.json").read_text())
    assert meta["version"] == 2 and meta["replaces"] == 1 and meta["versions"] == 2
    assert meta["trained_by"] == store.history("Forest")[0]["user"]
    assert meta["note"] is None and meta["tags"] == ["a"]
    first = store.load_model("Forest@v1")["metadata"]
    assert first["version"] == 1 and first["note"] == "first try"
    assert "versions" not in first and "aliases" not in first  # about the name: latest only
    linked = (store.base_dir / "versions" / "Forest" / "v1.json").stat()
    assert linked.st_nlink == 1  # the latest JSON it was a link of has been replaced


@on_disk_and_s3
def test_names_with_at_are_refused_and_refs_are_checked(store):
    ok, message = store.save_model("Forest@home", model_data())
    assert not ok and "cannot contain @" in message
    store.save_model("Forest", model_data())
    for bad in ("Forest@", "Forest@nope", "Missing@v1"):
        assert store.load_model(bad) is None
    assert store.last_error == "There is no model named 'Missing'."


def test_listing_never_reads_a_versions_folder(store, monkeypatch):
    _save_versions(store, "Forest", 3)
    store.list_saved_models(predictions=False)
    real_scan = store.backend.scan
    scanned: list[str] = []

    def scan(folder: str):
        scanned.append(folder)
        return real_scan(folder)

    monkeypatch.setattr(store.backend, "scan", scan)
    rows = store.list_saved_models(predictions=False)
    assert [(r["version"], r["versions"]) for r in rows] == [(3, 3)]
    assert not [f for f in scanned if f.startswith("versions")]


def test_storage_report_counts_each_names_versions(store):
    _save_versions(store, "Forest", 3)
    store.save_model("Ridge", model_data())
    report = store.get_storage_info()
    by_name = {m["name"]: m for m in report["models"]}
    forest = by_name["Forest"]
    assert forest["versions"] == 3
    earlier = sum(r["size_bytes"] for r in store.list_versions("Forest") if not r["latest"])
    assert forest["versions_bytes"] >= earlier
    assert forest["total_bytes"] == forest["size_bytes"] + forest["versions_bytes"]
    assert report["total_size_bytes"] == sum(m["total_bytes"] for m in report["models"])
    assert [p for p in report["problems"]] == []
    # versions/ and jobs/ are never models or problems.
    (store.base_dir / "jobs" / "abc").mkdir(parents=True)
    (store.base_dir / "jobs" / "abc" / "job.json").write_text("{}")
    assert sorted(r["name"] for r in store.list_saved_models()) == ["Forest", "Ridge"]
    assert store.get_storage_info()["problems"] == []


def test_a_version_file_changed_outside_tuidash_is_not_loaded(store):
    _save_versions(store, "Forest", 2)
    pkl = store.base_dir / "versions" / "Forest" / "v1.pkl"
    data = pkl.read_bytes()
    os.unlink(pkl)  # a link: writing into it would change nothing else
    pkl.write_bytes(data[:50] + bytes([data[50] ^ 1]) + data[51:])
    assert store.load_model("Forest@v1") is None
    assert "does not match the checksum" in store.last_error and "Forest@v1" in store.last_error
    assert store.load_model("Forest") is not None


def test_model_paths_give_the_files_of_a_version_for_export(store):
    from tuidash.core import transfer

    _save_versions(store, "Big Forest", 2)
    base = store.base_dir
    assert store.model_paths("Big Forest") == (
        base / "models" / "Big_Forest.pkl",
        base / "metadata" / "Big_Forest.json",
    )
    assert store.model_paths("Big Forest@v1") == (
        base / "versions" / "Big_Forest" / "v1.pkl",
        base / "versions" / "Big_Forest" / "v1.json",
    )
    assert not store.model_paths("Missing")[0].exists()
    files = transfer.export_model(store, "Big Forest", base.parent / "out")
    assert [f.name for f in files] == ["Big_Forest.pkl", "Big_Forest.json"]
    assert json.loads(files[1].read_text())["model_name"] == "Big Forest"


def test_without_hard_links_earlier_versions_are_copied(store, monkeypatch):
    import errno

    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")  # e.g. a FAT or network disk

    _save_versions(store, "Forest", 1)
    monkeypatch.setattr(os, "link", no_links)
    store.save_model("Forest", model_data(params={"v": 2}))
    store.rollback("Forest", 1)
    kept = store.base_dir / "versions" / "Forest" / "v1.pkl"
    assert kept.stat().st_nlink == 1  # a copy
    assert [store.load_model(f"Forest@v{n}")["params"] for n in (1, 2, 3)] == [
        {"v": 1},
        {"v": 2},
        {"v": 1},
    ]
    assert [p.name for p in store.base_dir.rglob(".tuidash-tmp-*")] == []
