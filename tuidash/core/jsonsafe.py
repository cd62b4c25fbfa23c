"""Turn values into plain, strict JSON (no NaN/Infinity), shared by the CLI and training."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def plain_json(value: Any) -> Any:
    """Strict JSON values: NaN/inf -> None, numpy scalars/arrays -> Python, tuples -> lists."""
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain_json(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return plain_json(item())
        except (TypeError, ValueError):
            pass  # an array of several values: tolist() below
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return plain_json(tolist())
    return str(value)
