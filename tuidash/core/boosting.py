"""XGBoost, LightGBM and CatBoost: the model kinds of the optional extra ``tuidash[boost]``.

Each library gives one kind per task (``xgboost``, ``lightgbm``, ``catboost``; the id is the
package's name) with its main parameters, and ``fit_rounds`` fits it round by round: a
library callback reports progress after each boosting round and stops the fit when the
person cancels. The kinds join the catalog only when their package is installed.

Importing one of these libraries takes a second or more, so nothing here imports them at
module level: whether a package is installed is asked with ``importlib.util.find_spec``
(which imports nothing), and the library is imported when a model is built, fitted or
unpickled. ``tuidash.core.catalog`` is imported inside the functions too, because it
imports this module to add the installed kinds.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from tuidash.core.errors import TrainingError
from tuidash.core.progress import ProgressReporter, TrainingCancelled

if TYPE_CHECKING:
    from tuidash.core.catalog import ModelKind, ParamSpec

BOOST_EXTRA = "tuidash[boost]"
"""The optional extra that installs the three libraries."""

BOOST_PACKAGES: tuple[str, ...] = ("xgboost", "lightgbm", "catboost")
"""The importable package of each library, which is also its model kind id."""

TASKS: tuple[str, ...] = ("regression", "classification")

PROGRESS_REPORTS = 100
"""A fit reports progress at most about this many times (cancel is checked every round)."""


def package_installed(package: str) -> bool:
    """Whether ``package`` can be imported, found without importing it (cheap)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def needs_extra_text(package: str) -> str:
    """The clause a store entry or a kind shows when its library is not installed."""
    return f"needs {BOOST_EXTRA} ({package}) to load"


def is_boosting(kind_id: str) -> bool:
    """Whether the kind id is one of this module's (installed or not)."""
    return kind_id in BOOST_PACKAGES


def missing_kind_message(kind_id: str) -> str | None:
    """The sentence for a boosting kind whose package is missing, else None."""
    if not is_boosting(kind_id) or package_installed(kind_id):
        return None
    return (
        f"The model kind {kind_id!r} needs the optional extra {BOOST_EXTRA}: "
        f"pip install '{BOOST_EXTRA}' (or pip install {kind_id})."
    )


def installed_kinds(task: str = "regression") -> tuple[ModelKind, ...]:
    """The kinds of ``task`` whose library is installed, in catalog order."""
    return tuple(kind for kind in boost_kinds(task) if package_installed(kind.id))


def boost_kinds(task: str = "regression") -> tuple[ModelKind, ...]:
    """Every kind of ``task`` ("regression" or "classification"), installed or not."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    from tuidash.core.catalog import ModelKind

    classify = task == "classification"
    what = "class" if classify else "value"
    return (
        ModelKind(
            "xgboost",
            "XGBoost",
            f"Gradient-boosted trees by XGBoost; strong on tabular data, predicts the {what}.",
            "xgboost.XGBClassifier" if classify else "xgboost.XGBRegressor",
            (
                _rounds("n_estimators", 100),
                _int("max_depth", 6, 1, 20, "Deepest split of each tree."),
                _learning_rate(0.3),
                _share("subsample", 1.0, "rows", "each tree"),
                _share("colsample_bytree", 1.0, "feature columns", "each tree"),
                _float(
                    "min_child_weight",
                    1.0,
                    0.0,
                    1000.0,
                    "Least total weight a leaf needs; larger makes simpler trees.",
                ),
                _float("reg_lambda", 1.0, 0.0, 10_000.0, "L2 penalty on leaf weights."),
            ),
            fixed={"random_state": 42, "verbosity": 0},
            task=task,
        ),
        ModelKind(
            "lightgbm",
            "LightGBM",
            f"Gradient-boosted trees by LightGBM; fast on large data, predicts the {what}.",
            "lightgbm.LGBMClassifier" if classify else "lightgbm.LGBMRegressor",
            (
                _rounds("n_estimators", 100),
                _int("num_leaves", 31, 2, 4096, "Most leaves of each tree; the main size limit."),
                _int(
                    "max_depth",
                    -1,
                    -1,
                    100,
                    "Deepest split of each tree; -1 or 0 for no limit besides num_leaves.",
                ),
                _learning_rate(0.1),
                _share("subsample", 1.0, "rows", "each round"),
                _share("colsample_bytree", 1.0, "feature columns", "each tree"),
                _int(
                    "min_child_samples",
                    20,
                    1,
                    100_000,
                    "Fewest training rows in a leaf; larger makes simpler trees.",
                ),
                _float("reg_lambda", 0.0, 0.0, 10_000.0, "L2 penalty on leaf weights."),
            ),
            # subsample_freq=1: LightGBM ignores subsample unless rows are re-drawn every k
            # rounds. Gain importance: the total improvement a column brought, like impurity.
            fixed={
                "random_state": 42,
                "verbose": -1,
                "subsample_freq": 1,
                "importance_type": "gain",
            },
            task=task,
        ),
        ModelKind(
            "catboost",
            "CatBoost",
            f"Gradient-boosted symmetric trees by CatBoost; robust defaults, predicts the {what}.",
            "catboost.CatBoostClassifier" if classify else "catboost.CatBoostRegressor",
            (
                _rounds("iterations", 500),
                _int("depth", 6, 1, 16, "Depth of each (symmetric) tree."),
                _learning_rate(0.1),
                _share("subsample", 0.8, "rows", "each tree"),
                _share("rsm", 1.0, "feature columns", "each split"),
                _float("l2_leaf_reg", 3.0, 0.0, 10_000.0, "L2 penalty on leaf values."),
            ),
            # Silent, and no catboost_info/ folder written into the working directory.
            # Bernoulli: subsample is a plain share of rows for every loss (CatBoost's
            # default for several classes, Bayesian, refuses subsample).
            fixed={
                "random_state": 42,
                "verbose": 0,
                "allow_writing_files": False,
                "bootstrap_type": "Bernoulli",
            },
            task=task,
        ),
    )


def _int(name: str, default: int, low: int, high: int, text: str) -> ParamSpec:
    from tuidash.core.catalog import ParamSpec

    return ParamSpec(name, "int", default, text, low, high)


def _float(name: str, default: float, low: float, high: float, text: str) -> ParamSpec:
    from tuidash.core.catalog import ParamSpec

    return ParamSpec(name, "float", default, text, low, high)


def _rounds(name: str, default: int) -> ParamSpec:
    return _int(name, default, 1, 10_000, "Boosting rounds (trees); more fits closer and slower.")


def _learning_rate(default: float) -> ParamSpec:
    return _float(
        "learning_rate", default, 1e-4, 1.0, "Step size of each round; smaller needs more rounds."
    )


def _share(name: str, default: float, what: str, per: str) -> ParamSpec:
    return _float(
        name,
        default,
        0.05,
        1.0,
        f"Share of the {what} {per} sees; below 1 adds randomness against overfitting.",
    )


# --------------------------------------------------------------------------- fitting


def encoded_labels(model: Any) -> Any:
    """A classifier of one of these libraries, wrapped to learn label codes 0..n-1 and answer
    in the original labels (``core.boost_labels``); imports scikit-learn."""
    from tuidash.core.boost_labels import EncodedLabelsClassifier

    return EncodedLabelsClassifier(model)


def fit_rounds(
    model: Any,
    kind_id: str,
    display_name: str,
    Xt: Any,
    y: Any,
    report: ProgressReporter,
    start: float,
    span: float,
) -> None:
    """Fit a boosting model, reporting after rounds and stopping between them on cancel.

    The library's callback is handed to this fit only and removed afterwards, so nothing
    of tuidash ends up in the saved pickle. Library errors become one TrainingError.
    """
    if hasattr(model, "encode") and hasattr(model, "estimator"):  # a classifier
        y = model.encode(y)  # keeps the labels in classes_; the library learns 0..n-1
        model = model.estimator
    total = _total_rounds(model, kind_id)
    every = max(1, total // PROGRESS_REPORTS)

    def after_round(done: int) -> None:
        if done % every == 0 or done == total:
            report(start + span * done / total, f"Fitted {done} of {total} rounds")
        else:
            report.check()

    report(start, f"Fitted 0 of {total} rounds")
    threads = _one_thread_on_small_data(model, kind_id, len(Xt))
    try:
        if kind_id == "xgboost":
            _fit_xgboost(model, Xt, y, after_round)
        elif kind_id == "lightgbm":
            _fit_lightgbm(model, Xt, y, after_round)
        else:
            _fit_catboost(model, Xt, y, after_round)
    except ImportError as error:
        raise TrainingError(
            missing_kind_message(kind_id)
            or f"{display_name} could not be imported: {_first_line(error)}."
        ) from None
    except (TrainingCancelled, TrainingError):
        raise
    except Exception as error:
        # XGBoostError, LightGBMError and CatBoostError: one sentence, no traceback.
        if type(error).__module__.split(".")[0] in (*BOOST_PACKAGES, "_catboost") or isinstance(
            error, ValueError | TypeError | ArithmeticError
        ):
            raise TrainingError(
                f"{display_name} could not be trained on this data: {_first_line(error)}."
            ) from None
        raise
    finally:
        if threads:
            model.set_params(**threads)
    report.check()


def _one_thread_on_small_data(model: Any, kind_id: str, rows: int) -> dict[str, Any]:
    """Fit small data on one thread; return the setting to put back afterwards.

    On a few thousand rows the libraries' thread pools cost far more than they save, most of
    all on a busy shared server (measured: LightGBM 15x, XGBoost 20x slower on two busy
    cores). The saved model keeps the library's own default for predicting. CatBoost is
    left alone: it lost little there, and refuses a parameter change once fitted.
    """
    from tuidash.core.fitting import SMALL_DATA_ROWS

    if kind_id == "catboost" or rows >= SMALL_DATA_ROWS:
        return {}
    before = {"n_jobs": model.get_params().get("n_jobs")}
    model.set_params(n_jobs=1)
    return before


def _total_rounds(model: Any, kind_id: str) -> int:
    if kind_id == "catboost":
        return int(model.get_params().get("iterations") or 1000)
    return int(model.get_params()["n_estimators"])


def _fit_xgboost(model: Any, Xt: Any, y: Any, after_round: Any) -> None:
    from xgboost.callback import TrainingCallback

    class _Rounds(TrainingCallback):  # type: ignore[misc,unused-ignore]  # Any without xgboost
        def after_iteration(self, booster: Any, epoch: int, evals_log: Any) -> bool:
            after_round(epoch + 1)  # raises TrainingCancelled, which ends xgboost's loop
            return False

    model.set_params(callbacks=[_Rounds()])
    try:
        model.fit(Xt, y)
    finally:
        model.set_params(callbacks=None)


def _fit_lightgbm(model: Any, Xt: Any, y: Any, after_round: Any) -> None:
    def rounds(env: Any) -> None:
        after_round(int(env.iteration) - int(env.begin_iteration) + 1)

    model.fit(Xt, y, callbacks=[rounds])


def _fit_catboost(model: Any, Xt: Any, y: Any, after_round: Any) -> None:
    # CatBoost wraps an exception raised in a callback into its own error, so the callback
    # asks it to stop instead and the exception is raised again once fit returns.
    class _Rounds:
        stopped: BaseException | None = None

        def after_iteration(self, info: Any) -> bool:
            try:
                after_round(int(info.iteration))
            except BaseException as error:
                self.stopped = error
                return False
            return True

    rounds = _Rounds()
    model.fit(Xt, y, callbacks=[rounds])
    if rounds.stopped is not None:
        raise rounds.stopped


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    text = lines[-1] if lines and "Traceback" in lines[0] else (lines[0] if lines else "")
    return text.rstrip(".") or type(error).__name__
