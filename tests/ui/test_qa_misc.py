"""Pilot tests of a QA pass's findings: the taken-name dialog's buttons, the footer's right
end, a bad number typed on Train, long job log lines and the names jobs are shown by."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pilot_helpers import DialogHost, wait_for
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Static, TextArea
from textual.widgets._footer import FooterKey

from tuidash.core.jobs import JobFiles, JobRecord, new_job_id
from tuidash.ui import messages as msg
from tuidash.ui.factory import make_app
from tuidash.ui.modals.job_log import JobLogModal
from tuidash.ui.modals.name_taken import NameTakenModal
from tuidash.ui.sections import SECTIONS

DATA = Path(__file__).parent.parent / "data"
SIZES = [(80, 24), (100, 30)]
"""The sizes the dashboard is made for."""


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    ("name", "versions"),
    [
        ("Random Forest", 1),
        ("Hist Gradient Boosting", 4),
        ("Random Forest", None),
        ("A model name far longer than any button could hold whole", 2),
    ],
)
async def test_every_button_of_the_taken_name_dialog_is_whole_on_screen(
    size: tuple[int, int], name: str, versions: int | None
) -> None:
    host = DialogHost(NameTakenModal(name, f"{name} (2)", versions=versions))
    async with host.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: host.screen is host.modal, "the dialog")
        await pilot.pause()
        inside = host.modal.query_one(".dialog").content_region
        buttons = list(host.modal.query(Button))
        assert len(buttons) == (3 if versions is not None else 2)
        for button in buttons:
            region = button.region
            assert region.width > 0 and inside.contains_region(region), (button.id, region)
            # The label is drawn whole: the button is as wide as its label needs.
            assert region.width >= button.get_content_width(host.size, host.size), button.id


async def test_the_taken_name_dialog_shows_a_long_name_whole_above_the_buttons() -> None:
    name = "A model name far longer than any button could hold whole"
    host = DialogHost(NameTakenModal(name, f"{name} (2)", versions=2))
    async with host.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: host.screen is host.modal, "the dialog")
        title = str(host.modal.query_one(".dialog-title", Label).render())
        assert name in title
        assert str(host.modal.query_one("#version", Button).label).endswith("…'")


@pytest.mark.parametrize("size", SIZES)
async def test_nothing_shows_after_the_palette_key_at_the_footers_right_end(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    """The compact footer's margin after the palette key left a cell through which the keys
    scrolled under it showed (a stray letter after "^p palette")."""
    app = make_app(None, tmp_path / "store", autoload=False, jobs=False, animations=False)
    async with app.run_test(size=size) as pilot:
        width, height = size
        for section in SECTIONS:
            await app.switch_mode(section.mode)
            await wait_for(pilot, lambda: app.screen.is_mounted, section.mode)
            await pilot.pause()
            widget, _ = app.screen.get_widget_at(width - 1, height - 1)
            assert isinstance(widget, FooterKey), (section.mode, widget)
            assert widget.has_class("-command-palette"), (section.mode, widget.key)


async def test_a_negative_tree_count_shows_as_typed_and_does_not_train(tmp_path: Path) -> None:
    messages: list[Message] = []
    app = make_app(DATA / "houses.csv", tmp_path / "store", autoload=False, jobs=False)
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: any(isinstance(m, msg.DataLoaded) for m in messages), "data")
        await pilot.press("t")
        await wait_for(pilot, lambda: app.current_mode == "train", "the Train section")
        await pilot.pause()
        box = app.screen.query_one("#param-random_forest-n_estimators", Input)
        box.focus()
        await pilot.press("end", "backspace", "backspace", "backspace", "minus", "5")
        await pilot.pause()
        assert box.value == "-5"
        help_line = box.parent.parent.query_one(".param-help", Static)  # type: ignore[union-attr]
        sentence = "n_estimators must be a whole number from 1 to 2000, not -5."
        assert str(help_line.render()) == sentence
        assert help_line.has_class("-error")
        await pilot.press("ctrl+r")
        await pilot.pause()
        said = str(app.screen.query_one("#train-message", Static).render())
        assert said == f"Not trained: {sentence}"
        assert not app.state.training.running
        started = (msg.TrainingProgress, msg.TrainingFinished, msg.JobStarted)
        assert not [m for m in messages if isinstance(m, started)]


def old_job(store: Path, log: str) -> JobRecord:
    """A finished job recorded as older versions did: the kind by its id."""
    now = time.time()
    record = JobRecord(
        id=new_job_id(now),
        state="finished",
        what="logistic_regression on penguins.csv (target species)",
        request={"kind": "logistic_regression", "task": "auto", "target": "species"},
        data={"source": "penguins.csv"},
        store=str(store),
        host="elsewhere",
        created_at=now - 60,
        started_at=now - 50,
        ended_at=now - 10,
        message="Saved as 'Logistic Regression', version 1.",
    )

    def fill(folder: Path) -> None:
        (folder / "log").write_text(log)

    JobFiles(store).create(record, fill)
    return record


LONG_LINE = "fitting fold 3 of 5: " + "candidate parameters " * 8 + "END-OF-LINE"
"""A log line far longer than 80 columns."""


@pytest.mark.parametrize("size", SIZES)
async def test_long_job_log_lines_wrap_and_jobs_show_display_names(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    record = old_job(store, f"reading penguins.csv\n{LONG_LINE}\nsaved\n")
    app = make_app(None, store, autoload=False, animations=False)
    async with app.run_test(size=size) as pilot:
        await pilot.press("j")
        await wait_for(pilot, lambda: app.current_mode == "jobs", "the Jobs section")
        table = app.screen.query_one("#jobs-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1, "the job listed")
        assert str(table.get_cell(record.id, "what")).startswith("Logistic Regression on ")
        detail = str(app.screen.query_one("#job-detail", Static).render())
        assert detail.startswith("Logistic Regression on penguins.csv (target species)")
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, JobLogModal), "the log")
        modal = app.screen
        assert "Logistic Regression on" in str(modal.query_one(".dialog-body", Label).render())
        area = modal.query_one("#job-log", TextArea)
        await wait_for(pilot, lambda: "saved" in area.text, "the log read")
        await pilot.pause()
        assert LONG_LINE in area.text
        # Every part of the long line is on screen: wrapped, nothing past the right edge.
        assert area.virtual_size.width <= area.scrollable_content_region.width
        assert area.wrapped_document.height > 3
        screen_text = "\n".join(
            "".join(segment.text for segment in area.render_line(y))
            for y in range(area.size.height)
        )
        assert "END-OF-LINE" in screen_text


@pytest.mark.parametrize(
    ("what", "kind", "shown"),
    [
        (
            "Random search of svc (40 candidates × 5 folds) as 'S' on x.csv (target y)",
            "svc",
            "Random search of SVC (40 candidates × 5 folds) as 'S' on x.csv (target y)",
        ),
        # Already named: a model name that is a kind id is left as typed.
        (
            "Random Forest as 'random_forest' on x.csv (target y)",
            "random_forest",
            "Random Forest as 'random_forest' on x.csv (target y)",
        ),
        ("no_such_kind on x.csv (target y)", "no_such_kind", "no_such_kind on x.csv (target y)"),
    ],
)
def test_an_older_jobs_line_names_its_kind_as_train_does(what: str, kind: str, shown: str) -> None:
    from tuidash.ui.screens.jobs import job_what

    record = JobRecord(
        id="20260101-000000-abcd",
        state="finished",
        what=what,
        request={"kind": kind, "task": "auto"},
        data={},
        store="/tmp/store",
        host="here",
        created_at=0.0,
    )
    assert job_what(record) == shown
