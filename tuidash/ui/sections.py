"""The dashboard's sections: one row each (mode, key, label), in the order of every footer.

The section keys of every section screen, the command palette's labels and the app's
modes all come from ``SECTIONS``; the app pairs each row with the screen that shows it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Section:
    """One top-level section: a Textual mode opened by one key."""

    mode: str
    """The mode name (``app.switch_mode``)."""
    key: str
    """The key that opens it from any section."""
    label: str
    """Its name in the footer, the header and in front of its commands in the palette."""
    tooltip: str
    """What it is for, in a few words (footer tooltip and palette help)."""

    def binding(self) -> Binding:
        """The key binding that switches to this section."""
        return Binding(
            self.key,
            f"app.section('{self.mode}')",
            self.label,
            tooltip=self.tooltip,
            id=f"section-{self.mode}",
        )


SECTIONS: tuple[Section, ...] = (
    Section("data", "d", "Data", "Open a data file"),
    Section("train", "t", "Train", "Train models"),
    Section("models", "m", "Models", "Saved models"),
    Section("storage", "s", "Storage", "The model store"),
    Section("jobs", "j", "Jobs", "Training jobs"),
)
"""Every section, in footer order."""

SECTION_LABELS: dict[str, str] = {section.mode: section.label for section in SECTIONS}
"""Section mode names and their labels."""


def section_bindings(
    *, group: Binding.Group | None = None, hidden: str | None = None
) -> list[Binding]:
    """The section keys, to place in a section screen's ``BINDINGS`` where its footer wants
    them; ``group`` puts them under one label, ``hidden`` (a mode) leaves that key out of
    the footer (it still works)."""
    bindings = []
    for section in SECTIONS:
        binding = section.binding()
        if section.mode == hidden:
            binding = dataclasses.replace(binding, show=False)
        elif group is not None:
            binding = dataclasses.replace(binding, group=group)
        bindings.append(binding)
    return bindings
