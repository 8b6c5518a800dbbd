"""The installed version of tuneops: pyproject.toml's `[project] version` is the one source."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version

from reconciler.errors import TuneopsError

DISTRIBUTION = "tuneops"


def version() -> str:
    try:
        return installed_version(DISTRIBUTION)
    except PackageNotFoundError:
        # Only when the source tree is on the path without being installed.
        raise TuneopsError("tuneops is not installed (pip install -e . in its checkout), so "
                           "its version is unknown") from None
