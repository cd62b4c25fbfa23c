"""Benchmark start-up listing and background loading through PersistenceService.

    python benchmarks/bench_autoload.py [--sizes 10,100,1000] [--big-mb 100] [--repeat 3]

Prints markdown tables:

1. Time until the model list is available, in a fresh interpreter each time (imports
   included except asyncio, which textual has loaded before any app code runs; page cache
   warm), for stores of 10, 100 and 1,000 small models:
   ``PersistenceService.list_models`` versus the original app's start-up, which unpickles
   every model (``pickle.load`` here, a little faster than the ``joblib.load`` it used)
   before it shows anything. Ratios are measured in the same run. Target (DESIGN.md): the
   list at least 20x faster, and not growing with the store.
2. The asyncio event loop's longest stall while ``load_all`` runs on a store holding a
   RandomForest of about 100 MB: a ticker task sleeps 5 ms and records how late it wakes.
   Target: under 100 ms.

Never part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tuidash.core.store import INDEX_NAME, ModelPersistence  # noqa: E402
from tuidash.services.persistence import LoadFinished, PersistenceService  # noqa: E402

TICK = 0.005
STALL_TARGET = 0.100


# --- models -------------------------------------------------------------------------------


def small_model_data(seed: int = 0) -> dict[str, Any]:
    """A small realistic entry: a depth-6 decision tree pipeline, 90 stored predictions."""
    import numpy as np
    import pandas as pd

    from tuidash.core.training import build_pipeline

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(442, 10)), columns=[f"x{i}" for i in range(10)])
    frame["kind"] = rng.choice(["a", "b", "c"], size=442)
    target = frame["x0"] * 3 + frame["x1"] + rng.normal(size=442)
    numeric = [f"x{i}" for i in range(10)]
    pipeline = build_pipeline("decision_tree", {"max_depth": 6}, numeric, ["kind"])
    pipeline.fit(frame, target)
    predicted = pipeline.predict(frame.iloc[:90])
    return {
        "model": pipeline,
        "metrics": {"MAE": 0.8, "MSE": 1.1, "RMSE": 1.05, "MAPE": 0.4, "R2": 0.7},
        "params": {"max_depth": 6},
        "predictions": {
            "y_pred": [float(v) for v in predicted],
            "y_test": [float(v) for v in target.iloc[:90]],
            "feature_importance": {
                name: float(value)
                for name, value in zip(numeric, pipeline[-1].feature_importances_, strict=False)
            },
        },
        "model_type": "decision_tree",
        "task": "regression",
    }


def big_model_data(target_mb: float) -> dict[str, Any]:
    """A RandomForest of roughly ``target_mb`` MB in a pipeline, in the store's shape."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestRegressor

    from tuidash.core.training import build_pipeline

    rng = np.random.default_rng(0)
    rows = 20_000
    frame = pd.DataFrame(rng.normal(size=(rows, 10)), columns=[f"x{i}" for i in range(10)])
    target = frame["x0"] * 3 + frame["x1"] + rng.normal(size=rows)
    probe = RandomForestRegressor(n_estimators=4, random_state=0, n_jobs=2)
    probe.fit(frame.to_numpy(), target)
    per_tree = len(pickle.dumps(probe, protocol=5)) / 4
    trees = max(1, round(target_mb * 1e6 / per_tree))
    pipeline = build_pipeline(
        "random_forest", {"n_estimators": trees}, list(frame.columns), [], random_state=0
    )
    pipeline.set_params(model__n_jobs=2)
    pipeline.fit(frame, target)
    predicted = pipeline.predict(frame.iloc[:2000])
    return {
        "model": pipeline,
        "metrics": {"MAE": 0.8, "MSE": 1.1, "RMSE": 1.05, "MAPE": 0.4, "R2": 0.9},
        "params": {"n_estimators": trees},
        "predictions": {
            "y_pred": [float(v) for v in predicted],
            "y_test": [float(v) for v in target.iloc[:2000]],
            "feature_importance": None,
        },
        "model_type": "random_forest",
        "task": "regression",
    }


def build_store(folder: Path, count: int, data: dict[str, Any]) -> None:
    """Save ``count`` copies of ``data`` through the store (durable writes, as in real use)."""
    store = ModelPersistence(folder)
    for index in range(count):
        store.save(f"model {index:04d}", data)


# --- 1. time until the list is available --------------------------------------------------

SERVICE_SCRIPT = """
import asyncio, time  # textual imports asyncio before any app code runs: not on the clock
start = time.perf_counter()
import json, sys
from tuidash.services.persistence import PersistenceService
service = PersistenceService({folder!r})
models = asyncio.run(service.list_models(predictions={predictions!r}))
elapsed = time.perf_counter() - start
service.close()
print(json.dumps({{"seconds": elapsed, "count": len(models),
                   "sklearn": "sklearn" in sys.modules}}))
"""

ORIGINAL_SCRIPT = """
import asyncio, time
start = time.perf_counter()
import json, os, pickle, sys
folder = {folder!r}
loaded = {{}}
for file_name in sorted(os.listdir(os.path.join(folder, "metadata"))):
    if not file_name.endswith(".json"):
        continue
    name = file_name[:-5]
    with open(os.path.join(folder, "metadata", file_name)) as handle:
        meta = json.load(handle)
    with open(os.path.join(folder, "models", name + ".pkl"), "rb") as handle:
        model = pickle.load(handle)
    loaded[name] = {{"model": model, "metrics": meta["metrics"], "saved_at": meta["saved_at"]}}
models = [{{"name": n, "metrics": m["metrics"]}} for n, m in loaded.items()]
elapsed = time.perf_counter() - start
print(json.dumps({{"seconds": elapsed, "count": len(models),
                   "sklearn": "sklearn" in sys.modules}}))
"""


def run_child(script: str) -> dict[str, Any]:
    """Run a measuring script in a fresh interpreter; its JSON report."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def best_child(script: str, repeat: int, before: Any = None) -> dict[str, Any]:
    """The fastest of ``repeat`` fresh-interpreter runs."""
    best: dict[str, Any] | None = None
    for _ in range(repeat):
        if before is not None:
            before()
        report = run_child(script)
        if best is None or report["seconds"] < best["seconds"]:
            best = report
    assert best is not None
    return best


def original_startup(folder: Path) -> list[dict[str, Any]]:
    """The original app's way in this process: unpickle every model, then list."""
    loaded = {}
    for file_name in sorted(os.listdir(folder / "metadata")):
        if not file_name.endswith(".json"):
            continue
        name = file_name[:-5]
        with open(folder / "metadata" / file_name) as handle:
            meta = json.load(handle)
        with open(folder / "models" / f"{name}.pkl", "rb") as handle:
            loaded[name] = {"model": pickle.load(handle), "metrics": meta["metrics"]}
    return [{"name": name, "metrics": entry["metrics"]} for name, entry in loaded.items()]


def service_listing(folder: Path, predictions: bool) -> list[dict[str, Any]]:
    """The service's way in this process: a fresh service, list_models on a fresh loop."""
    service = PersistenceService(folder)
    try:
        return asyncio.run(service.list_models(predictions=predictions))
    finally:
        service.close()


def best_in_process(repeat: int, func: Any, expected: int) -> float:
    """Fastest of ``repeat`` in-process runs, checking the list is complete."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        count = len(func())
        best = min(best, time.perf_counter() - started)
        assert count == expected, (count, expected)
    return best


def listing_rows(root: Path, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    """Measure the ways to get a list, for each store size."""
    data = small_model_data()
    rows = []
    for count in sizes:
        folder = root / f"store-{count}"
        started = time.perf_counter()
        existing = len(list((folder / "metadata").glob("*.json"))) if folder.exists() else 0
        if existing != count:
            shutil.rmtree(folder, ignore_errors=True)
            build_store(folder, count, data)
        built = time.perf_counter() - started
        index = folder / INDEX_NAME

        def drop_index(index: Path = index) -> None:
            index.unlink(missing_ok=True)

        fast = SERVICE_SCRIPT.format(folder=str(folder), predictions=False)
        full = SERVICE_SCRIPT.format(folder=str(folder), predictions=True)
        original = ORIGINAL_SCRIPT.format(folder=str(folder))
        run_child(original)  # warm the page cache for everyone
        row = {
            "count": count,
            "built": built,
            "original": best_child(original, repeat),
            "cold": best_child(fast, repeat, before=drop_index),
            "warm": best_child(fast, repeat),
            "full": best_child(full, repeat),
        }
        for key in ("original", "cold", "warm", "full"):
            assert row[key]["count"] == count, (key, row[key]["count"], count)
        # Warm process (sklearn already imported, as after a first training): pure work.
        row["in_original"] = best_in_process(repeat, lambda f=folder: original_startup(f), count)
        row["in_warm"] = best_in_process(repeat, lambda f=folder: service_listing(f, False), count)
        row["in_full"] = best_in_process(repeat, lambda f=folder: service_listing(f, True), count)
        rows.append(row)
        print(f"  store of {count} measured (built in {built:.1f} s)", file=sys.stderr)
    return rows


def print_listing(rows: list[dict[str, Any]]) -> None:
    """The markdown tables of part 1."""
    print(
        "### Time until the model list is available: fresh interpreter, imports included "
        "(asyncio excepted: textual loads it first), best of runs\n"
    )
    print(
        "| models | original app: unpickle all | service, cached listing | x faster "
        "| service, no cache yet | x faster | service, with predictions | x faster "
        "| sklearn imported by service |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for row in rows:
        base = row["original"]["seconds"]
        cells = [str(row["count"]), f"{base * 1000:.0f} ms"]
        for key in ("warm", "cold", "full"):
            seconds = row[key]["seconds"]
            cells += [f"{seconds * 1000:.0f} ms", f"{base / seconds:.1f}x"]
        imported = any(row[k]["sklearn"] for k in ("warm", "cold", "full"))
        cells.append("yes" if imported else "no")
        print("| " + " | ".join(cells) + " |")
    print("\n### The same work in a warm process (modules already imported, page cache warm)\n")
    print(
        "| models | original app: unpickle all | service, cached listing | x faster "
        "| service, with predictions | x faster |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        base = row["in_original"]
        cells = [str(row["count"]), f"{base * 1000:.1f} ms"]
        for key in ("in_warm", "in_full"):
            cells += [f"{row[key] * 1000:.1f} ms", f"{base / row[key]:.1f}x"]
        print("| " + " | ".join(cells) + " |")
    print()


# --- 2. event-loop stall while load_all runs ----------------------------------------------


class GcPauses:
    """Records how long each garbage collection holds the interpreter (any thread)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def longest(self) -> tuple[int, float]:
        """(generation, seconds) of the longest pause, or (-1, 0)."""
        return max(self.pauses, key=lambda item: item[1], default=(-1, 0.0))


async def _measure_stall(service: PersistenceService) -> dict[str, Any]:
    """Run load_all with a 5 ms ticker beside it; lateness stats, GC pauses, the message."""
    loop = asyncio.get_running_loop()
    lateness: list[float] = []
    running = True
    pauses = GcPauses()

    async def ticker() -> None:
        while running:
            before = loop.time()
            await asyncio.sleep(TICK)
            lateness.append(loop.time() - before - TICK)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    lateness.clear()
    gc.callbacks.append(pauses)
    started = time.perf_counter()
    finished: LoadFinished | None = None
    async for event in service.load_all():
        if isinstance(event, LoadFinished):
            finished = event
    elapsed = time.perf_counter() - started
    gc.callbacks.remove(pauses)
    running = False
    await task
    assert finished is not None
    generation, pause = pauses.longest()
    return {
        "seconds": elapsed,
        "max": max(lateness, default=0.0),
        "p99": sorted(lateness)[int(len(lateness) * 0.99)] if lateness else 0.0,
        "ticks": len(lateness),
        "gc": pause,
        "gc_generation": generation,
        "message": finished.message,
    }


async def _idle_stall(seconds: float) -> float:
    """The ticker's longest lateness with nothing else running (the machine's noise)."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    end = loop.time() + seconds
    while loop.time() < end:
        before = loop.time()
        await asyncio.sleep(TICK)
        worst = max(worst, loop.time() - before - TICK)
    return worst


def best_of_call(repeat: int, func: Any) -> float:
    """Fastest of ``repeat`` calls of ``func``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best


def bare_load_seconds(path: Path, repeat: int) -> float:
    """Fastest plain pickle.load of one file (for scale)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        with open(path, "rb") as handle:
            pickle.load(handle)
        best = min(best, time.perf_counter() - started)
    return best


def stall_rows(root: Path, big_mb: float, repeat: int) -> dict[str, Any]:
    """Measure the loop's stalls while the big-model store loads, ``repeat`` times."""
    folder = root / "store-big"
    # The app's process has textual (and, once a model is trained, sklearn and pandas)
    # imported: the objects a full garbage collection walks.
    import textual.app  # noqa: F401

    shutil.rmtree(folder, ignore_errors=True)
    big = big_model_data(big_mb)
    store = ModelPersistence(folder)
    store.save("big forest", big)
    del big
    small = small_model_data(1)
    for index in range(5):
        store.save(f"small {index}", small)
    pkl = folder / "models" / "big forest.pkl"
    size_mb = pkl.stat().st_size / 1e6
    bare = bare_load_seconds(pkl, repeat)
    runs = []
    idle = asyncio.run(_idle_stall(1.0))
    objects = len(gc.get_objects())
    # What one full collection costs here, whichever thread triggers it, and after a freeze.
    full_gc = best_of_call(repeat, gc.collect)
    gc.freeze()
    frozen_gc = best_of_call(repeat, gc.collect)
    gc.unfreeze()
    stores = [(folder, f"{size_mb:.0f} MB forest + 5 small")]
    many = sorted(root.glob("store-[0-9]*"), key=lambda p: int(p.name.split("-")[1]))
    if many:  # the largest store of part 1, if it was built: many small events
        count = len(list((many[-1] / "metadata").glob("*.json")))
        stores.append((many[-1], f"{count} small models"))
    for store_folder, label in stores:
        for frozen in (False, True):
            for _ in range(repeat):
                gc.unfreeze()  # every run starts from the same collector state
                service = PersistenceService(store_folder, freeze_gc=frozen)
                run = asyncio.run(_measure_stall(service))
                run["frozen"] = frozen
                run["store"] = label
                runs.append(run)
                service.close()
                del service
    gc.unfreeze()
    return {
        "size_mb": size_mb,
        "bare": bare,
        "runs": runs,
        "idle": idle,
        "objects": objects,
        "full_gc": full_gc,
        "frozen_gc": frozen_gc,
    }


def print_stall(result: dict[str, Any]) -> None:
    """The markdown table of part 2."""
    runs = result["runs"]
    worst = max((run["max"] for run in runs if run["frozen"]), default=0.0)
    worst_off = max((run["max"] for run in runs if not run["frozen"]), default=0.0)
    print(
        "### Event-loop stall while load_all runs (textual/sklearn/pandas imported, "
        f"{TICK * 1000:.0f} ms ticker, switch interval "
        f"{sys.getswitchinterval() * 1000:.0f} ms)\n"
    )
    print(
        "| run | store | freeze_gc | load_all time | longest stall | p99 lateness "
        "| longest GC pause | target < 100 ms |"
    )
    print("|---:|:---|:---|---:|---:|---:|---:|:---:|")
    for number, run in enumerate(runs, 1):
        verdict = "met" if run["max"] < STALL_TARGET else "MISSED"
        gc_cell = (
            f"{run['gc'] * 1000:.1f} ms (gen {run['gc_generation']})"
            if run["gc_generation"] >= 0
            else "none"
        )
        print(
            f"| {number} | {run['store']} | {'True (default)' if run['frozen'] else 'False'} "
            f"| {run['seconds'] * 1000:.0f} ms | {run['max'] * 1000:.1f} ms "
            f"| {run['p99'] * 1000:.1f} ms | {gc_cell} | {verdict} |"
        )
    print(
        f"\nBare `pickle.load` of the big file: {result['bare'] * 1000:.0f} ms. Idle ticker "
        f"noise (1 s, nothing loading): {result['idle'] * 1000:.1f} ms. Objects tracked by "
        f"the GC before loading: {result['objects']:,}; one full collection of them holds "
        f"the GIL {result['full_gc'] * 1000:.0f} ms ({result['frozen_gc'] * 1000:.1f} ms "
        f"after gc.freeze()). Worst stall with the default freeze_gc=True: "
        f"{worst * 1000:.1f} ms; with freeze_gc=False: {worst_off * 1000:.1f} ms. "
        f"Last message: {runs[-1]['message']}\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Build the stores in a temp folder, measure, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000", help="store sizes, comma separated")
    parser.add_argument("--big-mb", type=float, default=100.0, help="size of the big model")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument("--skip-listing", action="store_true", help="only the stall part")
    parser.add_argument("--skip-stall", action="store_true", help="only the listing part")
    parser.add_argument("--keep", metavar="DIR", help="build (and reuse) the stores here")
    args = parser.parse_args(argv)
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    if args.keep:
        root = Path(args.keep)
        root.mkdir(parents=True, exist_ok=True)
    else:
        root = Path(tempfile.mkdtemp(prefix="tuidash-bench-autoload-"))
    try:
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, repeat {args.repeat}\n")
        if not args.skip_listing:
            print_listing(listing_rows(root, sizes, args.repeat))
        if not args.skip_stall:
            print_stall(stall_rows(root, args.big_mb, args.repeat))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
