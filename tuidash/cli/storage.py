"""``tuidash storage``: where the store is, its size, free space and any problem entries.

JSON document: the store's report: base_dir, model_count, total_size_bytes, total_size_mb,
free_bytes, models [{name, size_bytes}], problems [{name, files, reason, kind}].
"""

from __future__ import annotations

import argparse
from typing import Any

from tuidash.cli.common import (
    format_table,
    open_store,
    plural,
    print_json,
    store_dir,
    subcommand,
)
from tuidash.core.boosting import BOOST_EXTRA
from tuidash.core.settings import absolute_location
from tuidash.core.text import size_text

NAME = "storage"
"""The command's name."""


def register(subparsers: Any) -> None:
    """Add ``storage`` and its options."""
    storage = subcommand(
        subparsers,
        NAME,
        "show where the store is, its size, free space and any problem entries",
        "example:\n  tuidash storage --store /data/models --json\n\n"
        "JSON: {base_dir, model_count, total_size_bytes, total_size_mb, free_bytes,\n"
        "models: [{name, size_bytes}], problems: [{name, files, reason, kind}]}",
        run,
    )
    storage.add_argument(
        "--verify",
        action="store_true",
        help="also check every pickle (checksum + restricted unpickling); slower",
    )


def run(args: argparse.Namespace) -> int:
    """Print the store's report."""
    store = open_store(args, create=False)
    if store is None:
        info: dict[str, Any] = {
            "base_dir": str(absolute_location(store_dir(args))),
            "model_count": 0,
            "total_size_bytes": 0,
            "total_size_mb": 0.0,
            "free_bytes": None,
            "models": [],
            "problems": [],
        }
    else:
        info = dict(store.get_storage_info(verify=args.verify))
    if args.json:
        print_json(info)
        return 0
    exists = store is not None
    where = "  (remote)" if info.get("remote") else ""
    print(f"Store       {info.get('base_dir')}{where if exists else '  (does not exist yet)'}")
    print(f"Models      {info.get('model_count', 0)}")
    print(f"Total size  {size_text(info.get('total_size_bytes'))}")
    if info.get("free_bytes") is not None:
        print(f"Free space  {size_text(info.get('free_bytes'))}")
    models = info.get("models") or []
    if models:
        print()
        rows = [(m.get("name"), size_text(m.get("size_bytes"))) for m in models]
        print(format_table(("NAME", "SIZE"), rows, (1,)))
    problems = info.get("problems") or []
    if problems:
        print(f"\n{plural(len(problems), 'problem entry', 'problem entries')}:")
        problem_rows = [(p.get("name"), p.get("kind"), p.get("reason")) for p in problems]
        print(format_table(("NAME", "KIND", "REASON"), problem_rows))
        # An entry of a missing boosting library is fine: installing the extra loads it.
        extra = [p for p in problems if BOOST_EXTRA in str(p.get("reason") or "")]
        if extra:
            which = "it" if len(extra) == 1 else "them"
            print(f"Load {which} after installing the extra: pip install '{BOOST_EXTRA}'")
        if len(extra) < len(problems):
            print("Remove one with: tuidash models delete NAME")
    return 0
