"""CLI behaviour that needs a fake terminal or a broken handler: run ``main()`` in-process."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import ClassVar

import pytest

from tuidash import cli
from tuidash.cli import common, dispatch
from tuidash.cli import storage as storage_command
from tuidash.core.text import metric_of


class FakeTTY(io.StringIO):
    """A stdin that says it is a terminal and holds the user's answer."""

    def isatty(self) -> bool:
        return True


def make_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """Train one Dummy model into a fresh store through the CLI itself."""
    data = tmp_path / "d.csv"
    with data.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["a", "b", "y"])
        for i in range(30):
            writer.writerow([i, i % 5, 2 * i + 1])
    store = tmp_path / "store"
    code = cli.main(
        ["train", str(data), "--target", "y", "--model", "dummy", "--store", str(store)]
    )
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    return store


@pytest.mark.parametrize(
    "argv",
    [
        ["train"],
        ["models"],
        ["models", "list"],
        ["models", "show"],
        ["models", "delete"],
        ["models", "clear"],
        ["models", "export"],
        ["models", "import"],
        *(
            ["models", action]
            for action in (
                "versions",
                "alias",
                "unalias",
                "rollback",
                "history",
                "prune",
                "note",
                "tag",
                "rename",
            )
        ),
        ["predict"],
        ["storage"],
    ],
)
def test_every_command_has_help_with_an_example(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and "--store" in out


def test_top_level_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in ("train", "models", "predict", "storage", "--no-autoload"):
        assert command in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["train", "x.csv", "--model", "dummy"],  # no --target
        ["train", "x.csv", "--target", "y", "--model", "dummy", "--test-size", "half"],
        ["train", "x.csv", "--target", "y", "--model", "dummy", "--cv", "1.5"],
        ["models"],
        ["models", "rename", "a"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2, argv
    assert "Traceback" not in capsys.readouterr().err


def test_subcommand_or_data_file() -> None:
    assert dispatch.wants_command(["models", "list"])
    assert dispatch.wants_command(["--store", "x", "train", "d.csv"])
    assert not dispatch.wants_command(["data.csv"])
    assert not dispatch.wants_command(["--store", "models"])  # a store folder named models
    assert not dispatch.wants_command([])


def test_delete_asks_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(tmp_path, capsys)
    monkeypatch.setattr("sys.stdin", FakeTTY("n\n"))
    assert cli.main(["models", "delete", "Dummy", "--store", str(store)]) == 1
    captured = capsys.readouterr()
    assert "Delete model 'Dummy'" in captured.err and "Nothing deleted" in captured.err
    assert cli.main(["models", "list", "--json", "--store", str(store)]) == 0
    assert len(json.loads(capsys.readouterr().out)["models"]) == 1

    monkeypatch.setattr("sys.stdin", FakeTTY("y\n"))
    assert cli.main(["models", "clear", "--store", str(store)]) == 0
    capsys.readouterr()
    assert cli.main(["models", "list", "--json", "--store", str(store)]) == 0
    assert json.loads(capsys.readouterr().out)["models"] == []


def test_progress_only_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(tmp_path, capsys)  # stderr is not a terminal here: no progress
    data = tmp_path / "d.csv"
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: True, raising=False)
    argv = ["train", str(data), "--target", "y", "--model", "dummy", "--name", "Two"]
    assert cli.main([*argv, "--store", str(store)]) == 0
    captured = capsys.readouterr()
    assert "%]" in captured.err
    assert "Saved as 'Two'" in captured.out


def test_undefined_metric_shows_its_reason() -> None:
    text = metric_of("MAPE", {"MAPE": None}, {"MAPE": "the target has zeros"})
    assert text == "undefined (the target has zeros)"
    assert metric_of("R2", {"R2": 0.5}, {}) == "0.5"
    assert metric_of("MAE", {"MAE": 43.123456}, {}) == "43.12"
    table = common.format_table(("A", "Bee"), [("long value", 1)], right=(1,))
    assert table.splitlines() == ["A           Bee", "----------  ---", "long value    1"]


def test_unexpected_error_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(storage_command, "run", broken)
    assert cli.main(["storage", "--store", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == "tuidash: unexpected error (RuntimeError): disk on fire second line\n"


def test_store_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    assert cli.main(["models", "list", "--store", str(not_a_folder)]) == 1
    assert "must be a folder" in capsys.readouterr().err


def test_store_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TUIDASH_STORE", str(tmp_path / "env_store"))
    assert cli.default_store_dir() == tmp_path / "env_store"
    assert cli.main(["storage", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["base_dir"] == str(tmp_path / "env_store")


def test_a_latin1_file_is_detected_and_an_undetectable_one_names_the_flag_to_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(tmp_path, capsys)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a,b,y,note\n1,2,3,caf\xe9\n2,3,5,th\xe9\n".encode("latin-1"))
    assert cli.main(["predict", "Dummy", str(latin), "--store", str(store)]) == 0
    captured = capsys.readouterr()
    header, first = captured.out.splitlines()[:2]
    assert header == "a,b,y,note,prediction" and first.startswith("1,2,3,café,")
    assert "Read as cp1252 text" in captured.err
    from tuidash.core import decoding

    monkeypatch.setattr(decoding, "_detect_encoding", lambda raw, start: None)
    for argv in (
        ["train", str(latin), "--target", "y", "--model", "dummy", "--name", "L"],
        ["predict", "Dummy", str(latin)],
    ):
        assert cli.main([*argv, "--store", str(store)]) == 1
        err = capsys.readouterr().err
        assert err == (
            f"tuidash: {latin} is not UTF-8 text (byte 0xe9 on line 2) and its encoding could "
            "not be recognised; choose its encoding, e.g. latin-1 or cp1252. "
            "Pass --encoding latin-1.\n"
        )
    argv = ["predict", "Dummy", str(latin), "--encoding", "latin-1", "--store", str(store)]
    assert cli.main(argv) == 0
    header, first = capsys.readouterr().out.splitlines()[:2]
    assert header == "a,b,y,note,prediction" and first.startswith("1,2,3,café,")


def test_predict_accepts_sample_like_train(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    argv = ["train", "sample", "--target", "target", "--model", "ridge", "--store", store]
    assert cli.main(argv) == 0
    capsys.readouterr()
    assert cli.main(["predict", "Ridge", "sample", "--json", "--store", store]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["data"] == "sample:diabetes"
    assert document["rows"] == 442 and len(document["predictions"]) == 442
    assert cli.main(["predict", "Ridge", "sample", "--store", store]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 443 and lines[0].endswith(",target,prediction")


def test_train_batch_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "store")
    base = ["train", "sample", "--target", "target", "--model", "ridge", "--store", store]
    assert cli.main([*base, "--batch-rows", "4", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["rows"] == 111  # 442 rows in batches of 4 (the last one shorter)
    assert "Aggregated every 4 rows into one" in captured.err
    # A bad --batch-rows is a usage error naming the option and value; nothing is trained.
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*base, "--batch-rows", "0", "--name", "Zero"])
    assert exit_info.value.code == 2
    assert "--batch-rows: expected a whole number 1 or more, got '0'" in capsys.readouterr().err
    assert cli.main(["models", "list", "--json", "--store", store]) == 0
    assert [m["name"] for m in json.loads(capsys.readouterr().out)["models"]] == ["Ridge"]
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "--batch-rows N" in capsys.readouterr().out


class FakeApp:
    """Stands in for the dashboard: records how it was built and that it ran."""

    built: ClassVar[list[tuple[object, object]]] = []

    def __init__(self, data: object, store: object, **options: object) -> None:
        FakeApp.built.append((data, store))
        self.return_code = 0

    def run(self) -> None:
        """The dashboard would run here."""


def test_an_existing_file_opens_the_dashboard_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "make_app", FakeApp)
    monkeypatch.chdir(tmp_path)
    FakeApp.built = []
    (tmp_path / "data.csv").write_text("a,y\n1,2\n")
    (tmp_path / "houses").write_text("a,y\n1,2\n")  # no extension, but it exists
    store = str(tmp_path / "store")
    assert cli.main(["data.csv", "--store", store]) == 0
    assert cli.main(["houses", "--store", store]) == 0
    assert [data for data, _ in FakeApp.built] == ["data.csv", "houses"]
    assert capsys.readouterr().err == ""


def test_the_dashboard_is_not_built_on_an_unwritable_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "make_app", FakeApp)
    FakeApp.built = []
    store = tmp_path / "read_only"

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    # Root ignores file modes, so a read-only folder is simulated where the store writes.
    monkeypatch.setattr(common.tempfile, "mkstemp", refuse)
    assert cli.main(["--store", str(store)]) == 1
    assert capsys.readouterr().err == (
        f"tuidash: The store folder {store} cannot be written (permission denied); "
        "choose another with --store.\n"
    )
    assert FakeApp.built == []


def test_the_default_store_that_does_not_exist_yet_reads_as_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUIDASH_STORE", raising=False)
    assert cli.main(["models", "list"]) == 0
    assert capsys.readouterr().out == (
        f"No saved models in {tmp_path / 'saved_models'} (the folder does not exist yet).\n"
    )
    assert not (tmp_path / "saved_models").exists()


def test_removing_a_damaged_entry_names_both_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(tmp_path, capsys)
    (store / "metadata" / "Dummy.json").write_text("{broken")
    monkeypatch.setattr("sys.stdin", FakeTTY("n\n"))
    assert cli.main(["models", "delete", "Dummy", "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert "'Dummy' cannot be used (its metadata is not valid JSON" in err
    assert "Delete metadata/Dummy.json and models/Dummy.pkl from" in err
    assert (store / "models" / "Dummy.pkl").exists()

    assert cli.main(["models", "delete", "Dummy", "--yes", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert out == "Removed 'Dummy': deleted metadata/Dummy.json and models/Dummy.pkl.\n"
    assert not (store / "models" / "Dummy.pkl").exists()
