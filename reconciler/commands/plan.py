"""`reconcile plan`: what apply would do, against live state."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from rich.console import Console

from reconciler import planfile, render
from reconciler.config import load_config
from reconciler.connect import Connection, connect
from reconciler.desired import Desired, build_desired
from reconciler.gitrepo import head_commit
from reconciler.plan import Plan, PlanOptions, plan

Output = Literal["text", "json"]
EXIT_CHANGES = 2


def make_plan(desired: Desired, connection: Connection, *, root: Path,
              retry_failed: bool) -> Plan:
    observed = connection.backend.observe()
    options = PlanOptions(commit=head_commit(root), retry_failed=retry_failed)
    return plan(desired, observed, options)


def plan_command(*, root: Path, output: Output, out: Path | None, detailed_exitcode: bool,
                 retry_failed: bool, console: Console) -> int:
    config = load_config(root)
    with connect(config.target, root) as connection:
        desired = build_desired(config, connection.storage)
        result = make_plan(desired, connection, root=root, retry_failed=retry_failed)
    if out is not None:
        out.write_text(planfile.dumps(result), encoding="utf-8")
    if output == "json":
        console.print_json(planfile.dumps(result), highlight=False)
    else:
        console.print(f"Planning against {connection.where}.\n", highlight=False)
        render.print_plan(result, console)
        if out is not None:
            console.print(f"Saved the plan to {out}; `reconcile apply {out}` executes "
                          "exactly it.", highlight=False)
    return EXIT_CHANGES if detailed_exitcode and result.has_changes else 0
