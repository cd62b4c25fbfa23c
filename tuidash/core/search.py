"""Parameter search: try candidates of a model kind with k-fold cross-validation, refit the
best on the whole training split.

- The space: one ``Dimension`` per parameter, from the catalog (``default_space``) or from
  what a person typed (``parse_range``: ``n_estimators=50:500``, ``alpha=0.001:10:log``,
  ``max_depth=none,5,10``; ``hidden_layer_sizes=100|64,32``).
- The candidates: every combination (grid; a few points per numeric range) or ``n_iter``
  random draws with ``random_state`` (the same candidates whatever runs them).
- The fits: candidates x folds, each one a joblib task; on a Dask cluster the training rows
  are broadcast to the workers once. Progress counts finished fits; cancel is honoured
  between fits. Folds are stratified for classifiers, time-ordered with ``keep_order``.
- The result: the best candidate refitted and evaluated by ``train_model`` (the same path
  as any training) and a bounded record of the search for the model's JSON.

Pure Python: numpy, pandas and sklearn are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import threading
import time
import warnings
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from tuidash.core.catalog import ModelKind, ParamError, ParamSpec, get_kind
from tuidash.core.errors import TrainingError
from tuidash.core.progress import ProgressCallback, ProgressReporter, TrainingCancelled
from tuidash.core.training import TrainedModel

if TYPE_CHECKING:
    import pandas as pd

    from tuidash.core.cluster import Cluster
    from tuidash.core.data import LoadedData
    from tuidash.core.training import TrainConfig

Method = Literal["grid", "random"]

METHODS: tuple[str, ...] = ("random", "grid")
"""The search methods, the default first."""

GRID_POINTS = 4
"""Points of a numeric range in a grid search (ends included)."""

MAX_CANDIDATES = 1000
"""Candidates of one search at most (a grid beyond this is refused with a sentence)."""

RECORDED_CANDIDATES = 200
"""Candidates kept in the model's JSON at most (the best ones)."""

SEARCH_SHARE = 0.85
"""The share of the progress bar the candidates take; the refit gets the rest."""

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


def random_candidates(
    space: Mapping[str, Dimension], n_iter: int, random_state: int
) -> list[dict[str, Any]]:
    """``n_iter`` distinct random candidates (fewer when the space has fewer)."""
    import numpy as np

    if not isinstance(n_iter, int) or isinstance(n_iter, bool) or not 1 <= n_iter <= MAX_CANDIDATES:
        raise SearchError(
            f"The number of candidates must be a whole number from 1 to {MAX_CANDIDATES}, "
            f"not {n_iter!r}."
        )
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


# --------------------------------------------------------------------------- the split


@dataclass
class TrainingSplit:
    """The training rows of a TrainConfig, as ``train_model`` splits them."""

    X: pd.DataFrame
    y: pd.Series
    numeric: list[str]
    categorical: list[str]
    dates: list[str]
    test_rows: int


def training_split(
    data: LoadedData | pd.DataFrame, kind: ModelKind, config: TrainConfig
) -> TrainingSplit:
    """The training split ``train_model`` makes of this data with this config (the same
    features, dropped rows, batching and random split), for the search's folds."""
    import numpy as np
    import pandas as pd

    from tuidash.core.data import LoadedData
    from tuidash.core.pipeline import batch_frame, choose_features, numeric_target, prepare_frame

    config.validate()
    if isinstance(data, LoadedData):
        frame = data.frame
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise TrainingError("Training needs a table of data (a loaded file or a DataFrame).")
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    target = config.target
    if target not in frame.columns:
        raise TrainingError(f"There is no column {target!r}.")
    notes: list[str] = []
    _, numeric, categorical, dates = choose_features(frame, target, config.features, notes)
    features = [*numeric, *categorical, *dates]
    features = [c for c in frame.columns if c in set(features)]
    if task_of(kind) == "classification":
        y_all = frame[target]
        keep = y_all.notna().to_numpy()
    else:
        y_all = numeric_target(frame[target], target)
        keep = np.isfinite(y_all.to_numpy(dtype=np.float64, na_value=np.nan))
    frame, y_all = frame.loc[keep], y_all.loc[keep]
    X = prepare_frame(frame[features], numeric, categorical)
    y = y_all if task_of(kind) == "classification" else y_all.astype("float64")
    if config.batch_rows is not None and config.batch_rows > 1:
        X, y = batch_frame(X, y, config.batch_rows, numeric, categorical, dates)
    X = X.reset_index(drop=True)
    y = y.reset_index(drop=True)
    rows = len(X)
    n_test = math.ceil(rows * config.test_size)
    n_train = rows - n_test
    if n_train < 2 or n_test < 1:
        raise TrainingError(f"Only {rows} rows have a value in {target!r}; too few to search.")
    if config.keep_order:
        train_index = np.arange(n_train)
    else:
        from sklearn.model_selection import train_test_split

        train_index, _ = train_test_split(
            np.arange(rows), test_size=n_test, random_state=config.random_state, shuffle=True
        )
    return TrainingSplit(
        X.iloc[train_index].reset_index(drop=True),
        y.iloc[train_index].reset_index(drop=True),
        list(numeric),
        list(categorical),
        list(dates),
        n_test,
    )


# --------------------------------------------------------------------------- the fits


@dataclass(frozen=True)
class FitResult:
    """One candidate on one fold: its score (in the metric's own units) or why it failed."""

    candidate: int
    fold: int
    score: float | None
    seconds: float
    error: str | None = None


def fit_and_score(
    template: Any,
    params: Mapping[str, Any],
    X: Any,
    y: Any,
    train_index: Any,
    valid_index: Any,
    scorer: str,
    higher_is_better: bool,
    candidate: int,
    fold: int,
) -> FitResult:
    """Fit a clone of ``template`` with ``params`` on one fold and score it (a joblib task:
    it runs in a local process or on a Dask worker)."""
    from joblib import parallel_config
    from sklearn.base import clone
    from sklearn.metrics import get_scorer

    from tuidash.core.fitting import thread_limit

    started = time.perf_counter()
    model = clone(template)
    model.set_params(**{f"model__{k}": v for k, v in params.items()})
    try:
        # One fit is one task: no nested pools (on a Dask worker they would be more tasks).
        with (
            warnings.catch_warnings(),
            thread_limit(len(train_index)),
            parallel_config(backend="sequential"),
        ):
            warnings.simplefilter("ignore")
            model.fit(X.iloc[train_index], y.iloc[train_index])
            value = float(get_scorer(scorer)(model, X.iloc[valid_index], y.iloc[valid_index]))
    except (ValueError, TypeError, ArithmeticError, IndexError) as error:
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return FitResult(candidate, fold, None, time.perf_counter() - started, text[:200])
    if not higher_is_better:
        value = -value  # sklearn's neg_* scorers: back to the metric's own units
    score = value if math.isfinite(value) else None
    return FitResult(candidate, fold, score, time.perf_counter() - started)


def fold_splits(
    X: Any, y: Any, folds: int, keep_order: bool, classifier: bool, random_state: int
) -> tuple[list[tuple[Any, Any]], str]:
    """The folds' (train, validation) row indices and the splitter's name."""
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

    if keep_order:
        splitter: Any = TimeSeriesSplit(n_splits=folds)
        name = "time-ordered"
    elif classifier:
        counts = y.value_counts()
        if int(counts.min()) < folds:
            raise SearchError(
                f"Stratified {folds}-fold cross-validation needs at least {folds} training rows "
                f"of every class; {counts.idxmin()!r} has {int(counts.min())}. Use fewer folds."
            )
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
        name = "stratified k-fold"
    else:
        if len(X) < folds:
            raise SearchError(
                f"{folds}-fold cross-validation needs at least {folds} training rows; "
                f"there are {len(X)}."
            )
        splitter = KFold(n_splits=folds, shuffle=True, random_state=random_state)
        name = "k-fold"
    return [(train, valid) for train, valid in splitter.split(X, y)], name


# --------------------------------------------------------------------------- the search


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


@dataclass
class SearchResult:
    """The refitted best model and the record of the search for its JSON."""

    trained: SearchedModel
    record: dict[str, Any]
    cluster: dict[str, Any] | None = None
    """The cluster it ran on (address, workers, threads, memory_bytes), or None: locally."""


def search_model(
    data: LoadedData | pd.DataFrame,
    kind_id: str,
    config: TrainConfig,
    spec: SearchSpec,
    *,
    params: Mapping[str, Any] | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    cluster: Cluster | None = None,
) -> SearchResult:
    """Search the kind's parameters, refit the best on the whole training split, evaluate it.

    ``params`` fixes parameters: one given a value and no range is not searched.
    ``SearchError``/``TrainingError`` say why not; ``TrainingCancelled`` when cancelled; a
    ``ClusterError`` when the cluster failed (nothing is produced then).
    """
    from sklearn.base import is_classifier

    from tuidash.core.cluster import cluster_failure, is_cluster_failure
    from tuidash.core.fitting import check_neighbours
    from tuidash.core.pipeline import build_pipeline
    from tuidash.core.training import train_model

    started = time.perf_counter()
    report = ProgressReporter(progress, cancel)
    kind = get_kind(kind_id)
    space, metric, (scorer, higher) = spec.validate(kind)
    base = kind.validate(params)
    # A parameter given a value (and no range) is fixed at it, not searched.
    typed = ranged_names(spec.ranges)
    space = {k: d for k, d in space.items() if k not in (params or {}) or k in typed}
    if not space:
        raise SearchError("Every parameter has a fixed value; give at least one a range.")
    candidates = (
        grid_candidates(space)
        if spec.method == "grid"
        else random_candidates(space, spec.n_iter, config.random_state)
    )
    report(0.0, "Preparing the data")
    split = training_split(data, kind, config)
    fixed = {k: v for k, v in base.items() if k not in space}
    template = build_pipeline(
        kind_id, fixed, split.numeric, split.categorical, config.random_state, split.dates
    )
    if "n_jobs" in template.named_steps["model"].get_params():
        # The search is the parallel part; each fit uses one core (no nested pools).
        template.set_params(model__n_jobs=1)
    classifier = bool(is_classifier(template))
    folds, splitter = fold_splits(
        split.X, split.y, spec.cv, config.keep_order, classifier, config.random_state
    )
    smallest_fold = min(len(train) for train, _ in folds)
    for candidate in candidates:
        check_neighbours(kind_id, {**fixed, **candidate}, smallest_fold, None, False)
    total = len(candidates) * len(folds)
    shape = f"{len(candidates)} candidates × {len(folds)} folds"
    report(0.02, f"Searching: 0 of {total} fits ({shape})")

    results: list[FitResult] = []
    info = cluster.info() if cluster is not None else None
    try:
        context = (
            cluster.parallel(scatter=[split.X, split.y])
            if cluster is not None
            else contextlib.nullcontext()
        )
        jobs = -1 if cluster is not None else (spec.n_jobs or 1)
        with context:
            fits = _run_fits(template, candidates, folds, split, scorer, higher, jobs)
            try:
                for result in fits:
                    results.append(result)
                    done = len(results)
                    report(
                        0.02 + (SEARCH_SHARE - 0.02) * done / total,
                        f"Searching: {done} of {total} fits ({shape})",
                    )
            finally:
                # A cancel stops dispatching the remaining fits; joblib's warning about the
                # ones it dropped would tear a TUI, and the cancel is the person's own.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fits.close()
    except TrainingCancelled:
        raise
    except Exception as error:
        if cluster is not None and is_cluster_failure(error):
            raise cluster_failure(error, cluster.address) from None
        raise
    rows = _candidate_rows(candidates, results, len(folds), higher)
    best = rows[0]
    if best["mean"] is None:
        reason = next((r.error for r in results if r.error), "no fold could be scored")
        raise SearchError(f"Every candidate failed, so nothing was saved: {reason}.")
    searched = time.perf_counter() - started

    refit_report = report.scaled(SEARCH_SHARE, 1.0, "Refitting the best candidate: ")
    refit_config = replace(config, cv_folds=None)
    refit_params = {**fixed, **best["params"]}
    try:
        if cluster is not None:
            with cluster.parallel():
                trained = train_model(
                    data, kind_id, refit_params, refit_config,
                    progress=refit_report.callback, cancel=cancel,
                )  # fmt: skip
        else:
            trained = train_model(
                data, kind_id, refit_params, refit_config,
                progress=refit_report.callback, cancel=cancel,
            )  # fmt: skip
    except TrainingCancelled:
        raise
    except Exception as error:
        if cluster is not None and is_cluster_failure(error):
            raise cluster_failure(error, cluster.address) from None
        raise
    trained.cv = {
        "folds": len(folds),
        "metric": metric,
        "splitter": splitter,
        "scores": best["scores"],
        "mean": best["mean"],
        "std": best["std"],
    }
    failed = sum(1 for r in results if r.error is not None)
    record: dict[str, Any] = {
        "method": spec.method,
        "metric": metric,
        "higher_is_better": higher,
        "cv": len(folds),
        "splitter": splitter,
        "random_state": config.random_state,
        "space": {name: dim.as_json() for name, dim in space.items()},
        "space_text": {name: dim.text() for name, dim in space.items()},
        "fixed": {k: _plain(v) for k, v in fixed.items()},
        "candidates_tried": len(candidates),
        "fits": total,
        "failed_fits": failed,
        "best": {"params": _plain(best["params"]), "mean": best["mean"], "std": best["std"]},
        "candidates": [_plain(row) for row in rows[:RECORDED_CANDIDATES]],
        "candidates_recorded": min(len(rows), RECORDED_CANDIDATES),
        "search_seconds": round(searched, 3),
        "where": "cluster" if cluster is not None else "local",
        "jobs": spec.n_jobs if cluster is None else None,
    }
    if failed:
        trained.notes.append(
            f"{failed} of {total} fits of the search failed and count as unscored "
            f"(first reason: {next(r.error for r in results if r.error)})."
        )
    trained.notes.append(
        f"Best of {len(candidates)} candidates by {len(folds)}-fold {metric}: "
        f"{_params_text(best['params'])}."
    )
    where = info.as_json() if info is not None else None
    fields = {f.name: getattr(trained, f.name) for f in dataclasses.fields(TrainedModel)}
    best_model = SearchedModel(**fields, search=record, cluster=where)
    return SearchResult(best_model, record, where)


def _run_fits(
    template: Any,
    candidates: Sequence[Mapping[str, Any]],
    folds: Sequence[tuple[Any, Any]],
    split: TrainingSplit,
    scorer: str,
    higher: bool,
    n_jobs: int,
) -> Generator[FitResult, None, None]:
    """Each fit as it finishes; closing the generator stops dispatching the rest."""
    from joblib import Parallel, delayed

    tasks = (
        delayed(fit_and_score)(
            template, params, split.X, split.y, train, valid, scorer, higher, number, fold
        )
        for number, params in enumerate(candidates)
        for fold, (train, valid) in enumerate(folds)
    )
    # One fit per task so that progress moves and cancel is honoured between fits; at most
    # two tasks per worker are queued, so a cancel does not wait for a long queue.
    parallel = Parallel(
        n_jobs=n_jobs, return_as="generator_unordered", batch_size=1, pre_dispatch="2*n_jobs"
    )
    generator = parallel(tasks)
    try:
        yield from generator
    finally:
        generator.close()


def _candidate_rows(
    candidates: Sequence[Mapping[str, Any]],
    results: Sequence[FitResult],
    folds: int,
    higher: bool,
) -> list[dict[str, Any]]:
    """One row per candidate (params, fold scores, mean, std, rank), best first."""
    import numpy as np

    by_candidate: dict[int, list[FitResult]] = {}
    for result in results:
        by_candidate.setdefault(result.candidate, []).append(result)
    rows: list[dict[str, Any]] = []
    for number, params in enumerate(candidates):
        fits = sorted(by_candidate.get(number, []), key=lambda r: r.fold)
        scores = [r.score for r in fits]
        defined = [s for s in scores if s is not None]
        complete = len(defined) == folds
        rows.append(
            {
                "params": dict(params),
                "scores": scores,
                "mean": float(np.mean(defined)) if complete else None,
                "std": float(np.std(defined)) if complete else None,
                "fit_seconds": round(sum(r.seconds for r in fits), 4),
                "error": next((r.error for r in fits if r.error), None),
            }
        )
    # Best first; unscored last; ties keep the candidates' order (the same on any backend).
    sign = -1.0 if higher else 1.0
    order = sorted(
        range(len(rows)),
        key=lambda i: (rows[i]["mean"] is None, sign * (rows[i]["mean"] or 0.0), i),
    )
    ranked = [rows[i] for i in order]
    for rank, row in enumerate(ranked, start=1):
        row["rank"] = rank
    return ranked


def _plain(value: Any) -> Any:
    """JSON-ready: tuples (layer sizes) as lists, numpy numbers as Python ones."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def _params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_value_text(v)}" for k, v in params.items())


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
