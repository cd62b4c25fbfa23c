"""Pilot tests of model versions in the dashboard (issue 12): the Models table and detail
pane, the version keys and their dialogs, the filter, marks, Compare of versions, the
taken-name dialog and Predict with NAME@ALIAS."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from tuidash.core.store import ModelPersistence
from tuidash.ui.app import TuidashApp
from tuidash.ui.factory import make_app
from tuidash.ui.modals.name_taken import NEW_VERSION, NameTakenModal
from tuidash.ui.modals.version_form import VersionFormModal
from tuidash.ui.screens.compare import CompareScreen
from tuidash.ui.screens.models import ModelsScreen
from tuidash.ui.screens.predict import PredictScreen
from tuidash.ui.widgets.version_chart import VersionChart

GUARD_STEPS = 2400
"""Pauses of 50 ms before giving up (a hang guard, not a time limit)."""

SPECS = [
    ("Forest", "dummy", {}),
    ("Forest", "linear_regression", {}),
    ("Forest", "ridge", {"alpha": 10.0}),
    ("Lasso", "lasso", {}),
]
"""Forest is saved three times (versions 1-3: dummy, linear, ridge); Lasso once."""


async def until(pilot: Pilot[Any], condition: Callable[[], Any]) -> None:
    for _ in range(GUARD_STEPS):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never held")


@pytest.fixture
def versioned(store_dir: Path, saved_models: Any) -> Path:
    saved_models(store_dir, SPECS)
    return store_dir


async def open_models(pilot: Pilot[Any], app: TuidashApp) -> ModelsScreen:
    """The Models section with Forest highlighted and its versions listed."""
    await until(pilot, lambda: len(app.state.store.entries) == 2)
    await pilot.press("m")
    await until(pilot, lambda: isinstance(app.screen, ModelsScreen))
    screen = app.screen
    assert isinstance(screen, ModelsScreen)
    await highlight(pilot, screen, "Forest")
    return screen


async def highlight(pilot: Pilot[Any], screen: ModelsScreen, name: str) -> None:
    table = screen.query_one("#models-table", DataTable)
    await until(pilot, lambda: name in table.rows)
    table.move_cursor(row=table.get_row_index(name))
    await until(pilot, lambda: name in screen.store.versions)
    await pilot.pause()


async def press(pilot: Pilot[Any], button: str) -> None:
    """Press a button of the dialog on top (as Enter on it does)."""
    pilot.app.screen.query_one(f"#{button}", Button).press()
    await pilot.pause()


def detail(screen: ModelsScreen) -> str:
    return str(screen.query_one("#detail", Static).render())


def version_numbers(app: TuidashApp, name: str = "Forest") -> list[int]:
    return [row["version"] for row in app.state.store.versions.get(name, [])]


async def form(pilot: Pilot[Any], app: TuidashApp, key: str) -> VersionFormModal:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, VersionFormModal))
    modal = app.screen
    assert isinstance(modal, VersionFormModal)
    return modal


async def test_one_row_per_name_with_its_versions_and_chart(versioned: Path) -> None:
    app = make_app(None, versioned, autoload=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot, app)
        table = screen.query_one("#models-table", DataTable)
        assert table.row_count == 2
        row = table.get_row("Forest")
        labels = [str(c.label).split()[0] for c in table.ordered_columns]
        assert row[labels.index("v")] == "v3 (3)"
        assert row[labels.index("Target")] == "target"
        assert row[labels.index("Data")] == "sample:diabetes"
        text = detail(screen)
        assert "Versions (3)" in text
        assert "v3 *" in text and "v1" in text
        chart = screen.query_one("#version-chart", VersionChart)
        assert chart.display and chart.metric == "R2"
        assert chart.points()[0] == [1, 2, 3]
        await highlight(pilot, screen, "Lasso")
        assert not chart.display


async def test_alias_set_refused_and_removed_through_the_dialog(versioned: Path) -> None:
    app = make_app(None, versioned, autoload=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot, app)
        modal = await form(pilot, app, "i")
        modal.query_one("#form-version", Select).value = 2
        modal.query_one("#field-alias", Input).value = "latest"
        await press(pilot, "set")
        await pilot.pause()
        assert "reserved" in str(modal.query_one("#form-error", Label).render())
        assert app.screen is modal  # a refused value keeps the dialog open
        modal.query_one("#field-alias", Input).value = "champion"
        await press(pilot, "set")
        await until(
            pilot,
            lambda: any(
                "champion" in r["aliases"] for r in app.state.store.versions.get("Forest", [])
            ),
        )
        rows = app.state.store.versions["Forest"]
        assert rows[1]["aliases"] == ["champion"]
        await until(pilot, lambda: "@champion" in detail(screen))

        modal = await form(pilot, app, "i")
        modal.query_one("#field-alias", Input).value = "nope"
        await press(pilot, "remove")
        await pilot.pause()
        assert "no alias 'nope'" in str(modal.query_one("#form-error", Label).render())
        modal.query_one("#field-alias", Input).value = "champion"
        await press(pilot, "remove")
        await until(
            pilot, lambda: ModelPersistence(versioned).list_versions("Forest")[1]["aliases"] == []
        )


async def test_rollback_and_delete_a_version(versioned: Path) -> None:
    ModelPersistence(versioned).set_alias("Forest", "champion", 2)
    app = make_app(None, versioned, autoload=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_models(pilot, app)
        modal = await form(pilot, app, "b")
        modal.query_one("#form-version", Select).value = 1
        await press(pilot, "rollback")
        await until(pilot, lambda: version_numbers(app) == [1, 2, 3, 4])
        assert app.state.store.entries["Forest"]["version"] == 4
        assert app.state.store.entries["Forest"]["model_type"] == "dummy"

        modal = await form(pilot, app, "x")
        modal.query_one("#form-version", Select).value = 2
        await press(pilot, "delete")
        await pilot.pause()
        error = str(modal.query_one("#form-error", Label).render())
        assert "'champion' points at it" in error
        modal.query_one("#form-version", Select).value = 3
        await press(pilot, "delete")
        await until(pilot, lambda: version_numbers(app) == [1, 2, 4])
        assert "Deleted version 3 of 'Forest'" in " ".join(
            str(n.message) for n in app._notifications
        )


async def test_note_tags_and_rename(versioned: Path) -> None:
    app = make_app(None, versioned, autoload=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot, app)
        modal = await form(pilot, app, "e")
        modal.query_one("#form-version", Select).value = 1
        modal.query_one("#field-note", Input).value = "the baseline"
        await press(pilot, "save")
        await until(pilot, lambda: "the baseline" in detail(screen))
        assert app.state.store.versions["Forest"][0]["note"] == "the baseline"

        modal = await form(pilot, app, "g")
        modal.query_one("#field-tags", Input).value = "march, ridge"
        await press(pilot, "save")
        await until(
            pilot, lambda: app.state.store.entries["Forest"].get("tags") == ["march", "ridge"]
        )

        modal = await form(pilot, app, "n")
        modal.query_one("#field-name", Input).value = "Lasso"
        await press(pilot, "rename")
        await pilot.pause()
        assert "already exists" in str(modal.query_one("#form-error", Label).render())
        modal.query_one("#field-name", Input).value = "bad@name"
        await press(pilot, "rename")
        await pilot.pause()
        assert "cannot contain @" in str(modal.query_one("#form-error", Label).render())
        modal.query_one("#field-name", Input).value = "Forest main"
        await press(pilot, "rename")
        await until(pilot, lambda: "Forest main" in app.state.store.entries)
        assert app.state.store.entries["Forest main"]["versions"] == 3


async def test_filter_marks_and_compare(versioned: Path) -> None:
    app = make_app(None, versioned, autoload=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_models(pilot, app)
        table = screen.query_one("#models-table", DataTable)
        ModelPersistence(versioned).set_tags("Lasso", ["sparse"])
        app.refresh_store()
        await until(pilot, lambda: app.state.store.entries["Lasso"].get("tags") == ["sparse"])
        await pilot.press("slash")
        await pilot.press(*"sparse")
        await until(pilot, lambda: table.row_count == 1)
        assert "Lasso" in table.rows
        assert "1 of 2 models shown" in str(screen.query_one("#models-summary", Static).render())
        await pilot.press("escape")
        await until(pilot, lambda: table.row_count == 2)
        await pilot.press("slash", *"ridge")  # the kind of Forest's latest version
        await until(
            pilot, lambda: list(table.rows) == [next(iter(table.rows))] and "Forest" in table.rows
        )
        await pilot.press("escape")
        await until(pilot, lambda: table.row_count == 2)

        # Marks choose what Compare shows.
        await highlight(pilot, screen, "Lasso")
        await pilot.press("space")
        assert screen.marked == {"Lasso"}
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        assert [m["name"] for m in app.screen.all_models] == ["Lasso"]  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ModelsScreen))

        # V compares the versions of the highlighted model side by side.
        await highlight(pilot, screen, "Forest")
        await pilot.press("V")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        names = [m["name"] for m in app.screen.all_models]  # type: ignore[attr-defined]
        assert names == ["Forest@v1", "Forest@v2", "Forest@v3"]


async def test_delete_asks_with_the_number_of_versions(versioned: Path) -> None:
    app = make_app(None, versioned, autoload=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_models(pilot, app)
        await pilot.press("delete")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmModal")
        title = str(app.screen.query(Label).first().render())
        assert "with all 3 versions" in title


class ModalHost(App[None]):
    """A bare app that shows one modal and keeps what it dismissed with."""

    def __init__(self, modal: Any) -> None:
        super().__init__()
        self.modal = modal
        self.answers: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.answers.append)


async def test_taken_name_dialog_offers_a_new_version_first() -> None:
    host = ModalHost(NameTakenModal("Forest", "Forest (2)", versions=3))
    async with host.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: host.screen is host.modal)
        assert host.focused is not None and host.focused.id == "version"
        assert "New version of 'Forest'" in str(host.modal.query_one("#version", Button).label)
        body = " ".join(str(label.render()) for label in host.modal.query(Label))
        assert "version 4" in body
        await pilot.press("enter")
        await until(pilot, lambda: host.answers)
        assert host.answers == [NEW_VERSION]


async def test_taken_name_dialog_takes_another_name_and_refuses_a_bad_one() -> None:
    host = ModalHost(NameTakenModal("Forest", "Forest (2)", versions=1))
    async with host.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: host.screen is host.modal)
        box = host.modal.query_one("#taken-name", Input)
        box.value = "Forest@v2"
        box.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "cannot contain @" in str(host.modal.query_one("#taken-error", Label).render())
        assert not host.answers
        box.value = "Forest B"
        await pilot.press("enter")
        await until(pilot, lambda: host.answers)
        assert host.answers == ["Forest B"]


async def test_predict_with_an_alias_uses_that_version(versioned: Path, tmp_path: Path) -> None:
    from tuidash.core.data import sample_dataset

    ModelPersistence(versioned).set_alias("Forest", "champion", 1)  # the dummy model
    frame = sample_dataset().frame.drop(columns=["target"]).head(5)
    data = tmp_path / "new.csv"
    frame.to_csv(data, index=False)
    screen = PredictScreen(versioned, ["Forest", "Lasso"], selected="Forest@champion")
    host = ModalHost(screen)
    async with host.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: host.screen is screen)
        assert screen.query_one("#predict-version", Input).value == "champion"
        assert screen.chosen_model() == "Forest@champion"
        screen.start_prediction(str(data))
        await until(pilot, lambda: screen.prediction is not None and not screen.running)
        values = screen.prediction.values()  # type: ignore[union-attr]
        assert len(set(values)) == 1  # the dummy model predicts one value for every row
        screen.query_one("#predict-version", Input).value = "v9"
        screen.start_prediction(str(data))
        await until(pilot, lambda: not screen.running)
        message = str(screen.query_one("#predict-message", Static).content)
        assert "no version 9" in message
        screen.query_one("#predict-version", Input).value = ""
        assert screen.chosen_model() == "Forest"
    assert isinstance(pd.read_csv(data), pd.DataFrame)
