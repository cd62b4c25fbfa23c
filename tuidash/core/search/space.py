"""What a search tries: the space of parameter values and the candidates drawn from it.

- One ``Dimension`` per parameter, from the catalog (``default_space``, narrowed by
  ``SEARCH_DEFAULTS``) or from what a person typed (``parse_range``: ``n_estimators=50:500``,
  ``alpha=0.001:10:log``, ``max_depth=none,5,10``; ``hidden_layer_sizes=100|64,32``).
- The candidates: every combination (grid; a few points per numeric range) or ``n_iter``
  random draws with ``random_state`` (the same candidates whatever runs them).
- ``SearchSpec``: how to search (method, candidates, folds, metric, ranges) and its check;
  the metrics a kind's search can optimise.

Pure Python: numpy is imported inside the functions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tuidash.core.catalog import ModelKind, ParamError, ParamSpec
from tuidash.core.errors import TrainingError

Method = Literal["grid", "random"]

METHODS: tuple[str, ...] = ("random", "grid")
"""The search methods, the default first."""

GRID_POINTS = 4
"""Points of a numeric range in a grid search (ends included)."""

MAX_CANDIDATES = 1000
"""Candidates of one search at most (a grid beyond this is refused with a sentence)."""


SEARCH_DEFAULTS: dict[str, str] = {
    "n_estimators": "50:500",
    "max_depth": "none,3,5,10,20",
    "min_samples_split": "2:20",
    "max_iter": "50:500",
    "learning_rate": "0.01:0.5:log",
    "alpha": "0.0001:100:log",
    "C": "0.01:100:log",
    "epsilon": "0.01:1:log",
    "n_neighbors": "1:50",
    "learning_rate_init": "0.0001:0.1:log",
    "hidden_layer_sizes": "50|100|64,32",
    # The boosted trees (their valid ranges reach far past useful values).
    "subsample": "0.5:1",
    "colsample_bytree": "0.5:1",
    "min_child_weight": "0.5:20:log",
    "reg_lambda": "0.001:10:log",
    "num_leaves": "8:256",
    "min_child_samples": "5:100",
    "depth": "3:10",
    "iterations": "100:1000",
    "rsm": "0.5:1",
    "l2_leaf_reg": "0.5:20:log",
}
"""Default search ranges by parameter name, narrower than the catalog's valid ranges (a
forest of 2,000 trees is valid, but a poor default for 40 candidates x 5 folds). Kinds whose
parameters are not here search the catalog's range; a default that does not fit a kind's
range (a classifier with other bounds) falls back to the catalog's range too."""

REGRESSION_SCORERS: dict[str, tuple[str, bool]] = {
    "R2": ("r2", True),
    "MAE": ("neg_mean_absolute_error", False),
    "MSE": ("neg_mean_squared_error", False),
    "RMSE": ("neg_root_mean_squared_error", False),
    "MAPE": ("neg_mean_absolute_percentage_error", False),
}
"""Metric name -> (sklearn scorer, higher is better) for regression; the first is the default."""

CLASSIFICATION_SCORERS: dict[str, tuple[str, bool]] = {
    "Accuracy": ("accuracy", True),
    "Balanced accuracy": ("balanced_accuracy", True),
    "F1": ("f1_macro", True),
    "Precision": ("precision_macro", True),
    "Recall": ("recall_macro", True),
    "ROC AUC": ("roc_auc_ovr", True),
    "Log loss": ("neg_log_loss", False),
}
"""The same for classification (macro averages over the classes)."""


class SearchError(TrainingError):
    """A search that cannot run as asked: a bad range, too many candidates, every fit failed."""


# --------------------------------------------------------------------------- the space


@dataclass(frozen=True)
class Dimension:
    """The values one parameter takes in a search: a numeric range or a list of values."""

    name: str
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False
    """Draw (and space grid points) evenly in log scale: for spans of several decades."""
    values: tuple[Any, ...] = ()
    """The values of a list dimension (a range has none)."""

    @property
    def is_range(self) -> bool:
        """A numeric range (else a list of values)."""
        return self.low is not None and self.high is not None

    def grid(self, points: int = GRID_POINTS) -> list[Any]:
        """The values a grid search tries: the list, or ``points`` spread over the range."""
        if not self.is_range:
            return list(self.values)
        assert self.low is not None and self.high is not None
        low, high = self.low, self.high
        out: list[Any] = []
        for i in range(points):
            t = i / (points - 1) if points > 1 else 0.0
            value = (
                math.exp(math.log(low) + t * (math.log(high) - math.log(low)))
                if self.log
                else low + t * (high - low)
            )
            value = round(value) if self.integer else float(f"{value:.6g}")
            if value not in out:
                out.append(value)
        return out

    def draw(self, rng: Any) -> Any:
        """One random value (``rng`` is a ``numpy.random.Generator``)."""
        if not self.is_range:
            return self.values[int(rng.integers(len(self.values)))]
        assert self.low is not None and self.high is not None
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high + (1 if self.integer else 0))
        if self.integer:
            return int(min(self.high, max(self.low, math.floor(value))))
        return float(f"{min(self.high, max(self.low, value)):.6g}")

    def text(self) -> str:
        """How a person writes it: ``50:500``, ``0.001:10:log``, ``none,5,10``."""
        if self.is_range:
            ends = f"{_number(self.low)}:{_number(self.high)}"
            return f"{ends}:log" if self.log else ends
        separator = "|" if any(isinstance(v, tuple) for v in self.values) else ","
        return separator.join(_value_text(v) for v in self.values)

    def as_json(self) -> dict[str, Any]:
        """The dimension in the search record of a model's JSON."""
        if self.is_range:
            return {
                "low": self.low,
                "high": self.high,
                "type": "int" if self.integer else "float",
                "log": self.log,
            }
        return {"values": [list(v) if isinstance(v, tuple) else v for v in self.values]}


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


def _value_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number(value)
    return str(value)


def parse_range(kind: ModelKind, text: str) -> Dimension:
    """``NAME=LOW:HIGH[:log]`` or ``NAME=A,B,C`` (``|`` between layer sizes) as a Dimension;
    ``ParamError`` (one sentence) when it does not fit the parameter."""
    name, sep, body = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ParamError(
            f"A search range is NAME=LOW:HIGH or NAME=A,B,C (such as n_estimators=50:500), "
            f"not {text!r}."
        )
    return parse_dimension(kind.param(name), body)


def parse_dimension(spec: ParamSpec, body: str) -> Dimension:
    """The Dimension of one parameter from its text (``50:500``, ``none,5,10``)."""
    body = body.strip()
    if not body:
        raise ParamError(f"The search range of {spec.name} is empty; write LOW:HIGH or A,B,C.")
    if ":" in body:
        return _parse_span(spec, body)
    if spec.type == "layers":
        parts = [p for p in (p.strip() for p in body.split("|")) if p]
    else:
        parts = [p for p in (p.strip() for p in body.replace("|", ",").split(",")) if p]
    values: list[Any] = []
    for part in parts:
        value = spec.parse(part)
        if value not in values:
            values.append(value)
    if not values:
        raise ParamError(f"The search range of {spec.name} is empty; write LOW:HIGH or A,B,C.")
    return Dimension(spec.name, values=tuple(values))


def _parse_span(spec: ParamSpec, body: str) -> Dimension:
    if spec.type not in ("int", "float"):
        example = "|".join(["50", "64,32"]) if spec.type == "layers" else "a,b"
        raise ParamError(
            f"{spec.name} takes a list of values such as {spec.name}={example}, not a range "
            f"({spec.range_text()})."
        )
    parts = [p.strip() for p in body.split(":")]
    log = False
    if len(parts) == 3 and parts[2].lower() == "log":
        log = True
        parts = parts[:2]
    if len(parts) != 2:
        raise ParamError(
            f"The search range of {spec.name} must be LOW:HIGH or LOW:HIGH:log, not {body!r}."
        )
    low, high = (spec.parse(p) for p in parts)
    if low is None or high is None:
        raise ParamError(f"A range of {spec.name} needs two numbers; list none as a value.")
    if not low < high:
        raise ParamError(f"The search range of {spec.name} must go from low to high, not {body!r}.")
    if log and low <= 0:
        raise ParamError(f"A log range of {spec.name} must start above 0, not at {_number(low)}.")
    return Dimension(spec.name, float(low), float(high), integer=spec.type == "int", log=log)


def default_dimension(spec: ParamSpec) -> Dimension:
    """The range a search tries for one parameter when the person does not edit it."""
    preset = SEARCH_DEFAULTS.get(spec.name)
    if preset is not None:
        try:
            return parse_dimension(spec, preset)
        except ParamError:
            pass  # another kind's bounds: use the catalog's own range
    if spec.type == "bool":
        return Dimension(spec.name, values=(True, False))
    if spec.type == "choice":
        return Dimension(spec.name, values=tuple(spec.choices))
    if spec.type == "layers":
        return Dimension(spec.name, values=(spec.default,))
    low = spec.minimum if spec.minimum is not None else 0.0
    high = spec.maximum if spec.maximum is not None else max(1.0, 10 * abs(spec.default or 1))
    log = spec.type == "float" and low > 0 and high / low >= 1000
    return Dimension(spec.name, float(low), float(high), integer=spec.type == "int", log=log)


def default_space(kind: ModelKind) -> dict[str, Dimension]:
    """Every parameter of a kind with its default search range."""
    return {spec.name: default_dimension(spec) for spec in kind.params}


def build_space(
    kind: ModelKind, ranges: Mapping[str, str] | Sequence[str] | None = None
) -> dict[str, Dimension]:
    """The kind's default space with the person's ranges in place of the defaults.

    ``ranges`` is ``{name: "50:500"}`` or ``["name=50:500", ...]``.
    """
    space = default_space(kind)
    if ranges is None:
        return space
    items = (
        [(name, body) for name, body in ranges.items()]
        if isinstance(ranges, Mapping)
        else [_split(text) for text in ranges]
    )
    for name, body in items:
        spec = kind.param(name.strip())
        space[spec.name] = parse_dimension(spec, body)
    return space


def ranged_names(ranges: Mapping[str, str] | Sequence[str] | None) -> set[str]:
    """The parameters the person gave a range."""
    if ranges is None:
        return set()
    if isinstance(ranges, Mapping):
        return {str(name).strip() for name in ranges}
    return {_split(text)[0] for text in ranges}


def _split(text: str) -> tuple[str, str]:
    name, sep, body = text.partition("=")
    if not sep or not name.strip():
        raise ParamError(
            f"A search range is NAME=LOW:HIGH or NAME=A,B,C (such as n_estimators=50:500), "
            f"not {text!r}."
        )
    return name.strip(), body


# --------------------------------------------------------------------------- candidates


def grid_candidates(space: Mapping[str, Dimension]) -> list[dict[str, Any]]:
    """Every combination of the grid values, or ``SearchError`` beyond MAX_CANDIDATES."""
    names = list(space)
    values = [space[n].grid() for n in names]
    total = math.prod(len(v) for v in values)
    if total > MAX_CANDIDATES:
        raise SearchError(
            f"The grid has {total:,} candidates; at most {MAX_CANDIDATES:,} can be tried: "
            "narrow the ranges, list fewer values, or use a random search."
        )
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def check_candidates(n_iter: object) -> None:
    """``SearchError`` unless ``n_iter`` is a whole number of random candidates, 1 to
    ``MAX_CANDIDATES``."""
    if not isinstance(n_iter, int) or isinstance(n_iter, bool) or not 1 <= n_iter <= MAX_CANDIDATES:
        raise SearchError(
            f"The number of candidates must be a whole number from 1 to {MAX_CANDIDATES}, "
            f"not {n_iter!r}."
        )


def random_candidates(
    space: Mapping[str, Dimension], n_iter: int, random_state: int
) -> list[dict[str, Any]]:
    """``n_iter`` distinct random candidates (fewer when the space has fewer)."""
    import numpy as np

    check_candidates(n_iter)
    rng = np.random.default_rng(random_state)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for _ in range(n_iter * 20):
        candidate = {name: dim.draw(rng) for name, dim in space.items()}
        key = repr(sorted(candidate.items()))
        if key in seen:
            continue
        seen.add(key)
        out.append(candidate)
        if len(out) == n_iter:
            break
    return out


# --------------------------------------------------------------------------- request


@dataclass
class SearchSpec:
    """How to search: the method, the candidates, the folds, the metric, the ranges."""

    method: str = "random"
    n_iter: int = 20
    """Random candidates (a grid tries every combination)."""
    cv: int = 5
    """Folds of the cross-validation, 2 to 20."""
    metric: str | None = None
    """The metric to optimise (None: R2 for regression, Accuracy for classification)."""
    ranges: Mapping[str, str] | Sequence[str] = field(default_factory=dict)
    """The person's ranges (``{name: "50:500"}`` or ``["name=50:500"]``); others: defaults."""
    n_jobs: int | None = None
    """Local processes for the fits (None: one; -1: every core); on a cluster, its workers."""

    def validate(self, kind: ModelKind) -> tuple[dict[str, Dimension], str, tuple[str, bool]]:
        """The space, the metric's name and its (scorer, higher is better), or one sentence."""
        if self.method not in METHODS:
            raise SearchError(f"The search method must be grid or random, not {self.method!r}.")
        if not isinstance(self.cv, int) or isinstance(self.cv, bool) or not 2 <= self.cv <= 20:
            raise SearchError(
                f"Cross-validation folds must be a whole number from 2 to 20, not {self.cv!r}."
            )
        if self.method == "random":  # before a job starts, not only when drawing
            check_candidates(self.n_iter)
        if self.n_jobs is not None and (
            not isinstance(self.n_jobs, int) or self.n_jobs == 0 or self.n_jobs < -1
        ):
            raise SearchError(
                f"Local jobs must be -1 or a whole number from 1, not {self.n_jobs!r}."
            )
        space = build_space(kind, self.ranges)
        if not space:
            raise SearchError(f"{kind.display_name} has no parameters to search.")
        name, scorer = metric_scorer(kind, self.metric)
        return space, name, scorer


def task_of(kind: ModelKind) -> str:
    """The kind's task: ``regression`` or ``classification``."""
    return str(getattr(kind, "task", "regression") or "regression")


def scorers_for(kind: ModelKind) -> dict[str, tuple[str, bool]]:
    """The metrics a search of this kind can optimise."""
    return CLASSIFICATION_SCORERS if task_of(kind) == "classification" else REGRESSION_SCORERS


def metric_scorer(kind: ModelKind, metric: str | None) -> tuple[str, tuple[str, bool]]:
    """The metric's shown name and its (sklearn scorer, higher is better)."""
    scorers = scorers_for(kind)
    if metric is None or not str(metric).strip():
        name = next(iter(scorers))
        return name, scorers[name]
    wanted = str(metric).strip().lower().replace("_", " ")
    for name, scorer in scorers.items():
        if wanted in (name.lower(), scorer[0].replace("_", " ")):
            return name, scorer
    raise SearchError(
        f"A {task_of(kind)} search can optimise {', '.join(scorers)}, not {metric!r}."
    )
