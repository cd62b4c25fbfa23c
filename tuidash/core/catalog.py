"""The models a user can train: kinds, their parameters, ranges and help texts.

Pure Python: sklearn classes are imported lazily inside ``build`` so that listing the
catalog (for a form or ``--help``) costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from tuidash.core import boosting
from tuidash.core.errors import TuidashError

ParamType = Literal["int", "float", "bool", "choice", "layers"]


class CatalogError(TuidashError, ValueError):
    """A model kind or a parameter value that the catalog cannot accept."""


class UnknownModelKind(CatalogError):
    """The model kind id is not in the catalog."""


class ParamError(CatalogError):
    """A parameter value is missing, of the wrong type or outside its range."""


@dataclass(frozen=True)
class ParamSpec:
    """One tunable parameter of a model kind, with its type, default and valid range."""

    name: str
    type: ParamType
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False
    """``None`` (typed as an empty value or ``none``) is allowed, e.g. unlimited depth."""

    def range_text(self) -> str:
        """Describe the valid values in a few words, for help texts and messages."""
        if self.type == "bool":
            return "true or false"
        if self.type == "choice":
            return "one of " + ", ".join(self.choices)
        if self.type == "layers":
            return "layer sizes such as 100 or 64,32 (each 1 to 1000, at most 5 layers)"
        low = _fmt(self.minimum) if self.minimum is not None else None
        high = _fmt(self.maximum) if self.maximum is not None else None
        kind = "a whole number" if self.type == "int" else "a number"
        text = f"{kind} from {low} to {high}" if low is not None else kind
        if self.nullable:
            text += ", or empty for none"
        return text

    def parse(self, raw: Any) -> Any:
        """Turn a raw value (a typed string or a Python value) into a valid one, or raise."""
        if isinstance(raw, str):
            raw = raw.strip()
            if self.nullable and raw.lower() in ("", "none", "null"):
                return None
            if raw == "":
                raise ParamError(f"{self.name} needs a value: {self.range_text()}.")
        elif raw is None:
            if self.nullable:
                return None
            raise ParamError(f"{self.name} needs a value: {self.range_text()}.")
        if self.type == "bool":
            return self._parse_bool(raw)
        if self.type == "choice":
            value = str(raw)
            if value not in self.choices:
                raise ParamError(f"{self.name} must be {self.range_text()}, not {value!r}.")
            return value
        if self.type == "layers":
            return self._parse_layers(raw)
        return self._parse_number(raw)

    def _parse_bool(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        raise ParamError(f"{self.name} must be true or false, not {raw!r}.")

    def _parse_layers(self, raw: Any) -> tuple[int, ...]:
        if isinstance(raw, int) and not isinstance(raw, bool):
            parts: list[Any] = [raw]
        elif isinstance(raw, list | tuple):
            parts = list(raw)
        else:
            parts = [p.strip() for p in str(raw).replace(" ", ",").split(",") if p.strip()]
        try:
            sizes = tuple(int(p) for p in parts)
        except (TypeError, ValueError):
            raise ParamError(f"{self.name} must be {self.range_text()}, not {raw!r}.") from None
        if not 1 <= len(sizes) <= 5 or any(not 1 <= s <= 1000 for s in sizes):
            raise ParamError(f"{self.name} must be {self.range_text()}, not {raw!r}.")
        return sizes

    def _parse_number(self, raw: Any) -> int | float:
        if isinstance(raw, bool):
            raise ParamError(f"{self.name} must be {self.range_text()}, not {raw!r}.")
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ParamError(f"{self.name} must be {self.range_text()}, not {raw!r}.") from None
        if not math.isfinite(number):
            raise ParamError(f"{self.name} must be {self.range_text()}, not {raw!r}.")
        if self.type == "int":
            if number != int(number):
                raise ParamError(f"{self.name} must be a whole number, not {raw!r}.")
            number = int(number)
        if (self.minimum is not None and number < self.minimum) or (
            self.maximum is not None and number > self.maximum
        ):
            raise ParamError(f"{self.name} must be {self.range_text()}, not {_fmt(number)}.")
        return number


def _fmt(value: float | int) -> str:
    """Format a number without a trailing .0 for whole numbers."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}"


@dataclass(frozen=True)
class ModelKind:
    """A kind of model the user can train, e.g. Random Forest."""

    id: str
    display_name: str
    description: str
    estimator: str
    """Dotted path of the sklearn estimator class (imported lazily)."""
    params: tuple[ParamSpec, ...]
    needs_scaling: bool = False
    """Numeric features are standardised for this kind (distance or gradient based)."""
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """Constructor arguments that are not user-tunable (e.g. a random_state)."""
    task: str = "regression"
    """regression or classification: which catalog the kind belongs to."""
    save_name: str | None = None
    """The name a trained model is saved under by default (None: the display name); a
    classifier whose id is also a regression kind's gets its own ("Random Forest
    classifier"), so retraining one never adds a version to the other."""

    @property
    def default_name(self) -> str:
        """The name to save a model of this kind under when none is given."""
        return self.save_name or self.display_name

    def param(self, name: str) -> ParamSpec:
        """Return the spec of one parameter by name."""
        for spec in self.params:
            if spec.name == name:
                return spec
        known = ", ".join(p.name for p in self.params) or "none"
        raise ParamError(f"{self.display_name} has no parameter {name!r}; its parameters: {known}.")

    def defaults(self) -> dict[str, Any]:
        """The default value of every parameter."""
        return {spec.name: spec.default for spec in self.params}

    def validate(self, raw: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return every parameter with defaults filled in; raise ParamError on a bad value."""
        raw = dict(raw or {})
        values = self.defaults()
        for name, value in raw.items():
            values[name] = self.param(name).parse(value)
        return values

    def build(self, params: Mapping[str, Any] | None = None, random_state: int | None = 42) -> Any:
        """Create the unfitted sklearn estimator with validated parameters."""
        values = self.validate(params)
        module_name, _, class_name = self.estimator.rpartition(".")
        module = __import__(module_name, fromlist=[class_name])
        cls: Callable[..., Any] = getattr(module, class_name)
        kwargs: dict[str, Any] = dict(self.fixed)
        kwargs.update(values)
        if kwargs.get("class_weight") == "none":  # a choice list holds text; sklearn wants None
            kwargs["class_weight"] = None
        if "random_state" in kwargs and random_state is not None:
            kwargs["random_state"] = random_state
        model = cls(**kwargs)
        if self.task == "classification" and boosting.is_boosting(self.id):
            return boosting.encoded_labels(model)  # fits 0..n-1, answers in the labels
        return model


def _int(
    name: str, default: int | None, low: int, high: int, text: str, nullable: bool = False
) -> ParamSpec:
    return ParamSpec(name, "int", default, text, low, high, nullable=nullable)


def _float(name: str, default: float, low: float, high: float, text: str) -> ParamSpec:
    return ParamSpec(name, "float", default, text, low, high)


_REGRESSORS: tuple[ModelKind, ...] = (
    ModelKind(
        "dummy",
        "Dummy",
        "Predicts a constant (the mean or median); the baseline every model must beat.",
        "sklearn.dummy.DummyRegressor",
        (
            ParamSpec(
                "strategy",
                "choice",
                "mean",
                "Which constant to predict.",
                choices=("mean", "median"),
            ),
        ),
    ),
    ModelKind(
        "linear_regression",
        "Linear Regression",
        "Ordinary least squares: a straight-line fit of the target on the features.",
        "sklearn.linear_model.LinearRegression",
        (ParamSpec("fit_intercept", "bool", True, "Fit a constant term (usually yes)."),),
        needs_scaling=True,
    ),
    ModelKind(
        "ridge",
        "Ridge",
        "Linear regression with L2 regularisation; steadier with correlated features.",
        "sklearn.linear_model.Ridge",
        (
            _float("alpha", 1.0, 0.0, 1e6, "Regularisation strength; larger shrinks coefficients."),
            ParamSpec("fit_intercept", "bool", True, "Fit a constant term (usually yes)."),
        ),
        needs_scaling=True,
    ),
    ModelKind(
        "lasso",
        "Lasso",
        "Linear regression with L1 regularisation; can drop useless features to zero.",
        "sklearn.linear_model.Lasso",
        (
            _float("alpha", 1.0, 1e-6, 1e6, "Regularisation strength; larger drops more features."),
            _int("max_iter", 1000, 10, 100_000, "Iterations of the solver before it gives up."),
        ),
        needs_scaling=True,
        fixed={"random_state": 42},
    ),
    ModelKind(
        "decision_tree",
        "Decision Tree",
        "One tree of if/else splits; easy to read, prone to overfitting.",
        "sklearn.tree.DecisionTreeRegressor",
        (
            _int("max_depth", None, 1, 100, "Deepest split allowed; empty for unlimited.", True),
            _int("min_samples_split", 2, 2, 1000, "Fewest rows a node needs to be split."),
        ),
        fixed={"random_state": 42},
    ),
    ModelKind(
        "random_forest",
        "Random Forest",
        "Many decision trees averaged; a strong default for tabular data.",
        "sklearn.ensemble.RandomForestRegressor",
        (
            _int("n_estimators", 100, 1, 2000, "Number of trees; more is steadier and slower."),
            _int("max_depth", None, 1, 100, "Deepest split allowed; empty for unlimited.", True),
            _int("min_samples_split", 2, 2, 1000, "Fewest rows a node needs to be split."),
        ),
        fixed={"random_state": 42, "n_jobs": -1},
    ),
    ModelKind(
        "gradient_boosting",
        "Gradient Boosting",
        "Histogram gradient boosting: trees added one after another to fix the errors.",
        "sklearn.ensemble.HistGradientBoostingRegressor",
        (
            _int("max_iter", 100, 1, 5000, "Boosting rounds (trees)."),
            _float(
                "learning_rate",
                0.1,
                1e-4,
                1.0,
                "Step size of each round; smaller needs more rounds.",
            ),
            _int(
                "max_depth", None, 1, 100, "Deepest split of each tree; empty for unlimited.", True
            ),
        ),
        fixed={"random_state": 42},
    ),
    ModelKind(
        "svr",
        "SVR",
        "Support vector regression; good on small, scaled data sets, slow on large ones.",
        "sklearn.svm.SVR",
        (
            ParamSpec(
                "kernel",
                "choice",
                "rbf",
                "Shape of the fit.",
                choices=("rbf", "linear", "poly", "sigmoid"),
            ),
            _float("C", 1.0, 1e-4, 1e5, "Penalty on errors; larger fits the training data closer."),
            _float("epsilon", 0.1, 0.0, 1e4, "Errors smaller than this are ignored."),
        ),
        needs_scaling=True,
    ),
    ModelKind(
        "knn",
        "k-Nearest Neighbours",
        "Averages the targets of the k most similar training rows.",
        "sklearn.neighbors.KNeighborsRegressor",
        (
            _int("n_neighbors", 5, 1, 500, "How many neighbours to average."),
            ParamSpec(
                "weights",
                "choice",
                "uniform",
                "uniform: plain average; distance: nearer rows count more.",
                choices=("uniform", "distance"),
            ),
        ),
        needs_scaling=True,
    ),
    ModelKind(
        "mlp",
        "Neural Network",
        "A multi-layer perceptron (MLPRegressor); needs scaled data and some tuning.",
        "sklearn.neural_network.MLPRegressor",
        (
            ParamSpec(
                "hidden_layer_sizes", "layers", (100,), "Neurons per hidden layer, e.g. 64,32."
            ),
            _float("alpha", 0.0001, 0.0, 10.0, "L2 penalty on the weights."),
            _float("learning_rate_init", 0.001, 1e-6, 1.0, "Initial step size of the optimiser."),
            _int("max_iter", 200, 1, 10_000, "Training epochs at most."),
        ),
        needs_scaling=True,
        fixed={"random_state": 42},
    ),
)


def _class_weight() -> ParamSpec:
    """The classifiers' class_weight choice."""
    return ParamSpec(
        "class_weight",
        "choice",
        "none",
        "balanced: rare classes count as much as common ones; none: every row counts once.",
        choices=("none", "balanced"),
    )


_CLASSIFIERS: tuple[ModelKind, ...] = (
    ModelKind(
        "dummy",
        "Dummy",
        "Predicts the most frequent class; the baseline every classifier must beat.",
        "sklearn.dummy.DummyClassifier",
        (
            ParamSpec(
                "strategy",
                "choice",
                "prior",
                "prior: the most frequent class, with the class shares as probabilities; "
                "most_frequent: the same class, with probability 1 for it.",
                choices=("prior", "most_frequent"),
            ),
        ),
        task="classification",
        save_name="Dummy classifier",
    ),
    ModelKind(
        "logistic_regression",
        "Logistic Regression",
        "A linear model of the class probabilities; fast, readable, a strong baseline.",
        "sklearn.linear_model.LogisticRegression",
        (
            _float(
                "C", 1.0, 1e-4, 1e5, "Inverse regularisation; larger fits the training data closer."
            ),
            _int("max_iter", 1000, 10, 100_000, "Iterations of the solver before it gives up."),
            _class_weight(),
        ),
        needs_scaling=True,
        task="classification",
    ),
    ModelKind(
        "decision_tree",
        "Decision Tree",
        "One tree of if/else splits; easy to read, prone to overfitting.",
        "sklearn.tree.DecisionTreeClassifier",
        (
            _int("max_depth", None, 1, 100, "Deepest split allowed; empty for unlimited.", True),
            _int("min_samples_split", 2, 2, 1000, "Fewest rows a node needs to be split."),
            ParamSpec(
                "criterion",
                "choice",
                "gini",
                "How a split's purity is measured.",
                choices=("gini", "entropy", "log_loss"),
            ),
            _class_weight(),
        ),
        fixed={"random_state": 42},
        task="classification",
        save_name="Decision Tree classifier",
    ),
    ModelKind(
        "random_forest",
        "Random Forest",
        "Many decision trees voting; a strong default for tabular data.",
        "sklearn.ensemble.RandomForestClassifier",
        (
            _int("n_estimators", 100, 1, 2000, "Number of trees; more is steadier and slower."),
            _int("max_depth", None, 1, 100, "Deepest split allowed; empty for unlimited.", True),
            _int("min_samples_split", 2, 2, 1000, "Fewest rows a node needs to be split."),
            _class_weight(),
        ),
        fixed={"random_state": 42, "n_jobs": -1},
        task="classification",
        save_name="Random Forest classifier",
    ),
    ModelKind(
        "gradient_boosting",
        "Gradient Boosting",
        "Histogram gradient boosting: trees added one after another to fix the errors.",
        "sklearn.ensemble.HistGradientBoostingClassifier",
        (
            _int("max_iter", 100, 1, 5000, "Boosting rounds (trees per class)."),
            _float(
                "learning_rate",
                0.1,
                1e-4,
                1.0,
                "Step size of each round; smaller needs more rounds.",
            ),
            _int(
                "max_depth", None, 1, 100, "Deepest split of each tree; empty for unlimited.", True
            ),
            _class_weight(),
        ),
        fixed={"random_state": 42},
        task="classification",
        save_name="Gradient Boosting classifier",
    ),
    ModelKind(
        "svc",
        "SVC",
        "Support vector classifier; good on small, scaled data sets, slow on large ones.",
        "sklearn.svm.SVC",
        (
            ParamSpec(
                "kernel",
                "choice",
                "rbf",
                "Shape of the boundary between classes.",
                choices=("rbf", "linear", "poly", "sigmoid"),
            ),
            _float("C", 1.0, 1e-4, 1e5, "Penalty on errors; larger fits the training data closer."),
            ParamSpec(
                "probability",
                "bool",
                True,
                "Estimate class probabilities (an internal 5-fold fit, slower); without them "
                "log loss is undefined and ROC AUC uses the decision scores.",
            ),
            _class_weight(),
        ),
        needs_scaling=True,
        fixed={"random_state": 42},
        task="classification",
    ),
    ModelKind(
        "knn",
        "k-Nearest Neighbours",
        "Takes the most common class of the k most similar training rows.",
        "sklearn.neighbors.KNeighborsClassifier",
        (
            _int("n_neighbors", 5, 1, 500, "How many neighbours vote."),
            ParamSpec(
                "weights",
                "choice",
                "uniform",
                "uniform: one vote each; distance: nearer rows count more.",
                choices=("uniform", "distance"),
            ),
        ),
        needs_scaling=True,
        task="classification",
        save_name="k-Nearest Neighbours classifier",
    ),
    ModelKind(
        "mlp",
        "Neural Network",
        "A multi-layer perceptron (MLPClassifier); needs scaled data and some tuning.",
        "sklearn.neural_network.MLPClassifier",
        (
            ParamSpec(
                "hidden_layer_sizes", "layers", (100,), "Neurons per hidden layer, e.g. 64,32."
            ),
            _float("alpha", 0.0001, 0.0, 10.0, "L2 penalty on the weights."),
            _float("learning_rate_init", 0.001, 1e-6, 1.0, "Initial step size of the optimiser."),
            _int("max_iter", 200, 1, 10_000, "Training epochs at most."),
        ),
        needs_scaling=True,
        fixed={"random_state": 42},
        task="classification",
        save_name="Neural Network classifier",
    ),
)

TASKS: tuple[str, ...] = ("regression", "classification")
"""The tasks a model can learn: predict a number, or predict a class."""

# tuidash[boost]: XGBoost, LightGBM, CatBoost join when their package is installed.
_BOOSTED = boosting.installed_kinds("regression")
_BOOSTED_CLASSIFIERS = tuple(
    replace(kind, save_name=f"{kind.display_name} classifier")
    for kind in boosting.installed_kinds("classification")
)

CATALOG: dict[str, ModelKind] = {kind.id: kind for kind in (*_REGRESSORS, *_BOOSTED)}
"""Every regression kind by its snake_case id, in the order a user sees them."""

CLASSIFICATION_CATALOG: dict[str, ModelKind] = {
    kind.id: kind for kind in (*_CLASSIFIERS, *_BOOSTED_CLASSIFIERS)
}
"""Every classification kind by its id; ids shared with regression name the same idea
(``random_forest`` is RandomForestRegressor or RandomForestClassifier by task)."""

CATALOGS: dict[str, dict[str, ModelKind]] = {
    "regression": CATALOG,
    "classification": CLASSIFICATION_CATALOG,
}
"""The kinds of each task."""


def kinds_for(task: str = "regression") -> dict[str, ModelKind]:
    """The kinds of one task by id, in the order a user sees them."""
    try:
        return CATALOGS[task]
    except KeyError:
        raise CatalogError(f"Unknown task {task!r}; the tasks are {', '.join(TASKS)}.") from None


def get_kind(kind_id: str, task: str = "regression") -> ModelKind:
    """Return a model kind of ``task`` by id; the error lists the known ids of that task."""
    kinds = kinds_for(task)
    try:
        return kinds[kind_id]
    except KeyError:
        known = ", ".join(kinds)
        missing = boosting.missing_kind_message(kind_id)
        if missing:
            raise UnknownModelKind(missing) from None
        others = [t for t in TASKS if t != task and kind_id in CATALOGS[t]]
        if others:
            raise UnknownModelKind(
                f"{kind_id!r} is a {others[0]} kind, not a {task} one; the {task} kinds: {known}."
            ) from None
        raise UnknownModelKind(f"Unknown model kind {kind_id!r}; known kinds: {known}.") from None


def kinds_with_id(kind_id: str, task: str | None = None) -> list[ModelKind]:
    """The kinds of every task with the id ``kind_id``, ``task``'s first (none: [])."""
    first = [task] if task is not None and task in CATALOGS else []
    order = [*first, *(each for each in TASKS if each != task)]
    return [CATALOGS[each][kind_id] for each in order if kind_id in CATALOGS[each]]


def display_name_of(kind_id: str, task: str | None = "regression") -> str:
    """A kind's name as people see it, looked up in ``task``'s catalog first, then in the
    others; the id itself when no catalog has it (a job recorded by a newer tuidash)."""
    kinds = kinds_with_id(kind_id, task)
    return str(kinds[0].display_name) if kinds else kind_id


def validate_params(
    kind_id: str, params: Mapping[str, Any] | None, task: str = "auto"
) -> dict[str, Any]:
    """The kind's parameters with defaults filled in; with ``task`` "auto" (the task is not
    known before the data is read) the values must fit the kind of at least one task."""
    if task != "auto":
        return get_kind(kind_id, task).validate(params)
    errors: list[CatalogError] = []
    for each in TASKS:
        if kind_id in CATALOGS[each]:
            try:
                return CATALOGS[each][kind_id].validate(params)
            except CatalogError as error:
                errors.append(error)
    if errors:
        raise errors[0]
    known = ", ".join(dict.fromkeys([*CATALOG, *CLASSIFICATION_CATALOG]))
    missing = boosting.missing_kind_message(kind_id)
    if missing:
        raise UnknownModelKind(missing)
    raise UnknownModelKind(f"Unknown model kind {kind_id!r}; known kinds: {known}.")


def kind_for_display_name(name: str, task: str = "regression") -> ModelKind | None:
    """Find a kind by its display name (as the original app stored it), or None."""
    for kind in kinds_for(task).values():
        if kind.display_name.lower() == name.lower():
            return kind
    return None
