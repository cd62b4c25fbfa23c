"""Training jobs, run as a person runs them: real ``tuidash`` processes, real signals.

A job is a process in its own session that trains and saves through the store; these tests
start it from the CLI, hang up on the CLI, kill the job, cancel it, queue two, and read
what ``tuidash jobs`` says. Timeouts are guards against a hang, never assertions.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tuidash.core import jobs as records
from tuidash.core.jobs import JobFiles, JobRecord
from tuidash.services.jobs import Jobs

REPO = Path(__file__).resolve().parents[2]
GUARD = 240.0
"""Seconds before a wait gives up (a hang), never a limit the behaviour is held to."""
LONG = ("--model", "random_forest", "--param", "n_estimators=2000")
"""A training of many seconds on the sample (cancelled or killed before it ends)."""
SEVERAL_SECONDS = ("--model", "random_forest", "--param", "n_estimators=700")
"""A training of several seconds on the sample."""

pytestmark = pytest.mark.slow


def env() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("TUIDASH_STORE",)}
    environment["PYTHONPATH"] = str(REPO) + os.pathsep + environment.get("PYTHONPATH", "")
    return environment


def tuidash(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m tuidash ARGS --store STORE`` to its end."""
    return subprocess.run(
        [sys.executable, "-m", "tuidash", *args, "--store", str(store)],
        cwd=store.parent,
        env=env(),
        capture_output=True,
        text=True,
        timeout=GUARD,
    )


def start(*args: str, store: Path) -> subprocess.Popen[str]:
    """Start ``python -m tuidash ARGS --store STORE`` in its own process group."""
    return subprocess.Popen(
        [sys.executable, "-m", "tuidash", *args, "--store", str(store)],
        cwd=store.parent,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until it returns something true; fail after the guard."""
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


def listed(store: Path) -> dict[str, dict[str, Any]]:
    """``tuidash jobs list --json`` by job id."""
    result = tuidash("jobs", "list", "--json", store=store)
    assert result.returncode == 0, result.stderr
    return {job["id"]: job for job in json.loads(result.stdout)["jobs"]}


def detach(*args: str, store: Path) -> str:
    """``tuidash train sample --target target ARGS --detach``: the job id it prints."""
    result = tuidash("train", "sample", "--target", "target", *args, "--detach", store=store)
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    assert records.is_job_id(job_id), result.stdout
    return job_id


def training(jobs: Jobs, job_id: str) -> JobRecord | None:
    """The record once the job is fitting (its progress has moved), else None."""
    record = jobs.get(job_id)
    progress = jobs.progress(job_id)
    moving = progress is not None and (progress.fraction or 0) > 0
    return record if record.state == "running" and moving else None


def saved_models(store: Path) -> dict[str, dict[str, Any]]:
    result = tuidash("models", "list", "--json", store=store)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["problems"] == []  # jobs/ is not a model entry
    return {model["name"]: model for model in document["models"]}


# --------------------------------------------------------------------------- processes


def test_a_cli_training_survives_a_hangup_of_its_terminal(store_dir: Path) -> None:
    cli = start(
        "train", "sample", "--target", "target", *SEVERAL_SECONDS, "--name", "Survivor",
        store=store_dir,
    )  # fmt: skip
    jobs = Jobs(store_dir)
    job_id = wait_for(lambda: jobs.files.ids(), "the job to be recorded")[0]
    wait_for(lambda: training(jobs, job_id), "the job to train")
    hung_up = time.time()
    os.killpg(cli.pid, signal.SIGHUP)  # the terminal closes: its process group hangs up
    cli.communicate(timeout=GUARD)
    assert cli.returncode == -signal.SIGHUP
    record = wait_for(lambda: (r := jobs.get(job_id)).ended and r, "the job to end")
    assert record.state == "finished", record
    assert record.ended_at is not None and record.ended_at > hung_up  # it was cut off mid-way
    assert record.saved == [{"name": "Survivor", "version": 1}]
    model = saved_models(store_dir)["Survivor"]
    assert model["metrics"]["R2"] is not None and model["metrics"]["RMSE"] > 0
    shown = tuidash("jobs", "show", job_id, "--json", store=store_dir)
    document = json.loads(shown.stdout)
    assert document["state"] == "finished" and document["result"]["name"] == "Survivor"
    assert document["result"]["metrics"]["R2"] == model["metrics"]["R2"]


def test_a_killed_job_reads_interrupted_and_a_cancelled_one_saves_nothing(
    store_dir: Path,
) -> None:
    jobs = Jobs(store_dir)
    killed = detach(*LONG, "--name", "Killed", store=store_dir)
    record = wait_for(lambda: training(jobs, killed), "the first job to train")
    assert record.pid is not None
    os.kill(record.pid, signal.SIGKILL)
    wait_for(lambda: not records.process_alive(record.pid), "the job process to die")
    job = listed(store_dir)[killed]
    assert job["state"] == "interrupted"
    assert "stopped without finishing" in job["error"]

    cancelled = detach(*LONG, "--name", "Cancelled", store=store_dir)
    record = wait_for(lambda: training(jobs, cancelled), "the second job to train")
    result = tuidash("jobs", "cancel", cancelled[:15], store=store_dir)
    assert result.returncode == 0, result.stderr
    assert f"Cancelled the job {cancelled}; nothing was saved." in result.stdout
    assert not records.process_alive(record.pid)  # stopped by the time cancel returns
    job = listed(store_dir)[cancelled]
    assert job["state"] == "cancelled" and job["saved"] == []
    assert saved_models(store_dir) == {}
    assert not list(store_dir.glob("models/*.pkl"))  # nothing half-written either
    again = tuidash("jobs", "cancel", cancelled, store=store_dir)
    assert "had already ended (cancelled)" in again.stdout


def test_with_a_limit_of_one_the_second_job_waits_queued_then_runs(store_dir: Path) -> None:
    jobs = Jobs(store_dir)
    assert jobs.max_running == 1  # the default: one running job per store
    first = detach(*SEVERAL_SECONDS, "--name", "First", store=store_dir)
    second = detach("--model", "ridge", "--name", "Second", store=store_dir)
    wait_for(lambda: training(jobs, first), "the first job to train")
    assert jobs.get(second).state == "queued"
    assert listed(store_dir)[second]["state"] in ("queued", "running")  # what `jobs` says
    logs = tuidash("jobs", "logs", second, "-f", store=store_dir)  # follows to the end
    assert "finished: Saved as 'Second'." in logs.stdout
    one, two = jobs.get(first), jobs.get(second)
    assert (one.state, two.state) == ("finished", "finished")
    assert two.started_at is not None and one.ended_at is not None
    assert two.started_at >= one.ended_at
    assert set(saved_models(store_dir)) == {"First", "Second"}
    cleaned = tuidash("jobs", "clean", store=store_dir)
    assert "Removed 2 ended jobs" in cleaned.stdout
    assert listed(store_dir) == {} and set(saved_models(store_dir)) == {"First", "Second"}


def test_ctrl_c_of_an_attached_training_cancels_its_job(store_dir: Path) -> None:
    cli = start(
        "train", "sample", "--target", "target", *LONG, "--name", "Stopped", store=store_dir
    )
    jobs = Jobs(store_dir)
    job_id = wait_for(lambda: jobs.files.ids(), "the job to be recorded")[0]
    record = wait_for(lambda: training(jobs, job_id), "the job to train")
    cli.send_signal(signal.SIGINT)
    _, err = cli.communicate(timeout=GUARD)
    assert cli.returncode == 1
    assert err == f"tuidash: Cancelled the job {job_id}; nothing was saved.\n"
    assert jobs.get(job_id).state == "cancelled"
    assert not records.process_alive(record.pid)
    assert "Stopped" not in saved_models(store_dir)


def test_a_sigterm_while_saving_waits_for_the_save(store_dir: Path) -> None:
    """Cancel stops a job outright, except while it saves: then the save ends first (the
    store keeps old-or-new either way) and the job says it finished."""
    script = f"""
import os, signal, sys, time
sys.path.insert(0, {str(REPO)!r})
from tuidash.core.jobs import JobFiles, JobRecord, finish
from tuidash.services.jobs import _Runner
files = JobFiles({str(store_dir)!r})
record = JobRecord(id="20260101-000000-abcd", state="running", what="w", request={{}},
                   data={{}}, store={str(store_dir)!r}, host="h", created_at=time.time())
files.make(record.id)
files.write_record(record)
runner = _Runner(files, record.id)
runner.before_save("Forest")
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(0.2)
print("still here", flush=True)
finish(files, record.id, "finished", message="Saved as 'Forest'.")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=GUARD
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "still here\n"
    record = JobFiles(store_dir).read_record("20260101-000000-abcd")
    assert (record.state, record.phase) == ("finished", "done")


# --------------------------------------------------------------------------- records


def record_of(files: JobFiles, job_id: str, **fields: Any) -> JobRecord:
    values: dict[str, Any] = {
        "id": job_id,
        "state": "running",
        "what": "Ridge on d.csv (target y)",
        "request": {"kind": "ridge"},
        "data": {"source": "d.csv"},
        "store": str(files.store_dir),
        "host": records.this_host(),
        "created_at": time.time(),
    }
    values.update(fields)
    record = JobRecord(**values)
    files.make(job_id)
    files.write_record(record)
    return record


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_reconcile_says_what_really_happened(store_dir: Path) -> None:
    files = JobFiles(store_dir)
    now = time.time()
    gone = record_of(files, "20260101-000001-0001", pid=dead_pid())
    asked = record_of(files, "20260101-000002-0002", pid=dead_pid(), cancel_requested=True)
    alive = record_of(files, "20260101-000003-0003", pid=os.getpid())
    remote = record_of(files, "20260101-000004-0004", host="elsewhere", pid=1)
    silent = record_of(
        files, "20260101-000005-0005", host="elsewhere", pid=1,
        created_at=now - records.OTHER_HOST_SILENT_SECONDS - 60,
    )  # fmt: skip
    states = {r.id: r.state for r in records.list_records(files)}
    assert states[gone.id] == "interrupted"
    assert states[asked.id] == "cancelled"
    # Our own pid is alive but it is not that job's process (its command line says so).
    assert states[alive.id] == "interrupted"
    assert states[remote.id] == "running"
    assert files.read_record(remote.id).state_text() == "running on elsewhere"
    assert states[silent.id] == "interrupted"
    assert "has not reported" in (files.read_record(silent.id).error or "")
    # A final state is final.
    ended = records.finish(files, gone.id, "finished", message="late")
    assert ended.state == "interrupted"


def test_the_model_listing_and_storage_ignore_jobs(store_dir: Path) -> None:
    files = JobFiles(store_dir)
    record_of(files, "20260101-000001-0001", state="finished")
    (files.root / "20260101-000001-0001" / "progress.jsonl").write_text('{"time": 1}\n')
    assert saved_models(store_dir) == {}
    report = json.loads(tuidash("storage", "--json", store=store_dir).stdout)
    assert report["problems"] == [] and report["model_count"] == 0


# --------------------------------------------------------------------------- serve


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serve_answers_on_localhost_and_stops_cleanly(store_dir: Path, stop: int) -> None:
    pytest.importorskip("textual_serve")
    port = free_port()
    server = start("serve", "--port", str(port), store=store_dir)

    def page() -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                return str(answer.read().decode())
        except OSError:
            assert server.poll() is None, server.communicate()
            return None

    html = wait_for(page, "the server to answer")
    assert "<html" in html.lower() and f"localhost:{port}/ws" in html
    server.send_signal(stop)
    _, err = server.communicate(timeout=GUARD)
    assert server.returncode == 0, err
    assert "127.0.0.1" in err and f"ssh -N -L {port}:localhost:{port}" in err
    assert "Traceback" not in err
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)


def test_serve_warns_when_others_can_reach_it(store_dir: Path) -> None:
    pytest.importorskip("textual_serve")
    port = free_port()
    server = start("serve", "--host", "0.0.0.0", "--port", str(port), store=store_dir)
    line = server.stderr.readline() if server.stderr else ""
    server.send_signal(signal.SIGTERM)
    server.communicate(timeout=GUARD)
    assert "warning" in line and "anyone who can reach this port" in line


# --------------------------------------------------------------------------- the commands


@pytest.mark.parametrize(
    "argv",
    [
        ["jobs"],
        *(["jobs", action] for action in ("list", "show", "logs", "cancel", "clean", "limit")),
        ["serve"],
    ],
)
def test_every_jobs_command_has_help_with_an_example(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from tuidash import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and "--store" in out


def test_jobs_commands_refuse_in_one_line(
    store_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tuidash import cli

    files = JobFiles(store_dir)
    record_of(files, "20260101-000001-0001", state="finished", message="Saved as 'A'.")
    record_of(files, "20260101-000002-0002", state="failed", error="The target is empty.")
    store = ["--store", str(store_dir)]
    for argv, words in (
        (["jobs", "show", "nope"], "No job 'nope'"),
        (["jobs", "show", "20260101"], "names 2 jobs; give more of the id"),
        (["jobs", "limit", "0"], "1 or more"),
        (["jobs", "list", "--store", str(store_dir / "absent")], "does not exist"),
    ):
        assert cli.main([*argv, *store] if "--store" not in argv else argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and words in err, err
    assert cli.main(["jobs", "limit", "2", *store]) == 0
    assert "2 jobs of" in capsys.readouterr().out
    assert Jobs(store_dir).max_running == 2
    assert cli.main(["jobs", "list", *store]) == 0
    table = capsys.readouterr().out
    assert "The target is empty." in table and "Saved as 'A'." in table
    assert cli.main(["jobs", "show", "20260101-000002", "--json", *store]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["state"], shown["error"], shown["result"]) == (
        "failed",
        "The target is empty.",
        None,
    )


# --------------------------------------------------------------------------- the app's data


def follow(jobs: Jobs, job_id: str) -> Any:
    """Poll a job's watcher to its end; the last update."""
    watcher = jobs.attach(job_id)
    return wait_for(lambda: (u := watcher.poll()).done and u, f"job {job_id} to end")


def test_data_loaded_in_memory_is_trained_on_as_it_was_loaded(store_dir: Path) -> None:
    """The dashboard hands a job the data it holds: a frame from no file goes to the job as
    a snapshot; a file that changed since it was loaded is refused, never trained on."""
    import pandas as pd

    from tuidash.core.data import read_table
    from tuidash.services.workflows import TrainRequest

    jobs = Jobs(store_dir)
    frame = pd.DataFrame({"x": [float(i) for i in range(40)], "y": [2.0 * i for i in range(40)]})
    record = jobs.start(TrainRequest(target="y", kind="linear_regression", data=frame))
    update = follow(jobs, record.id)
    assert update.record.state == "finished", update.record
    assert update.result["summary"]["metrics"]["R2"] == pytest.approx(1.0)
    assert update.result["metadata"]["predictions"]["y_test"]  # the chart's points
    assert not (jobs.files.folder(record.id) / "data.parquet").exists()  # removed at the end

    path = store_dir.parent / "d.csv"
    frame.to_csv(path, index=False)
    loaded = read_table(path)
    path.write_text("x,y\n1,2\n2,4\n")  # edited after it was loaded
    record = jobs.start(TrainRequest(target="y", kind="ridge", data=loaded, name="Edited"))
    update = follow(jobs, record.id)
    assert update.record.state == "failed"
    assert update.record.error == (
        f"{path} changed after the training was started; start the training again."
    )
    assert "Edited" not in saved_models(store_dir)


def test_a_cancel_asked_from_another_machine_is_honoured_at_the_next_heartbeat(
    store_dir: Path,
) -> None:
    """On a shared store (NFS) the machine that asks cannot signal the process: the job's
    own heartbeat sees the request, records "cancelled" and stops its process group."""
    jobs = Jobs(store_dir)
    job_id = detach(*LONG, "--name", "Remote", store=store_dir)
    record = wait_for(lambda: training(jobs, job_id), "the job to train")

    def ask(current: JobRecord) -> JobRecord:
        current.cancel_requested = True  # what `cancel` writes for another host's job
        return current

    records.update(jobs.files, job_id, ask)
    ended = wait_for(lambda: (r := jobs.get(job_id)).ended and r, "the job to stop")
    assert (ended.state, ended.message) == ("cancelled", records.CANCELLED_MESSAGE)
    wait_for(lambda: not records.process_alive(record.pid, job_id), "its process to end")
    assert "Remote" not in saved_models(store_dir)


# --------------------------------------------------------------------------- searches


def test_a_cli_search_runs_as_a_job_and_saves_its_search_record(store_dir: Path) -> None:
    result = tuidash(
        "train", "sample", "--target", "target", "--model", "ridge", "--name", "Tuned",
        "--search", "random", "--n-iter", "3", "--cv", "2",
        "--param-range", "alpha=0.01:100:log",
        store=store_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Searched Ridge on the diabetes sample: 3 candidates × 2 folds (random)" in (
        result.stdout
    )
    jobs = listed(store_dir)
    assert len(jobs) == 1
    (job,) = jobs.values()
    assert job["state"] == "finished" and job["saved"] == [{"name": "Tuned", "version": 1}]
    assert job["what"].startswith(
        "Random search of Ridge (3 candidates × 2 folds) as 'Tuned' on the diabetes sample"
    )
    record = Jobs(store_dir).get(job["id"])
    assert record.request["search"]["method"] == "random"
    assert record.request["search"]["ranges"] == ["alpha=0.01:100:log"]
    doc = json.loads((store_dir / "metadata" / "Tuned.json").read_text())
    assert doc["search"]["candidates_tried"] == 3 and doc["search"]["cv"] == 2
    assert doc["params"]["alpha"] == doc["search"]["best"]["params"]["alpha"]
    shown = json.loads(tuidash("jobs", "show", job["id"], "--json", store=store_dir).stdout)
    assert shown["result"]["search"]["best"] == doc["search"]["best"]


def test_a_detached_search_job_reports_its_fits_and_a_cancel_saves_nothing(
    store_dir: Path,
) -> None:
    jobs = Jobs(store_dir)
    job_id = detach(
        "--model", "random_forest", "--name", "Searched", "--search", "random",
        "--n-iter", "200", "--cv", "5", "--param-range", "n_estimators=200:400",
        store=store_dir,
    )  # fmt: skip
    wait_for(lambda: training(jobs, job_id), "the search to fit")
    progress = jobs.progress(job_id)
    assert progress is not None and progress.text.startswith("Searching: ")
    assert "of 1000 fits" in progress.text
    result = tuidash("jobs", "cancel", job_id, store=store_dir)
    assert result.returncode == 0, result.stderr
    record = jobs.get(job_id)
    assert record.state == "cancelled" and record.saved == []
    assert not records.process_alive(record.pid)
    assert saved_models(store_dir) == {}


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_jobs_clean_with_a_bad_number_of_days_is_a_usage_error(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tuidash import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["jobs", "clean", "--older-than", value, "--store", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--older-than" in err and repr(value) in err
