"""`reconcile plan`: what apply would do, against live state (and, with --base, the branch)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO

from rich.console import Console

from reconciler.connect import Connection, connect
from reconciler.core.desired import Dataset, Desired, DesiredJob
from reconciler.edges.gitrepo import export_tree, head_commit
from reconciler.errors import ConfigError, Problem, TuneopsError
from reconciler.kinds import kind_of
from reconciler.layout import CONFIG_DIR
from reconciler.load.config import RepoConfig, load_config
from reconciler.load.datasets import inspect_dataset
from reconciler.load.desired import build_desired
from reconciler.load.files import repository_file
from reconciler.load.writes import append, atomic, repository_target, scratch, user_target, write
from reconciler.output import escape, github, markdown
from reconciler.output import text as render
from reconciler.output.formats import PlanOutput
from reconciler.plan.branch import Branch, branch_changes, untouched_warnings
from reconciler.plan.datadiff import Example, ExampleDiff, diff_examples
from reconciler.plan.planner import Plan, PlanOptions, plan

Output = PlanOutput
EXIT_CHANGES = 2
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def _check_targets(targets: tuple[str, ...], known: set[str]) -> None:
    for target in targets:
        if target not in known:
            close = difflib.get_close_matches(target, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise TuneopsError(f"--target {target!r}: no job of that name in configs or in "
                               f"Vertex AI{hint}")


def make_plan(desired: Desired, connection: Connection, *, root: Path, retry_failed: bool,
              targets: tuple[str, ...] = ()) -> Plan:
    observed = connection.backend.observe({(job.name, job.fingerprint) for job in desired.jobs})
    _check_targets(targets, {job.name for job in desired.jobs}
                   | {job.name for job in observed.jobs}
                   | {model.name for model in observed.models})
    options = PlanOptions(commit=head_commit(root), retry_failed=retry_failed, targets=targets)
    return plan(desired, observed, options)


def _examples(root: Path, job: DesiredJob, dataset: Dataset) -> Sequence[Example] | None:
    """A local dataset's examples in file order, to compare with another version."""
    if dataset.path is None:
        return None
    path, refusal = repository_file(root, dataset.path)
    if refusal:
        return None
    fmt = kind_of(job.kind).dataset_format(job.spec, dataset.role)
    return inspect_dataset(path, dataset.path, dataset.uri, fmt, dataset.role,
                           keep_order=True).order


def branch_view(root: Path, head: RepoConfig, base_ref: str,
                warnings: tuple[Problem, ...] = ()) -> Branch:
    """The desired state at `base_ref`, read from git objects, compared with the work tree.

    Both sides are built offline, so a gs:// dataset counts as unchanged on both: a branch
    changes what its files say, not what lives in a bucket. A local dataset whose content
    differs is compared example by example.
    """
    head_desired = build_desired(head)
    with scratch() as base_root:
        def writer(relative: str) -> AbstractContextManager[BinaryIO]:
            return atomic(repository_target(base_root, relative))

        export_tree(root, base_ref, writer, [CONFIG_DIR])
        (base_root / CONFIG_DIR).mkdir(exist_ok=True)
        try:
            base_config = load_config(base_root)
            export_tree(root, base_ref, writer, sorted(base_config.local_dataset_paths))
            base = build_desired(base_config, use_cache=False)
        except ConfigError as error:
            raise TuneopsError(f"the configs at {base_ref} are invalid, so this branch cannot "
                               f"be compared with it: {error.problems[0]}") from None

        def differ(old: DesiredJob, before: Dataset, new: DesiredJob, after: Dataset
                   ) -> ExampleDiff | None:
            old_examples = _examples(base_root, old, before)
            new_examples = _examples(root, new, after)
            if old_examples is None or new_examples is None:
                return None
            return diff_examples(old_examples, new_examples)

        changes = branch_changes(base, head_desired, differ)
    return Branch(base_ref, changes, untouched_warnings(warnings, head_desired, changes))


def _write_step_summary(text: str) -> None:
    append(Path(os.environ[STEP_SUMMARY_ENV]), text + "\n")


def plan_command(*, root: Path, output: Output, out: Path | None, detailed_exitcode: bool,
                 retry_failed: bool, base: str | None, console: Console,
                 targets: tuple[str, ...] = ()) -> int:
    with (markdown.failure_as_comment(output == "markdown"),
          github.errors_as_annotations(output == "github")):
        config = load_config(root)
        with connect(config.target, root) as connection:
            desired = build_desired(config, connection.storage)
            result = make_plan(desired, connection, root=root, retry_failed=retry_failed,
                               targets=targets)
        branch = branch_view(root, config, base, result.warnings) if base else None
    if out is not None or output == "json":
        # Only a saved or JSON plan needs its schema (built when the module is imported).
        from reconciler.output import planfile  # noqa: PLC0415
    if out is not None:
        write(user_target(root, out), planfile.dumps(result).encode())
    summary_wanted = bool(os.environ.get(STEP_SUMMARY_ENV))
    # Rendered only when printed or wanted by a GitHub step summary.
    text = (markdown.render(result, branch=branch)
            if output == "markdown" or summary_wanted else "")
    if summary_wanted:
        _write_step_summary(text)
    if output == "json":
        data = planfile.to_json(result)
        if branch is not None:
            data["branch"] = {"base": base, "changes": [asdict(c) for c in branch.changes]}
        console.print_json(data=data, highlight=False)
    elif output == "markdown":
        print(text)
    else:
        if output == "github":
            github.print_warnings(result.warnings)
        console.print(f"Planning against {escape.markup(connection.where)}.\n",
                      highlight=False)
        if branch is not None:
            render.print_branch(branch, console)
        render.print_plan(result, console)
        if out is not None:
            console.print(f"Saved the plan to {escape.markup(out)}; `reconcile apply "
                          f"{escape.markup(out)}` executes exactly it.", highlight=False)
    # A failed run is no change apply makes by itself, but the daily drift check must fail on
    # it: it waits for someone to fix the job or pass --retry-failed.
    return EXIT_CHANGES if detailed_exitcode and result.needs_attention else 0
