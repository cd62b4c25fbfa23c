"""The Models section's version keys: alias, roll back, delete a version, note, tags,
rename and compare versions, each asked in a ``VersionFormModal``.

``VersionKeys`` is mixed into ``ModelsScreen``; it works on the highlighted model and the
versions the store state holds for it (``StoreState.versions``), and asks the app to make
each change through ``Actions.version_action``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.binding import Binding
from textual.screen import Screen

from tuidash.core.store import alias_problem, name_problem
from tuidash.core.store.names import fold
from tuidash.core.text import size_text
from tuidash.ui.modals.version_form import FormAnswer, FormField, VersionFormModal, version_choices

if TYPE_CHECKING:
    from tuidash.ui.state import Actions, StoreState

VERSION_BINDINGS = [
    Binding("V", "compare_versions", "Compare versions", tooltip="Compare the versions of the highlighted model side by side", id="m-compare-versions", show=False),  # noqa: E501
    Binding("i", "alias", "Alias", tooltip="Set or remove an alias (champion, prod …) of a version", id="m-alias", show=False),  # noqa: E501
    Binding("b", "rollback", "Roll back", tooltip="Make an earlier version's content the new latest version", id="m-rollback", show=False),  # noqa: E501
    Binding("x", "delete_version", "Delete version", tooltip="Delete one earlier version of the highlighted model", id="m-delete-version", show=False),  # noqa: E501
    Binding("e", "edit_note", "Note", tooltip="Edit the note of a version", id="m-note", show=False),  # noqa: E501
    Binding("g", "edit_tags", "Tags", tooltip="Edit the tags of a version", id="m-tags", show=False),  # noqa: E501
    Binding("n", "rename", "Rename", tooltip="Rename the highlighted model with all its versions", id="m-rename", show=False),  # noqa: E501
]  # fmt: skip
"""The version keys: only in the command palette and the keys list (the footer is full)."""


class VersionKeys(Screen[None]):
    """The version actions of the Models section (a base of ``ModelsScreen``)."""

    store: StoreState
    """The model store (set by the section screen)."""
    actions: Actions
    """Runs the version changes (set by the section screen)."""

    def highlighted_name(self) -> str | None:
        """The model the keys work on (``ModelsScreen`` says which row is highlighted)."""
        return None

    def _versions(self) -> tuple[str, list[dict[str, Any]]] | None:
        """The highlighted model and its versions; None (and a notification) if unknown."""
        name = self.highlighted_name()
        if name is None or name not in self.store.entries:
            self.notify("Highlight a saved model first.", severity="warning")
            return None
        rows = self.store.versions.get(name)
        if rows is None:
            problem = self.store.version_problems.get(name)
            if problem:
                self.notify(problem, severity="error")
            else:
                self.notify(f"The versions of {name!r} are being read; try again in a moment.")
            self.actions.list_versions(name)
            return None
        return name, rows

    def _ask(self, modal: VersionFormModal, then: Any) -> None:
        self.app.push_screen(modal, then)

    def action_alias(self) -> None:
        """Set or remove an alias of a version of the highlighted model."""
        found = self._versions()
        if found is None:
            return
        name, rows = found
        known = sorted(a for row in rows for a in row.get("aliases") or [])

        def check(answer: FormAnswer) -> str | None:
            alias = answer.values["alias"]
            if answer.button == "remove":
                if alias not in known:
                    shown = ", ".join(known) or "none"
                    return f"{name!r} has no alias {alias!r} (its aliases: {shown})."
                return None
            return alias_problem(alias)

        def done(answer: FormAnswer | None) -> None:
            if answer is None:
                return
            alias = answer.values["alias"]
            if answer.button == "remove":
                self.actions.version_action("unalias", name, alias)
            else:
                self.actions.version_action("alias", name, answer.version, alias)

        self._ask(
            VersionFormModal(
                f"Alias of a version of {name!r}",
                f"An alias names one version: {name}@ALIAS in Predict and the command line. "
                f"Setting it again moves it. Aliases now: {', '.join(known) or 'none'}.",
                buttons=[("set", "Set alias", "primary"), ("remove", "Remove alias", "error")],
                versions=version_choices(rows),
                version=rows[-1]["version"],
                fields=[FormField("alias", "Alias", known[0] if known else "", "champion")],
                check=check,
            ),
            done,
        )

    def action_rollback(self) -> None:
        """Make an earlier version's content the new latest version."""
        found = self._versions()
        if found is None:
            return
        name, rows = found
        earlier = [row for row in rows if not row.get("latest")]
        if not earlier:
            self.notify(f"{name!r} has only one version: there is nothing to roll back to.")
            return

        def done(answer: FormAnswer | None) -> None:
            if answer is not None:
                self.actions.version_action("rollback", name, answer.version)

        self._ask(
            VersionFormModal(
                f"Roll {name!r} back",
                "The chosen version's content becomes a new latest version; every version "
                "stays, and the history records the roll-back.",
                buttons=[("rollback", "Roll back", "warning")],
                versions=version_choices(earlier),
                version=earlier[-1]["version"],
            ),
            done,
        )

    def action_delete_version(self) -> None:
        """Delete one earlier version (never the latest, never one an alias points at)."""
        found = self._versions()
        if found is None:
            return
        name, rows = found
        earlier = [row for row in rows if not row.get("latest")]
        if not earlier:
            self.notify(
                f"{name!r} has only its latest version; Del deletes the model.", severity="warning"
            )
            return
        by_number = {row["version"]: row for row in earlier}

        def check(answer: FormAnswer) -> str | None:
            row = by_number.get(answer.version or -1)
            aliases = sorted(row.get("aliases") or []) if row else []
            if aliases:
                shown = ", ".join(f"'{a}'" for a in aliases)
                return (
                    f"Version {answer.version} cannot be deleted: the alias {shown} points at "
                    "it; move or remove the alias first (i)."
                )
            return None

        def done(answer: FormAnswer | None) -> None:
            if answer is not None:
                self.actions.version_action("delete_version", name, answer.version)

        free = [row for row in earlier if not row.get("aliases")] or earlier
        self._ask(
            VersionFormModal(
                f"Delete a version of {name!r}",
                "The version's files are removed from the store for good; the model and its "
                "other versions stay. Sizes: "
                + ", ".join(f"v{r['version']} {size_text(r.get('size_bytes'))}" for r in earlier)
                + ".",
                buttons=[("delete", "Delete version", "error")],
                versions=version_choices(earlier),
                version=free[0]["version"],
                check=check,
            ),
            done,
        )

    def action_edit_note(self) -> None:
        """Edit the note of a version (the latest first)."""
        self._edit_field("note", "Note", "A note for the version (empty: no note).")

    def action_edit_tags(self) -> None:
        """Edit the tags of a version (the latest first; later saves keep them)."""
        self._edit_field("tags", "Tags", "Tags, separated by commas; the filter (/) finds them.")

    def _edit_field(self, key: str, label: str, body: str) -> None:
        found = self._versions()
        if found is None:
            return
        name, rows = found
        latest = rows[-1]
        if key == "note":
            value = str(latest.get("note") or "")
        else:
            value = ", ".join(latest.get("tags") or [])

        def done(answer: FormAnswer | None) -> None:
            if answer is None:
                return
            text = answer.values[key]
            if key == "note":
                self.actions.version_action("note", name, answer.version, text)
            else:
                tags = [t.strip() for t in text.split(",") if t.strip()]
                self.actions.version_action("tags", name, answer.version, tags)

        self._ask(
            VersionFormModal(
                f"{label} of {name!r}",
                body,
                buttons=[("save", f"Save {label.lower()}", "primary")],
                versions=version_choices(rows),
                version=latest["version"],
                fields=[FormField(key, label, value)],
            ),
            done,
        )

    def action_rename(self) -> None:
        """Rename the highlighted model with all its versions."""
        name = self.highlighted_name()
        if name is None or name not in self.store.entries:
            self.notify("Highlight a saved model first.", severity="warning")
            return
        others = {fold(n): n for n in self.store.entries if n != name}

        def check(answer: FormAnswer) -> str | None:
            new = answer.values["name"]
            if new == name:
                return "Type a new name."
            problem = name_problem(new)
            if problem:
                return problem
            taken = others.get(fold(new))
            if taken is not None:
                return f"A model named {taken!r} already exists (or would share its files)."
            return None

        def done(answer: FormAnswer | None) -> None:
            if answer is not None:
                self.actions.version_action("rename", name, answer.values["name"])

        count = self.store.entries[name].get("versions") or 1
        self._ask(
            VersionFormModal(
                f"Rename {name!r}",
                f"All {count} versions, the aliases and the history move to the new name."
                if count > 1
                else "The model moves to the new name.",
                buttons=[("rename", "Rename", "primary")],
                fields=[FormField("name", "New name", name)],
                check=check,
            ),
            done,
        )

    def action_compare_versions(self) -> None:
        """Compare the versions of the highlighted model side by side."""
        found = self._versions()
        if found is None:
            return
        name, rows = found
        if len(rows) < 2:
            self.notify(f"{name!r} has one version: train it again to compare versions.")
            return
        self.actions.open_comparison([version_meta(row) for row in rows])


def version_meta(row: dict[str, Any]) -> dict[str, Any]:
    """A version as Compare takes a model: named ``NAME@vN``, its metrics and data."""
    return {
        **row,
        "name": row.get("ref") or f"{row.get('name')}@v{row.get('version')}",
        "params": row.get("params") or {},
    }
