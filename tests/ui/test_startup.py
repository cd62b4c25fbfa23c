"""Start-up stays light: the first frame and the model list never wait for pandas or sklearn."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = ("pandas", "sklearn", "scipy", "textual_plotext")
"""Modules the first frame must not import."""


def run_python(code: str) -> str:
    """Run code in a fresh interpreter (sys.modules untouched by other tests)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_the_app_imports_no_heavy_module() -> None:
    out = run_python(
        f"""
        import sys
        import tuidash.cli, tuidash.ui.app
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        """
    )
    assert out == "[]"


def test_first_frames_and_the_model_list_import_no_heavy_module(store_dir: Path) -> None:
    # A store with entries in it, listed from JSON; autoload off so no model is unpickled.
    (store_dir / "metadata").mkdir()
    (store_dir / "models").mkdir()
    out = run_python(
        f"""
        import asyncio, sys
        from tuidash.ui.factory import make_app
        from tuidash.ui import messages as msg

        async def main():
            seen = []
            app = make_app(None, {str(store_dir)!r}, autoload=False)
            async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
                for _ in range(2000):
                    if any(isinstance(m, msg.StorageReported) for m in seen):
                        break
                    await pilot.pause(0.01)
                for key in "dtsm":
                    await pilot.press(key)
                    await pilot.pause(0.05)
                print(sorted(m for m in {HEAVY!r} if m in sys.modules))

        asyncio.run(main())
        """
    )
    assert out.splitlines()[-1] == "[]"
