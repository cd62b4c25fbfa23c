"""Pilot tests of classification in the dashboard (issue 15): the task choice and its
reason, the kinds of the chosen task, training classifiers on shipped data and seeing
their metrics, the classifier's Analysis views, and Predict's probability columns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pilot_helpers import section_shown, wait_for
from textual.app import App
from textual.message import Message
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Input, Select, SelectionList, Static, TabbedContent

from tuidash.core.text import number_text
from tuidash.ui import messages as msg
from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app

DATA = Path(__file__).resolve().parents[1] / "data"


def of_type(messages: list[Message], kind: type[Message]) -> list[Any]:
    """The captured messages of one type."""
    return [m for m in messages if isinstance(m, kind)]


def new_app(store: Path, data: Path | None = None, **options: Any) -> TuidashApp:
    """The app as the CLI builds it, on a test store, opening ``data`` at start."""
    options.setdefault("autoload", False)
    return make_app(data, store, **options)


async def open_data(pilot: Pilot[Any], target: str) -> None:
    """Wait for the data given at start, then choose ``target`` in Data."""
    app = pilot.app
    await wait_for(pilot, lambda: app.state.data.data is not None, "the data loaded")
    await pilot.press("d")
    await wait_for(pilot, lambda: section_shown(app, "data"), "the Data section")
    await pilot.pause()
    app.screen.query_one("#target", Select).value = target
    await pilot.pause()
    assert app.state.data.target == target


async def open_train(pilot: Pilot[Any]) -> Any:
    """The Train section, once shown."""
    app = pilot.app
    await pilot.press("t")
    await wait_for(pilot, lambda: section_shown(app, "train"), "the Train section")
    await pilot.pause()
    return app.screen


def kind_ids(screen: Any) -> list[str]:
    """The kinds listed on the Train screen, in order."""
    box = screen.query_one("#kinds", SelectionList)
    return [str(box.get_option_at_index(i).value) for i in range(box.option_count)]


async def test_the_task_follows_the_target_and_overriding_it_changes_the_kinds(
    store_dir: Path,
) -> None:
    app = new_app(store_dir, DATA / "penguins.csv")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_data(pilot, "species")
        reason = app.screen.query_one("#data-task .task-reason", Static)
        assert str(reason.render()) == (
            "'species' holds text (3 different values), so each value is a class."
        )
        # Picking the list's prompt (no column) keeps the target and its task.
        app.screen.query_one("#target", Select).value = Select.NULL
        await pilot.pause()
        assert app.state.data.target == "species"
        assert "so each value is a class" in str(reason.render())
        screen = await open_train(pilot)
        kinds = kind_ids(screen)
        assert "logistic_regression" in kinds and "svc" in kinds
        assert "ridge" not in kinds and "linear_regression" not in kinds
        # The default kind's form is the classifier's, named so it is not the regressor.
        name = screen.query_one("#name-random_forest", Input)
        assert name.value == "Random Forest classifier"
        train_reason = str(screen.query_one("#train-task .task-reason", Static).render())
        assert "so each value is a class" in train_reason
        # Asking for regression on the Train screen lists the regression kinds.
        screen.query_one("#train-task Select", Select).value = "regression"
        await pilot.pause()
        await wait_for(pilot, lambda: "ridge" in kind_ids(screen), "the regression kinds")
        assert "logistic_regression" not in kind_ids(screen)
        await wait_for(
            pilot,
            lambda: (
                screen.query("#name-random_forest")
                and screen.query_one("#name-random_forest", Input).value == "Random Forest"
            ),
            "the regressor's form",
        )
        assert app.state.data.task == "regression"
        assert str(screen.query_one("#train-task .task-reason", Static).render()) == (
            "You chose regression: 'species' is predicted as a number."
        )
        # ... and Data shows the same choice with the text-target problem.
        await pilot.press("d")
        await pilot.pause()
        assert app.screen.query_one("#data-task Select", Select).value == "regression"
        problems = str(app.screen.query_one("#problems", Static).render()).replace("\n", " ")
        assert "The target 'species' holds text" in problems


@pytest.mark.slow
async def test_train_two_classifiers_see_metrics_then_analysis_views(
    store_dir: Path, tmp_path: Path
) -> None:
    messages: list[Message] = []
    app = new_app(store_dir, DATA / "penguins.csv", cwd=tmp_path)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await open_data(pilot, "species")
        screen = await open_train(pilot)
        screen.query_one("#param-random_forest-n_estimators", Input).value = "10"
        screen.query_one("#kinds", SelectionList).select("logistic_regression")
        await wait_for(pilot, lambda: screen.query("#name-logistic_regression"), "the form")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(of_type(messages, msg.ModelSaved)) == 2, "2 saves")
        await wait_for(pilot, lambda: not app.state.training.running, "the training done")
        await pilot.pause()
        results = str(screen.query_one("#train-results", Static).render())
        assert "Random Forest classifier — saved" in results
        assert "Logistic Regression — saved" in results
        assert "Balanced accuracy " in results and "F1 macro " in results
        assert "ROC AUC " in results and "R2" not in results and "nan" not in results.lower()
        assert "'species' holds text (3 different values)" in results
        # The confusion matrix, not an actual-vs-predicted line, per trained model.
        charts = screen.query("#train-charts ConfusionTable")
        assert len(charts) == 2
        assert "Confusion matrix" in charts.first().plain()
        assert not screen.query("#train-charts ActualPredictedChart")

        await pilot.press("f4")
        await wait_for(pilot, lambda: app.screen is not screen, "the analysis")
        await pilot.pause()
        analysis = app.screen
        assert type(analysis).__name__ == "ClassAnalysisScreen"
        tabs = analysis.query_one(TabbedContent)
        matrix = analysis.query_one("#confusion-table")
        counts = matrix.plain()
        assert "Adelie" in counts and "Gentoo" in counts and "%" not in counts
        await pilot.press("r")
        await pilot.pause()
        assert "%" in matrix.plain() and "diagonal = recall" in matrix.plain()
        tabs.active = "per-class"
        await pilot.pause()
        assert analysis.query("#per-class-chart")
        tabs.active = "roc"
        await pilot.pause()
        # Three species: no single ROC curve, and the screen says why.
        assert not analysis.query("#roc-chart")
        assert "two classes" in str(analysis.query_one("#roc-note", Static).render())
        tabs.active = "probability"
        await pilot.pause()
        assert analysis.query("#probability-chart")
        tabs.active = "errors"
        await pilot.pause()
        table = analysis.query_one("#errors-table", DataTable)
        everything = table.row_count
        assert everything > 0
        await pilot.press("w")
        await pilot.pause()
        assert table.row_count < everything
        wrong = [str(table.get_row_at(i)[4]) for i in range(table.row_count)]
        assert set(wrong) <= {"no"}
        await pilot.press("e")
        await wait_for(pilot, lambda: list((tmp_path / "exports").glob("*.csv")), "the export")
        exported = next((tmp_path / "exports").glob("*.csv")).read_text().splitlines()
        assert exported[0] == "data_row,actual,predicted,probability,correct"
        assert len(exported) == table.row_count + 1


class Host(App[None]):
    """A bare app that pushes the screen under test, as the Models section does."""

    def __init__(self, screen: Screen[None]) -> None:
        super().__init__()
        self.pushed = screen
        self.theme = "textual-dark"
        self.animation_level = "none"

    def on_mount(self) -> None:
        """Show the screen under test."""
        self.push_screen(self.pushed)


async def test_predict_shows_the_class_and_a_probability_column_per_class(
    store_dir: Path, tmp_path: Path
) -> None:
    import pandas as pd

    from tuidash.core.store import ModelPersistence
    from tuidash.core.training import TrainConfig, train_model
    from tuidash.ui.screens.predict import PredictScreen

    penguins = pd.read_csv(DATA / "penguins.csv")
    trained = train_model(
        penguins, "logistic_regression", {}, TrainConfig(target="species", task="auto")
    )
    ok, message = ModelPersistence(store_dir).save_model("Species", trained.to_model_data())
    assert ok, message
    new = penguins.drop(columns=["species"]).head(12).copy()
    new.loc[0, "island"] = "Atlantis"  # a category the model never saw
    new.to_csv(tmp_path / "new_penguins.csv", index=False)
    screen = PredictScreen(store_dir, ["Species"], selected="Species", start_dir=tmp_path)
    app = Host(screen)
    async with app.run_test(size=(120, 30)) as pilot:
        box = screen.query_one("#predict-path", Input)
        box.focus()
        await pilot.press(*"new_penguins.csv", "enter")
        await wait_for(pilot, lambda: screen.prediction is not None, "the predictions")
        await pilot.pause()
        table = screen.query_one("#predict-table", DataTable)
        labels = [str(c.label).strip() for c in table.ordered_columns]
        probabilities = ["probability_Adelie", "probability_Chinstrap", "probability_Gentoo"]
        # The class, then one probability per class, before the inputs.
        assert labels[:5] == ["#", "prediction", *probabilities]
        assert table.row_count == 12
        row = [str(cell).strip() for cell in table.get_row_at(0)]
        assert row[1] in {"Adelie", "Chinstrap", "Gentoo"}
        assert sum(float(cell) for cell in row[2:5]) == pytest.approx(1.0, abs=1e-4)
        result = str(screen.query_one("#predict-result", Static).content)
        assert "'prediction' is the class; 3 probability columns follow." in result
        await pilot.press("f6")
        exports = tmp_path / "exports"
        await wait_for(pilot, lambda: list(exports.glob("*.csv")), "the export")
        written = pd.read_csv(next(exports.glob("*.csv")))
        assert list(written.columns)[-4:] == ["prediction", *probabilities]
        assert written["prediction"].tolist() == screen.prediction.frame["prediction"].tolist()


def save_penguin_models(store: Path) -> None:
    """Two species classifiers and a body-mass regressor of the same penguins file."""
    from tuidash.core.data import read_table
    from tuidash.core.store import ModelPersistence
    from tuidash.core.training import TrainConfig, train_model

    penguins = read_table(DATA / "penguins.csv")
    persistence = ModelPersistence(store)
    for name, kind, params, target in (
        ("Species forest", "random_forest", {"n_estimators": 10}, "species"),
        ("Species dummy", "dummy", {}, "species"),
        ("Mass ridge", "ridge", {}, "body_mass_g"),
    ):
        trained = train_model(penguins, kind, params, TrainConfig(target=target))
        ok, message = persistence.save_model(name, trained.to_model_data())
        assert ok, message


async def test_models_show_the_task_and_compare_ranks_classifiers(store_dir: Path) -> None:
    save_penguin_models(store_dir)
    app = new_app(store_dir)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.state.store.entries) == 3, "the models listed")
        await pilot.pause()
        table = app.screen.query_one("#models-table", DataTable)
        headers = [str(c.label).split(" ")[0] for c in table.ordered_columns]
        assert headers[5:9] == ["R2", "Bal.", "Kind", "Task"]
        assert str(table.get_cell("Species forest", "task")) == "class."
        assert str(table.get_cell("Mass ridge", "task")) == "regr."
        # Each model shows its own task's metrics; the other task's cells stay empty.
        assert str(table.get_cell("Species forest", "R2")) == ""
        assert str(table.get_cell("Mass ridge", "Balanced accuracy")) == ""
        forest = app.state.store.entries["Species forest"]["metrics"]["Balanced accuracy"]
        assert str(table.get_cell("Species forest", "Balanced accuracy")) == number_text(forest)
        # ★: the best classifier and the (only) regressor, each in its own group.
        stars = {name for name in app.state.store.entries if table.get_cell(name, "best")}
        assert stars == {"Species forest", "Mass ridge"}
        summary = str(app.screen.query_one("#models-summary", Static).render())
        assert "★ = best R2 / balanced accuracy per data and target" in summary

        metas = [dict(e, name=n) for n, e in app.state.store.entries.items() if "Species" in n]
        app.open_comparison(metas)
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CompareScreen", "Compare")
        await pilot.pause()
        compare = app.screen
        text = str(compare.query_one("#compare-summary", Static).render())
        assert text.startswith("Recommended: Species forest, Balanced accuracy ")
        await pilot.press("m")
        await pilot.pause()
        text = str(compare.query_one("#compare-summary", Static).render())
        assert text.startswith("Recommended: Species forest, F1 macro ")
        note = str(compare.query_one("#bars-note", Static).render())
        assert note.startswith("Higher is better except Log loss.")


async def test_search_mode_searches_a_classifier(store_dir: Path, tmp_path: Path) -> None:
    """Search on a text target: the classifier's form (class_weight included) is searched
    with a classification metric and the best is saved as the classifier."""
    messages: list[Message] = []
    app = new_app(store_dir, DATA / "penguins.csv", cwd=tmp_path)
    async with app.run_test(size=(120, 40), message_hook=messages.append) as pilot:
        await open_data(pilot, "species")
        screen = await open_train(pilot)
        screen.query_one("#search-random_forest-on", Checkbox).value = True
        await pilot.pause()
        screen.query_one("#search-random_forest-range-n_estimators", Input).value = "5:15"
        screen.query_one("#search-random_forest-candidates", Input).value = "3"
        screen.query_one("#search-random_forest-folds", Input).value = "2"
        screen.query_one("#search-random_forest-metric", Input).value = "Balanced accuracy"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: of_type(messages, msg.ModelSaved), "the model saved")
        await wait_for(pilot, lambda: not app.state.training.running, "the search done")
        await pilot.pause()
        results = str(screen.query_one("#train-results", Static).render())
        assert "Random Forest classifier — saved" in results, results
        assert "Best of 3 candidates (random, 2-fold Balanced accuracy)" in results
        doc = json.loads((store_dir / "metadata" / "Random_Forest_classifier.json").read_text())
        assert doc["task"] == "classification" and doc["search"]["failed_fits"] == 0
        assert "class_weight" in doc["search"]["space"]
