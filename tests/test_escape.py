"""Nothing a pull request writes can be forged into the comment, the annotations, the log or
the terminal: each medium's escaping (reconciler/output/escape.py), then the real CLI on
configs that try. Markdown is rendered by markdown-it (CommonMark and GFM tables), as a
browser would show GitHub's rendering."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from markdown_it import MarkdownIt
from rich.console import Console

from reconciler.core.estimate import Estimate
from reconciler.core.runkey import RunKey
from reconciler.errors import Location, Problem, one_line
from reconciler.output import escape
from reconciler.output.markdown import render
from reconciler.output.text import print_plan
from reconciler.plan.actions import (
    Action,
    Evaluate,
    EvaluationSet,
    Hold,
    ModelPatch,
    Noop,
    Promote,
    PromotionRule,
    Rename,
    ScoredRun,
)
from reconciler.plan.planner import Plan
from tests.conftest import GEMINI_CONFIG, Repo

FORGED = "### :white_check_mark: tuneops: Plan: 0 to create, 0 to re-tune. Safe to merge"
# What every medium must show as typed: a heading, a link, HTML, emphasis, a table cell's
# end, a code fence, workflow commands, console markup, a terminal escape.
HOSTILE = [
    f"x\n{FORGED}",
    "[click](https://evil.example) <img src=x onerror=alert(1)> **bold** | cell",
    "a ``` b\n```\n# out\n````",
    "::error file=x,line=1::forged\r\n##[warning]forged",
    "[/] [bold red]styled[/] \x1b[31mred",
    "@octocat #1 www.evil.example $x$",
]


def html(markdown: str) -> str:
    return str(MarkdownIt("commonmark").enable("table").render(markdown))


def text_of(rendered: str) -> str:
    """What a reader sees: tags dropped, entities decoded."""
    import html as entities  # noqa: PLC0415

    return entities.unescape(re.sub(r"<[^>]+>", "", rendered))


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_prose_shows_the_value_and_starts_nothing(value: str) -> None:
    rendered = html(f"- {escape.markdown(value)}")
    assert re.findall(r"<(\w+)", rendered) == ["ul", "li"], rendered
    assert text_of(rendered).strip().replace("\u2060", "") == one_line(value)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_code_span_holds_the_value_verbatim_even_in_a_table(value: str) -> None:
    cell = escape.code(value, in_table=True)
    rendered = html(f"| a | b |\n|---|---|\n| {cell} | end |\n")
    [code] = re.findall(r"<td><code>(.*?)</code></td>", rendered)
    assert text_of(code) == one_line(value).strip()
    assert "<td>end</td>" in rendered  # the row kept its two cells
    outside = html(f"before {escape.code(value)} after")
    assert re.findall(r"<(\w+)", outside) == ["p", "code"]


@pytest.mark.parametrize("value", HOSTILE)
def test_html_in_a_details_summary_is_shown_as_text(value: str) -> None:
    rendered = html(f"<details><summary>{escape.html_code(value)}: create</summary>\n\n"
                    "body\n\n</details>\n")
    assert re.findall(r"<(\w+)", rendered) == ["details", "summary", "code", "p"], rendered
    assert one_line(value) in text_of(rendered).replace("\u2060", "")


@pytest.mark.parametrize("value", HOSTILE)
def test_no_line_of_the_content_closes_its_fence(value: str) -> None:
    content = f"{value}\n```\n````` \n"
    rendered = html(escape.fence(content, "diff") + f"\n\n{FORGED}\n")
    [block] = re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", rendered, re.S)
    assert text_of(block) == content.replace("\r\n", "\n")  # Markdown's line ends
    assert rendered.count("<h3>") == 1  # only the heading after the block


def test_workflow_commands_have_their_own_escaping() -> None:
    assert escape.workflow_data("50%\r\nx") == "50%25%0D%0Ax"
    assert escape.workflow_property("a:b,c\nd%") == "a%3Ab%2Cc%0Ad%25"


@pytest.mark.parametrize("value", HOSTILE)
def test_console_markup_and_terminal_controls_are_shown_not_obeyed(value: str) -> None:
    # As reconciler.cli makes its consoles: no `:emoji:` codes either.
    console = Console(width=200, record=True, color_system="truecolor", emoji=False)
    console.print(f"[bold]{escape.markup(value)}[/]")
    shown = console.export_text().rstrip("\n")
    assert shown == escape.text(value)
    assert "\n" not in shown and "\x1b" not in shown


def test_a_log_line_never_starts_or_holds_a_workflow_command() -> None:
    assert escape.log_line("  ::error::x") == "  \\::error::x"
    assert escape.log_line("a ##[error]b\nc") == "a ##\\[error]b\\nc"
    assert escape.text("tab\there \u202eevil") == "tab\\there \\u202eevil"


@pytest.mark.parametrize("value", [*HOSTILE, "right \u202etxt.exe", "isolate \u2066x\u2069"])
def test_a_problem_is_made_one_line_as_every_rendering_is(value: str) -> None:
    """One function makes a value one line (errors.one_line): a Problem's text and the
    renderers' escape the same characters, bidirectional overrides included."""
    problem = Problem(Location(value, 3, 1), value, subject=value)
    assert str(problem) == f"{one_line(value)}:3:1: {one_line(value)}: {one_line(value)}"
    assert not re.search("[\x00-\x1f\u202a-\u202e\u2066-\u2069]", str(problem))
    assert escape.text(value).replace("##\\[", "##[") == one_line(value)


# --- through the real CLI ----------------------------------------------------------------

FORGED_FILE = f"configs/a`b\n{FORGED}\n::error file=x::forged.yaml"


def test_a_file_name_cannot_add_a_heading_to_the_comment(repo: Repo) -> None:
    # An empty job file warns, naming the file.
    (repo.root / FORGED_FILE).write_text("# nothing\n")
    out = repo.run("plan", "--output", "markdown").out
    rendered = html(out)
    assert rendered.count("<h3>") == 1, rendered
    assert "Safe to merge" in text_of(rendered)  # shown, inside code, as typed
    assert not re.search(r"<h\d>[^<]*Safe to merge", rendered)


def test_a_key_cannot_break_out_of_the_failed_plan_block(repo: Repo) -> None:
    repo.edit("configs/bigquery-snippets.yaml", "train_steps: 300",
              f'train_steps: 300\n"x\\n```\\n{FORGED}": 1')
    result = repo.run("plan", "--output", "markdown")
    assert result.code == 1
    rendered = html(result.out)
    assert re.findall(r"<h3>", rendered) == ["<h3>"]
    assert "the plan failed" in rendered.split("</h3>")[0]
    [block] = re.findall(r"<pre><code>(.*?)</code></pre>", rendered, re.S)
    assert "Safe to merge" in block


def test_annotations_are_the_only_workflow_commands(repo: Repo) -> None:
    (repo.root / FORGED_FILE).write_text("# nothing\n")
    hostile = "::warning::d.jsonl"
    repo.write(hostile, "not json\n")
    repo.edit("configs/cloud-vision-chat.yaml", "datasets/vision-chat.jsonl", hostile)
    result = repo.run("validate", "--output", "github")
    assert result.code == 1
    command = re.compile(r"^::(warning|error) file=[^,:\n]*(,line=\d+)?(,col=\d+)?,"
                         r"title=tuneops%20(warning|error)::[^\n]*$".replace("%20", " "))
    for line in result.out.splitlines() + result.err.splitlines():
        if line.lstrip().startswith("::"):
            assert command.match(line), line
        assert "##[" not in line, line
    assert any(line.startswith("\\::warning::d.jsonl:1:1:") for line in result.err.splitlines())


def test_markup_in_a_display_name_or_description_is_shown_by_status(mixed_repo: Repo) -> None:
    mixed_repo.edit(GEMINI_CONFIG, "tuned_model_display_name: bigquery-gemini",
                    'tuned_model_display_name: "[/] [bold]x :smile:"\n'
                    'description: "[/]\\n::error::y"')
    assert mixed_repo.cli().code == 0
    mixed_repo.advance()
    assert mixed_repo.cli().code == 0  # the description reaches the Model by an update
    result = mixed_repo.run("status")
    assert result.code == 0, result.err
    assert '"[/] [bold]x :smile:"' in result.out
    detailed = mixed_repo.run("status", "bigquery-gemini")
    assert detailed.code == 0, detailed.err
    assert "description: [/]\\n::error::y" in detailed.out


def _plan_of(*actions: Action) -> Plan:
    return Plan(actions=actions, warnings=(), desired_digest="d", observed_digest="o")


@pytest.mark.parametrize("value", HOSTILE)
def test_renames_and_cancels_are_escaped_in_every_medium(value: str) -> None:
    """A rename's Model and the runs an action cancels are named by the service: each goes
    through the medium's escaping, in the terminal and in the comment."""
    value = value.replace("/", "|").replace("@", "#")  # a resource's id holds neither
    run = f"projects/p/locations/us-central1/tuningJobs/{value}"
    patch = ModelPatch(model=f"projects/p/locations/us-central1/models/{value}",
                       display_name="x", description="", labels={})
    plan = _plan_of(
        Rename(name="sql-assistant", reason="renamed from sql-helper, no re-tune", job_id="1",
               renamed_from="sql-helper", runs=(run,), patch=patch, twins=(run,)),
        Noop(name="other", reason="up to date", job_id="2", model="m", cancel=(run,)))
    console = Console(width=400, record=True, color_system="truecolor", emoji=False)
    print_plan(plan, console)
    shown = console.export_text()
    assert f"1 run(s) of sql-helper move to sql-assistant; model {patch.model}".replace(
        value, escape.text(value)) in shown
    assert f"cancels {escape.text(value)} (superseded)" in shown
    assert f"cancels {escape.text(value)} (a twin: the same run launched twice" in shown
    assert "\x1b" not in shown and "Plan: 0 to create, 0 to re-tune, 0 to update, 1 to " \
        "rename, 1 unchanged, 2 runs to cancel." in shown
    rendered = html(render(plan))
    assert rendered.count("<h3>") == 1, rendered
    assert "<a " not in rendered and "<img" not in rendered
    [moved] = re.findall(r"<p>Moves 1 run\(s\) of <code>sql-helper</code> to "
                         r"<code>sql-assistant</code>; nothing is tuned\.\s*Cancels "
                         r"<code>(.*?)</code> \(a twin", rendered, re.S)
    assert text_of(moved) == one_line(value).strip()
    assert re.search(r"Cancels <code>.*?</code> \(superseded\)\.", rendered, re.S)


@pytest.mark.parametrize("value", HOSTILE)
def test_evaluations_promotions_and_holds_are_escaped_in_every_medium(value: str) -> None:
    """An evaluation dataset's path is the repository's and a run's id the service's: the
    evaluation, promotion and hold lines show them through the medium's escaping."""
    run_id = value.replace("/", "|")
    scoring = EvaluationSet(uri=value, content_hash="c" * 40, source=None, staged=value,
                            examples=12, metric="rouge_l")
    current = ScoredRun(RunKey("us-central1", "tuning-job", "sql", "a" * 40, 1), run_id,
                        "r1", "m1", "e1", 0.58)
    candidate = ScoredRun(RunKey("us-central1", "tuning-job", "sql", "b" * 40, 1), "7",
                          "r2", "m2", "e2", 0.61)
    rule = PromotionRule(channel="production", metric="rouge_l", min_score=None,
                         must_beat_current=True, current=current)
    plan = _plan_of(
        Evaluate(name="sql", reason="scores run 7", job_id="7", evaluation=scoring,
                 candidate=replace(candidate, score=None), runs=(candidate,), promotion=rule,
                 estimate=Estimate(prediction_tokens=2_000, dollars=0.01)),
        Promote(name="sql", reason="→ production", job_id="7", evaluation=scoring,
                candidate=candidate, promotion=rule),
        Hold(name="sql", reason="held", job_id="7", evaluation=scoring, candidate=candidate,
             promotion=rule))
    console = Console(width=400, record=True, color_system="truecolor", emoji=False)
    print_plan(plan, console)
    shown = console.export_text()
    assert shown.count(f"evaluated on 12 examples of {escape.text(value)} (content ") == 3
    assert f"production now: run {escape.text(run_id)}, 0.58" in shown
    assert "\x1b" not in shown
    rendered = html(render(plan))
    assert rendered.count("<h3>") == 1, rendered
    assert "<a " not in rendered and "<img" not in rendered and "<strong>bold" not in rendered
    seen = text_of(rendered).replace("\u2060", "")
    assert seen.count(f"Evaluated on 12 examples of {one_line(value)} (content ") == 3, seen
    assert f"Production now: run {one_line(run_id)}, 0.58." in seen
