"""Comparing saved models, from their metadata alone: which models can be ranked against
each other (same target of the same data, same split), the metrics table with the best
values, a recommendation, normalised bars, overlaid predictions, a pairwise diff, and the
comparison CSV export. Pure Python.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuidash.core.model_facts import (
    AnalysisError,
    csv_number,
    evenly_spaced,
    finite_value,
    format_value,
    is_higher_better,
    metric_names,
    metric_value,
    model_kind,
    model_name,
    model_task,
    prediction_sample,
    row_order,
    write_new_csv,
)

# --------------------------------------------------------------------------- comparison


UNKNOWN_DATA = "data unknown"
"""The label of models saved without a data fingerprint (e.g. by the original app)."""

RECOMMENDATION_METRICS: dict[str, str] = {
    "regression": "R2",
    "classification": "Balanced accuracy",
}
"""The metric a recommendation ranks by, per task (classification: every class counts the
same, however rare; ``recommend(..., metric="F1 macro")`` ranks by another)."""


def recommendation_metric(task: str) -> str:
    """The metric models of ``task`` are recommended by."""
    return RECOMMENDATION_METRICS.get(task, "R2")


@dataclass(frozen=True)
class Provenance:
    """What a model was trained on, from its ``data`` block: enough to tell comparability."""

    data: str | None
    """Identity of the data: ``sha256:…`` when fingerprinted, else ``source:…``; None unknown."""
    source: str | None
    """Where the data came from (a path or ``sample:…``), for display."""
    target: str | None
    """The column the model predicts."""
    split: tuple[Any, ...] | None
    """How the test rows were chosen (test size, random state, kept order, batching);
    None when not recorded."""
    task: str = "regression"
    """regression or classification: models of different tasks are never ranked together."""

    @property
    def known(self) -> bool:
        """True when both the data and the target are recorded."""
        return self.data is not None and self.target is not None


def _data_block(meta: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for source in (meta, meta.get("metadata")):
        if isinstance(source, Mapping) and isinstance(source.get("data"), Mapping):
            return source["data"]  # type: ignore[no-any-return]
    return None


def provenance(meta: Mapping[str, Any]) -> Provenance:
    """The model's data identity, target and test split, as far as its metadata records them."""
    data = _data_block(meta)
    task = model_task(meta)
    if data is None:
        return Provenance(None, None, None, None, task)

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) and value else None

    sha, source, target = text("sha256"), text("source"), text("target")
    if sha:
        identity: str | None = f"sha256:{sha}"
    elif source and source != "frame":  # a DataFrame handed in directly has no identity
        identity = f"source:{source}"
    else:
        identity = None
    split: tuple[Any, ...] | None = None
    test_size, state, keep = data.get("test_size"), data.get("random_state"), data.get("keep_order")
    size = finite_value(test_size)
    if size is not None and (keep is True or isinstance(state, int)):
        batch = data.get("batch_rows")
        batch = batch if isinstance(batch, int) and batch > 1 else None
        split = (size, None if keep is True else state, keep is True, batch)
    return Provenance(identity, source, target, split, task)


def _split_text(split: tuple[Any, ...] | None) -> str:
    if split is None:
        return "split not recorded"
    test_size, state, keep, batch = split
    text = f"test size {format_value(test_size)}, " + (
        "last rows (order kept)" if keep else f"random state {state}"
    )
    return text + (f", batches of {batch}" if batch else "")


def _source_name(source: str | None) -> str:
    if not source:
        return "unnamed data"
    return re.split(r"[\\/]", source)[-1] or source


@dataclass(frozen=True)
class ModelGroup:
    """Models that can be ranked against each other: same target of the same data."""

    models: list[Mapping[str, Any]]
    """The models' metadata dicts, in the order given."""
    provenance: Provenance
    """What they were trained on (of the first model; the rest share data, target, task)."""

    @property
    def task(self) -> str:
        """regression or classification (of the first model; a known group shares it)."""
        return self.provenance.task

    @property
    def metric(self) -> str:
        """The metric this group is ranked and recommended by."""
        return recommendation_metric(self.task)

    @property
    def known(self) -> bool:
        """False for the models whose data is unknown (never ranked)."""
        return self.provenance.known

    @property
    def names(self) -> list[str]:
        """Model names, in order."""
        return [model_name(m) for m in self.models]

    @property
    def label(self) -> str:
        """ "'price' of houses.csv", or "data unknown"."""
        if not self.known:
            return UNKNOWN_DATA
        label = f"{self.provenance.target!r} of {_source_name(self.provenance.source)}"
        # Regression labels stay as they were; classifiers say so (a target may be both).
        return label + (" (classification)" if self.task == "classification" else "")

    def test_rows_note(self) -> str | None:
        """A sentence when the models were not all tested on the same rows, else None."""
        if not self.known or len(self.models) < 2:
            return None
        splits: dict[str, list[str]] = {}
        for meta in self.models:
            splits.setdefault(_split_text(provenance(meta).split), []).append(model_name(meta))
        if len(splits) == 1 and "split not recorded" not in splits:
            return None
        if len(splits) == 1:
            return "Their test splits are not recorded, so their test rows may differ."
        parts = "; ".join(f"{_join(names)}: {text}" for text, names in splits.items())
        return (
            f"Their test rows differ ({parts}), so the metrics are measured on different "
            "rows of the same data."
        )


def comparison_groups(models: Sequence[Mapping[str, Any]]) -> list[ModelGroup]:
    """Models grouped by what they predict: the same target of the same data, by the same
    task (a regressor and a classifier of one target are never ranked together).

    Data are the same when the fingerprints (``data.sha256``) match, or, for models saved
    without one, when the sources match. Groups come in the order of their first model;
    models whose data or target is unknown form one last group that is never ranked.
    """
    groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    unknown: list[Mapping[str, Any]] = []
    for meta in models:
        origin = provenance(meta)
        if origin.data is None or origin.target is None:
            unknown.append(meta)
        else:
            groups.setdefault((origin.data, origin.target, origin.task), []).append(meta)
    out = [ModelGroup(members, provenance(members[0])) for members in groups.values()]
    if unknown:
        out.append(ModelGroup(unknown, Provenance(None, None, None, None)))
    return out


def comparable(models: Sequence[Mapping[str, Any]]) -> str | None:
    """None when ``models`` can be ranked together; otherwise one sentence saying why not."""
    groups = comparison_groups(models)
    if len(models) < 2 or (len(groups) == 1 and groups[0].known):
        return None
    unknown = [g for g in groups if not g.known]
    if unknown:
        names = unknown[0].names
        whose = f"{names[0]} is" if len(names) == 1 else f"{_join(names)} are"
        return (
            f"The data of {whose} unknown (saved without a data fingerprint), so no model "
            "is recommended: metrics of different data or targets cannot be ranked."
        )
    labels = _join([f"{g.label} ({len(g.models)})" for g in groups])
    if len({g.task for g in groups}) > 1:
        return (
            f"These models do different tasks (regression and classification: {labels}), "
            "so none is recommended across them."
        )
    return (
        f"These models predict different targets or use different data ({labels}), "
        "so none is recommended across them."
    )


def best_per_group(models: Sequence[Mapping[str, Any]]) -> set[str]:
    """Names of the models with the best recommendation metric (R2; balanced accuracy for
    classifiers) among the models comparable with them.

    Ties go to every model holding the best value; models of unknown data are never best.
    """
    best: set[str] = set()
    for group in comparison_groups(models):
        if group.known:
            best.update(best_models(group.models).get(group.metric, []))
    return best


@dataclass(frozen=True)
class MetricsTable:
    """A grid of metric values with labelled rows and columns."""

    row_labels: list[str]
    """Model names (or metric names when transposed)."""
    column_labels: list[str]
    """Metric names (or model names when transposed)."""
    values: list[list[float | None]]
    """``values[row][column]``; None is undefined."""
    models_are_rows: bool = True
    """False in the transposed view."""

    def transposed(self) -> MetricsTable:
        """The same table with rows and columns swapped."""
        columns = [list(col) for col in zip(*self.values, strict=True)] if self.values else []
        if not self.values:
            columns = [[] for _ in self.column_labels]
        return MetricsTable(
            list(self.column_labels), list(self.row_labels), columns, not self.models_are_rows
        )


def metrics_table(models: Sequence[Mapping[str, Any]]) -> MetricsTable:
    """Models as rows, metrics as columns."""
    names = metric_names(models)
    return MetricsTable(
        [model_name(m) for m in models],
        names,
        [[metric_value(m, metric) for metric in names] for m in models],
    )


def best_values(models: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Best value of each metric (lowest error, highest R2); undefined values are skipped."""
    best: dict[str, float] = {}
    for metric in metric_names(models):
        values = [v for v in (metric_value(m, metric) for m in models) if v is not None]
        if values:
            best[metric] = max(values) if is_higher_better(metric) else min(values)
    return best


def is_best(value: float | None, best: float | None) -> bool:
    """True when ``value`` equals the best value (tolerating float round-off)."""
    if value is None or best is None:
        return False
    return math.isclose(value, best, rel_tol=1e-12, abs_tol=1e-15)


def best_models(models: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """For each metric with a defined value, the model(s) holding the best value."""
    winners: dict[str, list[str]] = {}
    for metric, best in best_values(models).items():
        winners[metric] = [model_name(m) for m in models if is_best(metric_value(m, metric), best)]
    return winners


@dataclass(frozen=True)
class Recommendation:
    """Which model to pick by a stated metric (R2; balanced accuracy for classifiers), and
    by how much it beats the next one."""

    name: str | None
    """The recommended model, or None when no model has a defined value of the metric."""
    r2: float | None
    """Its value of ``metric`` (R2 for regression; the name is kept for old callers)."""
    runner_up: str | None
    """The second best model by the metric."""
    runner_up_r2: float | None
    """The runner-up's value of ``metric``."""
    margin: float | None
    """How far the recommended model is ahead of the runner-up (always >= 0)."""
    text: str
    """One sentence for the user."""
    metric: str = "R2"
    """The metric the models were ranked by."""

    @property
    def value(self) -> float | None:
        """The recommended model's value of ``metric``."""
        return self.r2


def recommend(models: Sequence[Mapping[str, Any]], metric: str | None = None) -> Recommendation:
    """Recommend the model with the best ``metric`` and say its margin over the runner-up.

    ``metric`` defaults to the models' task's (``recommendation_metric``: R2, or balanced
    accuracy for classifiers); a lower-is-better metric ranks the smallest first.
    """
    if not models:
        return Recommendation(None, None, None, None, None, "No models to compare.")
    metric = metric or recommendation_metric(model_task(models[0]))
    refused = comparable(models)
    if refused is not None:
        return Recommendation(None, None, None, None, None, refused, metric)
    higher = is_higher_better(metric)
    scored = [(model_name(m), metric_value(m, metric)) for m in models]
    ranked = sorted(
        ((name, value) for name, value in scored if value is not None),
        key=lambda item: -item[1] if higher else item[1],
    )
    if not ranked:
        return Recommendation(
            None,
            None,
            None,
            None,
            None,
            f"No model has a defined {metric}, so none is recommended.",
            metric,
        )
    name, best = ranked[0]
    if len(models) == 1:
        text = (
            f"Only one model ({name}, {metric} {format_value(best)}): there is nothing to compare."
        )
        return Recommendation(name, best, None, None, None, text, metric)
    if len(ranked) == 1:
        text = f"{name} is the only model with a defined {metric} ({format_value(best)})."
        return Recommendation(name, best, None, None, None, text, metric)
    runner, runner_value = ranked[1]
    margin = abs(best - runner_value)
    if is_best(runner_value, best):
        text = f"{name} and {runner} tie on {metric} ({format_value(best)}); neither is ahead."
    else:
        text = (
            f"Recommended: {name}, {metric} {format_value(best)}, "
            f"{format_value(margin)} ahead of {runner} ({format_value(runner_value)})."
        )
    return Recommendation(name, best, runner, runner_value, margin, text, metric)


@dataclass(frozen=True)
class GroupedBars:
    """Metrics scaled for one grouped bar chart: each metric divided by its largest |value|."""

    metrics: list[str]
    """Bar groups (one per metric with at least one defined value)."""
    models: list[str]
    """One bar per model in each group."""
    values: list[list[float]]
    """``values[model][metric]``, in [-1, 1]; undefined values are 0 and listed in
    ``undefined``."""
    undefined: list[tuple[str, str]] = field(default_factory=list)
    """(model, metric) pairs drawn as 0 because the value is undefined."""


def normalised_metrics(models: Sequence[Mapping[str, Any]]) -> GroupedBars:
    """Scale each metric by its largest absolute value so MSE and R2 share one chart."""
    metrics = [m for m in metric_names(models) if m in best_values(models)]
    names = [model_name(m) for m in models]
    values: list[list[float]] = [[] for _ in models]
    undefined: list[tuple[str, str]] = []
    for metric in metrics:
        column = [metric_value(m, metric) for m in models]
        scale = max((abs(v) for v in column if v is not None), default=0.0)
        for index, value in enumerate(column):
            if value is None:
                undefined.append((names[index], metric))
                values[index].append(0.0)
            else:
                values[index].append(value / scale if scale else 0.0)
    return GroupedBars(metrics, names, values, undefined)


@dataclass(frozen=True)
class Overlay:
    """Several models' predictions over the same test rows, with the actual values."""

    ok: bool
    """False when the predictions cannot be overlaid (see ``message``)."""
    message: str
    """What is shown, or why nothing can be."""
    rows: list[int] = field(default_factory=list)
    """1-based test rows shown."""
    actual: list[float] = field(default_factory=list)
    """Actual values at those rows."""
    series: list[tuple[str, list[float]]] = field(default_factory=list)
    """(model name, predictions at those rows) per model."""
    by_actual: bool = False
    """True when the rows are ordered by their actual value (``rows`` are ranks)."""


def predictions_overlay(
    models: Sequence[Mapping[str, Any]], max_points: int | None = 200, *, by_actual: bool = False
) -> Overlay:
    """Overlay the models' predictions, only when they were tested on the same rows."""
    if any(model_task(m) == "classification" for m in models):
        return Overlay(
            False,
            "Classifiers predict classes, which do not overlay as lines; compare their "
            "confusion matrices and metrics instead.",
        )
    samples = [(model_name(m), prediction_sample(m)) for m in models]
    with_data = [(name, s) for name, s in samples if s.stored]
    missing = [name for name, s in samples if not s.stored]
    if not with_data:
        return Overlay(False, "None of these models has stored predictions.")
    first_name, first = with_data[0]
    different = [name for name, s in with_data[1:] if s.actual != first.actual]
    if different:
        return Overlay(
            False,
            f"{_join(different)} {'was' if len(different) == 1 else 'were'} tested on "
            f"different rows from {first_name}, so the predictions cannot be overlaid.",
        )
    order = row_order(first.actual, by_actual)
    spaced = evenly_spaced(len(order), max_points)
    picks = [order[j] for j in spaced]
    series = [(name, [s.predicted[i] for i in picks]) for name, s in with_data]
    message = f"{len(picks)} of {first.stored} test rows"
    if len(models) == 1:
        message = f"Only one model: {message}"
    if missing:
        message += f"; no stored predictions for {_join(missing)}"
    rows = [(j if by_actual else order[j]) + 1 for j in spaced]
    actual = [first.actual[i] for i in picks]
    return Overlay(True, message + ".", rows, actual, series, by_actual)


def _join(names: Sequence[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True)
class MetricDiff:
    """One metric of two models and how B differs from A."""

    metric: str
    """Metric name."""
    a: float | None
    """Model A's value."""
    b: float | None
    """Model B's value."""
    difference: float | None
    """B - A; None when either is undefined."""
    percent: float | None
    """(B - A) / |A| * 100; None when undefined or A is 0."""
    better: str | None
    """Name of the better model on this metric; None on a tie or when undefined."""


@dataclass(frozen=True)
class ParamDiff:
    """A parameter whose value differs between two models."""

    name: str
    """Parameter name."""
    a: str
    """Model A's value, as text ("not set" when A has no such parameter)."""
    b: str
    """Model B's value, as text."""


@dataclass(frozen=True)
class PairDiff:
    """Two models side by side: metric differences and the parameters that differ."""

    a_name: str
    """Model A."""
    b_name: str
    """Model B."""
    kinds: tuple[str, str]
    """Both model kinds (catalog ids, "" when unknown)."""
    metrics: list[MetricDiff]
    """Every metric, B relative to A."""
    params: list[ParamDiff]
    """Only the parameters whose values differ."""

    @property
    def same_kind(self) -> bool:
        """True when both models are of the same kind."""
        return self.kinds[0] == self.kinds[1]


_NOT_SET = object()


def _param_text(value: Any) -> str:
    """A parameter value as the user typed it."""
    return "not set" if value is _NOT_SET else str(value)


def pairwise_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> PairDiff:
    """How model B differs from model A, per metric (absolute and %) and per parameter."""
    a_name, b_name = model_name(a), model_name(b)
    diffs = []
    for metric in metric_names([a, b]):
        va, vb = metric_value(a, metric), metric_value(b, metric)
        if va is None or vb is None:
            diffs.append(MetricDiff(metric, va, vb, None, None, None))
            continue
        difference = vb - va
        percent = None if va == 0 else difference / abs(va) * 100
        if is_best(va, vb):
            better = None
        elif (vb > va) == is_higher_better(metric):
            better = b_name
        else:
            better = a_name
        diffs.append(MetricDiff(metric, va, vb, difference, percent, better))
    raw_a, raw_b = a.get("params"), b.get("params")
    params_a: Mapping[str, Any] = raw_a if isinstance(raw_a, Mapping) else {}
    params_b: Mapping[str, Any] = raw_b if isinstance(raw_b, Mapping) else {}
    changed = []
    for key in sorted(set(params_a) | set(params_b), key=str):
        pa, pb = params_a.get(key, _NOT_SET), params_b.get(key, _NOT_SET)
        if pa is _NOT_SET or pb is _NOT_SET or pa != pb:
            changed.append(ParamDiff(str(key), _param_text(pa), _param_text(pb)))
    kinds = (model_kind(a), model_kind(b))
    return PairDiff(a_name, b_name, kinds, diffs, changed)


# --------------------------------------------------------------------------- CSV export


def export_comparison_csv(models: Sequence[Mapping[str, Any]], directory: str | Path) -> Path:
    """Write the models x metrics table (empty cell = undefined) to a new CSV; return its path."""
    if not models:
        raise AnalysisError("There are no models to export.")
    names = metric_names(models)
    # Best values only among comparable models (same target of the same data).
    best: dict[int, dict[str, list[str]]] = {}
    for group in comparison_groups(models):
        if group.known:
            winners = best_models(group.models)
            best.update({id(meta): winners for meta in group.models})
    header = ["model", "kind", *names, "best_at"]
    rows = []
    for meta in models:
        name = model_name(meta)
        own = best.get(id(meta), {})
        wins = [metric for metric in names if name in own.get(metric, [])]
        rows.append(
            [
                name,
                model_kind(meta),
                *(csv_number(metric_value(meta, metric)) for metric in names),
                " ".join(wins),
            ]
        )
    return write_new_csv(directory, "comparison", header, rows)
