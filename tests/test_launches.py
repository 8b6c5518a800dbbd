"""One answer to "is this action a launch", which every rendering of a plan gives alike."""

from __future__ import annotations

import ast
import io
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from reconciler.core.observed import JobState, Observed
from reconciler.output import escape, markdown
from reconciler.output.text import print_plan
from reconciler.plan.actions import Action, Queued, is_launch, launches_now
from reconciler.plan.planner import Plan, plan
from tests.test_plan import SCENARIOS, desired, job, mixed_state, ran

ROOT = Path(__file__).resolve().parent.parent


def _queued_plan() -> Plan:
    """Two creates under a limit of one pipeline job running in us-central1: one waits."""
    first, second = job("a-first"), job("b-second")
    limited = replace(desired(first, second), limits={"us-central1": {"pipeline": 1}})
    return plan(limited, Observed(jobs=(ran(job("c-other"), JobState.RUNNING),)))


def _text(result: Plan) -> str:
    out = io.StringIO()
    print_plan(result, Console(file=out, width=300, no_color=True))
    return out.getvalue()


def _plans() -> list[Plan]:
    scenarios = [plan(*build()) for build, _, _ in SCENARIOS.values()]
    return [*scenarios, plan(*mixed_state()), _queued_plan()]


def test_a_queued_launch_is_shown_by_text_and_markdown_alike() -> None:
    result = _queued_plan()
    queued = [action for action in result.actions if isinstance(action, Queued)]
    assert [action.action for action in result.actions] == ["queued", "queued", "orphan"]
    summary = queued[0].launch.summary
    assert summary in _text(result)
    # Markdown shows it escaped, as every value from the repository (output/escape.py).
    assert (f"Waits for quota, then launches {escape.markdown(summary)}."
            in markdown.render(result))


@pytest.mark.parametrize("result", _plans())
def test_every_renderer_shows_the_launch_of_every_launching_action(result: Plan) -> None:
    text, rendered = _text(result), markdown.render(result)

    def shown(action: Action) -> tuple[bool, bool]:
        summary = action.launch.summary if is_launch(action) else f"{action.name} launches"
        return summary in text, escape.markdown(summary) in rendered

    for action in result.actions:
        assert shown(action) == (is_launch(action), is_launch(action)), action


def test_launching_now_is_launching_less_the_queue() -> None:
    actions = [action for result in _plans() for action in result.actions]
    assert {a.action for a in actions if is_launch(a) and not launches_now(a)} == {"queued"}
    assert all(is_launch(a) for a in actions if launches_now(a))


def test_the_launching_actions_are_spelt_out_once() -> None:
    """`Create | Retune | DriftRelaunch` (the launching actions) is written in one place:
    every other module asks is_launch or launches_now."""
    found = []
    for path in sorted((ROOT / "reconciler").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            if isinstance(node, ast.BinOp | ast.MatchOr) and {"Create", "Retune"} <= names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    # Action (the whole union, twice as one BinOp tree) and Launching, in plan/actions.py.
    assert {place.split(":")[0] for place in found} == {"reconciler/plan/actions.py"}
