"""Warnings reach the terminal in one print, however many there are."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from reconciler.commands.validate import validate
from reconciler.core.observed import Observed
from reconciler.errors import Location, Problem
from reconciler.output.text import print_plan
from reconciler.plan.planner import plan
from tests.conftest import Repo
from tests.test_plan import desired, job


class CountingConsole(Console):
    """A real console that counts its prints."""

    def __init__(self) -> None:
        super().__init__(file=io.StringIO(), width=200, no_color=True)
        self.prints = 0

    def print(self, *objects: Any, **options: Any) -> None:
        self.prints += 1
        super().print(*objects, **options)

    @property
    def text(self) -> str:
        assert isinstance(self.file, io.StringIO)
        return self.file.getvalue()


def _warnings(count: int) -> tuple[Problem, ...]:
    return tuple(Problem(Location(f"configs/j{index}.yaml", 1, 1), f"warning {index}")
                 for index in range(count))


def test_a_plan_prints_its_warnings_at_once() -> None:
    prints = []
    for count in (1, 300):
        console = CountingConsole()
        print_plan(plan(desired(job("a"), warnings=_warnings(count)), Observed()), console)
        assert f"warning {count - 1}" in console.text
        prints.append(console.prints)
    assert prints[0] == prints[1]


def test_validate_prints_its_warnings_at_once(repo: Repo) -> None:
    prints = []
    for count in (1, 300):
        repo.write("configs/settings-free.yaml", "".join(
            f"---\nname: w{index}\ntask: code-generation\ndataset_uri: "
            f"datasets/bigquery.jsonl\ntrain_steps: 50\n" for index in range(count)))
        console = CountingConsole()
        assert validate(root=Path(repo.root), remote=False, output="text", console=console) == 0
        assert console.text.count("warning:") >= count
        prints.append(console.prints)
    assert prints[0] == prints[1]
