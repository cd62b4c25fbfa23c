"""A one-line status of the bulk model load: "Loading models 12/40" and a progress bar."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar


class LoadStatus(Horizontal):
    """Shows the auto-load progress while it runs and its result afterwards."""

    DEFAULT_CSS = """
    LoadStatus {
        height: 1;
        display: none;
        padding: 0 1;
        background: $panel;
    }
    LoadStatus.-visible { display: block; }
    LoadStatus > Label { width: auto; margin-right: 2; }
    LoadStatus > ProgressBar { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        """A label and a progress bar."""
        yield Label("", id="load-text")
        yield ProgressBar(show_eta=False, id="load-bar")

    def show_progress(self, done: int, total: int) -> None:
        """Show "Loading models done/total"."""
        self.add_class("-visible")
        self.query_one("#load-text", Label).update(f"Loading models {done}/{total}")
        bar = self.query_one("#load-bar", ProgressBar)
        bar.display = True
        bar.update(total=max(total, 1), progress=done)

    def show_transfer(self, what: str, key: str, done: int, total: int) -> None:
        """Show "Uploading Forest.pkl 12/100 MB" while a remote store moves a large model."""
        if done >= total:
            self.remove_class("-visible")
            return
        self.add_class("-visible")
        verb = "Uploading" if what == "upload" else "Downloading"
        name = key.rpartition("/")[2]
        if name.startswith(".tuidash-tmp-"):
            name = "the model"
        mb = 1024 * 1024
        text = f"{verb} {name} {done / mb:.0f}/{total / mb:.0f} MB"
        self.query_one("#load-text", Label).update(text)
        bar = self.query_one("#load-bar", ProgressBar)
        bar.display = True
        bar.update(total=max(total, 1), progress=done)

    def show_result(self, loaded: int, failed: int) -> None:
        """Show the end result; failures point to Storage."""
        noun = "model" if loaded == 1 else "models"
        text = f"{loaded} {noun} loaded"
        if failed:
            text += f" · {failed} could not be loaded — see Storage"
        self.query_one("#load-text", Label).update(text)
        bar = self.query_one("#load-bar", ProgressBar)
        bar.display = False
        if loaded or failed:
            self.add_class("-visible")
        else:
            self.remove_class("-visible")
