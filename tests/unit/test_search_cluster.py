"""Searches and forests on a Dask cluster: a two-worker LocalCluster (processes) started once
for the session stands in for a real one."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from tests.unit.test_cli import run  # noqa: E402
from tests.unit.test_search import table  # noqa: E402
from tuidash.core.cluster import Cluster, ClusterError, scheduler_address  # noqa: E402
from tuidash.core.progress import TrainingCancelled  # noqa: E402
from tuidash.core.search import SearchSpec, search_model  # noqa: E402
from tuidash.core.training import TrainConfig, train_model  # noqa: E402

FIT_TASKS = "batch_of_fit_and_score_1_calls"
"""The scheduler's task prefix of the search's fits (joblib names a batch after its function)."""


@pytest.fixture(scope="session")
def local_cluster() -> Iterator[distributed.LocalCluster]:
    """Two worker processes of one thread each, on this machine."""
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def connection(local_cluster: distributed.LocalCluster) -> Iterator[Cluster]:
    """tuidash's connection to the local cluster."""
    with Cluster.connect(local_cluster.scheduler_address) as cluster:
        yield cluster


def fits_received(local_cluster: distributed.LocalCluster) -> int:
    """How many search fits the scheduler has seen finish."""
    prefix = local_cluster.scheduler.task_prefixes.get(FIT_TASKS)
    return 0 if prefix is None else int(prefix.state_counts["memory"])


def test_the_cluster_reports_its_workers(connection: Cluster) -> None:
    info = connection.info()
    assert (info.workers, info.threads) == (2, 2)
    assert info.memory_bytes > 0
    assert info.text().startswith(f"{connection.address}: 2 workers, 2 threads, ")


def test_a_search_on_the_cluster_picks_what_a_local_search_picks(
    local_cluster: distributed.LocalCluster, connection: Cluster
) -> None:
    spec = SearchSpec(method="random", n_iter=5, cv=3, ranges=["n_estimators=5:30"])
    config = TrainConfig(target="y", random_state=5)
    before = fits_received(local_cluster)
    remote = search_model(table(), "random_forest", config, spec, cluster=connection)
    local = search_model(table(), "random_forest", config, spec)
    assert fits_received(local_cluster) - before == 15  # every fit ran on the cluster
    assert remote.record["best"] == local.record["best"]
    assert remote.record["where"] == "cluster"
    assert remote.cluster is not None and remote.cluster["workers"] == 2
    # The refitted model is the same model (forest sums may differ in the last bit).
    assert np.allclose(remote.trained.y_pred, local.trained.y_pred, rtol=1e-12, atol=1e-9)


def test_a_forest_grown_on_the_cluster_predicts_as_a_local_one(connection: Cluster) -> None:
    params = {"n_estimators": 20, "max_depth": 6}
    local = train_model(table(), "random_forest", params, TrainConfig(target="y"))
    with connection.parallel():
        remote = train_model(table(), "random_forest", params, TrainConfig(target="y"))
    rows = table().drop(columns="y").iloc[:30]
    assert np.allclose(remote.pipeline.predict(rows), local.pipeline.predict(rows), rtol=1e-12)


def test_cancel_stops_a_search_on_the_cluster(
    local_cluster: distributed.LocalCluster, connection: Cluster
) -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def progress(fraction: float, text: str) -> None:
        if text.startswith("Searching") and not text.startswith("Searching: 0 "):
            seen.append(text)
            cancel.set()

    spec = SearchSpec(method="random", n_iter=20, cv=3, ranges=["n_estimators=5:30"])
    before = fits_received(local_cluster)
    with pytest.raises(TrainingCancelled):
        search_model(
            table(),
            "random_forest",
            TrainConfig(target="y"),
            spec,
            progress=progress,
            cancel=cancel,
            cluster=connection,
        )
    assert len(seen) == 1
    # At most the fits already queued (two per worker) ran; far from the 60 asked for.
    assert fits_received(local_cluster) - before <= 1 + 2 * 2


def test_an_unreachable_scheduler_is_one_sentence() -> None:
    with pytest.raises(ClusterError) as caught:
        Cluster.connect("tcp://127.0.0.1:9", timeout=1)
    message = caught.value.message
    assert message.startswith("The Dask scheduler at tcp://127.0.0.1:9 cannot be reached")
    assert "\n" not in message and message.endswith(".")


def test_the_address_comes_from_the_option_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TUIDASH_DASK_SCHEDULER", raising=False)
    assert scheduler_address(None) is None
    assert scheduler_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    monkeypatch.setenv("TUIDASH_DASK_SCHEDULER", "tcp://sched:8786")
    assert scheduler_address(None) == "tcp://sched:8786"
    with pytest.raises(ClusterError, match="tcp://HOST:8786"):
        scheduler_address("http://x/y z")


def test_cli_search_on_the_cluster_end_to_end(
    tmp_path: Path, local_cluster: distributed.LocalCluster
) -> None:
    data = tmp_path / "t.csv"
    table().to_csv(data, index=False)
    store = tmp_path / "store"
    before = fits_received(local_cluster)
    result = run(
        "train", str(data), "--target", "y", "--model", "random_forest", "--name", "Tuned",
        "--search", "random", "--n-iter", "4", "--cv", "3",
        "--param-range", "n_estimators=5:20", "--param-range", "max_depth=none,3",
        "--cluster", local_cluster.scheduler_address, "--json",
        cwd=tmp_path, store=store,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["search"]["candidates_tried"] == 4 and report["search"]["fits"] == 12
    assert report["search"]["space"]["max_depth"] == {"values": [None, 3]}
    assert report["cluster"]["workers"] == 2
    assert fits_received(local_cluster) - before == 12
    doc = json.loads((store / "metadata" / "Tuned.json").read_text())
    assert doc["search"]["best"] == report["search"]["best"]
    assert doc["params"] == {**doc["params"], **doc["search"]["best"]["params"]}
    assert doc["cluster"]["address"] == local_cluster.scheduler_address


def test_cli_search_locally_prints_the_candidates(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    table().to_csv(data, index=False)
    result = run(
        "train", str(data), "--target", "y", "--model", "ridge", "--search", "grid",
        "--param-range", "alpha=0.01,1,100", "--param", "fit_intercept=true",
        "--cv", "3", "--metric", "MAE",
        cwd=tmp_path, store=tmp_path / "store",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Searched Ridge on" in out and "3 candidates × 3 folds (grid), by MAE." in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("#"))
    ranks = [line.split()[0] for line in lines[header + 2 : header + 5]]
    assert ranks == ["1", "2", "3"]
    doc = json.loads((tmp_path / "store" / "metadata" / "Ridge.json").read_text())
    maes = [row["mean"] for row in doc["search"]["candidates"]]
    assert maes == sorted(maes)


def test_cli_unreachable_cluster_and_bad_range_are_one_line(tmp_path: Path) -> None:
    from tests.unit.test_cli import assert_failed

    data = tmp_path / "t.csv"
    table().to_csv(data, index=False)
    base = ("train", str(data), "--target", "y", "--model", "ridge")
    result = run(*base, "--search", "random", "--param-range", "alpha=5:1", cwd=tmp_path,
                 store=tmp_path / "s")  # fmt: skip
    assert_failed(result, 1, "alpha", "low to high")
    result = run(*base, "--cluster", "tcp://127.0.0.1:9", cwd=tmp_path, store=tmp_path / "s")
    assert_failed(result, 1, "cannot be reached", "tcp://127.0.0.1:9")
    # A value and a range for the same parameter: neither silently wins.
    result = run(*base, "--search", "random", "--param-range", "alpha=0.1:10",
                 "--param", "alpha=3", cwd=tmp_path, store=tmp_path / "s")  # fmt: skip
    assert_failed(result, 1, "'alpha'", "both a value", "not both")
    assert not (tmp_path / "s" / "metadata" / "Ridge.json").exists()


def test_a_plain_training_on_the_cluster_is_saved_with_the_cluster(
    tmp_path: Path, local_cluster: distributed.LocalCluster
) -> None:
    from tuidash.core.store import ModelPersistence
    from tuidash.services.search import train_on_cluster_and_save
    from tuidash.services.workflows import TrainRequest, train_and_save

    store = ModelPersistence(str(tmp_path / "store"))
    params = {"n_estimators": 12}
    request = TrainRequest(target="y", kind="random_forest", params=params, data=table())
    remote = train_on_cluster_and_save(store, request, local_cluster.scheduler_address)
    request.name = "Local"
    local = train_and_save(store, request)
    doc = store.open_model(remote.saved.name)["metadata"]
    assert doc["cluster"]["workers"] == 2 and "search" not in doc
    assert np.allclose(remote.trained.y_pred, local.trained.y_pred, rtol=1e-12, atol=1e-9)
