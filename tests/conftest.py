"""Shared fixtures: a temporary store, a fixed clock, and saved models written into a store."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

FIXED_NOW = datetime(2026, 1, 15, 9, 30, 0)
"""The time every test sees (snapshots must not change with the day they run)."""

FIXED_ENVIRONMENT: dict[str, str | None] = {
    "python": "3.11.7",
    "sklearn": "1.9.1",
    "numpy": "2.4.0",
    "pandas": "3.1.1",
    "tuidash": "0.1.0",
}
"""Library versions recorded in fixture models and seen as "this environment" in snapshots."""


@pytest.fixture(scope="session", autouse=True)
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test, and every tuidash process a test starts, logs into a temp folder, never
    into the user's own state folder (``TUIDASH_LOG_DIR`` wins over ``XDG_STATE_HOME``)."""
    folder = tmp_path_factory.mktemp("logs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUIDASH_LOG_DIR", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def _log_handler_off() -> Iterator[None]:
    """An in-process ``cli.main`` turns the log file on; the next test starts without it."""
    yield
    from tuidash.core import logs

    logs.reset_logging()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """An empty model store folder inside the test's tmp dir (named like the default)."""
    path = tmp_path / "saved_models"
    path.mkdir()
    return path


@pytest.fixture
def fixed_clock() -> Callable[[], datetime]:
    """A clock that always says FIXED_NOW."""
    return lambda: FIXED_NOW


def write_saved_models(
    store: Path,
    specs: Iterable[tuple[str, str, dict[str, Any]]] = (
        ("Linear", "linear_regression", {}),
        ("Forest", "random_forest", {"n_estimators": 5, "max_depth": 3}),
        ("Baseline", "dummy", {}),
    ),
    *,
    saved_at: str = "2026-01-15 09:00:00",
) -> list[str]:
    """Train small models on the sample data and save them into ``store``; return the names.

    Times and environment in the JSON are pinned afterwards so pictures of them never vary.
    """
    from tuidash.core.data import sample_dataset
    from tuidash.core.store import ModelPersistence
    from tuidash.core.training import TrainConfig, train_model

    data = sample_dataset()
    persistence = ModelPersistence(store)
    config = TrainConfig(target="target", random_state=42)
    names: list[str] = []
    for name, kind_id, params in specs:
        trained = train_model(data, kind_id, params, config)
        ok, message = persistence.save_model(name, trained.to_model_data())
        assert ok, message
        names.append(name)
    for path in (store / "metadata").glob("*.json"):
        document = json.loads(path.read_text())
        document["saved_at"] = saved_at
        document["train_seconds"] = 0.5
        # A new scikit-learn or pandas release must not change the pictures of this JSON.
        document["environment"] = dict(FIXED_ENVIRONMENT)
        document["trained_by"] = "tester@tuidash"  # user@host would change the file sizes
        # A forest predicts on threads that add the trees' outputs in any order, so the last
        # bits of its predictions and metrics (and so the JSON's size) vary between runs.
        document["metrics"] = _rounded(document["metrics"])
        document["predictions"] = _rounded(document["predictions"])
        path.write_text(json.dumps(document))
    return names


def _rounded(value: Any) -> Any:
    """``value`` with every float rounded to 9 significant digits (lists, dicts kept)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def break_model_file(store: Path, name: str) -> None:
    """Overwrite a saved model's pickle with junk (its sha256 no longer matches)."""
    pkl = store / "models" / f"{name}.pkl"
    pkl.write_bytes(b"this is not a pickle")


@pytest.fixture
def saved_models() -> Callable[..., list[str]]:
    """``saved_models(store, specs=...)`` writes small trained models into a store."""
    return write_saved_models


@pytest.fixture
def broken_model() -> Callable[[Path, str], None]:
    """``broken_model(store, name)`` damages a saved model's pickle."""
    return break_model_file


@pytest.fixture
def fixed_environment(monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """Make the store see FIXED_ENVIRONMENT as the running versions (no mismatch warnings)."""
    from tuidash.core.store import documents as store

    monkeypatch.setattr(store, "_ENVIRONMENT", dict(FIXED_ENVIRONMENT))
    monkeypatch.setattr(store, "_MISMATCH_MEMO", {})
    return dict(FIXED_ENVIRONMENT)
