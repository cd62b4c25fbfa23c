"""Fitting a pipeline in chunks, so progress moves and cancel is honoured.

Forests and gradient boosting grow with ``warm_start`` a chunk at a time (same result as
one fit), neural networks train a chunk of epochs at a time; native thread pools are
limited to one thread on small data. sklearn is imported inside the functions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tuidash.core.boosting import fit_rounds, is_boosting
from tuidash.core.errors import TrainingError
from tuidash.core.progress import ProgressReporter, TrainingCancelled

if TYPE_CHECKING:
    import pandas as pd

CHUNK_SECONDS = 1.0
"""Ensembles are grown in chunks of about this many seconds (see ``_fit_grown``)."""


def check_neighbours(
    kind_id: str, params: Mapping[str, Any], n_train: int, folds: int | None, keep_order: bool
) -> None:
    """k-NN needs at least k rows in every training set it is fitted on."""
    if folds:
        if keep_order:  # TimeSeriesSplit: the first fold trains on the fewest rows
            minimum = n_train - folds * (n_train // (folds + 1))
        else:  # KFold: every fold leaves out at most ceil(n / folds) rows
            minimum = n_train - math.ceil(n_train / folds)
        if (keep_order and n_train < folds + 1) or (not keep_order and n_train < folds):
            raise TrainingError(
                f"{folds}-fold cross-validation needs at least {folds + (1 if keep_order else 0)} "
                f"training rows; there are {n_train}."
            )
    else:
        minimum = n_train
    if kind_id == "knn":
        k = int(params.get("n_neighbors", 5))
        if k > minimum:
            raise TrainingError(
                f"k-Nearest Neighbours with n_neighbors={k} needs at least {k} training rows "
                f"in every fit; there are {minimum}. Lower n_neighbors or use more data."
            )


def fit_pipeline(
    pipeline: Any,
    kind_id: str,
    display_name: str,
    X: pd.DataFrame,
    y: pd.Series,
    report: ProgressReporter,
    start: float,
    end: float,
) -> list[str]:
    """Fit the pipeline in chunks so progress is reported and cancel is honoured."""
    from sklearn.exceptions import ConvergenceWarning

    notes: list[str] = []
    preprocess = pipeline.named_steps["preprocess"]
    model = pipeline.named_steps["model"]
    span = end - start
    report(start, f"Fitting {display_name}")
    # Warnings are recorded, not printed: a traceback-like line on stderr would tear a TUI.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            Xt = preprocess.fit_transform(X, y)
            report.check()
            target = y.to_numpy()
            if kind_id == "random_forest":
                _fit_grown(model, "n_estimators", Xt, target, report, start, span, "trees")
            elif kind_id == "gradient_boosting":
                _fit_grown(model, "max_iter", Xt, target, report, start, span, "rounds")
            elif kind_id == "mlp":
                if not _fit_epochs(model, Xt, target, report, start, span):
                    notes.append(
                        f"The neural network did not converge in {model.max_iter} epochs; "
                        "more epochs (max_iter) or a larger learning rate may help."
                    )
            elif is_boosting(kind_id):  # tuidash[boost]: a callback after every round
                fit_rounds(model, kind_id, display_name, Xt, target, report, start, span)
            else:
                model.fit(Xt, target)
        except (TrainingCancelled, TrainingError):
            raise
        except (ValueError, TypeError, ArithmeticError) as error:
            raise TrainingError(
                f"{display_name} could not be trained on this data: {_first_line(error)}."
            ) from None
    if kind_id != "mlp" and any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes.append(f"{display_name} did not fully converge; more iterations (max_iter) may help.")
    report.check()
    return notes


SMALL_DATA_ROWS = 10_000
"""Below this many training rows, native thread pools are limited to one thread."""


def thread_limit(rows: int) -> Any:
    """A context that limits OpenMP/BLAS threads to one for small data (no-op otherwise)."""
    import contextlib

    if rows >= SMALL_DATA_ROWS:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - sklearn depends on threadpoolctl
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].rstrip(".") if text else type(error).__name__


def _fit_grown(
    model: Any,
    param: str,
    Xt: Any,
    y: Any,
    report: ProgressReporter,
    start: float,
    span: float,
    unit: str,
) -> None:
    """Grow an ensemble with warm_start in chunks; same result as one fit.

    At most ten chunks; when one tree or round takes long (large data) the chunks shrink to
    about CHUNK_SECONDS each (never below one unit per parallel job), so progress moves and
    cancel is honoured between them.
    """
    total = int(getattr(model, param))
    largest = max(1, math.ceil(total / 10))
    smallest = min(largest, _parallel_jobs(model))
    step = smallest  # the first chunk measures how long one unit takes
    done = 0
    model.set_params(warm_start=True)
    report(start, f"Fitted 0 of {total} {unit}")
    try:
        while done < total:
            before = done
            done = min(total, done + step)
            began = report.clock()
            model.set_params(**{param: done})
            model.fit(Xt, y)
            took = report.clock() - began
            report(start + span * done / total, f"Fitted {done} of {total} {unit}")
            # Gradient boosting may stop early (early stopping on large data).
            if param == "max_iter" and getattr(model, "n_iter_", done) < done:
                break
            per_unit = took / max(1, done - before)
            fits = int(CHUNK_SECONDS / per_unit) if per_unit > 0 else largest
            step = max(smallest, min(largest, fits))
    finally:
        model.set_params(warm_start=False, **{param: total})


def _parallel_jobs(model: Any) -> int:
    """How many units one fit call builds at once (trees of a forest grow in parallel)."""
    n_jobs = getattr(model, "n_jobs", None)
    if n_jobs is None:
        return 1
    try:
        from joblib import effective_n_jobs

        return max(1, int(effective_n_jobs(n_jobs)))
    except Exception:  # pragma: no cover - joblib comes with sklearn
        return 1


def _fit_epochs(
    model: Any, Xt: Any, y: Any, report: ProgressReporter, start: float, span: float
) -> bool:
    """Train an MLP in chunks of epochs with warm_start; return whether it converged.

    Each chunk restarts the optimiser's moment estimates, so the result differs slightly
    from one uninterrupted fit; the weights carry over.
    """
    total = int(model.max_iter)
    step = max(10, math.ceil(total / 10))
    done = 0
    converged = False
    model.set_params(warm_start=True)
    report(start, f"Trained 0 of {total} epochs")
    try:
        while done < total:
            chunk = min(step, total - done)
            model.set_params(max_iter=chunk)
            model.fit(Xt, y)
            done += int(model.n_iter_)
            report(start + span * min(done, total) / total, f"Trained {done} of {total} epochs")
            if model.n_iter_ < chunk:
                converged = True
                break
    finally:
        model.set_params(warm_start=False, max_iter=total)
    return converged
