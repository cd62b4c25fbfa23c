"""Parameter search on this machine: ranges a person types, candidates, folds, the record,
cancel, and the best candidate saved like any model."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from tuidash.core.catalog import ParamError, get_kind
from tuidash.core.errors import TrainingError
from tuidash.core.progress import TrainingCancelled
from tuidash.core.search import (
    MAX_CANDIDATES,
    SearchError,
    SearchSpec,
    build_space,
    default_space,
    fit_and_score,
    fold_splits,
    grid_candidates,
    parse_range,
    random_candidates,
    search_model,
    training_split,
)
from tuidash.core.training import TrainConfig, train_model


def table(rows: int = 120) -> pd.DataFrame:
    """A regression table with a useful, a noisy and a text feature."""
    rng = np.random.default_rng(0)
    x1 = rng.uniform(0, 10, rows)
    x2 = rng.normal(0, 1, rows)
    city = np.array(["oslo", "lima", "pune"])[np.arange(rows) % 3]
    y = 3 * x1 + (city == "lima") * 4 + rng.normal(0, 0.5, rows)
    return pd.DataFrame({"x1": x1, "x2": x2, "city": city, "y": y})


# --------------------------------------------------------------------------- ranges


def test_a_range_of_whole_numbers_is_parsed_with_the_catalogs_bounds() -> None:
    dim = parse_range(get_kind("random_forest"), "n_estimators=50:500")
    assert (dim.low, dim.high, dim.integer, dim.log) == (50, 500, True, False)
    assert dim.text() == "50:500"
    assert dim.grid() == [50, 200, 350, 500]


def test_a_log_range_spreads_grid_points_over_the_decades() -> None:
    dim = parse_range(get_kind("ridge"), "alpha=0.01:100:log")
    assert dim.log and dim.grid() == [0.01, 0.215443, 4.64159, 100.0]


def test_a_list_may_hold_none_and_layer_sizes_use_bars() -> None:
    assert parse_range(get_kind("random_forest"), "max_depth=none,5,10").values == (None, 5, 10)
    layers = parse_range(get_kind("mlp"), "hidden_layer_sizes=100|64,32")
    assert layers.values == ((100,), (64, 32))
    assert layers.text() == "100|64,32"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("n_estimators=500:50", ["n_estimators", "low to high"]),
        ("n_estimators=0:50", ["n_estimators", "from 1 to 2000"]),
        ("n_estimators=5:x", ["n_estimators", "'x'"]),
        ("trees=5:50", ["no parameter 'trees'", "n_estimators"]),
        ("n_estimators", ["NAME=LOW:HIGH"]),
        ("max_depth=none:5", ["two numbers"]),
        ("n_estimators=1:9:9", ["LOW:HIGH:log"]),
    ],
)
def test_a_bad_range_is_one_sentence_that_names_the_parameter(text: str, words: list[str]) -> None:
    with pytest.raises(ParamError) as caught:
        parse_range(get_kind("random_forest"), text)
    message = caught.value.message
    assert message.endswith(".") and "\n" not in message
    for word in words:
        assert word in message


def test_a_range_of_a_choice_asks_for_a_list() -> None:
    with pytest.raises(ParamError, match="list of values"):
        parse_range(get_kind("svr"), "kernel=1:3")


def test_a_log_range_must_start_above_zero() -> None:
    with pytest.raises(ParamError, match="above 0"):
        parse_range(get_kind("ridge"), "alpha=0:10:log")


def test_every_kind_has_a_default_space_inside_its_catalog_ranges() -> None:
    from tuidash.core.catalog import CATALOG

    for kind in CATALOG.values():
        space = default_space(kind)
        assert set(space) == {p.name for p in kind.params}
        for candidate in random_candidates(space, 5, 0):
            kind.validate(candidate)  # raises if a default range left the catalog's bounds


def test_typed_ranges_replace_only_their_parameters() -> None:
    kind = get_kind("random_forest")
    space = build_space(kind, ["n_estimators=10:20"])
    assert space["n_estimators"].text() == "10:20"
    assert space["max_depth"] == default_space(kind)["max_depth"]


# --------------------------------------------------------------------------- candidates


def test_random_candidates_are_distinct_and_repeat_with_the_random_state() -> None:
    space = build_space(get_kind("random_forest"), ["n_estimators=10:500"])
    first = random_candidates(space, 40, 7)
    assert len(first) == 40
    assert len({repr(sorted(c.items())) for c in first}) == 40
    assert random_candidates(space, 40, 7) == first
    assert random_candidates(space, 40, 8) != first


def test_a_small_space_gives_fewer_random_candidates_than_asked() -> None:
    space = build_space(get_kind("knn"), ["n_neighbors=1,2", "weights=uniform"])
    assert len(random_candidates(space, 30, 0)) == 2


def test_a_grid_tries_every_combination_and_refuses_a_huge_one() -> None:
    kind = get_kind("random_forest")
    space = build_space(kind, ["n_estimators=10,20", "max_depth=none,3", "min_samples_split=2"])
    assert len(grid_candidates(space)) == 4
    wide = {f"n{i}": parse_range(kind, "n_estimators=1:100") for i in range(6)}
    with pytest.raises(SearchError, match=f"at most {MAX_CANDIDATES:,}"):
        grid_candidates(wide)


def test_the_metric_must_suit_the_task() -> None:
    with pytest.raises(SearchError, match="R2, MAE"):
        SearchSpec(metric="Accuracy").validate(get_kind("ridge"))
    assert SearchSpec(metric="rmse").validate(get_kind("ridge"))[1] == "RMSE"
    with pytest.raises(SearchError, match="2 to 20"):
        SearchSpec(cv=1).validate(get_kind("ridge"))


# --------------------------------------------------------------------------- the split


def test_the_search_folds_are_drawn_from_the_training_rows_train_model_uses() -> None:
    frame = table()
    config = TrainConfig(target="y", random_state=3)
    split = training_split(frame, get_kind("ridge"), config)
    trained = train_model(frame, "ridge", {}, config)
    assert len(split.X) + len(trained.y_test) == len(frame)
    assert split.test_rows == len(trained.y_test)
    # The training targets are the table's targets minus the test ones.
    rest = sorted(set(frame["y"]) - set(trained.y_test.tolist()))
    assert sorted(split.y.tolist()) == rest


def test_classifiers_get_stratified_folds() -> None:
    from sklearn.tree import DecisionTreeClassifier

    y = pd.Series(["a"] * 30 + ["b"] * 10)
    X = pd.DataFrame({"x": range(40)})
    folds, name = fold_splits(X, y, 5, False, classifier=True, random_state=0)
    assert name == "stratified k-fold"
    for _, valid in folds:
        assert sorted(y.iloc[valid].tolist()) == ["a"] * 6 + ["b"] * 2
    from sklearn.pipeline import Pipeline

    template = Pipeline([("model", DecisionTreeClassifier(random_state=0))])
    result = fit_and_score(
        template, {"max_depth": 2}, X, y, folds[0][0], folds[0][1], "accuracy", True, 0, 0
    )
    assert result.error is None and result.score is not None and 0 <= result.score <= 1
    few = y.iloc[28:].reset_index(drop=True)  # two of "a", ten of "b"
    with pytest.raises(SearchError, match="'a' has 2"):
        fold_splits(X.iloc[:12], few, 5, False, True, 0)


# --------------------------------------------------------------------------- the search


def test_a_random_search_refits_its_best_candidate_and_records_every_one() -> None:
    spec = SearchSpec(method="random", n_iter=6, cv=3, ranges=["alpha=0.001:1000:log"])
    reports: list[tuple[float, str]] = []
    result = search_model(
        table(),
        "ridge",
        TrainConfig(target="y"),
        spec,
        progress=lambda f, t: reports.append((f, t)),
    )
    record = result.record
    assert record["candidates_tried"] == 6 and record["fits"] == 18
    means = [row["mean"] for row in record["candidates"]]
    assert means == sorted(means, reverse=True)  # R2: best first
    assert [row["rank"] for row in record["candidates"]] == list(range(1, 7))
    assert all(len(row["scores"]) == 3 for row in record["candidates"])
    best = record["candidates"][0]["params"]
    assert result.trained.params["alpha"] == best["alpha"]
    assert result.trained.cv is not None and result.trained.cv["mean"] == record["best"]["mean"]
    # Progress counts candidates x folds, then the refit.
    texts = [t for _, t in reports]
    assert "Searching: 18 of 18 fits (6 candidates × 3 folds)" in texts
    assert any(t.startswith("Refitting the best candidate") for t in texts)
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert result.cluster is None and record["where"] == "local"


def classes_table(rows: int = 120) -> pd.DataFrame:
    """A classification table: the class follows x1 (and a little the city)."""
    frame = table(rows)
    frame["y"] = np.where(frame["x1"] > 5, "high", "low")
    return frame


def test_a_text_target_is_searched_as_a_classification_with_its_choices() -> None:
    """A search on a text target (task auto) uses the classifier: its class_weight choice
    ("none" as well as "balanced") fits, the metric is a classification one."""
    spec = SearchSpec(
        method="grid", cv=3, ranges=["n_estimators=5,10", "class_weight=none,balanced"]
    )
    result = search_model(
        classes_table(),
        "random_forest",
        TrainConfig(target="y"),
        spec,
        params={"max_depth": 3, "min_samples_split": 2},
    )
    record = result.record
    assert record["metric"] == "Accuracy" and record["splitter"] == "stratified k-fold"
    assert record["candidates_tried"] == 4 and record["failed_fits"] == 0
    tried = {row["params"]["class_weight"] for row in record["candidates"]}
    assert tried == {"none", "balanced"}
    assert all(row["mean"] is not None and row["mean"] > 0.8 for row in record["candidates"])
    assert result.trained.task == "classification"
    assert set(result.trained.y_pred) <= {"high", "low"}
    with pytest.raises(SearchError, match="classification search can optimise"):
        search_model(classes_table(), "random_forest", TrainConfig(target="y"),
                     SearchSpec(metric="R2"))  # fmt: skip


def test_a_boosted_classifier_is_searched_inside_its_label_wrapper() -> None:
    pytest.importorskip("xgboost")
    spec = SearchSpec(method="random", n_iter=2, cv=2, ranges=["n_estimators=5:20"])
    result = search_model(
        classes_table(), "xgboost", TrainConfig(target="y"), spec, params={"max_depth": 2}
    )
    assert result.record["failed_fits"] == 0
    assert result.trained.params["n_estimators"] == result.record["best"]["params"]["n_estimators"]
    assert set(result.trained.y_pred) <= {"high", "low"}


def test_a_lower_is_better_metric_ranks_the_smallest_first() -> None:
    spec = SearchSpec(method="grid", cv=3, metric="RMSE", ranges=["alpha=0.01,1000"])
    record = search_model(table(), "ridge", TrainConfig(target="y"), spec).record
    rows = record["candidates"]
    assert record["higher_is_better"] is False
    assert rows[0]["mean"] < rows[1]["mean"] and rows[0]["params"]["alpha"] == 0.01
    assert rows[0]["mean"] > 0  # RMSE in its own units, not sklearn's negated score


def test_two_local_processes_pick_the_same_best_as_one() -> None:
    spec = SearchSpec(method="random", n_iter=4, cv=3, ranges=["n_estimators=5:30"])
    one = search_model(table(), "random_forest", TrainConfig(target="y"), spec).record
    spec.n_jobs = 2
    two = search_model(table(), "random_forest", TrainConfig(target="y"), spec).record
    assert two["best"] == one["best"]
    assert [r["params"] for r in two["candidates"]] == [r["params"] for r in one["candidates"]]


def test_cancel_stops_the_search_between_fits() -> None:
    cancel = threading.Event()
    fits: list[str] = []

    def progress(fraction: float, text: str) -> None:
        if text.startswith("Searching") and not text.startswith("Searching: 0 "):
            fits.append(text)
            if len(fits) == 3:
                cancel.set()

    spec = SearchSpec(method="random", n_iter=10, cv=3, ranges=["n_estimators=5:20"])
    with pytest.raises(TrainingCancelled):
        search_model(
            table(),
            "random_forest",
            TrainConfig(target="y"),
            spec,
            progress=progress,
            cancel=cancel,
        )
    assert len(fits) == 3  # no fit reported after the cancel, far from the 30 there were


def test_a_candidate_that_cannot_fit_a_fold_is_refused_before_any_fit() -> None:
    spec = SearchSpec(method="grid", cv=3, ranges=["n_neighbors=5,500"])
    reports: list[str] = []
    with pytest.raises(TrainingError) as caught:
        search_model(
            table(40), "knn", TrainConfig(target="y"), spec, progress=lambda f, t: reports.append(t)
        )
    assert "n_neighbors=500" in caught.value.message and "\n" not in caught.value.message
    assert not any(t.startswith("Searching") for t in reports)


# --------------------------------------------------------------------------- services


def test_the_best_candidate_is_saved_with_its_search_record(tmp_path) -> None:
    from tuidash.core.store import ModelPersistence
    from tuidash.services.search import search_and_save
    from tuidash.services.workflows import TrainRequest

    store = ModelPersistence(str(tmp_path / "store"))
    request = TrainRequest(target="y", kind="ridge", data=table(), name="Tuned ridge")
    spec = SearchSpec(method="random", n_iter=5, cv=3)
    outcome = search_and_save(store, request, spec)
    entry = store.open_model("Tuned ridge")
    doc = entry["metadata"]
    assert doc["search"]["candidates_tried"] == 5
    assert doc["search"]["best"]["params"]["alpha"] == doc["params"]["alpha"]
    assert doc["search"]["space"]["alpha"]["log"] is True
    assert "cluster" not in doc
    assert outcome.saved.name == "Tuned ridge"
    rows = table().drop(columns="y").iloc[:5]
    assert np.allclose(entry["model"].predict(rows), outcome.trained.pipeline.predict(rows))


def test_a_cancelled_search_saves_nothing(tmp_path) -> None:
    from tuidash.core.store import ModelPersistence
    from tuidash.services.search import search_and_save
    from tuidash.services.workflows import TrainRequest

    store = ModelPersistence(str(tmp_path / "store"))
    request = TrainRequest(target="y", kind="ridge", data=table())
    with pytest.raises(TrainingCancelled):
        search_and_save(store, request, SearchSpec(n_iter=5, cv=3), cancel=lambda: True)
    assert store.list_models() == []


def test_a_parameter_given_a_value_is_fixed_not_searched() -> None:
    spec = SearchSpec(method="grid", cv=3, ranges=["alpha=0.1,10"])
    result = search_model(
        table(), "ridge", TrainConfig(target="y"), spec, params={"fit_intercept": "false"}
    )
    assert list(result.record["space"]) == ["alpha"]
    assert result.record["fixed"] == {"fit_intercept": False}
    assert result.trained.params["fit_intercept"] is False
    with pytest.raises(SearchError, match="at least one a range"):
        search_model(
            table(),
            "ridge",
            TrainConfig(target="y"),
            SearchSpec(),
            params={"alpha": 1, "fit_intercept": 1},
        )


# --------------------------------------------------------------------------- the view


def test_the_candidates_view_is_sorted_and_charts_choices_by_position() -> None:
    from tuidash.core.search import candidate_cells, chart_parameters, score_points

    spec = SearchSpec(method="grid", cv=2, ranges=["alpha=0.01,1,100", "fit_intercept=true,false"])
    record = search_model(table(), "ridge", TrainConfig(target="y"), spec).record
    headers, rows = candidate_cells(record)
    assert headers == ["#", "R2", "±", "alpha", "fit_intercept"]
    assert [r[0] for r in rows] == [str(i) for i in range(1, 7)]
    assert chart_parameters(record) == ["alpha", "fit_intercept"]
    by_choice = score_points(record, "fit_intercept")
    assert sorted(set(by_choice.x)) == [0.0, 1.0] and set(by_choice.labels) == {"true", "false"}
    by_alpha = score_points(record, "alpha")
    assert sorted(set(by_alpha.x)) == [0.01, 1.0, 100.0] and not by_alpha.log
