"""A store in object storage: against moto's S3 server on 127.0.0.1 (see conftest.py).

The store's behaviour tests run on S3 too (``on_disk_and_s3`` in test_store_basic.py and
test_store_versions.py); here is what only a remote store has: conditional writes, the
lock object, listing in a fixed number of requests, the download cache, network errors,
``aws s3 sync`` compatibility, and the command line on an ``s3://`` store.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from store_helpers import fitted, model_data

from tuidash.core.errors import StoreError, StoreWriteError
from tuidash.core.settings import parse_storage_options
from tuidash.core.store import ModelPersistence, remote, remote_lock
from tuidash.core.store.backend import LockTimeout
from tuidash.core.store.remote import DownloadCache, RemoteBackend, WriteConflict

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _key(url: str, key: str) -> str:
    """The object path (bucket/prefix/key) of a store key."""
    return f"{url.removeprefix('s3://')}/{key}"


def test_an_s3_url_opens_a_remote_store_with_the_same_layout(s3_url, s3_fs):
    store = ModelPersistence(s3_url)
    assert store.remote and store.base_dir == s3_url
    ok, message = store.save_model("Lin Reg", model_data())
    assert ok, message
    assert store.save_model("Lin Reg", model_data(params={"v": 2}))[0]
    keys = sorted(k.split("/store/", 1)[1] for k in s3_fs.find(s3_url.removeprefix("s3://")))
    assert "models/Lin_Reg.pkl" in keys and "metadata/Lin_Reg.json" in keys
    assert "versions/Lin_Reg/v1.pkl" in keys and "versions/Lin_Reg/v1.json" in keys
    assert "versions/Lin_Reg/history.jsonl" in keys
    assert not [k for k in keys if ".tuidash-tmp-" in k or ".tuidash-pending-" in k]
    assert ".tuidash.lock" not in keys  # released
    doc = json.loads(s3_fs.cat_file(_key(s3_url, "metadata/Lin_Reg.json")))
    assert doc["model_name"] == "Lin Reg" and doc["version"] == 2


def test_listing_costs_the_same_number_of_requests_for_3_or_15_models(s3_url):
    store = ModelPersistence(s3_url)
    for number in range(3):
        store.save_model(f"m{number}", model_data())
    store.list_models(predictions=False)  # the listing index is written
    before = store.backend.requests
    assert len(store.list_models(predictions=False)) == 3
    few = store.backend.requests - before
    for number in range(3, 15):
        store.save_model(f"m{number}", model_data())
    store.list_models(predictions=False)
    before = store.backend.requests
    assert len(store.list_models(predictions=False)) == 15
    assert store.backend.requests - before == few
    # Another process (a new store object) lists from the same index.
    other = ModelPersistence(s3_url)
    before = other.backend.requests
    assert len(other.list_models(predictions=False)) == 15
    assert other.backend.requests - before == few


def test_a_half_written_save_is_never_listed_or_loaded_as_good(s3_url, s3_fs):
    store = ModelPersistence(s3_url)
    store.save_model("Good", model_data())
    # A killed writer's upload (a key no reader lists), and a JSON whose pickle is missing.
    s3_fs.pipe_file(_key(s3_url, "models/.tuidash-tmp-dead.pkl"), b"half a pickle")
    good_doc = s3_fs.cat_file(_key(s3_url, "metadata/Good.json"))
    doc = json.loads(good_doc)
    doc["model_name"] = "Lost"
    doc["model_file"]["name"] = "Lost.pkl"
    s3_fs.pipe_file(_key(s3_url, "metadata/Lost.json"), json.dumps(doc).encode())
    # A JSON whose pickle has the right size but other bytes (torn or replaced).
    doc["model_name"] = "Torn"
    doc["model_file"]["name"] = "Torn.pkl"
    pkl = s3_fs.cat_file(_key(s3_url, "models/Good.pkl"))
    s3_fs.pipe_file(_key(s3_url, "models/Torn.pkl"), bytes(len(pkl)))
    s3_fs.pipe_file(_key(s3_url, "metadata/Torn.json"), json.dumps(doc).encode())

    listed = ModelPersistence(s3_url)
    assert [e["name"] for e in listed.list_saved_models()] == ["Good", "Torn"]
    problems = {p["name"]: p["reason"] for p in listed.get_storage_info()["problems"]}
    assert problems == {"Lost": "its pickle file is missing"}
    assert listed.load_model("Torn") is None
    assert "does not match the checksum" in (listed.last_error or "")
    assert listed.load_model("Good") is not None
    problems = {p["name"] for p in listed.get_storage_info()["problems"]}
    assert problems == {"Lost", "Torn"}


def test_a_killed_writers_leftovers_go_after_the_grace_period(s3_url, s3_fs, monkeypatch):
    ModelPersistence(s3_url).save_model("Good", model_data())
    leftover = _key(s3_url, "models/.tuidash-tmp-dead.pkl")
    s3_fs.pipe_file(leftover, b"half a pickle")
    ModelPersistence(s3_url)  # within the grace period: its writer may be alive
    assert s3_fs.exists(leftover)
    monkeypatch.setattr(remote, "LEFTOVER_GRACE_SECONDS", 0.0)
    ModelPersistence(s3_url)
    assert not s3_fs.exists(leftover)
    assert ModelPersistence(s3_url).load_model("Good") is not None


def test_a_save_that_loses_a_race_says_so_and_overwrites_nothing(s3_url, s3_fs):
    store = ModelPersistence(s3_url)
    store.save_model("Forest", model_data())
    meta = _key(s3_url, "metadata/Forest.json")
    theirs = json.loads(s3_fs.cat_file(meta))
    theirs["note"] = "written by another process"
    write_new = store.backend.write_new

    def other_process_commits_first(key, data):
        write_new(key, data)
        if ".tuidash-pending-" in key:  # after this save read the JSON, before it commits
            s3_fs.pipe_file(meta, json.dumps(theirs).encode())

    store.backend.write_new = other_process_commits_first  # type: ignore[method-assign]
    with pytest.raises(StoreWriteError) as raised:
        store.save("Forest", model_data(params={"v": 2}))
    assert raised.value.message == (
        "Could not save model 'Forest': another tuidash process changed it at the same "
        "time. Nothing was changed."
    )
    assert json.loads(s3_fs.cat_file(meta))["note"] == "written by another process"


def test_the_lock_is_held_by_one_process_and_a_dead_ones_lock_expires(s3_url, s3_fs, monkeypatch):
    first, second = RemoteBackend(s3_url), RemoteBackend(s3_url)
    with first.lock(5), pytest.raises(LockTimeout), second.lock(0):
        pass
    with second.lock(0):  # released
        pass
    # A writer killed while holding the lock: its object stays until its lease runs out.
    s3_fs.pipe_file(_key(s3_url, ".tuidash.lock"), b'{"pid": 1}')
    with pytest.raises(LockTimeout), second.lock(0):
        pass
    monkeypatch.setattr(remote_lock, "LEASE_SECONDS", 0.5)
    time.sleep(1.1)
    with second.lock(2):
        pass


def test_a_conditional_replace_never_overwrites_what_another_wrote(s3_url, s3_fs):
    backend = RemoteBackend(s3_url)
    backend.write_atomic("metadata/a.json", b'{"mine": 1}')
    with backend.lock(5):
        backend.read("metadata/a.json")
        s3_fs.pipe_file(_key(s3_url, "metadata/a.json"), b'{"theirs": 1}')
        backend.write_new("metadata/.tuidash-tmp-x", b'{"mine": 2}')
        with pytest.raises(WriteConflict):
            backend.replace("metadata/.tuidash-tmp-x", "metadata/a.json")
    assert s3_fs.cat_file(_key(s3_url, "metadata/a.json")) == b'{"theirs": 1}'
    with pytest.raises(FileExistsError):  # write_new never replaces
        backend.write_new("metadata/a.json", b"{}")


def test_loading_after_a_restart_reads_the_cache_not_the_network(s3_url, s3_fs):
    ModelPersistence(s3_url).save_model("Forest", model_data(fitted("random_forest")))
    events: list[tuple[str, str, int, int]] = []
    cold = ModelPersistence(s3_url)
    cold.backend.progress = lambda *event: events.append(event)
    assert cold.load_model("Forest") is not None, cold.last_error
    downloads = [e for e in events if e[0] == "download"]
    assert downloads and downloads[-1][2] == downloads[-1][3] > 0
    events.clear()
    warm = ModelPersistence(s3_url)
    warm.backend.progress = lambda *event: events.append(event)
    assert warm.load_model("Forest") is not None, warm.last_error
    assert not [e for e in events if e[0] == "download"]
    digest = json.loads(s3_fs.cat_file(_key(s3_url, "metadata/Forest.json")))["model_file"]
    cached = Path(os.environ["TUIDASH_CACHE_DIR"], "objects", digest["xxh3_128"][:2])
    assert (cached / digest["xxh3_128"]).stat().st_size == digest["bytes"]


def test_a_damaged_cached_pickle_is_downloaded_again(s3_url, s3_fs):
    ModelPersistence(s3_url).save_model("Forest", model_data())
    for path in Path(os.environ["TUIDASH_CACHE_DIR"], "objects").glob("*/*"):
        path.write_bytes(b"garbage")
    store = ModelPersistence(s3_url)
    assert store.load_model("Forest") is not None, store.last_error


def test_the_download_cache_keeps_under_its_cap(tmp_path):
    cache = DownloadCache(tmp_path / "cache", max_bytes=250)
    for number in range(4):
        source = tmp_path / f"f{number}"
        source.write_bytes(bytes(100))
        cache.adopt(source, f"{number:02d}digest")
        time.sleep(0.01)  # distinct use times: the oldest goes first
    kept = sorted(p.name for p in (tmp_path / "cache" / "objects").glob("*/*"))
    assert kept == ["02digest", "03digest"]


def test_uploads_report_progress_up_to_their_size(s3_url):
    store = ModelPersistence(s3_url)
    events: list[tuple[str, str, int, int]] = []
    store.backend.progress = lambda *event: events.append(event)
    store.save_model("Forest", model_data(fitted("random_forest")))
    uploads = [e for e in events if e[0] == "upload"]
    assert uploads and uploads[-1][2] == uploads[-1][3] > 0
    assert all(e[1].startswith("models/.tuidash-tmp-") for e in uploads)  # never listed


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_store_is_one_sentence_and_changes_nothing(s3_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    store = ModelPersistence("s3://nowhere/models")  # opening does not fail
    with pytest.raises(StoreError) as raised:
        store.list_models()
    assert raised.value.message.startswith("Could not reach s3://nowhere/models: ")
    assert raised.value.message.endswith("; nothing was changed.")
    with pytest.raises(StoreWriteError) as raised:
        store.save("Forest", model_data())
    assert raised.value.message == (
        "Could not reach s3://nowhere/models: the connection failed; nothing was changed."
    )


def test_a_local_store_synced_to_s3_opens_there_and_back(tmp_path, s3_url, s3_fs, monkeypatch):
    local = ModelPersistence(tmp_path / "saved_models")
    local.save_model("Forest", model_data())
    local.save_model("Forest", model_data(params={"v": 2}))
    local.set_alias("Forest", "champion", 1)
    local.save_model("Ridge", model_data())
    # `aws s3 sync saved_models s3://...`: every file under the same key.
    s3_fs.put(f"{tmp_path / 'saved_models'}/", s3_url.removeprefix("s3://"), recursive=True)
    assert s3_fs.info(_key(s3_url, ".tuidash.lock"))["size"] == 0  # the local lock file came too
    there = ModelPersistence(s3_url)
    assert sorted(e["name"] for e in there.list_saved_models()) == ["Forest", "Ridge"]
    assert there.load_model("Forest@champion")["version"] == 1
    # The copied lock file is nobody's lock: the save takes it though its lease (an hour
    # here) has not run out; were it taken for a writer's, the save would time out.
    monkeypatch.setattr(remote_lock, "LEASE_SECONDS", 3600.0)
    assert there.save_model("Forest", model_data(params={"v": 3}))[0]
    # And back: `aws s3 sync s3://... copy`.
    s3_fs.get(f"{s3_url.removeprefix('s3://')}/", str(tmp_path / "copy"), recursive=True)
    back = ModelPersistence(tmp_path / "copy")
    assert [row["version"] for row in back.list_versions("Forest")] == [1, 2, 3]
    assert back.load_model("Forest")["params"] == {"v": 3}
    assert back.get_storage_info()["problems"] == []


def test_a_memory_url_goes_through_the_same_code(tmp_path, monkeypatch):
    pytest.importorskip("fsspec")
    monkeypatch.setenv("TUIDASH_CACHE_DIR", str(tmp_path / "cache"))
    store = ModelPersistence(f"memory://tuidash-test-{os.getpid()}-{time.time_ns()}/store")
    assert store.remote
    store.save_model("Forest", model_data())
    store.save_model("Forest", model_data(params={"v": 2}))
    assert store.load_model("Forest@v1")["version"] == 1
    assert [e["versions"] for e in store.list_saved_models()] == [2]


def test_storage_options_are_key_value_pairs_with_json_values():
    assert parse_storage_options(["anon=true", "client_kwargs.region_name=eu-west-1"]) == {
        "anon": True,
        "client_kwargs": {"region_name": "eu-west-1"},
    }
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        parse_storage_options(["anon"])


def _tuidash(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tuidash", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_round_trip_train_into_s3_list_predict_export(s3_url, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    trained = _tuidash(
        env,
        "train",
        "sample",
        "--target",
        "target",
        "--model",
        "ridge",
        "--name",
        "Lin Reg",
        "--store",
        s3_url,
        "--json",
    )
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["name"] == "Lin Reg"
    env["TUIDASH_STORE"] = s3_url  # the same store, named by the environment
    listed = _tuidash(env, "models", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert document["store"] == s3_url
    assert [row["name"] for row in document["models"]] == ["Lin Reg"]
    out = tmp_path / "predictions.csv"
    predicted = _tuidash(env, "predict", "Lin Reg", "sample", "-o", str(out))
    assert predicted.returncode == 0, predicted.stderr
    assert out.read_text().splitlines()[0].endswith(",prediction")
    exported = _tuidash(env, "models", "export", "Lin Reg", str(tmp_path / "exported"))
    assert exported.returncode == 0, exported.stderr
    assert sorted(p.name for p in (tmp_path / "exported").iterdir()) == [
        "Lin_Reg.json",
        "Lin_Reg.pkl",
    ]
    storage = _tuidash(env, "storage")
    assert f"Store       {s3_url}  (remote)" in storage.stdout
    missing = _tuidash(env, "models", "list", "--store", "s3://no-such-bucket/x")
    assert missing.returncode == 1
    assert "the bucket no-such-bucket does not exist" in missing.stderr
    env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{_closed_port()}"
    down = _tuidash(env, "models", "list")
    assert down.returncode == 1
    assert down.stderr.strip() == (
        f"tuidash: Could not reach {s3_url}: the connection failed; nothing was changed."
    )


# --------------------------------------------------------------------------- jobs


def _follow(jobs: Any, job_id: str) -> Any:
    """Poll a job's watcher to its end (a guard against a hang, not a time limit)."""
    watcher = jobs.attach(job_id)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        update = watcher.poll()
        if update.done:
            return update
        time.sleep(0.1)
    pytest.fail(f"job {job_id} did not end")


def test_a_detached_job_into_s3_saves_there_and_the_jobs_commands_find_it(s3_url, s3_fs, tmp_path):
    from tuidash.core.settings import remote_jobs_dir
    from tuidash.services.jobs import Jobs

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    started = _tuidash(
        env, "train", "sample", "--target", "target", "--model", "ridge", "--name", "Ridge",
        "--store", s3_url, "--detach",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    job_id = started.stdout.strip()
    update = _follow(Jobs(s3_url), job_id)
    assert update.record.state == "finished", update.record
    assert update.record.saved == [{"name": "Ridge", "version": 1}]
    # The records are on this machine (the user's state folder), none in the bucket.
    folder = remote_jobs_dir(s3_url) / job_id
    assert folder.parent.parent == tmp_path / "state" / "tuidash" / "jobs"
    assert (folder / "job.json").is_file()
    assert (folder.parent / "store.txt").read_text().strip() == s3_url
    keys = [k.split("/store/", 1)[1] for k in s3_fs.find(s3_url.removeprefix("s3://"))]
    assert not [k for k in keys if k.startswith("jobs")]
    listed = _tuidash(env, "jobs", "list", "--store", s3_url, "--json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert document["store"] == s3_url
    assert [(j["id"], j["state"]) for j in document["jobs"]] == [(job_id, "finished")]
    shown = _tuidash(env, "jobs", "show", job_id[:15], "--store", s3_url + "/")
    assert shown.returncode == 0 and "Saved as 'Ridge'." in shown.stdout, shown
    models = _tuidash(env, "models", "list", "--store", s3_url, "--json")
    assert [m["name"] for m in json.loads(models.stdout)["models"]] == ["Ridge"]
    store = ModelPersistence(s3_url)
    loaded = store.load_model("Ridge")
    assert loaded is not None and hasattr(loaded["model"], "predict"), store.last_error
    # A local store keeps its jobs in STORE/jobs as before.
    local = Jobs(tmp_path / "local")
    assert local.files.root == tmp_path / "local" / "jobs"


def test_a_job_gets_the_storage_options_in_its_environment_never_on_disk(
    s3_url, s3_env, tmp_path, monkeypatch
):
    """The credentials are only storage options here: the job process reaches the bucket
    with them, and no file of the job holds them."""
    from tuidash.services.jobs import Jobs
    from tuidash.services.workflows import TrainRequest

    secret = "s3cr3t-only-in-options"
    options = {"key": "AKIATESTONLY", "secret": secret, "endpoint_url": s3_env}
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    jobs = Jobs(s3_url, storage_options=options)
    record = jobs.start(TrainRequest(target="target", kind="ridge", source="sample", name="R"))
    update = _follow(jobs, record.id)
    assert update.record.state == "finished", update.record
    for path in jobs.files.root.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
    from tuidash.core.store.remote import open_backend
    from tuidash.core.store.store import ModelStore

    store = ModelStore(s3_url, backend=open_backend(s3_url, options))
    assert [doc["name"] for doc in store.list_models(predictions=False)] == ["R"]


async def test_a_dashboard_on_an_s3_store_sees_another_machines_saves(s3_url):
    from tuidash.services.persistence import PersistenceService, StoreChange

    service = PersistenceService(s3_url)
    try:
        assert service.poll_interval == 15.0  # one LIST per look: not every 2 s
        await service.list_models()
        other = ModelPersistence(s3_url)  # another machine: a store object of its own
        assert other.save_model("From afar", model_data())[0]
        assert await service.poll_changes() == StoreChange(added=("From afar",))
        await service.save("Mine", model_data())
        assert await service.poll_changes() == StoreChange()  # its own save is not news
        assert other.save_model("From afar", model_data(params={"v": 2}))[0]
        assert other.delete_model("Mine")[0]
        change = await service.poll_changes()
        assert change.changed == ("From afar",) and change.removed == ("Mine",)
    finally:
        service.close()


async def test_a_failed_or_empty_look_at_an_s3_store_removes_nothing(s3_url, monkeypatch):
    from tuidash.services.persistence import PersistenceService, StoreChange

    store = ModelPersistence(s3_url)
    assert store.save_model("Kept", model_data())[0]
    service = PersistenceService(s3_url)
    try:
        await service.list_models()
        backend = service.store.backend

        def unreachable(folder: str) -> list[Any]:
            raise remote.StoreUnreachable(110, "timed out")

        monkeypatch.setattr(backend, "scan", unreachable)
        assert await service.poll_changes() == StoreChange()
        monkeypatch.setattr(backend, "scan", lambda folder: [])  # a LIST answered empty
        assert await service.poll_changes() == StoreChange()
        monkeypatch.undo()
        assert "Kept" in [m["name"] for m in await service.list_models()]
        assert store.delete_model("Kept")[0]  # a real removal is still reported
        assert await service.poll_changes() == StoreChange(removed=("Kept",))
    finally:
        service.close()


def test_a_machine_whose_clock_is_an_hour_ahead_never_takes_a_live_lock(s3_url, monkeypatch):
    # The lock's age is read on the store's clock (the HTTP Date of its answer), not this
    # machine's: a clock an hour fast must not make a live writer's lock look expired.
    class HourAhead:  # this machine's clock as the lock module reads it (moto's stays right)
        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        def time(self) -> float:
            return time.time() + 3600

    first, second = RemoteBackend(s3_url), RemoteBackend(s3_url)
    with first.lock(5):
        monkeypatch.setattr(remote_lock, "time", HourAhead())
        with pytest.raises(LockTimeout), second.lock(0.5):
            pass
        monkeypatch.undo()
    with second.lock(0):  # released: the clock never mattered
        pass
