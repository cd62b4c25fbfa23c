"""Benchmark profiling a large table: time and the longest stall of another thread.

    python benchmarks/bench_profile.py [--rows 2380000] [--csv]

Runs ``profile_columns`` + ``data_problems`` in a worker thread on a frame of numbers and
text (2.38 M rows ~ a 200 MB CSV) while a ticker thread sleeps 5 ms in a loop; the longest
gap past 5 ms is how long a UI thread would freeze (the worker holding the GIL). The
baseline is the old approach (``data_problems`` profiling again, ``frame.duplicated()``,
converting whole text columns to numbers), kept in this script only and measured in the
same run. ``--csv`` writes the frame to a temporary CSV and reads it with ``read_table``
first, so the dtypes are exactly what the app gets; ``--object`` turns text columns into
object dtype, as JSON and Excel files and older pandas give them. Prints a markdown
table. Never part of the test run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuidash.core import data as core_data


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """Numbers, short categories, a 997-value text column and a mostly-numbers text column."""
    rng = np.random.default_rng(seed)
    index = np.arange(rows)
    codes = rng.integers(0, 1000, rows).astype(str).astype(object)
    codes[rng.integers(0, rows, rows // 50)] = "unknown"
    return pd.DataFrame(
        {
            "id": index,
            "x": rng.normal(size=rows),
            "y": rng.random(rows) * 100,
            "kind": pd.Series(np.array(["alpha", "beta", "gamma", "delta"])[index % 4]),
            "note": pd.Series(np.char.add("note ", (index % 997).astype(str))),
            "code": pd.Series(codes, dtype="str"),
            "target": rng.normal(size=rows) * 10,
        }
    )


# ------------------------------------------------------------------ the old approach


def _old_numeric_share(series: pd.Series) -> float:
    present = series.dropna()
    if present.empty:
        return 0.0
    numbers = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
    return float(numbers.notna().mean())


def _old_duplicate_rows(frame: pd.DataFrame) -> int:
    try:
        return int(frame.duplicated().sum())
    except TypeError:
        return 0


def old_data_problems(frame: pd.DataFrame) -> list[str]:
    """data_problems as it was before profile= and the bounded checks (logic unchanged)."""
    problems: list[str] = []
    rows = len(frame)
    if rows == 0:
        return ["The data has no rows."]
    if rows < 20:
        problems.append(f"Only {rows} rows: metrics on so little data will be unreliable.")
    for profile in core_data.profile_columns(frame):
        name = profile.name
        if profile.missing == rows:
            problems.append(f"Column {name!r} is empty (every value is missing).")
            continue
        if profile.unique == 1:
            problems.append(
                f"Column {name!r} has the same value in every row; it cannot help a model."
            )
        if profile.missing and profile.missing >= rows / 2:
            share = round(100 * profile.missing / rows)
            problems.append(f"Column {name!r} is {share}% missing.")
        if profile.kind == "text":
            present = rows - profile.missing
            numbers = _old_numeric_share(frame[name])
            if 0.9 <= numbers < 1.0:
                problems.append(
                    f"Column {name!r} is mostly numbers but has some text, so it is treated as "
                    "text; fix the odd values to use it as a number."
                )
            elif profile.unique == present and present > 20:
                problems.append(
                    f"Column {name!r} has a different value in every row (an identifier?); "
                    "it will not help a model."
                )
            elif profile.unique > 100:
                problems.append(
                    f"Column {name!r} has {profile.unique} different text values; one-hot "
                    "encoding it makes a very wide table."
                )
        if profile.kind == "datetime":
            problems.append(f"Column {name!r} holds dates, which training does not use yet.")
    duplicates = _old_duplicate_rows(frame)
    if duplicates:
        problems.append(f"{duplicates} rows are exact copies of an earlier row.")
    return problems


def old_approach(frame: pd.DataFrame) -> list[str]:
    core_data.profile_columns(frame)
    return old_data_problems(frame)


def new_approach(frame: pd.DataFrame) -> list[str]:
    profile = core_data.profile_columns(frame)
    return core_data.data_problems(frame, profile=profile)


# ------------------------------------------------------------------ measuring


def measure(work: Callable[[], Any], tick: float = 0.005) -> tuple[float, float, Any]:
    """(seconds, longest stall past ``tick`` of a ticker thread, result) of ``work`` in a thread."""
    stop = threading.Event()
    longest = [0.0]

    def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(tick)
            now = time.perf_counter()
            longest[0] = max(longest[0], now - last - tick)
            last = now

    result: list[Any] = []
    elapsed = [0.0]

    def worker() -> None:
        start = time.perf_counter()
        result.append(work())
        elapsed[0] = time.perf_counter() - start

    ticking = threading.Thread(target=ticker)
    ticking.start()
    time.sleep(0.05)
    working = threading.Thread(target=worker)
    working.start()
    working.join()
    stop.set()
    ticking.join()
    return elapsed[0], longest[0], result[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_380_000)
    parser.add_argument("--csv", action="store_true", help="round-trip through read_table")
    parser.add_argument(
        "--object", action="store_true", help="text columns as object dtype (JSON, Excel)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; best time shown")
    options = parser.parse_args()
    frame = make_frame(options.rows)
    if options.csv:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "big.csv"
            frame.to_csv(path, index=False)
            size = path.stat().st_size
            frame = core_data.read_table(path, max_bytes=None).frame
        print(f"CSV of {size / 1e6:.0f} MB read with read_table.\n")
    if options.object:
        for column in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[column]):
                frame[column] = frame[column].astype(object)
    dtypes = ", ".join(f"{c} {t}" for c, t in frame.dtypes.astype(str).items())
    print(f"{len(frame):,} rows; {dtypes}\n")
    rows: dict[str, tuple[float, float, list[str]]] = {}
    for label, approach in (("before", old_approach), ("after", new_approach)):
        runs = [measure(lambda a=approach: a(frame)) for _ in range(options.repeat)]
        rows[label] = (min(r[0] for r in runs), max(r[1] for r in runs), runs[0][2])
    print("| approach | total (s) | longest stall (ms) |")
    print("|---|---:|---:|")
    for label, (seconds, stall, _) in rows.items():
        print(f"| {label} | {seconds:.2f} | {stall * 1000:.0f} |")
    same = rows["before"][2] == rows["after"][2]
    print(f"\nSame problems before and after: {same}")
    for problem in rows["after"][2]:
        print(f"- {problem}")
    if not same:
        print("Before:")
        for problem in rows["before"][2]:
            print(f"- {problem}")


if __name__ == "__main__":
    main()
