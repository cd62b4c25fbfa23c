"""The log file: where it is, what it records, rotation, --log-level, and an unwritable folder."""

from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuidash import cli
from tuidash.cli import storage as storage_command
from tuidash.core import logs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def log_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This test's own log folder; the handler is taken off again afterwards."""
    folder = tmp_path / "logs"
    monkeypatch.setenv("TUIDASH_LOG_DIR", str(folder))
    yield folder
    logs.reset_logging()


def write_data(path: Path) -> Path:
    """A small table the CLI can train on."""
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["a", "b", "y"])
        for i in range(30):
            writer.writerow([i, i % 5, 2 * i + 1])
    return path


def test_where_the_log_file_is() -> None:
    assert logs.log_file({"TUIDASH_LOG_DIR": "/srv/logs", "XDG_STATE_HOME": "/s"}) == Path(
        "/srv/logs/tuidash.log"
    )
    assert logs.log_file({"XDG_STATE_HOME": "/s"}) == Path("/s/tuidash/tuidash.log")
    home = Path.home() / ".local" / "state" / "tuidash" / "tuidash.log"
    assert logs.log_file({}) == home
    assert logs.log_file({"XDG_STATE_HOME": "relative"}) == home  # invalid per the spec


def test_importing_tuidash_writes_no_log(log_folder: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = "import tuidash.cli, tuidash.services.persistence, tuidash.core.training"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert not log_folder.exists()


def test_training_saving_and_deleting_are_logged(
    log_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_data(tmp_path / "d.csv")
    store = str(tmp_path / "store")
    argv = ["train", str(data), "--target", "y", "--model", "ridge", "--store", store]
    assert cli.main(argv) == 0
    assert cli.main(["models", "delete", "Ridge", "--yes", "--store", store]) == 0
    capsys.readouterr()
    text = (log_folder / "tuidash.log").read_text()
    lines = text.splitlines()
    trained = next(line for line in lines if "tuidash.core.training: trained Ridge" in line)
    assert f"on {data}" in trained and "target 'y'" in trained
    assert " s; R2 " in trained  # with its timing and result
    assert any(f"saved model 'Ridge' in {tmp_path / 'store'}" in line for line in lines)
    assert any("Deleted model 'Ridge'" in line for line in lines)
    assert all(" INFO " in line for line in lines)
    assert "WARNING" not in text


def test_an_unexpected_error_is_logged_with_its_traceback(
    log_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(storage_command, "run", broken)
    assert cli.main(["storage", "--store", str(tmp_path)]) == 1
    # The person gets one line; the log gets the whole story.
    assert capsys.readouterr().err == "tuidash: unexpected error (RuntimeError): disk on fire\n"
    text = (log_folder / "tuidash.log").read_text()
    assert "ERROR" in text and "tuidash storage failed" in text
    assert "Traceback (most recent call last)" in text
    assert 'raise RuntimeError("disk on fire")' in text


def test_log_level_decides_what_is_recorded(
    log_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_data(tmp_path / "d.csv")
    store = str(tmp_path / "store")
    train = ["train", str(data), "--target", "y", "--model", "dummy", "--store", store]
    assert cli.main(["--log-level", "warning", *train]) == 0
    log = log_folder / "tuidash.log"
    assert log.read_text() == ""  # a training and a save are not warnings
    assert cli.main(["--log-level", "error", "models", "show", "Nope", "--store", store]) == 1
    assert log.read_text() == ""  # a model that is not there is a warning
    assert cli.main(["models", "list", "--store", store, "--log-level", "debug"]) == 0
    assert "DEBUG" in log.read_text() and "command: tuidash models list" in log.read_text()
    assert cli.main(["models", "show", "Nope", "--store", store]) == 1  # default: info
    assert "WARNING" in log.read_text() and "No model named 'Nope'" in log.read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit) as usage:
        cli.main(["--log-level", "loud", "storage"])
    assert usage.value.code == 2
    assert "invalid choice: 'loud'" in capsys.readouterr().err


def test_the_log_is_rotated(log_folder: Path) -> None:
    setup = logs.setup_logging("info")
    assert setup.active and setup.path == log_folder / "tuidash.log"
    logger = logging.getLogger("tuidash.test")
    line = "x" * 1000
    for _ in range(7 * logs.MAX_BYTES // 1000):
        logger.info(line)
    names = sorted(p.name for p in log_folder.iterdir())
    assert names == ["tuidash.log", *(f"tuidash.log.{n}" for n in range(1, 6))]
    assert all(p.stat().st_size <= logs.MAX_BYTES for p in log_folder.iterdir())
    assert logs.MAX_BYTES == 1024 * 1024 and logs.BACKUP_COUNT == 5


def test_an_unwritable_log_folder_does_not_stop_tuidash(tmp_path: Path) -> None:
    a_file = tmp_path / "state"
    a_file.write_text("not a folder")
    env = {k: v for k, v in os.environ.items() if k != "TUIDASH_STORE"}
    env.update(PYTHONPATH=str(REPO), TUIDASH_LOG_DIR=str(a_file / "tuidash"))
    result = subprocess.run(
        [sys.executable, "-m", "tuidash", "models", "list", "--store", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("No saved models in")
    assert result.stderr == (
        f"tuidash: warning: The log file {a_file / 'tuidash' / 'tuidash.log'} cannot be "
        f"written ({a_file} is a file, not a folder); tuidash runs without a log.\n"
    )


def test_a_write_that_fails_later_stays_off_the_terminal(
    log_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.setup_logging("info")
    handler = next(h for h in logging.getLogger("tuidash").handlers if h.stream is not None)
    handler.stream.close()  # the disk went away under the open file
    logging.getLogger("tuidash.test").info("lost")
    assert capsys.readouterr().err == ""
    current = logs.current()
    assert current is not None and not current.active
    assert current.reason is not None and current.reason.startswith("a write failed")


def test_help_names_the_log_file(log_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["storage", "--help"], ["models", "list", "--help"]):
        with pytest.raises(SystemExit):
            cli.main(argv)
        assert "--log-level" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert f"log file: {log_folder / 'tuidash.log'}" in out
    assert "TUIDASH_LOG_DIR" in out


class CrashingApp:
    """Stands in for a dashboard that stopped on an unhandled exception (Textual keeps it)."""

    def __init__(self, data: object, store: object, **options: object) -> None:
        self.return_code = 0

    def run(self) -> None:
        """Fail as a widget would, and end with exit code 1."""
        try:
            raise KeyError("missing widget")
        except KeyError as error:
            self._exception = error
        self.return_code = 1


def test_the_dashboard_logs_its_start_and_a_crash(
    log_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "make_app", CrashingApp)
    assert cli.main(["--store", str(tmp_path / "store")]) == 1
    text = (log_folder / "tuidash.log").read_text()
    assert f"dashboard started (tuidash {cli.__version__}, store {tmp_path / 'store'})" in text
    assert "the dashboard stopped on an unexpected error" in text
    assert "KeyError: 'missing widget'" in text and "Traceback" in text
    assert "dashboard closed (exit code 1)" in text
