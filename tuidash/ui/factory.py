"""``make_app()``: the one factory of the dashboard, used by the ``tuidash`` command and tests.

Nothing is built at import time; the store folder defaults to the core's setting
(``TUIDASH_STORE``, then ``./saved_models``), so tests point it at ``tmp_path``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuidash.core.settings import default_store_dir, store_location

if TYPE_CHECKING:
    from tuidash.ui.app import TuidashApp


def make_app(
    data_path: str | Path | None = None,
    store_dir: str | Path | None = None,
    *,
    autoload: bool = True,
    **options: Any,
) -> TuidashApp:
    """Build the Textual app; the ``tuidash`` command and the tests both use this."""
    from tuidash.ui.app import TuidashApp

    store = store_location(store_dir) if store_dir is not None else default_store_dir()
    return TuidashApp(data_path=data_path, store_dir=store, autoload=autoload, **options)
