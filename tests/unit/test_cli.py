"""The headless commands, run as a person runs them: ``python -m tuidash ...`` in a subprocess.

Each subprocess costs an interpreter start plus imports, so checks are grouped: one store
is trained once per module and the workflow tests read from it in order.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(
    *args: str, cwd: Path, store: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess:
    """Run ``python -m tuidash ARGS`` (with ``--store`` appended when given)."""
    env = {k: v for k, v in os.environ.items() if k not in ("TUIDASH_STORE", "TUIDASH_DEBUG")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    argv = [sys.executable, "-m", "tuidash", *args]
    if store is not None:
        argv += ["--store", str(store)]
    return subprocess.run(
        argv, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )


def assert_failed(result: subprocess.CompletedProcess, code: int, *words: str) -> None:
    """Exit code as expected, one line on stderr containing every word, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    if code == 1:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
    for word in words:
        assert word.lower() in result.stderr.lower(), (word, result.stderr)


def write_data(path: Path, rows: int = 60, *, drop: str | None = None) -> Path:
    """A small regression table: two numbers, a category and a target."""
    cities = ["oslo", "lima", "pune"]
    header = ["x1", "x2", "city", "y"]
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([h for h in header if h != drop])
        for i in range(rows):
            x1 = i % 11 + 0.5
            x2 = (i * 7) % 13 - 6.0
            city = cities[i % 3]
            y = 3.0 * x1 - 2.0 * x2 + (5.0 if city == "lima" else 0.0) + (i % 4) * 0.1
            row = {"x1": x1, "x2": x2, "city": city, "y": round(y, 3)}
            writer.writerow([row[h] for h in header if h != drop])
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A store with three models trained by the CLI: Dummy, Linear Regression and 'RF'."""
    root = tmp_path_factory.mktemp("cli")
    data = write_data(root / "train.csv")
    store = root / "store"
    dummy = run(
        "train", str(data), "--target", "y", "--model", "dummy", "--json", cwd=root, store=store
    )
    assert dummy.returncode == 0, dummy.stderr
    linear = run(
        "train", str(data), "--target", "y", "--model", "linear_regression", cwd=root, store=store
    )
    assert linear.returncode == 0, linear.stderr
    forest = run(
        "train",
        str(data),
        "--target",
        "y",
        "--model",
        "random_forest",
        "--param",
        "n_estimators=5",
        "--param",
        "max_depth=4",
        "--name",
        "RF",
        "--cv",
        "3",
        "--features",
        "x1,x2,city",
        "--json",
        cwd=root,
        store=store,
    )
    assert forest.returncode == 0, forest.stderr
    (root / "dummy.json").write_text(dummy.stdout)
    (root / "linear.txt").write_text(linear.stdout)
    (root / "forest.json").write_text(forest.stdout)
    return {"root": root, "data": data, "store": store}


def test_train_reports_metrics_and_saves(trained: dict[str, Path]) -> None:
    root = trained["root"]
    dummy = json.loads((root / "dummy.json").read_text())
    for key in (
        "name",
        "model_type",
        "display_name",
        "store",
        "target",
        "features",
        "rows",
        "train_rows",
        "test_rows",
        "params",
        "metrics",
        "metric_reasons",
        "cv",
        "train_seconds",
        "replaced",
    ):
        assert key in dummy, key
    assert dummy["name"] == "Dummy"
    assert dummy["model_type"] == "dummy"
    assert dummy["target"] == "y"
    assert sorted(dummy["features"]) == ["city", "x1", "x2"]
    assert dummy["rows"] == 60 and dummy["test_rows"] == 12 and dummy["train_rows"] == 48
    assert set(dummy["metrics"]) == {"MAE", "MSE", "RMSE", "MAPE", "R2"}
    assert dummy["metrics"]["MAE"] > 0

    forest = json.loads((root / "forest.json").read_text())
    assert forest["name"] == "RF"
    assert forest["params"]["n_estimators"] == 5 and forest["params"]["max_depth"] == 4
    assert forest["cv"]["folds"] == 3 and len(forest["cv"]["scores"]) == 3

    linear = (root / "linear.txt").read_text()
    assert "Saved as 'Linear Regression'" in linear
    for metric in ("MAE", "MSE", "RMSE", "MAPE", "R2"):
        assert metric in linear
    # Training is a fit on nearly linear data: the linear model beats the baseline.
    assert "R2" in linear

    files = {p.name for p in (trained["store"] / "metadata").iterdir()}
    assert len([f for f in files if f.endswith(".json")]) == 3


def test_list_and_show(trained: dict[str, Path]) -> None:
    root, store = trained["root"], trained["store"]
    human = run("models", "list", cwd=root, store=store)
    assert human.returncode == 0, human.stderr
    lines = human.stdout.splitlines()
    assert lines[0].split() == [
        "NAME", "VER", "KIND", "SAVED", "TARGET", "R2", "RMSE", "SIZE", "ALIASES",
    ]  # fmt: skip
    assert any(line.startswith("RF ") for line in lines)
    assert any(line.startswith("Linear Regression ") for line in lines)
    assert "3 models in" in human.stdout

    listed = json.loads(run("models", "list", "--json", cwd=root, store=store).stdout)
    assert listed["store"] == str(store.resolve())
    by_name = {m["name"]: m for m in listed["models"]}
    assert set(by_name) == {"Dummy", "Linear Regression", "RF"}
    rf = by_name["RF"]
    for key in (
        "model_type",
        "task",
        "saved_at",
        "target",
        "rows",
        "features",
        "metrics",
        "metric_reasons",
        "size_bytes",
        "environment_mismatch",
    ):
        assert key in rf, key
    assert rf["model_type"] == "random_forest" and rf["target"] == "y" and rf["features"] == 3
    assert by_name["Linear Regression"]["metrics"]["R2"] > by_name["Dummy"]["metrics"]["R2"]

    shown = run("models", "show", "RF", cwd=root, store=store)
    assert shown.returncode == 0, shown.stderr
    for text in (
        "random_forest",
        "n_estimators",
        "Metrics (test set)",
        "Cross-validation",
        "x1, x2, city",
    ):
        assert text in shown.stdout, text
    doc = json.loads(run("models", "show", "RF", "--json", cwd=root, store=store).stdout)
    for key in (
        "params",
        "data",
        "cv",
        "train_seconds",
        "environment",
        "feature_importance",
        "predictions_stored",
        "predictions_total",
        "schema_version",
        "files",
    ):
        assert key in doc, key
    assert doc["predictions_stored"] == 12
    assert set(doc["feature_importance"]) >= {"x1", "x2"}


def test_predict_to_file_and_stdout(trained: dict[str, Path]) -> None:
    root, store = trained["root"], trained["store"]
    new = write_data(root / "new.csv", rows=7, drop="y")
    out = root / "out.csv"
    to_file = run("predict", "Linear Regression", str(new), "-o", str(out), cwd=root, store=store)
    assert to_file.returncode == 0, to_file.stderr
    assert "Wrote 7 predictions" in to_file.stdout
    with out.open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 7
    assert list(rows[0]) == ["x1", "x2", "city", "prediction"]
    # Nearly exact linear data: the linear model's prediction is close to the formula.
    first = rows[0]
    expected = 3 * float(first["x1"]) - 2 * float(first["x2"])
    assert abs(float(first["prediction"]) - expected) < 2.0

    to_stdout = run("predict", "RF", str(new), cwd=root, store=store)
    assert to_stdout.returncode == 0, to_stdout.stderr
    lines = to_stdout.stdout.strip().splitlines()
    assert lines[0] == "x1,x2,city,prediction" and len(lines) == 8

    as_json = json.loads(run("predict", "Dummy", str(new), "--json", cwd=root, store=store).stdout)
    assert as_json["rows"] == 7 and as_json["column"] == "prediction"
    assert as_json["output"] is None and len(as_json["predictions"]) == 7
    # The baseline predicts one constant.
    assert len(set(as_json["predictions"])) == 1


def test_predict_bad_inputs(trained: dict[str, Path]) -> None:
    root, store = trained["root"], trained["store"]
    missing_column = write_data(root / "no_x2.csv", rows=5, drop="x2")
    result = run("predict", "RF", str(missing_column), cwd=root, store=store)
    assert_failed(result, 1, "x2")
    assert result.stdout == ""
    assert_failed(
        run("predict", "Nope", str(missing_column), cwd=root, store=store), 1, "Nope", "RF"
    )
    assert_failed(
        run("predict", "RF", str(root / "absent.csv"), cwd=root, store=store), 1, "absent.csv"
    )


@pytest.mark.slow
def test_export_import_round_trip(trained: dict[str, Path]) -> None:
    root, store = trained["root"], trained["store"]
    dest = root / "exported"
    exported = run("models", "export", "RF", str(dest), "--json", cwd=root, store=store)
    assert exported.returncode == 0, exported.stderr
    files = [Path(f) for f in json.loads(exported.stdout)["files"]]
    assert sorted(f.suffix for f in files) == [".json", ".pkl"]
    assert all(f.parent == dest.resolve() and f.is_file() for f in files)
    again = run("models", "export", "RF", str(dest), cwd=root, store=store)
    assert_failed(again, 1, "--replace")

    pkl = next(f for f in files if f.suffix == ".pkl")
    meta = next(f for f in files if f.suffix == ".json")
    other = root / "other_store"
    imported = run(
        "models",
        "import",
        str(pkl),
        "--metadata",
        str(meta),
        "--name",
        "RF copy",
        "--json",
        cwd=root,
        store=other,
    )
    assert imported.returncode == 0, imported.stderr
    doc = json.loads(imported.stdout)
    original = json.loads((root / "forest.json").read_text())
    assert doc["name"] == "RF copy" and doc["model_type"] == "random_forest"
    assert doc["metrics"]["R2"] == pytest.approx(original["metrics"]["R2"])
    assert sorted(doc["features"]) == ["city", "x1", "x2"]

    bare = run(
        "models",
        "import",
        str(pkl),
        "--no-metadata",
        "--name",
        "Bare",
        "--json-report",  # the report flag's earlier spelling still works
        cwd=root,
        store=other,
    )
    assert bare.returncode == 0, bare.stderr
    bare_doc = json.loads(bare.stdout)
    assert all(v is None for v in bare_doc["metrics"].values())
    assert bare_doc["metric_reasons"]["R2"] == "imported without metrics"

    # The imported model predicts like the original.
    new = write_data(root / "new2.csv", rows=4, drop="y")
    a = run("predict", "RF", str(new), cwd=root, store=store)
    b = run("predict", "RF copy", str(new), cwd=root, store=other)
    assert a.returncode == 0 and b.returncode == 0, (a.stderr, b.stderr)
    # Forest predictions are summed across threads, so compare numbers, not text.
    rows_a = list(csv.DictReader(a.stdout.splitlines()))
    rows_b = list(csv.DictReader(b.stdout.splitlines()))
    assert [float(r["prediction"]) for r in rows_a] == pytest.approx(
        [float(r["prediction"]) for r in rows_b]
    )

    taken = run("models", "import", str(pkl), "--name", "Bare", cwd=root, store=other)
    assert_failed(taken, 1, "Bare", "--replace")


class Evil:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def test_import_refuses_code_running_pickles(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(Evil(str(marker))))
    result = run("models", "import", str(evil), cwd=tmp_path, store=tmp_path / "store")
    assert_failed(result, 1, "system")
    assert not marker.exists()
    assert not list((tmp_path / "store" / "models").glob("*.pkl"))

    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"this is not a pickle")
    assert_failed(
        run("models", "import", str(garbage), cwd=tmp_path, store=tmp_path / "store"),
        1,
        "garbage.pkl",
    )


def test_train_bad_inputs(trained: dict[str, Path]) -> None:
    root, store = trained["root"], trained["store"]
    data = str(trained["data"])
    assert_failed(
        run("train", data, "--target", "y", "--model", "tabnet", cwd=root, store=store),
        1,
        "tabnet",
        "random_forest",
        "linear_regression",
    )
    assert_failed(
        run("train", data, "--target", "nope", "--model", "dummy", cwd=root, store=store),
        1,
        "nope",
        "the columns are",
        "'y'",  # the columns there are named, so the person can pick one
    )
    assert_failed(
        run(
            "train",
            str(root / "absent.csv"),
            "--target",
            "y",
            "--model",
            "dummy",
            cwd=root,
            store=store,
        ),
        1,
        "absent.csv",
    )
    assert_failed(
        run(
            "train",
            data,
            "--target",
            "y",
            "--model",
            "random_forest",
            "--param",
            "n_estimators=0",
            cwd=root,
            store=store,
        ),
        1,
        "n_estimators",
    )
    assert_failed(
        run(
            "train",
            data,
            "--target",
            "y",
            "--model",
            "dummy",
            "--name",
            "RF@v2",
            cwd=root,
            store=store,
        ),
        1,
        "RF@v2",
        "cannot contain @",
    )
    usage = run(
        "train", data, "--target", "y", "--model", "dummy", "--param", "oops", cwd=root, store=store
    )
    assert usage.returncode == 2 and "key=value" in usage.stderr
    assert "Traceback" not in usage.stderr


def test_delete_and_clear(trained: dict[str, Path]) -> None:
    root = trained["root"]
    store = root / "delete_store"
    shutil.copytree(trained["store"], store)
    refused = run("models", "delete", "Dummy", cwd=root, store=store)
    assert_failed(refused, 1, "--yes")
    assert_failed(run("models", "clear", cwd=root, store=store), 1, "--yes")
    assert_failed(run("models", "delete", "Ghost", "--yes", cwd=root, store=store), 1, "Ghost")

    deleted = run("models", "delete", "Dummy", "--yes", "--json", cwd=root, store=store)
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["deleted"] == ["Dummy"]
    cleared = run("models", "clear", "--yes", "--json", cwd=root, store=store)
    assert cleared.returncode == 0, cleared.stderr
    assert sorted(json.loads(cleared.stdout)["deleted"]) == ["Linear Regression", "RF"]

    storage = run("storage", "--json", cwd=root, store=store)
    info = json.loads(storage.stdout)
    assert info["model_count"] == 0 and info["models"] == [] and info["problems"] == []
    assert info["base_dir"] == str(store.resolve())


def test_storage_report(trained: dict[str, Path]) -> None:
    root, store = trained["root"], trained["store"]
    human = run("storage", cwd=root, store=store)
    assert human.returncode == 0, human.stderr
    assert str(store.resolve()) in human.stdout
    assert "Models      3" in human.stdout
    info = json.loads(run("storage", "--json", cwd=root, store=store).stdout)
    for key in (
        "base_dir",
        "model_count",
        "total_size_bytes",
        "total_size_mb",
        "free_bytes",
        "models",
        "problems",
    ):
        assert key in info, key
    assert info["model_count"] == 3


def test_version_and_store_default(tmp_path: Path) -> None:
    module = run("--version", cwd=tmp_path)
    assert module.returncode == 0 and module.stdout.strip().startswith("tuidash ")
    script = shutil.which("tuidash")
    if script is not None:
        installed = subprocess.run([script, "--version"], capture_output=True, text=True)
        assert installed.returncode == 0 and installed.stdout == module.stdout
    # No --store and no TUIDASH_STORE: ./saved_models, and listing does not create it.
    listed = run("models", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {
        "store": str(tmp_path / "saved_models"),
        "models": [],
        "problems": [],
    }
    assert not (tmp_path / "saved_models").exists()


def test_dashboard_refuses_an_unusable_store_before_it_starts(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a store")
    # Both would otherwise open the dashboard (no terminal here: the run would hang).
    assert_failed(run("--store", str(a_file), cwd=tmp_path), 1, "must be a folder", "notes.txt")
    inside = run("--store", str(a_file / "models"), cwd=tmp_path)
    assert_failed(inside, 1, "cannot create the store folder", f"{a_file} is a file")
    assert result_is_quiet(inside)
    # train creates its store, and refuses the same stores the same way.
    data = write_data(tmp_path / "d.csv", rows=20)
    trained = run(
        "train", str(data), "--target", "y", "--model", "dummy", cwd=tmp_path, store=a_file / "s"
    )
    assert_failed(trained, 1, "cannot create the store folder")


def result_is_quiet(result: subprocess.CompletedProcess) -> bool:
    """Nothing on stdout: no dashboard was drawn."""
    return result.stdout == ""


def test_first_word_is_a_command_or_a_data_file(tmp_path: Path) -> None:
    unknown = run("frobnicate", cwd=tmp_path)
    assert_failed(unknown, 2, "unknown command 'frobnicate'")
    for command in ("train", "models", "predict", "storage"):
        assert command in unknown.stderr
    assert "no such file" not in unknown.stderr
    assert_failed(run("modles", "list", cwd=tmp_path), 2, "did you mean 'models'")
    # A word that looks like a file is still one: it is missing, not unknown.
    assert_failed(run("missing.csv", cwd=tmp_path), 1, "missing.csv: no such file")
    assert_failed(run("runs/today", cwd=tmp_path), 1, "runs/today: no such file")
    helped = run("--help", cwd=tmp_path)
    assert helped.returncode == 0
    assert "is the data file to open when it exists or looks" in helped.stdout
    assert "an unknown command (exit 2)" in helped.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ("models", "list"),
        ("models", "list", "--json"),
        ("models", "show", "RF"),
        ("models", "delete", "RF", "--yes"),
        ("models", "clear", "--yes"),
        ("models", "export", "RF", "out"),
        ("predict", "RF", "sample"),
        ("storage",),
        ("storage", "--json"),
    ],
)
def test_reading_commands_say_the_store_does_not_exist(tmp_path: Path, argv: tuple) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    result = run(*argv, cwd=tmp_path, store=missing)
    assert_failed(result, 1, f"The store folder {missing} does not exist", "--store")
    assert result.stdout == ""
    assert not missing.exists()


def test_import_picks_up_the_metadata_beside_the_pickle(trained: dict[str, Path]) -> None:
    root, store = trained["root"], trained["store"]
    dest = root / "shared"
    assert run("models", "export", "RF", str(dest), cwd=root, store=store).returncode == 0
    pkl, meta = dest / "RF.pkl", dest / "RF.json"
    other = root / "beside_store"
    imported = run("models", "import", str(pkl), "--json", cwd=root, store=other)
    assert imported.returncode == 0, imported.stderr
    report = json.loads(imported.stdout)
    assert report["metadata"] == str(meta)
    original = json.loads(run("models", "show", "RF", "--json", cwd=root, store=store).stdout)
    copy = json.loads(run("models", "show", "RF", "--json", cwd=root, store=other).stdout)
    # Name, metrics, parameters, predictions and the data block all came with it.
    assert copy["name"] == "RF"
    assert copy["metrics"] == pytest.approx(original["metrics"])
    assert copy["params"] == original["params"]
    assert copy["predictions_stored"] == original["predictions_stored"] == 12
    assert copy["data"]["target"] == "y" and copy["data"]["rows"] == original["data"]["rows"]
    human = run("models", "import", str(pkl), "--name", "RF 2", cwd=root, store=other)
    assert human.returncode == 0, human.stderr
    assert f"from {meta}" in human.stdout and "undefined" not in human.stdout

    # A damaged JSON beside the pickle is refused, naming it and the way round it.
    document = json.loads(meta.read_text())
    document["metrics"] = {"R2": "high"}
    meta.write_text(json.dumps(document))
    damaged = run("models", "import", str(pkl), "--name", "RF 3", cwd=root, store=other)
    assert_failed(damaged, 1, str(meta), "metrics are not a mapping", "--no-metadata")
    # One that describes another pickle too.
    document = json.loads((store / "metadata" / "Dummy.json").read_text())
    document["model_name"] = "RF"
    meta.write_text(json.dumps(document))
    wrong = run("models", "import", str(pkl), "--name", "RF 3", cwd=root, store=other)
    assert_failed(wrong, 1, str(meta), "xxh3_128 checksum")
    bare = run(
        "models", "import", str(pkl), "--name", "RF 3", "--no-metadata", cwd=root, store=other
    )
    assert bare.returncode == 0, bare.stderr
    assert "imported without metrics" in bare.stdout

    # --json asks for JSON output everywhere; the earlier spelling gets a usage error.
    old = run("models", "import", str(pkl), "--json", str(meta), cwd=root, store=other)
    assert_failed(old, 2, "--metadata FILE")
