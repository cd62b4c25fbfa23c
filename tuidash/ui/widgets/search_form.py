"""Search mode of one model kind on the Train screen: the ranges (catalog defaults, editable),
the method, the number of candidates, the folds, the metric and an optional Dask cluster.

Every input is checked with the core's own parser, so the form and ``tuidash train
--search`` accept and refuse the same text with the same sentence. "Check" asks the
scheduler for its workers in a thread worker and shows them (or why it cannot be reached).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Checkbox, Input, Label, Static

from tuidash.core.catalog import ModelKind
from tuidash.core.errors import TuidashError
from tuidash.core.search import (
    MAX_CANDIDATES,
    METHODS,
    SearchSpec,
    default_dimension,
    metric_scorer,
    parse_dimension,
    scorers_for,
)


class CheckedBy(Validator):
    """Valid when ``check(text)`` returns without raising a TuidashError (its sentence)."""

    def __init__(self, check: Callable[[str], Any]) -> None:
        super().__init__()
        self.check = check
        """Parses the text or raises."""

    def validate(self, value: str) -> ValidationResult:
        """Success, or the core's sentence."""
        try:
            self.check(value)
        except TuidashError as error:
            return self.failure(error.message)
        return self.success()


def _whole(name: str, low: int, high: int) -> Callable[[str], int]:
    def check(text: str) -> int:
        from tuidash.core.search import SearchError

        try:
            number = int(text.strip())
        except ValueError:
            raise SearchError(f"{name} must be a whole number from {low} to {high}.") from None
        if not low <= number <= high:
            raise SearchError(f"{name} must be a whole number from {low} to {high}.")
        return number

    return check


def _method(text: str) -> str:
    from tuidash.core.search import SearchError

    if text.strip().lower() not in METHODS:
        raise SearchError("The search method must be random or grid.")
    return text.strip().lower()


def _cluster(text: str) -> str | None:
    from tuidash.core.cluster import scheduler_address

    return scheduler_address(text) if text.strip() else None


class SearchFields(Vertical):
    """The Search mode switch of one kind and, when on, its settings and ranges."""

    DEFAULT_CSS = """
    SearchFields { height: auto; margin-top: 1; }
    SearchFields .search-body { height: auto; }
    SearchFields .search-body.-off { display: none; }
    SearchFields .search-row { height: 1; }
    SearchFields .search-name { width: 19; color: $text-muted; }
    SearchFields .search-row Input { width: 1fr; max-width: 30; }
    SearchFields .search-row Button { margin-left: 1; }
    SearchFields .search-help { color: $text-muted; height: auto; padding-left: 19; }
    SearchFields .search-help.-error { color: $error; }
    SearchFields .cluster-info { height: auto; color: $text-muted; padding-left: 19; }
    SearchFields .cluster-info.-error { color: $error; }
    """

    def __init__(self, kind: ModelKind, cursor_blink: bool = True) -> None:
        super().__init__(id=f"search-{kind.id}", classes="search-fields")
        self.kind = kind
        """The model kind searched."""
        self.cursor_blink = cursor_blink
        """Blink the cursor of the inputs (off in snapshots)."""

    def _field_id(self, part: str) -> str:
        return f"search-{self.kind.id}-{part}"

    def compose(self) -> ComposeResult:
        """The switch, then (hidden until ticked) settings and one range per parameter."""
        kind = self.kind
        yield Checkbox(
            "Search the parameters",
            id=self._field_id("on"),
            compact=True,
            tooltip="Try candidates from the ranges below and keep the best (refitted)",
        )
        metrics = ", ".join(scorers_for(kind))
        rows: list[tuple[str, str, str, Callable[[str], Any], str]] = [
            ("method", "random", "random or grid", _method, "method"),
            (
                "candidates",
                "20",
                "random candidates (a grid tries every combination)",
                _whole("Candidates", 1, MAX_CANDIDATES),
                "candidates",
            ),
            ("cv folds", "5", "folds of the cross-validation", _whole("Folds", 2, 20), "folds"),
            (
                "metric",
                metric_scorer(kind, None)[0],
                f"optimised: {metrics}",
                lambda text: metric_scorer(kind, text),
                "metric",
            ),
        ]
        with Vertical(classes="search-body -off"):
            for label, value, tip, check, part in rows:
                with Horizontal(classes="search-row"):
                    yield Label(label, classes="search-name")
                    yield Input(
                        value,
                        id=self._field_id(part),
                        validators=[CheckedBy(check)],
                        tooltip=tip,
                        compact=True,
                    )
            with Horizontal(classes="search-row"):
                yield Label("cluster", classes="search-name")
                yield Input(
                    "",
                    placeholder="tcp://HOST:8786 or empty",
                    id=self._field_id("cluster"),
                    validators=[CheckedBy(_cluster)],
                    valid_empty=True,
                    tooltip="A Dask scheduler to run the fits on; empty runs them here",
                    compact=True,
                )
                yield Button("Check", id=self._field_id("check"), compact=True)
            yield Static("", classes="cluster-info")
            yield Label("Ranges — LOW:HIGH, LOW:HIGH:log or a list a,b,c", classes="kind-title")
            for spec in kind.params:
                with Horizontal(classes="search-row"):
                    yield Label(spec.name, classes="search-name")
                    yield Input(
                        default_dimension(spec).text(),
                        id=self._field_id(f"range-{spec.name}"),
                        validators=[CheckedBy(functools.partial(parse_dimension, spec))],
                        tooltip=f"{spec.help} ({spec.range_text()})",
                        compact=True,
                    )
            yield Static("", classes="search-help")

    def on_mount(self) -> None:
        """Follow the cursor-blink setting (off in snapshots)."""
        if not self.cursor_blink:
            for box in self.query(Input):
                box.cursor_blink = False

    @property
    def enabled(self) -> bool:
        """Search mode is on."""
        return self.query_one(f"#{self._field_id('on')}", Checkbox).value

    @on(Checkbox.Changed)
    def _switched(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.query_one(".search-body").set_class(not event.value, "-off")

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        help_line = self.query_one(".search-help", Static)
        result = event.validation_result
        if result is not None and not result.is_valid:
            help_line.update(result.failure_descriptions[0])
            help_line.add_class("-error")
        else:
            help_line.update("")
            help_line.remove_class("-error")

    def invalid_inputs(self) -> list[tuple[Input, str]]:
        """Inputs whose text the core refuses, with its sentence (none when Search is off)."""
        if not self.enabled:
            return []
        bad: list[tuple[Input, str]] = []
        for box in self.query(Input):
            result = box.validate(box.value)
            if result is not None and not result.is_valid:
                bad.append((box, result.failure_descriptions[0]))
        return bad

    def _text(self, part: str) -> str:
        return self.query_one(f"#{self._field_id(part)}", Input).value

    def job(self) -> Any:
        """The ``SearchJob`` of the form (call after ``invalid_inputs`` is empty), or None."""
        if not self.enabled:
            return None
        from tuidash.services.search import SearchJob

        spec = SearchSpec(
            method=_method(self._text("method")),
            n_iter=int(self._text("candidates")),
            cv=int(self._text("folds")),
            metric=metric_scorer(self.kind, self._text("metric"))[0],
            ranges={p.name: self._text(f"range-{p.name}") for p in self.kind.params},
        )
        return SearchJob(spec, _cluster(self._text("cluster")))

    # ----- the cluster ---------------------------------------------------------------------

    @on(Button.Pressed)
    def _check_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        info = self.query_one(".cluster-info", Static)
        try:
            address = _cluster(self._text("cluster"))
        except TuidashError as error:
            self._show_cluster(error.message, True)
            return
        if address is None:
            self._show_cluster("No cluster: the fits run on this machine.", False)
            return
        info.update(f"Asking {address} for its workers…")
        self._ask(address)

    @work(thread=True, exclusive=True, exit_on_error=False, group="cluster", description="Cluster")
    def _ask(self, address: str) -> None:
        from tuidash.services.search import cluster_info

        try:
            text, error = cluster_info(address).text(), False
        except TuidashError as problem:
            text, error = problem.message, True
        self.app.call_from_thread(self._show_cluster, text, error)

    def _show_cluster(self, text: str, error: bool) -> None:
        info = self.query_one(".cluster-info", Static)
        info.update(text)
        info.set_class(error, "-error")


def search_summary(record: dict[str, Any]) -> str:
    """ "Best of 40 candidates (random, 5-fold R2) on tcp://…" for a search record."""
    where = record.get("where")
    text = (
        f"Best of {record.get('candidates_tried')} candidates ({record.get('method')}, "
        f"{record.get('cv')}-fold {record.get('metric')})"
    )
    return f"{text} on a Dask cluster" if where == "cluster" else text
