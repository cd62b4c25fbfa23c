"""Pilot tests of the app's flows: data, training, saving, the store's actions and auto-load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pilot_helpers import wait_for
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Static

from tuidash.ui import messages as msg
from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app
from tuidash.ui.modals.confirm import ConfirmModal
from tuidash.ui.modals.name_taken import NameTakenModal


def of_type(messages: list[Message], kind: type[Message]) -> list[Any]:
    """The captured messages of one type."""
    return [m for m in messages if isinstance(m, kind)]


def notes(app: TuidashApp) -> list[str]:
    """Texts of the notifications shown so far."""
    return [str(n.message) for n in app._notifications]


def new_app(store: Path, **options: Any) -> TuidashApp:
    """The app as the CLI builds it, on a test store."""
    options.setdefault("autoload", True)
    return make_app(None, store, **options)


async def load_sample(pilot: Pilot[Any], messages: list[Message]) -> None:
    """Data section, F2 (sample data set), wait until it is loaded."""
    await pilot.press("d")
    await wait_for(pilot, lambda: pilot.app.screen.id != "_default", "the Data section")
    await pilot.press("f2")
    await wait_for(pilot, lambda: of_type(messages, msg.DataLoaded), "the sample loaded")
    await pilot.pause()


async def open_train(pilot: Pilot[Any], trees: str = "5") -> None:
    """Train section with a small forest."""
    await pilot.press("t")
    await wait_for(pilot, lambda: pilot.app.current_mode == "train", "the Train section")
    await pilot.pause()
    pilot.app.screen.query_one("#param-random_forest-n_estimators", Input).value = trees


@pytest.mark.slow
async def test_sample_train_save_then_new_app_lists_and_loads_it(store_dir: Path) -> None:
    messages: list[Message] = []
    app = new_app(store_dir)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await load_sample(pilot, messages)
        assert app.state.data.target == "target" and len(app.state.data.features) == 10
        await open_train(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: of_type(messages, msg.ModelSaved), "the model saved")
        await wait_for(pilot, lambda: not app.state.training.running, "the training done")
        assert "Random Forest trained and saved to disk" in notes(app)
        progress = of_type(messages, msg.TrainingProgress)
        assert progress and progress[-1].fraction == pytest.approx(1.0)
        results = str(app.screen.query_one("#train-results", Static).render())
        assert "Random Forest — saved" in results and "R2 " in results
        # Read back from disk into memory, as the original app kept it loaded.
        await wait_for(
            pilot, lambda: app.state.store.is_loaded("Random Forest"), "the model in memory"
        )
    # Named as the original app names its files (spaces become _).
    assert (store_dir / "metadata" / "Random_Forest.json").exists()

    messages = []
    again = new_app(store_dir)
    async with again.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: of_type(messages, msg.ModelsLoadFinished), "auto-load")
        await pilot.pause()
        assert list(again.state.store.entries) == ["Random Forest"]
        assert again.state.store.model_status("Random Forest") == "loaded"
        table = again.screen.query_one("#models-table", DataTable)
        assert str(table.get_cell("Random Forest", "status")) == "loaded"
        assert str(table.get_cell("Random Forest", "best")) == "★"
        assert "1 model loaded" in notes(again)


async def test_delete_asks_first_and_cancel_keeps_the_model(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir, [("Linear", "linear_regression", {}), ("Base", "dummy", {})])
    messages: list[Message] = []
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: len(app.state.store.entries) == 2, "the list")
        await pilot.pause()
        table = app.screen.query_one("#models-table", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("Base"))
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirm dialog")
        assert "Delete 'Base'?" in str(app.screen.query_one(".dialog-title", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert "Base" in app.state.store.entries and (store_dir / "metadata" / "Base.json").exists()

        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirm dialog")
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: of_type(messages, msg.StoreActionDone), "the deletion")
        await wait_for(pilot, lambda: "Base" not in app.state.store.entries, "the list without it")
        assert not (store_dir / "metadata" / "Base.json").exists()
        assert list(app.state.store.entries) == ["Linear"]
        assert "Base deleted from disk." in notes(app)


async def test_delete_all_names_count_and_size_then_empties_the_store(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir)
    messages: list[Message] = []
    app = new_app(store_dir)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: of_type(messages, msg.ModelsLoadFinished), "auto-load")
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirm dialog")
        body = str(app.screen.query_one(".dialog-body", Static).render())
        title = str(app.screen.query_one(".dialog-title", Static).render())
        assert "Delete all 3 saved models?" in title
        assert "3 models (" in body and " KB) are removed from" in body
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: of_type(messages, msg.StoreActionDone), "the clearing")
        await wait_for(pilot, lambda: not app.state.store.entries, "an empty list")
        assert not list((store_dir / "metadata").glob("*.json"))
        assert not app.service.loaded  # type: ignore[union-attr]
        summary = str(app.screen.query_one("#models-summary", Static).render())
        assert "No saved models yet" in summary


async def test_bad_file_shows_the_sentence_and_keeps_the_loaded_data(
    store_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b"\x00\x01\x02 not a table \xff\xfe")
    messages: list[Message] = []
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await load_sample(pilot, messages)
        path_box = app.screen.query_one("#path", Input)
        path_box.value = str(bad)
        path_box.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: of_type(messages, msg.DataLoadFailed), "the failure")
        await pilot.pause()
        sentence = of_type(messages, msg.DataLoadFailed)[0].message
        assert "broken.csv" in sentence and "Traceback" not in sentence
        status = app.screen.query_one("#data-status", Static)
        assert sentence in str(status.render()) and status.has_class("-error")
        assert "Sample data set (diabetes) is still loaded." in str(status.render())
        assert str(app.state.data.data.source) == "sample:diabetes"


async def test_invalid_parameter_is_marked_and_blocks_training(store_dir: Path) -> None:
    messages: list[Message] = []
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await load_sample(pilot, messages)
        await open_train(pilot, trees="0")
        await pilot.pause()
        box = app.screen.query_one("#param-random_forest-n_estimators", Input)
        assert box.has_class("-invalid")
        help_line = box.parent.parent.query_one(".param-help", Static)  # type: ignore[union-attr]
        assert "n_estimators must be a whole number from 1 to 2000" in str(help_line.render())
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        line = str(app.screen.query_one("#train-message", Static).render())
        assert line.startswith("Not trained: n_estimators must be")
        assert not app.state.training.running and not of_type(messages, msg.TrainingProgress)
        assert app.screen.focused is box
        assert not list((store_dir / "metadata").glob("*.json"))


@pytest.mark.slow
async def test_cancel_stops_training_and_saves_nothing(store_dir: Path) -> None:
    messages: list[Message] = []
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await load_sample(pilot, messages)
        await open_train(pilot, trees="2000")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: of_type(messages, msg.TrainingProgress), "progress")
        assert app.screen.query_one("#cancel", Button).disabled is False
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: of_type(messages, msg.TrainingBatchDone), "the end")
        await pilot.pause()
        assert of_type(messages, msg.TrainingCancelled)
        assert not of_type(messages, msg.TrainingFinished)
        assert "Training cancelled; nothing was saved." in notes(app)
        assert not list((store_dir / "metadata").glob("*.json"))
        assert app.screen.query_one("#train", Button).disabled is False


@pytest.mark.slow
async def test_taken_name_offers_a_free_name(store_dir: Path, saved_models: Any) -> None:
    saved_models(store_dir, [("Random Forest", "random_forest", {"n_estimators": 3})])
    messages: list[Message] = []
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: app.state.store.entries, "the list")
        await load_sample(pilot, messages)
        await open_train(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: isinstance(app.screen, NameTakenModal), "the name dialog")
        assert "Use 'Random Forest (2)'" in str(app.screen.query_one("#free", Button).label)
        await pilot.click("#free")
        await wait_for(pilot, lambda: of_type(messages, msg.ModelSaved), "the save")
        assert of_type(messages, msg.ModelSaved)[0].name == "Random Forest (2)"
        assert "Random Forest (2) trained and saved to disk" in notes(app)
        await wait_for(pilot, lambda: len(app.state.store.entries) == 2, "both listed")


async def test_autoload_with_a_broken_model_reaches_the_end(
    store_dir: Path, saved_models: Any, broken_model: Any
) -> None:
    saved_models(store_dir)
    broken_model(store_dir, "Linear")
    messages: list[Message] = []
    app = new_app(store_dir)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: of_type(messages, msg.ModelsLoadFinished), "auto-load")
        await pilot.pause()
        listed = of_type(messages, msg.ModelsListed)
        progress = of_type(messages, msg.ModelLoadProgress)
        # The list from the JSON files comes before any model object.
        assert messages.index(listed[0]) < messages.index(progress[0])
        # The bar reaches its end (the store may find the damaged one before or while loading).
        assert progress[-1].done == progress[-1].total >= 2
        finished = of_type(messages, msg.ModelsLoadFinished)[0]
        assert (finished.loaded, finished.failed) == (2, 1)
        assert "2 models loaded" in notes(app)
        assert "1 could not be loaded — see Storage" in notes(app)
        assert app.state.store.model_status("Linear") == "problem"
        assert app.state.store.model_status("Forest") == "loaded"
        table = app.screen.query_one("#models-table", DataTable)
        assert str(table.get_cell("Linear", "status")) == "problem"
        status = str(app.screen.query_one("#load-text", Static).render())
        assert "2 models loaded · 1 could not be loaded — see Storage" in status
        # Still running and usable: go to Storage and see the problem with its reason.
        await pilot.press("s")
        await wait_for(pilot, lambda: app.current_mode == "storage", "Storage")
        await wait_for(
            pilot,
            lambda: app.screen.query_one("#problems-table", DataTable).row_count > 0,
            "the problems table",
        )
        row = app.screen.query_one("#problems-table", DataTable).get_row("Linear")
        assert str(row[1]) == "damaged" and "pickle" in str(row[2])
        assert app.is_running


async def test_no_autoload_lists_without_loading(store_dir: Path, saved_models: Any) -> None:
    saved_models(store_dir, [("Linear", "linear_regression", {})])
    messages: list[Message] = []
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: app.state.store.entries, "the list")
        await pilot.pause(0.2)
        assert not of_type(messages, msg.ModelLoadProgress)
        assert app.state.store.model_status("Linear") == "on disk"
        await pilot.press("l")
        await wait_for(
            pilot, lambda: app.state.store.model_status("Linear") == "loaded", "loaded on demand"
        )
        await pilot.press("u")
        await wait_for(
            pilot, lambda: app.state.store.model_status("Linear") == "on disk", "unloaded"
        )


async def test_every_binding_is_in_the_palette(store_dir: Path) -> None:
    from tuidash.ui.commands import SectionCommands

    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        provider = SectionCommands(app.screen)
        names = [name for name, _, _ in provider.commands()]
        for expected in (
            "Data",
            "Models: Delete all",
            "Train: Train",
            "Train: Cancel training",
            "Storage: Auto-load",
            "Data: Sample data",
        ):
            assert expected in names
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"sample data")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.data.data is not None, "the sample via the palette")
        assert app.current_mode == "data"


async def test_models_open_analysis_and_comparison(store_dir: Path, saved_models: Any) -> None:
    from tuidash.ui.screens.analysis import AnalysisScreen
    from tuidash.ui.screens.compare import CompareScreen
    from tuidash.ui.screens.predict import PredictScreen

    saved_models(store_dir, [("Linear", "linear_regression", {}), ("Base", "dummy", {})])
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.state.store.entries) == 2, "the list")
        await pilot.pause()
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AnalysisScreen), "the analysis")
        assert app.screen.model_name == "Linear"  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_for(
            pilot,
            lambda: (
                app.current_mode == "models"
                and not app.screen.is_modal
                and not isinstance(app.screen, AnalysisScreen)
            ),
            "back to Models",
        )
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), "the comparison")
        assert app.screen.names == ["Linear", "Base"]  # type: ignore[attr-defined]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen), "back to Models")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PredictScreen), "Predict")
        assert app.screen.selected == "Linear"  # type: ignore[attr-defined]


async def test_autoload_switch_is_remembered_by_the_store(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir, [("Base", "dummy", {})])
    messages: list[Message] = []
    app = new_app(store_dir, start_section="storage")
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: of_type(messages, msg.ModelsLoadFinished), "auto-load")
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: "Auto-load at start is off for this store." in notes(app),
            "the setting saved",
        )
    messages = []
    again = new_app(store_dir)
    async with again.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(
            pilot,
            lambda: again.state.store.entries and again.state.store.report is not None,
            "the list",
        )
        await pilot.pause(0.3)
        assert not of_type(messages, msg.ModelLoadProgress)
        assert (
            again.state.store.model_status("Base") == "on disk"
            and again.state.store.autoload is False
        )


async def test_failed_save_keeps_the_model_and_save_again_works(store_dir: Path) -> None:
    messages: list[Message] = []
    # The app's own save (training in this process): a job saves its model itself.
    app = new_app(store_dir, autoload=False, jobs=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: app.service is not None, "the store")
        service = app.service
        real_save = service.save  # type: ignore[union-attr]

        async def failing_save(*args: Any, **kwargs: Any) -> str:
            from tuidash.core.store import StoreWriteError

            raise StoreWriteError("The disk is full: the model could not be written.")

        service.save = failing_save  # type: ignore[union-attr,method-assign]
        await load_sample(pilot, messages)
        await open_train(pilot, trees="3")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: of_type(messages, msg.ModelSaveFailed), "the failure")
        await wait_for(pilot, lambda: not app.state.training.running, "the end of training")
        await pilot.pause()
        assert "Random Forest" in app.state.training.unsaved
        results = str(app.screen.query_one("#train-results", Static).render())
        assert "not saved: The disk is full" in results
        assert app.screen.query_one("#save-again", Button).display
        service.save = real_save  # type: ignore[union-attr,method-assign]
        await pilot.press("f3")
        await wait_for(pilot, lambda: of_type(messages, msg.ModelSaved), "the second save")
        assert not app.state.training.unsaved
        assert (store_dir / "metadata" / "Random_Forest.json").exists()  # the STEM


async def test_choosing_another_target_updates_the_features(store_dir: Path) -> None:
    from textual.widgets import Select, SelectionList

    messages: list[Message] = []
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await load_sample(pilot, messages)
        app.screen.query_one("#data-tabs").active = "tab-target"  # type: ignore[attr-defined]
        await pilot.pause()
        app.screen.query_one("#target", Select).value = "bmi"
        await pilot.pause()
        assert app.state.data.target == "bmi"
        assert "bmi" not in app.state.data.features and "target" in app.state.data.features
        features = app.screen.query_one("#features", SelectionList)
        features.deselect("age")
        await pilot.pause()
        assert "age" not in app.state.data.features and len(app.state.data.features) == 9
        await pilot.press("t")
        await wait_for(pilot, lambda: app.current_mode == "train", "Train")
        line = str(app.screen.query_one("#train-data", Static).render())
        assert "predict 'bmi' from 9 features" in line


async def test_sorting_by_a_metric_and_the_best_mark(store_dir: Path, saved_models: Any) -> None:
    saved_models(store_dir)
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.state.store.entries) == 3, "the list")
        await pilot.pause()
        screen: Any = app.screen
        table = screen.query_one("#models-table", DataTable)
        r2 = {name: entry["metrics"]["R2"] for name, entry in app.state.store.entries.items()}
        best = max(r2, key=r2.__getitem__)
        assert str(table.get_cell(best, "best")) == "★"
        assert [str(k.value) for k in table.rows] == sorted(r2, key=r2.__getitem__, reverse=True)
        screen._sort_by("MAE")  # what a click on the MAE header does
        await pilot.pause()
        mae = {name: entry["metrics"]["MAE"] for name, entry in app.state.store.entries.items()}
        order = [str(k.value) for k in table.rows]
        assert order == sorted(mae, key=mae.__getitem__)  # lowest error first
        await pilot.press("o")  # next column: MAPE
        await pilot.pause()
        assert screen.sort_column == "MAPE"


async def test_keys_panel_toggles(store_dir: Path) -> None:
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen.query("HelpPanel")
        await pilot.press("f1")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")


@pytest.mark.slow
async def test_a_model_saved_by_another_process_shows_up(
    store_dir: Path, saved_models: Any
) -> None:
    messages: list[Message] = []
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: app.state.store.report is not None, "the store")
        await pilot.pause(0.3)
        assert not app.state.store.entries
        saved_models(store_dir, [("From the CLI", "dummy", {})])  # as `tuidash train` would
        await wait_for(pilot, lambda: "From the CLI" in app.state.store.entries, "the new entry")
        assert of_type(messages, msg.StoreChanged)[0].added == ["From the CLI"]


async def test_clear_memory_keeps_files(store_dir: Path, saved_models: Any) -> None:
    saved_models(store_dir, [("Linear", "linear_regression", {}), ("Base", "dummy", {})])
    messages: list[Message] = []
    app = new_app(store_dir)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: of_type(messages, msg.ModelsLoadFinished), "auto-load")
        assert app.state.store.is_loaded("Linear") and app.state.store.is_loaded("Base")
        await pilot.press("c")
        await wait_for(pilot, lambda: not app.state.store.is_loaded("Linear"), "memory cleared")
        assert not app.state.store.is_loaded("Base")
        assert "Cleared 2 models from memory." in notes(app)
        assert len(list((store_dir / "metadata").glob("*.json"))) == 2
        table = app.screen.query_one("#models-table", DataTable)
        assert str(table.get_cell("Base", "status")) == "on disk"


async def test_storage_rechecks_then_removes_a_damaged_entry(
    store_dir: Path, saved_models: Any, broken_model: Any
) -> None:
    saved_models(store_dir, [("Linear", "linear_regression", {}), ("Base", "dummy", {})])
    broken_model(store_dir, "Linear")
    messages: list[Message] = []
    app = new_app(store_dir, start_section="storage")
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: of_type(messages, msg.ModelsLoadFinished), "auto-load")
        problems = app.screen.query_one("#problems-table", DataTable)
        await wait_for(pilot, lambda: problems.row_count == 1, "the problem listed")
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: any(m.action == "recheck" for m in of_type(messages, msg.StoreActionDone)),
            "the re-check",
        )
        recheck = [m for m in of_type(messages, msg.StoreActionDone) if m.action == "recheck"]
        assert recheck[0].ok is False and "Linear" in recheck[0].message
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirm dialog")
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: problems.row_count == 0, "no problem left")
        assert not (store_dir / "models" / "Linear.pkl").exists()
        assert not (store_dir / "metadata" / "Linear.json").exists()
        assert (store_dir / "metadata" / "Base.json").exists()
        assert app.state.store.model_status("Base") == "loaded"


async def test_mouse_sample_button_and_header_click(store_dir: Path, saved_models: Any) -> None:
    saved_models(store_dir, [("Linear", "linear_regression", {}), ("Base", "dummy", {})])
    messages: list[Message] = []
    app = new_app(store_dir, autoload=False, start_section="data")
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: len(app.state.store.entries) == 2, "the list")
        await pilot.click("#sample")
        await wait_for(pilot, lambda: of_type(messages, msg.DataLoaded), "the sample")
        await pilot.press("m")
        await wait_for(pilot, lambda: app.current_mode == "models", "Models")
        await pilot.pause()
        screen: Any = app.screen
        assert screen.sort_column == "R2"
        table = screen.query_one("#models-table", DataTable)
        # Click the "Name" header: sorted by name, A to Z.
        # The Name column comes after the mark (✓) and best (★) columns.
        x = sum(col.get_render_width(table) for col in list(table.columns.values())[:2]) + 2
        await pilot.click("#models-table", offset=(x, 0))
        await pilot.pause()
        assert screen.sort_column == "name"
        assert [str(k.value) for k in table.rows] == ["Base", "Linear"]


async def test_training_several_kinds_saves_each(store_dir: Path) -> None:
    from textual.widgets import SelectionList

    messages: list[Message] = []
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await load_sample(pilot, messages)
        await open_train(pilot, trees="3")
        kinds = app.screen.query_one("#kinds", SelectionList)
        kinds.select("dummy")
        kinds.select("ridge")
        await wait_for(pilot, lambda: app.screen.query("#name-ridge"), "the Ridge form")
        app.screen.query_one("#name-ridge", Input).value = "Ridge, alpha 1"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(of_type(messages, msg.ModelSaved)) == 3, "3 saves")
        assert {m.name for m in of_type(messages, msg.ModelSaved)} == {
            "Dummy",
            "Ridge, alpha 1",
            "Random Forest",
        }
        totals = {m.total for m in of_type(messages, msg.TrainingProgress)}
        assert totals == {3}
        await wait_for(pilot, lambda: len(app.state.store.entries) == 3, "all three listed")


async def test_detail_pane_warns_about_a_version_mismatch(
    store_dir: Path, saved_models: Any
) -> None:
    import json

    saved_models(store_dir, [("Old", "linear_regression", {})])
    meta = store_dir / "metadata" / "Old.json"
    document = json.loads(meta.read_text())
    document["environment"]["sklearn"] = "0.24.2"
    meta.write_text(json.dumps(document))
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.store.entries, "the list")
        await pilot.pause()
        warnings = app.state.store.entries["Old"]["environment_mismatch"]
        assert warnings
        detail = str(app.screen.query_one("#detail", Static).render())
        assert f"⚠ {warnings[0]}" in detail
        assert "Parameters: fit_intercept=true" in detail


async def test_reload_all_reads_every_model_again(store_dir: Path, saved_models: Any) -> None:
    saved_models(store_dir, [("Linear", "linear_regression", {}), ("Base", "dummy", {})])
    messages: list[Message] = []
    app = new_app(store_dir)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: of_type(messages, msg.ModelsLoadFinished), "auto-load")
        first = app.service.loaded["Linear"]  # type: ignore[union-attr]
        await pilot.press("r")
        await wait_for(pilot, lambda: len(of_type(messages, msg.ModelsLoadFinished)) == 2, "reload")
        again = of_type(messages, msg.ModelsLoadFinished)[1]
        assert (again.loaded, again.failed) == (2, 0)
        assert app.service.loaded["Linear"] is not first  # type: ignore[union-attr]


async def test_a_name_the_store_refuses_blocks_training(store_dir: Path) -> None:
    messages: list[Message] = []
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await load_sample(pilot, messages)
        await open_train(pilot)
        app.screen.query_one("#name-random_forest", Input).value = "runs/forest"
        await pilot.press("ctrl+r")
        await pilot.pause(0.3)
        line = str(app.screen.query_one("#train-message", Static).render())
        assert "cannot contain / or \\" in line
        assert not app.state.training.running and not of_type(messages, msg.TrainingProgress)


async def test_name_taken_meanwhile_asks_before_saving(store_dir: Path) -> None:
    messages: list[Message] = []
    # The app's own save (training in this process): a job saves its model itself.
    app = new_app(store_dir, autoload=False, jobs=False)
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: app.service is not None, "the store")
        service: Any = app.service
        real_save = service.save
        calls: list[tuple[str, bool]] = []

        async def save(name: str, data: Any, *, replace: bool = False) -> str:
            from tuidash.core.store import ModelExists

            calls.append((name, replace))
            if len(calls) == 1:  # another session saved a name that shares its files
                raise ModelExists(
                    "A model named 'random forest' already exists (or would share files with "
                    f"'{name}'); pick another name."
                )
            return await real_save(name, data, replace=replace)

        service.save = save
        await load_sample(pilot, messages)
        await open_train(pilot, trees="3")
        await pilot.press("ctrl+r")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, NameTakenModal) and bool(app.screen.query("#free")),
            "the name dialog",
        )
        # Not the very same name: a new version of it cannot be offered, another name can.
        assert not app.screen.query("#version")
        await pilot.click("#free")
        await wait_for(pilot, lambda: of_type(messages, msg.ModelSaved), "the save")
        assert calls == [("Random Forest", False), ("Random Forest (2)", False)]
        assert not app.state.training.unsaved
