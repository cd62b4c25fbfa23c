"""Where a data file came from: the git commit of the repository it is in, if any.

Recorded in a saved model's ``data`` block so a version can be traced to the data it was
trained on. The commit is read from the repository's files (no ``git`` needed, no
network); whether the work tree had changes asks ``git status`` once, with a short
timeout, and is None when git is missing or slow. Any failure means "no git information".
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

STATUS_TIMEOUT = 2.0
"""Seconds ``git status`` may take before the dirty flag is given up (None)."""


def git_commit_of(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """{commit, branch, dirty, path} of the git work tree holding ``path``, else None.

    ``path`` is the data file's path inside the repository; ``dirty`` says whether
    tracked files had uncommitted changes (None if it could not be found out), and
    ``file_dirty`` whether the data file itself did.
    """
    try:
        file = Path(path).expanduser().resolve()
        if not file.exists():
            return None
        found = _find_repo(file.parent if file.is_file() else file)
        if found is None:
            return None
        top, git_dir = found
        commit, branch = _head(git_dir)
    except (OSError, ValueError, RuntimeError):
        return None
    if commit is None:
        return None  # a repository without a commit yet
    relative = file.relative_to(top).as_posix() if file.is_relative_to(top) else None
    dirty, file_dirty = _status(top, relative)
    return {
        "commit": commit,
        "branch": branch,
        "dirty": dirty,
        "file_dirty": file_dirty,
        "path": relative,
    }


def _find_repo(start: Path) -> tuple[Path, Path] | None:
    """(work tree top, git dir) of the nearest repository above ``start``."""
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return folder, dot_git
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text[len("gitdir:") :].strip())
                return folder, (target if target.is_absolute() else folder / target).resolve()
    return None


def _common_dir(git_dir: Path) -> Path:
    """Where refs live: the main repository's git dir for a linked worktree."""
    common = git_dir / "commondir"
    if common.is_file():
        target = Path(common.read_text(encoding="utf-8").strip())
        return (target if target.is_absolute() else git_dir / target).resolve()
    return git_dir


def _head(git_dir: Path) -> tuple[str | None, str | None]:
    """(commit, branch) that HEAD points at; branch None when detached."""
    head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    if not head.startswith("ref:"):
        return (head if _is_sha(head) else None), None
    ref = head[len("ref:") :].strip()
    branch = ref.removeprefix("refs/heads/")
    for folder in (git_dir, _common_dir(git_dir)):
        ref_file = folder / ref
        if ref_file.is_file():
            sha = ref_file.read_text(encoding="utf-8").strip()
            return (sha if _is_sha(sha) else None), branch
    packed = _common_dir(git_dir) / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref and _is_sha(parts[0]):
                return parts[0], branch
    return None, branch


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def _status(top: Path, relative: str | None) -> tuple[bool | None, bool | None]:
    """(work tree dirty, data file dirty) from one ``git status``; (None, None) if unknown."""
    try:
        done = subprocess.run(
            ["git", "-C", str(top), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            timeout=STATUS_TIMEOUT,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"},
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None, None
    if done.returncode != 0:
        return None, None
    changed = [line[3:] for line in done.stdout.decode("utf-8", "replace").splitlines()]
    file_dirty = (
        None
        if relative is None
        else any(
            entry == relative or entry.endswith(f" -> {relative}") or entry == f'"{relative}"'
            for entry in changed
        )
    )
    return bool(changed), file_dirty
