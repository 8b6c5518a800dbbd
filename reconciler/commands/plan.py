"""`reconcile plan`: what apply would do, against live state (and, with --base, the branch)."""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path
from typing import BinaryIO

from rich.console import Console

from reconciler.connect import Connection, connect
from reconciler.core.desired import Desired
from reconciler.edges.gitrepo import export_tree, head_commit
from reconciler.errors import ConfigError, TuneopsError
from reconciler.layout import CONFIG_DIR
from reconciler.load.config import RepoConfig, load_config
from reconciler.load.desired import build_desired
from reconciler.load.writes import append, atomic, repository_target, scratch, user_target, write
from reconciler.output import github, markdown
from reconciler.output import text as render
from reconciler.output.formats import PlanOutput
from reconciler.plan.branch import BranchChange, branch_changes
from reconciler.plan.planner import Plan, PlanOptions, plan

Output = PlanOutput
EXIT_CHANGES = 2
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def make_plan(desired: Desired, connection: Connection, *, root: Path,
              retry_failed: bool) -> Plan:
    observed = connection.backend.observe({(job.name, job.fingerprint) for job in desired.jobs})
    options = PlanOptions(commit=head_commit(root), retry_failed=retry_failed)
    return plan(desired, observed, options)


def branch_view(root: Path, head: RepoConfig, base_ref: str) -> tuple[BranchChange, ...]:
    """The desired state at `base_ref`, read from git objects, compared with the work tree.

    Both sides are built offline, so a gs:// dataset counts as unchanged on both: a branch
    changes what its files say, not what lives in a bucket.
    """
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
    return branch_changes(base, build_desired(head))


def _write_step_summary(text: str) -> None:
    append(Path(os.environ[STEP_SUMMARY_ENV]), text + "\n")


def plan_command(*, root: Path, output: Output, out: Path | None, detailed_exitcode: bool,
                 retry_failed: bool, base: str | None, console: Console) -> int:
    with github.errors_as_annotations(output == "github"):
        config = load_config(root)
        with connect(config.target, root) as connection:
            desired = build_desired(config, connection.storage)
            result = make_plan(desired, connection, root=root, retry_failed=retry_failed)
    branch = branch_view(root, config, base) if base else None
    if out is not None or output == "json":
        # Only a saved or JSON plan needs its schema (built when the module is imported).
        from reconciler.output import planfile  # noqa: PLC0415
    if out is not None:
        write(user_target(root, out), planfile.dumps(result).encode())
    summary_wanted = bool(os.environ.get(STEP_SUMMARY_ENV))
    # Rendered only when printed or wanted by a GitHub step summary.
    text = (markdown.render(result, branch=branch, base_ref=base or "")
            if output == "markdown" or summary_wanted else "")
    if summary_wanted:
        _write_step_summary(text)
    if output == "json":
        data = planfile.to_json(result)
        if branch is not None:
            data["branch"] = {"base": base, "changes": [asdict(c) for c in branch]}
        console.print_json(data=data, highlight=False)
    elif output == "markdown":
        print(text)
    else:
        if output == "github":
            github.print_warnings(result.warnings)
        console.print(f"Planning against {connection.where}.\n", highlight=False)
        if branch is not None:
            render.print_branch(branch, base or "", console)
        render.print_plan(result, console)
        if out is not None:
            console.print(f"Saved the plan to {out}; `reconcile apply {out}` executes "
                          "exactly it.", highlight=False)
    return EXIT_CHANGES if detailed_exitcode and result.has_changes else 0
