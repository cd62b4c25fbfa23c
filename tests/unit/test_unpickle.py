"""Restricted unpickling (issue 2, item 4): the allowlist covers every catalog model and
nothing a file asks for outside it ever runs."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import pickletools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from store_helpers import fitted, frame_and_target, model_data, original_entry, tuidash_entry

from tuidash.core.catalog import CATALOG
from tuidash.core.store import ModelPersistence
from tuidash.core.unpickle import ALLOWED_GLOBALS, UnpickleRefused, restricted_loads


class _Recorder(pickle.Unpickler):
    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.seen: set[tuple[str, str]] = set()

    def find_class(self, module: str, name: str) -> Any:
        self.seen.add((module, name))
        return super().find_class(module, name)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kind_id", list(CATALOG))
def test_every_catalog_model_saves_loads_and_predicts_the_same(tmp_path, kind_id):
    """fit -> save -> load -> identical predictions, numeric + categorical + missing."""
    params = {"n_estimators": 5} if kind_id == "random_forest" else {}
    if kind_id == "mlp":
        params = {"max_iter": 20}
    if kind_id == "gradient_boosting":
        params = {"max_iter": 10}
    model = fitted(kind_id, **params)
    recorder = _Recorder(pickle.dumps(model, protocol=5))
    recorder.load()
    assert recorder.seen <= ALLOWED_GLOBALS, recorder.seen - ALLOWED_GLOBALS

    store = ModelPersistence(tmp_path / "store")
    ok, message = store.save_model(kind_id, model_data(model))
    assert ok, message
    result = ModelPersistence(tmp_path / "store").load_model(kind_id)
    assert result is not None, kind_id
    frame, _ = frame_and_target()
    probe = frame.copy()
    probe.loc[0, "city"] = "Unseen city"
    loaded = result["model"]
    if kind_id == "random_forest":
        # Threaded tree averaging sums in a varying order; one thread makes it exact.
        loaded.set_params(model__n_jobs=1)
        model.set_params(model__n_jobs=1)
    np.testing.assert_array_equal(loaded.predict(probe), model.predict(probe))


def test_plain_estimators_of_the_original_app_load():
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.svm import SVR

    frame, target = frame_and_target()
    x = frame[["income"]].to_numpy()
    for model in (
        LinearRegression(),
        RandomForestRegressor(n_estimators=3, random_state=0),
        GradientBoostingRegressor(n_estimators=5, random_state=0),
        SVR(),
        KNeighborsRegressor(algorithm="ball_tree"),
    ):
        model.fit(x, target)
        for protocol in (2, 4, 5):
            loaded = restricted_loads(pickle.dumps(model, protocol=protocol))
            np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


# ------------------------------------------------------------------ hostile pickles


def _reduce_pickle(module: str, name: str, args: tuple[Any, ...]) -> bytes:
    """A protocol-2 pickle that calls module.name(*args) when loaded."""
    body = pickle.dumps(args, protocol=2)[2:-1]  # the args tuple, without PROTO/STOP
    return b"\x80\x02" + f"c{module}\n{name}\n".encode() + body + b"R."


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (os.system, (f"touch {self.marker}",))


def hostile_pickles(marker: Path) -> dict[str, bytes]:
    """Pickles that would create ``marker`` if anything in them ran."""
    code = f"open({str(marker)!r}, 'w').write('ran')"
    return {
        "reduce-os-system": pickle.dumps(_Evil(marker), protocol=5),
        "builtins-eval": _reduce_pickle("builtins", "eval", (code,)),
        "builtins-exec": _reduce_pickle("builtins", "exec", (code,)),
        "numpy-runstring-exec": _reduce_pickle(
            "numpy.testing._private.utils", "runstring", (code, {})
        ),
        "sklearn-run-script": _reduce_pickle(
            "sklearn.utils._testing", "assert_run_python_script_without_output", (code,)
        ),
        "subprocess-popen": _reduce_pickle("subprocess", "Popen", (["touch", str(marker)],)),
        "getattr-chain": _reduce_pickle("builtins", "getattr", ("text", "upper")),
        "dotted-name": b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00"
        + b"\x8c\x10sklearn.pipeline\x94\x8c\x19Pipeline.__init__.__doc__\x94\x93\x94.",
        # An allowed estimator wrapping a hostile callable inside its state.
        "nested-in-pipeline": pickle.dumps({"model": fitted(), "hook": _Evil(marker)}, protocol=5),
        # The allowlisted tuidash date step carrying a hostile callable in its state.
        "nested-in-date-step": pickle.dumps(_date_step_with(_Evil(marker)), protocol=5),
    }


def _date_step_with(hook: Any) -> Any:
    from tuidash.core.dates import DateFeatures

    step = DateFeatures()
    step.columns_, step.formats_, step.n_features_in_ = ["d"], {"d": hook}, 1
    return step


HOSTILE_KINDS = (
    "reduce-os-system",
    "builtins-eval",
    "builtins-exec",
    "numpy-runstring-exec",
    "sklearn-run-script",
    "subprocess-popen",
    "getattr-chain",
    "dotted-name",
    "nested-in-pipeline",
    "nested-in-date-step",
)


def test_hostile_kinds_list_is_complete(tmp_path):
    assert tuple(hostile_pickles(tmp_path / "m")) == HOSTILE_KINDS


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_restricted_loads_refuses_and_names_the_global(tmp_path, kind):
    marker = tmp_path / "marker"
    data = hostile_pickles(marker)[kind]
    with pytest.raises(UnpickleRefused) as caught:
        restricted_loads(data)
    assert not marker.exists()
    assert "." in caught.value.message and "refused" in caught.value.message


def test_hostile_pickles_never_run_from_the_store_and_show_as_refused(tmp_path):
    marker = tmp_path / "marker"
    base = tmp_path / "store"
    ModelPersistence(base).save_model("good", model_data())
    for kind, data in hostile_pickles(marker).items():
        # Half look like original-app entries (no checksum), half like tuidash ones.
        if len(kind) % 2:
            tuidash_entry(base, kind, data)
        else:
            original_entry(base, kind, pkl_bytes=data)
    store = ModelPersistence(base)
    names = [e["name"] for e in store.list_saved_models()]
    assert "good" in names
    assert store.load_model("reduce-os-system") is None
    assert "refused" in store.last_error and "posix.system" in store.last_error
    loaded, total = store.load_all_models()
    assert (loaded, total) == (1, 1 + len(hostile_pickles(marker)))
    problems = {p["name"]: p for p in store.get_storage_info()["problems"]}
    assert set(problems) == set(hostile_pickles(marker))
    assert all(p["kind"] == "refused" for p in problems.values())
    assert "builtins.eval" in problems["builtins-eval"]["reason"]
    assert "numpy.testing._private.utils.runstring" in problems["numpy-runstring-exec"]["reason"]
    # A fresh process-level view finds them by verifying, without a prior load.
    fresh = ModelPersistence(base).get_storage_info(verify=True)
    assert {p["name"] for p in fresh["problems"] if p["kind"] == "refused"} == set(problems)
    assert not marker.exists()


def test_a_flipped_byte_is_caught_by_the_checksum_before_unpickling(tmp_path, monkeypatch):
    store = ModelPersistence(tmp_path / "store")
    store.save_model("m", model_data(fitted("random_forest", n_estimators=5)))
    path = tmp_path / "store" / "models" / "m.pkl"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    import tuidash.core.unpickle as unpickle

    calls = []
    monkeypatch.setattr(unpickle, "restricted_loads", lambda *a: calls.append(a))
    monkeypatch.setattr(unpickle, "restricted_load", lambda *a: calls.append(a))
    assert store.load_model("m") is None
    assert "checksum" in store.last_error
    assert calls == []  # never reached the unpickler
    [problem] = store.get_storage_info()["problems"]
    assert problem["name"] == "m" and problem["kind"] == "damaged"
    assert "checksum" in problem["reason"]


def test_large_pickles_are_hashed_before_unpickling_too(tmp_path):
    """Pickles over the in-memory threshold are hashed in place; a flip is still caught."""
    from sklearn.dummy import DummyRegressor

    frame, target = frame_and_target()
    model = DummyRegressor().fit(frame[["income"]], target)
    model.fat_ = np.arange(1_000_000, dtype=np.float64)  # 8 MB
    store = ModelPersistence(tmp_path / "store")
    store.save_model("fat", model_data(model))
    result = store.load_model("fat")
    assert result is not None
    np.testing.assert_array_equal(result["model"].fat_, model.fat_)
    path = tmp_path / "store" / "models" / "fat.pkl"
    with open(path, "r+b") as handle:
        handle.seek(5_000_000)
        byte = handle.read(1)
        handle.seek(5_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert store.load_model("fat") is None
    assert "checksum" in store.last_error


def test_allowlist_holds_no_function_that_can_run_code():
    """Only classes and reconstructor helpers; never the usual gadgets."""
    forbidden_names = {"eval", "exec", "system", "getattr", "__import__", "open", "compile"}
    assert not any(name in forbidden_names for _, name in ALLOWED_GLOBALS)
    assert not any(module in ("os", "posix", "subprocess", "sys") for module, _ in ALLOWED_GLOBALS)
    sha = hashlib.sha256(repr(sorted(ALLOWED_GLOBALS)).encode()).hexdigest()
    assert len(sha) == 64  # the list is plain data in code, printable for review
    # Every entry resolves to a real object in this environment.
    from tuidash.core.unpickle import resolve_global

    for module, name in ALLOWED_GLOBALS:
        assert resolve_global(module, name) is not None


def test_opcodes_of_a_saved_model_use_only_protocol_5(tmp_path):
    store = ModelPersistence(tmp_path / "store")
    store.save_model("m", model_data())
    data = (tmp_path / "store" / "models" / "m.pkl").read_bytes()
    first = next(pickletools.genops(data))
    assert first[0].name == "PROTO" and first[1] == 5


# ------------------------------------------------------------------ date features


def _date_pipeline() -> tuple[Any, Any]:
    import pandas as pd

    from tuidash.core.training import TrainConfig, train_model

    days = pd.date_range("2020-01-01", periods=120, freq="5D")
    frame = pd.DataFrame(
        {
            "sold_on": days.strftime("%Y-%m-%d"),
            "stamp": days,
            "size": np.linspace(50, 150, 120),
        }
    )
    frame["price"] = 2 * frame["size"] + 10 * days.month.to_numpy()
    trained = train_model(frame, "ridge", None, TrainConfig(target="price"))
    return trained, frame.drop(columns="price").head(7)


def test_a_pipeline_with_date_features_names_only_the_exact_date_step(tmp_path):
    trained, rows = _date_pipeline()
    recorder = _Recorder(pickle.dumps(trained.pipeline, protocol=5))
    recorder.load()
    assert recorder.seen <= ALLOWED_GLOBALS, recorder.seen - ALLOWED_GLOBALS
    ours = {key for key in recorder.seen if key[0].startswith("tuidash")}
    assert ours == {("tuidash.core.dates", "DateFeatures")}
    store = ModelPersistence(tmp_path / "store")
    ok, message = store.save_model("dated", trained.to_model_data())
    assert ok, message
    loaded = ModelPersistence(tmp_path / "store").load_model("dated")
    assert loaded is not None
    np.testing.assert_array_equal(loaded["model"].predict(rows), trained.pipeline.predict(rows))


@pytest.mark.parametrize(
    "name",
    [
        ("tuidash.core.dates", "parse_dates"),
        ("tuidash.core.dates", "pd"),
        ("tuidash.core.dates", "BaseEstimator"),
        ("tuidash.core.dates", "DateFeatures.fit"),
        ("tuidash.core.training", "train_model"),
        ("tuidash.core", "dates"),
        ("tuidash.core.boost_labels", "np"),
        ("tuidash.core.boost_labels", "EncodedLabelsClassifier.fit"),
        ("tuidash.core.boosting", "fit_rounds"),
    ],
)
def test_nothing_else_of_tuidash_is_allowed(name):
    with pytest.raises(UnpickleRefused):
        restricted_loads(_reduce_pickle(*name, ()))
    # The date step, and the wrapper a boosting classifier is saved in (tuidash[boost]).
    assert {key for key in ALLOWED_GLOBALS if key[0].startswith("tuidash")} == {
        ("tuidash.core.dates", "DateFeatures"),
        ("tuidash.core.boost_labels", "EncodedLabelsClassifier"),
    }
