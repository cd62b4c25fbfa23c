"""``tuidash models versions|alias|unalias|rollback|history|prune|note|tag|rename``.

Every save of a name makes a new version; these commands list, label, restore and tidy
them. They are actions of the ``models`` group (``tuidash.cli.models`` registers them).

JSON documents (every key is always present):

- ``models versions``: name, versions [{version, ref, latest, saved_at, metrics,
  metric_reasons, aliases [names], size_bytes, note, tags, trained_by, replaces,
  rollback_of, problem}] (oldest first).
- ``models history``: name, events [{at, user, event, version, ...}] (oldest first; the
  other keys depend on the event: alias, previous, rollback_of, replaces, old, new ...).
- ``models prune``: store, removed [{name, version, size_bytes}], kept_for_alias
  [{name, version, aliases}], size_bytes, message, done (false when nothing was removed
  because it was only asked or refused).
- ``models alias|unalias|rollback|note|tag|rename``: name, message (+ the fields given).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping
from typing import Any

from tuidash.cli.common import (
    CommandError,
    confirm,
    find_entry,
    find_ref,
    format_table,
    open_store,
    plural,
    print_json,
    shell_word,
    store_dir,
    subcommand,
    whole,
)
from tuidash.core.text import number_text, size_text

_log = logging.getLogger(__name__)


def register_actions(actions: Any) -> None:
    """Add the version actions to the ``models`` group's sub-parsers."""
    subcommand(
        actions,
        "versions",
        "list every version of a saved model",
        "example:\n  tuidash models versions 'Random Forest' --json\n\n"
        "The latest version is marked *; NAME@vN or NAME@ALIAS names one version in the\n"
        "other commands.\n"
        "JSON: {name, versions: [{version, ref, latest, saved_at, metrics, metric_reasons,\n"
        "aliases, size_bytes, note, tags, trained_by, replaces, rollback_of, problem}]}",
        _cmd_versions,
        model_name=True,
    )
    alias = subcommand(
        actions,
        "alias",
        "point an alias (champion, prod ...) at a version of a model",
        "examples:\n  tuidash models alias 'Random Forest' 2 champion\n"
        "  tuidash predict 'Random Forest@champion' new.csv\n\n"
        "An alias names one version at a time: setting it again moves it. `latest` and\n"
        "vN are reserved. JSON: {name, alias, version, message}",
        _cmd_alias,
        model_name=True,
    )
    alias.add_argument("version", metavar="VERSION", help="a version number (2 or v2)")
    alias.add_argument("alias", metavar="ALIAS", help="a letter, then letters, digits, . - _")
    unalias = subcommand(
        actions,
        "unalias",
        "remove an alias of a model",
        "example:\n  tuidash models unalias 'Random Forest' champion\n\n"
        "JSON: {name, alias, message}",
        _cmd_unalias,
        model_name=True,
    )
    unalias.add_argument("alias", metavar="ALIAS")
    rollback = subcommand(
        actions,
        "rollback",
        "make an earlier version's content the new latest version",
        "example:\n  tuidash models rollback 'Random Forest' 2\n\n"
        "Nothing is rewritten: the content of version 2 becomes a new version (say 4) and\n"
        "version 3 is kept. JSON: {name, version, message}",
        _cmd_rollback,
        model_name=True,
    )
    rollback.add_argument("version", metavar="VERSION", help="a version number or an alias")
    subcommand(
        actions,
        "history",
        "show every save, alias move, roll-back and delete of a model",
        "example:\n  tuidash models history 'Random Forest' --json\n\n"
        "JSON: {name, events: [{at, user, event, version, ...}]}",
        _cmd_history,
        model_name=True,
    )
    prune = subcommand(
        actions,
        "prune",
        "delete all but the last N versions of a model (or of every model)",
        "examples:\n  tuidash models prune 'Random Forest' --keep 3\n"
        "  tuidash models prune --keep 1 --yes\n\n"
        "It says what it would remove and asks (--yes does not ask; without a terminal it\n"
        "refuses). The latest version and a version an alias points at are never removed.\n"
        "JSON: {store, removed, kept_for_alias, size_bytes, message, done}",
        _cmd_prune,
    )
    prune.add_argument("name", metavar="NAME", nargs="?", help="one model (default: every model)")
    prune.add_argument(
        "--keep", type=whole, required=True, metavar="N", help="versions to keep per name (>= 1)"
    )
    prune.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    note = subcommand(
        actions,
        "note",
        "set the free-text note of a model's latest version (or of NAME@vN)",
        "examples:\n  tuidash models note 'Random Forest' 'trained on the March export'\n"
        "  tuidash models note 'Random Forest@v2' ''   (an empty note clears it)\n\n"
        "JSON: {name, note, message}",
        _cmd_note,
        model_name=True,
    )
    note.add_argument("text", metavar="TEXT")
    tag = subcommand(
        actions,
        "tag",
        "set the tags of a model's latest version (or of NAME@vN)",
        "examples:\n  tuidash models tag 'Random Forest' baseline march\n"
        "  tuidash models tag 'Random Forest' --tags baseline,march\n"
        "  tuidash models tag 'Random Forest' --tags ''   (no tags)\n\n"
        "The tags replace the version's tags; later saves of the name keep them.\n"
        "JSON: {name, tags, message}",
        _cmd_tag,
        model_name=True,
    )
    tag.add_argument("tags", metavar="TAG", nargs="*")
    tag.add_argument("--tags", dest="tag_list", metavar="A,B", help="comma-separated tags")
    rename = subcommand(
        actions,
        "rename",
        "rename a model with all its versions and history",
        "example:\n  tuidash models rename 'Random Forest' 'RF baseline'\n\n"
        "JSON: {name, new_name, message}",
        _cmd_rename,
        model_name=True,
    )
    rename.add_argument("new_name", metavar="NEW")


def aliases_text(aliases: Mapping[str, Any] | list[str]) -> str:
    """``champion=v2, prod=v3`` (a name's aliases) or ``champion, prod`` (one version's)."""
    if isinstance(aliases, Mapping):
        return ", ".join(f"{alias}=v{number}" for alias, number in sorted(aliases.items()))
    return ", ".join(sorted(aliases))


def _entry_of(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """(store, listing entry) of a command on one saved model; CommandError if there is none."""
    store = open_store(args, create=False)
    return store, find_entry(store, args.name, store_dir(args))


def _name_of(args: argparse.Namespace) -> tuple[Any, str]:
    """(store, model name) of a command on one saved model; CommandError if there is none."""
    store, entry = _entry_of(args)
    return store, str(entry["name"])


def _done(args: argparse.Namespace, message: str, **fields: Any) -> int:
    """Print the store's sentence (or the JSON document) of a change."""
    _log.info("%s", message)
    if args.json:
        print_json({**fields, "message": message})
    else:
        print(message)
    return 0


VERSION_COLUMNS = {
    "classification": (("BAL.ACC", "Balanced accuracy"), ("ACCURACY", "Accuracy")),
    "regression": (("R2", "R2"), ("RMSE", "RMSE")),
}
"""The two metrics ``models versions`` shows per task (header, metric), as the dashboard's
versions list does: a classifier has no R2 or RMSE."""


def _cmd_versions(args: argparse.Namespace) -> int:
    store, entry = _entry_of(args)
    name = str(entry["name"])
    task = "classification" if entry.get("task") == "classification" else "regression"
    columns = VERSION_COLUMNS[task]
    rows = store.list_versions(name)
    keys = (
        "version",
        "ref",
        "latest",
        "saved_at",
        "metrics",
        "metric_reasons",
        "aliases",
        "size_bytes",
        "note",
        "tags",
        "trained_by",
        "replaces",
        "rollback_of",
        "problem",
    )
    if args.json:
        print_json({"name": name, "versions": [{k: row.get(k) for k in keys} for row in rows]})
        return 0
    table = []
    for row in rows:
        metrics = row.get("metrics") or {}
        table.append(
            (
                f"{row['version']}{' *' if row['latest'] else ''}",
                row.get("saved_at") or "-",
                *(_metric(metrics.get(metric)) for _, metric in columns),
                size_text(row.get("size_bytes")),
                aliases_text(row.get("aliases") or []) or "-",
                _note_text(row),
            )
        )
    headers = ("VER", "SAVED", *(header for header, _ in columns), "SIZE", "ALIASES", "NOTE")
    print(format_table(headers, table, (2, 3, 4)))
    print(f"\n{plural(len(rows), 'version')} of {name!r}; * is the latest (what {name!r} loads).")
    return 0


def _metric(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return "-"


def _note_text(row: Mapping[str, Any]) -> str:
    if row.get("problem"):
        return f"cannot be read: {row['problem']}"
    if row.get("rollback_of") and not row.get("note"):
        return f"(rolled back to v{row['rollback_of']})"
    note = " ".join(str(row.get("note") or "").split())
    return (note[:47] + "...") if len(note) > 50 else note or "-"


def _cmd_alias(args: argparse.Namespace) -> int:
    store, name = _name_of(args)
    message = store.set_alias(name, args.alias, args.version)
    number = next(r["version"] for r in store.list_versions(name) if args.alias in r["aliases"])
    return _done(args, message, name=name, alias=args.alias, version=number)


def _cmd_unalias(args: argparse.Namespace) -> int:
    store, name = _name_of(args)
    return _done(args, store.remove_alias(name, args.alias), name=name, alias=args.alias)


def _cmd_rollback(args: argparse.Namespace) -> int:
    store, name = _name_of(args)
    message = store.rollback(name, args.version)
    return _done(args, message, name=name, version=store.list_versions(name)[-1]["version"])


def _cmd_history(args: argparse.Namespace) -> int:
    store, name = _name_of(args)
    events = store.history(name)
    if args.json:
        print_json({"name": name, "events": events})
        return 0
    rows = [
        (
            str(event.get("at") or "-"),
            str(event.get("user") or "-"),
            str(event.get("event") or "-"),
            str(event.get("version") if event.get("version") is not None else "-"),
            _event_details(event),
        )
        for event in events
    ]
    print(format_table(("WHEN", "USER", "EVENT", "VER", "DETAILS"), rows))
    return 0


_EVENT_KEYS = ("at", "user", "event", "version", "name")
"""History keys shown in their own column (the rest are the details)."""


def _event_details(event: Mapping[str, Any]) -> str:
    parts = []
    for key, value in event.items():
        if key in _EVENT_KEYS or value is None or value == [] or value == "":
            continue
        if isinstance(value, list):
            value = ",".join(map(str, value))
        parts.append(f"{key}={value}")
    return ", ".join(parts) or "-"


def _cmd_prune(args: argparse.Namespace) -> int:
    store = open_store(args, create=False)
    base = store_dir(args)
    if args.keep < 1:
        raise CommandError("--keep must be at least 1: the latest version is always kept.")
    name = None
    if args.name is not None:
        name = str(find_entry(store, args.name, base)["name"])
    if store is None:
        raise CommandError(f"No saved models: the store {base} does not exist.")
    plan = store.prune(name, keep=args.keep, dry_run=True)
    if not plan["removed"]:
        return _pruned(args, store, plan, done=False, text=_nothing_to_prune(plan))
    if not args.json:
        for item in plan["removed"]:
            print(f"  {item['name']}@v{item['version']}  {size_text(item['size_bytes'])}")
        for item in plan["kept_for_alias"]:
            held = ", ".join(item["aliases"])
            print(f"  kept: {item['name']}@v{item['version']} (alias {held})")
    if not confirm(
        f"{plan['message'][:-1]}?",
        f"Refusing to prune {plural(len(plan['removed']), 'version')} without confirmation; "
        "pass --yes (stdin is not a terminal).",
        args.yes,
    ):
        print("Nothing deleted.", file=sys.stderr)
        return 1
    result = store.prune(name, keep=args.keep)
    return _pruned(args, store, result, done=True, text=result["message"])


def _nothing_to_prune(plan: Mapping[str, Any]) -> str:
    text = "Nothing to prune"
    held = plan["kept_for_alias"]
    if held:
        text += f"; kept {plural(len(held), 'version')} that an alias points at"
    return text + "."


def _pruned(
    args: argparse.Namespace, store: Any, result: Mapping[str, Any], *, done: bool, text: str
) -> int:
    _log.info("prune in %s: %s", store.base_dir, text)
    if args.json:
        print_json({"store": str(store.base_dir), **result, "message": text, "done": done})
    else:
        print(text)
    return 0


def _cmd_note(args: argparse.Namespace) -> int:
    store = open_store(args, create=False)
    entry, version = find_ref(store, args.name, store_dir(args))
    assert store is not None
    ref = entry["name"] if version is None else version["ref"]
    message = store.set_note(ref, args.text)
    return _done(args, message, name=entry["name"], note=(args.text or "").strip() or None)


def _cmd_tag(args: argparse.Namespace) -> int:
    tags = list(args.tags)
    if args.tag_list is not None:
        tags += [t.strip() for t in args.tag_list.split(",") if t.strip()]
    elif not tags:
        raise CommandError(
            "Name at least one tag (or pass --tags '' to remove the tags), e.g. "
            f"`tuidash models tag {shell_word(args.name)} baseline`."
        )
    store = open_store(args, create=False)
    entry, version = find_ref(store, args.name, store_dir(args))
    assert store is not None
    ref = entry["name"] if version is None else version["ref"]
    message = store.set_tags(ref, tags)
    row = next(
        r
        for r in store.list_versions(entry["name"])
        if r["ref"] == ref or (version is None and r["latest"])
    )
    return _done(args, message, name=entry["name"], tags=row["tags"])


def _cmd_rename(args: argparse.Namespace) -> int:
    store, name = _name_of(args)
    message = store.rename(name, args.new_name)
    return _done(args, message, name=name, new_name=args.new_name)
