"""Files written for people (exports) follow the umask; a model can be saved in another folder."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tuidash.core.transfer import (
    TransferError,
    export_stem,
    folder_problem,
    save_elsewhere,
    write_file_atomic,
)

REPO = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_027() -> object:
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_an_export_gets_the_permissions_the_umask_gives(tmp_path: Path, umask_027: object) -> None:
    target = write_file_atomic(tmp_path / "out.csv", lambda stream: stream.write("a,b\n1,2\n"))
    assert target.read_text() == "a,b\n1,2\n"
    assert mode(target) == 0o640  # 0666 less the umask, not mkstemp's 0600
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temp file left


def test_a_failed_export_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def broken(stream: object) -> None:
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_file_atomic(target, broken)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_export_names_say_which_model_made_them() -> None:
    assert export_stem("predictions", "Random Forest") == "predictions-Random Forest"
    assert export_stem("predictions", "a/b\\c\x00") == "predictions-a_b_c_"
    assert export_stem("predictions", "..") == "predictions"


def test_predict_output_on_the_command_line_follows_the_umask(
    tmp_path: Path, saved_models: object
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    saved_models(store, [("Forest", "random_forest", {"n_estimators": 3})])  # type: ignore[operator]
    out = tmp_path / "predictions.csv"
    env = {k: v for k, v in os.environ.items() if k not in ("TUIDASH_STORE", "TUIDASH_DEBUG")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    argv = [sys.executable, "-m", "tuidash", "--store", str(store)]
    result = subprocess.run(
        [*argv, "predict", "Forest", "sample", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert result.returncode == 0, result.stderr
    assert mode(out) == 0o644


# --------------------------------------------------------------------------- save elsewhere


def trained_data() -> dict[str, object]:
    from tuidash.core.data import sample_dataset
    from tuidash.core.training import TrainConfig, train_model

    trained = train_model(sample_dataset(), "ridge", None, TrainConfig("target"))
    return trained.to_model_data()


def test_a_model_saved_elsewhere_is_a_store_entry_that_loads(tmp_path: Path) -> None:
    from tuidash.core.store import ModelPersistence

    folder = tmp_path / "rescue"  # does not exist yet: it is created
    name, files = save_elsewhere(folder, "Ridge", trained_data())
    assert name == "Ridge"
    assert files == [folder / "models" / "Ridge.pkl", folder / "metadata" / "Ridge.json"]
    loaded = ModelPersistence(folder).load_model("Ridge")
    assert loaded is not None and hasattr(loaded["model"], "predict")
    # A second model of the same name never replaces the first.
    again, _ = save_elsewhere(folder, "Ridge", trained_data())
    assert again == "Ridge (2)"
    assert {e["name"] for e in ModelPersistence(folder).list_saved_models()} == {
        "Ridge",
        "Ridge (2)",
    }


def test_saving_elsewhere_into_a_file_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    with pytest.raises(TransferError) as caught:
        save_elsewhere(blocker, "Ridge", trained_data())
    assert caught.value.message == f"Cannot save there: {blocker} is a file, not a folder."
    with pytest.raises(TransferError) as caught:
        save_elsewhere("  ", "Ridge", trained_data())
    assert caught.value.message == "Type the folder to save the model in."


def test_folder_problems_in_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert folder_problem(tmp_path) is None
    assert folder_problem(tmp_path / "new" / "deeper") is None
    assert folder_problem(blocker) == f"{blocker} is a file, not a folder."
    assert folder_problem(blocker / "store") == (
        f"{blocker / 'store'} cannot be created: {blocker} is a file, not a folder."
    )
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "models").write_text("x")
    assert folder_problem(tmp_path / "store") == (
        f"{tmp_path / 'store' / 'models'} is a file, not a folder."
    )
