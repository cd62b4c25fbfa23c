"""Pilot tests of the Data screen's choices (issue 10): the default target, a text target
listed as a problem, and a file browser that opens typed folders and goes up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pilot_helpers import section_shown, wait_for
from textual.widgets import DirectoryTree, Select, Static, TabbedContent

from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app


def new_app(store: Path, **options: Any) -> TuidashApp:
    """The app as the CLI builds it, on a test store."""
    options.setdefault("autoload", False)
    return make_app(None, store, **options)


def write_shop(folder: Path) -> Path:
    """Price and rooms, then a numeric customer id, then a text column last."""
    lines = ["rooms,price,customer_id,city"]
    lines += [
        f"{i % 5 + 1},{100 + 7 * i},{5000 + i},{'Lyon' if i % 2 else 'Paris'}" for i in range(40)
    ]
    path = folder / "shop.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_the_default_target_is_the_last_numeric_non_id_column_and_text_is_a_problem(
    store_dir: Path, tmp_path: Path
) -> None:
    write_shop(tmp_path)
    app = new_app(store_dir, start_section="data", cwd=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: section_shown(app, "data"), "the Data section")
        await pilot.press(*"shop.csv", "enter")
        await wait_for(pilot, lambda: app.state.data.data is not None, "the file loaded")
        await pilot.pause()
        assert app.state.data.target == "price"
        assert app.state.data.features == ["rooms", "customer_id", "city"]
        screen = app.screen
        problems = screen.query_one("#problems", Static)
        tabs = screen.query_one("#data-tabs", TabbedContent)
        reason = screen.query_one("#data-task .task-reason", Static)
        assert "The target" not in str(problems.render())
        assert "so it is regression" in str(reason.render())
        before = str(tabs.get_tab("tab-problems").label)
        # Under auto a text target is classification: the reason says so, and it is no
        # problem.
        screen.query_one("#target", Select).value = "city"
        await pilot.pause()
        assert "The target" not in str(problems.render())
        assert str(reason.render()).replace("\n", " ") == (
            "'city' holds text (2 different values), so each value is a class."
        )
        assert str(tabs.get_tab("tab-problems").label) == before
        # Asking for regression brings the text-target problem back, word for word.
        screen.query_one("#data-task Select", Select).value = "regression"
        await pilot.pause()
        assert app.state.data.task == "regression"
        shown = str(problems.render())
        assert (
            "The target 'city' holds text (such as 'Paris', 'Lyon'); tuidash predicts numbers, "
            "so choose a column of numbers as the target." in shown.replace("\n", " ")
        )
        after = str(tabs.get_tab("tab-problems").label)
        assert before != after and after.endswith(f"({int(before.split('(')[1][:-1]) + 1})")
        # Back to a number: the problem goes.
        screen.query_one("#target", Select).value = "price"
        await pilot.pause()
        assert "The target" not in str(problems.render())


async def test_typing_a_folder_opens_the_browser_there_and_backspace_goes_up(
    store_dir: Path, tmp_path: Path
) -> None:
    start = tmp_path / "start"
    start.mkdir()
    (tmp_path / "elsewhere" / "deeper").mkdir(parents=True)
    write_shop(tmp_path / "elsewhere" / "deeper")
    app = new_app(store_dir, start_section="data", cwd=start)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: section_shown(app, "data"), "the Data section")
        screen = app.screen
        tree = screen.query_one("#browser", DirectoryTree)
        assert Path(tree.path) == start
        await pilot.press(*str(tmp_path / "elsewhere" / "deeper"), "enter")
        await pilot.pause()
        assert Path(tree.path) == tmp_path / "elsewhere" / "deeper"
        assert tree.has_focus
        assert "backspace" in str(screen.query_one("#data-status", Static).render())
        # The key is in the footer while the browser has focus.
        keys = {b.binding.key: b.binding.description for b in screen.active_bindings.values()}
        assert keys.get("backspace") == "Up a folder"
        await pilot.press("backspace")
        await pilot.pause()
        assert Path(tree.path) == tmp_path / "elsewhere"
        status = str(screen.query_one("#data-status", Static).render())
        assert status.startswith(f"Showing the folder {tmp_path / 'elsewhere'}:")
        await pilot.press("backspace", "backspace")
        await pilot.pause()
        assert Path(tree.path) == tmp_path.parent
        # A relative folder is taken from the start folder, and a file in it opens.
        box = screen.query_one("#path")
        box.focus()
        await pilot.press(*"../elsewhere/deeper", "enter")
        await pilot.pause()
        assert Path(tree.path) == tmp_path / "elsewhere" / "deeper"
        await wait_for(pilot, lambda: tree.root.children, "the folder listed")
        tree.select_node(tree.root.children[0])
        await wait_for(
            pilot, lambda: app.state.data.data is not None, "the file chosen in it loaded"
        )
        assert Path(app.state.data.data.source).name == "shop.csv"
