"""`reconcile init`: scaffold a config repository that validates and plans straight away, and
whose workflows run on GitHub as written: the action pinned to a commit of a real repository,
never a placeholder."""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from rich.console import Console

from reconciler.errors import TuneopsError, one_line
from reconciler.kinds import KINDS
from reconciler.load.writes import repository_target, write
from reconciler.output import escape
from reconciler.version import SHA, publishable, source, version

# A git tag, branch or sha; nothing that could break out of the YAML it is written into.
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")

# Destination in the new repository -> template under reconciler/templates/init/ (dotfiles
# are stored without their dot: setuptools' package-data globs skip hidden files).
FIXED: tuple[tuple[str, str], ...] = (
    ("configs/reconciler.yaml", "configs/reconciler.yaml"),
    (".github/workflows/plan.yml", "workflows/plan.yml"),
    (".github/workflows/apply.yml", "workflows/apply.yml"),
    (".github/workflows/drift.yml", "workflows/drift.yml"),
    (".pre-commit-config.yaml", "pre-commit-config.yaml"),
    (".gitignore", "gitignore"),
    ("README.md", "README.md"),
)
# Each kind's example job, `examples/<kind>/` holding the files it writes at the same paths
# (a job config and its dataset). Only kinds that a real project can launch have one: the
# reference's code-bison pipelines are shut down.
_EXAMPLES = "examples"


def _root() -> Traversable:
    return files("reconciler") / "templates" / "init"


def examples() -> dict[str, tuple[tuple[str, str], ...]]:
    """The kinds init has an example of, in the registry's order: the example's files."""
    found = {}
    for kind in KINDS:
        place = _root() / _EXAMPLES / kind
        if place.is_dir():
            found[kind] = tuple(sorted(
                (f"{folder.name}/{item.name}", f"{_EXAMPLES}/{kind}/{folder.name}/{item.name}")
                for folder in place.iterdir() if folder.is_dir() for item in folder.iterdir()))
    return found


# Without --kind: the first kind in the registry that has an example (Gemini's).
DEFAULT_KIND = next(iter(examples()))


def files_for(kinds: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """What init writes with the examples of `kinds`."""
    known = examples()
    return (FIXED[0], *(pair for kind in kinds for pair in known[kind]), *FIXED[1:])


FILES = files_for((DEFAULT_KIND,))


def _template(name: str) -> str:
    return (_root() / name).read_text(encoding="utf-8")


def _pin_note(repository: str, ref: str, tag: str) -> str:
    if SHA.match(ref):
        return (f"# tuneops is pinned by commit sha ({tag}). To upgrade, change the sha and its "
                "version comment\n# together, in all three workflows.")
    return (f"# tuneops is used at {ref}, which can move. Pin a commit instead, so that what "
            "runs\n# cannot change under you: find it with\n"
            f"# `git ls-remote https://github.com/{repository} {ref}`, then write\n"
            f"# `uses: {repository}@<sha> # {ref}` (`reconcile init --action-ref <sha> "
            "--force` does).")


def scaffold(repository: str, action_ref: str, tag: str,
             kinds: tuple[str, ...] = (DEFAULT_KIND,)) -> dict[str, str]:
    """The new repository's files by relative path, with the action `repository` pinned at
    `action_ref` and an example job of each of `kinds`."""
    sha = bool(SHA.match(action_ref))
    uses = f"{repository}@{action_ref}" + (f" # {tag}" if sha else "")
    rev = f"{action_ref}  # frozen: {tag}" if sha else action_ref
    replacements = {
        "__TUNEOPS_ACTION__": uses,
        "# __TUNEOPS_PIN_NOTE__": _pin_note(repository, action_ref, tag),
        "__TUNEOPS_REV__": rev,
        "__TUNEOPS_REPOSITORY__": repository,
        "__TUNEOPS_VERSION__": tag,
        "__TUNEOPS_GITHUB_SETUP__": _template("github-setup.md").rstrip("\n"),
    }
    scaffolded = {}
    for destination, name in files_for(kinds):
        text = _template(name)
        for placeholder, value in replacements.items():
            text = text.replace(placeholder, value)
        scaffolded[destination] = text
    return scaffolded


def _repository(action_repo: str | None) -> str:
    repository = action_repo or source().repository
    if repository is None:
        raise TuneopsError("the GitHub repository of the tuneops action is not known to this "
                           "installation; pass --action-repo OWNER/REPO (the repository you "
                           "install tuneops from); nothing was written")
    if not publishable(repository):
        raise TuneopsError(f"--action-repo {repository!r}: expected the GitHub repository "
                           "that hosts tuneops, as OWNER/REPO (e.g. acme/tuneops); nothing "
                           "was written")
    return repository


def _ref(action_ref: str | None, repository: str, tag: str) -> str:
    ref = action_ref or source().commit
    if ref is None:
        raise TuneopsError(
            "the commit of tuneops to pin is not known to this installation (it was not "
            "installed from git); pass --action-ref with the 40-hex commit sha of "
            f"{repository} to use (`git ls-remote https://github.com/{repository} {tag}` "
            "prints the tag's); nothing was written")
    if not _REF.match(ref):
        raise TuneopsError(f"--action-ref {ref!r}: expected a tag, branch or commit sha")
    return ref


def _kinds(asked: list[str]) -> tuple[str, ...]:
    known = examples()
    for kind in asked:
        if kind not in known:
            what = "no kind" if kind not in KINDS else "no example of that kind"
            raise TuneopsError(f"--kind {one_line(kind)}: {what}; init has examples "
                               f"of {', '.join(known)}; nothing was written")
    return tuple(dict.fromkeys(asked)) or (DEFAULT_KIND,)


def init(*, directory: Path, action_repo: str | None, action_ref: str | None, force: bool,
         console: Console, kinds: list[str] | None = None) -> int:
    chosen = _kinds(kinds or [])
    tag = f"v{version()}"
    repository = _repository(action_repo)
    ref = _ref(action_ref, repository, tag)
    writing = files_for(chosen)
    existing = [path for path, _ in writing if (directory / path).is_symlink()
                or (directory / path).exists()]
    if existing and not force:
        raise TuneopsError(f"{directory}: {', '.join(existing)} already exist; nothing was "
                           "written (--force overwrites them)")
    # Every target is checked before any is written: all or nothing.
    targets = {path: repository_target(directory, path) for path, _ in writing}
    for path, text in scaffold(repository, ref, tag, chosen).items():
        write(targets[path], text.encode())
        console.print(f"wrote {escape.markup(path)}", highlight=False)
    console.print(f"\nA tuneops repository in {escape.markup(directory)}, using "
                  f"{escape.markup(repository)}@{escape.markup(ref)}. Next: `reconcile "
                  "--dry-run` to see the plan; README.md says how to set up GitHub.",
                  highlight=False)
    return 0
