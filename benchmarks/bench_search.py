"""Benchmark a 40-candidate random search of a forest: one local process, a two-worker
Dask LocalCluster, and two local processes (n_jobs=2).

    python benchmarks/bench_search.py [--candidates 40] [--cv 3] [--rows 2000]

Each setup runs the same search (same candidates, folds and random state) once after a
warm-up of its pool; the table gives the wall time of the search phase (the candidates x
folds; the refit of the best is the same single fit in every setup) and each setup's time
as a ratio of the one-process time, plus whether it picked the same best candidate. On a
shared or busy machine the ratios move with the other load. Needs ``distributed``.
Never part of the test run; never passes or fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuidash.core.cluster import Cluster
from tuidash.core.search import SearchSpec, search_model
from tuidash.core.training import TrainConfig


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """Eight numeric features, one text feature and a noisy non-linear target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 8))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["kind"] = np.array(["a", "b", "c"])[np.arange(rows) % 3]
    frame["y"] = np.sin(X[:, 0]) * 3 + X[:, 1] ** 2 - X[:, 2] * X[:, 3] + rng.normal(0, 0.3, rows)
    return frame


def timed_search(
    frame: pd.DataFrame, spec: SearchSpec, cluster: Cluster | None
) -> tuple[float, dict[str, Any]]:
    """Seconds of the search phase (the refit excluded) and the best candidate."""
    marks: dict[str, float] = {}

    def progress(fraction: float, text: str) -> None:
        if text.startswith("Searching: 0 "):
            marks["start"] = time.perf_counter()
        elif text.startswith("Refitting") and "end" not in marks:
            marks["end"] = time.perf_counter()

    result = search_model(
        frame, "random_forest", TrainConfig(target="y"), spec, progress=progress, cluster=cluster
    )
    return marks["end"] - marks["start"], result.record["best"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=40)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    from distributed import LocalCluster

    frame = make_frame(args.rows)
    ranges = ["n_estimators=20:120", "max_depth=none,4,8,12", "min_samples_split=2:20"]

    def spec(n_jobs: int | None) -> SearchSpec:
        return SearchSpec("random", args.candidates, args.cv, None, ranges, n_jobs)

    warm = SearchSpec("random", 2, 2, None, ["n_estimators=5:10"], None)
    rows: list[tuple[str, float, dict[str, Any]]] = []
    seconds, best = timed_search(frame, spec(None), None)
    rows.append(("1 local process", seconds, best))

    local = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
    try:
        with Cluster.connect(local.scheduler_address) as cluster:
            timed_search(frame, warm, cluster)  # workers import sklearn and tuidash once
            seconds, best = timed_search(frame, spec(None), cluster)
            rows.append(("2-worker LocalCluster", seconds, best))
    finally:
        local.close()

    warm.n_jobs = 2
    timed_search(frame, warm, None)  # start the two local processes
    seconds, best = timed_search(frame, spec(2), None)
    rows.append(("local n_jobs=2", seconds, best))

    baseline = rows[0][1]
    print(
        f"\n{args.candidates}-candidate random search of a forest, {args.cv}-fold, "
        f"{args.rows} rows ({args.candidates * args.cv} fits)\n"
    )
    print("| setup | search seconds | ratio to 1 process | same best |")
    print("|---|---:|---:|---|")
    for name, seconds, best in rows:
        same = "yes" if best == rows[0][2] else "NO"
        print(f"| {name} | {seconds:.1f} | {seconds / baseline:.2f} | {same} |")


if __name__ == "__main__":
    main()
