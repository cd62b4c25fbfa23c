"""core/ and services/ import without the UI stack (DESIGN.md layers), checked in a clean
subprocess by looking at sys.modules."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

UI_MODULES = ("textual", "textual_plotext", "rich")

_PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    import tuidash.core, tuidash.services
    imported = []
    for package in (tuidash.core, tuidash.services):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
            imported.append(info.name)
    ui = sorted(
        name for name in sys.modules
        if name.split(".")[0] in ("textual", "textual_plotext", "rich")
    )
    print(json.dumps({"imported": imported, "ui": ui}))
    """
)


def test_core_and_services_import_without_textual_or_rich():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=300
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # The modules the layers promise are really there and were imported.
    for name in (
        "tuidash.core.store",
        "tuidash.core.unpickle",
        "tuidash.core.catalog",
        "tuidash.core.training",
        "tuidash.core.metrics",
        "tuidash.core.data",
        "tuidash.services.persistence",
    ):
        assert name in report["imported"], name
    assert report["ui"] == [], f"core/services pulled in {report['ui']}"


def test_importing_the_store_is_light():
    code = textwrap.dedent(
        """
        import sys
        import tuidash.core.store, tuidash.core.unpickle
        print(",".join(m for m in ("sklearn", "pandas", "numpy", "textual") if m in sys.modules))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
