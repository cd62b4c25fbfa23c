"""PersistenceService: the async facade the app uses to list, load, save and watch models."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import subprocess
import sys
import textwrap
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tuidash.core.store import ModelExists, ModelPersistence, StoreError, stem
from tuidash.services.persistence import (
    LoadFinished,
    LoadProgress,
    PersistenceService,
    ServiceError,
    StoreChange,
    available_memory_bytes,
)

NAMES = ["alpha", "bravo", "charlie", "delta"]


@pytest.fixture(autouse=True)
def _unfreeze_gc() -> Iterator[None]:
    """load_all freezes the collector's view of live objects; give other tests it back."""
    yield
    gc.unfreeze()


@pytest.fixture(scope="module")
def model_data() -> dict[str, Any]:
    """One small fitted pipeline in the store's model_data shape (fitted once per module)."""
    import numpy as np
    import pandas as pd

    from tuidash.core.training import build_pipeline

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    target = 2 * frame["a"] - frame["b"] + rng.normal(scale=0.1, size=60)
    pipeline = build_pipeline("linear_regression", None, ["a", "b"], [])
    pipeline.fit(frame, target)
    predicted = pipeline.predict(frame)
    return {
        "model": pipeline,
        "metrics": {"MAE": 0.1, "MSE": 0.01, "RMSE": 0.1, "MAPE": 0.2, "R2": 0.99},
        "params": {},
        "predictions": {
            "y_pred": [float(v) for v in predicted[:10]],
            "y_test": [float(v) for v in target[:10]],
            "feature_importance": None,
        },
        "model_type": "linear_regression",
        "task": "regression",
    }


def _fill(store_dir: Path, data: dict[str, Any], names: list[str]) -> None:
    store = ModelPersistence(store_dir)
    for name in names:
        ok, message = store.save_model(name, data)
        assert ok, message


@pytest.fixture
def store_dir(tmp_path: Path, model_data: dict[str, Any]) -> Path:
    """A store with the four NAMES saved in it."""
    folder = tmp_path / "store"
    _fill(folder, model_data, NAMES)
    return folder


def _pkl_path(store_dir: Path, name: str) -> Path:
    path = store_dir / "models" / f"{stem(name)}.pkl"
    assert path.exists(), sorted(p.name for p in (store_dir / "models").iterdir())
    return path


def _corrupt(store_dir: Path, name: str) -> None:
    path = _pkl_path(store_dir, name)
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))


class SpyLoads:
    """Wraps the store's iter_load: records what it yielded, whether it was closed, and can
    hold a model in flight until the test lets it go."""

    def __init__(self, service: PersistenceService, hold_at: int | None = None) -> None:
        self.yielded: list[str] = []
        self.closed = threading.Event()
        self.in_flight = threading.Event()
        self.release = threading.Event()
        self.hold_at = hold_at
        original = service.store.iter_load

        def iter_load(names: Any = None) -> Iterator[Any]:
            inner = original(names)
            try:
                for index, event in enumerate(inner):
                    if index == self.hold_at:
                        self.in_flight.set()
                        self.release.wait(10)
                    self.yielded.append(event.name)
                    yield event
            finally:
                inner.close()
                self.closed.set()

        service.store.iter_load = iter_load  # type: ignore[method-assign]


async def _collect(service: PersistenceService, **kwargs: Any) -> list[Any]:
    return [event async for event in service.load_all(**kwargs)]


# --- listing ------------------------------------------------------------------------------


async def test_list_models_shows_every_model_with_its_metrics(store_dir: Path) -> None:
    service = PersistenceService(store_dir)
    models = await service.list_models()
    assert sorted(entry["name"] for entry in models) == sorted(NAMES)
    assert all(entry["metrics"]["R2"] == pytest.approx(0.99) for entry in models)
    assert service.loaded == {}  # listing never loads a model object
    service.close()


def test_list_models_imports_neither_sklearn_nor_textual(store_dir: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, json, sys
        from tuidash.services.persistence import PersistenceService
        service = PersistenceService({str(store_dir)!r})
        models = asyncio.run(service.list_models())
        service.close()
        heavy = sorted(m for m in sys.modules
                       if m.split(".")[0] in {{"sklearn", "textual", "pandas", "scipy"}})
        print(json.dumps({{"names": sorted(m["name"] for m in models), "heavy": heavy}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["names"] == sorted(NAMES)
    assert report["heavy"] == []


# --- load_all -----------------------------------------------------------------------------


async def test_load_all_reports_each_model_in_order_then_finishes(store_dir: Path) -> None:
    service = PersistenceService(store_dir)
    listed = [entry["name"] for entry in await service.list_models()]
    events = await _collect(service)
    progress, finished = events[:-1], events[-1]
    assert [type(e) for e in progress] == [LoadProgress] * len(NAMES)
    assert [e.done for e in progress] == [1, 2, 3, 4]
    assert {e.total for e in progress} == {4}
    assert [e.name for e in progress] == listed
    assert all(e.ok and e.problem is None for e in progress)
    assert progress[-1].fraction == 1.0
    assert isinstance(finished, LoadFinished)
    assert (finished.loaded, finished.failed, finished.skipped) == (4, 0, ())
    assert finished.message == "4 models loaded."
    assert sorted(service.loaded) == sorted(NAMES)
    assert hasattr(service.loaded["alpha"]["model"], "predict")
    service.close()


async def test_a_bad_model_is_one_problem_event_and_the_others_load(store_dir: Path) -> None:
    _corrupt(store_dir, "bravo")
    service = PersistenceService(store_dir)
    events = await _collect(service)
    progress, finished = events[:-1], events[-1]
    assert len(progress) == 4
    bad = [e for e in progress if not e.ok]
    assert [e.name for e in bad] == ["bravo"]
    assert bad[0].problem  # the store's reason, a sentence
    assert sorted(service.loaded) == ["alpha", "charlie", "delta"]
    assert (finished.loaded, finished.failed) == (3, 1)
    assert finished.failures[0][0] == "bravo"
    assert "1 could not be loaded" in finished.message
    with pytest.raises(StoreError) as caught:
        await service.load("bravo")
    assert caught.value.message
    service.close()


async def test_breaking_out_stops_loading_and_closes_the_store_generator(
    store_dir: Path,
) -> None:
    service = PersistenceService(store_dir)
    spy = SpyLoads(service)
    async with contextlib.aclosing(service.load_all()) as events:
        async for event in events:
            assert isinstance(event, LoadProgress)
            break
    await asyncio.to_thread(spy.closed.wait, 10)
    assert spy.closed.is_set()
    assert len(spy.yielded) == 1
    assert list(service.loaded) == spy.yielded
    service.close()


async def test_cancelling_the_task_stops_after_the_model_in_flight(store_dir: Path) -> None:
    service = PersistenceService(store_dir)
    spy = SpyLoads(service, hold_at=1)  # the second model stays in flight until released
    seen: list[Any] = []

    async def consume() -> None:
        async for event in service.load_all():
            seen.append(event)

    task = asyncio.create_task(consume())
    await asyncio.to_thread(spy.in_flight.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    spy.release.set()
    await asyncio.to_thread(spy.closed.wait, 10)
    assert spy.closed.is_set()
    assert len(seen) == 1 and isinstance(seen[0], LoadProgress)
    assert len(spy.yielded) <= 2  # the first, and at most the one in flight
    assert list(service.loaded) == [seen[0].name]  # the one in flight was dropped
    service.close()


async def test_a_plain_break_also_closes_the_store_generator(store_dir: Path) -> None:
    service = PersistenceService(store_dir)
    spy = SpyLoads(service)
    async for _event in service.load_all():
        break
    for _ in range(5):  # asyncio closes an abandoned async generator on a later tick
        await asyncio.sleep(0)
    await asyncio.to_thread(spy.closed.wait, 10)
    assert spy.closed.is_set()
    assert len(service.loaded) == 1
    service.close()


async def test_broken_entries_come_last_as_problem_events(store_dir: Path) -> None:
    (store_dir / "metadata" / "zulu.json").write_text("{not json")
    (store_dir / "models" / "orphan.pkl").write_bytes(b"not a pickle")
    service = PersistenceService(store_dir)
    listing = await service.listing()
    assert sorted(m["name"] for m in listing.models) == sorted(NAMES)
    assert sorted(p["name"] for p in listing.problems) == ["orphan", "zulu"]
    events = await _collect(service)
    progress, finished = events[:-1], events[-1]
    assert [e.done for e in progress] == list(range(1, 7))
    assert {e.total for e in progress} == {6}
    assert [e.ok for e in progress] == [True] * 4 + [False] * 2
    assert {e.name for e in progress[4:]} == {"orphan", "zulu"}
    assert all(e.problem for e in progress[4:])
    assert (finished.loaded, finished.failed) == (4, 2)
    assert finished.message == "4 models loaded; 2 could not be loaded — see Storage."
    message = await service.remove_entry("zulu")
    assert "zulu" in message
    assert [p["name"] for p in (await service.listing()).problems] == ["orphan"]
    service.close()


async def test_unload_frees_the_model_even_with_the_collector_frozen(store_dir: Path) -> None:
    service = PersistenceService(store_dir)  # freeze_gc=True by default
    events = await _collect(service)
    assert events[-1].loaded == 4
    assert gc.get_freeze_count() > 0  # full collections no longer walk what was loaded
    model = weakref.ref(service.loaded["alpha"]["model"])
    assert service.unload("alpha") is True
    assert service.unload("alpha") is False
    for _ in range(5):  # the loop's last callback may hold the final event for a tick
        await asyncio.sleep(0)
    assert model() is None  # reference counting freed it; nothing else holds it
    assert "alpha" not in service.loaded
    assert service.memory_in_use > 0
    service.close()


async def test_a_store_generator_that_raises_costs_one_model_not_the_rest(
    store_dir: Path,
) -> None:
    service = PersistenceService(store_dir)
    original = service.store.iter_load
    calls: list[list[str]] = []

    def flaky(names: Any = None) -> Iterator[Any]:
        calls.append(list(names))
        for index, event in enumerate(original(names)):
            if len(calls) == 1 and index == 1:
                raise RuntimeError("disk on fire")
            yield event

    service.store.iter_load = flaky  # type: ignore[method-assign]
    events = await _collect(service)
    progress, finished = events[:-1], events[-1]
    assert [e.done for e in progress] == [1, 2, 3, 4]
    assert [e.ok for e in progress] == [True, False, True, True]
    assert "disk on fire" in (progress[1].problem or "")
    assert (finished.loaded, finished.failed) == (3, 1)
    assert len(calls) == 2 and calls[1] == calls[0][2:]
    service.close()


async def test_two_load_all_runs_at_once_load_each_model_once(store_dir: Path) -> None:
    service = PersistenceService(store_dir)
    first, second = await asyncio.gather(_collect(service), _collect(service))
    assert first[-1].loaded + second[-1].loaded == 4
    assert sorted(service.loaded) == sorted(NAMES)
    service.close()


async def test_load_all_skips_models_already_loaded(store_dir: Path) -> None:
    service = PersistenceService(store_dir)
    await service.load("charlie")
    events = await _collect(service)
    assert {e.name for e in events[:-1]} == set(NAMES) - {"charlie"}
    assert {e.total for e in events[:-1]} == {3}
    assert events[-1].loaded == 3
    service.close()


# --- memory budget ------------------------------------------------------------------------


async def test_memory_budget_stops_loading_with_a_message_and_load_still_works(
    store_dir: Path,
) -> None:
    probe = PersistenceService(store_dir)
    entries = await probe.list_models()
    probe.close()
    one = max(int(e.get("pkl_bytes") or e["size_bytes"]) for e in entries) * 2
    service = PersistenceService(store_dir, memory_budget_bytes=int(one * 2.5), size_factor=2.0)
    events = await _collect(service)
    progress, finished = events[:-1], events[-1]
    assert len(progress) == 2 and all(e.ok for e in progress)
    assert progress[-1].total == 4  # the bar shows that not everything was loaded
    assert finished.budget_stopped
    assert len(finished.skipped) == 2
    assert "memory budget" in finished.message
    assert "2 models stay listed and load when opened" in finished.message
    assert len(await service.list_models()) == 4  # the rest stay listed
    result = await service.load(finished.skipped[0])  # and load on demand
    assert hasattr(result["model"], "predict")
    assert finished.skipped[0] in service.loaded
    service.close()


async def test_a_tiny_budget_loads_nothing_and_says_why(store_dir: Path) -> None:
    service = PersistenceService(store_dir, memory_budget_bytes=10)
    events = await _collect(service)
    assert len(events) == 1
    finished = events[0]
    assert isinstance(finished, LoadFinished)
    assert finished.loaded == 0 and len(finished.skipped) == 4
    assert finished.message.startswith("0 models loaded; stopped before")
    assert service.loaded == {}
    service.close()


def test_default_budget_is_a_fraction_of_available_memory(tmp_path: Path) -> None:
    available = available_memory_bytes()
    assert available is not None and available > 0  # Linux: /proc/meminfo
    service = PersistenceService(tmp_path / "s", memory_fraction=0.5)
    assert 0 < service.memory_budget_bytes <= available
    assert service.memory_budget_bytes == pytest.approx(available * 0.5, rel=0.2)
    service.close()


# --- writes -------------------------------------------------------------------------------


async def test_save_delete_clear_and_report_through_the_service(
    tmp_path: Path, model_data: dict[str, Any]
) -> None:
    service = PersistenceService(tmp_path / "s")
    message = await service.save("first", model_data)
    assert "first" in message
    await service.save("second", model_data)
    # A taken name gets a new version (the earlier one is kept); another case is refused.
    assert "saved as version 2" in await service.save("first", model_data)
    with pytest.raises(ModelExists) as exists:
        await service.save("FIRST", model_data)
    assert "already exists" in exists.value.message
    assert "saved as version 3" in await service.save("first", model_data, replace=True)

    report = await service.storage_report()
    assert report["model_count"] == 2
    assert Path(report["base_dir"]).is_absolute()
    assert report["problems"] == []

    await service.load("first")
    message = await service.delete("first")
    assert "first" in message
    assert "first" not in service.loaded
    assert [m["name"] for m in await service.list_models()] == ["second"]
    with pytest.raises((StoreError, ServiceError)) as missing:
        await service.delete("first")
    assert missing.value.message

    await service.load("second")
    await service.clear_all()
    assert service.loaded == {}
    assert await service.list_models() == []
    assert (await service.storage_report())["model_count"] == 0
    service.close()


async def test_bad_name_is_a_typed_error_with_a_sentence(
    tmp_path: Path, model_data: dict[str, Any]
) -> None:
    service = PersistenceService(tmp_path / "s")
    with pytest.raises((StoreError, ServiceError)) as caught:
        await service.save("../escape", model_data)
    assert caught.value.message.endswith(".")
    assert not (tmp_path / "escape.pkl").exists()
    service.close()


async def test_writes_never_overlap(tmp_path: Path, model_data: dict[str, Any]) -> None:
    service = PersistenceService(tmp_path / "s")
    active = 0
    most = 0
    guard = threading.Lock()

    def counted(func: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal active, most
            with guard:
                active += 1
                most = max(most, active)
            try:
                return func(*args, **kwargs)
            finally:
                with guard:
                    active -= 1

        return wrapper

    for method in ("save", "save_model", "delete_model"):
        if hasattr(service.store, method):
            setattr(service.store, method, counted(getattr(service.store, method)))

    await asyncio.gather(
        *(service.save(f"m{i}", model_data) for i in range(6)),
        service.save("gone", model_data),
    )
    await asyncio.gather(service.delete("gone"), service.save("m6", model_data))
    assert most == 1
    assert len(await service.list_models()) == 7
    service.close()


def test_autoload_setting_is_kept_per_store_and_survives_clear(tmp_path: Path) -> None:
    service = PersistenceService(tmp_path / "s")
    assert service.autoload_setting is None
    service.set_autoload(False)
    assert PersistenceService(tmp_path / "s").autoload_setting is False
    asyncio.run(service.clear_all())
    assert service.autoload_setting is False
    service.set_autoload(True)
    assert service.autoload_setting is True
    assert [p.name for p in (tmp_path / "s").iterdir() if "tmp" in p.name] == []
    service.close()


async def test_a_closed_service_says_so(store_dir: Path) -> None:
    service = PersistenceService(store_dir)
    service.close()
    with pytest.raises(ServiceError) as caught:
        await service.list_models()
    assert "closed" in caught.value.message
    with pytest.raises(ServiceError):
        await _collect(service)


# --- external changes ---------------------------------------------------------------------


async def test_changes_by_another_process_are_noticed(
    store_dir: Path, model_data: dict[str, Any]
) -> None:
    service = PersistenceService(store_dir)
    await service.list_models()
    await service.load("alpha")
    await service.load("bravo")
    assert await service.poll_changes() == StoreChange()

    script = textwrap.dedent(
        f"""
        import pickle, sys
        from tuidash.core.store import ModelPersistence
        data = pickle.loads(sys.stdin.buffer.read())
        store = ModelPersistence({str(store_dir)!r})
        assert store.save_model("echo", data)[0]
        assert store.save_model("alpha", data, replace=True)[0]
        assert store.delete_model("bravo")[0]
        """
    )
    import pickle

    subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(model_data),
        check=True,
        timeout=120,
        capture_output=True,
    )
    change = await service.poll_changes()
    assert change.added == ("echo",)
    assert change.changed == ("alpha",)
    assert change.removed == ("bravo",)
    assert "alpha" not in service.loaded and "bravo" not in service.loaded  # stale objects
    assert await service.poll_changes() == StoreChange()  # reported once
    service.close()


async def test_own_writes_are_not_reported_as_external(
    store_dir: Path, model_data: dict[str, Any]
) -> None:
    service = PersistenceService(store_dir)
    await service.list_models()
    await service.save("new one", model_data)
    await service.delete("delta")
    assert not await service.poll_changes()
    service.close()


async def test_watch_yields_a_change_written_by_another_thread(
    store_dir: Path, model_data: dict[str, Any]
) -> None:
    service = PersistenceService(store_dir, poll_interval=0.02)
    await service.list_models()
    other = ModelPersistence(store_dir)

    def write_later() -> None:
        other.save_model("from thread", model_data)

    async def first_change() -> StoreChange:
        async for change in service.watch():
            return change
        raise AssertionError("watch ended")

    watcher = asyncio.create_task(first_change())
    await asyncio.sleep(0.05)
    await asyncio.to_thread(write_later)
    change = await asyncio.wait_for(watcher, timeout=30)
    assert change.added == ("from thread",)
    service.close()


async def test_a_deleted_store_folder_reports_every_model_removed(store_dir: Path) -> None:
    import shutil

    service = PersistenceService(store_dir)
    await service.list_models()
    shutil.rmtree(store_dir)
    change = await service.poll_changes()
    assert sorted(change.removed) == sorted(NAMES)
    service.close()


# --- the log ----------------------------------------------------------------------------------


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The tuidash log turned on into this test's folder, and off again afterwards."""
    from tuidash.core import logs

    setup = logs.setup_logging("debug", {"TUIDASH_LOG_DIR": str(tmp_path / "logs")})
    yield setup.path
    logs.reset_logging()


async def test_saves_loads_deletions_and_failures_are_logged(
    tmp_path: Path, model_data: dict[str, Any], log_file: Path
) -> None:
    service = PersistenceService(tmp_path / "s")
    base = service.base_dir
    await service.save("first", model_data)
    with pytest.raises(ModelExists):
        await service.save("First", model_data)  # would share the files of 'first'
    await service.load("first", reload=True)
    await service.delete("first")
    await service.save("second", model_data)
    _corrupt(base, "second")
    events = await _collect(service)
    assert [e.ok for e in events if isinstance(e, LoadProgress)] == [False]
    await service.clear_all()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the disk caught fire")

    service.store.save = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await service.save("third", model_data)
    service.close()

    lines = log_file.read_text().splitlines()

    def line_with(*words: str) -> str:
        found = [line for line in lines if all(word in line for word in words)]
        assert found, (words, lines)
        return found[0]

    assert " INFO " in line_with(f"saved model 'first' in {base} in ", " s: ")
    assert " WARNING " in line_with("saving model 'First'", "failed", "already exists")
    assert " INFO " in line_with(f"loaded model 'first' from {base} in ")
    assert " INFO " in line_with(f"deleted model 'first' from {base}")
    assert " WARNING " in line_with("could not load model 'second'")
    assert " INFO " in line_with(f"loading models from {base} took ")
    assert " INFO " in line_with(f"cleared {base}")
    # Something that is not a sentence for a person comes with its traceback.
    failed = lines.index(line_with("saving model 'third'", "failed: the disk caught fire"))
    assert " ERROR " in lines[failed]
    assert lines[failed + 1] == "Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: the disk caught fire"


async def test_removing_a_problem_entry_is_logged(
    store_dir: Path, model_data: dict[str, Any], log_file: Path
) -> None:
    (store_dir / "metadata" / "alpha.json").write_text("{broken")
    service = PersistenceService(store_dir)
    listing = await service.listing()
    row = next(p for p in listing.problems if p["name"] == "alpha")
    # The problem row names every file of the entry, so a question can name them too.
    assert sorted(row["files"]) == ["metadata/alpha.json", "models/alpha.pkl"]
    await service.remove_entry("alpha")
    service.close()
    assert not (store_dir / "models" / "alpha.pkl").exists()
    assert f"removed entry 'alpha' (its files) from {store_dir}" in log_file.read_text()


# --- versions ---------------------------------------------------------------------------------


async def test_versions_aliases_and_history_through_the_service(
    tmp_path: Path, model_data: dict[str, Any]
) -> None:
    service = PersistenceService(tmp_path / "s")
    assert await service.save("Big Forest", model_data) == "Saved model 'Big Forest'."
    message = await service.save("Big Forest", {**model_data, "params": {"v": 2}})
    assert message == "Model 'Big Forest' saved as version 2; version 1 is kept as 'Big Forest@v1'."
    rows = await service.list_versions("Big Forest")
    assert [(r["version"], r["latest"]) for r in rows] == [(1, False), (2, True)]

    await service.load("Big Forest")
    await service.load("Big Forest@v1")
    assert "now is version 1" in await service.set_alias("Big Forest", "champion", 1)
    # The latest is unchanged, but an alias may point elsewhere: NAME@... entries go.
    assert "Big Forest@v1" not in service.loaded and "Big Forest" not in service.loaded
    champion = await service.load("Big Forest@champion")
    assert champion["version"] == 1 and "Big Forest@champion" in service.loaded

    assert "version 3 now" in await service.rollback("Big Forest", 1)
    assert "Big Forest@champion" not in service.loaded  # the name's latest changed
    assert (await service.load("Big Forest"))["version"] == 3
    assert "note" in await service.set_note("Big Forest@v2", "the one with more trees")
    assert "tags" in await service.set_tags("Big Forest", ["housing"])
    assert "Removed the alias" in await service.remove_alias("Big Forest", "champion")
    rows = await service.list_versions("Big Forest")
    assert [r["note"] for r in rows] == [None, "the one with more trees", None]
    assert rows[-1]["tags"] == ["housing"]
    events = [e["event"] for e in await service.history("Big Forest")]
    assert events == ["save", "save", "alias", "rollback", "note", "tags", "unalias"]

    summary = await service.deletion_summary("Big Forest")
    assert summary["versions"] == 3 and summary["message"].startswith("Delete 'Big Forest': 3")
    plan = await service.prune("Big Forest", keep=1, dry_run=True)
    assert [r["version"] for r in plan["removed"]] == [1, 2]
    await service.load("Big Forest@v1")
    done = await service.prune("Big Forest", keep=1)
    assert done["removed"] == plan["removed"] and "Big Forest@v1" not in service.loaded

    loaded = await service.load("Big Forest")
    assert "Renamed" in await service.rename("Big Forest", "Forest")
    assert service.loaded["Forest"]["model"] is loaded["model"]
    assert "Big Forest" not in service.loaded
    assert [m["name"] for m in await service.list_models()] == ["Forest"]
    # Own writes are not reported as another process's.
    assert not await service.poll_changes()
    service.close()


async def test_a_change_to_a_models_versions_by_another_process_is_noticed(
    tmp_path: Path, model_data: dict[str, Any]
) -> None:
    service = PersistenceService(tmp_path / "s")
    await service.save("Big Forest", model_data)
    await service.list_models()
    await service.load("Big Forest")
    await service.poll_changes()
    other = ModelPersistence(tmp_path / "s")
    other.save_model("Big Forest", model_data)
    other.save_model("Small Forest", model_data)
    change = await service.poll_changes()
    # Reported by model name, not by file name (Big_Forest.json).
    assert (change.added, change.changed) == (("Small Forest",), ("Big Forest",))
    assert "Big Forest" not in service.loaded
    service.close()
