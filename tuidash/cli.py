"""Command line: argument parsing, subcommands and ``make_app()``, the one app factory."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuidash import __version__

if TYPE_CHECKING:
    from tuidash.ui.app import TuidashApp

DEFAULT_STORE = "saved_models"
"""The store folder used when neither ``--store`` nor ``TUIDASH_STORE`` is given."""


def default_store_dir() -> Path:
    """The store folder: ``TUIDASH_STORE`` if set, else ``./saved_models``."""
    return Path(os.environ.get("TUIDASH_STORE") or DEFAULT_STORE)


def make_app(
    data_path: str | Path | None = None,
    store_dir: str | Path | None = None,
    *,
    autoload: bool = True,
    **options: Any,
) -> TuidashApp:
    """Build the Textual app; the ``tuidash`` command and the tests both use this."""
    from tuidash.ui.app import TuidashApp

    store = Path(store_dir) if store_dir is not None else default_store_dir()
    return TuidashApp(data_path=data_path, store_dir=store, autoload=autoload, **options)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tuidash`` command."""
    parser = argparse.ArgumentParser(
        prog="tuidash",
        description="A terminal ML dashboard: open a data file, train, compare and keep models.",
    )
    parser.add_argument("--version", action="version", version=f"tuidash {__version__}")
    parser.add_argument("data", nargs="?", help="a data file to open (CSV, TSV, Excel, Parquet, JSON)")
    parser.add_argument(
        "--store",
        metavar="DIR",
        help="the model store folder (default: $TUIDASH_STORE, then ./saved_models)",
    )
    parser.add_argument(
        "--no-autoload",
        action="store_true",
        help="list saved models at start but do not load them into memory",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tuidash`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.data is not None and not Path(args.data).exists():
        print(f"tuidash: {args.data}: no such file.", file=sys.stderr)
        return 1
    app = make_app(args.data, args.store, autoload=not args.no_autoload)
    app.run()
    return int(app.return_code or 0)
