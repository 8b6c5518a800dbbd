"""Which files under configs/ hold what: every file is read as jobs, read as settings, or
reported; none is dropped in silence (the jobs of a skipped file would become orphans, and
`apply --prune` would delete their Models).

- `configs/reconciler.yaml` holds the settings; every other `*.yaml` / `*.yml` file, at any
  depth and whatever its name (a `reconciler.yaml` in a subdirectory too), holds jobs.
- A symbolic link to a directory is followed when it stays inside the repository, and
  refused with one line when it leaves it; a directory reached twice (a link to one read
  already, or a loop) is read once and the second way is reported.
- Any other file is reported as not read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import Location, Problem, display_path
from reconciler.layout import SETTINGS_FILE

JOB_SUFFIXES = (".yaml", ".yml")
# Past this many, files not read are counted, not listed: the cause is the same.
MAX_NOT_READ_SHOWN = 20


@dataclass
class ConfigFiles:
    """The job files under configs/ (as their paths there), and what was found on the way."""

    jobs: list[Path] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    not_read: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def all_warnings(self) -> list[Problem]:
        shown = [Problem(Location(name), "not read: only .yaml and .yml files under configs/ "
                         "hold jobs") for name in self.not_read[:MAX_NOT_READ_SHOWN]]
        if len(self.not_read) > MAX_NOT_READ_SHOWN:
            shown.append(Problem(Location(self.not_read[MAX_NOT_READ_SHOWN]), f"... and "
                                 f"{len(self.not_read) - MAX_NOT_READ_SHOWN} more files not "
                                 "read"))
        return [*self.warnings, *shown]


def config_files(root: Path, config_dir: Path) -> ConfigFiles:
    found = ConfigFiles()
    base = Path(os.path.realpath(root))
    _walk(base, root, config_dir, {Path(os.path.realpath(config_dir))}, found, top=True)
    found.jobs.sort()  # path order: the config order quota goes by
    return found


def _walk(base: Path, root: Path, directory: Path, seen: set[Path], found: ConfigFiles, *,
          top: bool) -> None:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as error:
        found.errors.append(Problem(Location(display_path(directory, root)),
                                    f"cannot list this directory: {error.strerror}"))
        return
    for entry in entries:
        path = Path(entry.path)
        shown = display_path(path, root)
        if top and entry.name == SETTINGS_FILE:
            continue  # the settings, read by the loader
        job_name = entry.name.lower().endswith(JOB_SUFFIXES)
        # Symlinks followed: a linked directory is a directory here. One named like a job
        # file goes to the reader, which says it is a directory (nothing is launched).
        if entry.is_dir() and not job_name:
            real = Path(os.path.realpath(path))
            if not real.is_relative_to(base):
                found.errors.append(Problem(Location(shown), "links to a directory outside "
                                            "the repository; tuneops reads only files "
                                            "inside it"))
            elif real in seen:
                found.warnings.append(Problem(Location(shown), f"links to "
                                              f"{display_path(real, base)}, which is read "
                                              "already; its files are read once"))
            else:
                seen.add(real)
                _walk(base, root, path, seen, found, top=False)
        elif job_name:
            # Links out, FIFOs and the like are refused, at their name, by the reader.
            found.jobs.append(path)
        else:
            found.not_read.append(shown)

