"""Display text: one rule for every number, size, metric, duration and export file name that
the dashboard and the CLI show, so both say the same thing the same way.

- numbers: 32,290.1 / 1,042,000,000 / 53.85 / 0.4526 (four significant digits below 1,000,
  thousands separators above, never an exponent except for tiny values: 1.20e-05);
- sizes: 512 B, 12.3 KB, 4.0 MB, 1.2 GB (1024 steps);
- metrics: the number, or ``undefined (reason)`` when it could not be computed;
- durations: 0.52 s, 2 min 05 s, 1 h 02 min;
- export files: ``stem.csv``, then ``stem_2.csv``, ``stem_3.csv``, ... (never replaced);
- lists of column names in a sentence: 'a', 'b' and 3 more.

Plain Python, no imports beyond the standard library.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

MISSING = "-"
"""Shown where there is no value at all."""
UNDEFINED = "undefined"
"""Shown for a value that exists but is not a finite number (a metric that cannot be computed)."""


def _finite(value: Any) -> float | None:
    """The value as a float when it is a real, finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
            return _finite(value.item())
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def number_text(value: Any) -> str:
    """A number like 32,290.1, 1,042,000,000, 53.85 or 0.4526 (no 3.229e+04).

    None reads ``-``; NaN and infinities read ``undefined``; anything else (text) as it is.
    """
    if value is None:
        return MISSING
    number = _finite(value)
    if number is None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return UNDEFINED
        return str(value)
    size = abs(number)
    if size >= 1e6 or (size >= 1000 and number.is_integer()):
        return f"{number:,.0f}"
    if size >= 1000:
        return f"{number:,.1f}"
    if size == 0 or size >= 1e-4:
        # Four significant digits below 1,000 need no exponent from 1e-4 up; 999.95 rounds
        # up to 1000 and then reads better with the separator.
        text = f"{number:.4g}"
        return text if abs(float(text)) < 1000 else f"{number:,.1f}"
    return f"{number:.2e}"  # tiny values: an exponent beats a row of zeros


def cell_text(value: Any) -> str:
    """A data cell: blank when missing (None, NaN), a decimal by ``number_text``, whole
    numbers and text as they are (a year stays 2024, an id stays 10023)."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        value = value.item()
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float):
        return number_text(value)
    return str(value)


def size_text(size: Any) -> str:
    """Bytes as 512 B, 12.3 KB, 4.0 MB or 1.2 GB; ``-`` when unknown."""
    count = _finite(size)
    if count is None:
        return MISSING
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"  # pragma: no cover - the loop returns at GB


def progress_size_text(done: int, total: int) -> str:
    """Bytes read of a file as "12/80 MB"; one decimal under 10 MB (never "0/0 MB")."""
    mib = 1024 * 1024
    digits = 1 if total < 10 * mib else 0
    return f"{done / mib:.{digits}f}/{total / mib:.{digits}f} MB"


def metric_text(value: Any, reason: str | None = None) -> str:
    """A metric's value, or ``undefined (reason)`` when it could not be computed."""
    if _finite(value) is not None:
        return number_text(value)
    return f"{UNDEFINED} ({reason})" if reason else UNDEFINED


def metric_of(
    name: str, metrics: Mapping[str, Any] | None, reasons: Mapping[str, Any] | None
) -> str:
    """``metric_text`` of one metric of a model's ``metrics`` and ``metric_reasons``."""
    reason = (reasons or {}).get(name)
    return metric_text((metrics or {}).get(name), str(reason) if reason else None)


def quoted_names(names: Sequence[str], limit: int = 12) -> str:
    """Names quoted for a sentence: 'a', 'b', 'c' (past ``limit``: "and N more")."""
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def duration_text(seconds: Any) -> str:
    """A duration like 0.52 s, 12.3 s, 2 min 05 s or 1 h 02 min; ``-`` when unknown."""
    value = _finite(seconds)
    if value is None:
        return MISSING
    if value < 10:
        return f"{value:.2f} s"
    if value < 60:
        return f"{value:.1f} s"
    whole = round(value)
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes} min {secs:02d} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h {rest // 60:02d} min"


def numbered_file_names(stem: str, suffix: str) -> Iterator[str]:
    """``stem.csv``, ``stem_2.csv``, ``stem_3.csv``, ...: the candidates of a new export."""
    yield f"{stem}{suffix}"
    number = 2
    while True:
        yield f"{stem}_{number}{suffix}"
        number += 1


def free_file_name(folder: str | Path, stem: str, suffix: str) -> Path:
    """The first of ``numbered_file_names`` that does not exist in ``folder``.

    To never replace a file that appears meanwhile, create it exclusively
    (``reserve_free_file``) instead of writing to this path later.
    """
    base = Path(folder)
    for name in numbered_file_names(stem, suffix):
        if not (base / name).exists():
            return base / name
    raise AssertionError("unreachable")  # pragma: no cover - the names never run out


def reserve_free_file(folder: str | Path, stem: str, suffix: str, limit: int = 10_000) -> Path:
    """Create the first free ``numbered_file_names`` file (empty, exclusively) and return it.

    A file that appears between looking and creating is never replaced: creating with
    O_EXCL fails and the next name is tried. FileExistsError when ``limit`` names are taken.
    """
    base = Path(folder)
    for index, name in enumerate(numbered_file_names(stem, suffix)):
        if index >= limit:
            break
        try:
            handle = os.open(base / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        os.close(handle)
        return base / name
    raise FileExistsError(f"Could not find a free file name for {stem}{suffix} in {base}.")
