"""Event-loop stalls of the app while a ~100 MB RandomForest trains, is saved and loads again.

Drives the real app headless (``run_test``) on a temporary store, exactly as a user would:
Data -> open a generated CSV, Train -> Random Forest, Ctrl+R. A probe task in the app's own
event loop sleeps 5 ms at a time and records how late it wakes up: that lateness is what a
user feels as a frozen screen. Phases are cut by the app's own messages. A second app is then
opened on the same store, to measure auto-load at start.

    python benchmarks/bench_ui.py [--rows 20000] [--trees 75] [--repeat 3]

Prints a table: phase, its (median) time, the longest stall in it (target < 100 ms while training,
saving and loading; start-up rows are shown for information: building the first screen is
Textual's own work on the event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET_MS = 100.0
"""The budget for the longest stall of the event loop."""
PROBE_SECONDS = 0.005
"""How often the probe wakes up."""


@dataclass
class Probe:
    """Records (time, lateness) of each wake-up of a task in the event loop."""

    samples: list[tuple[float, float]] = field(default_factory=list)
    running: bool = True

    async def run(self) -> None:
        """Sleep in short steps and note how late each wake-up is."""
        while self.running:
            start = time.perf_counter()
            await asyncio.sleep(PROBE_SECONDS)
            now = time.perf_counter()
            self.samples.append((now, now - start - PROBE_SECONDS))

    def longest(self, start: float, end: float) -> float:
        """The longest lateness between two instants, in ms."""
        late = [lag for at, lag in self.samples if start <= at <= end + 0.5 * PROBE_SECONDS]
        return max(late, default=0.0) * 1000


def write_data(folder: Path, rows: int) -> Path:
    """A regression CSV big enough for a ~100 MB forest (deep trees, many rows)."""
    import numpy as np

    rng = np.random.default_rng(7)
    features = rng.normal(size=(rows, 8))
    target = features @ rng.normal(size=8) + np.sin(features[:, 0] * 3) + rng.normal(size=rows)
    path = folder / "bench.csv"
    header = ",".join([f"x{i}" for i in range(8)] + ["target"])
    np.savetxt(path, np.column_stack([features, target]), delimiter=",", header=header, comments="")
    return path


async def wait_for(pilot: Any, condition: Any, guard: float = 900.0) -> None:
    """Let the app run until the condition holds (the guard only stops a hang)."""
    waited = 0.0
    while not condition():
        await pilot.pause(0.02)
        waited += 0.02
        if waited > guard:
            raise RuntimeError("the app did not get there")


async def bench(rows: int, trees: int) -> list[tuple[str, float, float]]:
    """Run the scenario; return (phase, seconds, longest stall ms) rows."""
    from textual.widgets import Input

    from tuidash.cli import make_app
    from tuidash.ui import messages as msg

    results: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = write_data(folder, rows)
        store = folder / "saved_models"
        stamps: dict[str, float] = {}

        def hook(message: Any) -> None:
            now = time.perf_counter()
            if isinstance(message, msg.DataLoaded):
                stamps.setdefault("data", now)
            elif isinstance(message, msg.TrainingFinished):
                stamps.setdefault("trained", now)
            elif isinstance(message, msg.ModelSaved):
                stamps.setdefault("saved", now)
            elif (
                isinstance(message, msg.StoreActionDone)
                and message.action == "load"
                and "saved" in stamps
            ):
                stamps.setdefault("loaded", now)
            elif isinstance(message, msg.ModelsListed):
                stamps.setdefault("listed", now)
            elif isinstance(message, msg.ModelsLoadFinished):
                stamps.setdefault("autoload", now)

        probe = Probe()
        app = make_app(data, store, autoload=True)
        started = time.perf_counter()
        async with app.run_test(size=(100, 30), message_hook=hook) as pilot:
            probe_task = asyncio.create_task(probe.run())
            await wait_for(pilot, lambda: "data" in stamps)
            results.append(("start app + read CSV (start-up)", stamps["data"] - started, 0.0))
            await pilot.press("t")
            await wait_for(pilot, lambda: app.current_mode == "train")
            await pilot.pause(0.2)
            app.screen.query_one("#param-random_forest-n_estimators", Input).value = str(trees)
            begin = time.perf_counter()
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: "loaded" in stamps)
            await pilot.pause(0.2)
            probe.running = False
            await probe_task
            entry = app.state.store.entries.get("Random Forest", {})
            size_mb = float(entry.get("size_bytes") or 0) / 1e6
            results[0] = (results[0][0], results[0][1], probe.longest(started, stamps["data"]))
            for label, start, end in (
                (f"train ({trees} trees, {rows:,} rows)", begin, stamps["trained"]),
                (f"save ({size_mb:.0f} MB)", stamps["trained"], stamps["saved"]),
                ("load again", stamps["saved"], stamps["loaded"]),
            ):
                results.append((label, end - start, probe.longest(start, end)))

        stamps.pop("autoload", None)
        stamps.pop("listed", None)
        probe = Probe()
        again = make_app(None, store, autoload=True)
        started = time.perf_counter()
        async with again.run_test(size=(100, 30), message_hook=hook) as pilot:
            probe_task = asyncio.create_task(probe.run())
            await wait_for(pilot, lambda: "autoload" in stamps)
            probe.running = False
            await probe_task
            results.append(
                (
                    "new app: start until list on screen",
                    stamps["listed"] - started,
                    probe.longest(started, stamps["listed"]),
                )
            )
            results.append(
                (
                    "new app: auto-load after the list",
                    stamps["autoload"] - stamps["listed"],
                    probe.longest(stamps["listed"], stamps["autoload"]),
                )
            )
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--trees", type=int, default=75)
    parser.add_argument("--repeat", type=int, default=1, help="runs; the worst stall is shown")
    args = parser.parse_args(argv)
    runs = [asyncio.run(bench(args.rows, args.trees)) for _ in range(max(1, args.repeat))]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.2f} (other work on the machine adds stalls)")
    width = max(len(r[0]) for r in runs[0])
    head = "longest stall" if len(runs) == 1 else f"worst of {len(runs)}"
    print(f"{'phase':<{width}}  {'time':>8}  {head:>13}  target < {TARGET_MS:.0f} ms")
    for index, (label, _, _) in enumerate(runs[0]):
        seconds = statistics.median(run[index][1] for run in runs)
        stall = max(run[index][2] for run in runs)
        verdict = "ok" if stall < TARGET_MS else "OVER"
        print(f"{label:<{width}}  {seconds:>7.2f}s  {stall:>10.1f} ms  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
