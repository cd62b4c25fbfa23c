"""Snapshot fixtures: every picture sees the same library versions, whatever is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1]

WRITE_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from conftest import write_saved_models
write_saved_models(Path({store!r}), [tuple(spec) for spec in json.loads({specs!r})])
"""


@pytest.fixture(scope="session")
def _model_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Stores written once per run, by spec list (see ``saved_models`` below)."""
    return {}


@pytest.fixture
def saved_models(
    _model_templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., list[str]]:
    """The root conftest's ``saved_models``, with its pickles written in a fresh interpreter.

    A pickle's size depends on which equal strings are one object (pickle shares those),
    and that depends on what ran before in the process: in a test worker the same model
    pickled 2384 or 2421 bytes. A fresh process writes the same bytes every time; each
    spec list is written once and copied into the test's store.
    """

    def write(store: Path, specs: Any = None) -> list[str]:
        from tests.conftest import write_saved_models

        chosen = list(specs) if specs is not None else list(_default_specs(write_saved_models))
        key = json.dumps(chosen, sort_keys=True)
        template = _model_templates.get(key)
        if template is None:
            template = tmp_path_factory.mktemp("models") / "store"
            script = WRITE_IN_A_FRESH_PROCESS.format(
                tests=str(TESTS), store=str(template), specs=key
            )
            subprocess.run([sys.executable, "-c", script], check=True, cwd=TESTS.parent)
            _model_templates[key] = template
        shutil.copytree(template, store, dirs_exist_ok=True)
        return [name for name, _kind, _params in chosen]

    return write


def _default_specs(function: Callable[..., Any]) -> Any:
    import inspect

    return inspect.signature(function).parameters["specs"].default


@pytest.fixture(autouse=True)
def _pinned_environment(fixed_environment: dict[str, str | None]) -> None:
    """The versions shown in the Models detail pane come from FIXED_ENVIRONMENT."""


def write_versioned_models(
    store: Path, write_saved_models: Callable[..., Any], environment: dict[str, Any]
) -> None:
    """A store where 'Forest' has four versions (an alias, a note) and 'Lasso' one; every
    JSON (earlier versions too) is pinned so the pictures never vary."""
    from tuidash.core.store import ModelPersistence

    write_saved_models(
        store,
        [
            ("Forest", "dummy", {}),
            ("Forest", "random_forest", {"n_estimators": 5, "max_depth": 2}),
            ("Forest", "random_forest", {"n_estimators": 5, "max_depth": 4}),
            ("Forest", "linear_regression", {}),
            ("Lasso", "lasso", {}),
        ],
    )
    persistence = ModelPersistence(store)
    persistence.set_alias("Forest", "champion", 3)
    persistence.set_note("Forest@v1", "baseline")
    persistence.set_tags("Forest", ["diabetes"])
    files = [*store.glob("metadata/*.json"), *store.glob("versions/*/v*.json")]
    for path in files:
        document = json.loads(path.read_text())
        number = int(document.get("version") or 1)
        document["saved_at"] = f"2026-01-1{number} 09:00:00"
        document["train_seconds"] = 0.5
        document["environment"] = dict(environment)
        document["trained_by"] = "tester@tuidash"
        path.write_text(json.dumps(document))


@pytest.fixture
def versioned_models(
    saved_models: Callable[..., Any], fixed_environment: dict[str, Any]
) -> Callable[[Path], None]:
    """``versioned_models(store)`` writes Forest v1-v4 and Lasso, pinned."""
    return lambda store: write_versioned_models(store, saved_models, fixed_environment)
