"""Git at the edge: the repository, its commit, its dirty files, and the tree at a base ref.

Everything is read from git objects through gitpython: nothing is checked out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from reconciler.errors import TuneopsError
from reconciler.layout import CONFIG_DIR


def _repo(start: Path) -> Any:
    import git  # noqa: PLC0415 - gitpython is imported only by commands that need git

    try:
        return git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def find_root(start: Path) -> Path:
    """The nearest directory at or above `start` with a configs/ directory, else `start`.

    The git top level is usually that directory, but a monorepo may keep configs/ deeper.
    """
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_DIR).is_dir():
            return candidate
    return start


def head_commit(root: Path) -> str:
    """The commit sha of HEAD, or "" outside git or before the first commit."""
    repo = _repo(root)
    if repo is None:
        return ""
    try:
        return str(repo.head.commit.hexsha)
    except ValueError:
        return ""


def _prefix(repo: Any, root: Path) -> PurePosixPath:
    return PurePosixPath(root.resolve().relative_to(Path(repo.working_tree_dir).resolve())
                         .as_posix())


def dirty_files(root: Path, paths: Iterable[str]) -> list[str]:
    """Uncommitted (staged, unstaged or untracked) files under `paths`, repo-relative."""
    repo = _repo(root)
    if repo is None:
        return []
    prefix = _prefix(repo, root)
    wanted = [str(prefix / path) for path in paths]
    changed = {item.a_path for item in repo.index.diff(None, paths=wanted)}
    if repo.head.is_valid():
        changed |= {item.a_path for item in repo.index.diff("HEAD", paths=wanted)}
    untracked = repo.git.ls_files("--others", "--exclude-standard", "--", *wanted)
    changed |= set(untracked.splitlines())
    return sorted(changed)


def _resolve(repo: Any, ref: str) -> Any:
    import git  # noqa: PLC0415

    try:
        return repo.commit(ref)
    except (git.BadName, ValueError):
        pass
    remote, _, branch = ref.partition("/")
    if not branch:
        # Not a remote's branch: nothing to fetch by name (HEAD~99, a sha, a tag, a typo).
        raise TuneopsError(f"cannot resolve base ref '{ref}': no such commit, branch or tag "
                           "here (in a shallow clone, `fetch-depth: 0` in actions/checkout "
                           "fetches the history)")
    if remote in [r.name for r in repo.remotes]:
        # A shallow clone (actions/checkout's default) lacks the base branch: fetch its tip.
        fetched = subprocess.run(
            ["git", "fetch", "--no-tags", "--depth=1", remote,
             f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"],
            cwd=repo.working_tree_dir, capture_output=True, text=True, check=False)
        if fetched.returncode == 0:
            return repo.commit(ref)
    raise TuneopsError(f"cannot resolve base ref '{ref}': fetch it first (`git fetch {remote} "
                       f"{branch}`, or `fetch-depth: 0` in actions/checkout)")


def export_tree(root: Path, ref: str, open_file: Callable[[str], AbstractContextManager[BinaryIO]],
                paths: Iterable[str]) -> None:
    """Writes `paths` (files or directories, root-relative) as of `ref`, each file through
    `open_file(its root-relative path)` (the write gate, which decides where it lands).

    Paths that do not exist at `ref` are skipped. A symbolic link comes out as a file that
    holds its target, as git stores it: nothing is followed.
    """
    repo = _repo(root)
    if repo is None:
        raise TuneopsError(f"--base needs a git repository; {root} is not in one")
    commit = _resolve(repo, ref)
    prefix = _prefix(repo, root)
    for path in paths:
        try:
            item = commit.tree / str(prefix / path)
        except KeyError:
            continue
        blobs = [item] if item.type == "blob" else [b for b in item.traverse()
                                                    if b.type == "blob"]
        for blob in blobs:
            with open_file(PurePosixPath(blob.path).relative_to(prefix).as_posix()) as stream:
                blob.stream_data(stream)
