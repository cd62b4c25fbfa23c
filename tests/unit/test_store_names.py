"""Names a person types (issue 2, item 6): refused with a clear sentence, never rewritten,
never written outside the store, never sharing files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import files_under, fitted, model_data

from tuidash.core.store import InvalidModelName, ModelPersistence, free_name, name_problem, stem

BAD_NAMES = {
    "../../x": "/",
    "/abs": "/",
    "a/b": "/",
    "a\\b": "\\",
    "..": "not allowed",
    ".": "not allowed",
    "": "empty",
    "   ": "empty",
    "nul\x00byte": "NUL",
    "tab\there": "control",
    "new\nline": "control",
    "bell\x07": "control",
    "x" * 256: "bytes",
    "é" * 126: "bytes",
    "CON": "reserved",
    "con": "reserved",
    "nul.txt": "reserved",
    "COM1": "reserved",
    "lpt9.pkl": "reserved",
    "trailing dot.": "dot",
    "trailing space ": "space",
    " leading space": "space",
    ".hidden": "dot",
    "what?": "?",
    "a:b": ":",
    "a*b": "*",
    'say "hi"': '"',
    "a<b>": "<",
    "pipe|x": "|",
}


@pytest.mark.parametrize("name", list(BAD_NAMES), ids=lambda n: repr(n)[:30])
def test_bad_names_are_refused_with_a_sentence_and_nothing_is_written(tmp_path, name):
    base = tmp_path / "store"
    store = ModelPersistence(base)
    before = files_under(tmp_path)
    ok, message = store.save_model(name, model_data())
    assert not ok
    assert BAD_NAMES[name] in message
    assert message.endswith(".") and "Traceback" not in message
    assert files_under(tmp_path) == before
    with pytest.raises(InvalidModelName):
        store.check_name(name)
    # Reading with a bad name never raises either.
    assert store.load_model(name) is None
    assert store.delete_model(name)[0] is False


def test_long_names_up_to_the_limit_are_accepted(tmp_path):
    store = ModelPersistence(tmp_path / "store")
    name = "n" * 250
    assert store.save_model(name, model_data())[0]
    assert store.load_model(name) is not None
    assert "bytes" in name_problem("n" * 251)


def test_similar_names_are_separate_models(tmp_path):
    store = ModelPersistence(tmp_path / "store")
    names = ["a b", "a-b", "a.b", "Ünïcödé 模型", "Random Forest (2)", "50% split"]
    for index, name in enumerate(names):
        ok, message = store.save_model(name, model_data(params={"index": index}))
        assert ok, (name, message)
    listed = {e["name"]: e["params"]["index"] for e in store.list_saved_models()}
    assert listed == {name: index for index, name in enumerate(names)}
    # "a_b" has the files of "a b" (the original app's rule): refused, naming "a b".
    ok, message = store.save_model("a_b", model_data(params={"index": 99}))
    assert not ok and "'a b'" in message and "a_b.pkl" in message
    assert store.load_model("a b")["params"] == {"index": 0}


def test_unicode_forms_of_one_name_do_not_share_files(tmp_path):
    store = ModelPersistence(tmp_path / "store")
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert store.save_model(composed, model_data())[0]
    ok, message = store.save_model(decomposed, model_data())
    assert not ok and "already exists" in message


_name_chars = st.characters(codec="utf-8", exclude_categories=("Cs",))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.text(_name_chars, min_size=0, max_size=40))
def test_any_accepted_name_stays_inside_the_store_and_round_trips(name):
    with tempfile.TemporaryDirectory() as root:
        root_path = Path(root)
        base = root_path / "deep" / "store"
        store = ModelPersistence(base)
        ok, message = store.save_model(name, model_data(fitted("dummy")))
        if name_problem(name) is not None:
            assert not ok and message == name_problem(name)
            assert not any(p.name.endswith((".pkl", ".json")) for p in root_path.rglob("*"))
            return
        assert ok, message
        written = [p for p in root_path.rglob("*") if p.is_file()]
        for path in written:
            assert Path(os.path.realpath(path)).is_relative_to(os.path.realpath(base))
        assert (base / "models" / f"{stem(name)}.pkl").is_file()
        assert (base / "metadata" / f"{stem(name)}.json").is_file()
        assert [e["name"] for e in store.list_saved_models()] == [name]
        result = store.load_model(name)
        assert result is not None and result["metadata"]["model_name"] == name
        assert store.delete_model(name)[0]
        assert store.list_saved_models() == []


def test_free_name_without_a_store_follows_the_stores_case_rule():
    """The rule the app's name dialog can use: "Random Forest" is taken by "random forest"."""
    assert free_name("Random Forest", ["random forest"]) == "Random Forest (2)"
    assert free_name("Random Forest (2)", ["Random Forest", "RANDOM FOREST (2)"]) == (
        "Random Forest (3)"
    )
    assert free_name("Ridge", ["Random Forest"]) == "Ridge"
