"""Model names: which are allowed, which would share files, free names, and their files' keys.

A model's files are named by its STEM, the original app's rule: the name with spaces, ``/``
and ``\\`` replaced by ``_`` ("Linear Regression" -> ``models/Linear_Regression.pkl``); the
name itself is ``model_name`` in the JSON. ``NAME@vN`` and ``NAME@ALIAS`` address versions
(``parse_ref``), so ``@`` is not allowed in names.

A key is a path inside the store with ``/`` between folders (``models/Forest.pkl``); the
backend turns it into a file path or an object name. The folder ``""`` is the store's top.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from tuidash.core.errors import ModelExists

MODELS_DIR = "models"
METADATA_DIR = "metadata"
VERSIONS_DIR = "versions"
"""versions/STEM/vN.pkl|json: the earlier versions of a name; history.jsonl: its events."""
HISTORY_NAME = "history.jsonl"
LOCK_NAME = ".tuidash.lock"
INDEX_NAME = ".tuidash-index.json"
TMP_PREFIX = ".tuidash-tmp-"
PENDING_PREFIX = ".tuidash-pending-"
RENAME_PREFIX = ".tuidash-rename-"
"""models/.tuidash-rename-*.json: a rename in flight (finished or undone by the next writer)."""
MAX_NAME_BYTES = 250
"""Longest name in UTF-8 bytes: NAME.json must fit the 255-byte file-name limit."""

_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{i}" for i in "123456789¹²³"}
    | {f"LPT{i}" for i in "123456789¹²³"}
)
_WINDOWS_FORBIDDEN = set('<>:"|?*')
_NUMBERED_NAME = re.compile(r"^(.*\S) \((\d{1,6})\)$", re.DOTALL)
"""A name that already ends in a free_name number: "Random Forest (2)"."""


# ------------------------------------------------------------------------------ rules


def stem(name: str) -> str:
    """A name's file base: spaces, ``/`` and ``\\`` become ``_`` (the original app's rule)."""
    return name.replace(" ", "_").replace("/", "_").replace("\\", "_")


def fold(name: str) -> str:
    """The key under which two names share files (one STEM, or on a case-insensitive disk)."""
    return unicodedata.normalize("NFC", stem(name)).casefold()


def name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a new model name, as a sentence, or None if it can."""
    if not isinstance(name, str):
        return "A model name must be text."
    if name == "" or name.strip() == "":
        return "A model name cannot be empty."
    shown = repr(name) if len(name) <= 60 else repr(name[:57] + "...")
    if "\x00" in name:
        return f"The model name {shown} contains a NUL character."
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in name):
        return f"The model name {shown} contains control characters."
    if "/" in name or "\\" in name:
        return f"The model name {shown} cannot contain / or \\; use another character."
    if "@" in name:
        return (
            f"The model name {shown} cannot contain @ (NAME@v2 and NAME@ALIAS name versions); "
            "use another character."
        )
    if name in (".", ".."):
        return f"The model name {shown} is not allowed."
    if name.startswith("."):
        return f"The model name {shown} cannot start with a dot."
    if name != name.strip():
        return f"The model name {shown} cannot start or end with a space."
    if name.endswith("."):
        return f"The model name {shown} cannot end with a dot."
    bad = sorted(set(name) & _WINDOWS_FORBIDDEN)
    if bad:
        chars = " ".join(bad)
        return f"The model name {shown} cannot contain {chars} (not allowed in file names)."
    stem = name.split(".")[0].rstrip(" ").upper()
    if stem in _WINDOWS_RESERVED:
        return f"The model name {shown} is a reserved device name on Windows; pick another."
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return f"The model name {shown} is not valid text."
    if size > MAX_NAME_BYTES:
        return (
            f"The model name is {size} bytes long; the limit is {MAX_NAME_BYTES} bytes "
            "(UTF-8), so please shorten it."
        )
    return None


def disk_name_ok(name: Any) -> bool:
    """Looser check for names found on disk (the original app allowed e.g. ':')."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not name.startswith(".tuidash-")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
        and os.sep not in name
        and (os.altsep is None or os.altsep not in name)
        and _encodable(name)
    )


def _encodable(name: str) -> bool:
    if name.isascii():
        return True
    try:
        os.fsencode(name)
        name.encode("utf-8")
    except (UnicodeError, ValueError):
        return False
    return True


def free_name(name: str, taken: Iterable[str]) -> str:
    """``name`` if no name in ``taken`` shares its files, else the first free "name (2)", ..."""
    folded = {fold(n) for n in taken}
    if fold(name) not in folded:
        return name
    # "X (2)" taken -> "X (3)", not "X (2) (2)": count on from a number already there.
    numbered = _NUMBERED_NAME.match(name)
    stem, first = (numbered.group(1), int(numbered.group(2)) + 1) if numbered else (name, 2)
    for number in range(first, first + 100_000):
        suffix = f" ({number})"
        base = stem
        while len((base + suffix).encode("utf-8")) > MAX_NAME_BYTES:
            base = base[:-1]
        candidate = base.rstrip(" .") + suffix
        if fold(candidate) not in folded:
            return candidate
    raise ModelExists(f"Could not find a free name starting with {name!r}.")


# ------------------------------------------------------------------------------- keys
# ``base`` is the file name without its suffix: a name's STEM, or, for a model saved by an
# earlier tuidash ("Random Forest.pkl"), the name itself.


def pkl_key(base: str) -> str:
    """The key of a model's latest pickle."""
    return f"{MODELS_DIR}/{base}.pkl"


def json_key(base: str) -> str:
    """The key of a model's latest metadata (its commit marker)."""
    return f"{METADATA_DIR}/{base}.json"


def pending_key(name: str) -> str:
    """The key of a name's pending JSON: the next metadata of a save in flight."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"{MODELS_DIR}/{PENDING_PREFIX}{digest}.json"


def rename_key(name: str) -> str:
    """The key of the marker of a rename of ``name`` in flight."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"{MODELS_DIR}/{RENAME_PREFIX}{digest}.json"


def versions_folder(base: str) -> str:
    """The folder of a name's earlier versions and history."""
    return f"{VERSIONS_DIR}/{base}"


def version_pkl_key(base: str, number: int) -> str:
    """The key of an earlier version's pickle."""
    return f"{VERSIONS_DIR}/{base}/v{number}.pkl"


def version_json_key(base: str, number: int) -> str:
    """The key of an earlier version's metadata."""
    return f"{VERSIONS_DIR}/{base}/v{number}.json"


def history_key(base: str) -> str:
    """The key of a name's append-only history."""
    return f"{VERSIONS_DIR}/{base}/{HISTORY_NAME}"


def key_in(folder: str, file_name: str) -> str:
    """The key of ``file_name`` in ``folder`` ("" is the store's top)."""
    return f"{folder}/{file_name}" if folder else file_name


# -------------------------------------------------------------------- versions, aliases

_VERSION_FILE = re.compile(r"v([1-9][0-9]{0,8})\.(pkl|json)")
_VERSION_REF = re.compile(r"[vV]([1-9][0-9]{0,8})")
_ALIAS = re.compile(r"[^\W\d][\w.-]{0,63}")
RESERVED_ALIASES = ("latest",)
"""Besides ``vN``: words that already mean a version."""


def version_file(file_name: str) -> tuple[int, str] | None:
    """(number, "pkl" | "json") for ``vN.pkl`` / ``vN.json``, else None."""
    found = _VERSION_FILE.fullmatch(file_name)
    return (int(found.group(1)), found.group(2)) if found else None


Selector = int | str | None
"""What a reference picks: a version number, an alias, or None for the latest."""


def parse_ref(ref: str) -> tuple[str, Selector]:
    """``NAME`` -> (NAME, None); ``NAME@v3`` -> (NAME, 3); ``NAME@prod`` -> (NAME, "prod")."""
    name, at, tail = ref.rpartition("@") if "@" in ref else (ref, "", "")
    if not at:
        return ref, None
    if tail == "latest":
        return name, None
    number = _VERSION_REF.fullmatch(tail)
    if number:
        return name, int(number.group(1))
    return name, tail


def alias_problem(alias: Any) -> str | None:
    """Why ``alias`` cannot name a version, as a sentence, or None if it can."""
    if not isinstance(alias, str) or not alias:
        return "An alias must be a non-empty word."
    if alias.lower() in RESERVED_ALIASES or _VERSION_REF.fullmatch(alias):
        return f"'{alias}' is reserved (latest and vN already name versions); pick another alias."
    if not _ALIAS.fullmatch(alias):
        return (
            f"The alias {alias[:40]!r} is not allowed: use a letter, then letters, digits, "
            "'.', '-' or '_' (at most 64)."
        )
    return None
