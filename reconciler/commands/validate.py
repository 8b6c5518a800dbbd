"""`reconcile validate`: parse and validate configs and datasets, no network."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from reconciler.desired import load_desired


def validate(*, root: Path, console: Console) -> int:
    desired = load_desired(root)
    for warning in desired.warnings:
        console.print(f"[yellow]warning:[/] {escape(str(warning))}", highlight=False)
    count = len(desired.jobs)
    console.print(f"{count} job{'s' if count != 1 else ''} valid.", highlight=False)
    return 0
