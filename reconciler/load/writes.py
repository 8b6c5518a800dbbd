"""Where tuneops may write: the one gate every write goes through, as files.py is for reads.

A path resolves, symlinks followed, inside the repository, or inside a temporary directory
tuneops made (`scratch`); a committed symlink is never written through to outside. Every file
is written atomically: to a temporary file in its destination directory, renamed into place
at the end, and removed on error, so a reader sees the old file or the new one, never half.

- Repository files (`reconcile init`'s): wherever they resolve inside the repository.
- tuneops' own state (`.reconciler/`: the dataset cache, the embedded emulator, the error
  log): no symbolic link at all, in its path below the root or inside it.
- Paths the user types (`plan --out`, `convert-dataset`'s output): inside the repository as
  repository files are; outside it, written where they say (the user chose the place, no
  file of the repository did).
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from reconciler.errors import TuneopsError, one_line


class WriteRefused(TuneopsError):
    """A write the gate does not allow; nothing was written."""


def _shown(path: Path | str) -> str:
    return one_line(str(path))


def _no_nul(path: Path | str) -> None:
    if "\0" in str(path):
        raise WriteRefused(f"{_shown(path)}: a path cannot hold a NUL byte; nothing was "
                           "written")


def _inside(path: Path, base: Path) -> bool:
    return path == base or path.is_relative_to(base)


def repository_target(root: Path, relative: Path | str) -> Path:
    """The real path a write of `relative` (to `root`) lands on, if inside the repository."""
    _no_nul(relative)
    base = Path(os.path.realpath(root))
    resolved = Path(os.path.realpath(base / relative))
    if not _inside(resolved, base):
        raise WriteRefused(f"{_shown(relative)} leads outside the repository (through a "
                           "symbolic link or ..); tuneops never writes there; nothing was "
                           "written")
    if resolved.is_dir():
        raise WriteRefused(f"{_shown(relative)} is a directory; nothing was written")
    return resolved


def _absolute(path: Path) -> Path:
    """`path` from the current directory, `..` taken lexically: where it says, links unfollowed."""
    return Path(os.path.normpath(path.absolute()))


def user_target(root: Path, path: Path) -> Path:
    """Where a path given on the command line is written: as a repository path if it lies in
    the repository (before any link is followed), else exactly where it says."""
    _no_nul(path)
    given = _absolute(path)
    for base in (_absolute(root), Path(os.path.realpath(root))):
        if _inside(given, base):
            return repository_target(base, given.relative_to(base))
    resolved = Path(os.path.realpath(given))
    if resolved.is_dir():
        raise WriteRefused(f"{_shown(path)} is a directory; nothing was written")
    return resolved


def own_directory(root: Path, relative: str, *, tree: bool = False) -> Path:
    """tuneops' own directory `relative` (under `.reconciler/`), created, with no symbolic
    link on its way from the root (nor, with `tree`, anywhere inside it), and writable.

    The emulator and the cache get only a directory checked here: what they write inside it
    cannot leave the repository, whatever a pull request committed there.
    """
    _no_nul(relative)
    base = Path(os.path.realpath(root))
    current = base
    for part in Path(relative).parts:
        current = current / part
        try:
            mode = current.lstat().st_mode
        except FileNotFoundError:
            _make(current, relative)
            continue
        except OSError as error:
            raise WriteRefused(f"cannot use {_shown(relative)}: {error.strerror}") from None
        if stat.S_ISLNK(mode):
            raise _link_refused(current.relative_to(base))
        if not stat.S_ISDIR(mode):
            raise WriteRefused(f"{_shown(current.relative_to(base))} is not a directory; "
                               "tuneops keeps its state there: remove it")
    if tree:
        for directory, names, files in os.walk(current):
            for name in (*names, *files):
                if (Path(directory) / name).is_symlink():
                    raise _link_refused((Path(directory) / name).relative_to(base))
    try:
        with tempfile.TemporaryFile(dir=current):
            pass
    except OSError as error:
        raise WriteRefused(f"cannot write in {_shown(relative)}: {error.strerror}; tuneops "
                           "keeps its state there") from None
    return current


def _make(directory: Path, relative: str) -> None:
    try:
        directory.mkdir(exist_ok=True)
    except OSError as error:
        raise WriteRefused(f"cannot create {_shown(relative)}: {error.strerror}") from None


def _link_refused(where: Path) -> WriteRefused:
    return WriteRefused(f"{_shown(where)} is a symbolic link; tuneops keeps its own state "
                        "there and never writes through a link: remove it")


def own_file(root: Path, relative: str) -> Path:
    """A file of tuneops' own state (`.reconciler/...`): in a checked directory, not a link."""
    path = Path(relative)
    directory = own_directory(root, str(path.parent))
    target = directory / path.name
    if target.is_symlink():
        raise _link_refused(Path(relative))
    return target


@contextmanager
def atomic(target: Path) -> Iterator[BinaryIO]:
    """A stream whose bytes become `target` (a path from one of the functions above) only
    when the block ends without error; on error nothing of it remains."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        # 0o666 less the umask, as any new file; mkstemp's 0o600 would hide it from others.
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise WriteRefused(f"cannot write {_shown(target)}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
        temporary.replace(target)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise WriteRefused(f"cannot write {_shown(target)}: {error.strerror}") from None
        raise


def write(target: Path, data: bytes) -> None:
    with atomic(target) as stream:
        stream.write(data)


def append(path: Path, text: str) -> None:
    """Appends to a file the environment names (GITHUB_STEP_SUMMARY): the runner's, not the
    repository's, so it is written where it says."""
    _no_nul(path)
    try:
        with path.open("a", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as error:
        raise WriteRefused(f"cannot append to {_shown(path)}: {error.strerror}") from None


def filesystem_now(directory: Path) -> int:
    """The file system's own clock, in nanoseconds: the ctime of a file made in `directory`
    now (it may run behind time.time_ns(), and its ticks may be coarse)."""
    with tempfile.TemporaryFile(dir=directory) as probe:
        return os.fstat(probe.fileno()).st_ctime_ns


@contextmanager
def scratch() -> Iterator[Path]:
    """A temporary directory of tuneops' own, removed afterwards: the one place outside the
    repository tuneops writes of its own accord (trees at --base, dataset snapshots)."""
    with tempfile.TemporaryDirectory(prefix="tuneops-") as directory:
        yield Path(directory)
