"""Running a search: candidates x folds as joblib tasks, then the best refitted.

- The split: the training rows exactly as ``train_model`` splits them (``training_split``).
- The fits: candidates x folds, each one a joblib task; on a Dask cluster the training rows
  are broadcast to the workers once. Progress counts finished fits; cancel is honoured
  between fits. Folds are stratified for classifiers, time-ordered with ``keep_order``.
- The result: the best candidate refitted and evaluated by ``train_model`` (the same path
  as any training), with the record of the search (``record``) for the model's JSON.

Pure Python: numpy, pandas, sklearn and joblib are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import time
import warnings
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tuidash.core.catalog import ModelKind, get_kind
from tuidash.core.errors import TrainingError
from tuidash.core.progress import ProgressCallback, ProgressReporter, TrainingCancelled
from tuidash.core.search.record import SearchedModel, search_document
from tuidash.core.search.space import (
    SearchError,
    SearchSpec,
    _value_text,
    grid_candidates,
    random_candidates,
    ranged_names,
    task_of,
)
from tuidash.core.training import TrainedModel

if TYPE_CHECKING:
    import pandas as pd

    from tuidash.core.cluster import Cluster
    from tuidash.core.data import LoadedData
    from tuidash.core.training import TrainConfig

SEARCH_SHARE = 0.85
"""The share of the progress bar the candidates take; the refit gets the rest."""

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


def kind_on_data(data: LoadedData | pd.DataFrame, kind_id: str, config: TrainConfig) -> ModelKind:
    """The kind of the task this data's target asks for (``config.task``: ``auto`` follows
    the target, as training does), or the sentence why not."""
    from tuidash.core.training import kind_for_task, target_task

    if config.task != "auto":
        return get_kind(kind_id, config.task)  # an unknown kind is refused before the data
    kind: ModelKind = kind_for_task(kind_id, target_task(data, config.target, config.task))
    return kind


# --------------------------------------------------------------------------- the fits


@dataclass(frozen=True)
class FitResult:
    """One candidate on one fold: its score (in the metric's own units) or why it failed."""

    candidate: int
    fold: int
    score: float | None
    seconds: float
    error: str | None = None


def _estimator(pipeline: Any) -> Any:
    """The estimator a pipeline's model step fits (inside a label-encoding wrapper: the
    boosted classifiers)."""
    from tuidash.core.boost_labels import EncodedLabelsClassifier

    step = pipeline.named_steps["model"]
    return step.estimator if isinstance(step, EncodedLabelsClassifier) else step


def estimator_params(pipeline: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """A candidate's parameters as ``set_params`` names of the pipeline's estimator, with the
    values the catalog's choices stand for ("none" class weights are None)."""
    from tuidash.core.boost_labels import EncodedLabelsClassifier

    wrapped = isinstance(pipeline.named_steps["model"], EncodedLabelsClassifier)
    prefix = "model__estimator__" if wrapped else "model__"
    return {
        prefix + name: None if name == "class_weight" and value == "none" else value
        for name, value in params.items()
    }


@contextlib.contextmanager
def _cluster_errors(cluster: Cluster | None) -> Iterator[None]:
    """A failure of ``cluster`` (a lost scheduler or worker) as one ClusterError sentence;
    a cancel and every other error pass unchanged."""
    from tuidash.core.cluster import cluster_failure, is_cluster_failure

    try:
        yield
    except TrainingCancelled:
        raise
    except Exception as error:
        if cluster is not None and is_cluster_failure(error):
            raise cluster_failure(error, cluster.address) from None
        raise


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
    model.set_params(**estimator_params(model, params))
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

    from tuidash.core.fitting import check_neighbours
    from tuidash.core.pipeline import build_pipeline
    from tuidash.core.training import train_model

    started = time.perf_counter()
    report = ProgressReporter(progress, cancel)
    kind = kind_on_data(data, kind_id, config)
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
        kind_id,
        fixed,
        split.numeric,
        split.categorical,
        config.random_state,
        split.dates,
        task=task_of(kind),
    )
    if "n_jobs" in _estimator(template).get_params():
        # The search is the parallel part; each fit uses one core (no nested pools).
        template.set_params(**estimator_params(template, {"n_jobs": 1}))
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
    with _cluster_errors(cluster):
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
    rows = _candidate_rows(candidates, results, len(folds), higher)
    best = rows[0]
    if best["mean"] is None:
        reason = next((r.error for r in results if r.error), "no fold could be scored")
        raise SearchError(f"Every candidate failed, so nothing was saved: {reason}.")
    searched = time.perf_counter() - started

    refit_report = report.scaled(SEARCH_SHARE, 1.0, "Refitting the best candidate: ")
    refit_config = replace(config, cv_folds=None)
    refit_params = {**fixed, **best["params"]}
    with (
        _cluster_errors(cluster),
        cluster.parallel() if cluster is not None else contextlib.nullcontext(),
    ):
        trained = train_model(
            data, kind_id, refit_params, refit_config,
            progress=refit_report.callback, cancel=cancel,
        )  # fmt: skip
    trained.cv = {
        "folds": len(folds),
        "metric": metric,
        "splitter": splitter,
        "scores": best["scores"],
        "mean": best["mean"],
        "std": best["std"],
    }
    failed = sum(1 for r in results if r.error is not None)
    record = search_document(
        spec,
        metric=metric,
        higher=higher,
        folds=len(folds),
        splitter=splitter,
        random_state=config.random_state,
        space=space,
        fixed=fixed,
        candidates_tried=len(candidates),
        fits=total,
        failed_fits=failed,
        rows=rows,
        seconds=searched,
        on_cluster=cluster is not None,
    )
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


def _params_text(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_value_text(v)}" for k, v in params.items())
