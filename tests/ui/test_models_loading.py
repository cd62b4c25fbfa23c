"""While models auto-load, the Models table's Status cells change in place (issue 13): the
table is not rebuilt (which measured every cell again on the event loop) for each redraw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pilot_helpers import section_shown, wait_for
from textual.message import Message
from textual.widgets import DataTable

from tuidash.ui import messages as msg
from tuidash.ui.factory import make_app


async def test_auto_load_updates_the_status_cells_without_rebuilding_the_table(
    store_dir: Path, saved_models: Any, monkeypatch: Any
) -> None:
    names = saved_models(store_dir)
    rebuilds: list[int] = []
    real_clear = DataTable.clear

    def clear(self: DataTable[Any], columns: bool = False) -> Any:
        if self.id == "models-table":
            rebuilds.append(1)
        return real_clear(self, columns)

    monkeypatch.setattr(DataTable, "clear", clear)
    messages: list[Message] = []
    app = make_app(None, store_dir, autoload=True)
    async with app.run_test(size=(120, 30), message_hook=messages.append) as pilot:
        await wait_for(
            pilot,
            lambda: any(isinstance(m, msg.ModelsLoadFinished) for m in messages),
            "auto-load",
        )
        screen = section_shown(app, "models")
        assert screen is not None
        await wait_for(pilot, lambda: not screen.redraw_pending, "the status redraw")
        await pilot.pause()
        table = screen.query_one("#models-table", DataTable)
        statuses = {key.value: str(table.get_cell(key, "status")) for key in table.rows}
        assert statuses == {name: "loaded" for name in names}
        listed_or_reported = sum(
            isinstance(m, msg.ModelsListed | msg.StorageReported) for m in messages
        )
        # Rebuilt when first shown (twice: mount and sync), per listing and per storage
        # report; never for a model loaded.
        assert len(rebuilds) <= listed_or_reported + 2
