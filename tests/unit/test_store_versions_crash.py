"""Crash at every step of a rename, a roll-back, an alias move and a version's deletion
(issue 12): each is old-or-new, before and after the next start, and no version is lost."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from store_helpers import model_data

from tuidash.core.store import ModelPersistence

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

FUNCTIONS = ["write", "fdatasync", "replace", "link", "unlink"]


def _seed(base: Path) -> None:
    store = ModelPersistence(base)
    for number in (1, 2, 3):
        store.save_model("Old Name", model_data(params={"v": number}))
    store.set_alias("Old Name", "champion", 2)


def _die_at(function: str, index: int, base: Path, action: Callable[[ModelPersistence], Any]):
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
    action(store)


def _run(function: str, step: int, base: Path, action) -> bool:
    """Run ``action`` in a child that dies at the step-th call; True if it died."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _die_at(function, step, base, action)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert code in (0, 3), (function, step, code)
    return code == 3


def _versions(store: ModelPersistence, name: str) -> list[int]:
    """The content ("v" param) of every version of ``name``, oldest first; all must load."""
    out = []
    for row in store.list_versions(name):
        result = store.load_model(row["ref"])
        assert result is not None, store.last_error
        out.append(result["params"]["v"])
    return out


def _each_step(tmp_path: Path, function: str, action, check) -> None:
    if not hasattr(os, function):
        pytest.skip(f"no os.{function} here")
    crashes = 0
    for step in range(40):
        base = tmp_path / f"s{step}"
        _seed(base)
        reader = ModelPersistence(base)
        crashed = _run(function, step, base, action)
        crashes += crashed
        check(reader, (function, step))  # a reader that was running: no clean-up yet
        assert reader.get_storage_info()["problems"] == [], (function, step)
        fresh = ModelPersistence(base)  # the next start
        check(fresh, (function, step))
        assert fresh.get_storage_info()["problems"] == [], (function, step)
        keep = (".tuidash.lock", ".tuidash-index.json")
        assert [p for p in base.rglob(".tuidash-*") if p.name not in keep] == [], (function, step)
        if not crashed:
            break
    else:
        pytest.fail("the action never finished")
    assert crashes >= 1 or function in ("link", "unlink"), function


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_crash_at_every_step_of_a_rename_is_old_or_new(tmp_path, function):
    def check(store: ModelPersistence, where: object) -> None:
        names = [r["name"] for r in store.list_saved_models()]
        assert names in (["Old Name"], ["New Name"]), (where, names)
        [name] = names
        assert _versions(store, name) == [1, 2, 3], where
        assert store.list_saved_models()[0]["aliases"] == {"champion": 2}, where
        assert store.load_model(f"{name}@champion")["params"] == {"v": 2}, where

    _each_step(tmp_path, function, lambda s: s.rename("Old Name", "New Name"), check)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_crash_at_every_step_of_a_rollback_is_old_or_new(tmp_path, function):
    def check(store: ModelPersistence, where: object) -> None:
        assert _versions(store, "Old Name") in ([1, 2, 3], [1, 2, 3, 1]), where

    _each_step(tmp_path, function, lambda s: s.rollback("Old Name", 1), check)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_crash_at_every_step_of_an_alias_move_or_a_version_delete(tmp_path, function):
    def act(store: ModelPersistence) -> None:
        store.set_alias("Old Name", "champion", 3)
        store.delete("Old Name@v2")

    def check(store: ModelPersistence, where: object) -> None:
        aliases = store.list_saved_models()[0]["aliases"]
        assert aliases in ({"champion": 2}, {"champion": 3}), where
        kept = _versions(store, "Old Name")
        assert kept in ([1, 2, 3], [1, 3]), where
        if kept == [1, 3]:
            assert aliases == {"champion": 3}, where

    _each_step(tmp_path, function, act, check)
