"""Which repository files tuneops may read: regular files inside the repository, nothing else.

Nothing outside the repository is read because a config (or a symlink in it) says so, and a
FIFO or device is never opened (a FIFO's open would wait for a writer forever).
"""

from __future__ import annotations

import os
import stat
from functools import lru_cache
from pathlib import Path


def kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


@lru_cache(maxsize=16)
def _resolved(root: Path) -> Path:
    """The repository root, symlinks followed: resolved once, not once per file read."""
    return root.resolve()


def repository_file(root: Path, name: str | Path) -> tuple[Path, str]:
    """The file `name` (relative to `root`) resolves to, and why it may not be read ("" if
    it may): it must resolve, symlinks followed, to a regular file under the root."""
    base = _resolved(root)
    if "\0" in str(name):
        return base, f"{name} holds a NUL byte, which no file name can"
    path = Path(os.path.realpath(base / name))
    if not path.is_relative_to(base):
        return path, f"{name} is outside the repository"
    try:
        mode = path.stat().st_mode
    except OSError:
        return path, f"no such file {name}"
    if not stat.S_ISREG(mode):
        return path, f"{name} is {kind_of(mode)}, not a file"
    return path, ""
