"""`reconcile validate`: parse and validate configs and datasets, no network."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from reconciler.load.config import load_config
from reconciler.load.desired import build_desired
from reconciler.output import escape, github
from reconciler.output.formats import ValidateOutput

Output = ValidateOutput


def validate(*, root: Path, remote: bool, output: Output, console: Console) -> int:
    with github.errors_as_annotations(output == "github"):
        config = load_config(root)
        if remote:
            from reconciler.connect import connect  # noqa: PLC0415 - only --remote connects

            with connect(config.target, root) as connection:
                desired = build_desired(config, connection.storage, deep=True)
        else:
            desired = build_desired(config)
    if output == "github":
        github.print_warnings(desired.warnings)
    if desired.warnings:  # one print: each costs rich a fixed share, thousands seconds
        console.print("\n".join(f"[yellow]warning:[/] {escape.markup(warning)}"
                                for warning in desired.warnings), highlight=False)
    count = len(desired.jobs)
    console.print(f"{count} job{'s' if count != 1 else ''} valid.", highlight=False)
    return 0
