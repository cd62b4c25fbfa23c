"""The record of a search in the model's JSON (``search``): written once by the search,
read by the views (the chart of scores against a parameter, the candidates table, the line
that says how the search ran).

Pure Python.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuidash.core.search.space import Dimension, SearchSpec, _value_text
from tuidash.core.training import TrainedModel

RECORDED_CANDIDATES = 200
"""Candidates kept in the model's JSON at most (the best ones)."""


@dataclass
class SearchedModel(TrainedModel):
    """The best candidate of a search, refitted: saved like any trained model, with the
    search record (and the cluster it ran on) in its JSON."""

    search: dict[str, Any] | None = None
    """The bounded record of the search (``search`` in the JSON)."""
    cluster: dict[str, Any] | None = None
    """The cluster it ran on (``cluster`` in the JSON), or None: locally."""

    def to_model_data(self) -> dict[str, Any]:
        """TrainedModel's data plus ``search`` and ``cluster``."""
        data = super().to_model_data()
        if self.search is not None:
            data["search"] = self.search
        if self.cluster is not None:
            data["cluster"] = self.cluster
        return data


def search_document(
    spec: SearchSpec,
    *,
    metric: str,
    higher: bool,
    folds: int,
    splitter: str,
    random_state: int,
    space: Mapping[str, Dimension],
    fixed: Mapping[str, Any],
    candidates_tried: int,
    fits: int,
    failed_fits: int,
    rows: Sequence[Mapping[str, Any]],
    seconds: float,
    on_cluster: bool,
) -> dict[str, Any]:
    """The bounded record of a finished search (``rows``: the candidates, best first)."""
    best = rows[0]
    return {
        "method": spec.method,
        "metric": metric,
        "higher_is_better": higher,
        "cv": folds,
        "splitter": splitter,
        "random_state": random_state,
        "space": {name: dim.as_json() for name, dim in space.items()},
        "space_text": {name: dim.text() for name, dim in space.items()},
        "fixed": {k: _plain(v) for k, v in fixed.items()},
        "candidates_tried": candidates_tried,
        "fits": fits,
        "failed_fits": failed_fits,
        "best": {"params": _plain(best["params"]), "mean": best["mean"], "std": best["std"]},
        "candidates": [_plain(row) for row in rows[:RECORDED_CANDIDATES]],
        "candidates_recorded": min(len(rows), RECORDED_CANDIDATES),
        "search_seconds": round(seconds, 3),
        "where": "cluster" if on_cluster else "local",
        "jobs": spec.n_jobs if not on_cluster else None,
    }


def _plain(value: Any) -> Any:
    """JSON-ready: tuples (layer sizes) as lists, numpy numbers as Python ones."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class ScorePoints:
    """The candidates' mean scores against one parameter's values, for a chart."""

    parameter: str
    metric: str
    higher_is_better: bool
    x: list[float]
    y: list[float]
    log: bool = False
    """The parameter's range was searched in log scale (the chart's x axis is log10)."""
    labels: list[str] = field(default_factory=list)
    """Tick labels when the parameter's values are not numbers (choices)."""


def search_record(meta: Mapping[str, Any]) -> dict[str, Any] | None:
    """A model's search record from its metadata, or None (not searched, or not readable)."""
    record = meta.get("search")
    if not isinstance(record, Mapping) or not isinstance(record.get("candidates"), list):
        return None
    return dict(record)


def chart_parameters(record: Mapping[str, Any]) -> list[str]:
    """The searched parameters that take more than one value, ranges first."""
    space = record.get("space") or {}
    names = [str(n) for n in space]
    varied = [n for n in names if len(_values_of(record, n)) > 1]
    return sorted(varied, key=lambda n: "low" not in (space.get(n) or {}))


def _values_of(record: Mapping[str, Any], name: str) -> list[Any]:
    seen: list[Any] = []
    for row in record.get("candidates") or []:
        value = (row.get("params") or {}).get(name)
        if value not in seen:
            seen.append(value)
    return seen


def score_points(record: Mapping[str, Any], parameter: str) -> ScorePoints:
    """Each scored candidate's mean against ``parameter`` (choices as positions 0, 1, ...)."""
    space = (record.get("space") or {}).get(parameter) or {}
    rows = [r for r in record.get("candidates") or [] if r.get("mean") is not None]
    values: list[Any] = [(r.get("params") or {}).get(parameter) for r in rows]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    log = bool(space.get("log")) and numeric and all(v > 0 for v in values)
    labels: list[str] = []
    if numeric:
        x = [math.log10(v) if log else float(v) for v in values]
    else:
        order = [
            _value_text(tuple(v) if isinstance(v, list) else v)
            for v in _values_of(record, parameter)
        ]
        texts = [_value_text(tuple(v) if isinstance(v, list) else v) for v in values]
        labels = order
        x = [float(order.index(t)) for t in texts]
    return ScorePoints(
        parameter,
        str(record.get("metric", "score")),
        bool(record.get("higher_is_better", True)),
        x,
        [float(r["mean"]) for r in rows],
        log,
        labels,
    )


def candidate_cells(record: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The candidates table: headers (#, metric, ±, each parameter) and rows, best first."""
    from tuidash.core.text import number_text

    names = [str(n) for n in record.get("space") or {}]
    headers = ["#", str(record.get("metric", "score")), "±", *names]
    rows: list[list[str]] = []
    for row in record.get("candidates") or []:
        params = row.get("params") or {}
        mean = row.get("mean")
        rows.append(
            [
                str(row.get("rank", "")),
                number_text(mean) if mean is not None else "failed",
                number_text(row.get("std")) if row.get("std") is not None else "",
                *[
                    _value_text(tuple(v) if isinstance(v, list) else v)
                    for v in (params.get(n) for n in names)
                ],
            ]
        )
    return headers, rows


def record_summary(record: Mapping[str, Any], cluster: Mapping[str, Any] | None = None) -> str:
    """One line: how the search ran and where."""
    better = "higher" if record.get("higher_is_better", True) else "lower"
    text = (
        f"{str(record.get('method', '')).capitalize()} search: "
        f"{record.get('candidates_tried')} candidates × {record.get('cv')} folds "
        f"({record.get('splitter')}), by {record.get('metric')} ({better} is better)"
    )
    if isinstance(cluster, Mapping) and cluster.get("address"):
        workers = cluster.get("workers")
        threads = cluster.get("threads")
        text += f" · on {cluster['address']} ({workers} workers, {threads} threads)"
    else:
        text += " · on this machine"
    shown = record.get("candidates_recorded")
    if isinstance(shown, int) and shown < int(record.get("candidates_tried") or 0):
        text += f" · the best {shown} kept"
    return text
