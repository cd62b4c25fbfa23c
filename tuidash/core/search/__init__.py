"""Parameter search: try candidates of a model kind with k-fold cross-validation, refit the
best on the whole training split.

The modules, each importing only those above it:

- ``space``: what is tried: one ``Dimension`` per parameter (the catalog's defaults or a
  person's ranges), the grid or random candidates, ``SearchSpec`` and the metrics;
- ``record``: the bounded record of a search in the model's JSON (``SearchedModel``), and
  what the views read from it (scores against a parameter, the candidates table);
- ``runner``: ``search_model``: the training split, candidates x folds as joblib tasks
  (locally or on a Dask cluster) with progress and cancel, the best refitted.

Import the names from here (``tuidash.core.search``). Pure Python: numpy, pandas and
sklearn are imported inside the functions.
"""

from tuidash.core.search.record import (
    RECORDED_CANDIDATES,
    ScorePoints,
    SearchedModel,
    candidate_cells,
    chart_parameters,
    record_summary,
    score_points,
    search_document,
    search_record,
)
from tuidash.core.search.runner import (
    SEARCH_SHARE,
    FitResult,
    SearchResult,
    TrainingSplit,
    fit_and_score,
    fold_splits,
    search_model,
    training_split,
)
from tuidash.core.search.space import (
    CLASSIFICATION_SCORERS,
    GRID_POINTS,
    MAX_CANDIDATES,
    METHODS,
    REGRESSION_SCORERS,
    SEARCH_DEFAULTS,
    Dimension,
    Method,
    SearchError,
    SearchSpec,
    build_space,
    default_dimension,
    default_space,
    grid_candidates,
    metric_scorer,
    parse_dimension,
    parse_range,
    random_candidates,
    ranged_names,
    scorers_for,
    task_of,
)

__all__ = [
    "CLASSIFICATION_SCORERS",
    "GRID_POINTS",
    "MAX_CANDIDATES",
    "METHODS",
    "RECORDED_CANDIDATES",
    "REGRESSION_SCORERS",
    "SEARCH_DEFAULTS",
    "SEARCH_SHARE",
    "Dimension",
    "FitResult",
    "Method",
    "ScorePoints",
    "SearchError",
    "SearchResult",
    "SearchSpec",
    "SearchedModel",
    "TrainingSplit",
    "build_space",
    "candidate_cells",
    "chart_parameters",
    "default_dimension",
    "default_space",
    "fit_and_score",
    "fold_splits",
    "grid_candidates",
    "metric_scorer",
    "parse_dimension",
    "parse_range",
    "random_candidates",
    "ranged_names",
    "record_summary",
    "score_points",
    "scorers_for",
    "search_document",
    "search_model",
    "search_record",
    "task_of",
    "training_split",
]
