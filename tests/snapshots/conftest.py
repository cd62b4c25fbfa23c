"""Snapshot fixtures: every picture sees the same library versions, whatever is installed."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _pinned_environment(fixed_environment: dict[str, str | None]) -> None:
    """The versions shown in the Models detail pane come from FIXED_ENVIRONMENT."""
