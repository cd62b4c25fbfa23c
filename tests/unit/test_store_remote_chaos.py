"""Chaos on one S3 store: two writers, a reader in a loop and a writer killed mid-upload.

Afterwards every listed model loads, none is torn, and every save a writer reported as
done is there (moto's S3 server on 127.0.0.1, see conftest.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tuidash.core.store import ModelPersistence

SAVES = 50
"""Saves per writer, every other one on the shared name."""

WRITER = """
import json, sys
sys.path.insert(0, sys.argv[3])
from store_helpers import model_data
from tuidash.core.store import ModelPersistence
store = ModelPersistence(sys.argv[1])
me = sys.argv[2]
for number in range({saves}):
    name = "Shared" if number % 2 else f"Own {{me}}"
    ok, message = store.save_model(name, model_data(params={{"by": me, "n": number}}))
    print(json.dumps({{"name": name, "ok": ok, "message": message, "n": number}}), flush=True)
"""

READER = """
import json, os, sys, time
from tuidash.core.store import ModelPersistence
store = ModelPersistence(sys.argv[1])
stop = sys.argv[2]
loads = failures = 0
while not os.path.exists(stop):
    for entry in store.list_saved_models(predictions=False):
        result = store.load_model(entry["name"])
        if result is None:
            failures += 1
            print(json.dumps({{"failed": entry["name"], "why": store.last_error}}), flush=True)
        else:
            loads += 1
    time.sleep(0.2)  # a person's reload, not a flood that starves the writers
print(json.dumps({{"loads": loads, "failures": failures}}), flush=True)
"""

KILLED = """
import os, signal, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from store_helpers import fitted, model_data
from tuidash.core.store import ModelPersistence
model = fitted("ridge")
model.steps[-1][1].padding_ = np.random.default_rng(1).random(3_000_000)  # 24 MB: 2 parts
store = ModelPersistence(sys.argv[1])
def progress(what, key, done, total):
    if what == "upload" and done >= total // 2 > 0:
        os.kill(os.getpid(), signal.SIGKILL)  # mid-upload, holding the writer lock
store.backend.progress = progress
store.save_model("Killed", model_data(model))
"""


def _python(code: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_two_writers_a_reader_and_a_killed_writer_leave_every_model_whole(
    s3_url: str, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parents[2]
    helpers = str(Path(__file__).resolve().parent)
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "TUIDASH_LOCK_LEASE": "4",  # a killed writer's lock expires soon
    }
    ModelPersistence(s3_url)  # the store exists before the processes start
    killed = _python(KILLED, s3_url, helpers, env=env)
    assert killed.wait(timeout=600) == -9, killed.stderr.read() if killed.stderr else ""
    stop = tmp_path / "stop"
    reader = _python(READER.format(), s3_url, str(stop), env=env)
    writers = [
        _python(WRITER.format(saves=SAVES), s3_url, me, helpers, env=env) for me in ("A", "B")
    ]
    reports = []
    for writer in writers:
        out, err = writer.communicate(timeout=900)
        assert writer.returncode == 0, err
        reports += [json.loads(line) for line in out.splitlines()]
    stop.touch()
    out, err = reader.communicate(timeout=300)
    assert reader.returncode == 0, err
    reader_lines = [json.loads(line) for line in out.splitlines()]
    assert reader_lines[-1]["loads"] > 0

    saved = [r for r in reports if r["ok"]]
    refused = [r for r in reports if not r["ok"]]
    assert len(saved) + len(refused) == 2 * SAVES
    # A save that did not happen says so in a sentence (a lock wait that ran out).
    assert all(r["message"].endswith(".") for r in refused)

    store = ModelPersistence(s3_url)
    listed = {e["name"]: e for e in store.list_saved_models(predictions=False)}
    assert store.get_storage_info()["problems"] == []
    assert "Killed" not in listed  # never committed, never listed
    for name in listed:
        assert store.load_model(name) is not None, store.last_error
    for name in ("Own A", "Own B", "Shared"):
        reported = [r for r in saved if r["name"] == name]
        versions = store.list_versions(name)
        assert len(versions) == len(reported)  # none lost, none extra
        for row in versions:
            assert store.load_model(f"{name}@v{row['version']}") is not None, store.last_error
    # What the reader could not load was a save in flight, never a good model it skipped.
    for line in reader_lines[:-1]:
        assert "could not be read" not in line["why"]
