"""Command palette: every binding of the app and of each section, runnable from anywhere."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial
from typing import Any, Protocol, cast

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from tuidash.ui.sections import SECTIONS


class SectionHost(Protocol):
    """The app as the palette sees it: the screen class of each section, and a way to run
    a section's action from anywhere."""

    SECTION_SCREENS: Mapping[str, type[Screen[Any]]]

    def run_action(self, action: str) -> Any:
        """Run one of the app's own actions."""

    def run_section_action(self, mode: str, action: str) -> None:
        """Switch to a section and run one of its actions."""


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
    """Offers the sections ("Models"), each section's actions ("Models: Delete all") and the
    app's own; the app is a ``SectionHost``."""

    def commands(self) -> Iterator[tuple[str, str, Any]]:
        """(name, help, callback) of every command."""
        app = cast(SectionHost, self.app)
        seen: set[str] = set()
        sections = [section.binding() for section in SECTIONS]
        section_actions = {binding.action for binding in sections}
        for binding in [*sections, *_bindings(type(app))]:
            if binding.action in seen or binding.action == "quit":
                continue
            seen.add(binding.action)
            help_text = f"{binding.tooltip} (key {binding.key_display or binding.key})"
            action = binding.action.removeprefix("app.")
            yield binding.description, help_text, partial(app.run_action, action)
        for section in SECTIONS:
            mode, label = section.mode, section.label
            for binding in _bindings(app.SECTION_SCREENS[mode]):
                if binding.action in section_actions:
                    continue  # offered above, once
                keys = binding.key_display or binding.key
                help_text = f"{binding.tooltip or binding.description} (key {keys} in {label})"
                callback = partial(app.run_section_action, mode, binding.action)
                yield f"{label}: {binding.description}", help_text, callback
