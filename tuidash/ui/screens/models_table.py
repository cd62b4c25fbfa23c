"""The Models section's table: its columns, the cells of a row, and the table widget.

A store can hold thousands of models. What the table needs from the whole listing (the
best model of each group, the tasks present) is computed once per listing, off the event
loop (``listing_facts``, called by the listing worker); the cells of a row are built only
when the row is added, a few hundred rows at a time, so the first rows show at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from tuidash.core import analysis as an
from tuidash.core.catalog import CATALOGS
from tuidash.core.text import number_text, size_text

METRICS = ("R2", "RMSE", "MAE", "MAPE", "MSE")
"""Metric columns of regressors, in the order shown."""
CLASSIFICATION_METRICS = ("Balanced accuracy", "Accuracy", "F1 macro", "ROC AUC", "Log loss")
"""Metric columns of classifiers, in the order shown."""
METRIC_LABELS = {"Balanced accuracy": "Bal. acc", "Accuracy": "Acc"}
"""Short column headers of long metric names."""
HIGHER_IS_BETTER = {"R2"} | set(CLASSIFICATION_METRICS) - {"Log loss"}
"""Metrics where a larger value is better (the others are errors)."""
SORT_COLUMNS = ("name", *METRICS, "saved_at", "size")
"""Columns the "o" key cycles through (a store with classifiers adds their metrics)."""
TASK_CELLS = {"regression": "regr.", "classification": "class."}
"""The Task column's cells (the column shows only when a classifier is saved)."""
STATUS_STYLES = {"loaded": "bold", "problem": "red"}
"""How the Status cell shows each status."""
ROWS_AT_ONCE = 200
"""Rows the Models table adds in its first go, and at least in each later one."""
BATCH_SECONDS = 0.02
"""How long one later go may build rows before the event loop runs again (a go costs about
half as much again in adding and drawing them: well under the 100 ms a stall may last)."""


def model_task(entry: Mapping[str, Any]) -> str:
    """regression or classification (entries saved before classification are regressors)."""
    return "classification" if entry.get("task") == "classification" else "regression"


def columns_of_tasks(tasks: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the metric columns right after the kind, the ones after target and data).

    A store of regressors shows exactly the regression columns; a store of classifiers
    the classification ones; with both, each task's main metric comes first.
    """
    tasks = set(tasks)
    if "classification" not in tasks:
        return METRICS[:2], METRICS[2:]
    if tasks == {"classification"}:
        return CLASSIFICATION_METRICS[:2], CLASSIFICATION_METRICS[2:]
    return ("R2", "Balanced accuracy"), (*METRICS[1:], "Accuracy", *CLASSIFICATION_METRICS[2:])


def kind_label(entry: Mapping[str, Any]) -> str:
    """The display name of an entry's model kind (of its task)."""
    model_type = entry.get("model_type") or ""
    kind = CATALOGS.get(model_task(entry), {}).get(str(model_type))
    return kind.display_name if kind else (str(model_type) or "?")


def metric_value(entry: Mapping[str, Any], metric: str) -> float | None:
    """One metric of an entry, or None when undefined or missing."""
    value = (entry.get("metrics") or {}).get(metric)
    return float(value) if isinstance(value, int | float) else None


def matches(entry: Mapping[str, Any], words: str) -> bool:
    """Whether every word of a filter is in the entry's name, kind, target or a tag."""
    data = entry.get("data") or {}
    haystack = " ".join(
        [
            str(entry.get("name") or ""),
            kind_label(entry),
            str(entry.get("model_type") or ""),
            str(data.get("target") or "") if isinstance(data, dict) else "",
            *[str(tag) for tag in entry.get("tags") or []],
        ]
    ).lower()
    return all(word in haystack for word in words.lower().split())


def version_cell(entry: Mapping[str, Any]) -> str:
    """``v4 (3)``: the latest version's number and how many versions the name has (earlier
    ones may have been deleted or pruned, so the two can differ)."""
    return f"v{entry.get('version') or 1} ({entry.get('versions') or 1})"


def data_file(entry: Mapping[str, Any]) -> str:
    """The data file a model was trained on, its file name only (``sample:diabetes``)."""
    data = entry.get("data") or {}
    source = str(data.get("source") or "") if isinstance(data, dict) else ""
    return source.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ListingFacts:
    """What the table shows about a listing as a whole: computed once per listing."""

    best: frozenset[str]
    """The models with the best main metric among the models comparable with them."""
    tasks: frozenset[str]
    """The tasks of the listed models (regression, classification)."""
    known_groups: int
    """Groups of comparable models (same target of the same data) whose data is known."""
    unknown: int
    """Models whose data is unknown (never ranked)."""

    @property
    def classifiers(self) -> bool:
        """Whether any listed model is a classifier (the table then shows the task)."""
        return "classification" in self.tasks

    def columns(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The metric columns of the table (see ``columns_of_tasks``)."""
        return columns_of_tasks(self.tasks)


def listing_facts(entries: Iterable[Mapping[str, Any]]) -> ListingFacts:
    """The ``ListingFacts`` of listed entries (each with its ``name``); thousands of models
    take a noticeable time, so the listing worker calls this in a thread.

    The best models are those of ``core.analysis.best_per_group`` per comparison group
    (ties go to the name that sorts first, the row shown first among equals); a model
    whose data is unknown is never best.
    """
    groups = an.comparison_groups(list(entries))
    best: set[str] = set()
    for group in groups:
        if group.known:
            winners = an.best_per_group(group.models)
            if winners:
                best.add(min(winners, key=str.lower))
    return ListingFacts(
        best=frozenset(best),
        tasks=frozenset(model_task(m) for g in groups for m in g.models),
        known_groups=sum(1 for g in groups if g.known),
        unknown=sum(len(g.models) for g in groups if not g.known),
    )


def column_labels(facts: ListingFacts) -> dict[str, str]:
    """The table's columns (key -> header), in order: the status and the main metrics
    right after the name, before the kind, since at 80 columns the rightmost columns
    scroll away (a kind such as "Logistic Regression" and the task left no room for them)."""
    main, rest = facts.columns()
    labels = {"mark": "✓", "best": "★", "name": "Name", "v": "v", "status": "Status"}
    labels.update({m: METRIC_LABELS.get(m, m) for m in main})
    labels["kind"] = "Kind"
    if facts.classifiers:
        labels["task"] = "Task"
    labels.update({"target": "Target", "data": "Data"})
    labels.update({m: METRIC_LABELS.get(m, m) for m in rest})
    labels.update({"size": "Size", "saved_at": "Saved at"})
    return labels


def status_cell(status: str) -> Text:
    """The Status cell of a row."""
    return Text(status, style=STATUS_STYLES.get(status, ""))


def row_cells(
    entry: Mapping[str, Any], facts: ListingFacts, marked: bool, status: str
) -> list[Any]:
    """The cells of one saved model's row, in the order of ``column_labels``."""
    name = str(entry["name"])
    main, rest = facts.columns()
    own = CLASSIFICATION_METRICS if model_task(entry) == "classification" else METRICS
    metrics: list[Any] = []
    for metric in (*main, *rest):
        if metric not in own:
            metrics.append("")  # a metric of the other task
            continue
        value = metric_value(entry, metric)
        metrics.append(Text("undefined", style="dim") if value is None else number_text(value))
    data = entry.get("data") or {}
    return [
        "✓" if marked else "",
        "★" if name in facts.best else "",
        Text(name),
        version_cell(entry),
        status_cell(status),
        *metrics[: len(main)],
        kind_label(entry),
        *([TASK_CELLS[model_task(entry)]] if facts.classifiers else []),
        str(data.get("target") or "") if isinstance(data, dict) else "",
        data_file(entry),
        *metrics[len(main) :],
        size_text(entry.get("size_bytes")),
        str(entry.get("saved_at") or ""),
    ]


def problem_cells(name: str, facts: ListingFacts) -> list[Any]:
    """The cells of a problem entry's row (a model the store cannot load as good)."""
    main, rest = facts.columns()
    cells: list[Any] = ["", "", Text(name), "", status_cell("problem")]
    cells += [*[Text("—", style="dim") for _ in main], "?"]
    cells += [""] if facts.classifiers else []
    cells += ["", ""]
    cells += [*[Text("—", style="dim") for _ in rest], "", ""]
    return cells


def cell_width(cell: Any) -> int:
    """The width a table cell needs (str or rich Text, one line)."""
    return cell.cell_len if isinstance(cell, Text) else cell_len(str(cell))


class ModelsTable(DataTable[Any]):
    """The models table: its columns have given widths and its rows one line each, so new
    rows need no measuring.

    Textual's DataTable measures every cell of the rows added since it was last idle (for
    column widths it does not use when they are given): with 10,000 models that was
    150,000 cells and seconds on the event loop. Textual offers no public way to skip
    it, so the table overrides the private ``_update_dimensions`` (textual is pinned):
    with given widths and one-line rows only the scrollable size is computed; anything
    else goes through Textual's own measuring.
    """

    def widen(self, rows: list[list[Any]]) -> None:
        """Widen the columns that ``rows`` (about to be added) need wider."""
        columns = list(self.ordered_columns)
        widened = False
        for index, column in enumerate(columns):
            width = max((cell_width(row[index]) for row in rows), default=0)
            if width > column.width:
                column.width = width
                widened = True
        if widened:
            self.refresh()  # the rows about to be added bring the new size

    def set_width(self, key: str, width: int) -> None:
        """Make the column ``key`` exactly ``width`` cells wide (its cells changed)."""
        column = self.columns.get(ColumnKey(key))
        if column is not None and column.width != width:
            column.width = width
            self._resize()
            self.refresh()

    def _resize(self) -> None:
        """The scrollable size of the given column widths and one-line rows."""
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            width + self._row_label_column_width, self._total_row_height + header
        )

    def _update_dimensions(self, new_rows: Any) -> None:
        columns = list(self.columns.values())
        if any(column.auto_width for column in columns) or any(
            self.rows[key].auto_height or self.rows[key].label is not None
            for key in new_rows
            if key in self.rows
        ):
            super()._update_dimensions(new_rows)
            return
        self._resize()
