"""Helpers for the store tests: small fitted models, model_data, hand-made entries."""

from __future__ import annotations

import functools
import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

METRICS = {"MAE": 1.5, "MSE": 3.0, "RMSE": 1.7320508, "MAPE": 0.12, "R2": 0.81}


@functools.lru_cache(maxsize=1)
def frame_and_target() -> tuple[Any, Any]:
    """A small frame with numeric and categorical columns and missing values."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    rows = 120
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, rows),
            "income": rng.normal(50_000, 8_000, rows),
            "city": rng.choice(["Lyon", "Oslo", "Lima"], rows),
            "plan": rng.choice(["basic", "pro"], rows),
        }
    )
    frame.loc[::9, "age"] = np.nan
    frame.loc[::13, "city"] = None
    target = frame["income"] / 1000 + frame["age"].fillna(40) * 0.5 + rng.normal(0, 1, rows)
    return frame, target


@functools.lru_cache(maxsize=16)
def fitted(kind_id: str = "ridge", **params: Any) -> Any:
    """A fitted build_pipeline() of ``kind_id`` on frame_and_target() (cached)."""
    from tuidash.core.training import build_pipeline

    frame, target = frame_and_target()
    pipe = build_pipeline(kind_id, params, ["age", "income"], ["city", "plan"])
    return pipe.fit(frame, target)


def model_data(model: Any = None, **extra: Any) -> dict[str, Any]:
    """model_data in the original app's shape plus tuidash's optional keys."""
    model = fitted() if model is None else model
    data: dict[str, Any] = {
        "model": model,
        "metrics": dict(METRICS),
        "params": {"alpha": 1.0},
        "predictions": {
            "y_pred": [1.0, 2.0, 3.0],
            "y_test": [1.1, 1.9, 3.2],
            "feature_importance": {"age": 0.4, "income": 0.6},
        },
        "model_type": "ridge",
        "task": "regression",
    }
    data.update(extra)
    return data


def original_entry(
    store: Path, name: str, obj: Any = None, *, pkl_bytes: bytes | None = None
) -> None:
    """Write an entry the way the original Streamlit app did (pickle.dump + indent=4)."""
    (store / "models").mkdir(parents=True, exist_ok=True)
    (store / "metadata").mkdir(parents=True, exist_ok=True)
    if pkl_bytes is None:
        with open(store / "models" / f"{name}.pkl", "wb") as handle:
            pickle.dump(fitted() if obj is None else obj, handle)
    else:
        (store / "models" / f"{name}.pkl").write_bytes(pkl_bytes)
    doc = {
        "model_name": name,
        "metrics": dict(METRICS),
        "params": {"n_estimators": 100},
        "predictions": {"y_pred": [1.0, 2.0], "y_test": [1.0, 2.5], "feature_importance": None},
        "saved_at": "2024-03-01 12:00:00",
    }
    (store / "metadata" / f"{name}.json").write_text(json.dumps(doc, indent=4))


def tuidash_entry(store: Path, name: str, pkl_bytes: bytes) -> None:
    """Write an entry with a tuidash-style JSON whose checksum matches ``pkl_bytes``."""
    (store / "models").mkdir(parents=True, exist_ok=True)
    (store / "metadata").mkdir(parents=True, exist_ok=True)
    (store / "models" / f"{name}.pkl").write_bytes(pkl_bytes)
    doc = {
        "model_name": name,
        "metrics": dict(METRICS),
        "params": {},
        "predictions": {"y_pred": [], "y_test": [], "feature_importance": None},
        "saved_at": "2026-01-01 00:00:00",
        "schema_version": 1,
        "model_file": {
            "name": f"{name}.pkl",
            "sha256": hashlib.sha256(pkl_bytes).hexdigest(),
            "bytes": len(pkl_bytes),
        },
    }
    (store / "metadata" / f"{name}.json").write_text(json.dumps(doc))


def strict_json(path: Path) -> Any:
    """Parse a file as strict JSON: NaN/Infinity raise."""

    def refuse(value: str) -> Any:
        raise ValueError(f"non-strict JSON constant {value}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def files_under(root: Path) -> dict[str, bytes]:
    """Every regular file below ``root`` with its contents (links are not followed)."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


on_disk_and_s3 = pytest.mark.parametrize("store", ["local", "s3"], indirect=True)
"""Run a store test on a folder and on moto's S3 server (the ``store`` fixture's param)."""


def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """The store of a ``store`` fixture: a folder, or with the param "s3" (see
    ``on_disk_and_s3``) a prefix in a new bucket of moto's server."""
    if getattr(request, "param", "local") == "s3":
        return str(request.getfixturevalue("s3_url"))
    return tmp_path / "saved_models"
