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


def mapping_at(document: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``document[key]`` when it is a mapping, else an empty dict (metadata is never trusted)."""
    value = document.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def list_at(document: Mapping[str, Any], key: str) -> list[Any]:
    """``document[key]`` when it is a list, else an empty list."""
    value = document.get(key)
    return value if isinstance(value, list) else []
