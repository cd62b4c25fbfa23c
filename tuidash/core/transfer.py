"""Move models between stores: export a saved pkl+json pair, import an audited pickle.

Import never trusts the file: the pickle is read with the store's restricted unpickler
(``tuidash.core.unpickle``), so a file that would run code is refused before anything
runs, and the accepted object is saved again through the store with fresh metadata.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tuidash.core.errors import TuidashError
from tuidash.core.store.documents import recorded_digest
from tuidash.core.store.durable import DIGEST, DIGEST_KINDS, digest_of, new_hasher

if TYPE_CHECKING:
    from tuidash.core.store import ModelPersistence

METRIC_NAMES = ("MAE", "MSE", "RMSE", "MAPE", "R2")
NO_METRICS = "imported without metrics"
MAX_IMPORT_BYTES = 4 * 1024**3
"""A pickle bigger than this is refused before it is read into memory."""


class TransferError(TuidashError, ValueError):
    """An export or import that cannot be done; the message says why in one sentence."""


@dataclass
class ImportResult:
    """What was imported: its name in the store, kind, metrics and feature names."""

    name: str
    model_type: str | None
    metrics: dict[str, float | None]
    metric_reasons: dict[str, str]
    features: list[str]
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- export


def model_files(store: ModelPersistence, name: str) -> tuple[Path, Path]:
    """The (pkl, json) paths of a saved model, as the store names them."""
    paths = getattr(store, "paths_for", None) or getattr(store, "model_paths", None)
    if callable(paths):
        pkl, meta = paths(name)
        return Path(pkl), Path(meta)
    base = Path(store.base_dir)
    return base / "models" / f"{name}.pkl", base / "metadata" / f"{name}.json"


def export_model(
    store: ModelPersistence,
    name: str,
    dest_dir: Path,
    *,
    replace: bool = False,
    file_stem: str | None = None,
) -> list[Path]:
    """Copy a saved model's .pkl and .json into ``dest_dir``; the pkl's checksum is checked.

    ``file_stem`` names the copies (``Forest@v2`` for an earlier version, whose files in
    the store are ``v2.pkl|json``); default: the store's file names."""
    pkl, meta = model_files(store, name)
    if not pkl.is_file() or not meta.is_file():
        raise TransferError(f"The files of model {name!r} are not in {store.base_dir}.")
    dest = Path(dest_dir).expanduser().absolute()
    if dest.exists() and not dest.is_dir():
        raise TransferError(f"Cannot export to {dest_dir}: it is a file, not a folder.")
    if file_stem is not None:
        targets = [dest / f"{file_stem}.pkl", dest / f"{file_stem}.json"]
    else:
        targets = [dest / pkl.name, dest / meta.name]
    existing = [t for t in targets if t.exists()]
    if existing and not replace:
        shown = ", ".join(str(t) for t in existing)
        raise TransferError(
            f"{shown} already exist{'s' if len(existing) == 1 else ''}; "
            "pass --replace to overwrite."
        )
    try:
        metadata = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TransferError(f"The metadata of model {name!r} cannot be read: {error}.") from None
    model_file = metadata.get("model_file") if isinstance(metadata, dict) else None
    try:
        kind, expected = recorded_digest(model_file) if isinstance(model_file, dict) else ("", "")
    except KeyError:
        kind, expected = "", ""
    dest.mkdir(parents=True, exist_ok=True)
    digest = _copy_atomic(pkl, targets[0], kind or DIGEST)
    if expected and digest != expected:
        targets[0].unlink(missing_ok=True)
        raise TransferError(
            f"The model file of {name!r} does not match the checksum in its metadata "
            "(it is damaged); nothing was exported."
        )
    _copy_atomic(meta, targets[1])
    return targets


def _copy_atomic(source: Path, target: Path, kind: str = DIGEST) -> str:
    """Copy through a temp file in the target folder; return the checksum ``kind`` of what
    was copied."""
    digest = new_hasher(kind)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as out, source.open("rb") as src:
            while chunk := src.read(1024 * 1024):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    shutil.copymode(source, target)
    return str(digest.hexdigest())


# --------------------------------------------------------------------------- files for people


def write_file_atomic(target: Path, write: Callable[[IO[str]], None]) -> Path:
    """Write a text file (CSV export) through a temp file and a rename; return ``target``.

    The file gets the permissions new files get from the umask, like any file the user
    writes: ``tempfile.mkstemp`` would make every export private (0600). A crash leaves the
    old file or the new one, never half a file.
    """
    target = Path(target)
    for _ in range(100):
        temp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        break
    else:  # pragma: no cover - 100 random names taken
        raise TransferError(f"Could not create a temporary file in {target.parent}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


_UNSAFE_IN_FILE_NAMES = re.compile(r"[\x00-\x1f\x7f/\\]+")


def export_stem(what: str, model_name: str) -> str:
    """A file name stem that says which model made an export: ``predictions-Random Forest``."""
    model = _UNSAFE_IN_FILE_NAMES.sub("_", model_name).strip().lstrip(".")[:80]
    return f"{what}-{model}" if model else what


# --------------------------------------------------------------------------- save elsewhere


def folder_problem(folder: str | Path) -> str | None:
    """Why a store cannot be written in ``folder``, as one sentence, or None when it can."""
    path = Path(folder).expanduser().absolute()
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing != path:
        if not existing.is_dir():
            return f"{path} cannot be created: {existing} is a file, not a folder."
        if not os.access(existing, os.W_OK | os.X_OK):
            return f"{path} cannot be created: no permission to write in {existing}."
        return None
    if not path.is_dir():
        return f"{path} is a file, not a folder."
    for part in (path, path / "models", path / "metadata"):
        if part.exists() and not part.is_dir():
            return f"{part} is a file, not a folder."
        if part.exists() and not os.access(part, os.W_OK | os.X_OK):
            return f"There is no permission to write in {part}."
    return None


def save_elsewhere(
    folder: str | Path, name: str, model_data: Mapping[str, Any]
) -> tuple[str, list[Path]]:
    """Save a model into ``folder`` as a store of its own (models/ + metadata/).

    Returns the name used (a free one, "NAME (2)", when the folder has a model of that
    name: nothing there is replaced) and the two files written. ``tuidash --store FOLDER``
    lists and loads it.
    """
    from tuidash.core.store import ModelPersistence, StoreError

    if not str(folder).strip():
        raise TransferError("Type the folder to save the model in.")
    path = Path(folder).expanduser().absolute()
    problem = folder_problem(path)
    if problem:
        raise TransferError(f"Cannot save there: {problem}")
    try:
        store = ModelPersistence(path)
        free = store.free_name(name)
        store.save(free, model_data)
    except StoreError as error:
        raise TransferError(error.message) from None
    except OSError as error:
        raise TransferError(f"Cannot save in {path}: {error.strerror or error}.") from None
    return free, list(model_files(store, free))


# --------------------------------------------------------------------------- import


def audit_pickle(path: Path) -> tuple[Any, dict[str, str]]:
    """Read a pickle with the restricted unpickler; return (model, its checksums by kind)
    or raise."""
    from tuidash.core.unpickle import UnpickleRefused, restricted_loads

    shown = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise TransferError(f"{shown}: no such file.") from None
    if path.is_dir():
        raise TransferError(f"{shown} is a folder, not a .pkl file.")
    if size > MAX_IMPORT_BYTES:
        raise TransferError(f"{shown} is larger than {MAX_IMPORT_BYTES // 1024**3} GB; refused.")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise TransferError(f"Cannot read {shown}: permission denied.") from None
    digests = {kind: digest_of(data, kind) for kind in DIGEST_KINDS}
    try:
        model = restricted_loads(data)
    except UnpickleRefused as error:
        reason = error.message.removesuffix(", so it was refused")
        raise TransferError(f"Refused to import {shown}: {reason}.") from None
    except MemoryError:
        raise TransferError(f"{shown} does not fit in memory.") from None
    except Exception:  # not a pickle, or a damaged one: the unpickler's words mean nothing here
        raise TransferError(
            f"{shown} is not a readable model pickle; import expects a .pkl file holding a "
            "fitted model, such as one tuidash exported."
        ) from None
    if not callable(getattr(model, "predict", None)):
        raise TransferError(
            f"{shown} holds a {type(model).__name__}, not a fitted model with a predict method."
        )
    return model, digests


def read_import_metadata(path: Path, pkl_digests: Mapping[str, str]) -> dict[str, Any]:
    """Parse a metadata JSON given with an import; it must describe this pickle."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TransferError(f"{shown}: no such file.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise TransferError(f"Cannot read {shown}: {error}.") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise TransferError(f"{shown} is not valid JSON ({error}).") from None
    if not isinstance(document, dict):
        raise TransferError(f"{shown} is not a model metadata file (expected a JSON object).")
    model_file = document.get("model_file")
    for kind in DIGEST_KINDS:
        recorded = model_file.get(kind) if isinstance(model_file, dict) else None
        if isinstance(recorded, str) and recorded and recorded != pkl_digests.get(kind):
            raise TransferError(
                f"{shown} describes a different pickle (its {kind} checksum does not match); "
                "pass the matching JSON or none."
            )
    return document


def metrics_from_metadata(
    document: Mapping[str, Any] | None,
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Metric values and reasons from imported metadata; unknown ones are null with a reason."""
    raw = document.get("metrics") if document else None
    if not isinstance(raw, Mapping):
        return {m: None for m in METRIC_NAMES}, {m: NO_METRICS for m in METRIC_NAMES}
    given_reasons = document.get("metric_reasons") if document else None
    given_reasons = given_reasons if isinstance(given_reasons, Mapping) else {}
    values: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    for name in METRIC_NAMES:
        value = raw.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            values[name] = float(value)
            continue
        values[name] = None
        if isinstance(given_reasons.get(name), str):
            reasons[name] = given_reasons[name]
        elif value is None and name not in raw:
            reasons[name] = "not recorded in the imported metadata"
        else:
            reasons[name] = "not a finite number in the imported metadata"
    return values, reasons


def _final_estimator(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        return steps[-1][1]
    return model


def _guess_model_type(model: Any, document: Mapping[str, Any] | None) -> str | None:
    from tuidash.core.catalog import CATALOG, kind_for_display_name

    stated = document.get("model_type") if document else None
    if isinstance(stated, str):
        if stated in CATALOG:
            return stated
        kind = kind_for_display_name(stated)
        if kind is not None:
            return kind.id
    class_name = type(_final_estimator(model)).__name__
    for kind in CATALOG.values():
        if kind.estimator.rpartition(".")[2] == class_name:
            return kind.id
    return None


def _simple_params(model: Any) -> dict[str, Any]:
    """The final estimator's constructor parameters that are plain JSON values."""
    get_params = getattr(_final_estimator(model), "get_params", None)
    if not callable(get_params):
        return {}
    params = {}
    for key, value in get_params(deep=False).items():
        plain = value is None or isinstance(value, bool | int | str)
        if plain or (isinstance(value, float) and math.isfinite(value)):
            params[key] = value
        elif isinstance(value, tuple | list) and all(isinstance(v, int | float) for v in value):
            params[key] = list(value)
    return params


def _features(model: Any, document: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    data = document.get("data") if document else None
    if isinstance(data, Mapping) and isinstance(data.get("features"), list):
        out = []
        for item in data["features"]:
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                out.append(dict(item))
        if out:
            return out
    from tuidash.core.pipeline import features_from_pipeline

    return list(features_from_pipeline(model) or [])


def _predictions(document: Mapping[str, Any] | None) -> dict[str, Any]:
    raw = document.get("predictions") if document else None
    empty: dict[str, Any] = {"y_pred": [], "y_test": [], "feature_importance": None}
    if not isinstance(raw, Mapping):
        return empty
    y_pred, y_test = raw.get("y_pred"), raw.get("y_test")
    if not (isinstance(y_pred, list) and isinstance(y_test, list) and len(y_pred) == len(y_test)):
        return empty
    if not all(_is_number_or_null(v) for v in [*y_pred, *y_test]):
        return empty
    importance = raw.get("feature_importance")
    if not (
        isinstance(importance, Mapping) and all(_is_number_or_null(v) for v in importance.values())
    ):
        importance = None
    return {"y_pred": y_pred, "y_test": y_test, "feature_importance": importance}


def _is_number_or_null(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def import_model(
    store: ModelPersistence,
    pkl_path: Path,
    *,
    metadata_path: Path | None = None,
    name: str | None = None,
    replace: bool = False,
) -> ImportResult:
    """Audit a pickle and save it into the store under a name, with fresh metadata."""
    pkl_path = Path(pkl_path).expanduser()
    model, digest = audit_pickle(pkl_path)
    document = read_import_metadata(Path(metadata_path), digest) if metadata_path else None
    if name is None:
        stated = document.get("model_name") if document else None
        name = stated if isinstance(stated, str) and stated.strip() else pkl_path.stem
    store.check_name(name)
    existing = {e.get("name") for e in store.list_saved_models()}
    if name in existing and not replace:
        raise TransferError(
            f"A model named {name!r} already exists; pass --replace to save this as its "
            "next version (the earlier ones are kept) or --name to choose another name."
        )
    metrics, reasons = metrics_from_metadata(document)
    model_type = _guess_model_type(model, document)
    features = _features(model, document)
    params = document.get("params") if document else None
    params = dict(params) if isinstance(params, Mapping) else _simple_params(model)
    data: dict[str, Any] = {}
    if document and isinstance(document.get("data"), Mapping):
        data.update(document["data"])
    data["features"] = features
    data.setdefault("source", f"imported from {pkl_path.absolute()}")
    model_data: dict[str, Any] = {
        "model": model,
        "metrics": metrics,
        "metric_reasons": reasons,
        "params": params,
        "predictions": _predictions(document),
        "task": "regression",
        "data": data,
    }
    if model_type is not None:
        model_data["model_type"] = model_type
    for key in ("train_seconds", "cv", "predictions_total"):
        if document and document.get(key) is not None:
            model_data[key] = document[key]
    ok, message = store.save_model(name, model_data, replace=replace)
    if not ok:
        raise TransferError(message)
    notes = []
    if not features:
        notes.append("The model has no recorded feature names; predict passes every column.")
    return ImportResult(
        name=name,
        model_type=model_type,
        metrics=metrics,
        metric_reasons=reasons,
        features=[f["name"] for f in features],
        notes=notes,
    )
