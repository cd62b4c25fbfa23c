"""Pilot tests of the Predict screen: a model trained here, saved to a tmp store, new files."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from textual.app import App
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import DataTable, DirectoryTree, Input, Select, Static, TabbedContent

from tuidash.ui.screens.predict import PredictScreen, cell_text

MODEL = "Houses"
GUARD_STEPS = 2000
"""Pauses of 20 ms before giving up on a condition (a hang guard, not a time limit)."""


def houses(rows: int = 40) -> pd.DataFrame:
    """Fixed training data: two numbers, one category and a price with some noise."""
    frame = pd.DataFrame(
        {
            "rooms": [1 + i % 5 for i in range(rows)],
            "area": [30.0 + 7.5 * i for i in range(rows)],
            "city": [("Lyon", "Oslo", "Rome")[i % 3] for i in range(rows)],
        }
    )
    noise = [((i * 37) % 11 - 5) * 0.7 for i in range(rows)]
    city = frame["city"].map({"Lyon": 5.0, "Oslo": 9.0, "Rome": 1.0})
    frame["price"] = frame["rooms"] * 10 + frame["area"] * 2 + city + noise
    return frame


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one linear model trained on ``houses()`` (shared: tests only read it)."""
    from tuidash.core.store import ModelPersistence
    from tuidash.core.training import TrainConfig, train_model

    folder = tmp_path_factory.mktemp("predict") / "saved_models"
    trained = train_model(houses(), "linear_regression", {}, TrainConfig(target="price"))
    ok, message = ModelPersistence(folder).save_model(MODEL, trained.to_model_data())
    assert ok, message
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with a good file, a file missing a column and a file tuidash cannot read."""
    folder = tmp_path / "project"
    folder.mkdir()
    new = houses(130).drop(columns=["price"])
    new["area"] = new["area"] + 3.25  # not the training rows
    new.to_csv(folder / "new_houses.csv", index=False)
    new.drop(columns=["area"]).to_csv(folder / "no_area.csv", index=False)
    (folder / "report.pdf").write_bytes(b"%PDF-1.4 not a table\n")
    return folder


class Host(App[None]):
    """A bare app that pushes the screen under test, as the Models section will."""

    def __init__(self, screen: PredictScreen) -> None:
        super().__init__()
        self.pushed = screen
        self.theme = "textual-dark"
        self.animation_level = "none"

    def on_mount(self) -> None:
        """Show the screen under test."""
        self.push_screen(self.pushed)


async def until(pilot: Pilot[Any], condition: Callable[[], Any]) -> None:
    """Let the app run until ``condition()`` holds."""
    for _ in range(GUARD_STEPS):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError("condition never held")


def message_text(screen: PredictScreen) -> str:
    """The one-line message above the results."""
    return str(screen.query_one("#predict-message", Static).content)


def is_error(screen: PredictScreen) -> bool:
    """Whether the message is shown as an error."""
    return screen.query_one("#predict-message", Static).has_class("-error")


def column_labels(table: DataTable[Any]) -> list[str]:
    """The table's column headers."""
    return [str(column.label).strip() for column in table.ordered_columns]


def column_cells(table: DataTable[Any], label: str) -> list[str]:
    """Every cell of one column, by its header (numbers are padded to line up)."""
    index = column_labels(table).index(label)
    return [str(table.get_row_at(row)[index]).strip() for row in range(table.row_count)]


async def predict(pilot: Pilot[Any], screen: PredictScreen, path: str) -> None:
    """Type a path into the path box, press Enter and wait for the answer."""
    done = screen.prediction
    box = screen.query_one("#predict-path", Input)
    box.value = ""
    box.focus()
    await pilot.press(*path, "enter")
    await until(pilot, lambda: not screen.running)
    assert screen.prediction is done or screen.prediction is not None


def expected_predictions(store: Path, file: Path) -> list[float]:
    """What the saved pipeline itself predicts for a file."""
    from tuidash.core.store import ModelPersistence

    pipeline = ModelPersistence(store).load_model(MODEL)["model"]  # type: ignore[index]
    return [float(v) for v in pipeline.predict(pd.read_csv(file))]


async def test_predicts_a_good_file(store: Path, project: Path) -> None:
    screen = PredictScreen(store, [MODEL], selected=MODEL, start_dir=project)
    app = Host(screen)
    seen: list[Message] = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        await predict(pilot, screen, "new_houses.csv")
        expected = expected_predictions(store, project / "new_houses.csv")
        assert screen.prediction is not None
        assert screen.prediction.frame["prediction"].tolist() == expected
        table = screen.query_one("#predict-table", DataTable)
        assert column_labels(table) == ["#", "prediction", "rooms", "area", "city"]
        # The table shows the first 100 of 130 rows; each value as the model predicted it.
        assert table.row_count == 100
        assert column_cells(table, "prediction") == [cell_text(v) for v in expected[:100]]
        assert column_cells(table, "#")[:3] == ["1", "2", "3"]
        assert screen.query_one("#predict-tabs", TabbedContent).active == "predict-rows"
        result = str(screen.query_one("#predict-result", Static).content)
        assert "130 rows predicted, showing the first 100" in result
        assert "new_houses.csv" in result
        assert not is_error(screen)
        assert any(isinstance(m, PredictScreen.Predicted) for m in seen)


async def test_missing_column_is_one_sentence_and_keeps_the_result(
    store: Path, project: Path
) -> None:
    screen = PredictScreen(store, [MODEL], selected=MODEL, start_dir=project)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await predict(pilot, screen, "new_houses.csv")
        before = screen.prediction
        table = screen.query_one("#predict-table", DataTable)
        cells = column_cells(table, "prediction")
        await predict(pilot, screen, "no_area.csv")
        text = message_text(screen)
        assert is_error(screen)
        assert "'area'" in text and "missing" in text and "no_area.csv" in text
        assert "\n" not in text and "Traceback" not in text
        # The earlier predictions stay on screen, and say what they are.
        assert screen.prediction is before
        assert column_cells(table, "prediction") == cells
        assert "new_houses.csv" in str(screen.query_one("#predict-result", Static).content)


async def test_unreadable_file_and_missing_choices_are_sentences(
    store: Path, project: Path
) -> None:
    screen = PredictScreen(store, [MODEL], start_dir=project)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        assert is_error(screen) and message_text(screen) == "Choose a model to predict with first."
        screen.query_one("#predict-model", Select).value = MODEL
        await pilot.press("f5")
        assert is_error(screen) and "Choose a data file first" in message_text(screen)
        await predict(pilot, screen, "report.pdf")
        assert is_error(screen) and "extension" in message_text(screen)
        await predict(pilot, screen, "nowhere.csv")
        assert is_error(screen) and "nowhere.csv" in message_text(screen)
        assert screen.prediction is None


async def test_unknown_model_is_a_sentence(store: Path, project: Path) -> None:
    screen = PredictScreen(store, ["Gone"], selected="Gone", start_dir=project)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await predict(pilot, screen, "new_houses.csv")
        assert is_error(screen) and "Gone" in message_text(screen)
        assert screen.prediction is None


async def test_a_model_already_in_memory_is_used(tmp_path: Path, project: Path) -> None:
    from tuidash.core.training import TrainConfig, train_model

    trained = train_model(houses(), "dummy", {}, TrainConfig(target="price"))
    entry = {"model": trained.pipeline, "metadata": {"data": trained.data_info}}
    empty_store = tmp_path / "empty_store"
    screen = PredictScreen(
        empty_store, ["Mean"], selected="Mean", start_dir=project, loaded={"Mean": entry}
    )
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await predict(pilot, screen, str(project / "new_houses.csv"))
        assert not is_error(screen), message_text(screen)
        assert screen.prediction is not None
        mean = float(houses()["price"].iloc[:32].mean())
        assert screen.prediction.frame["prediction"].iloc[0] == pytest.approx(mean, rel=0.2)
        assert not (empty_store / "models").exists()  # the disk was never consulted


async def test_choosing_a_file_in_the_browser_predicts(store: Path, project: Path) -> None:
    screen = PredictScreen(store, [MODEL], selected=MODEL, start_dir=project)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = screen.query_one("#predict-browser", DirectoryTree)
        await until(pilot, lambda: len(tree.root.children) == 3)
        tree.focus()
        # Sorted: new_houses.csv, no_area.csv, report.pdf; the cursor starts on the root.
        await pilot.press("down", "enter")
        await until(pilot, lambda: screen.prediction is not None)
        assert screen.query_one("#predict-path", Input).value == str(project / "new_houses.csv")
        assert screen.prediction is not None and screen.prediction.rows == 130


async def test_export_writes_csv_and_never_overwrites(store: Path, project: Path) -> None:
    screen = PredictScreen(store, [MODEL], selected=MODEL, start_dir=project)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await predict(pilot, screen, "new_houses.csv")
        await pilot.press("f6")
        await until(pilot, lambda: screen.last_export is not None)
        first = project / "exports" / "predictions-Houses.csv"
        assert screen.last_export == first
        assert str(first) in message_text(screen) and not is_error(screen)
        written = pd.read_csv(first)
        assert list(written.columns) == ["rooms", "area", "city", "prediction"]
        assert len(written) == 130
        expected = expected_predictions(store, project / "new_houses.csv")
        assert written["prediction"].tolist() == pytest.approx(expected, rel=1e-12)
        original = first.read_bytes()

        await pilot.press("f6")
        await until(pilot, lambda: screen.last_export != first)
        second = project / "exports" / "predictions-Houses_2.csv"
        assert screen.last_export == second and second.read_bytes() == original
        assert first.read_bytes() == original
        assert str(second) in message_text(screen)


async def test_export_is_named_after_the_model_and_follows_the_umask(
    store: Path, project: Path
) -> None:
    screen = PredictScreen(store, [MODEL], selected=MODEL, start_dir=project)
    app = Host(screen)
    old = os.umask(0o022)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await predict(pilot, screen, "new_houses.csv")
            await pilot.press("f6")
            await until(pilot, lambda: screen.last_export is not None)
    finally:
        os.umask(old)
    assert screen.last_export == project / "exports" / "predictions-Houses.csv"
    assert stat.S_IMODE(screen.last_export.stat().st_mode) == 0o644  # not 0600
    assert [p.name for p in (project / "exports").iterdir()] == ["predictions-Houses.csv"]


async def test_export_skips_a_file_someone_else_wrote(store: Path, project: Path) -> None:
    exports = project / "exports"
    exports.mkdir()
    (exports / "predictions-Houses.csv").write_text("mine\n")
    screen = PredictScreen(store, [MODEL], selected=MODEL, start_dir=project)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f6")  # nothing to export yet: it says so and writes nothing
        assert is_error(screen) and "Predict first" in message_text(screen)
        assert sorted(p.name for p in exports.iterdir()) == ["predictions-Houses.csv"]
        await predict(pilot, screen, "new_houses.csv")
        await pilot.press("f6")
        await until(pilot, lambda: screen.last_export is not None)
        assert screen.last_export == exports / "predictions-Houses_2.csv"
        assert (exports / "predictions-Houses.csv").read_text() == "mine\n"


async def test_export_to_a_folder_that_cannot_be_made_is_a_sentence(
    store: Path, project: Path
) -> None:
    blocker = project / "blocker"
    blocker.write_text("a file where the export folder should be\n")
    screen = PredictScreen(
        store, [MODEL], selected=MODEL, start_dir=project, export_dir=blocker / "exports"
    )
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await predict(pilot, screen, "new_houses.csv")
        await pilot.press("f6")
        await until(pilot, lambda: is_error(screen))
        assert "export folder" in message_text(screen)
        assert screen.last_export is None


async def test_keys_are_in_the_footer_and_escape_closes(store: Path, project: Path) -> None:
    screen = PredictScreen(store, [MODEL], selected=MODEL, start_dir=project)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = {b.binding.action for b in app.screen.active_bindings.values() if b.binding.show}
        assert {"back", "browse", "predict", "export"} <= shown
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


async def test_no_saved_models_says_so(tmp_path: Path, project: Path) -> None:
    screen = PredictScreen(tmp_path / "store", [], start_dir=project)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "no saved models" in message_text(screen)


async def test_palette_offers_the_screen_keys(store: Path, project: Path) -> None:
    from tuidash.ui.commands import ScreenCommands

    screen = PredictScreen(store, [MODEL], selected=MODEL, start_dir=project)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        names = [name for name, _help, _run in ScreenCommands(screen).commands()]
        assert names == [
            "Predict: Back",
            "Predict: Browse",
            "Predict: Predict",
            "Predict: Export CSV",
        ]


def test_wide_files_show_the_prediction_first_and_say_what_is_left_out() -> None:
    from tuidash.core.predicting import Prediction
    from tuidash.ui.screens.predict import SHOWN_COLUMNS, table_rows

    frame = pd.DataFrame({f"c{i}": [i, i + 0.5] for i in range(SHOWN_COLUMNS + 5)})
    frame["name"] = ["a", "b"]
    frame["prediction"] = [1.25, float("nan")]
    rows = table_rows(Prediction("M", "wide.csv", frame, "prediction"))
    assert [c.strip() for c in rows.columns[:3]] == ["#", "prediction", "c0"]
    assert len(rows.columns) == 2 + SHOWN_COLUMNS and rows.hidden_columns == 6
    assert [row[1].strip() for row in rows.rows] == ["1.25", ""]  # a missing prediction is blank
    assert rows.numeric[:3] == [True, True, True]


async def test_an_answer_to_an_older_request_is_ignored(store: Path, project: Path) -> None:
    screen = PredictScreen(store, [MODEL], selected=MODEL, start_dir=project)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await predict(pilot, screen, "no_area.csv")
        text = message_text(screen)
        screen.post_message(PredictScreen.PredictFailed(0, "An old answer."))
        await pilot.pause()
        assert message_text(screen) == text


def test_big_integers_are_shown_whole_beside_floats() -> None:
    from tuidash.core.predicting import Prediction
    from tuidash.ui.screens.predict import table_rows

    frame = pd.DataFrame({"id": [12345678, 2], "area": [1.5, None], "prediction": [3.0, 4.5]})
    rows = table_rows(Prediction("M", "ids.csv", frame, "prediction"))
    assert [[cell.strip() for cell in row] for row in rows.rows] == [
        ["1", "3", "12345678", "1.5"],
        ["2", "4.5", "2", ""],
    ]
