"""Benchmark the model store against the bare minimum, as ratios measured in one run.

    python benchmarks/bench_store.py [--big-mb 100] [--small 1000] [--repeat 3]

Prints a markdown table. Targets (DESIGN.md): save <= 1.5x a durable pickle.dump
(write + fsync), load <= 2.0x a bare pickle.load loop (sha256 check included), listing
names + metrics >= 20x faster than the original app's start-up (which unpickles every
model). Never part of the test run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuidash.core.store import ModelPersistence

GC_DURING_TIMING = False
"""Like timeit: the cyclic GC is paused while a run is timed (--gc turns it on)."""


def best_of(repeat: int, func: Callable[[], Any], setup: Callable[[], Any] | None = None) -> float:
    """Fastest wall time of ``repeat`` runs (setup not timed; results dropped after)."""
    best = float("inf")
    for _ in range(repeat):
        if setup is not None:
            setup()
        gc.collect()
        if not GC_DURING_TIMING:
            gc.disable()
        try:
            start = time.perf_counter()
            result = func()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
        del result
    return best


def pair(
    repeat: int,
    base: Callable[[], Any],
    ours: Callable[[], Any],
    setup: Callable[[], Any] | None = None,
) -> tuple[float, float]:
    """Best times of baseline and tuidash, run alternately so both see the same machine."""
    best_base = best_ours = float("inf")
    for _ in range(repeat):
        best_base = min(best_base, best_of(1, base))
        best_ours = min(best_ours, best_of(1, ours, setup))
    return best_base, best_ours


def durable_dump(obj: Any, path: Path) -> None:
    """The baseline save: pickle.dump to a file, flush, fsync."""
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=5)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def bare_load(path: Path) -> Any:
    """The baseline load: pickle.load from a file."""
    with open(path, "rb") as handle:
        return pickle.load(handle)


def big_model(target_mb: float) -> Any:
    """A RandomForest pipeline of roughly target_mb megabytes (fitted once)."""
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 10))
    y = X[:, 0] * 3 + X[:, 1] + rng.normal(size=20_000)
    trees = 8
    model = RandomForestRegressor(n_estimators=trees, random_state=0, n_jobs=2).fit(X, y)
    per_tree = len(pickle.dumps(model, protocol=5)) / trees
    trees = max(1, round(target_mb * 1e6 / per_tree))
    return RandomForestRegressor(n_estimators=trees, random_state=0, n_jobs=2).fit(X, y)


def small_model_data() -> dict[str, Any]:
    """A realistic small entry: a Ridge pipeline on diabetes-sized data."""
    import numpy as np
    import pandas as pd

    from tuidash.core.training import build_pipeline

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(442, 10)), columns=[f"x{i}" for i in range(10)])
    frame["kind"] = rng.choice(["a", "b", "c"], size=442)
    y = frame["x0"] * 2 + rng.normal(size=442)
    pipe = build_pipeline("ridge", {}, [f"x{i}" for i in range(10)], ["kind"]).fit(frame, y)
    y_pred = pipe.predict(frame.iloc[:89])
    return {
        "model": pipe,
        "metrics": {"MAE": 0.8, "MSE": 1.0, "RMSE": 1.0, "MAPE": 0.3, "R2": 0.7},
        "params": {"alpha": 1.0, "fit_intercept": True},
        "predictions": {
            "y_pred": y_pred.tolist(),
            "y_test": y.iloc[:89].tolist(),
            "feature_importance": {f"x{i}": float(i) for i in range(10)},
        },
        "model_type": "ridge",
        "train_seconds": 0.01,
    }


def big_model_data(model: Any) -> dict[str, Any]:
    return {
        "model": model,
        "metrics": {"MAE": 0.8, "MSE": 1.0, "RMSE": 1.0, "MAPE": 0.3, "R2": 0.7},
        "params": {"n_estimators": len(model.estimators_)},
        "predictions": {"y_pred": [0.0] * 2000, "y_test": [0.0] * 2000, "feature_importance": None},
        "model_type": "random_forest",
    }


def original_startup(base: Path) -> int:
    """What the original app did on start: read every JSON and unpickle every model."""
    count = 0
    for meta in sorted((base / "metadata").glob("*.json")):
        with open(meta) as handle:
            doc = json.load(handle)
        model = bare_load(base / "models" / f"{meta.stem}.pkl")
        count += model is not None and bool(doc)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mb", type=float, default=100.0)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gc", action="store_true", help="keep the cyclic GC on while timing")
    args = parser.parse_args()
    global GC_DURING_TIMING
    GC_DURING_TIMING = args.gc
    root = Path(tempfile.mkdtemp(prefix="tuidash-bench-"))
    rows: list[tuple[str, float, float, str]] = []
    try:
        print("fitting models...", file=sys.stderr)
        big = big_model(args.big_mb)
        big_data = big_model_data(big)
        small_data = small_model_data()
        big_size = len(pickle.dumps(big, protocol=5))
        print(f"big model: {big_size / 1e6:.1f} MB", file=sys.stderr)

        # --- save, big
        base_dir = root / "baseline"
        base_dir.mkdir()
        store = ModelPersistence(root / "store")
        t_base, t_store = pair(
            args.repeat,
            lambda: durable_dump(big, base_dir / "big.pkl"),
            lambda: store.save("Big forest", big_data, replace=True),
        )
        rows.append((f"save {big_size / 1e6:.0f} MB RandomForest", t_base, t_store, "<= 1.5x"))

        # --- save, many small
        def base_small() -> None:
            for i in range(args.small):
                durable_dump(small_data["model"], base_dir / f"m{i}.pkl")

        def store_small() -> None:
            for i in range(args.small):
                store.save(f"Ridge {i}", small_data, replace=True)

        t_base, t_store = pair(args.repeat, base_small, store_small)
        rows.append((f"save {args.small} small models", t_base, t_store, "<= 1.5x"))

        def base_small_dir() -> None:
            # A new file is only durable once its folder is fsynced too.
            for i in range(args.small):
                durable_dump(small_data["model"], base_dir / f"m{i}.pkl")
                fsync_dir(base_dir)

        t_dir = best_of(args.repeat, base_small_dir)  # compared with the t_store above
        rows.append(("  vs write + fsync + folder fsync", t_dir, t_store, "(info)"))

        # --- load, big (fresh store object each time; page cache warm for both)
        t_base, t_store = pair(
            args.repeat,
            lambda: bare_load(base_dir / "big.pkl"),
            lambda: ModelPersistence(root / "store").open_model("Big forest"),
        )
        rows.append((f"load {big_size / 1e6:.0f} MB RandomForest", t_base, t_store, "<= 2.0x"))

        # --- load, many small
        small_names = [f"Ridge {i}" for i in range(args.small)]

        def base_load_small() -> list[Any]:
            return [bare_load(base_dir / f"m{i}.pkl") for i in range(args.small)]

        def store_load_small() -> list[Any]:
            events = list(ModelPersistence(root / "store").iter_load(small_names))
            assert all(e.ok for e in events), [e.reason for e in events if not e.ok][:3]
            return events

        t_base, t_store = pair(args.repeat, base_load_small, store_load_small)
        rows.append((f"load {args.small} small models (iter_load)", t_base, t_store, "<= 2.0x"))

        # --- load everything (big + small) with load_all_models
        t_base, t_store = pair(
            args.repeat,
            lambda: [*base_load_small(), bare_load(base_dir / "big.pkl")],
            lambda: ModelPersistence(root / "store").load_all_models(),
        )
        rows.append(("load_all_models (big + small)", t_base, t_store, "<= 2.0x"))

        # --- listing vs the original app's start-up
        index = root / "store" / ".tuidash-index.json"
        ModelPersistence(root / "store").list_saved_models(predictions=False)
        t_orig, t_list = pair(
            args.repeat,
            lambda: original_startup(root / "store"),
            lambda: ModelPersistence(root / "store").list_saved_models(predictions=False),
        )
        rows.append(("list names + metrics vs original start-up", t_orig, t_list, ">= 20x faster"))
        t_cold = best_of(
            args.repeat,
            lambda: ModelPersistence(root / "store").list_saved_models(predictions=False),
            setup=lambda: index.unlink(missing_ok=True),
        )
        rows.append(("  same, cold (no listing cache)", t_orig, t_cold, "(info)"))
        t_full = best_of(args.repeat, lambda: ModelPersistence(root / "store").list_saved_models())
        rows.append(("  full listing with predictions", t_orig, t_full, "(info)"))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print(
        f"load average at the end: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} cores); "
        f"cyclic GC during timing: {'on' if GC_DURING_TIMING else 'off (as timeit does)'}"
    )
    print()
    print("| operation | baseline | tuidash | ratio | target |")
    print("|---|---:|---:|---:|---|")
    for label, base, ours, target in rows:
        if "faster" in target or label.startswith("  same") or label.startswith("  full"):
            ratio = f"{base / ours:.1f}x faster"
        else:
            ratio = f"{ours / base:.2f}x"
        print(f"| {label} | {base * 1000:.1f} ms | {ours * 1000:.1f} ms | {ratio} | {target} |")


if __name__ == "__main__":
    main()
