"""QA round 2 of the CLI: predict -o never replaces a file unasked (nor the data), problem
entries can be deleted as the storage listing names them, classifier versions show their
metrics, messages read as sentences, --n-iter only with --search random."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tuidash import cli


def write_table(path: Path, rows: int = 30, *, target: bool = True) -> Path:
    """A small regression table: a, b and (optionally) the target y."""
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["a", "b", "y"] if target else ["a", "b"])
        for i in range(rows):
            row = [i, i % 5, 2 * i + 1]
            writer.writerow(row if target else row[:2])
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``tuidash ARGV`` in-process; (exit code, stdout, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as exit_info:
        code = int(exit_info.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def dummy_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A store with one Dummy model trained on ``tmp_path/train.csv``."""
    data = write_table(tmp_path / "train.csv")
    store = tmp_path / "store"
    argv = ["train", str(data), "--target", "y", "--model", "dummy", "--store", str(store)]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    return store


# ---------------------------------------------------------------- 1. predict -o


def test_predict_refuses_to_replace_an_existing_output_file(
    tmp_path: Path, dummy_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = write_table(tmp_path / "new.csv", rows=4, target=False)
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    argv = ["predict", "Dummy", str(new), "-o", str(out), "--store", str(dummy_store)]
    code, stdout, err = run(argv, capsys)
    assert code == 1
    assert str(out) in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1
    assert out.read_text() == "keep me\n"

    code, stdout, err = run([*argv, "--overwrite"], capsys)
    assert code == 0, err
    assert "Wrote 4 predictions" in stdout
    assert out.read_text().splitlines()[0] == "a,b,prediction"


@pytest.mark.parametrize("overwrite", [False, True])
def test_predict_never_writes_over_the_data_being_predicted(
    tmp_path: Path, dummy_store: Path, capsys: pytest.CaptureFixture[str], overwrite: bool
) -> None:
    data = tmp_path / "train.csv"
    before = data.read_text()
    argv = ["predict", "Dummy", str(data), "-o", str(data), "--store", str(dummy_store)]
    code, _, err = run([*argv, "--overwrite"] if overwrite else argv, capsys)
    assert code == 1
    assert "is the data being predicted; choose another output file." in err
    assert data.read_text() == before


# ---------------------------------------------------------------- 2. delete a problem entry


def ghost_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A store whose model 'Ghost one' lost its pickle: storage lists it as Ghost_one."""
    data = write_table(tmp_path / "train.csv")
    store = tmp_path / "store"
    argv = ["train", str(data), "--target", "y", "--model", "dummy", "--name", "Ghost one"]
    code, _, err = run([*argv, "--store", str(store)], capsys)
    assert code == 0, err
    (store / "models" / "Ghost_one.pkl").unlink()
    return store


@pytest.mark.parametrize("spelling", ["Ghost_one", "Ghost one"])
def test_the_storage_advice_removes_a_damaged_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spelling: str
) -> None:
    store = ghost_store(tmp_path, capsys)
    code, out, _ = run(["storage", "--store", str(store)], capsys)
    assert "Ghost_one" in out and "damaged" in out
    assert "Remove one with: tuidash models delete NAME" in out

    code, out, err = run(["models", "delete", spelling, "--yes", "--store", str(store)], capsys)
    assert code == 0, err
    assert "metadata/Ghost_one.json" in out
    assert not (store / "metadata" / "Ghost_one.json").exists()
    code, out, _ = run(["storage", "--store", str(store)], capsys)
    assert code == 0 and "Ghost_one" not in out and "problem" not in out


def test_a_good_model_is_not_deleted_by_its_file_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_table(tmp_path / "train.csv")
    store = tmp_path / "store"
    argv = ["train", str(data), "--target", "y", "--model", "dummy", "--name", "Ghost one"]
    assert run([*argv, "--store", str(store)], capsys)[0] == 0
    code, _, err = run(["models", "delete", "Ghost_one", "--yes", "--store", str(store)], capsys)
    assert code == 1 and "No model named 'Ghost_one'" in err
    assert (store / "models" / "Ghost_one.pkl").exists()


# ---------------------------------------------------------------- 3. classifier versions


def test_classifier_versions_show_classification_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "cls.csv"
    with data.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["a", "b", "y"])
        for i in range(80):
            writer.writerow([i, i % 2, "yes" if i % 2 else "no"])
    store = tmp_path / "store"
    for model in ("dummy", "decision_tree"):
        argv = ["train", str(data), "--target", "y", "--model", model, "--name", "C"]
        code, _, err = run([*argv, "--store", str(store)], capsys)
        assert code == 0, err
    code, out, err = run(["models", "versions", "C", "--store", str(store)], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["VER", "SAVED", "BAL.ACC", "ACCURACY"]
    first, second = (line.replace(" *", "").split() for line in lines[2:4])
    # The baseline guesses one class (0.5 balanced); the tree learns the rule (1.0).
    assert first[3] == "0.5" and second[3] == "1"


# ---------------------------------------------------------------- 4. messages


def test_several_predict_problems_read_as_sentences(
    tmp_path: Path, dummy_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = tmp_path / "new.csv"
    new.write_text("a\nten\neleven\n")  # 'b' missing, 'a' holds text
    code, _, err = run(["predict", "Dummy", str(new), "--store", str(dummy_store)], capsys)
    assert code == 1
    assert "missing the column the model needs: 'b'. Column 'a' should hold numbers" in err
    assert ".;" not in err


def test_importing_a_data_file_says_what_file_is_expected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_table(tmp_path / "houses.csv")
    store = tmp_path / "store"
    code, _, err = run(["models", "import", str(data), "--store", str(store)], capsys)
    assert code == 1
    assert f"{data} is not a readable model pickle; import expects a .pkl file" in err
    assert "MARK" not in err and "(" not in err


# ---------------------------------------------------------------- 5. --n-iter


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--search", "grid", "--n-iter", "5"], "a grid search tries every combination"),
        (["--n-iter", "20"], "add --search random"),
    ],
)
def test_n_iter_without_a_random_search_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], words: str
) -> None:
    data = write_table(tmp_path / "train.csv")
    store = tmp_path / "store"
    argv = ["train", str(data), "--target", "y", "--model", "ridge", "--store", str(store)]
    code, out, err = run([*argv, *extra], capsys)
    assert code == 2
    assert "--n-iter is for --search random" in err and words in err
    assert not store.exists() and out == ""
