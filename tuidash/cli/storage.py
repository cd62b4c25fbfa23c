"""``tuidash storage``: where the store is, its size, free space and any problem entries.

JSON document: the store's report: base_dir, model_count, total_size_bytes (every version of
every model), total_size_mb, free_bytes, models [{name, size_bytes (the latest version),
versions, versions_bytes (its older versions), total_bytes (the two together)}], problems
[{name, files, reason, kind}].

The table shows each model's latest version, its older versions and their total, so that
the rows add up to the total size above them.
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
        "Each model's row: its versions, the size of the latest, of the older versions and\n"
        "their total; the total size counts every version of every model.\n\n"
        "JSON: {base_dir, model_count, total_size_bytes, total_size_mb, free_bytes,\n"
        "models: [{name, size_bytes (latest), versions, versions_bytes (older), total_bytes}],\n"
        "problems: [{name, files, reason, kind}]}",
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
    models = info.get("models") or []
    older = sum(max(0, _versions(m) - 1) for m in models)
    count = info.get("model_count", 0)
    versions = f" ({plural(count + older, 'version')})" if older else ""
    print(f"Models      {count}{versions}")
    print(f"Total size  {size_text(info.get('total_size_bytes'))}{_total_parts(models, older)}")
    if info.get("free_bytes") is not None:
        print(f"Free space  {size_text(info.get('free_bytes'))}")
    if models:
        print()
        rows = [
            (
                m.get("name"),
                _versions(m),
                size_text(m.get("size_bytes")),
                size_text(m.get("versions_bytes")) if _versions(m) > 1 else "-",
                size_text(_total(m)),
            )
            for m in models
        ]
        print(format_table(("NAME", "VERSIONS", "LATEST", "OLDER", "TOTAL"), rows, (1, 2, 3, 4)))
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


def _versions(model: dict[str, Any]) -> int:
    """How many versions a model row has (1 in a report without the count)."""
    return int(model.get("versions") or 1)


def _total(model: dict[str, Any]) -> int:
    """A model row's bytes with its older versions."""
    total = model.get("total_bytes")
    if isinstance(total, int):
        return total
    return int(model.get("size_bytes") or 0) + int(model.get("versions_bytes") or 0)


def _total_parts(models: list[dict[str, Any]], older: int) -> str:
    """Where the total comes from when older versions count in it: ``  (latest versions
    69.0 KB + 2 older versions 14.1 KB)``; nothing when every model has one version."""
    if not older:
        return ""
    latest = sum(int(m.get("size_bytes") or 0) for m in models)
    kept = sum(_total(m) for m in models) - latest
    return (
        f"  (latest versions {size_text(latest)} + {plural(older, 'older version')} "
        f"{size_text(kept)})"
    )
