"""The workflows: where a training request becomes a fitted, evaluated, saved model, and a
prediction request becomes predictions (and a written file).

``tuidash train``/``tuidash predict``, the dashboard's train worker and Predict screen, and
(later) a training job process all call these functions; none of them re-implements the
steps. Plain Python: progress is a callback ``progress(fraction, text)``, cancellation a
``threading.Event`` or a callable that returns True once the caller wants to stop. Errors
are ``TuidashError``s (one sentence each) from the core; nothing here prints.

Heavy modules (pandas, sklearn) are imported inside the functions, so importing this module
is cheap for the CLI's ``--help`` and the dashboard's first frame.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tuidash.core.errors import ModelExists

if TYPE_CHECKING:
    import pandas as pd

    from tuidash.core.data import LoadedData
    from tuidash.core.predicting import Prediction
    from tuidash.core.tasks import TaskChoice
    from tuidash.core.training import TrainConfig, TrainedModel

SAMPLE_WORDS = ("sample", "sample:diabetes")
"""Data sources that mean the bundled diabetes data set (the CLI's ``sample``)."""

Progress = Callable[[float, str], None]
"""``progress(fraction 0..1, text)``: called as the work goes on."""

Cancel = threading.Event | Callable[[], bool]
"""Set the event, or return True from the callable, to stop at the next check."""


class ModelSaver(Protocol):
    """A store that saves (the core's ``ModelStore``/``ModelPersistence``)."""

    base_dir: Path | str

    def save(self, name: str, data: Mapping[str, Any], replace: bool = False) -> str:
        """Save or raise a ``StoreError``; returns a confirmation sentence."""
        ...

    def list_models(self, *, predictions: bool = True) -> list[dict[str, Any]]:
        """The good entries of the store, from their JSON."""
        ...

    def list_versions(self, name: str) -> list[dict[str, Any]]:
        """The versions of a saved name, oldest first."""
        ...


class ModelOpener(Protocol):
    """A store that loads models (restricted unpickling)."""

    base_dir: Path | str

    def open_model(self, name: str) -> dict[str, Any]:
        """Load one model or raise a ``StoreError``."""
        ...


# --------------------------------------------------------------------------- requests


@dataclass
class TrainRequest:
    """What to train: data (loaded, or a file / ``sample`` to read), target, kind, settings."""

    target: str
    kind: str
    """A model kind id of the catalog (``random_forest``)."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Parameter values or their text; the kind checks them (``ParamError`` says why not)."""
    features: Sequence[str] | None = None
    """Feature columns; None means the core's default (every other usable column)."""
    data: LoadedData | pd.DataFrame | None = None
    """Data already loaded; when None, ``source`` is read."""
    source: str | Path | None = None
    """A data file to read, or ``sample`` for the bundled diabetes data."""
    encoding: str | None = None
    """Text encoding of a CSV source (None: guess)."""
    test_size: float = 0.2
    random_state: int = 42
    keep_order: bool = False
    """Test on the last rows instead of a random sample (time-ordered data)."""
    cv_folds: int | None = None
    batch_rows: int | None = None
    name: str | None = None
    """The name to save under; None means the kind's name, made free in the store."""
    replace: bool = False
    """Overwrite a saved model of the same name."""
    task: str = "auto"
    """auto (follow the target), regression or classification (``core.tasks``)."""

    def config(self) -> TrainConfig:
        """The core's training configuration of this request."""
        from tuidash.core.training import TrainConfig

        return TrainConfig(
            target=self.target,
            features=None if self.features is None else list(self.features),
            test_size=self.test_size,
            random_state=self.random_state,
            keep_order=self.keep_order,
            cv_folds=self.cv_folds,
            batch_rows=self.batch_rows,
            task=self.task,
        )


@dataclass
class SaveOutcome:
    """What a save did: the name it is saved under and the store's sentence."""

    name: str
    message: str
    replaced: bool
    """A model of that name existed: this save is its next version (the earlier one is kept)."""
    version: int = 1
    """The version number this save got."""


@dataclass
class TrainOutcome:
    """A trained and saved model."""

    trained: TrainedModel
    saved: SaveOutcome
    data: LoadedData | pd.DataFrame
    """The data it was trained on (as read from the request's source)."""


@dataclass
class PredictOutcome:
    """Predictions of one model: rows + prediction column, and where they were written."""

    model: str
    entry: dict[str, Any]
    """The loaded model (``model``, ``metadata``), reusable for the next prediction."""
    prediction: Prediction
    output: Path | None
    """The CSV written, or None when no file was asked for."""


# --------------------------------------------------------------------------- training


def is_sample(source: str | Path | None) -> bool:
    """Whether a data source names the bundled diabetes data (``sample``)."""
    return isinstance(source, str) and source in SAMPLE_WORDS


def load_source(source: str | Path, encoding: str | None = None) -> LoadedData:
    """Read a data file, or the bundled sample for ``sample``; ``DataError`` says why not."""
    from tuidash.core.data import read_table, sample_dataset

    if is_sample(source):
        return sample_dataset()
    return read_table(source, encoding=encoding)


def request_data(request: TrainRequest) -> LoadedData | pd.DataFrame:
    """The request's loaded data, or its source read now."""
    if request.data is not None:
        return request.data
    if request.source is None:
        from tuidash.core.training import TrainingError

        raise TrainingError("Choose the data to train on (a data file or the sample).")
    return load_source(request.source, request.encoding)


def check_request(request: TrainRequest) -> dict[str, Any]:
    """Check the kind, parameters and settings before any data is read; the parameters."""
    from tuidash.core.catalog import validate_params

    request.config().validate()  # an unknown task is named before the kind is checked
    return dict(validate_params(request.kind, dict(request.params), request.task))


def resolve_task(request: TrainRequest, data: LoadedData | pd.DataFrame) -> TaskChoice:
    """The request's task on its data (``auto`` follows the target) and why, in a sentence."""
    from tuidash.core.training import target_task

    return target_task(data, request.target, request.task)


class NameTaken(ModelExists):
    """The requested name is taken (``existing`` is the saved name, maybe in another case)."""

    def __init__(self, existing: str, same: bool) -> None:
        if same:
            text = f"A model named {existing!r} already exists; choose another name."
        else:
            text = (
                f"A model named {existing!r} already exists; names that differ only in "
                "upper/lower case, spaces or _ would share files, so pick another name."
            )
        super().__init__(text)
        self.existing = existing
        """The saved model's name."""
        self.same = same
        """The very same name (replacing it is possible), not another spelling."""


def name_for(store: ModelSaver, request: TrainRequest, task: str | None = None) -> str:
    """The name to save under, checked before any training: the request's name or else the
    kind's default name (a saved name gets its next version; ``NameTaken`` when another saved
    name shares its files: another upper/lower case, or ``_`` for a space).

    ``task`` is the task decided on the data (``resolve_task``); without it the request's
    task, and regression for ``auto``. Classifiers of a kind that also regresses get their
    own default name ("Random Forest classifier")."""
    from tuidash.core.catalog import CATALOGS, get_kind
    from tuidash.core.errors import InvalidModelName
    from tuidash.core.store.names import fold, name_problem

    if task is None:
        task = request.task if request.task != "auto" else "regression"
    taken = {str(entry.get("name")) for entry in store.list_models(predictions=False)}
    # Without a name the kind's name, like the original app: retraining saves its next version.
    if request.name is not None:
        name = request.name
    elif request.kind in CATALOGS.get(task, {}):
        name = CATALOGS[task][request.kind].default_name
    else:  # a kind of the other task: training refuses it, saying which task and why
        owner = next((kinds for kinds in CATALOGS.values() if request.kind in kinds), None)
        name = owner[request.kind].default_name if owner else get_kind(request.kind).display_name
    problem = name_problem(name)
    if problem:
        raise InvalidModelName(problem)
    if name in taken:
        return name  # saved as its next version; the earlier ones stay loadable
    other = sorted(n for n in taken if fold(n) == fold(name))
    if other:
        raise NameTaken(other[0], same=False)
    return name


def train(
    request: TrainRequest,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    data: LoadedData | pd.DataFrame | None = None,
) -> TrainedModel:
    """Fit and evaluate one model; ``TrainingError`` (and data errors) say why not,
    ``TrainingCancelled`` when cancelled. ``data`` overrides the request's data/source."""
    from tuidash.core.training import train_model

    return train_model(
        data if data is not None else request_data(request),
        request.kind,
        dict(request.params),
        request.config(),
        progress=progress,
        cancel=_as_event(cancel),
    )


def save(
    store: ModelSaver, name: str, trained: TrainedModel, *, replace: bool = False
) -> SaveOutcome:
    """Save a trained model under ``name``; a ``StoreError`` says why it could not be."""
    message = store.save(name, trained.to_model_data(), replace=replace)
    versions = store.list_versions(name)
    version = int(versions[-1]["version"]) if versions else 1
    return SaveOutcome(name, message, replaced=version > 1, version=version)


def train_and_save(
    store: ModelSaver,
    request: TrainRequest,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    before_save: Callable[[str], None] | None = None,
) -> TrainOutcome:
    """Check the request and the name, read the data, train, evaluate and save.

    Everything that can be refused without training (kind, parameters, settings, the name)
    is refused first, so a mistake costs no training time. ``before_save(name)`` is called
    once training is done, just before the save (a job process stops taking SIGTERM there).
    """
    check_request(request)
    if request.name is not None or request.task != "auto":
        name = name_for(store, request)
        data = request_data(request)
    else:  # the default name depends on the task, which follows the data
        data = request_data(request)
        name = name_for(store, request, resolve_task(request, data).task)
    trained = train(request, progress=progress, cancel=cancel, data=data)
    if before_save is not None:
        before_save(name)
    saved = save(store, name, trained, replace=request.replace)
    return TrainOutcome(trained, saved, data)


def _as_event(cancel: Cancel | None) -> threading.Event | None:
    """The core checks a ``threading.Event``; a callable is polled through one."""
    if cancel is None or isinstance(cancel, threading.Event):
        return cancel
    return _PolledEvent(cancel)


class _PolledEvent(threading.Event):
    """An event that is also set once ``asked()`` returns True."""

    def __init__(self, asked: Callable[[], bool]) -> None:
        super().__init__()
        self._asked = asked

    def is_set(self) -> bool:
        """Set by ``set()`` or by the caller's callable."""
        return super().is_set() or bool(self._asked())


# --------------------------------------------------------------------------- predicting


def predict(
    store: ModelOpener | None,
    model_ref: str,
    data: str | Path | LoadedData | pd.DataFrame,
    *,
    encoding: str | None = None,
    entry: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> PredictOutcome:
    """Load ``model_ref`` (unless ``entry`` is the loaded model), read the data (a file,
    ``sample``, loaded data or a frame), check it against the model's columns and predict.

    ``source`` is how the data is named in sentences (default: the path as given).
    """
    from tuidash.core.data import SAMPLE_SOURCE, LoadedData
    from tuidash.core.predicting import PredictionError, predict_frame

    if entry is not None:
        loaded_entry = dict(entry)
    elif store is not None:
        loaded_entry = dict(store.open_model(model_ref))
    else:
        raise PredictionError(f"There is no store to load the model {model_ref!r} from.")
    notes: list[str] = []
    if isinstance(data, str | Path):
        table = load_source(data, encoding)
        shown = SAMPLE_SOURCE if is_sample(data) else str(data)
        notes = [] if is_sample(data) else list(table.notes or [])
        frame = table.frame
    elif isinstance(data, LoadedData):
        frame, shown, notes = data.frame, data.source, list(data.notes or [])
    else:
        frame, shown = data, "the data"
    prediction = predict_frame(
        loaded_entry, frame, model_name=model_ref, source=source if source is not None else shown
    )
    prediction.notes[:0] = notes
    return PredictOutcome(model_ref, loaded_entry, prediction, None)


def predict_to_file(
    store: ModelOpener | None,
    model_ref: str,
    data: str | Path | LoadedData | pd.DataFrame,
    out_path: str | Path | None,
    *,
    encoding: str | None = None,
    entry: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> PredictOutcome:
    """``predict`` and write the rows + predictions as CSV to ``out_path`` (atomically);
    with ``out_path`` None nothing is written and the caller shows the rows."""
    outcome = predict(store, model_ref, data, encoding=encoding, entry=entry, source=source)
    if out_path is not None:
        outcome.output = write_predictions(outcome.prediction, Path(out_path))
    return outcome


def write_predictions(prediction: Prediction, path: Path) -> Path:
    """Write the rows + predictions as CSV to ``path`` atomically; the absolute path."""
    from tuidash.core.predicting import write_csv

    return write_csv(prediction, path)


EXPORT_STEM = "predictions"
"""Exports are named after the model: predictions-Forest.csv, predictions-Forest_2.csv, ..."""


def export_predictions(prediction: Prediction, folder: Path) -> Path:
    """Write ``prediction`` as CSV to a new file in ``folder`` (created if needed); its path.

    The file is named after the model (``predictions-NAME.csv``, then ``..._2.csv``: the
    free file name rule of ``tuidash.core.text``); an existing file is never replaced.
    """
    from tuidash.core.predicting import PredictionError
    from tuidash.core.text import reserve_free_file
    from tuidash.core.transfer import export_stem

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise PredictionError(f"Cannot create the export folder {folder}: {reason}.") from None
    target = reserve_free_file(folder, export_stem(EXPORT_STEM, prediction.model_name), ".csv")
    try:
        return write_predictions(prediction, target)
    except BaseException:
        target.unlink(missing_ok=True)  # our own empty placeholder
        raise
