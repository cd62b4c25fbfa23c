"""``tuidash train --task`` and ``tuidash predict`` with classifiers, run as a person runs
them (``python -m tuidash`` in a subprocess), on the shipped penguins data."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from tests.unit.test_cli import assert_failed, run

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-class")
    shutil.copy(DATA / "penguins.csv", root / "penguins.csv")
    shutil.copy(DATA / "iris_numeric.csv", root / "iris.csv")
    rows = (root / "penguins.csv").read_text().splitlines()
    header = rows[0].split(",")
    keep = [i for i, h in enumerate(header) if h != "species"]
    new = [",".join(header[i] for i in keep)]
    for line in rows[1:6]:
        cells = line.split(",")
        new.append(",".join(cells[i] for i in keep))
    new[1] = new[1].replace("Torgersen", "Atlantis", 1)  # an island never seen in training
    (root / "new.csv").write_text("\n".join(new) + "\n")
    return root


def test_train_auto_classifies_a_text_target_and_predict_adds_probabilities(
    folder: Path,
) -> None:
    store = folder / "store"
    result = run(
        "train", "penguins.csv", "--target", "species", "--model", "logistic_regression",
        "--cv", "3", "--json", cwd=folder, store=store,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["task"] == "classification"
    assert report["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert report["task_reason"] == (
        "'species' holds text (3 different values), so each value is a class."
    )
    assert list(report["metrics"]) == [
        "Accuracy",
        "Balanced accuracy",
        "Precision macro",
        "Recall macro",
        "F1 macro",
        "Precision weighted",
        "Recall weighted",
        "F1 weighted",
        "ROC AUC",
        "Log loss",
    ]
    assert 0.9 < report["metrics"]["Balanced accuracy"] <= 1
    assert report["cv"]["metric"] == "Balanced accuracy"
    assert "note: 'species' holds text" in result.stderr

    out = folder / "predicted.csv"
    predicted = run(
        "predict", "Logistic Regression", "new.csv", "-o", str(out), cwd=folder, store=store
    )
    assert predicted.returncode == 0, predicted.stderr
    with out.open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 5
    assert list(rows[0])[-4:] == [
        "prediction",
        "probability_Adelie",
        "probability_Chinstrap",
        "probability_Gentoo",
    ]
    for row in rows:
        assert row["prediction"] in ("Adelie", "Chinstrap", "Gentoo")
        total = sum(float(row[f"probability_{c}"]) for c in ("Adelie", "Chinstrap", "Gentoo"))
        assert total == pytest.approx(1.0)
    as_json = run("predict", "Logistic Regression", "new.csv", "--json", cwd=folder, store=store)
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["predictions"] == [row["prediction"] for row in rows]
    assert set(document["probabilities"]) == {"Adelie", "Chinstrap", "Gentoo"}

    shown = run("models", "show", "Logistic Regression", cwd=folder, store=store)
    assert shown.returncode == 0, shown.stderr
    assert "Task          classification" in shown.stdout
    assert "Classes       3: Adelie, Chinstrap, Gentoo" in shown.stdout
    assert "Balanced accuracy" in shown.stdout and "Per class (test set)" in shown.stdout
    listed = run("models", "list", cwd=folder, store=store)
    assert "BAL.ACC" in listed.stdout and "F1 MACRO" in listed.stdout


def test_task_option_chooses_and_the_default_name_says_classifier(folder: Path) -> None:
    store = folder / "store-task"
    auto = run(
        "train", "iris.csv", "--target", "class", "--model", "random_forest",
        "--param", "n_estimators=10", "--json", cwd=folder, store=store,
    )  # fmt: skip
    assert auto.returncode == 0, auto.stderr
    report = json.loads(auto.stdout)
    assert (report["task"], report["classes"]) == ("classification", [0, 1, 2])
    assert report["name"] == "Random Forest classifier"
    forced = run(
        "train", "iris.csv", "--target", "class", "--model", "random_forest",
        "--param", "n_estimators=10", "--task", "regression", "--json", cwd=folder, store=store,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    report = json.loads(forced.stdout)
    assert (report["task"], report["classes"], report["name"]) == (
        "regression",
        None,
        "Random Forest",
    )
    assert list(report["metrics"]) == ["MAE", "MSE", "RMSE", "MAPE", "R2"]
    mass = run(
        "train", "penguins.csv", "--target", "year", "--model", "dummy",
        "--task", "classification", cwd=folder, store=store,
    )  # fmt: skip
    assert mass.returncode == 0, mass.stderr
    assert "Trained Dummy classifier on penguins.csv" in mass.stdout
    assert "Balanced accuracy" in mass.stdout


def test_task_mistakes_are_one_sentence(folder: Path) -> None:
    store = folder / "store-bad"
    wrong_kind = run(
        "train", "penguins.csv", "--target", "species", "--model", "ridge", cwd=folder, store=store
    )
    assert_failed(wrong_kind, 1, "'species' holds text", "Ridge is a regression model")
    text_as_number = run(
        "train", "penguins.csv", "--target", "species", "--model", "ridge",
        "--task", "regression", cwd=folder, store=store,
    )  # fmt: skip
    assert_failed(text_as_number, 1, "'species' is not numeric")
    svc_for_numbers = run(
        "train", "penguins.csv", "--target", "body_mass_g", "--model", "svc",
        "--task", "regression", cwd=folder, store=store,
    )  # fmt: skip
    assert_failed(svc_for_numbers, 1, "'svc' is a classification kind, not a regression one")
    bad_task = run(
        "train", "penguins.csv", "--target", "species", "--model", "dummy", "--task", "cluster",
        cwd=folder, store=store,
    )  # fmt: skip
    assert bad_task.returncode == 2 and "invalid choice: 'cluster'" in bad_task.stderr


def test_a_search_on_a_text_target_searches_classifiers(folder: Path) -> None:
    """`--search` follows the target like plain training: a classifier with a
    classification metric, saved under the classifier's default name; a classifier-only
    kind with a classification metric is accepted before the data is read."""
    store = folder / "store-search"
    forest = run(
        "train", "penguins.csv", "--target", "species", "--model", "random_forest",
        "--search", "random", "--n-iter", "3", "--cv", "2", "--param-range", "n_estimators=5:15",
        "--json", cwd=folder, store=store,
    )  # fmt: skip
    assert forest.returncode == 0, forest.stderr
    report = json.loads(forest.stdout)
    assert report["name"] == "Random Forest classifier" and report["task"] == "classification"
    assert report["search"]["metric"] == "Accuracy" and report["search"]["failed_fits"] == 0
    logistic = run(
        "train", "penguins.csv", "--target", "species", "--model", "logistic_regression",
        "--search", "random", "--n-iter", "2", "--cv", "2", "--metric", "balanced accuracy",
        "--json", cwd=folder, store=store,
    )  # fmt: skip
    assert logistic.returncode == 0, logistic.stderr
    assert json.loads(logistic.stdout)["search"]["metric"] == "Balanced accuracy"
    wrong_metric = run(
        "train", "penguins.csv", "--target", "species", "--model", "random_forest",
        "--search", "random", "--metric", "R2", cwd=folder, store=store,
    )  # fmt: skip
    assert_failed(wrong_metric, 1, "classification search can optimise", "not 'R2'")
