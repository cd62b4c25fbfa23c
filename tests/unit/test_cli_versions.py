"""The version commands of the CLI (issue 12): versions, alias, unalias, rollback, history,
prune, note, tag, rename, and NAME@vN / NAME@ALIAS wherever a model name is taken.

A few runs go through a subprocess as a person runs them; the rest call ``cli.main``
in-process on a store filled with the store's own API (fast, no training).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from store_helpers import model_data
from test_cli import assert_failed, run, write_data

from tuidash import cli
from tuidash.core.store import ModelPersistence


class FakeTTY(io.StringIO):
    """A stdin that says it is a terminal and holds the user's answer."""

    def isatty(self) -> bool:
        return True


def three_versions(tmp_path: Path) -> Path:
    """A store where 'Forest' has versions 1, 2, 3 (R2 0.1, 0.2, 0.3) and 'Other' has one."""
    store = tmp_path / "store"
    persistence = ModelPersistence(store)
    for number in (1, 2, 3):
        metrics = {"MAE": 1.0, "MSE": 1.0, "RMSE": 1.0, "MAPE": 0.1, "R2": number / 10}
        persistence.save("Forest", model_data(metrics=metrics))
    persistence.save("Other", model_data())
    return store


def main(store: Path, *argv: str) -> int:
    return cli.main([*argv, "--store", str(store)])


def out_json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def failed(capsys: pytest.CaptureFixture[str], *words: str) -> None:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    for word in words:
        assert word.lower() in err.lower(), (word, err)


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_training_a_taken_name_makes_versions_used_everywhere(tmp_path: Path) -> None:
    data = write_data(tmp_path / "train.csv")
    store = tmp_path / "store"
    common = ("train", str(data), "--target", "y", "--name", "Forest", "--json")
    first = run(*common, "--model", "dummy", cwd=tmp_path, store=store)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["version"] == 1
    assert json.loads(first.stdout)["replaced"] is False
    second = run(*common, "--model", "linear_regression", cwd=tmp_path, store=store)
    assert second.returncode == 0, second.stderr
    doc = json.loads(second.stdout)
    assert doc["version"] == 2 and doc["versions"] == 2 and doc["replaced"] is True
    # --replace is accepted (older scripts) and changes nothing: still a new version.
    human = run(
        "train", str(data), "--target", "y", "--name", "Forest", "--model", "ridge",
        "--replace", cwd=tmp_path, store=store,
    )  # fmt: skip
    assert human.returncode == 0, human.stderr
    assert "version 3" in human.stdout

    listed = json.loads(run("models", "list", "--json", cwd=tmp_path, store=store).stdout)
    (row,) = listed["models"]
    assert (row["version"], row["versions"], row["model_type"]) == (3, 3, "ridge")
    assert row["data_file"] == str(data.resolve()) or row["data_file"].endswith("train.csv")

    alias = run("models", "alias", "Forest", "1", "champion", cwd=tmp_path, store=store)
    assert alias.returncode == 0 and "version 1" in alias.stdout, alias.stderr
    new = write_data(tmp_path / "new.csv", rows=4, drop="y")
    by_alias = run("predict", "Forest@champion", str(new), cwd=tmp_path, store=store)
    by_number = run("predict", "Forest@v1", str(new), cwd=tmp_path, store=store)
    latest = run("predict", "Forest", str(new), cwd=tmp_path, store=store)
    assert by_alias.returncode == 0, by_alias.stderr
    values = [
        [float(r["prediction"]) for r in csv.DictReader(p.stdout.splitlines())]
        for p in (by_alias, by_number, latest)
    ]
    assert values[0] == values[1]  # the dummy model: the same everywhere
    assert len(set(values[0])) == 1 and values[2] != values[0]

    assert_failed(
        run("predict", "Forest@v9", str(new), cwd=tmp_path, store=store),
        1,
        "no version 9",
        "1, 2, 3",
    )
    assert_failed(
        run("models", "alias", "Forest", "7", "prod", cwd=tmp_path, store=store), 1, "no version 7"
    )
    assert_failed(
        run("models", "delete", "Forest@champion", "--yes", cwd=tmp_path, store=store),
        1,
        "champion",
        "alias",
    )
    deleted = run("models", "delete", "Forest@v2", "--yes", "--json", cwd=tmp_path, store=store)
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["deleted"] == ["Forest@v2"]
    versions = json.loads(
        run("models", "versions", "Forest", "--json", cwd=tmp_path, store=store).stdout
    )
    assert [v["version"] for v in versions["versions"]] == [1, 3]


# --------------------------------------------------------------------------- in-process


def test_versions_lists_every_version_with_aliases_and_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = three_versions(tmp_path)
    assert main(store, "models", "alias", "Forest", "v2", "champion") == 0
    assert "'Forest@champion' now is version 2" in capsys.readouterr().out
    assert main(store, "models", "note", "Forest@v1", "first try") == 0
    capsys.readouterr()
    assert main(store, "models", "versions", "Forest", "--json") == 0
    doc = out_json(capsys)
    assert doc["name"] == "Forest"
    rows = doc["versions"]
    assert [r["version"] for r in rows] == [1, 2, 3]
    assert [r["latest"] for r in rows] == [False, False, True]
    assert rows[1]["aliases"] == ["champion"] and rows[0]["note"] == "first try"
    assert [r["metrics"]["R2"] for r in rows] == [0.1, 0.2, 0.3]
    assert main(store, "models", "versions", "Forest") == 0
    text = capsys.readouterr().out
    assert "3 *" in text and "champion" in text and "first try" in text

    assert main(store, "models", "list", "--json") == 0
    forest = next(m for m in out_json(capsys)["models"] if m["name"] == "Forest")
    assert forest["aliases"] == {"champion": 2}
    assert (forest["version"], forest["versions"]) == (3, 3)
    assert main(store, "models", "list") == 0
    assert "v3 (3)" in capsys.readouterr().out


def test_alias_moves_and_is_removed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = three_versions(tmp_path)
    assert main(store, "models", "alias", "Forest", "1", "prod") == 0
    assert main(store, "models", "alias", "Forest", "3", "prod", "--json") == 0
    capsys.readouterr()
    assert main(store, "models", "alias", "Forest", "2", "prod", "--json") == 0
    assert out_json(capsys)["version"] == 2
    assert main(store, "models", "unalias", "Forest", "prod") == 0
    assert "Removed the alias 'prod'" in capsys.readouterr().out
    assert main(store, "models", "unalias", "Forest", "prod") == 1
    failed(capsys, "no alias 'prod'")
    for bad in ("latest", "v4", "two words"):
        assert main(store, "models", "alias", "Forest", "1", bad) == 1
        failed(capsys, bad)
    assert main(store, "models", "alias", "Forest", "9", "prod") == 1
    failed(capsys, "no version 9", "1, 2, 3")
    assert main(store, "models", "alias", "Ghost", "1", "prod") == 1
    failed(capsys, "Ghost", "Forest")


def test_rollback_and_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = three_versions(tmp_path)
    assert main(store, "models", "rollback", "Forest", "1", "--json") == 0
    doc = out_json(capsys)
    assert doc["version"] == 4 and "version 1" in doc["message"]
    assert main(store, "models", "show", "Forest", "--json") == 0
    assert out_json(capsys)["metrics"]["R2"] == 0.1
    assert main(store, "models", "rollback", "Forest", "4") == 1
    failed(capsys, "already is the latest")
    assert main(store, "models", "history", "Forest", "--json") == 0
    events = out_json(capsys)["events"]
    assert [e["event"] for e in events] == ["save", "save", "save", "rollback"]
    assert events[-1]["rollback_of"] == 1 and all(e.get("user") for e in events)
    assert main(store, "models", "history", "Forest") == 0
    assert "rollback_of=1" in capsys.readouterr().out


def test_prune_says_what_it_removes_asks_and_keeps_aliased_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = three_versions(tmp_path)
    assert main(store, "models", "alias", "Forest", "1", "champion") == 0
    capsys.readouterr()
    # Not a terminal and no --yes: refused, nothing removed.
    assert main(store, "models", "prune", "Forest", "--keep", "1") == 1
    captured = capsys.readouterr()
    assert "Forest@v2" in captured.out and "kept: Forest@v1" in captured.out
    assert "--yes" in captured.err
    monkeypatch.setattr("sys.stdin", FakeTTY("n\n"))
    assert main(store, "models", "prune", "--keep", "1") == 1
    assert "Nothing deleted" in capsys.readouterr().err
    assert len(ModelPersistence(store).list_versions("Forest")) == 3

    monkeypatch.setattr("sys.stdin", FakeTTY("y\n"))
    assert main(store, "models", "prune", "--keep", "1") == 0
    assert "Removed 1 earlier version" in capsys.readouterr().out
    assert [r["version"] for r in ModelPersistence(store).list_versions("Forest")] == [1, 3]
    assert main(store, "models", "prune", "--keep", "1", "--json") == 0
    doc = out_json(capsys)
    assert doc["removed"] == [] and doc["done"] is False
    assert doc["kept_for_alias"] == [{"name": "Forest", "version": 1, "aliases": ["champion"]}]
    with pytest.raises(SystemExit):
        main(store, "models", "prune", "Forest")  # --keep is required
    assert "--keep" in capsys.readouterr().err
    assert main(store, "models", "prune", "--keep", "0") == 1
    failed(capsys, "--keep")


def test_note_tag_and_rename(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = three_versions(tmp_path)
    assert main(store, "models", "note", "Forest", "March export") == 0
    assert main(store, "models", "tag", "Forest", "baseline", "march") == 0
    assert main(store, "models", "tag", "Forest@v1", "--tags", "old,first", "--json") == 0
    capsys.readouterr()
    assert main(store, "models", "tag", "Forest") == 1
    failed(capsys, "--tags")
    rows = ModelPersistence(store).list_versions("Forest")
    assert rows[-1]["note"] == "March export" and rows[-1]["tags"] == ["baseline", "march"]
    assert rows[0]["tags"] == ["old", "first"] or sorted(rows[0]["tags"]) == ["first", "old"]
    assert main(store, "models", "show", "Forest") == 0
    shown = capsys.readouterr().out
    assert "March export" in shown and "baseline, march" in shown and "3 of 3" in shown

    assert main(store, "models", "rename", "Forest", "Other") == 1
    failed(capsys, "Other")
    assert main(store, "models", "rename", "Forest", "A@B") == 1
    failed(capsys, "cannot contain @")
    assert main(store, "models", "rename", "Forest", "RF main") == 0
    assert "all 3 versions" in capsys.readouterr().out
    assert [r["version"] for r in ModelPersistence(store).list_versions("RF main")] == [1, 2, 3]


def test_show_and_export_a_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = three_versions(tmp_path)
    assert main(store, "models", "alias", "Forest", "2", "champion") == 0
    capsys.readouterr()
    assert main(store, "models", "show", "Forest@champion", "--json") == 0
    doc = out_json(capsys)
    assert doc["ref"] == "Forest@champion" and doc["version"] == 2
    assert doc["metrics"]["R2"] == 0.2 and doc["versions"] == 3
    assert main(store, "models", "show", "Forest@v1") == 0
    assert "1 of 3" in capsys.readouterr().out
    assert main(store, "models", "show", "Forest@nope") == 1
    failed(capsys, "no alias 'nope'", "champion")

    dest = tmp_path / "out"
    assert main(store, "models", "export", "Forest@v1", str(dest), "--json") == 0
    files = sorted(Path(f).name for f in out_json(capsys)["files"])
    assert files == ["Forest@v1.json", "Forest@v1.pkl"]
    assert json.loads((dest / "Forest@v1.json").read_text())["metrics"]["R2"] == 0.1
    # ... and it imports back as a model of its own.
    assert main(store, "models", "import", str(dest / "Forest@v1.pkl"), "--name", "Old") == 0
    assert ModelPersistence(store).list_versions("Old")[0]["metrics"]["R2"] == 0.1


def test_delete_says_how_many_versions_and_their_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = three_versions(tmp_path)
    monkeypatch.setattr("sys.stdin", FakeTTY("n\n"))
    assert main(store, "models", "delete", "Forest") == 1
    err = capsys.readouterr().err
    assert "all 3 versions" in err and " KB)" in err and "Nothing deleted" in err
    monkeypatch.setattr("sys.stdin", FakeTTY("y\n"))
    assert main(store, "models", "delete", "Forest@v1") == 0
    captured = capsys.readouterr()
    assert "Delete version 1 of 'Forest'" in captured.err
    assert "Deleted version 1 of 'Forest'" in captured.out
    assert main(store, "models", "delete", "Forest@v3", "--yes") == 1
    failed(capsys, "latest")
    monkeypatch.setattr("sys.stdin", FakeTTY("y\n"))
    assert main(store, "models", "delete", "Forest", "--json") == 0
    doc = out_json(capsys)
    assert doc["deleted"] == ["Forest"] and "2 versions" in doc["message"]
    assert [m["name"] for m in ModelPersistence(store).list_models()] == ["Other"]
