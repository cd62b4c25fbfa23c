"""Model names: which are allowed, which would share files, free names, and their files' keys.

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
LOCK_NAME = ".tuidash.lock"
INDEX_NAME = ".tuidash-index.json"
TMP_PREFIX = ".tuidash-tmp-"
PENDING_PREFIX = ".tuidash-pending-"
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


def fold(name: str) -> str:
    """The key under which two names would share files on a case-insensitive disk."""
    return unicodedata.normalize("NFC", name).casefold()


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


def pkl_key(name: str) -> str:
    """The key of a model's pickle."""
    return f"{MODELS_DIR}/{name}.pkl"


def json_key(name: str) -> str:
    """The key of a model's metadata (its commit marker)."""
    return f"{METADATA_DIR}/{name}.json"


def pending_key(name: str) -> str:
    """The key of a name's pending JSON: the next metadata of a save in flight."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"{MODELS_DIR}/{PENDING_PREFIX}{digest}.json"


def key_in(folder: str, file_name: str) -> str:
    """The key of ``file_name`` in ``folder`` ("" is the store's top)."""
    return f"{folder}/{file_name}" if folder else file_name
