"""Stress (issue 12): 4 processes x 200 alias moves and saves on one name at once; afterwards
the history has every event, the aliases are what the history says, and the store has no
problem."""

from __future__ import annotations

import os
import sys
import time

import pytest
from store_helpers import fitted, model_data

from tuidash.core.store import ModelPersistence

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    pytest.mark.slow,
]

PROCESSES = 4
OPERATIONS = 200
SAVE_EVERY = 5  # 40 saves and 160 alias moves per process


def _worker(base, number: int, start_at: float) -> None:
    store = ModelPersistence(base)
    own = f"p{number}"
    mine = 1
    time.sleep(max(0.0, start_at - time.time()))
    for op in range(OPERATIONS):
        if op % SAVE_EVERY == 0:
            message = store.save(
                "shared", model_data(fitted("dummy"), params={"by": number, "op": op})
            )
            assert "saved as version" in message, message
            saved = int(message.split("saved as version ")[1].split(";")[0])
            store.set_alias("shared", "champion", saved)  # only this process knows it yet
        else:
            mine = 2 if mine == 1 else 1  # always a real move of this process's alias
            store.set_alias("shared", own, mine)


def test_four_processes_moving_aliases_and_saving_lose_no_event(tmp_path):
    base = tmp_path / "store"
    store = ModelPersistence(base)
    store.save("shared", model_data(fitted("dummy"), params={"by": -1, "op": -1}))
    store.save("shared", model_data(fitted("dummy"), params={"by": -1, "op": -2}))
    start_at = time.time() + 0.5
    pids = []
    for number in range(PROCESSES):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _worker(base, number, start_at)
                code = 0
            except BaseException:
                import traceback

                traceback.print_exc(file=sys.stderr)
            finally:
                os._exit(code)
        pids.append(pid)
    assert [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids] == [0] * PROCESSES

    saves_each = OPERATIONS // SAVE_EVERY
    events = store.history("shared")
    saves = [e for e in events if e["event"] == "save"]
    assert [e["version"] for e in saves] == list(range(1, 3 + PROCESSES * saves_each))
    for number in range(PROCESSES):
        moves = [e for e in events if e["event"] == "alias" and e["alias"] == f"p{number}"]
        assert len(moves) == OPERATIONS - saves_each  # every move of its own alias
    champion_moves = [e for e in events if e["event"] == "alias" and e["alias"] == "champion"]
    assert len(champion_moves) == PROCESSES * saves_each  # each pointed at a brand-new version
    # Replaying the history gives the aliases the store has: no move was lost.
    replayed: dict[str, int] = {}
    for event in events:
        if event["event"] == "alias":
            assert event["previous"] == replayed.get(event["alias"])  # moved from what it was
            replayed[event["alias"]] = event["version"]
    [row] = store.list_saved_models()
    assert row["aliases"] == replayed
    assert row["versions"] == 2 + PROCESSES * saves_each
    assert store.get_storage_info()["problems"] == []
    assert [e["params"]["op"] for e in map(store.load_model, ["shared@p0", "shared@v1"])] == [
        -1 if replayed["p0"] == 1 else -2,
        -1,
    ]
