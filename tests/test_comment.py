"""The pull request comment a reviewer decides from: what a dataset change changes in the
data and the cost, a create's attributes, the ids that are known, what merging does, and
the warnings of untouched jobs set aside."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import orjson
import pytest

from reconciler.output import escape
from reconciler.output.markdown import footer
from reconciler.plan.actions import Action, Failed, Noop
from reconciler.plan.datadiff import MAX_ALIGNED, ExampleDiff, diff_examples
from reconciler.plan.planner import Plan
from tests.conftest import GEMINI_CONFIG, Repo, git
from tests.test_escape import html

DATASET = "datasets/bigquery-gemini.jsonl"


def _example(text: str) -> str:
    return orjson.dumps({"contents": [
        {"role": "user", "parts": [{"text": f"Write the code in Python: {text}"}]},
        {"role": "model", "parts": [{"text": f"print({text!r})  # {'x' * 20_000}"}]}]}).decode()


@pytest.fixture
def dataset_branch(mixed_repo: Repo) -> Repo:
    """A branch that changes line 5 of the Gemini dataset, removes line 10 and appends two
    examples: 24 examples become 25."""
    git(mixed_repo.root, "checkout", "-q", "-b", "feature")
    lines = (mixed_repo.root / DATASET).read_text().splitlines()
    lines[4] = _example("changed")
    del lines[9]
    lines += [_example("one"), _example("two")]
    mixed_repo.write(DATASET, "\n".join(lines) + "\n")
    mixed_repo.commit("more data")
    return mixed_repo


EXPECTED = ("training dataset datasets/bigquery-gemini.jsonl: 24 -> 25 examples: 2 added "
            "(lines 24, 25), 1 removed (line 10 at the base), 1 changed (line 5); ≈ ")


def test_a_dataset_change_shows_examples_added_removed_and_changed(
        dataset_branch: Repo) -> None:
    text = dataset_branch.run("plan", "--base", "main").out
    [line] = [line.strip() for line in text.splitlines() if "training dataset" in line]
    assert line.startswith(EXPECTED), line
    tokens = re.search(r"≈ (\S+ ?K?) -> (\S+ ?K?) tokens \(\+(\S+ ?K?)\)", line)
    assert tokens, line
    assert re.search(r"a run costs ≈ \$\d+\.\d\d -> \$\d+\.\d\d \(\+\$\d+\.\d\d\) at list "
                     "price", text), text
    markdown = dataset_branch.run("plan", "--base", "main", "--output", "markdown").out
    assert escape.markdown(EXPECTED) in markdown
    data = json.loads(dataset_branch.run("plan", "--base", "main", "--output", "json").out)
    [change] = data["branch"]["changes"]
    [dataset] = change["datasets"]
    assert dataset["examples"] == {
        "added": 2, "removed": 1, "changed": 1, "added_lines": [24, 25],
        "removed_lines": [10], "changed_lines": [5], "aligned": True}
    assert dataset["tokens_after"] > dataset["tokens_before"]
    assert change["cost_after"] > change["cost_before"]


def test_diff_examples_aligns_like_git() -> None:
    before = [(key, line) for line, key in enumerate([1, 2, 3, 4, 5, 6], 1)]
    after = [(key, line) for line, key in enumerate([1, 9, 3, 5, 6, 7, 8], 1)]
    assert diff_examples(before, after) == ExampleDiff(
        added=2, removed=1, changed=1, added_lines=(6, 7), removed_lines=(4,),
        changed_lines=(2,))
    assert diff_examples(before, before) == ExampleDiff()


def test_diff_examples_counts_when_too_far_apart_to_align() -> None:
    before = [(key, key) for key in range(MAX_ALIGNED + 10)]
    after = [(key + 5, key) for key in range(MAX_ALIGNED + 10)]
    found = diff_examples(before, after)
    assert (found.added, found.removed, found.changed, found.aligned) == (5, 5, 0, False)
    assert found.removed_lines == (0, 1, 2, 3, 4)


def test_a_create_shows_its_attributes_and_only_known_ids(mixed_repo: Repo) -> None:
    markdown = mixed_repo.run("plan", "--output", "markdown").out
    blocks = re.findall(r"```diff\n(.*?)```", markdown, re.S)
    gemini = next(block for block in blocks if '"tuning-job"' in block)
    for line in ('+ kind                     = "tuning-job"',
                 '+ training_dataset         = "datasets/bigquery-gemini.jsonl"  # 24 '
                 'examples, ≈ ',
                 '+ base_model               = "gemini-2.5-flash"',
                 "+ epoch_count              = 3",
                 "+ learning_rate_multiplier = (service default)",
                 '+ model_display_name       = "bigquery-gemini"',
                 '+ labels                   = {team = "data"}',
                 '+ tuning_location          = "us-central1"',
                 "+ id                       = (known after apply)"):
        assert line in gemini, (line, gemini)
    pipeline = next(block for block in blocks if '"bigquery-snippets-' in block)
    assert re.search(r'\+ id += "bigquery-snippets-[0-9a-f]{12}"', pipeline), pipeline
    # The service names a TuningJob: its lease is never shown as if it were its id.
    lease = json.loads(mixed_repo.run("plan", "--output", "json").out)
    [gemini_action] = [a for a in lease["actions"] if a["name"] == "bigquery-gemini"]
    assert gemini_action["launch"]["lease"] not in markdown


def test_over_budget_says_that_merging_applies_nothing(mixed_repo: Repo) -> None:
    mixed_repo.edit("configs/reconciler.yaml", "region: us-central1",
                    "region: us-central1\nbudget: {max_launches: 1}")
    markdown = mixed_repo.run("plan", "--output", "markdown").out
    assert "⛔ **Over budget:**" in markdown
    assert "Merging applies this plan" not in markdown
    assert "**Merging applies nothing:**" in markdown


def test_warnings_of_untouched_jobs_are_collapsed(mixed_repo: Repo) -> None:
    git(mixed_repo.root, "checkout", "-q", "-b", "feature")
    mixed_repo.edit(GEMINI_CONFIG, "epoch_count: 3", "epoch_count: 4")
    mixed_repo.commit("more epochs")
    markdown = mixed_repo.run("plan", "--base", "main", "--output", "markdown").out
    warnings = html(markdown).split("<h4>Warnings</h4>")[1]
    shown, _, collapsed = warnings.partition("warnings about jobs this pull request does not "
                                             "change</summary>")
    # The branch changes bigquery-gemini: its dataset's warning is in view; the pipelines'
    # are collapsed, under a summary that counts them.
    assert "datasets/bigquery-gemini.jsonl" in shown
    assert "datasets/vision-chat.jsonl" not in shown
    assert "datasets/vision-chat.jsonl" in collapsed
    assert collapsed.rstrip().endswith("</details>\n<p>Merging applies this plan "
                                       "(<code>reconcile apply --auto-approve</code> on the "
                                       "default branch). <code>reconcile plan</code> shows it "
                                       "locally.</p>")
    assert re.search(r"\d+ warnings about jobs this pull request does not change", markdown)


def test_show_renders_a_saved_plan_in_every_format(mixed_repo: Repo) -> None:
    saved = mixed_repo.root / "plan.json"
    assert mixed_repo.run("plan", "--out", str(saved)).code == 0
    text = mixed_repo.run("show", str(saved))
    assert text.code == 0, text.err
    assert "Plan: 4 to create" in text.out and "+ create   bigquery-gemini" in text.out
    assert json.loads(mixed_repo.run("show", str(saved), "--output", "json").out) == (
        json.loads(saved.read_text()))
    markdown = mixed_repo.run("show", str(saved), "--output", "markdown").out
    assert markdown.startswith("### tuneops: Plan: 4 to create")
    github = mixed_repo.run("show", str(saved), "--output", "github").out
    assert github.startswith("::warning file=")
    broken = mixed_repo.root / "broken.json"
    broken.write_text("{")
    failed = mixed_repo.run("show", str(broken))
    assert failed.code == 1 and "cannot read plan file" in failed.err


def test_apply_of_a_plan_file_prints_the_plan_before_the_results(mixed_repo: Repo) -> None:
    saved = mixed_repo.root / "plan.json"
    mixed_repo.run("plan", "--out", str(saved))
    result = mixed_repo.run("apply", str(saved))
    assert result.code == 0, result.err
    assert result.out.index("Plan: 4 to create") < result.out.index("launched  bigquery-gemini")
    assert "+ create   bigquery-gemini" in result.out


def _footer_of(*actions: Action) -> tuple[str, bool]:
    plan = Plan(actions=actions, warnings=(), desired_digest="d", observed_digest="o")
    return footer(plan), plan.needs_attention


def test_the_footer_says_what_the_drift_check_says() -> None:
    """`plan --detailed-exitcode` exits 2 when the plan needs attention (changes, a run to
    cancel, or a failed job); the footer says so in words, and "nothing" only when not."""
    noop = Noop(name="a", reason="up to date", job_id="1", model="m")
    failed = Failed(name="b", reason="job failed", job_id="2", error="bad data")
    cancelling = replace(noop, cancel=("projects/p/locations/us-central1/tuningJobs/9",))
    quiet, attention = _footer_of(noop)
    assert not attention and quiet.startswith("Merging changes nothing in Vertex AI.")
    assert "failed" not in quiet
    stays, attention = _footer_of(noop, failed)
    assert attention
    assert stays.startswith("Merging changes nothing in Vertex AI. 1 failed job(s) stay failed")
    assert "`reconcile apply --retry-failed`" in stays and "drift check" in stays
    stops, attention = _footer_of(cancelling)
    assert attention and stops.startswith("Merging applies this plan")


def test_a_rename_is_shown_by_show_and_by_apply_of_its_plan_file(gemini: Repo) -> None:
    gemini.cli()
    gemini.advance()
    gemini.edit(GEMINI_CONFIG, "name: bigquery-gemini", "name: sql-assistant")
    gemini.commit("rename")
    saved = gemini.root / "plan.json"
    assert gemini.run("plan", "--out", str(saved)).code == 0
    text = gemini.run("show", str(saved)).out
    assert "> rename   sql-assistant  renamed from bigquery-gemini, no re-tune" in text
    assert "1 run(s) of bigquery-gemini move to sql-assistant; model projects/" in text
    assert "~ name: bigquery-gemini -> sql-assistant" in text
    markdown = html(gemini.run("show", str(saved), "--output", "markdown").out)
    assert ("Moves 1 run(s) of <code>bigquery-gemini</code> to <code>sql-assistant</code>; "
            "nothing is tuned.") in markdown
    assert "<summary><code>sql-assistant</code>: rename</summary>" in markdown
    applied = gemini.run("apply", str(saved))
    assert applied.code == 0, applied.err
    assert applied.out.index("> rename   sql-assistant") < applied.out.index(
        "renamed   sql-assistant  from bigquery-gemini, 1 run(s), nothing tuned")
