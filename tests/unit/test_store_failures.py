"""Write failures (issue 2, item 2): os.write / os.fsync / os.replace failing at any call
of a save (disk full) leave the store exactly as it was, with no temp file."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from store_helpers import files_under, model_data

from tuidash.core.store import ModelPersistence, StoreWriteError
from tuidash.core.store import durable as store_module


class _FailNth:
    """Wrap an os function so its n-th call (0-based) raises ENOSPC; count calls."""

    def __init__(self, real: Callable[..., Any], fail_at: int | None) -> None:
        self.real = real
        self.fail_at = fail_at
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        index = self.calls
        self.calls += 1
        if index == self.fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.real(*args, **kwargs)


def _count_calls(monkeypatch, base: Path, function: str, replace: bool) -> int:
    counter = _FailNth(getattr(os, function), None)
    monkeypatch.setattr(store_module.os, function, counter)
    ModelPersistence(base).save_model("probe", model_data(), replace=replace)
    monkeypatch.setattr(store_module.os, function, counter.real)
    return counter.calls


def _state(base: Path) -> dict[str, bytes]:
    return {k: v for k, v in files_under(base).items() if not k.endswith("index.json")}


SYNC = "fdatasync" if hasattr(os, "fdatasync") else "fsync"


@pytest.mark.parametrize("function", ["write", SYNC, "fsync", "replace"])
@pytest.mark.parametrize("overwrite", [False, True], ids=["new-name", "overwrite"])
def test_a_failing_call_anywhere_in_a_save_leaves_the_store_as_before(
    tmp_path, monkeypatch, function, overwrite
):
    counting = tmp_path / "counting"
    if overwrite:
        ModelPersistence(counting).save_model("probe", model_data())
    calls = _count_calls(monkeypatch, counting, function, replace=overwrite)
    assert calls >= 2, f"a save should call os.{function} more than once"  # files / folders

    base = tmp_path / "store"
    store = ModelPersistence(base)
    store.save_model("other", model_data(params={"tag": "other"}))
    name = "victim"
    if overwrite:
        store.save_model(name, model_data(params={"tag": "old"}))
    for fail_at in range(calls):
        before = _state(base)
        failing = _FailNth(getattr(os, function), fail_at)
        monkeypatch.setattr(store_module.os, function, failing)
        try:
            ok, message = store.save_model(name, model_data(params={"tag": "new"}), replace=True)
        finally:
            monkeypatch.setattr(store_module.os, function, failing.real)
        assert not ok, (function, fail_at)
        assert "disk is full" in message and "Nothing was changed" in message
        assert _state(base) == before, (function, fail_at)
        leftovers = [p for p in base.rglob(".tuidash-*") if p.name != ".tuidash.lock"]
        assert [p for p in leftovers if not p.name.endswith("index.json")] == []
        listed = {e["name"]: e["params"]["tag"] for e in store.list_saved_models()}
        assert listed == ({"other": "other", name: "old"} if overwrite else {"other": "other"})
        assert store.get_storage_info()["problems"] == []
    # After the disk has room again the save works.
    assert store.save_model(name, model_data(params={"tag": "new"}), replace=True)[0]
    assert store.load_model(name)["params"] == {"tag": "new"}


def test_typed_save_raises_store_write_error(tmp_path, monkeypatch):
    store = ModelPersistence(tmp_path / "store")
    monkeypatch.setattr(store_module.os, SYNC, _FailNth(getattr(os, SYNC), 0))
    with pytest.raises(StoreWriteError) as caught:
        store.save("m", model_data())
    assert "disk is full" in caught.value.message
