"""Configuration the core owns: where the model store is when nobody says otherwise.

The CLI (``--store``) and the dashboard both start from ``default_store_dir()``, so the
two always agree on which store a bare ``tuidash`` means.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STORE = "saved_models"
"""The store folder used when neither ``--store`` nor ``TUIDASH_STORE`` is given."""

STORE_ENV = "TUIDASH_STORE"
"""The environment variable that names the store folder."""


def default_store_dir() -> Path:
    """The store folder: ``TUIDASH_STORE`` if set, else ``./saved_models``."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)
