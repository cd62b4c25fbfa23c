"""How much memory there is for loaded models: the budget ``load_all`` stays within.

The budget is a share (``DEFAULT_MEMORY_FRACTION``) of the memory available at start-up:
MemAvailable, capped by a cgroup limit in a container, else sysconf, else a fixed 2 GiB.
A model is expected to take ``DEFAULT_SIZE_FACTOR`` times its pickle's bytes in memory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_MEMORY_FRACTION = 0.5
"""Share of the memory available at start-up that ``load_all`` may fill with models."""

DEFAULT_SIZE_FACTOR = 2.0
"""Estimated bytes in memory per byte of pickle (numpy arrays ~1x, plus objects and copies)."""

FALLBACK_MEMORY_BUDGET = 2 * 1024**3
"""Budget used when the available memory cannot be read (not Linux, no sysconf)."""


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom() -> int | None:
    # In a container MemAvailable is the host's; the cgroup limit is what kills us.
    try:
        limit_text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit_text == "max":
            return None
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        return max(0, int(limit_text) - used)
    except (OSError, ValueError):
        return None


def available_memory_bytes() -> int | None:
    """Memory available now: MemAvailable (capped by a cgroup limit), else sysconf, else None."""
    available = _meminfo_available()
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            available = None
    headroom = _cgroup_headroom()
    if headroom is not None:
        available = headroom if available is None else min(available, headroom)
    return available


def memory_budget(fraction: float) -> int:
    """``fraction`` of the memory available now (``FALLBACK_MEMORY_BUDGET`` if unknown)."""
    available = available_memory_bytes()
    return int(available * fraction) if available is not None else FALLBACK_MEMORY_BUDGET


def estimate_bytes(entry: Mapping[str, Any], size_factor: float) -> int:
    """Bytes a listed model is expected to take in memory (0 when its size is unknown)."""
    size = entry.get("pkl_bytes") or entry.get("size_bytes") or 0
    try:
        return int(float(size) * size_factor)
    except (TypeError, ValueError):
        return 0
