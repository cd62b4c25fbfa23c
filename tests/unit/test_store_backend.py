"""The store reaches its files only through its backend: a store kept in memory works the
same, and nothing touches the disk. Its errors are TuidashErrors with a message."""

from __future__ import annotations

import contextlib
import itertools
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from store_helpers import model_data

from tuidash.core import errors
from tuidash.core.store import (
    ModelDamaged,
    ModelExists,
    ModelNotFound,
    ModelPersistence,
    ModelStore,
    StoreError,
)
from tuidash.core.store.durable import DIGEST, TooLarge, digest_of, new_hasher


@dataclass(frozen=True)
class _Stat:
    st_mode: int
    st_ino: int
    st_size: int
    st_mtime_ns: int


@dataclass(frozen=True)
class _Entry:
    name: str
    info: _Stat

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return False

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return True

    def is_symlink(self) -> bool:
        return False

    def inode(self) -> int:
        return self.info.st_ino

    def stat(self, *, follow_symlinks: bool = True) -> _Stat:
        return self.info


class _NewFile:
    def __init__(self, backend: MemoryBackend, key: str) -> None:
        self._backend, self._key = backend, key
        self._data = bytearray()
        self._hash = new_hasher(DIGEST)
        self.size = 0

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._data += view
        self._hash.update(view)
        self.size += view.nbytes
        return view.nbytes

    def sync(self) -> None:
        self._backend.put(self._key, bytes(self._data))

    def digest(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        self.sync()


class MemoryBackend:
    """Files in a dict: keys -> (bytes, signature); every call is counted."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, tuple[bytes, _Stat]] = {}
        self.calls: dict[str, int] = {}
        self._ticks = itertools.count(1)
        self._lock = threading.RLock()

    def __getattribute__(self, attr: str) -> Any:
        if not attr.startswith("_") and attr not in ("root", "files", "calls", "put"):
            calls = object.__getattribute__(self, "calls")
            calls[attr] = calls.get(attr, 0) + 1
        return object.__getattribute__(self, attr)

    def put(self, key: str, data: bytes) -> None:
        tick = next(self._ticks)
        self.files[key] = (data, _Stat(stat.S_IFREG | 0o644, tick, len(data), tick))

    def _get(self, key: str) -> tuple[bytes, _Stat]:
        try:
            return self.files[key]
        except KeyError:
            raise FileNotFoundError(2, "no such key", key) from None

    def exists(self) -> bool:
        return True

    def make_folders(self) -> None:
        pass

    def scan(self, folder: str) -> list[_Entry]:
        return [
            _Entry(key.rpartition("/")[2], info)
            for key, (_, info) in self.files.items()
            if key.rpartition("/")[0] == folder
        ]

    def names(self, folder: str) -> list[str]:
        return [entry.name for entry in self.scan(folder)]

    def stat(self, key: str, *, follow_symlinks: bool = False) -> _Stat | None:
        found = self.files.get(key)
        return found[1] if found else None

    def read(self, key: str, limit: int | None = None) -> bytes:
        data = self._get(key)[0]
        if limit is not None and len(data) > limit:
            raise TooLarge(len(data))
        return data

    def read_hashed(
        self, key: str, want_hash: bool, chunk_size: int = 0, kind: str = DIGEST
    ) -> tuple[bytes, str]:
        data = self._get(key)[0]
        return data, digest_of(data, kind)

    def create(self, key: str) -> _NewFile:
        self.write_new(key, b"")
        return _NewFile(self, key)

    def write_new(self, key: str, data: bytes | memoryview) -> None:
        if key in self.files:
            raise FileExistsError(17, "exists", key)
        self.put(key, bytes(data))

    def write_atomic(self, key: str, data: bytes) -> None:
        self.put(key, data)

    def replace(self, source: str, target: str) -> None:
        self.files[target] = self._get(source)
        del self.files[source]

    def sync(self, folder: str) -> None:
        pass

    def link(self, source: str, target: str) -> None:
        self.files[target] = self._get(source)

    def remove(self, key: str) -> None:
        self._get(key)
        del self.files[key]

    def discard(self, key: str) -> None:
        self.files.pop(key, None)

    def append(self, key: str, line: bytes) -> None:
        old = self.files.get(key, (b"", None))[0]
        if old and not old.endswith(b"\n"):
            old += b"\n"
        self.put(key, old + line)

    def make_folder(self, folder: str) -> None:
        pass  # an object store has no folders

    def remove_folder(self, folder: str) -> None:
        pass

    def discard_later(self, keys: list[str]) -> None:
        for key in keys:
            self.discard(key)

    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        with self._lock:
            yield

    def free_bytes(self) -> int:
        return 10**9


def test_a_store_on_another_backend_saves_lists_loads_and_deletes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    backend = MemoryBackend(tmp_path / "never-created")
    store = ModelStore(backend=backend)

    assert store.save("Forest", model_data()) == "Saved model 'Forest'."
    with pytest.raises(ModelExists, match="'Forest' already exists"):
        store.save("forest", model_data())
    assert store.free_name("FOREST") == "FOREST (2)"
    assert sorted(backend.files) == [
        "metadata/Forest.json",
        "models/Forest.pkl",
        "versions/Forest/history.jsonl",
    ]

    for _ in range(2):  # the second listing comes from the listing cache
        rows = store.list_models(predictions=False)
        assert [(r["name"], r["metrics"]["MAE"], r["verified"]) for r in rows] == [
            ("Forest", 1.5, True)
        ]
    assert ".tuidash-index.json" in backend.files
    assert store.open_model("Forest")["params"] == {"alpha": 1.0}

    assert "saved as version 2" in store.save("Forest", model_data(params={"v": 2}))
    assert [e.result["params"] for e in store.iter_load() if e.result] == [{"v": 2}]
    assert store.open_model("Forest@v1")["params"] == {"alpha": 1.0}
    assert store.set_alias("Forest", "champion", 1) == "'Forest@champion' now is version 1."
    assert store.open_model("Forest@champion")["params"] == {"alpha": 1.0}
    assert [v["aliases"] for v in store.list_versions("Forest")] == [["champion"], []]
    assert "versions/Forest/v1.pkl" in backend.files  # a link (here: a copy) of the bytes

    data, _ = backend.files["models/Forest.pkl"]
    backend.put("models/Forest.pkl", data[:100] + bytes([data[100] ^ 1]) + data[101:])
    with pytest.raises(ModelDamaged, match="does not match the checksum"):
        store.open_model("Forest")
    report = store.storage_report()
    assert report["model_count"] == 0
    assert [p["name"] for p in report["problems"]] == ["Forest"]

    assert store.delete("Forest") == "Deleted model 'Forest' (2 versions)."
    with pytest.raises(ModelNotFound):
        store.open_model("Forest")
    assert store.list_models() == []
    assert sorted(backend.files) == [".tuidash-index.json"]
    assert {"scan", "read", "read_hashed", "create", "replace", "lock", "link", "append"} <= set(
        backend.calls
    )
    assert list(tmp_path.iterdir()) == []  # nothing reached the disk


def test_store_errors_are_tuidash_errors_with_one_sentence(tmp_path):
    for name in (
        "StoreError",
        "InvalidModelName",
        "ModelNotFound",
        "ModelExists",
        "ModelDamaged",
        "ModelRefused",
        "StoreWriteError",
        "InvalidModelData",
    ):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.TuidashError)
        assert getattr(__import__("tuidash.core.store", fromlist=[name]), name) is cls
    with pytest.raises(errors.TuidashError) as caught:
        ModelStore(tmp_path / "s").open_model("missing")
    assert isinstance(caught.value, StoreError)
    assert caught.value.message == "There is no model named 'missing'."
    assert issubclass(ModelPersistence, ModelStore)
