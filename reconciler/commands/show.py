"""`reconcile show PLANFILE`: a plan saved by `plan --out`, in any output format."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from reconciler.output import escape, github, markdown, planfile
from reconciler.output import text as render
from reconciler.output.formats import PlanOutput


def show_command(*, path: Path, output: PlanOutput, console: Console) -> int:
    saved = planfile.read(path)
    if output == "json":
        console.print_json(data=planfile.to_json(saved), highlight=False)
    elif output == "markdown":
        print(markdown.render(saved))
    else:
        if output == "github":
            github.print_warnings(saved.warnings)
        console.print(f"The plan saved in {escape.markup(path)}; `reconcile apply "
                      f"{escape.markup(path)}` applies it if nothing changed since.\n",
                      highlight=False)
        render.print_plan(saved, console)
    return 0
