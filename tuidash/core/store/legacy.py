"""ModelPersistence: the original Streamlit app's store API, over the raising ModelStore.

The original app's methods keep their signatures and return shapes: writes return
``(ok, message)``, ``load_model`` returns None (the reason in ``last_error``), and
``loaded_models`` holds what ``load_all_models`` loaded. Each is a few lines over
``ModelStore``, whose raising methods (``save``, ``open_model``, ``delete`` ...) it keeps.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any

from tuidash.core.errors import StoreError
from tuidash.core.store.loading import settle
from tuidash.core.store.names import METADATA_DIR, MODELS_DIR
from tuidash.core.store.store import LoadEvent, ModelStore


class ModelPersistence(ModelStore):
    """The pkl + JSON model store with the original app's API, made crash-safe.

    ``loaded_models`` maps a name to its ``load_model`` result for every model that
    ``load_all_models`` loaded in this process.
    """

    def __init__(self, base_dir: str | os.PathLike[str] = "saved_models") -> None:
        """Open (and create) the store; clean temp files a crashed save left, if safe."""
        self.loaded_models: dict[str, dict[str, Any]] = {}
        """Name -> load_model() result of each model loaded in this process."""
        self.last_error: str | None = None
        """The message of the last load_model() that returned None."""
        super().__init__(base_dir)
        root = self.base_dir
        self.models_dir = root / MODELS_DIR if isinstance(root, Path) else f"{root}/{MODELS_DIR}"
        self.metadata_dir = (
            root / METADATA_DIR if isinstance(root, Path) else f"{root}/{METADATA_DIR}"
        )

    # --------------------------------------------------------- the original app's API

    def save_model(
        self, model_name: str, model_data: Mapping[str, Any], *, replace: bool = False
    ) -> tuple[bool, str]:
        """Save a model; (True, message) or (False, a sentence saying what went wrong).

        A taken name gets a new version: "Saved model 'X' as version 3; version 2 is kept
        as 'X@v2'." (``replace`` changes nothing: the earlier version is always kept).
        """
        try:
            return True, self.save(model_name, model_data, replace=replace)
        except StoreError as exc:
            return False, exc.message

    def load_model(self, model_name: str) -> dict[str, Any] | None:
        """Load one model; None (reason in ``last_error``) if it is missing or bad."""
        try:
            result = self.open_model(model_name)
        except StoreError as exc:
            self.last_error = exc.message
            return None
        self.last_error = None
        return result

    def delete_model(self, model_name: str) -> tuple[bool, str]:
        """Delete one model's files; (True, message) or (False, why not)."""
        try:
            return True, self.delete(model_name)
        except StoreError as exc:
            return False, exc.message

    def remove_entry(self, name: str) -> tuple[bool, str]:
        """Remove the files of a problem entry (damaged, refused or orphaned)."""
        return self.delete_model(name)

    def list_saved_models(self, *, predictions: bool = True) -> list[dict[str, Any]]:
        """Every good model's metadata from its JSON (see ``ModelStore.list_models``)."""
        return self.list_models(predictions=predictions)

    def load_all_models(self) -> tuple[int, int]:
        """Load every model into ``loaded_models``; (loaded_count, total_count)."""
        loaded = total = 0
        for event in self.iter_load(keep=True):
            total += 1
            loaded += event.ok
        return loaded, total

    def clear_all_saved_models(self) -> tuple[bool, str]:
        """Delete every model and problem entry (only files the store lists)."""
        try:
            return True, self.clear()
        except StoreError as exc:
            return False, exc.message

    def get_storage_info(self, *, verify: bool = False) -> dict[str, Any]:
        """Sizes, counts, free space and problems (see ``ModelStore.storage_report``).

        ``verify=True`` also checks every model not loaded in this process.
        """
        return self.storage_report(verify=verify, skip=self.loaded_models)

    # ------------------------------------- the raising API, keeping loaded_models true

    def save(self, name: str, data: Mapping[str, Any], replace: bool = False) -> str:
        """Save a model or raise a StoreError subclass; returns a confirmation sentence."""
        message = super().save(name, data, replace=replace)
        self.loaded_models.pop(name, None)
        return message

    def delete(self, name: str) -> str:
        """Delete a model (every version) or one version; raises a StoreError subclass."""
        message = super().delete(name)
        self.loaded_models.pop(name, None)
        return message

    def clear(self) -> str:
        """Delete every model and problem entry; raises a StoreError subclass."""
        message = super().clear()
        self.loaded_models.clear()
        return message

    def rollback(self, name: str, version: int | str) -> str:
        """``ModelStore.rollback``; the latest in ``loaded_models`` is stale after it."""
        message = super().rollback(name, version)
        self.loaded_models.pop(name, None)
        return message

    def rename(self, old: str, new: str) -> str:
        """``ModelStore.rename``; a loaded model moves to its new name."""
        if old in self.loaded_models:
            settle(self.loaded_models[old])  # its sample is read from the files it had
        message = super().rename(old, new)
        loaded = self.loaded_models.pop(old, None)
        if loaded is not None:
            self.loaded_models[new] = {**loaded, "name": new}
        return message

    def iter_load(
        self, names: Iterable[str] | None = None, *, keep: bool = False
    ) -> Generator[LoadEvent, None, None]:
        """``ModelStore.iter_load``; ``keep`` also puts results in ``loaded_models``."""
        events = super().iter_load(names)
        return self._keeping(events) if keep else events

    def _keeping(
        self, events: Generator[LoadEvent, None, None]
    ) -> Generator[LoadEvent, None, None]:
        with contextlib.closing(events):
            for event in events:
                if event.ok and event.result is not None:
                    self.loaded_models[event.name] = event.result
                yield event
