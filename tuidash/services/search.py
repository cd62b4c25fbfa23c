"""Search and save: a parameter search (locally or on a Dask cluster) whose best candidate
is saved like any trained model, and a plain training whose forest grows on a cluster.

Builds on ``workflows``: the same request, the same checks before any data is read, the
same name rule and the same save; the JSON gets ``search`` (the bounded record of the
candidates) and, on a cluster, ``cluster`` (address, workers, threads, memory). A search
that fails or is cancelled saves nothing. Plain Python: no UI imports.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuidash.services.workflows import (
    Cancel,
    ModelSaver,
    Progress,
    SaveOutcome,
    TrainRequest,
    _as_event,
    check_request,
    name_for,
    request_data,
    resolve_task,
)

if TYPE_CHECKING:
    import pandas as pd

    from tuidash.core.cluster import Cluster, ClusterInfo
    from tuidash.core.data import LoadedData
    from tuidash.core.search import SearchedModel, SearchSpec
    from tuidash.core.training import TrainedModel


@dataclass
class SearchOutcome:
    """A searched (or cluster-trained) and saved model."""

    trained: TrainedModel
    saved: SaveOutcome
    data: LoadedData | pd.DataFrame
    search: dict[str, Any] | None
    """The search record saved in the JSON (None for a plain training on a cluster)."""
    cluster: dict[str, Any] | None
    """The cluster it ran on, or None: it ran locally."""


def cluster_address(given: str | None = None) -> str | None:
    """The scheduler address to use (``given``, else ``$TUIDASH_DASK_SCHEDULER``), or None."""
    from tuidash.core.cluster import scheduler_address

    return scheduler_address(given)


@contextlib.contextmanager
def connected(address: str | None) -> Iterator[Cluster | None]:
    """A connection to the scheduler for the duration of the block (None: run locally)."""
    from tuidash.core.cluster import Cluster

    if address is None:
        yield None
        return
    cluster = Cluster.connect(address)
    try:
        yield cluster
    finally:
        cluster.close()


def cluster_info(address: str) -> ClusterInfo:
    """Connect, read the workers, disconnect; ``ClusterError`` when it cannot be reached."""
    with connected(address) as cluster:
        assert cluster is not None
        return cluster.info()


def check_search(request: TrainRequest, spec: SearchSpec) -> None:
    """Refuse a bad request, range, metric or fold count before any data is read."""
    from tuidash.core.catalog import ParamError, get_kind, kinds_for
    from tuidash.core.search import SearchError

    check_request(request)
    if request.task != "auto":
        spec.validate(get_kind(request.kind, request.task))
        return
    # The task follows the data, read later: the spec must fit the kind of one task.
    tasks = [t for t in ("regression", "classification") if request.kind in kinds_for(t)]
    errors: list[Exception] = []
    for task in tasks or ["regression"]:
        try:
            spec.validate(get_kind(request.kind, task))
            return
        except (SearchError, ParamError) as error:
            errors.append(error)
    raise errors[0]


def search(
    request: TrainRequest,
    spec: SearchSpec,
    *,
    cluster: str | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    data: LoadedData | pd.DataFrame | None = None,
) -> SearchedModel:
    """Search (on ``cluster`` when given) and refit the best; not saved. Its
    ``to_model_data()`` carries the search record, so any save keeps it."""
    from tuidash.core.search import search_model

    check_search(request, spec)
    with connected(cluster) as connection:
        result = search_model(
            data if data is not None else request_data(request),
            request.kind,
            request.config(),
            spec,
            params=dict(request.params),
            progress=progress,
            cancel=_as_event(cancel),
            cluster=connection,
        )
    return result.trained


def search_and_save(
    store: ModelSaver,
    request: TrainRequest,
    spec: SearchSpec,
    *,
    cluster: str | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    before_save: Callable[[str], None] | None = None,
    data: LoadedData | pd.DataFrame | None = None,
) -> SearchOutcome:
    """Check, read the data, search (on ``cluster`` when given), refit the best, save it.

    The request's parameters fix what is not searched. Nothing is saved when the search
    fails (``SearchError``, ``ClusterError``) or is cancelled (``TrainingCancelled``).
    """
    check_search(request, spec)
    if request.name is not None or request.task != "auto":
        name = name_for(store, request)
        if data is None:
            data = request_data(request)
    else:  # the default name depends on the task, which follows the data
        if data is None:
            data = request_data(request)
        name = name_for(store, request, resolve_task(request, data).task)
    trained = search(request, spec, cluster=cluster, progress=progress, cancel=cancel, data=data)
    if before_save is not None:
        before_save(name)
    saved = _save(store, name, trained, {}, request.replace)
    return SearchOutcome(trained, saved, data, trained.search, trained.cluster)


def train_on_cluster_and_save(
    store: ModelSaver,
    request: TrainRequest,
    cluster: str,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    before_save: Callable[[str], None] | None = None,
    data: LoadedData | pd.DataFrame | None = None,
) -> SearchOutcome:
    """``workflows.train_and_save`` with the fit's parallel part (a forest's trees) on the
    cluster; the JSON records the cluster. The same model as a local fit."""
    from tuidash.core.cluster import cluster_failure, is_cluster_failure
    from tuidash.core.progress import TrainingCancelled
    from tuidash.core.training import train_model

    check_request(request)
    name = name_for(store, request)
    if data is None:
        data = request_data(request)
    with connected(cluster) as connection:
        assert connection is not None
        info = connection.info()
        try:
            with connection.parallel():
                trained = train_model(
                    data,
                    request.kind,
                    dict(request.params),
                    request.config(),
                    progress=progress,
                    cancel=_as_event(cancel),
                )
        except TrainingCancelled:
            raise
        except Exception as error:
            if is_cluster_failure(error):
                raise cluster_failure(error, connection.address) from None
            raise
    if before_save is not None:
        before_save(name)
    saved = _save(store, name, trained, {"cluster": info.as_json()}, request.replace)
    return SearchOutcome(trained, saved, data, None, info.as_json())


def _save(
    store: ModelSaver,
    name: str,
    trained: TrainedModel,
    extra: Mapping[str, Any],
    replace: bool,
) -> SaveOutcome:
    """``workflows.save`` with extra JSON keys (the search record, the cluster)."""
    data = trained.to_model_data()
    data.update(extra)
    message = store.save(name, data, replace=replace)
    versions = store.list_versions(name)
    version = int(versions[-1]["version"]) if versions else 1
    return SaveOutcome(name, message, replaced=version > 1, version=version)


@dataclass(frozen=True)
class SearchJob:
    """What the dashboard's Search mode asks for: the search and where it runs."""

    spec: SearchSpec
    cluster: str | None = None
    """A scheduler address, or None: locally (``$TUIDASH_DASK_SCHEDULER`` is not read)."""


def search_job(
    request: TrainRequest, job: SearchJob, progress: Progress | None, cancel: Cancel | None
) -> SearchedModel:
    """``search`` for the dashboard's train worker (one job of a batch)."""
    return search(request, job.spec, cluster=job.cluster, progress=progress, cancel=cancel)


def spec_document(spec: SearchSpec) -> dict[str, Any]:
    """A search spec as plain JSON (for a job's record)."""
    ranges = spec.ranges
    return {
        "method": spec.method,
        "n_iter": spec.n_iter,
        "cv": spec.cv,
        "metric": spec.metric,
        "ranges": dict(ranges) if isinstance(ranges, Mapping) else list(ranges),
        "n_jobs": spec.n_jobs,
    }


def spec_from_document(document: Mapping[str, Any]) -> SearchSpec:
    """The search spec of a job's record (keys a later version added are ignored)."""
    import dataclasses

    from tuidash.core.search import SearchSpec

    names = {item.name for item in dataclasses.fields(SearchSpec)}
    return SearchSpec(**{k: v for k, v in document.items() if k in names})


def search_summary(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The search record's summary for reports: its settings, the best and the top ten."""
    if record is None:
        return None
    keys = (
        "method",
        "metric",
        "higher_is_better",
        "cv",
        "splitter",
        "space",
        "candidates_tried",
        "fits",
        "failed_fits",
        "best",
    )
    summary = {k: record.get(k) for k in keys}
    summary["top"] = [
        {k: row.get(k) for k in ("rank", "params", "mean", "std")}
        for row in record.get("candidates", [])[:10]
    ]
    return summary
