"""Pilot tests of the QA fixes: table widths, status line, dialogs, Data screen typing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pilot_helpers import section_shown, wait_for
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    Select,
    SelectionList,
    Static,
    TabbedContent,
)

from tuidash.core.text import number_text
from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app
from tuidash.ui.modals.confirm import ConfirmModal
from tuidash.ui.screens.models import ModelsScreen


def new_app(store: Path, **options: Any) -> TuidashApp:
    """The app as the CLI builds it, on a test store."""
    options.setdefault("autoload", True)
    return make_app(None, store, **options)


async def test_models_table_columns_fit_their_cells_right_after_a_redraw(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir)
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(
            pilot, lambda: len(app.state.store.entries) == 3 and app.state.store.report, "listed"
        )
        screen = section_shown(app, "models")
        assert isinstance(screen, ModelsScreen)
        # A redraw (as during auto-load) followed by a picture before the table is idle:
        # the widths must already fit, not start at the labels' widths.
        screen.redraw()
        table = screen.query_one("#models-table", DataTable)
        widths = {str(c.key.value): c.get_render_width(table) - 2 for c in table.ordered_columns}
        assert widths["kind"] >= len("Linear Regression")
        assert widths["status"] >= len("on disk")
        assert widths["name"] >= len("Baseline")


def in_memory(app: TuidashApp) -> int:
    """How many model objects the service holds."""
    return len(getattr(app.service, "loaded", None) or {})


def status_line(app: TuidashApp) -> str:
    """The text of the load status line of the current section."""
    return str(app.screen.query_one("#load-text", Label).render())


async def test_unload_updates_the_status_line_to_the_models_in_memory(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir)
    app = new_app(store_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: in_memory(app) == 3, "3 models loaded")
        await wait_for(pilot, lambda: status_line(app) == "3 models loaded", "the load result")
        await pilot.press("u")
        await wait_for(pilot, lambda: in_memory(app) == 2, "one unloaded")
        await wait_for(pilot, lambda: status_line(app) == "2 models loaded", "the new count")


async def test_delete_all_names_the_damaged_and_orphaned_entries_it_removes(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir)
    (store_dir / "models" / "Lost.pkl").write_bytes(b"no metadata beside it")  # orphaned
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(
            pilot, lambda: len(app.state.store.entries) == 3 and app.state.store.problems, "listed"
        )
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal), "the dialog")
        dialog: ConfirmModal = app.screen  # type: ignore[assignment]
        assert dialog.title_text == "Delete all 3 saved models and 1 damaged or orphaned entry?"
        assert "and 1 damaged or orphaned entry are removed" in dialog.body


async def test_typing_a_path_on_a_fresh_start_goes_into_the_path_box(
    store_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "houses.csv").write_text("rooms,price\n3,100\n4,150\n")
    app = new_app(store_dir, start_section="data", cwd=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: section_shown(app, "data"), "the Data section")
        await pilot.press(*"houses.csv")
        assert app.current_mode == "data"  # "s" did not jump to Storage
        assert app.screen.query_one("#path", Input).value == "houses.csv"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.data.data is not None, "the file loaded")
        assert list(app.state.data.data.frame.columns) == ["rooms", "price"]


async def test_ctrl_o_goes_to_the_path_box_from_another_tab(store_dir: Path) -> None:
    app = new_app(store_dir, start_section="data")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: section_shown(app, "data"), "the Data section")
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.state.data.data is not None, "the sample loaded")
        tabs = app.screen.query_one("#data-tabs", TabbedContent)
        assert tabs.active == "tab-preview"
        await pilot.press("ctrl+o")
        await pilot.pause()
        box = app.screen.query_one("#path", Input)
        assert tabs.active == "tab-open" and box.has_focus


async def test_a_latin1_file_opens_with_auto_and_says_which_encoding_then_with_latin1(
    store_dir: Path,
) -> None:
    source = Path(__file__).parent.parent / "data" / "latin1.csv"
    app = new_app(store_dir, start_section="data")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: section_shown(app, "data"), "the Data section")
        screen = app.screen
        status = screen.query_one("#data-status", Static)
        screen.query_one("#path", Input).value = str(source)
        screen.query_one("#open", Button).press()
        await wait_for(pilot, lambda: app.state.data.data is not None, "the file read (detected)")
        assert app.state.data.data.frame["city"].tolist()[:2] == ["München", "Köln"]
        assert app.state.data.data.encoding == "cp1252" and not status.has_class("-error")
        assert "Read as cp1252 text" in str(status.render())
        screen.query_one("#encoding", Select).value = "latin-1"
        first = app.state.data.data
        screen.query_one("#open", Button).press()
        await wait_for(pilot, lambda: app.state.data.data is not first, "the file read as latin-1")
        assert app.state.data.data.frame["city"].tolist()[:2] == ["München", "Köln"]
        assert app.state.data.data.encoding == "latin-1"


async def test_default_features_leave_out_ids_use_dates_and_say_why(
    store_dir: Path, tmp_path: Path
) -> None:
    lines = ["code,built,rooms,price"]
    lines += [f"H-{i:04d},2020-01-{i % 28 + 1:02d},{i % 5 + 1},{100 + i}" for i in range(60)]
    source = tmp_path / "houses.csv"
    source.write_text("\n".join(lines) + "\n")
    app = new_app(store_dir, start_section="data", cwd=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: section_shown(app, "data"), "the Data section")
        await pilot.press(*"houses.csv", "enter")
        await wait_for(pilot, lambda: app.state.data.data is not None, "the file loaded")
        await pilot.pause()
        assert app.state.data.target == "price" and app.state.data.features == ["built", "rooms"]
        box = app.screen.query_one("#features", SelectionList)
        assert list(box.selected) == ["built", "rooms"]
        shown = str(app.screen.query_one("#left-out", Static).render())
        assert "'code'" in shown
        assert "Using 'built' as a date: year, month, day of week, ordinal." in shown
        # A new target: the default choice again, for that target.
        app.screen.query_one("#target", Select).value = "rooms"
        await pilot.pause()
        assert app.state.data.target == "rooms" and app.state.data.features == ["built", "price"]
        assert list(box.selected) == ["built", "price"]


def test_numbers_read_without_exponents() -> None:
    assert number_text(32290.1234) == "32,290.1"
    assert number_text(1.042e9) == "1,042,000,000"
    assert number_text(0.4526) == "0.4526"
    assert number_text(-0.01196) == "-0.01196"


async def test_models_table_shows_errors_with_thousands_separators(
    store_dir: Path, saved_models: Any
) -> None:
    saved_models(store_dir)
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(
            pilot, lambda: len(app.state.store.entries) == 3 and app.state.store.report, "listed"
        )
        await pilot.pause()
        table = app.screen.query_one("#models-table", DataTable)
        mse = [str(table.get_cell(name, "MSE")) for name in ("Linear", "Forest", "Baseline")]
        assert all("," in value and "e+" not in value for value in mse), mse


async def test_train_form_puts_model_forms_before_the_split_settings(store_dir: Path) -> None:
    app = new_app(store_dir, start_section="train")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: section_shown(app, "train"), "the Train section")
        app.screen.query_one("#kinds", SelectionList).select("ridge")
        await wait_for(pilot, lambda: app.screen.query("#form-ridge"), "the Ridge form")
        order = [child.id for child in app.screen.query_one("#train-form").children]
        split = order.index("split-title")
        assert order.index("form-ridge") < order.index("form-random_forest") < split


async def test_a_taken_name_in_another_case_gets_a_free_name_the_store_accepts(
    store_dir: Path, saved_models: Any
) -> None:
    from tuidash.ui.modals.name_taken import NameTakenModal

    saved_models(store_dir, [("random forest", "random_forest", {"n_estimators": 5})])
    app = new_app(store_dir, autoload=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "random forest" in app.state.store.entries, "listed")
        # The store refuses "Random Forest" beside "random forest" (they share files on
        # some disks): the app must not offer it as the free name.
        assert app.state.is_taken("Random Forest")
        assert app.state.free_name("Random Forest") == "Random Forest (2)"
        app.state.training.unsaved["Random Forest"] = object()  # its save was refused as taken
        app.ask_name_for_unsaved("Random Forest")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, NameTakenModal) and app.screen.query("#free"),
            "the dialog",
        )
        assert app.screen.free_name == "Random Forest (2)"  # type: ignore[attr-defined]
        assert "Use 'Random Forest (2)'" in str(app.screen.query_one("#free", Button).label)
