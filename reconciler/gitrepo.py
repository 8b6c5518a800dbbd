"""Git at the edge: where the repository is and which commit the desired state comes from."""

from __future__ import annotations

from pathlib import Path

from reconciler.config import CONFIG_DIR


def _repo(start: Path) -> object | None:
    import git  # noqa: PLC0415 - gitpython spawns git lazily; keep `validate` import-light

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
    import git  # noqa: PLC0415

    repo = _repo(root)
    if not isinstance(repo, git.Repo):
        return ""
    try:
        return str(repo.head.commit.hexsha)
    except ValueError:
        return ""
