"""The dashboard on a remote store (``memory://``, the same code as ``s3://``): its URL and
"(remote)" on Storage, large transfers in the status line, an unreachable store as one
sentence while the app keeps running."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from pilot_helpers import wait_for
from textual.widgets import Label, Static

from tuidash.core.store import ModelPersistence
from tuidash.ui import messages as msg
from tuidash.ui.factory import make_app
from tuidash.ui.widgets.load_status import LoadStatus

pytest.importorskip("fsspec")


def _model_data() -> dict[str, Any]:
    from sklearn.dummy import DummyRegressor

    model = DummyRegressor().fit([[0.0], [1.0]], [0.0, 1.0])
    return {"model": model, "metrics": {"R2": 0.5}, "params": {}, "predictions": {}}


@pytest.fixture
def memory_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TUIDASH_CACHE_DIR", str(tmp_path / "cache"))
    return f"memory://tuidash-ui-{os.getpid()}-{time.time_ns()}/store"


async def test_storage_shows_the_url_and_that_the_store_is_remote(memory_url: str) -> None:
    ModelPersistence(memory_url).save_model("Forest", _model_data())
    app = make_app(None, memory_url, autoload=True, start_section="storage")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.store.report is not None, "a report")
        await wait_for(pilot, lambda: "Forest" in app.state.store.loaded, "Forest loaded")
        await pilot.pause()
        summary = str(app.screen.query_one("#storage-summary", Static).render())
        assert f"Location  {memory_url}  (remote)\n" in summary
        assert "Free      unlimited (object storage)\n" in summary
        assert "Models    1 saved, 1 loaded in memory\n" in summary


async def test_a_large_upload_shows_its_progress_in_the_status_line(memory_url: str) -> None:
    app = make_app(None, memory_url, autoload=False, start_section="models")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.service is not None, "the store opened")
        mb = 1024 * 1024
        backend = app.service.store.backend
        backend.progress("upload", "models/.tuidash-tmp-1.pkl", 30 * mb, 100 * mb)
        status = app.screen.query_one(LoadStatus)
        label = status.query_one("#load-text", Label)
        await wait_for(pilot, lambda: "Uploading" in str(label.render()), "upload shown")
        assert str(label.render()) == "Uploading the model 30/100 MB"
        assert status.has_class("-visible")
        backend.progress("upload", "models/.tuidash-tmp-1.pkl", 100 * mb, 100 * mb)
        await wait_for(pilot, lambda: not status.has_class("-visible"), "upload done")
        app.post_message(msg.StoreTransfer("download", "models/Forest.pkl", 5 * mb, 50 * mb))
        await wait_for(pilot, lambda: "Downloading" in str(label.render()), "download shown")
        assert str(label.render()) == "Downloading Forest.pkl 5/50 MB"


async def test_an_unreachable_store_is_one_sentence_and_the_app_runs_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("s3fs")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("TUIDASH_CACHE_DIR", str(tmp_path / "cache"))
    notes: list[str] = []
    app = make_app(None, "s3://nowhere/store", autoload=True, start_section="models")
    async with app.run_test(size=(100, 30)) as pilot:
        original = app.notify

        def notify(message: str, *args: Any, **kwargs: Any) -> None:
            notes.append(message)
            original(message, *args, **kwargs)

        app.notify = notify  # type: ignore[method-assign]
        await wait_for(pilot, lambda: notes, "a notification")
        assert notes[0] == (
            "Could not reach s3://nowhere/store: the connection failed; nothing was changed."
        )
        await pilot.press("d")  # still running: another section opens
        await wait_for(pilot, lambda: app.screen.id == "data" or "Data" in str(app.screen), "d")
