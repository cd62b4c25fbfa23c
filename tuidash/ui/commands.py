"""Command palette: every binding of the app and of each section, runnable from anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tuidash.ui.app import TuidashApp

SECTION_LABELS = {"data": "Data", "train": "Train", "models": "Models", "storage": "Storage"}
"""Section mode names and the label shown in front of their commands."""


def _bindings(owner: Any) -> Iterator[Binding]:
    for binding in getattr(owner, "BINDINGS", []):
        if isinstance(binding, Binding):
            yield binding


class CommandsProvider(Provider):
    """A palette provider built from (name, help, callback) triples; subclasses list them."""

    def commands(self) -> Iterator[tuple[str, str, Any]]:
        """(name, help, callback) of every command."""
        return iter(())

    async def discover(self) -> Hits:
        """Every command, listed when the palette opens."""
        for name, help_text, callback in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        """Commands whose name matches the query."""
        matcher = self.matcher(query)
        for name, help_text, callback in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class ScreenCommands(CommandsProvider):
    """Offers the active pushed screen's own bindings ("Predict: Export CSV")."""

    def commands(self) -> Iterator[tuple[str, str, Any]]:
        """(name, help, callback) for each binding of the screen."""
        screen = self.screen
        label = getattr(screen, "COMMAND_LABEL", type(screen).__name__)
        for binding in _bindings(screen):
            keys = binding.key_display or binding.key
            help_text = f"{binding.tooltip or binding.description} (key {keys})"
            yield (
                f"{label}: {binding.description}",
                help_text,
                partial(screen.run_action, binding.action),
            )


class SectionCommands(CommandsProvider):
    """Offers each section's actions ("Models: Delete all") and the app's own."""

    def commands(self) -> Iterator[tuple[str, str, Any]]:
        """(name, help, callback) of every command."""
        from tuidash.ui.screens.base import SectionScreen

        app: TuidashApp = self.app  # type: ignore[assignment]
        seen: set[str] = set()
        for binding in [*_bindings(SectionScreen), *_bindings(type(app))]:
            if binding.action in seen or binding.action == "quit":
                continue
            seen.add(binding.action)
            help_text = f"{binding.tooltip} (key {binding.key_display or binding.key})"
            action = binding.action.removeprefix("app.")
            yield binding.description, help_text, partial(app.run_action, action)
        for mode, label in SECTION_LABELS.items():
            screen_type = app.MODES[mode]
            for binding in _bindings(screen_type):
                keys = binding.key_display or binding.key
                help_text = f"{binding.tooltip or binding.description} (key {keys} in {label})"
                callback = partial(app.run_section_action, mode, binding.action)
                yield f"{label}: {binding.description}", help_text, callback
