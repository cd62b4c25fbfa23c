"""Classification on small real data (tests/data/CLASSIFICATION_DATA.md): the task chosen
from the target, every classifier fitted, saved, loaded and predicting the same, metrics
equal to scikit-learn's computed directly, undefined metrics that say why, stratified
splits, bounded per-class details, the analysis views and predictions with probabilities.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from tuidash.core import analysis as an
from tuidash.core import boosting
from tuidash.core.catalog import CATALOG, CLASSIFICATION_CATALOG, get_kind, validate_params
from tuidash.core.errors import TrainingError
from tuidash.core.metrics import (
    CLASSIFICATION_METRIC_NAMES,
    OTHER_CLASSES,
    class_details,
    classification_metrics,
    roc_points,
)
from tuidash.core.predicting import predict_frame
from tuidash.core.store import ModelPersistence
from tuidash.core.tasks import MAX_CLASSES, decide_task
from tuidash.core.training import TrainConfig, TrainedModel, train_model
from tuidash.core.unpickle import ALLOWED_GLOBALS

BOOSTED = "".join(f", {kind.id}" for kind in boosting.installed_kinds("classification"))
"""The tuidash[boost] classifiers the catalog lists after the others, when installed."""

DATA = Path(__file__).resolve().parents[1] / "data"

FAST: dict[str, dict[str, Any]] = {
    "random_forest": {"n_estimators": 10},
    "gradient_boosting": {"max_iter": 20},
    "mlp": {"max_iter": 50},
}
"""Small settings so every kind fits in a moment."""


def penguins() -> pd.DataFrame:
    from tuidash.core.data import read_table

    return read_table(DATA / "penguins.csv").frame


def iris_numeric() -> pd.DataFrame:
    return pd.read_csv(DATA / "iris_numeric.csv")


def meta_of(trained: TrainedModel, name: str = "m") -> dict[str, Any]:
    """The metadata as the store lists it (JSON round trip), without saving."""
    data = trained.to_model_data()
    data.pop("model")
    meta = json.loads(json.dumps(data, allow_nan=False))
    meta["name"] = name
    return meta


def sklearn_metrics(trained: TrainedModel) -> dict[str, float]:
    """The metrics computed directly with scikit-learn on the model's test rows."""
    true, pred = list(trained.y_test), list(trained.y_pred)
    out = {
        "Accuracy": skm.accuracy_score(true, pred),
        "Balanced accuracy": skm.balanced_accuracy_score(true, pred),
    }
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            true, pred, average=average, zero_division=0.0
        )
        out |= {f"Precision {average}": p, f"Recall {average}": r, f"F1 {average}": f}
    classes = list(trained.classes or [])
    if trained.y_proba is not None:
        out["Log loss"] = skm.log_loss(true, trained.y_proba, labels=classes)
        if len(classes) == 2:
            out["ROC AUC"] = skm.roc_auc_score(
                [t == classes[1] for t in true], trained.y_proba[:, 1]
            )
        else:
            out["ROC AUC"] = skm.roc_auc_score(
                true, trained.y_proba, multi_class="ovr", average="macro", labels=classes
            )
    return {k: float(v) for k, v in out.items()}


# --------------------------------------------------------------------------- the task


def test_the_task_follows_the_target_and_says_why() -> None:
    frame = penguins()
    species = decide_task(frame["species"])
    assert species.task == "classification" and not species.chosen
    assert species.reason == "'species' holds text (3 different values), so each value is a class."
    year = decide_task(frame["year"])
    assert year.task == "classification"
    assert "whole numbers with only 3 different values (2007 to 2009)" in year.reason
    mass = decide_task(frame["body_mass_g"])
    assert mass.task == "regression"
    assert mass.reason == (
        "'body_mass_g' holds whole numbers with more than 10 different values, so it is regression."
    )
    assert decide_task(frame["bill_length_mm"]).task == "regression"
    assert decide_task(pd.Series([True, False] * 5, name="flag")).task == "classification"
    assert decide_task(pd.Series(list("abab"), dtype="category", name="c")).task == (
        "classification"
    )
    # Numbers written as text are numbers; a constant is not classes; few rows per value
    # are a number too.
    assert decide_task(pd.Series([str(i % 3) for i in range(30)], name="t")).task == (
        "classification"
    )
    assert decide_task(pd.Series([7] * 10, name="k")).task == "regression"
    assert decide_task(pd.Series([1, 2, 3, 4], name="few")).task == "regression"
    # Mostly numbers with some text stays a (broken) number column: regression.
    mostly = pd.Series([str(i) for i in range(29)] + ["n/a"], name="m")
    assert decide_task(mostly).task == "regression"


def test_the_person_can_choose_the_task() -> None:
    frame = penguins()
    chosen = decide_task(frame["year"], "regression")
    assert (chosen.task, chosen.chosen) == ("regression", True)
    assert chosen.reason == "You chose regression: 'year' is predicted as a number."
    assert decide_task(frame["body_mass_g"], "classification").task == "classification"
    with pytest.raises(TrainingError, match="auto, regression, classification"):
        decide_task(frame["year"], "clustering")


def test_the_catalog_has_the_classifiers_with_ranges_and_help() -> None:
    assert list(CLASSIFICATION_CATALOG) == [
        "dummy",
        "logistic_regression",
        "decision_tree",
        "random_forest",
        "gradient_boosting",
        "svc",
        "knn",
        "mlp",
        # tuidash[boost]: after the scikit-learn kinds, those whose library is installed.
        *(kind.id for kind in boosting.installed_kinds("classification")),
    ]
    for kind in CLASSIFICATION_CATALOG.values():
        assert kind.task == "classification" and kind.description
        assert "Classifier" in kind.estimator or kind.id in ("logistic_regression", "svc")
        for spec in kind.params:
            assert spec.help and spec.range_text()
    assert get_kind("random_forest").estimator.endswith("RandomForestRegressor")
    assert get_kind("random_forest", "classification").estimator.endswith("RandomForestClassifier")
    # Shared ids get their own default save name, so the two never share versions.
    assert get_kind("random_forest", "classification").default_name == "Random Forest classifier"
    assert get_kind("random_forest").default_name == "Random Forest"
    with pytest.raises(Exception, match="'svc' is a classification kind, not a regression one"):
        get_kind("svc")
    with pytest.raises(Exception, match=r"C must be a number from 0\.0001 to 100000"):
        validate_params("logistic_regression", {"C": 0}, "auto")
    assert validate_params("random_forest", {"class_weight": "balanced"}, "auto")
    built = get_kind("random_forest", "classification").build({"class_weight": "none"})
    assert built.class_weight is None


# --------------------------------------------------------------------------- every kind


def _recorded_globals(obj: Any) -> set[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            seen.add((module, name))
            return super().find_class(module, name)

    Recorder(io.BytesIO(pickle.dumps(obj, protocol=5))).load()
    return seen


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind_id", list(CLASSIFICATION_CATALOG))
def test_every_classifier_fits_saves_loads_and_predicts_the_same(
    tmp_path: Path, kind_id: str
) -> None:
    """Penguin species (text target; text features and numbers with missing values)."""
    frame = penguins()
    trained = train_model(frame, kind_id, FAST.get(kind_id), TrainConfig(target="species"))
    assert trained.task == "classification"
    assert trained.classes == ["Adelie", "Chinstrap", "Gentoo"]
    assert set(trained.metrics.values) == set(CLASSIFICATION_METRIC_NAMES)
    for name, expected in sklearn_metrics(trained).items():
        assert trained.metrics.values[name] == pytest.approx(expected, abs=1e-12), name
    assert _recorded_globals(trained.pipeline) <= ALLOWED_GLOBALS
    store = ModelPersistence(tmp_path / "store")
    ok, message = store.save_model(kind_id, trained.to_model_data())
    assert ok, message
    loaded = ModelPersistence(tmp_path / "store").load_model(kind_id)
    assert loaded is not None
    probe = frame.drop(columns="species").head(40).copy()
    probe.loc[0, "island"] = "Atlantis"  # a category never seen in training
    probe.loc[1, "sex"] = None
    first = predict_frame(loaded, probe, model_name=kind_id)
    expected = trained.predict(probe)
    assert first.values() == list(expected)
    assert set(first.values()) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert loaded["metadata"]["task"] == "classification"
    assert loaded["metadata"]["classes"] == ["Adelie", "Chinstrap", "Gentoo"]


def test_the_pipeline_predicts_original_labels_and_the_json_stores_them() -> None:
    trained = train_model(
        penguins(), "logistic_regression", None, TrainConfig(target="species", cv_folds=3)
    )
    meta = meta_of(trained)
    assert meta["task"] == "classification"
    assert meta["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    predictions = meta["predictions"]
    assert (
        len(predictions["y_test"]) == len(predictions["y_pred"]) == trained.data_info["test_rows"]
    )
    assert set(predictions["y_test"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert all(0 < p <= 1 for p in predictions["y_proba"])
    assert predictions["y_score"] is None  # three classes: no positive class
    block = predictions["classification"]
    assert block["probability_method"] == "predict_proba"
    matrix = np.array(block["confusion_matrix"]["counts"])
    expected = skm.confusion_matrix(trained.y_test, trained.y_pred, labels=trained.classes)
    np.testing.assert_array_equal(matrix, expected)
    p, r, f, s = skm.precision_recall_fscore_support(
        trained.y_test, trained.y_pred, labels=trained.classes, zero_division=0.0
    )
    for index, row in enumerate(block["per_class"]):
        assert row["class"] == trained.classes[index]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx(
            (p[index], r[index], f[index], s[index])
        )
    assert meta["cv"]["metric"] == "Balanced accuracy"
    assert meta["cv"]["splitter"] == "stratified k-fold"
    assert meta["data"]["stratified"] is True
    # The split is stratified: the test rows have each species in its overall share.
    shares = pd.Series(trained.y_test).value_counts(normalize=True)
    overall = penguins()["species"].value_counts(normalize=True)
    assert (shares - overall).abs().max() < 0.02
    assert trained.notes[0] == trained.task_reason


def test_integer_labels_come_back_as_integers() -> None:
    frame = iris_numeric()
    trained = train_model(frame, "knn", None, TrainConfig(target="class"))
    assert trained.task == "classification"
    assert "whole numbers with only 3 different values (0 to 2)" in trained.task_reason
    assert trained.classes == [0, 1, 2]
    predicted = trained.predict(frame.head(3))
    assert [type(v) for v in predicted] == [int, int, int] and list(predicted) == [0, 0, 0]
    meta = meta_of(trained)
    assert meta["classes"] == [0, 1, 2]
    assert all(isinstance(v, int) for v in meta["predictions"]["y_pred"])
    for name, expected in sklearn_metrics(trained).items():
        assert trained.metrics.values[name] == pytest.approx(expected, abs=1e-12), name
    # Chosen as regression, the same column is a number again.
    regression = train_model(frame, "ridge", None, TrainConfig(target="class", task="regression"))
    assert regression.task == "regression" and "R2" in regression.metrics.values
    assert regression.notes[0] == "You chose regression: 'class' is predicted as a number."


def test_a_binary_target_has_a_positive_class_and_a_roc_curve() -> None:
    frame = penguins()
    trained = train_model(frame, "logistic_regression", None, TrainConfig(target="sex"))
    assert trained.classes == ["female", "male"]
    assert any("Dropped 11 of 344 rows with no value in 'sex'" in n for n in trained.notes)
    for name, expected in sklearn_metrics(trained).items():
        assert trained.metrics.values[name] == pytest.approx(expected, abs=1e-12), name
    meta = meta_of(trained)
    block = meta["predictions"]["classification"]
    assert block["positive_class"] == "male"
    fpr, tpr, _ = skm.roc_curve([t == "male" for t in trained.y_test], trained.y_proba[:, 1])
    assert block["roc_curve"]["fpr"] == pytest.approx(list(fpr))
    assert block["roc_curve"]["tpr"] == pytest.approx(list(tpr))
    curve = an.roc_curve(meta)
    assert curve.ok and curve.positive == "male"
    assert curve.auc == pytest.approx(trained.metrics.values["ROC AUC"])
    assert meta["predictions"]["y_score"] == pytest.approx(list(trained.y_proba[:, 1]))


# --------------------------------------------------------------------------- metrics


def test_metrics_match_sklearn_for_decision_scores_and_several_classes() -> None:
    true = np.array(["a", "b", "b", "a", "c", "c", "b", "a"], dtype=object)
    pred = np.array(["a", "b", "a", "a", "c", "b", "b", "c"], dtype=object)
    proba = np.array(
        [
            [0.7, 0.2, 0.1],
            [0.1, 0.8, 0.1],
            [0.5, 0.4, 0.1],
            [0.6, 0.3, 0.1],
            [0.1, 0.1, 0.8],
            [0.2, 0.5, 0.3],
            [0.2, 0.6, 0.2],
            [0.3, 0.2, 0.5],
        ]
    )
    result = classification_metrics(true, pred, ["a", "b", "c"], proba=proba)
    assert result.values["ROC AUC"] == pytest.approx(
        skm.roc_auc_score(true, proba, multi_class="ovr", average="macro", labels=["a", "b", "c"])
    )
    assert result.values["Log loss"] == pytest.approx(skm.log_loss(true, proba))
    assert result.values["F1 macro"] == pytest.approx(skm.f1_score(true, pred, average="macro"))
    # Two classes with decision scores (no probabilities): AUC from the scores, no log loss.
    scores = np.array([-1.2, 0.3, 0.8, -0.1, 2.0, -0.7])
    binary = classification_metrics([0, 1, 1, 0, 1, 0], [0, 1, 1, 0, 1, 0], [0, 1], scores=scores)
    assert binary.values["ROC AUC"] == pytest.approx(skm.roc_auc_score([0, 1, 1, 0, 1, 0], scores))
    assert binary.values["Log loss"] is None
    assert binary.reasons["Log loss"] == (
        "Log loss is undefined because the model gives no probabilities."
    )


def test_undefined_metrics_say_why_and_are_never_nan() -> None:
    one_class = classification_metrics(["a", "a"], ["a", "b"], ["a", "b"], proba=[[0.9, 0.1]] * 2)
    assert one_class.values["ROC AUC"] is None
    assert "every test row is of one class ('a')" in one_class.reasons["ROC AUC"]
    assert one_class.values["Log loss"] is not None
    no_scores = classification_metrics(["a", "b", "c"], ["a", "b", "b"], ["a", "b", "c"])
    assert no_scores.values["ROC AUC"] is None
    assert "needs class probabilities" in no_scores.reasons["ROC AUC"]
    unseen = classification_metrics(
        ["a", "z"], ["a", "a"], ["a", "b"], proba=[[0.9, 0.1], [0.8, 0.2]]
    )
    assert "'z', a class the model never saw in training" in unseen.reasons["ROC AUC"]
    assert "'z'" in unseen.reasons["Log loss"]
    missing_class = classification_metrics(
        ["a", "b", "a"], ["a", "b", "a"], ["a", "b", "c"], proba=[[0.8, 0.1, 0.1]] * 3
    )
    assert "'c' has no test rows" in missing_class.reasons["ROC AUC"]
    empty = classification_metrics([], [], ["a", "b"])
    assert all(v is None for v in empty.values.values())
    for result in (one_class, no_scores, unseen, missing_class, empty):
        for name, value in result.values.items():
            assert value is None or np.isfinite(value)
            assert value is not None or result.reasons[name].endswith(".")


def test_svc_without_probabilities_uses_its_scores_for_two_classes() -> None:
    frame = penguins()
    trained = train_model(frame, "svc", {"probability": False}, TrainConfig(target="sex"))
    assert trained.y_proba is None and trained.y_score is not None
    assert trained.metrics.values["ROC AUC"] == pytest.approx(
        skm.roc_auc_score([t == "male" for t in trained.y_test], trained.y_score)
    )
    assert trained.metrics.values["Log loss"] is None
    meta = meta_of(trained)
    assert not an.probability_histogram(meta).ok
    assert an.roc_curve(meta).ok
    assert (
        predict_frame(
            {"model": trained.pipeline, "metadata": {"data": trained.data_info}}, frame.head(3)
        ).probability_columns
        == {}
    )


def test_hundreds_of_classes_keep_bounded_details() -> None:
    rng = np.random.default_rng(0)
    labels = [f"c{i:03d}" for i in range(120)]
    true = rng.choice(labels, 2000)
    pred = np.where(rng.random(2000) < 0.6, true, rng.choice(labels, 2000))
    details = class_details(true, pred, labels)
    matrix = details["confusion_matrix"]
    assert len(matrix["labels"]) == 50 and matrix["labels"][-1] == OTHER_CLASSES
    assert len(details["per_class"]) == 49
    assert sum(map(sum, matrix["counts"])) == 2000
    assert details["classes_total"] == 120 and details["classes_shown"] == 49
    assert "the other 71 are merged into '(other classes)'" in details["note"]
    kept = {row["class"] for row in details["per_class"]}
    counts = pd.Series(true).value_counts()
    assert min(counts[list(kept)]) >= max(counts.drop(list(kept)))


def test_too_many_classes_and_a_regression_kind_on_classes_are_refused() -> None:
    frame = pd.DataFrame({"x": np.arange(600.0), "label": [f"v{i % 300}" for i in range(600)]})
    with pytest.raises(TrainingError, match=f"300 different values, more than the {MAX_CLASSES}"):
        train_model(frame, "dummy", None, TrainConfig(target="label"))
    with pytest.raises(TrainingError) as info:
        train_model(penguins(), "ridge", None, TrainConfig(target="species"))
    assert str(info.value) == (
        "'species' holds text (3 different values), so each value is a class, and Ridge is a "
        "regression model; choose a classification model (dummy, logistic_regression, "
        f"decision_tree, random_forest, gradient_boosting, svc, knn, mlp{BOOSTED}) or set the "
        "task to regression."
    )
    assert set(CATALOG) != set(CLASSIFICATION_CATALOG)


def test_a_class_with_one_row_gives_a_plain_split_with_a_note() -> None:
    frame = iris_numeric()
    frame.loc[0, "class"] = 7  # a class of its own, one row
    trained = train_model(frame, "dummy", None, TrainConfig(target="class"))
    assert trained.data_info["stratified"] is False
    assert any(
        n.startswith("The split is a plain random one, not stratified: class 7 has only 1 row")
        for n in trained.notes
    )


def test_roc_points_are_thinned_and_keep_the_corners() -> None:
    rng = np.random.default_rng(1)
    true = rng.integers(0, 2, 5000)
    score = rng.random(5000) + true * 0.3
    points = roc_points(true, score, 1, limit=50)
    assert points is not None and len(points["fpr"]) <= 50
    assert (points["fpr"][0], points["tpr"][0]) == (0.0, 0.0)
    assert (points["fpr"][-1], points["tpr"][-1]) == (1.0, 1.0)
    assert roc_points([1, 1], [0.3, 0.4], 1) is None


# --------------------------------------------------------------------------- views


def test_analysis_views_of_a_classifier() -> None:
    trained = train_model(
        penguins(), "decision_tree", {"max_depth": 2}, TrainConfig(target="species")
    )
    meta = meta_of(trained, "tree")
    assert an.is_classification(meta) and an.model_task(meta) == "classification"
    matrix = an.confusion_matrix(meta)
    assert matrix.labels == ["Adelie", "Chinstrap", "Gentoo"] and matrix.whole_test_set
    assert matrix.total == len(trained.y_test)
    for row, rates in zip(matrix.counts, matrix.rates, strict=True):
        assert sum(r for r in rates if r is not None) == pytest.approx(1.0 if sum(row) else 0)
    per_class = an.per_class_metrics(meta)
    assert [r.label for r in per_class.rows] == matrix.labels
    assert [r.recall for r in per_class.rows] == pytest.approx(
        [matrix.rates[i][i] for i in range(3)]
    )
    histogram = an.probability_histogram(meta, bins=5)
    assert histogram.ok and len(histogram.edges) == 6
    assert sum(histogram.right) + sum(histogram.wrong) == len(trained.y_test)
    assert sum(histogram.wrong) == int((trained.y_test != trained.y_pred).sum())
    assert not an.roc_curve(meta).ok  # three classes
    rows = an.class_error_rows(meta, wrong_only=True)
    assert rows and all(not r.correct for r in rows)
    assert {r.row for r in rows} <= set(int(v) for v in trained.test_data_rows)
    assert an.importance_title("permutation", "classification").endswith("(accuracy drop)")
    assert an.metric_names([meta]) == list(CLASSIFICATION_METRIC_NAMES)
    assert an.is_higher_better("Balanced accuracy") and not an.is_higher_better("Log loss")
    assert not an.predictions_overlay([meta]).ok


def test_errors_export_of_a_classifier(tmp_path: Path) -> None:
    trained = train_model(penguins(), "knn", None, TrainConfig(target="species"))
    meta = meta_of(trained, "knn model")
    path = an.export_errors_csv(meta, tmp_path)
    with path.open() as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["data_row", "actual", "predicted", "probability", "correct"]
    assert len(rows) == 1 + len(trained.y_test)
    data = penguins()
    for row in rows[1:6]:
        assert data.loc[int(row[0]) - 1, "species"] == row[1]
        assert 0 < float(row[3]) <= 1 and row[4] in ("yes", "no")


def test_compare_ranks_classifiers_by_balanced_accuracy_and_never_across_tasks() -> None:
    frame = penguins()
    from tuidash.core.data import LoadedData

    loaded = LoadedData(frame=frame, source="penguins.csv", sha256="ab" * 32, format="csv")
    dummy = meta_of(train_model(loaded, "dummy", None, TrainConfig(target="species")), "d")
    forest = meta_of(
        train_model(loaded, "random_forest", {"n_estimators": 10}, TrainConfig(target="species")),
        "f",
    )
    groups = an.comparison_groups([dummy, forest])
    assert len(groups) == 1 and groups[0].metric == "Balanced accuracy"
    assert groups[0].label == "'species' of penguins.csv (classification)"
    choice = an.recommend([dummy, forest])
    assert (choice.name, choice.metric) == ("f", "Balanced accuracy")
    assert choice.text.startswith("Recommended: f, Balanced accuracy ")
    assert an.recommend([dummy, forest], metric="F1 macro").metric == "F1 macro"
    assert an.best_per_group([dummy, forest]) == {"f"}
    # The same target as a regression (year chosen as a number) is never ranked with them.
    as_number = meta_of(
        train_model(loaded, "ridge", None, TrainConfig(target="year", task="regression")), "r"
    )
    as_classes = meta_of(train_model(loaded, "dummy", None, TrainConfig(target="year")), "c")
    assert len(an.comparison_groups([as_number, as_classes])) == 2
    assert "different tasks" in (an.comparable([as_number, as_classes]) or "")


# --------------------------------------------------------------------------- predict


def test_predict_writes_the_class_and_one_probability_column_per_class() -> None:
    frame = penguins()
    trained = train_model(
        frame, "random_forest", {"n_estimators": 10}, TrainConfig(target="species")
    )
    entry = {"model": trained.pipeline, "metadata": {"data": trained.data_info}}
    probe = frame.head(5).copy()  # keeps its species column: an extra column is ignored
    probe["probability_Adelie"] = 0.0  # a taken name gets a suffix
    result = predict_frame(entry, probe, model_name="rf")
    assert list(result.probability_columns.values()) == ["Adelie", "Chinstrap", "Gentoo"]
    assert list(result.probability_columns) == [
        "probability_Adelie_2",
        "probability_Chinstrap",
        "probability_Gentoo",
    ]
    table = result.frame[list(result.probability_columns)].to_numpy()
    np.testing.assert_allclose(table.sum(axis=1), 1.0)
    best = [
        result.probability_columns[c]
        for c in result.frame[list(result.probability_columns)].astype(float).idxmax(axis=1)
    ]
    assert result.values() == best
    assert set(result.probabilities()) == {"Adelie", "Chinstrap", "Gentoo"}


# --------------------------------------------------------------------------- fallbacks


def test_views_of_an_entry_saved_without_details_use_the_stored_sample() -> None:
    trained = train_model(penguins(), "logistic_regression", None, TrainConfig(target="sex"))
    meta = meta_of(trained)
    block = meta["predictions"]["classification"]
    del block["confusion_matrix"], block["roc_curve"]
    matrix = an.confusion_matrix(meta)
    expected = skm.confusion_matrix(trained.y_test, trained.y_pred, labels=["female", "male"])
    assert matrix.counts == expected.tolist() and matrix.whole_test_set
    curve = an.roc_curve(meta)
    fpr, tpr, _ = skm.roc_curve(
        [t == "male" for t in trained.y_test], trained.y_proba[:, 1], drop_intermediate=False
    )
    assert (
        curve.ok and curve.fpr == pytest.approx(list(fpr)) and curve.tpr == pytest.approx(list(tpr))
    )


def test_time_ordered_test_rows_with_a_class_unseen_in_training_say_why() -> None:
    # Penguins are sorted by species, so the last rows hold a species training never saw.
    trained = train_model(penguins(), "dummy", None, TrainConfig(target="species", keep_order=True))
    assert trained.data_info["stratified"] is False
    assert trained.metrics.values["ROC AUC"] is None
    assert (
        "'Chinstrap', a class the model never saw in training"
        in (trained.metrics.reasons["ROC AUC"])
    )
    assert trained.metrics.values["Accuracy"] is not None


def test_workflows_decide_the_task_and_name_classifiers_apart(tmp_path: Path) -> None:
    from tuidash.services import workflows

    store = ModelPersistence(tmp_path / "store")
    source = str(DATA / "penguins.csv")
    request = workflows.TrainRequest(
        target="species", kind="random_forest", params={"n_estimators": 5}, source=source
    )
    assert workflows.check_request(request)["n_estimators"] == 5
    outcome = workflows.train_and_save(store, request)
    assert outcome.saved.name == "Random Forest classifier"
    assert outcome.trained.task == "classification"
    choice = workflows.resolve_task(request, outcome.data)
    assert choice.task == "classification" and "holds text" in choice.reason
    regression = workflows.TrainRequest(
        target="body_mass_g", kind="random_forest", params={"n_estimators": 5}, source=source
    )
    assert workflows.train_and_save(store, regression).saved.name == "Random Forest"
    rows = {r["name"]: r["task"] for r in store.list_models(predictions=False)}
    assert rows == {"Random Forest classifier": "classification", "Random Forest": "regression"}
    with pytest.raises(Exception, match="'svc' is a classification kind"):
        workflows.check_request(
            workflows.TrainRequest(target="x", kind="svc", source=source, task="regression")
        )
    with pytest.raises(TrainingError, match="The task must be one of auto, regression"):
        workflows.check_request(
            workflows.TrainRequest(target="x", kind="svc", source=source, task="guess")
        )
