"""XGBoost, LightGBM and CatBoost (issue 15, tuidash[boost]): each kind trains through the
same path as the others, saves, loads and predicts the same; progress and cancel between
rounds; the allowlist holds their exact classes only; without the extra a model of theirs
is listed as needing it, and the original app's pickled CatBoost model loads."""

from __future__ import annotations

import importlib
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from store_helpers import frame_and_target, original_entry

from tuidash.core import boosting
from tuidash.core.catalog import CATALOG, get_kind
from tuidash.core.progress import ProgressReporter
from tuidash.core.store import ModelPersistence
from tuidash.core.training import TrainConfig, TrainingCancelled, TrainingError, train_model
from tuidash.core.unpickle import (
    ALLOWED_GLOBALS,
    BOOST_GLOBALS,
    NeedsBoostExtra,
    UnpickleRefused,
    restricted_loads,
)

REPO = Path(__file__).resolve().parents[2]
KINDS = boosting.BOOST_PACKAGES
ROUNDS = {"xgboost": "n_estimators", "lightgbm": "n_estimators", "catboost": "iterations"}


class _Recorder(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.seen: set[tuple[str, str]] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.seen.add((module, name))
        return super().find_class(module, name)


def table() -> pd.DataFrame:
    """Numbers, text categories and missing values, with a numeric target ``y``."""
    frame, target = frame_and_target()
    return frame.assign(y=target)


def probe_rows() -> pd.DataFrame:
    """Rows to predict on, one with a category never seen in training."""
    frame, _ = frame_and_target()
    probe = frame.head(20).copy()
    probe.loc[0, "city"] = "Unseen city"
    return probe


@pytest.fixture(autouse=True)
def _no_library_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CatBoost would write a catboost_info/ folder into the working directory if asked to.
    monkeypatch.chdir(tmp_path)


# --------------------------------------------------------------------------- catalog


def test_the_kinds_are_in_the_catalog_with_ranges_and_help() -> None:
    for kind_id in KINDS:
        kind = CATALOG[kind_id]
        assert kind.task == "regression"
        names = {spec.name for spec in kind.params}
        assert ROUNDS[kind_id] in names and "learning_rate" in names and "subsample" in names
        assert names & {"max_depth", "depth"}
        for spec in kind.params:
            assert spec.help.endswith(".") and spec.range_text()
    # Out of range: one sentence that names the parameter and the range.
    with pytest.raises(Exception, match=r"learning_rate must be a number from 0\.0001 to 1"):
        get_kind("xgboost").validate({"learning_rate": 2})


def test_classification_kinds_are_defined_for_the_classification_catalog() -> None:
    kinds = boosting.boost_kinds("classification")
    assert [k.id for k in kinds] == list(KINDS)
    assert {k.task for k in kinds} == {"classification"}
    assert [k.estimator.rpartition(".")[2] for k in kinds] == [
        "XGBClassifier",
        "LGBMClassifier",
        "CatBoostClassifier",
    ]
    # Same parameters as the regression kinds.
    for kind in kinds:
        assert [p.name for p in kind.params] == [p.name for p in CATALOG[kind.id].params]


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("kind_id", KINDS)
def test_each_kind_trains_saves_loads_and_predicts_the_same(tmp_path: Path, kind_id: str) -> None:
    seen: list[str] = []
    trained = train_model(
        table(),
        kind_id,
        {ROUNDS[kind_id]: 30, "learning_rate": 0.2},
        TrainConfig("y", cv_folds=2),
        progress=lambda fraction, text: seen.append(text),
    )
    assert trained.metrics.values["R2"] is not None and trained.metrics.values["R2"] > 0.5
    assert trained.feature_importance and set(trained.feature_importance) == {
        "age",
        "income",
        "city",
        "plan",
    }
    # Rounds were reported in the cross-validation folds and in the final fit.
    assert "Fitted 30 of 30 rounds" in seen
    assert "Cross-validation fold 2 of 2: Fitted 30 of 30 rounds" in seen

    data = pickle.dumps(trained.pipeline, protocol=5)
    recorder = _Recorder(data)
    recorder.load()
    assert recorder.seen <= ALLOWED_GLOBALS, recorder.seen - ALLOWED_GLOBALS
    assert not any(module.startswith("tuidash") for module, _ in recorder.seen)  # no callback

    store = ModelPersistence(tmp_path / "store")
    ok, message = store.save_model(kind_id, trained.to_model_data())
    assert ok, message
    loaded = ModelPersistence(tmp_path / "store").load_model(kind_id)
    assert loaded is not None
    assert loaded["metadata"]["model_type"] == kind_id
    np.testing.assert_array_equal(
        loaded["model"].predict(probe_rows()), trained.pipeline.predict(probe_rows())
    )


@pytest.mark.parametrize("kind_id", KINDS)
@pytest.mark.parametrize("labels", ["numbers", "text"])
def test_each_classifier_fits_saves_loads_and_predicts_the_same(
    tmp_path: Path, kind_id: str, labels: str
) -> None:
    """Classification is wired into training elsewhere; the estimators round-trip already."""
    frame, _ = frame_and_target()
    X = frame[["age", "income"]].fillna(40).to_numpy()
    codes = np.digitize(X[:, 1], np.quantile(X[:, 1], [0.33, 0.66]))
    names = np.array(["low", "mid", "high"])
    y = codes if labels == "numbers" else names[codes]
    kind = {k.id: k for k in boosting.boost_kinds("classification")}[kind_id]
    model = kind.build({ROUNDS[kind_id]: 10})
    boosting.fit_rounds(model, kind_id, kind.display_name, X, y, ProgressReporter(None, None), 0, 1)
    data = pickle.dumps(model, protocol=5)
    recorder = _Recorder(data)
    recorder.load()
    assert recorder.seen <= ALLOWED_GLOBALS, recorder.seen - ALLOWED_GLOBALS
    loaded = restricted_loads(data)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # XGBoost learns codes 0..n-1, yet every kind answers in the labels it was given.
    assert list(loaded.classes_) == sorted(set(y.tolist()))
    assert set(loaded.predict(X).tolist()) <= set(y.tolist())


# ------------------------------------------------------------------- classification


DATA = REPO / "tests" / "data"
CLASS_CASES = {
    # name: (file, target, rows kept): text and whole-number labels, two and three classes.
    "text, three classes": ("penguins.csv", "species", None),
    "text, two classes": ("penguins.csv", "sex", None),
    "numbers, three classes": ("iris_numeric.csv", "class", None),
    "numbers, two classes": ("iris_numeric.csv", "class", [1, 2]),
}


def test_the_classifiers_join_the_classification_catalog_under_their_own_names() -> None:
    from tuidash.core.catalog import CLASSIFICATION_CATALOG

    for kind_id in KINDS:
        kind = CLASSIFICATION_CATALOG[kind_id]
        assert kind.task == "classification"
        # Saved apart from the regressor of the same id, never as a version of it.
        assert kind.default_name == f"{kind.display_name} classifier"
        assert CATALOG[kind_id].default_name == kind.display_name
        assert get_kind(kind_id, "classification") is kind


@pytest.mark.parametrize("kind_id", KINDS)
@pytest.mark.parametrize("case", list(CLASS_CASES))
def test_each_classifier_trains_saves_loads_and_predicts_the_original_labels(
    tmp_path: Path, kind_id: str, case: str
) -> None:
    file, target, keep = CLASS_CASES[case]
    frame = pd.read_csv(DATA / file)
    if keep is not None:
        frame = frame[frame[target].isin(keep)].reset_index(drop=True)
    seen: list[str] = []
    trained = train_model(
        frame,
        kind_id,
        {ROUNDS[kind_id]: 20},
        TrainConfig(target, task="classification", cv_folds=2),
        progress=lambda fraction, text: seen.append(text),
    )
    labels = sorted(frame[target].dropna().unique().tolist())
    assert trained.task == "classification" and trained.classes == labels
    assert "Fitted 20 of 20 rounds" in seen
    assert "Cross-validation fold 2 of 2: Fitted 20 of 20 rounds" in seen
    values = trained.metrics.values
    assert values["Accuracy"] > 0.7
    assert values["ROC AUC"] is not None and values["ROC AUC"] > 0.8
    assert values["Log loss"] is not None and values["Log loss"] > 0
    assert trained.probability_method == "predict_proba"

    store = ModelPersistence(tmp_path / "store")
    ok, message = store.save_model("m", trained.to_model_data())
    assert ok, message
    loaded = ModelPersistence(tmp_path / "store").load_model("m")
    assert loaded is not None
    model = loaded["model"]
    rows = frame.drop(columns=[target]).head(50)
    assert list(model.classes_) == labels
    predicted = model.predict(rows)
    assert set(predicted.tolist()) <= set(labels)
    np.testing.assert_array_equal(predicted, trained.pipeline.predict(rows))
    proba = model.predict_proba(rows)
    np.testing.assert_array_equal(proba, trained.pipeline.predict_proba(rows))
    # Columns follow classes_: the predicted label is the most probable column's.
    np.testing.assert_array_equal(np.asarray(labels, dtype=object)[proba.argmax(1)], predicted)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("kind_id", "title"),
    [
        ("xgboost", "Feature importance (gain)"),
        ("lightgbm", "Feature importance (gain)"),
        ("catboost", "Feature importance (prediction change)"),
        ("random_forest", "Feature importance (impurity decrease)"),
    ],
)
def test_the_analysis_says_what_a_boosting_importance_measures(kind_id: str, title: str) -> None:
    from tuidash.core import analysis

    for task in ("regression", "classification"):
        meta = {"model_type": kind_id, "task": task, "feature_importance_method": "impurity"}
        kind = analysis.importance_kind(meta)
        assert analysis.importance_title(kind, task) == title
        note = analysis.importance_note(kind, task)
        assert ("impurity" not in note and "reduce the error" not in note) or (
            kind_id == "random_forest"
        )


# --------------------------------------------------------------------------- progress, cancel


@pytest.mark.parametrize("kind_id", KINDS)
def test_cancel_stops_between_rounds(kind_id: str) -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def progress(fraction: float, text: str) -> None:
        seen.append(text)
        if text == "Fitted 5 of 50 rounds":
            cancel.set()

    with pytest.raises(TrainingCancelled):
        train_model(
            table(),
            kind_id,
            {ROUNDS[kind_id]: 50},
            TrainConfig("y"),
            progress=progress,
            cancel=cancel,
        )
    fitted = [t for t in seen if t.startswith("Fitted ")]
    assert fitted == [f"Fitted {n} of 50 rounds" for n in range(6)]


def test_progress_is_reported_about_a_hundred_times_however_many_rounds() -> None:
    seen: list[tuple[float, str]] = []
    train_model(
        table(),
        "lightgbm",
        {"n_estimators": 1000, "num_leaves": 4},
        TrainConfig("y"),
        progress=lambda fraction, text: seen.append((fraction, text)),
    )
    rounds = [(f, t) for f, t in seen if t.startswith("Fitted ")]
    assert 100 <= len(rounds) <= 102
    assert rounds[-1][1] == "Fitted 1000 of 1000 rounds"
    fractions = [f for f, _ in rounds]
    assert fractions == sorted(fractions)


@pytest.mark.parametrize("kind_id", ["xgboost", "lightgbm"])
def test_small_data_fits_on_one_thread_and_the_model_keeps_its_default(kind_id: str) -> None:
    frame, target = frame_and_target()
    X = frame[["age", "income"]].to_numpy()
    model = get_kind(kind_id).build({"n_estimators": 5})
    default = model.get_params()["n_jobs"]
    during: list[Any] = []
    reporter = ProgressReporter(lambda f, t: during.append(model.get_params()["n_jobs"]), None)
    boosting.fit_rounds(model, kind_id, kind_id, X, target.to_numpy(), reporter, 0, 1)
    assert set(during[1:]) == {1}  # every report after the first came from a round
    assert model.get_params()["n_jobs"] == default
    loaded = restricted_loads(pickle.dumps(model, protocol=5))
    assert loaded.get_params()["n_jobs"] == default
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_library_error_is_one_sentence() -> None:
    model = get_kind("catboost").build({"iterations": 5})
    with pytest.raises(TrainingError) as caught:
        boosting.fit_rounds(
            model,
            "catboost",
            "CatBoost",
            np.zeros((4, 2)),
            np.array([np.nan, 1.0, 2.0, 3.0]),
            ProgressReporter(None, None),
            0,
            1,
        )
    message = str(caught.value)
    assert message.startswith("CatBoost could not be trained on this data: ")
    assert "\n" not in message and "Traceback" not in message


# --------------------------------------------------------------------------- allowlist


@pytest.mark.parametrize(
    "name",
    [
        ("xgboost", "train"),
        ("xgboost.core", "_check_call"),
        ("xgboost.core", "Booster.__init__"),
        ("lightgbm", "train"),
        ("lightgbm.basic", "_safe_call"),
        ("catboost", "train"),
        ("catboost.core", "to_regressor"),
        # The public alias of an allowed class is refused too: exact (module, name) only.
        ("catboost", "CatBoostRegressor"),
        ("xgboost", "XGBRegressor"),
    ],
)
def test_nothing_else_of_the_boosting_packages_is_allowed(
    tmp_path: Path, name: tuple[str, str]
) -> None:
    module, attribute = name
    assert _exists(module, attribute), name  # a real name, so the refusal means something
    marker = tmp_path / "marker"
    body = pickle.dumps((str(marker),), protocol=2)[2:-1]
    data = b"\x80\x02" + f"c{module}\n{attribute}\n".encode() + body + b"R."
    with pytest.raises(UnpickleRefused) as caught:
        restricted_loads(data)
    assert not isinstance(caught.value, NeedsBoostExtra)
    assert f"{module}.{attribute}" in caught.value.message
    assert not marker.exists()


def _exists(module: str, dotted: str) -> bool:
    found: Any = importlib.import_module(module)
    for part in dotted.split("."):
        found = getattr(found, part, None)
    return found is not None


def test_the_boost_block_names_only_classes() -> None:
    for module, name in BOOST_GLOBALS:
        found = getattr(importlib.import_module(module), name)
        assert isinstance(found, type), (module, name)


# --------------------------------------------------------------------------- without the extra


def catboost_model() -> Any:
    from catboost import CatBoostRegressor

    frame, target = frame_and_target()
    return CatBoostRegressor(iterations=20, verbose=0, allow_writing_files=False).fit(
        frame[["age", "income"]], target
    )


def test_the_original_apps_catboost_model_loads_and_predicts(tmp_path: Path) -> None:
    model = catboost_model()
    base = tmp_path / "store"
    original_entry(base, "CatBoost", model)  # plain pickle.dump, the original JSON
    assert "model_file" not in json.loads((base / "metadata" / "CatBoost.json").read_text())
    store = ModelPersistence(base)
    loaded = store.load_model("CatBoost")
    assert loaded is not None, store.last_error
    rows = frame_and_target()[0][["age", "income"]]
    np.testing.assert_array_equal(loaded["model"].predict(rows), model.predict(rows))
    assert any("without a checksum" in note for note in loaded["warnings"])


def test_without_the_extra_a_boosting_model_is_listed_as_needing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / "store"
    original_entry(base, "CatBoost", catboost_model())
    original_entry(base, "Ridge")
    import tuidash.core.unpickle as unpickle

    monkeypatch.setattr(boosting, "package_installed", lambda package: package != "catboost")
    monkeypatch.setattr(unpickle, "_RESOLVED", {})
    store = ModelPersistence(base)
    assert store.load_model("CatBoost") is None
    assert store.last_error == (
        "Model 'CatBoost' was not loaded: needs tuidash[boost] (catboost) to load."
    )
    assert store.load_all_models() == (1, 2)
    [problem] = store.get_storage_info()["problems"]
    assert problem["name"] == "CatBoost"
    assert problem["reason"] == "needs tuidash[boost] (catboost) to load"


_BLOCKER = textwrap.dedent(
    """
    import sys
    BLOCKED = ("xgboost", "lightgbm", "catboost")

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    """
)


def run_without_the_extra(code: str, cwd: Path) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter where the three packages cannot be imported."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(
        [sys.executable, "-c", _BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_without_the_packages_tuidash_lists_and_says_what_to_install(tmp_path: Path) -> None:
    base = tmp_path / "store"
    original_entry(base, "CatBoost", catboost_model())
    original_entry(base, "Ridge")
    report = run_without_the_extra(
        f"""
        import json, sys
        from tuidash.core.catalog import CATALOG, get_kind, UnknownModelKind
        from tuidash.core.store import ModelPersistence
        store = ModelPersistence({str(base)!r})
        listed = sorted(e["name"] for e in store.list_saved_models())
        loaded = store.load_all_models()
        problems = store.get_storage_info()["problems"]
        try:
            get_kind("xgboost")
            unknown = None
        except UnknownModelKind as error:
            unknown = error.message
        print(json.dumps({{
            "kinds": list(CATALOG), "listed": listed, "loaded": list(loaded),
            "problems": [[p["name"], p["kind"], p["reason"]] for p in problems],
            "unknown": unknown,
            "imported": [m for m in ("xgboost", "lightgbm", "catboost") if m in sys.modules],
        }}))
        """,
        tmp_path,
    )
    assert not set(KINDS) & set(report["kinds"]) and "random_forest" in report["kinds"]
    assert report["listed"] == ["CatBoost", "Ridge"]
    assert report["loaded"] == [1, 2]
    assert report["problems"] == [
        ["CatBoost", "refused", "needs tuidash[boost] (catboost) to load"]
    ]
    assert report["unknown"] == (
        "The model kind 'xgboost' needs the optional extra tuidash[boost]: "
        "pip install 'tuidash[boost]' (or pip install xgboost)."
    )
    assert report["imported"] == []


def test_storage_says_to_install_the_extra_for_an_entry_that_only_needs_it(
    tmp_path: Path,
) -> None:
    base = tmp_path / "store"
    original_entry(base, "CatBoost", catboost_model())
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cli = _BLOCKER + "from tuidash.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    out = subprocess.run(
        [sys.executable, "-c", cli, "storage", "--verify", "--store", str(base)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "needs tuidash[boost] (catboost) to load" in out.stdout
    assert "Load it after installing the extra: pip install 'tuidash[boost]'" in out.stdout
    assert "tuidash models delete" not in out.stdout
    # A broken entry beside it still gets the remove hint.
    (base / "models" / "Broken.pkl").write_bytes(b"not a pickle")
    (base / "metadata" / "Broken.json").write_text("{}")
    out = subprocess.run(
        [sys.executable, "-c", cli, "storage", "--verify", "--store", str(base)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "pip install 'tuidash[boost]'" in out.stdout
    assert "Remove one with: tuidash models delete NAME" in out.stdout


def test_listing_the_catalog_imports_none_of_the_libraries(tmp_path: Path) -> None:
    code = (
        "import json, sys; from tuidash.core.catalog import CATALOG; "
        "print(json.dumps({'kinds': list(CATALOG), 'imported': "
        "[m for m in ('xgboost', 'lightgbm', 'catboost') if m in sys.modules]}))"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    report = json.loads(out.stdout)
    assert set(KINDS) <= set(report["kinds"])
    assert report["imported"] == []


# --------------------------------------------------------------------------- CLI


def test_cli_trains_and_predicts_with_each_kind_and_says_what_is_missing(tmp_path: Path) -> None:
    from test_cli import run, write_data

    data = write_data(tmp_path / "train.csv")
    new = write_data(tmp_path / "new.csv", rows=7, drop="y")
    store = tmp_path / "store"
    for kind_id in KINDS:
        name = f"{kind_id} small"
        trained = run(
            "train",
            str(data),
            "--target",
            "y",
            "--model",
            kind_id,
            "--param",
            f"{ROUNDS[kind_id]}=20",
            "--param",
            "learning_rate=0.3",
            "--name",
            name,
            "--json",
            cwd=tmp_path,
            store=store,
        )
        assert trained.returncode == 0, trained.stderr
        report = json.loads(trained.stdout)
        assert report["model_type"] == kind_id and report["name"] == name
        assert report["params"][ROUNDS[kind_id]] == 20 and report["metrics"]["R2"] > 0.5
        predicted = run("predict", name, str(new), "--json", cwd=tmp_path, store=store)
        assert predicted.returncode == 0, predicted.stderr
        # The same numbers as the saved model predicts in this process.
        loaded = ModelPersistence(store).load_model(name)
        assert loaded is not None
        expected = loaded["model"].predict(pd.read_csv(new))
        np.testing.assert_allclose(json.loads(predicted.stdout)["predictions"], expected)
    assert not (tmp_path / "catboost_info").exists()

    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cli = _BLOCKER + "from tuidash.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    for argv, sentence in (
        (
            ["predict", "catboost small", str(new)],
            "Model 'catboost small' was not loaded: needs tuidash[boost] (catboost) to load.",
        ),
        (
            ["train", str(data), "--target", "y", "--model", "xgboost"],
            "The model kind 'xgboost' needs the optional extra tuidash[boost]: "
            "pip install 'tuidash[boost]' (or pip install xgboost).",
        ),
    ):
        out = subprocess.run(
            [sys.executable, "-c", cli, *argv, "--store", str(store)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=300,
        )
        assert out.returncode == 1, out.stderr
        assert out.stderr.strip() == f"tuidash: {sentence}"


def test_cli_trains_a_lightgbm_classifier_on_penguins_and_predicts_species(tmp_path: Path) -> None:
    from test_cli import run

    store = tmp_path / "store"
    data = DATA / "penguins.csv"
    trained = run(
        "train",
        str(data),
        "--target",
        "species",
        "--task",
        "classification",
        "--model",
        "lightgbm",
        "--param",
        "n_estimators=30",
        "--json",
        cwd=tmp_path,
        store=store,
    )
    assert trained.returncode == 0, trained.stderr
    report = json.loads(trained.stdout)
    assert report["model_type"] == "lightgbm" and report["name"] == "LightGBM classifier"
    assert report["metrics"]["Accuracy"] > 0.9
    new = tmp_path / "new.csv"
    pd.read_csv(data).drop(columns=["species"]).head(12).to_csv(new, index=False)
    predicted = run("predict", "LightGBM classifier", str(new), "--json", cwd=tmp_path, store=store)
    assert predicted.returncode == 0, predicted.stderr
    result = json.loads(predicted.stdout)
    assert result["predictions"] == pd.read_csv(data)["species"].head(12).tolist()
    assert sorted(result["probabilities"]) == ["Adelie", "Chinstrap", "Gentoo"]
