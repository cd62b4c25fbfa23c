"""``tuidash models list|show|delete|clear|export|import``: the saved models of the store.

The version commands (``models versions|alias|unalias|rollback|history|prune|note|tag|
rename``) are in ``tuidash.cli.versions``. ``show``, ``export`` and ``delete`` take
``NAME`` (the latest version), ``NAME@vN`` or ``NAME@ALIAS``.

JSON documents (every key is always present):

- ``models list``: store, models [{name, model_type, task, saved_at, target, data_file,
  rows, features (count), metrics (the five regression metrics, or a classifier's ten),
  metric_reasons, size_bytes, environment_mismatch,
  version, versions (count), aliases {alias: version}, tags, note, trained_by}],
  problems [{name, kind, reason}] (entries that cannot be used; see ``storage``).
- ``models show``: the list fields plus ref, params, data, classes, per_class [{class,
  precision, recall, f1, support}], confusion_matrix {labels, counts} (the last three null
  for regression), cv, train_seconds, environment,
  feature_importance, predictions_stored, predictions_total, schema_version, files.
- ``models delete`` / ``models clear``: store, deleted [names or NAME@vN], message.
- ``models export``: name, files [absolute paths written].
- ``models import``: name, model_type, store, metrics, metric_reasons, features, source,
  metadata (the metadata file used: ``--metadata FILE`` or the JSON beside the pickle; null).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuidash.cli import versions
from tuidash.cli.common import (
    METRIC_ORDER,
    CommandError,
    confirm,
    find_ref,
    format_table,
    group_parser,
    list_entries,
    metrics_table,
    not_found_text,
    open_store,
    plural,
    print_json,
    store_dir,
    subcommand,
)
from tuidash.cli.common import problems as problem_entries
from tuidash.core.errors import os_reason
from tuidash.core.jsonsafe import list_at, mapping_at
from tuidash.core.settings import StoreLocation, absolute_location
from tuidash.core.text import duration_text, number_text, size_text

if TYPE_CHECKING:
    from tuidash.core.store import ModelPersistence

NAME = "models"
"""The command group's name."""

_log = logging.getLogger(__name__)


_ASKS = (
    "Without --yes it asks on a terminal and refuses when stdin is not one.\n"
    "JSON: {store, deleted: [names], message}"
)
"""How ``delete`` and ``clear`` confirm, and their JSON document."""


def register(subparsers: Any) -> None:
    """Add ``models`` and its actions."""
    models = group_parser(
        subparsers,
        NAME,
        "list, show, delete, clear, export or import saved models and their versions",
        "Work with the saved models of the store. Every save of a name makes a new version;\n"
        "NAME@vN (NAME@v2) and NAME@ALIAS (NAME@champion) name one version wherever a\n"
        "command takes a model name; NAME alone is the latest version.",
        "examples:\n  tuidash models list\n  tuidash models show 'Random Forest' --json\n"
        "  tuidash models versions 'Random Forest'\n"
        "  tuidash models alias 'Random Forest' 2 champion\n"
        "  tuidash models export 'Random Forest' /tmp/out\n"
        "  tuidash models import '/tmp/out/Random Forest.pkl' --name 'RF from Bob'",
    )
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)

    subcommand(
        actions,
        "list",
        "list the saved models with their main metrics (reads JSON only, fast)",
        "example:\n  tuidash models list --store /data/models\n\n"
        "VER is the latest version and, in brackets, how many versions the name has:\n"
        "v4 (3) after one of four versions was deleted.\n"
        "JSON: {store, models: [{name, model_type, task, saved_at, target, data_file, rows,\n"
        "features, metrics, metric_reasons, size_bytes, environment_mismatch, version,\n"
        "versions, aliases {alias: version}, tags, note, trained_by}],\n"
        "problems: [{name, kind, reason}]}  (damaged or refused entries, also on stderr)",
        _cmd_models_list,
    )
    subcommand(
        actions,
        "show",
        "show everything recorded about one saved model (or one version of it)",
        "examples:\n  tuidash models show 'Random Forest'\n"
        "  tuidash models show 'Random Forest@v2'\n"
        "  tuidash models show 'Random Forest@champion'\n\n"
        "JSON: the list fields plus ref, params, data, cv, train_seconds, environment,\n"
        "feature_importance, predictions_stored, predictions_total, schema_version, files.",
        _cmd_models_show,
        model_name=True,
    )
    delete = subcommand(
        actions,
        "delete",
        "delete one saved model with all its versions, or one version (NAME@vN)",
        "examples:\n  tuidash models delete 'Random Forest' --yes\n"
        "  tuidash models delete 'Random Forest@v2'\n\n"
        "NAME deletes every version (the question says how many and how many MB);\n"
        "NAME@vN or NAME@ALIAS deletes that one earlier version, unless an alias points at\n"
        "it (move or remove the alias first) or it is the latest (roll back first).\n"
        "NAME may also be an entry that cannot be used (see `tuidash storage`): the\n"
        "question and the message name every file of it that is deleted.\n" + _ASKS,
        _cmd_models_delete,
        model_name=True,
    )
    clear = subcommand(
        actions,
        "clear",
        "delete every saved model of the store",
        "example:\n  tuidash models clear --yes\n\n" + _ASKS,
        _cmd_models_clear,
    )
    for asking in (delete, clear):
        asking.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    export = subcommand(
        actions,
        "export",
        "copy a saved model's .pkl and .json into a folder",
        "examples:\n  tuidash models export 'Random Forest' /tmp/share\n"
        "  tuidash models export 'Random Forest@champion' /tmp/share\n\n"
        "The folder is created if needed; existing files are kept unless --replace.\n"
        "A version is exported as NAME@vN.pkl and NAME@vN.json.\n"
        "JSON: {name, files: [absolute paths]}",
        _cmd_models_export,
        model_name=True,
    )
    export.add_argument("dest", metavar="DEST_DIR")
    export.add_argument("--replace", action="store_true", help="overwrite files in DEST_DIR")
    imp = subcommand(
        actions,
        "import",
        "check a .pkl from elsewhere and add it to the store",
        "examples:\n  tuidash models import '/tmp/out/Random Forest.pkl'\n"
        "  tuidash models import model.pkl --metadata notes/model.json --name 'From Bob'\n\n"
        "The pickle is read with the store's restricted unpickler: a file that would run\n"
        "code is refused, naming what it refused. Its metrics, parameters, predictions,\n"
        "data description and name come from its metadata JSON (a tuidash or original-app\n"
        "metadata file): --metadata FILE, else the .json beside the pickle with the same\n"
        "name (what `models export` writes), else they are recorded as unknown. The JSON\n"
        "is checked as the store checks its own and must describe this pickle (checksum);\n"
        "one that does not is refused, naming why (--no-metadata imports without it).\n"
        "JSON: {name, model_type, store, metrics, metric_reasons, features, source, metadata}",
        _cmd_models_import,
    )
    imp.add_argument("pkl", metavar="PKL", help="the pickle file to check and import")
    beside = imp.add_mutually_exclusive_group()
    beside.add_argument(
        "--metadata", metavar="FILE", help="its metadata JSON (default: PKL's name with .json)"
    )
    beside.add_argument(
        "--no-metadata",
        action="store_true",
        help="ignore any metadata JSON: metrics and parameters are recorded as unknown",
    )
    # The report flag's earlier spelling, kept working (it clashes with nothing).
    imp.add_argument("--json-report", dest="json", action="store_true", help=argparse.SUPPRESS)
    imp.add_argument("--name", help="the name to save it under (default: from JSON or file)")
    imp.add_argument(
        "--replace",
        action="store_true",
        help="save as the next version of a model of that name (earlier versions are kept)",
    )
    versions.register_actions(actions)


def old_import_spelling(argv: Sequence[str]) -> str | None:
    """The usage error for ``models import X.pkl --json X.json``, the metadata flag's
    spelling before ``--metadata`` (``--json`` now asks for JSON output); else None."""
    if "import" not in argv:
        return None
    if any(
        token == "--json" and following.lower().endswith(".json")
        for token, following in itertools.pairwise(argv)
    ):
        return (
            "`models import --json` now asks for JSON output; name the metadata file with "
            "--metadata FILE."
        )
    return None


def _entry_summary(entry: dict[str, Any]) -> dict[str, Any]:
    data = mapping_at(entry, "data")
    features = data.get("features") if isinstance(data.get("features"), list) else None
    metrics = mapping_at(entry, "metrics")
    return {
        "name": entry.get("name"),
        "model_type": entry.get("model_type"),
        "task": entry.get("task"),
        "saved_at": entry.get("saved_at"),
        "target": data.get("target"),
        "data_file": data.get("source"),
        "rows": data.get("rows"),
        "features": len(features) if features is not None else None,
        "metrics": {m: metrics.get(m) for m in _metric_order(entry)},
        "metric_reasons": entry.get("metric_reasons") or {},
        "size_bytes": entry.get("size_bytes"),
        "environment_mismatch": list(entry.get("environment_mismatch") or []),
        "version": entry.get("version") or 1,
        "versions": entry.get("versions") or 1,
        "aliases": dict(mapping_at(entry, "aliases")),
        "tags": list(list_at(entry, "tags")),
        "note": entry.get("note"),
        "trained_by": entry.get("trained_by"),
    }


def _metric_order(entry: dict[str, Any]) -> tuple[str, ...]:
    """The metrics of the entry's task (a classifier's, or the five regression ones)."""
    if entry.get("task") == "classification":
        from tuidash.core.metrics import CLASSIFICATION_METRIC_NAMES

        return CLASSIFICATION_METRIC_NAMES
    return METRIC_ORDER


def _cmd_models_list(args: argparse.Namespace) -> int:
    store = open_store(args, create=False)
    base = store.base_dir if store is not None else absolute_location(store_dir(args))
    entries = [_entry_summary(e) for e in list_entries(store)]
    problems = [
        {"name": p.get("name"), "kind": p.get("kind"), "reason": p.get("reason")}
        for p in problem_entries(store)
    ]
    if args.json:
        print_json({"store": str(base), "models": entries, "problems": problems})
        return 0
    if problems:
        count = len(problems)
        names = ", ".join(repr(p["name"]) for p in problems)
        print(
            f"tuidash: {plural(count, 'entry', 'entries')} cannot be used ({names}); "
            "see `tuidash storage`.",
            file=sys.stderr,
        )
    if not entries:
        missing = " (the folder does not exist yet)" if store is None else ""
        print(f"No saved models in {base}{missing}.")
        return 0
    # Classifiers add their two headline columns; a store of regressors prints as before.
    classifiers = any(e["task"] == "classification" for e in entries)
    extra = ("Balanced accuracy", "F1 macro") if classifiers else ()
    rows = []
    for e in entries:
        rows.append(
            (
                e["name"],
                f"v{e['version']} ({e['versions']})",
                e["model_type"] or "-",
                e["saved_at"] or "-",
                e["target"] or "-",
                _short_metric("R2", e),
                _short_metric("RMSE", e),
                *(_short_metric(m, e) for m in extra),
                size_text(e["size_bytes"]),
                versions.aliases_text(e["aliases"]) or "-",
            )
        )
    headers = ("BAL.ACC", "F1 MACRO") if classifiers else ()
    numeric = tuple(range(5, 8 + len(headers)))
    print(
        format_table(
            ("NAME", "VER", "KIND", "SAVED", "TARGET", "R2", "RMSE", *headers, "SIZE", "ALIASES"),
            rows,
            numeric,
        )
    )
    count = len(entries)
    print(f"\n{plural(count, 'model')} in {base}.")
    return 0


def _short_metric(name: str, entry: dict[str, Any]) -> str:
    if name not in _metric_order(entry):  # R2 of a classifier, accuracy of a regressor
        return "-"
    value = entry["metrics"].get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_text(value)
    return "undefined" if name in entry["metric_reasons"] else "-"


def _cmd_models_show(args: argparse.Namespace) -> int:
    store = open_store(args, create=False)
    entry, version = find_ref(store, args.name, store_dir(args), predictions=True)
    assert store is not None
    if version is None:
        # The listing row leaves out a few keys (cv, model_file); the JSON has them all.
        entry = {**_raw_metadata(store, args.name), **entry}
    else:
        entry = _version_entry(store, args.name, entry, version)
    document = {"ref": args.name, **_entry_summary(entry)}
    predictions = mapping_at(entry, "predictions")
    y_pred = list_at(predictions, "y_pred")
    importance = entry.get("feature_importance")
    if importance is None:
        importance = predictions.get("feature_importance")
    model_file = mapping_at(entry, "model_file")
    data = mapping_at(entry, "data")
    document.update(
        {
            "params": entry.get("params") or {},
            "data": data,
            "classes": _classes_of(entry),
            "per_class": _class_block(entry).get("per_class"),
            "confusion_matrix": _class_block(entry).get("confusion_matrix"),
            "cv": entry.get("cv"),
            "train_seconds": entry.get("train_seconds"),
            "environment": entry.get("environment") or {},
            "feature_importance": importance,
            "predictions_stored": len(y_pred),
            "predictions_total": entry.get("predictions_total") or len(y_pred),
            "schema_version": entry.get("schema_version"),
            "files": {
                "pkl": model_file.get("name"),
                "pkl_bytes": entry.get("pkl_bytes") or model_file.get("bytes"),
                "sha256": model_file.get("sha256"),
                "xxh3_128": model_file.get("xxh3_128"),
            },
        }
    )
    if args.json:
        print_json(document)
        return 0
    _print_show(document, store.base_dir)
    return 0


def _class_block(entry: dict[str, Any]) -> dict[str, Any]:
    """The ``predictions.classification`` block of a classifier ({} otherwise)."""
    if entry.get("task") != "classification":
        return {}
    return dict(mapping_at(mapping_at(entry, "predictions"), "classification"))


def _classes_of(entry: dict[str, Any]) -> list[Any] | None:
    """A classifier's classes (stored at the top and with its predictions), else None."""
    if entry.get("task") != "classification":
        return None
    block = mapping_at(mapping_at(entry, "predictions"), "classification")
    classes = entry.get("classes") or block.get("classes")
    return list(classes) if isinstance(classes, list) else None


def _version_entry(
    store: ModelPersistence, ref: str, latest: dict[str, Any], version: dict[str, Any]
) -> dict[str, Any]:
    """A listing-like row of one version: its own JSON, sizes and metric reasons, and the
    name's version count and aliases."""
    from tuidash.core.store import environment_mismatch

    raw = _raw_metadata(store, ref)
    predictions = mapping_at(raw, "predictions")
    return {
        **raw,
        "name": latest.get("name"),
        "version": version["version"],
        "versions": latest.get("versions"),
        "aliases": latest.get("aliases") or {},
        "size_bytes": version["size_bytes"],
        "pkl_bytes": version["pkl_bytes"],
        "metric_reasons": version.get("metric_reasons") or {},
        "environment_mismatch": environment_mismatch(raw.get("environment")),
        "feature_importance": predictions.get("feature_importance"),
        "note": version.get("note"),
        "tags": version.get("tags") or [],
    }


def _raw_metadata(store: ModelPersistence, name: str) -> dict[str, Any]:
    """The model's JSON document as saved, or {} if it cannot be read now."""
    from tuidash.core.transfer import model_files

    try:
        document = json.loads(model_files(store, name)[1].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _class_fields(doc: dict[str, Any]) -> list[tuple[str, Any]]:
    """A classifier's classes and how its split was made, for ``models show``."""
    if doc.get("task") != "classification":
        return []
    classes = doc.get("classes") or []
    shown = ", ".join(map(str, classes[:20])) + (
        f" and {len(classes) - 20} more" if len(classes) > 20 else ""
    )
    data = doc.get("data") or {}
    split = "stratified" if data.get("stratified") else "plain random"
    if data.get("keep_order"):
        split = "last rows (order kept)"
    return [("Classes", f"{len(classes)}: {shown}" if classes else "-"), ("Split", split)]


def _print_show(doc: dict[str, Any], base: StoreLocation) -> None:
    data = doc["data"]
    features = data.get("features") if isinstance(data.get("features"), list) else []
    feature_names = [f.get("name") if isinstance(f, dict) else str(f) for f in features]
    aliases = versions.aliases_text(doc["aliases"])
    fields = [
        ("Name", doc["name"]),
        ("Version", f"{doc['version']} of {doc['versions']}"),
        ("Aliases", aliases or "-"),
        ("Kind", doc["model_type"] or "-"),
        ("Task", doc["task"] or "-"),
        ("Saved", doc["saved_at"] or "-"),
        ("Store", str(base)),
        ("Size", size_text(doc["size_bytes"])),
        ("Data", data.get("source") or "-"),
        ("Rows", data.get("rows") if data.get("rows") is not None else "-"),
        ("Target", data.get("target") or "-"),
        *_class_fields(doc),
        ("Features", ", ".join(map(str, feature_names)) or "-"),
        ("Test size", data.get("test_size") if data.get("test_size") is not None else "-"),
        (
            "Random state",
            data.get("random_state") if data.get("random_state") is not None else "-",
        ),
        ("Train time", duration_text(doc["train_seconds"])),
        ("Trained by", doc["trained_by"] or "-"),
        ("Tags", ", ".join(doc["tags"]) or "-"),
        ("Note", doc["note"] or "-"),
    ]
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        print(f"{label:<{width}}  {value}")
    params = doc["params"]
    if params:
        print("\nParameters")
        print(format_table(("Name", "Value"), sorted((k, v) for k, v in params.items())))
    print("\nMetrics (test set)")
    print(metrics_table(doc["metrics"], doc["metric_reasons"]))
    per_class = doc.get("per_class")
    if isinstance(per_class, list) and per_class:
        print("\nPer class (test set)")
        rows = [
            (
                str(item.get("class")),
                number_text(item.get("precision")),
                number_text(item.get("recall")),
                number_text(item.get("f1")),
                item.get("support"),
            )
            for item in per_class[:20]
            if isinstance(item, dict)
        ]
        print(format_table(("Class", "Precision", "Recall", "F1", "Rows"), rows, (1, 2, 3, 4)))
        if len(per_class) > 20:
            print(f"... and {len(per_class) - 20} more classes (see --json).")
    cv = doc["cv"]
    if isinstance(cv, dict) and cv.get("mean") is not None:
        print(
            f"Cross-validation ({cv.get('folds')} folds): {cv.get('metric', 'R2')} "
            f"{number_text(cv.get('mean'))} ± {number_text(cv.get('std'))}"
        )
    importance = doc["feature_importance"]
    if isinstance(importance, dict) and importance:
        top = sorted(importance.items(), key=lambda kv: -abs(_as_float(kv[1])))[:10]
        print("\nFeature importance (top 10)")
        print(format_table(("Feature", "Importance"), [(k, number_text(v)) for k, v in top], (1,)))
    env = doc["environment"]
    if env:
        print("\nEnvironment: " + ", ".join(f"{k} {v}" for k, v in env.items()))
    for line in doc["environment_mismatch"]:
        print(f"Warning: {line}")


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _cmd_models_delete(args: argparse.Namespace) -> int:
    store = open_store(args, create=False)
    base = store_dir(args)
    names = {e.get("name") for e in list_entries(store)}
    problem = None
    version: dict[str, Any] | None = None
    if args.name not in names:
        from tuidash.core.store import stem

        # Listed by its file base: `Ghost_one` (as storage shows it) or `Ghost one`.
        spellings = (args.name, stem(args.name))
        problem = next((p for p in problem_entries(store) if p.get("name") in spellings), None)
        if problem is None:
            if "@" not in args.name:
                raise CommandError(not_found_text(store, args.name, base))
            _entry, version = find_ref(store, args.name, base)
    assert store is not None
    if version is not None and (version["latest"] or version["aliases"]):
        # The store refuses these with the sentence that says what to do first: ask nothing.
        store.delete(args.name)
    if version is not None:
        question = (
            f"Delete version {version['version']} of {version['name']!r} "
            f"({size_text(version['size_bytes'])}) from {store.base_dir}?"
        )
    elif problem is not None:
        # A damaged entry may still have a good pickle: say which files go, both of them.
        files = _entry_files_text(problem.get("files") or [], store.base_dir)
        question = (
            f"{args.name!r} cannot be used ({problem.get('reason')}). "
            f"Delete {files} from {store.base_dir}?"
        )
    else:
        summary = store.deletion_summary(args.name)
        count = summary["versions"]
        every = f"all {count} versions" if count > 1 else "its only version"
        question = (
            f"Delete model {args.name!r} with {every} ({size_text(summary['size_bytes'])}) "
            f"from {store.base_dir}?"
        )
    if not confirm(
        question,
        f"Refusing to delete {args.name!r} without confirmation; pass --yes "
        "(stdin is not a terminal).",
        args.yes,
    ):
        print("Nothing deleted.", file=sys.stderr)
        return 1
    if problem is not None:
        ok, message = store.remove_entry(str(problem.get("name")))
        if ok:
            message = f"Removed {args.name!r}: deleted {files}."
    else:
        ok, message = store.delete_model(args.name)
    if not ok:
        _log.warning("could not delete %r from %s: %s", args.name, store.base_dir, message)
        raise CommandError(message)
    _log.info("%s (store %s)", message.rstrip("."), store.base_dir)
    deleted = args.name if version is None else version["ref"]
    return _report_deleted(args, store, [deleted], message)


def _entry_files_text(files: Iterable[Any], base: StoreLocation) -> str:
    """The files of a store entry for a question: relative to the store, joined with 'and'."""
    shown = []
    for file in files:
        path = Path(str(file))
        try:
            shown.append(str(path.relative_to(base)))
        except ValueError:
            shown.append(str(path))
    if not shown:
        return "its files"
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _cmd_models_clear(args: argparse.Namespace) -> int:
    store = open_store(args, create=False)
    names = [str(e.get("name")) for e in list_entries(store)]
    # Problem entries (damaged, refused, orphaned files) are cleared too.
    names += [str(p.get("name")) for p in problem_entries(store)]
    if store is None or not names:
        base = store.base_dir if store is not None else absolute_location(store_dir(args))
        message = f"No saved models in {base}; nothing to delete."
        if args.json:
            print_json({"store": str(base), "deleted": [], "message": message})
        else:
            print(message)
        return 0
    count = len(names)
    if not confirm(
        f"Delete all {plural(count, 'saved model')} in {store.base_dir}?",
        f"Refusing to delete {plural(count, 'model')} without confirmation; "
        "pass --yes (stdin is not a terminal).",
        args.yes,
    ):
        print("Nothing deleted.", file=sys.stderr)
        return 1
    ok, message = store.clear_all_saved_models()
    if not ok:
        _log.warning("could not clear %s: %s", store.base_dir, message)
        raise CommandError(message)
    _log.info("%s (store %s: cleared)", message.rstrip("."), store.base_dir)
    remaining = {e.get("name") for e in list_entries(store)}
    remaining |= {p.get("name") for p in problem_entries(store)}
    deleted = [n for n in names if n not in remaining]
    return _report_deleted(args, store, deleted, message)


def _report_deleted(
    args: argparse.Namespace, store: ModelPersistence, deleted: list[str], message: str
) -> int:
    if args.json:
        print_json({"store": str(store.base_dir), "deleted": deleted, "message": message})
    else:
        print(message)
    return 0


def _cmd_models_export(args: argparse.Namespace) -> int:
    from tuidash.core.transfer import export_model

    store = open_store(args, create=False)
    _entry, version = find_ref(store, args.name, store_dir(args))
    assert store is not None
    file_stem = None
    if version is not None and not version["latest"]:
        from tuidash.core.store import stem

        file_stem = f"{stem(version['name'])}@v{version['version']}"
    files = export_model(
        store, args.name, Path(args.dest), replace=args.replace, file_stem=file_stem
    )
    _log.info("exported model %r from %s to %s", args.name, store.base_dir, files[0].parent)
    if args.json:
        print_json({"name": args.name, "files": [str(f) for f in files]})
        return 0
    print(f"Exported {args.name!r}:")
    for path in files:
        print(f"  {path}")
    return 0


def _cmd_models_import(args: argparse.Namespace) -> int:
    from tuidash.core.transfer import import_model

    store = open_store(args, create=True)
    assert store is not None
    pkl = Path(args.pkl).expanduser()
    metadata = _import_metadata(args, pkl)
    result = import_model(store, pkl, metadata_path=metadata, name=args.name, replace=args.replace)
    _log.info(
        "imported %s as %r into %s%s",
        pkl.absolute(),
        result.name,
        store.base_dir,
        f" with the metadata of {metadata.absolute()}" if metadata else " without metadata",
    )
    document = {
        "name": result.name,
        "model_type": result.model_type,
        "store": str(store.base_dir),
        "metrics": {m: result.metrics.get(m) for m in METRIC_ORDER},
        "metric_reasons": result.metric_reasons,
        "features": result.features,
        "source": str(pkl.absolute()),
        "metadata": str(metadata.absolute()) if metadata else None,
    }
    if args.json:
        print_json(document)
        return 0
    print(f"Imported {args.pkl} as {result.name!r} into {store.base_dir}.")
    if metadata is not None:
        print(f"Metrics, parameters and data description from {metadata}.")
    print(f"Kind: {result.model_type or 'unknown'}; features: {len(result.features)}.")
    print()
    print(metrics_table(result.metrics, result.metric_reasons))
    for note in result.notes:
        print(f"Note: {note}", file=sys.stderr)
    return 0


def _import_metadata(args: argparse.Namespace, pkl: Path) -> Path | None:
    """The metadata JSON to import with ``pkl``, checked; None when there is none to use.

    ``--metadata FILE`` if given, else ``PKL`` with ``.json`` (what ``models export`` wrote
    beside it) if it exists, unless ``--no-metadata``.
    """
    if args.no_metadata or not pkl.is_file():
        return None  # a missing pickle is reported by the import itself
    if args.metadata:
        path = Path(args.metadata).expanduser()
        _check_import_metadata(path, pkl, shown=str(path), hint="")
        return path
    beside = pkl.with_suffix(".json")
    if not beside.is_file():
        return None
    _check_import_metadata(
        beside,
        pkl,
        shown=f"{beside} (the metadata beside the pickle)",
        hint="; fix or move it, or pass --no-metadata to import without it",
    )
    return beside


def _check_import_metadata(path: Path, pkl: Path, *, shown: str, hint: str) -> None:
    """Check a metadata JSON as the store checks its own, and that it describes ``pkl``."""
    from tuidash.core.store import documents as store_checks

    try:
        if path.stat().st_size > store_checks.MAX_JSON_BYTES:
            raise CommandError(f"{shown} is too large for a metadata file{hint}.")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CommandError(f"{shown}: no such file.") from None
    except OSError as error:
        raise CommandError(f"Cannot read {shown}: {os_reason(error)}{hint}.") from None
    try:
        document = store_checks.parse_json(raw)
    except ValueError as error:
        reason = " ".join(str(error).split())[:160]
        raise CommandError(f"{shown} is not valid JSON ({reason}){hint}.") from None
    name = document.get("model_name") if isinstance(document, dict) else None
    checked = document
    if isinstance(document, dict) and isinstance(document.get("model_file"), dict):
        # In the store a JSON must name its own pickle; beside an exported or renamed file
        # the pickle is identified by its checksum (checked below), not by its file name.
        own_file = {**document["model_file"], "name": f"{name}.pkl"}
        checked = {**document, "model_file": own_file}
    try:
        store_checks.check_doc(checked, name if isinstance(name, str) else "")
    except store_checks.Problem as problem:
        raise CommandError(f"{shown} cannot be used: {problem.reason}{hint}.") from None
    model_file = document.get("model_file") if isinstance(document, dict) else None
    if isinstance(model_file, dict):
        kind, recorded = store_checks.recorded_digest(model_file)
        if recorded != _digest_of(pkl, kind):
            raise CommandError(
                f"{shown} describes another pickle than {pkl} (its {kind} checksum differs){hint}."
            )


def _digest_of(path: Path, kind: str) -> str:
    from tuidash.core.store.durable import new_hasher

    digest = new_hasher(kind)
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return str(digest.hexdigest())
