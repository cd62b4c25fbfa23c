"""The git commit of a data file's repository (issue 12): recorded with each version."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tuidash.core.provenance import git_commit_of

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "HOME": str(repo),
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "houses.csv").write_text("a,b\n1,2\n")
    (folder / "notes.txt").write_text("x\n")
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", ".")
    _git(folder, "commit", "-q", "-m", "data")
    return folder


@needs_git
def test_a_clean_work_tree_gives_its_commit_and_branch(repo: Path) -> None:
    info = git_commit_of(repo / "data" / "houses.csv")
    assert info == {
        "commit": _git(repo, "rev-parse", "HEAD"),
        "branch": "main",
        "dirty": False,
        "file_dirty": False,
        "path": "data/houses.csv",
    }


@needs_git
def test_changes_in_the_work_tree_and_in_the_file_are_told_apart(repo: Path) -> None:
    (repo / "notes.txt").write_text("changed\n")
    info = git_commit_of(repo / "data" / "houses.csv")
    assert info is not None and (info["dirty"], info["file_dirty"]) == (True, False)
    (repo / "data" / "houses.csv").write_text("a,b\n1,3\n")
    info = git_commit_of(repo / "data" / "houses.csv")
    assert info is not None and (info["dirty"], info["file_dirty"]) == (True, True)


@needs_git
def test_packed_refs_and_a_detached_head_are_read_without_git(repo: Path, monkeypatch) -> None:
    head = _git(repo, "rev-parse", "HEAD")
    _git(repo, "pack-refs", "--all")
    monkeypatch.setenv("PATH", "")  # no git binary: the commit still comes from the files
    info = git_commit_of(repo / "data" / "houses.csv")
    assert info is not None and info["commit"] == head and info["dirty"] is None
    monkeypatch.undo()
    _git(repo, "checkout", "-q", "--detach")
    info = git_commit_of(repo / "data" / "houses.csv")
    assert info is not None and (info["commit"], info["branch"]) == (head, None)


def test_outside_a_repository_or_for_no_file_there_is_nothing(tmp_path: Path) -> None:
    (tmp_path / "plain.csv").write_text("a\n1\n")
    assert git_commit_of(tmp_path / "plain.csv") is None
    assert git_commit_of(tmp_path / "missing.csv") is None
    assert git_commit_of("sample:diabetes") is None


@needs_git
def test_a_trained_model_records_the_commit_of_its_data_file(repo: Path) -> None:
    from tuidash.core.data import read_table
    from tuidash.core.training import TrainConfig, train_model

    rows = "\n".join(f"{i},{i * 2 + 1}" for i in range(40))
    (repo / "data" / "line.csv").write_text("x,y\n" + rows + "\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "line")
    trained = train_model(
        read_table(repo / "data" / "line.csv"), "linear_regression", {}, TrainConfig(target="y")
    )
    git = trained.to_model_data()["data"]["git"]
    assert git["commit"] == _git(repo, "rev-parse", "HEAD") and git["dirty"] is False
    assert git["path"] == "data/line.csv"
