"""What every command group shares: the common options, the store it works on, output.

Only argparse and the standard library at import time (``--help`` starts fast); the store
is imported when a command opens it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from tuidash.core import logs
from tuidash.core.errors import TuidashError, os_reason, unwritable_store
from tuidash.core.jsonsafe import plain_json
from tuidash.core.settings import (
    StoreLocation,
    default_store_dir,
    parse_storage_options,
    set_storage_options,
    storage_options,
    store_location,
)
from tuidash.core.text import metric_of

if TYPE_CHECKING:
    from tuidash.core.store import ModelPersistence

METRIC_ORDER = ("MAE", "MSE", "RMSE", "MAPE", "R2")
"""The metrics every JSON document has, in the order tables show them."""


class CommandError(TuidashError):
    """A failure a person can fix; its message is the one line printed on stderr."""


class UsageError(CommandError):
    """Options that do not go together: a usage error (exit 2), like argparse's own."""


# --------------------------------------------------------------------------- options


def add_store(parser: argparse.ArgumentParser, default: Any) -> None:
    """``--store DIR|URL`` and ``--storage-option KEY=VALUE``."""
    parser.add_argument(
        "--store",
        metavar="DIR|URL",
        default=default,
        help="the model store folder, or a URL such as s3://bucket/prefix "
        "(default: $TUIDASH_STORE, then ./saved_models)",
    )
    parser.add_argument(
        "--storage-option",
        metavar="KEY=VALUE",
        action="append",
        default=default,
        dest="storage_options",
        help="an fsspec option of a store URL (repeatable), e.g. endpoint_url=http://minio:9000",
    )


def add_log_level(parser: argparse.ArgumentParser, default: Any) -> None:
    """``--log-level LEVEL``."""
    parser.add_argument(
        "--log-level",
        choices=tuple(logs.LEVELS),
        default=default,
        metavar="LEVEL",
        help=f"what the log file records: {'|'.join(logs.LEVELS)} (default {logs.DEFAULT_LEVEL})",
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    """``--json``."""
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout instead"
    )


def group_parser(
    subparsers: Any, name: str, help_text: str, description: str, epilog: str
) -> argparse.ArgumentParser:
    """A command group's parser (``models``) that takes the common options too."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # SUPPRESS so that `tuidash --store X models list` keeps the top-level value.
    add_store(parser, default=argparse.SUPPRESS)
    add_log_level(parser, default=argparse.SUPPRESS)
    return parser


def subcommand(
    subparsers: Any,
    name: str,
    help_text: str,
    epilog: str,
    handler: Callable[[argparse.Namespace], int],
    *,
    model_name: bool = False,
    json_flag: bool = True,
) -> argparse.ArgumentParser:
    """A command's parser with ``--store``, ``--log-level`` and (usually) ``--json``, run by
    ``handler``; ``model_name`` adds the positional NAME of a saved model first."""
    parser = group_parser(
        subparsers, name, help_text, help_text[0].upper() + help_text[1:] + ".", epilog
    )
    parser.set_defaults(handler=handler)
    if model_name:
        parser.add_argument("name", metavar="NAME")
    if json_flag:
        add_json(parser)
    return parser


def number(text: str) -> float:
    """An argparse type: a number."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def days(text: str) -> float:
    """An argparse type: a number of days, 0 or more (a usage error, exit 2, else)."""
    value = number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of days, 0 or more, got {text!r}")
    return value


def whole(text: str) -> int:
    """An argparse type: a whole number."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def whole_in(low: int, high: int | None = None, *, also: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` (to ``high``), or ``also`` (-1 for
    "every core"); anything else is a usage error (exit 2) naming the option and value."""
    wanted = f"from {low} to {high}" if high is not None else f"{low} or more"
    wanted = (
        f"{also} or a whole number {wanted}" if also is not None else f"a whole number {wanted}"
    )

    def parse(text: str) -> int:
        value = whole(text)
        if value == also or (low <= value and (high is None or value <= high)):
            return value
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}")

    return parse


def number_in(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number from ``low`` to ``high`` (NaN and infinities refused)."""

    def parse(text: str) -> float:
        value = number(text)
        if not low <= value <= high:  # also False for NaN
            raise argparse.ArgumentTypeError(
                f"expected a number from {low:g} to {high:g}, got {text!r}"
            )
        return value

    return parse


def key_value(text: str) -> tuple[str, str]:
    """An argparse type: ``key=value``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), value


DATA_HELP = "CSV, TSV, Excel, Parquet or JSON file, or `sample` for the diabetes data set"
"""Help of a DATA argument (train, predict)."""


# --------------------------------------------------------------------------- output


def print_json(document: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(plain_json(document), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def fail(message: str) -> None:
    """One line on stderr, prefixed ``tuidash:``."""
    line = " ".join(str(message).split())
    print(f"tuidash: {line}", file=sys.stderr)


_ZERO_WIDTH = frozenset(("Mn", "Me", "Cf"))
"""Unicode categories that take no cell: combining marks and format characters."""


def display_width(text: str) -> int:
    """The terminal cells ``text`` takes: 2 for a wide or full-width character (CJK, most
    emoji), 0 for a combining mark or an invisible format character (zero-width joiner,
    variation selector), else 1."""
    width = 0
    for char in text:
        if unicodedata.category(char) in _ZERO_WIDTH:
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal cells (left-aligned unless ``right``);
    ``str.ljust`` counts characters, which misaligns a name such as '模型' or '🌳'."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def format_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], right: Iterable[int] = ()
) -> str:
    """Columns padded to their widest cell (in terminal cells, so that wide characters line
    up); the columns in ``right`` align right."""
    right_set = set(right)
    table = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(display_width(row[i]) for row in table) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(table):
        cells = [pad(cell, widths[i], right=i in right_set) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def metrics_table(metrics: dict[str, Any], reasons: dict[str, Any]) -> str:
    """The Metric/Value table of a model (a metric that cannot be computed says why)."""
    from tuidash.core.metrics import CLASSIFICATION_METRIC_NAMES

    present = set(metrics or {}) | set(reasons or {})
    names = [m for m in METRIC_ORDER if m in present]
    names = names or [m for m in CLASSIFICATION_METRIC_NAMES if m in present]  # a classifier
    names = names or list(METRIC_ORDER)
    return format_table(("Metric", "Value"), [(m, metric_of(m, metrics, reasons)) for m in names])


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 model``, ``2 models`` (``many`` for irregular words)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


# --------------------------------------------------------------------------- the store


def usable_remote(url: str) -> str:
    """A store URL whose bucket can be reached; CommandError with one sentence if not."""
    from tuidash.core.store.remote import RemoteBackend, StoreUnreachable

    try:
        backend = RemoteBackend(url, storage_options())
        if not backend.exists():
            bucket = url.split("://", 1)[1].split("/", 1)[0]
            raise CommandError(
                f"Cannot use the store {url}: the bucket {bucket} does not exist or cannot "
                "be seen with these credentials; check --store and the AWS settings."
            )
    except StoreUnreachable as error:
        raise CommandError(error.message) from None
    except OSError as error:
        raise CommandError(f"Cannot use the store {url}: {os_reason(error)}.") from None
    return url


def usable_store(base: StoreLocation) -> StoreLocation:
    """The store folder, created if needed; CommandError when it cannot hold models.

    Refused: a file, a folder that cannot be created (a parent is a file, no permission)
    and one where no file can be written (read-only file system or permissions). A URL
    (``s3://bucket/prefix``) is refused when its bucket cannot be reached.
    """
    if isinstance(base, str):
        return usable_remote(base)
    if base.exists() and not base.is_dir():
        raise CommandError(f"{base}: the store must be a folder, but it is a file.")
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocker = next((p for p in base.parents if p.exists() and not p.is_dir()), None)
        reason = f"{blocker} is a file, not a folder" if blocker is not None else os_reason(error)
        raise CommandError(
            f"Cannot create the store folder {base}: {reason}; choose another with --store."
        ) from None
    try:
        # The store writes through temp files in its folders: try exactly that.
        handle, probe = tempfile.mkstemp(prefix=".tuidash-probe-", dir=base)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise CommandError(unwritable_store(base, error)) from None
    return base


def store_dir(args: argparse.Namespace) -> StoreLocation:
    """The store of a command: ``--store``, else the default (a folder ``Path`` or a URL);
    ``--storage-option`` pairs become the options of store URLs in this process."""
    pairs = getattr(args, "storage_options", None)
    if pairs:
        try:
            set_storage_options(parse_storage_options(pairs))
        except ValueError as error:
            raise CommandError(f"--storage-option: {error}.") from None
    store = getattr(args, "store", None)
    return store_location(store) if store else default_store_dir()


def open_store(args: argparse.Namespace, *, create: bool) -> ModelPersistence | None:
    """The store (created when the command writes); None for a reading command on the default
    store that does not exist yet. A ``--store`` folder that does not exist is an error for
    a reading command: it is more likely a typo than a store nobody has saved to yet."""
    base = store_dir(args)
    if isinstance(base, str):
        usable_remote(base)
        from tuidash.core.store import ModelPersistence

        return ModelPersistence(base)
    if create:
        usable_store(base)
    elif not base.exists():
        if getattr(args, "store", None):
            raise CommandError(f"The store folder {base.absolute()} does not exist; check --store.")
        return None
    elif not base.is_dir():
        raise CommandError(f"{base}: the store must be a folder, but it is a file.")
    from tuidash.core.store import ModelPersistence

    return ModelPersistence(str(base))


def list_entries(
    store: ModelPersistence | None, *, predictions: bool = False
) -> list[dict[str, Any]]:
    """The store's good models from their JSON (the fast cached path unless predictions)."""
    if store is None:
        return []
    return list(store.list_saved_models(predictions=predictions))


def problems(store: ModelPersistence | None) -> list[dict[str, Any]]:
    """The store's problem entries (damaged, refused, orphaned files); [] if unknown."""
    if store is None:
        return []
    try:
        return list(store.get_storage_info().get("problems", []))
    except Exception:
        return []


def find_entry(
    store: ModelPersistence | None, name: str, base: StoreLocation, *, predictions: bool = False
) -> dict[str, Any]:
    """The listing row of model ``name``; CommandError naming the saved models if none."""
    for entry in list_entries(store, predictions=predictions):
        if entry.get("name") == name:
            return entry
    raise CommandError(not_found_text(store, name, base))


def find_ref(
    store: ModelPersistence | None, ref: str, base: StoreLocation, *, predictions: bool = False
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The listing row of the model ``ref`` names (``NAME``, ``NAME@vN``, ``NAME@ALIAS``)
    and, for ``@vN``/``@ALIAS``, its ``list_versions`` row (None for ``NAME``); a
    CommandError naming what there is when there is no such model or version."""
    from tuidash.core.store import parse_ref

    name, selector = parse_ref(ref)
    entry = find_entry(store, name, base, predictions=predictions)
    if selector is None:
        return entry, None
    assert store is not None
    rows = store.list_versions(name)
    if isinstance(selector, int):
        found = [row for row in rows if row["version"] == selector]
        if not found:
            numbers = ", ".join(str(row["version"]) for row in rows)
            raise CommandError(
                f"Model {name!r} has no version {selector} (it has versions {numbers}); "
                f"see `tuidash models versions {shell_word(name)}`."
            )
    else:
        found = [row for row in rows if selector in row["aliases"]]
        if not found:
            known = ", ".join(sorted(a for row in rows for a in row["aliases"])) or "none"
            raise CommandError(
                f"Model {name!r} has no alias {selector!r} (its aliases: {known}); "
                f"see `tuidash models versions {shell_word(name)}`."
            )
    return entry, found[0]


def shell_word(text: str) -> str:
    """``text`` as one shell word (quoted when it needs to be) for a command in a sentence."""
    import shlex

    return shlex.quote(text)


def not_found_text(store: ModelPersistence | None, name: str, base: StoreLocation) -> str:
    """Why ``name`` is not a usable model here, with the names that are."""
    if store is None:
        return f"No model named {name!r}: the store {base} does not exist."
    for problem in problems(store):
        if problem.get("name") == name:
            return f"The model {name!r} cannot be used: {problem.get('reason')}"
    names = [e.get("name") for e in list_entries(store)]
    hint = f" Saved models: {', '.join(map(str, names))}." if names else " The store is empty."
    return f"No model named {name!r} in {store.base_dir}.{hint}"


def confirm(question: str, refusal: str, yes: bool) -> bool:
    """True when the user agreed; without a terminal and without --yes, refuse."""
    if yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise CommandError(refusal)
    # The question goes to stderr so that stdout stays one JSON document with --json.
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


@contextlib.contextmanager
def encoding_hint() -> Iterator[None]:
    """Add the flag to use to a core 'not UTF-8 text' sentence (the core names no flags)."""
    from tuidash.core.data import DataEncodingError

    try:
        yield
    except DataEncodingError as error:
        if not error.suggestion:
            raise
        raise CommandError(f"{error.message} Pass --encoding {error.suggestion}.") from None
