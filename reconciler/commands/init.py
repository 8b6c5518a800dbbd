"""`reconcile init`: scaffold a config repository that validates and plans straight away."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from reconciler.errors import TuneopsError
from reconciler.load.writes import repository_target, write
from reconciler.version import version

# Where the action and the pre-commit hook are published.
ACTION_REPOSITORY = "OWNER/tuneops"
_SHA = re.compile(r"^[0-9a-f]{40}$")
# A git tag, branch or sha; nothing that could break out of the YAML it is written into.
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")

# Destination in the new repository -> template under reconciler/templates/init/ (dotfiles
# are stored without their dot: setuptools' package-data globs skip hidden files).
FILES: tuple[tuple[str, str], ...] = (
    ("configs/reconciler.yaml", "configs/reconciler.yaml"),
    ("configs/code-chat-example.yaml", "configs/code-chat-example.yaml"),
    ("configs/gemini-example.yaml", "configs/gemini-example.yaml"),
    ("datasets/code-chat-example.jsonl", "datasets/code-chat-example.jsonl"),
    ("datasets/gemini-example.jsonl", "datasets/gemini-example.jsonl"),
    (".github/workflows/plan.yml", "workflows/plan.yml"),
    (".github/workflows/apply.yml", "workflows/apply.yml"),
    (".github/workflows/drift.yml", "workflows/drift.yml"),
    (".pre-commit-config.yaml", "pre-commit-config.yaml"),
    (".gitignore", "gitignore"),
    ("README.md", "README.md"),
)


def _template(name: str) -> str:
    return (files("reconciler") / "templates" / "init" / name).read_text(encoding="utf-8")


def _pin_note(ref: str, tag: str) -> str:
    if _SHA.match(ref):
        return (f"# tuneops is pinned by commit sha ({tag}). To upgrade, change the sha and its "
                "version comment\n# together, in all three workflows.")
    return (f"# tuneops is used at its tag {ref}. Pin the tag's commit instead, so that what runs\n"
            "# cannot change under you: find it with\n"
            f"# `git ls-remote https://github.com/{ACTION_REPOSITORY} {ref}`, then write\n"
            f"# `uses: {ACTION_REPOSITORY}@<sha> # {ref}` (`reconcile init --action-ref <sha> "
            "--force` does).")


def scaffold(action_ref: str, tag: str) -> dict[str, str]:
    """The new repository's files by relative path, with the action pinned at `action_ref`."""
    sha = bool(_SHA.match(action_ref))
    uses = f"{ACTION_REPOSITORY}@{action_ref}" + (f" # {tag}" if sha else "")
    rev = f"{action_ref}  # frozen: {tag}" if sha else action_ref
    replacements = {
        "__TUNEOPS_ACTION__": uses,
        "# __TUNEOPS_PIN_NOTE__": _pin_note(action_ref, tag),
        "__TUNEOPS_REV__": rev,
        "__TUNEOPS_VERSION__": tag,
        "__TUNEOPS_GITHUB_SETUP__": _template("github-setup.md").rstrip("\n"),
    }
    scaffolded = {}
    for destination, name in FILES:
        text = _template(name)
        for placeholder, value in replacements.items():
            text = text.replace(placeholder, value)
        scaffolded[destination] = text
    return scaffolded


def init(*, directory: Path, action_ref: str | None, force: bool, console: Console) -> int:
    tag = f"v{version()}"
    ref = tag if action_ref is None else action_ref
    if not _REF.match(ref):
        raise TuneopsError(f"--action-ref {ref!r}: expected a tag, branch or commit sha")
    existing = [path for path, _ in FILES if (directory / path).is_symlink()
                or (directory / path).exists()]
    if existing and not force:
        raise TuneopsError(f"{directory}: {', '.join(existing)} already exist; nothing was "
                           "written (--force overwrites them)")
    # Every target is checked before any is written: all or nothing.
    targets = {path: repository_target(directory, path) for path, _ in FILES}
    for path, text in scaffold(ref, tag).items():
        write(targets[path], text.encode())
        console.print(f"wrote {escape(path)}", highlight=False)
    console.print(f"\nA tuneops repository in {escape(str(directory))}, using "
                  f"{ACTION_REPOSITORY}@{escape(ref)}. Next: `reconcile --dry-run` to see the "
                  "plan; README.md says how to set up GitHub.", highlight=False)
    return 0
