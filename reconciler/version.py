"""The installed tuneops: its version (pyproject.toml's `[project] version` is the one source)
and where it came from (its GitHub repository and commit), for `reconcile init`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from importlib.metadata import version as installed_version

from reconciler.errors import TuneopsError

DISTRIBUTION = "tuneops"
# pyproject.toml's [project.urls] Repository names tuneops' own repository; this owner in
# it is the placeholder of a copy not yet published, which init never writes.
PLACEHOLDER_OWNER = "OWNER"
SHA = re.compile(r"^[0-9a-f]{40}$")
# A GitHub repository as OWNER/NAME, with the characters and lengths GitHub allows.
_REPOSITORY = r"(?P<owner>[A-Za-z0-9][A-Za-z0-9-]{0,38})/(?P<name>[A-Za-z0-9._-]{1,100}?)"
_OWNER_NAME = re.compile(_REPOSITORY)
_GITHUB = re.compile(r"^(?:https?://|ssh://git@|git@)github\.com[/:]" + _REPOSITORY
                     + r"(?:\.git)?/?$")


def version() -> str:
    try:
        return installed_version(DISTRIBUTION)
    except PackageNotFoundError:
        # Only when the source tree is on the path without being installed.
        raise TuneopsError("tuneops is not installed (pip install -e . in its checkout), so "
                           "its version is unknown") from None


@dataclass(frozen=True)
class Source:
    """Where this installation came from, as far as its metadata says (None: unknown)."""

    # "owner/name" on GitHub.
    repository: str | None = None
    # The 40-hex commit, known for an install from git.
    commit: str | None = None


def publishable(repository: str) -> bool:
    """Whether `repository` is a GitHub OWNER/NAME that init may write: not the placeholder."""
    match = _OWNER_NAME.fullmatch(repository)
    return match is not None and match["owner"] != PLACEHOLDER_OWNER


def _github(url: object) -> str | None:
    match = _GITHUB.match(str(url or "").strip())
    if match is None or match["owner"] == PLACEHOLDER_OWNER:
        return None
    return f"{match['owner']}/{match['name']}"


def source() -> Source:
    """The repository and commit pip recorded for an install from git (PEP 610's
    direct_url.json), else the repository of the package's project URLs."""
    try:
        dist = distribution(DISTRIBUTION)
    except PackageNotFoundError:
        return Source()
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        direct = None
    repository = commit = None
    if isinstance(direct, dict):
        vcs = direct.get("vcs_info")
        if isinstance(vcs, dict) and vcs.get("vcs") == "git" and SHA.match(
                str(vcs.get("commit_id", ""))):
            commit = str(vcs["commit_id"])
        repository = _github(direct.get("url"))
    for entry in dist.metadata.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if repository is None and label.strip().lower() in ("repository", "source"):
            repository = _github(url)
    return Source(repository, commit)
