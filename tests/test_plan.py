"""The pure planner: Desired and Observed values built by hand, no emulator, no disk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconciler.core import labels as managed
from reconciler.core.desired import Dataset, Desired, DesiredJob, Target
from reconciler.core.fingerprint import fingerprint, metadata_digest
from reconciler.core.observed import JobState, Observed, ObservedJob, ObservedModel
from reconciler.errors import Location, Problem, TuneopsError
from reconciler.kinds.base import run_id
from reconciler.kinds.pipeline import PIPELINE, PipelineSpec
from reconciler.output import planfile
from reconciler.plan.actions import (
    Change,
    Create,
    DriftRelaunch,
    DriftRestore,
    Failed,
    Noop,
    Orphan,
    Rename,
    Retune,
    Running,
    Update,
)
from reconciler.plan.planner import Plan, PlanOptions, plan

TARGET = Target(project="tuneops-local", local=True, staging_bucket="gs://tuneops-local/staging")
LOCATION = "projects/tuneops-local/locations/us-central1"


def job(name: str = "snippets", *, dataset_hash: str = "a" * 40, **spec: Any) -> DesiredJob:
    """A desired job as load_desired would build it from a config with these keys."""
    values = {"name": name, "task": "code-generation", "dataset_uri": f"datasets/{name}.jsonl",
              "labels": {"team": "data"}, **spec}
    job_spec = PipelineSpec.model_validate(values)
    dataset = Dataset(job_spec.dataset_uri, "training", dataset_hash, 600,
                      path=job_spec.dataset_uri)
    inputs = PIPELINE.weight_inputs(job_spec, {"training": dataset})
    return DesiredJob(
        name=name, kind="pipeline", source=f"configs/{name}.yaml:1:1",
        location=job_spec.tuning_location, inputs=inputs, metadata=PIPELINE.metadata(job_spec),
        fingerprint=fingerprint(inputs), datasets=(dataset,), spec=job_spec)


def desired(*jobs: DesiredJob, cancel_superseded: bool = True,
            warnings: tuple[Problem, ...] = ()) -> Desired:
    return Desired(target=TARGET, cancel_superseded=cancel_superseded, jobs=jobs,
                   warnings=warnings)


def ran(of: DesiredJob, state: JobState = JobState.SUCCEEDED, *, attempt: int = 1,
        minute: int = 0, error: str = "") -> ObservedJob:
    """The pipeline job tuneops launched for `of`, as the backend reports it."""
    job_id = run_id(of.name, of.fingerprint, attempt)
    return ObservedJob(
        kind="pipeline", job_id=job_id, resource=f"{LOCATION}/pipelineJobs/{job_id}", name=of.name,
        fingerprint=of.fingerprint, state=state, create_time=f"2026-01-01T00:{minute:02d}:00Z",
        inputs=dict(of.inputs),
        metadata={**of.metadata, "description": "", "labels": dict(of.metadata["labels"])},
        error=error, attempt=attempt)


def model(of: DesiredJob, *, display_name: str | None = None,
          labels: dict[str, str] | None = None, description: str = "",
          written: tuple[str, dict[str, str]] | None = None, number: int = 1) -> ObservedModel:
    """The Model of `of`'s run; `written` is the metadata tuneops last wrote (default: live)."""
    live_name = of.metadata["model_display_name"] if display_name is None else display_name
    live_labels = dict(of.metadata["labels"]) if labels is None else labels
    recorded_name, recorded_labels = written or (live_name, live_labels)
    return ObservedModel(
        resource=f"{LOCATION}/models/{number}", name=of.name, fingerprint=of.fingerprint,
        display_name=live_name, description=description, labels=live_labels,
        all_labels={**live_labels, managed.MANAGED_BY: managed.MANAGER, managed.NAME: of.name,
                    managed.FINGERPRINT: of.fingerprint,
                    managed.METADATA: metadata_digest(recorded_name, recorded_labels)})


def only(result: Plan) -> Any:
    assert len(result.actions) == 1, result.actions
    return result.actions[0]


CURRENT = job()
OLD = job(train_steps=500)
Scenario = Callable[[], tuple[Desired, Observed, PlanOptions]]


def _scenario(observed: Observed, options: PlanOptions | None = None,
              wanted: DesiredJob = CURRENT) -> Scenario:
    return lambda: (desired(wanted), observed, options or PlanOptions())


SCENARIOS: dict[str, tuple[Scenario, str, str]] = {
    "create": (_scenario(Observed()), "create", run_id("snippets", CURRENT.fingerprint)),
    "retune": (_scenario(Observed(jobs=(ran(OLD),), models=(model(OLD),))), "retune",
               run_id("snippets", CURRENT.fingerprint)),
    "update": (_scenario(Observed(jobs=(ran(CURRENT),),
                                  models=(model(CURRENT, labels={"team": "ml"}),))),
               "update", ran(CURRENT).job_id),
    "noop": (_scenario(Observed(jobs=(ran(CURRENT),), models=(model(CURRENT),))), "noop",
             ran(CURRENT).job_id),
    "pending": (_scenario(Observed(jobs=(ran(CURRENT, JobState.PENDING),))), "running",
                ran(CURRENT).job_id),
    "running": (_scenario(Observed(jobs=(ran(CURRENT, JobState.RUNNING),))), "running",
                ran(CURRENT).job_id),
    "failed": (_scenario(Observed(jobs=(ran(CURRENT, JobState.FAILED, error="OOM"),))),
               "failed", ran(CURRENT).job_id),
    "cancelled": (_scenario(Observed(jobs=(ran(CURRENT, JobState.CANCELLED),))), "failed",
                  ran(CURRENT).job_id),
    "retry-failed": (_scenario(Observed(jobs=(ran(CURRENT, JobState.FAILED),)),
                               PlanOptions(retry_failed=True)),
                     "retune", run_id("snippets", CURRENT.fingerprint, 2)),
    "model-deleted": (_scenario(Observed(jobs=(ran(CURRENT),))), "drift",
                      run_id("snippets", CURRENT.fingerprint, 2)),
    "model-edited": (_scenario(Observed(jobs=(ran(CURRENT),), models=(
        model(CURRENT, labels={"team": "x"}, written=("snippets", {"team": "data"})),))),
        "drift", ran(CURRENT).job_id),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_action_kind(scenario: str) -> None:
    build, kind, job_id = SCENARIOS[scenario]
    wanted, observed, options = build()
    action = only(plan(wanted, observed, options))
    assert action.action == kind
    assert action.name == "snippets"
    assert action.job_id == job_id


def test_create_carries_the_launch() -> None:
    action = only(plan(desired(CURRENT), Observed()))
    assert isinstance(action, Create)
    assert action.launch.pipeline_job_id == action.job_id
    assert action.launch.labels[managed.FINGERPRINT] == CURRENT.fingerprint
    assert action.changes == ()


def test_retune_lists_changes_and_marks_those_forcing_it() -> None:
    wanted = job(train_steps=300, labels={"team": "ml"})
    action = only(plan(desired(wanted), Observed(jobs=(ran(OLD),), models=(model(OLD),))))
    assert isinstance(action, Retune)
    assert Change("train_steps", 500, 300, forces_retune=True) in action.changes
    assert Change("labels.team", "data", "ml", forces_retune=False) in action.changes
    assert [c.field for c in action.changes if c.forces_retune] == ["train_steps"]
    assert "train_steps" in action.reason
    assert action.launch.pipeline_job_id == run_id("snippets", wanted.fingerprint)
    assert action.cancel == ()


def test_retune_on_dataset_change_names_dataset_hash() -> None:
    wanted = job(dataset_hash="c" * 40)
    action = only(plan(desired(wanted), Observed(jobs=(ran(CURRENT),), models=(model(CURRENT),))))
    assert isinstance(action, Retune)
    assert action.changes == (Change("dataset_hash", "a" * 40, "c" * 40, forces_retune=True),)


def test_retune_diffs_against_the_latest_job() -> None:
    older = job(train_steps=700)
    history = (ran(OLD, minute=5), ran(older, minute=1))
    action = only(plan(desired(CURRENT), Observed(jobs=history)))
    assert isinstance(action, Retune)
    assert [(c.field, c.before) for c in action.changes] == [("train_steps", 500)]


@pytest.mark.parametrize("state", [JobState.PENDING, JobState.RUNNING])
@pytest.mark.parametrize("cancel_superseded", [True, False])
def test_running_superseded_job_is_cancelled(state: JobState, cancel_superseded: bool) -> None:
    finished = ran(job(train_steps=700), minute=0)
    superseded = ran(OLD, state, minute=1)
    action = only(plan(desired(CURRENT, cancel_superseded=cancel_superseded),
                       Observed(jobs=(finished, superseded))))
    assert isinstance(action, Retune)
    assert action.cancel == ((superseded.resource,) if cancel_superseded else ())


def test_update_patches_metadata_and_keeps_managed_labels() -> None:
    wanted = job(model_display_name="BigQuery snippets", labels={"team": "data", "tier": "a"})
    stale = job(labels={"team": "ml"})  # same weights, other metadata
    assert stale.fingerprint == wanted.fingerprint
    live = model(stale)
    action = only(plan(desired(wanted), Observed(jobs=(ran(stale),), models=(live,))))
    assert isinstance(action, Update)
    assert action.patch.model == live.resource
    assert action.patch.display_name == "BigQuery snippets"
    assert action.patch.labels == {
        "team": "data", "tier": "a",
        managed.MANAGED_BY: managed.MANAGER,
        managed.NAME: "snippets",
        managed.FINGERPRINT: wanted.fingerprint,
        managed.METADATA: metadata_digest("BigQuery snippets", {"team": "data", "tier": "a"}),
    }
    assert {c.field for c in action.changes} == {"model_display_name", "labels.team",
                                                 "labels.tier"}
    assert not any(c.forces_retune for c in action.changes)


def test_update_for_description_only() -> None:
    wanted = job(description="Snippets for BigQuery")
    action = only(plan(desired(wanted), Observed(jobs=(ran(wanted),), models=(model(wanted),))))
    assert isinstance(action, Update)
    assert action.changes == (Change("description", "", "Snippets for BigQuery", False),)
    assert action.patch.description == "Snippets for BigQuery"


def test_drift_restores_model_edited_outside_git() -> None:
    live = model(CURRENT, display_name="renamed in console", written=("snippets",
                                                                      {"team": "data"}))
    action = only(plan(desired(CURRENT), Observed(jobs=(ran(CURRENT),), models=(live,))))
    assert isinstance(action, DriftRestore)
    assert action.patch.display_name == "snippets"
    assert [c.field for c in action.changes] == ["model_display_name"]


def test_noop_names_the_model() -> None:
    live = model(CURRENT)
    action = only(plan(desired(CURRENT), Observed(jobs=(ran(CURRENT),), models=(live,))))
    assert isinstance(action, Noop)
    assert action.model == live.resource


@pytest.mark.parametrize("state", [JobState.PENDING, JobState.RUNNING])
def test_running_reports_state(state: JobState) -> None:
    action = only(plan(desired(CURRENT), Observed(jobs=(ran(CURRENT, state),))))
    assert isinstance(action, Running)
    assert action.state == state.value


def test_running_retry_wins_over_earlier_failure() -> None:
    history = (ran(CURRENT, JobState.FAILED), ran(CURRENT, JobState.RUNNING, attempt=2,
                                                  minute=3))
    action = only(plan(desired(CURRENT), Observed(jobs=history),
                       PlanOptions(retry_failed=True)))
    assert isinstance(action, Running)
    assert action.job_id == history[1].job_id


@pytest.mark.parametrize("state", [JobState.FAILED, JobState.CANCELLED])
def test_failed_is_not_relaunched(state: JobState) -> None:
    action = only(plan(desired(CURRENT), Observed(jobs=(ran(CURRENT, state, error="boom"),))))
    assert isinstance(action, Failed)
    assert action.error == "boom"
    assert "--retry-failed" in action.reason


@pytest.mark.parametrize(("failures", "suffix"), [(1, "-r2"), (2, "-r3")])
def test_retry_failed_relaunches_with_new_suffix(failures: int, suffix: str) -> None:
    history = tuple(ran(CURRENT, JobState.FAILED, attempt=n, minute=n)
                    for n in range(1, failures + 1))
    action = only(plan(desired(CURRENT), Observed(jobs=history), PlanOptions(retry_failed=True)))
    assert isinstance(action, Retune)
    assert action.job_id == run_id("snippets", CURRENT.fingerprint) + suffix
    assert action.launch.pipeline_job_id == action.job_id


def test_deleted_model_tunes_again_with_new_suffix() -> None:
    action = only(plan(desired(CURRENT), Observed(jobs=(ran(CURRENT),))))
    assert isinstance(action, DriftRelaunch)
    assert action.launch.pipeline_job_id.endswith("-r2")
    assert ran(CURRENT).job_id in action.reason


def test_orphans_for_names_gone_from_configs() -> None:
    gone = job("old-model")
    running = job("old-running")
    finished = job("old-finished")
    observed = Observed(
        jobs=(ran(gone), ran(running, JobState.RUNNING), ran(finished), ran(CURRENT)),
        models=(model(gone, number=7), model(CURRENT)))
    actions = plan(desired(CURRENT), observed).actions
    orphans = [a for a in actions if isinstance(a, Orphan)]
    assert [o.name for o in orphans] == ["old-model", "old-running"]
    assert orphans[0].models == (f"{LOCATION}/models/7",)
    assert orphans[0].job_id == ran(gone).job_id
    assert orphans[1].jobs == (ran(running).resource,)
    assert orphans[1].models == ()


def test_no_orphan_for_desired_names() -> None:
    # A desired name's Model of a superseded fingerprint is history of that job, not an orphan.
    observed = Observed(jobs=(ran(OLD), ran(CURRENT, JobState.RUNNING, minute=2)),
                        models=(model(OLD),))
    actions = plan(desired(CURRENT), observed).actions
    assert [a.action for a in actions] == ["running"]


def test_orphan_names_its_latest_job_whatever_the_listing_order() -> None:
    gone, gone_later = job("gone"), job("gone", train_steps=800)
    jobs = (ran(gone_later, minute=9), ran(gone, minute=1))
    for listed in (jobs, jobs[::-1]):
        (orphan,) = plan(desired(), Observed(jobs=listed, models=(model(gone),))).actions
        assert orphan.job_id == ran(gone_later).job_id


def test_orphan_resources_do_not_depend_on_listing_order() -> None:
    first, second = job("gone"), job("gone", train_steps=800)
    jobs = (ran(first, JobState.RUNNING, minute=1), ran(second, JobState.RUNNING, minute=2))
    models = (model(first, number=1), model(second, number=2))
    listed = plan(desired(), Observed(jobs=jobs, models=models))
    reversed_listing = plan(desired(), Observed(jobs=jobs[::-1], models=models[::-1]))
    assert listed.observed_digest == reversed_listing.observed_digest
    assert listed == reversed_listing


def mixed_state() -> tuple[Desired, Observed]:
    """One job for every action kind."""
    jobs = {name: job(name) for name in ("e-create", "a-noop", "d-running", "c-failed",
                                         "b-update")}
    retuned = job("f-retune", train_steps=400)
    superseded = job("f-retune", train_steps=900)
    # Another fingerprint: with e-create's, z-gone leaving would make e-create its rename.
    gone = job("z-gone", dataset_hash="d" * 40)
    warning = Problem(Location("datasets/e-create.jsonl"), "12 examples; at least 500 "
                      "are recommended")
    wanted = desired(*jobs.values(), retuned, warnings=(warning,))
    observed = Observed(
        jobs=(ran(jobs["a-noop"]), ran(jobs["d-running"], JobState.RUNNING),
              ran(jobs["c-failed"], JobState.FAILED, error="quota"), ran(jobs["b-update"]),
              ran(superseded, JobState.RUNNING), ran(gone)),
        models=(model(jobs["a-noop"], number=1), model(jobs["b-update"], labels={}, number=2),
                model(gone, number=3)))
    return wanted, observed


def test_every_kind_in_one_plan_sorted_by_name() -> None:
    wanted, observed = mixed_state()
    result = plan(wanted, observed)
    assert [(a.name, a.action) for a in result.actions] == [
        ("a-noop", "noop"), ("b-update", "update"), ("c-failed", "failed"),
        ("d-running", "running"), ("e-create", "create"), ("f-retune", "retune"),
        ("z-gone", "orphan")]
    assert result.counts == {"noop": 1, "update": 1, "failed": 1, "running": 1, "create": 1,
                             "retune": 1, "orphan": 1}
    assert result.has_changes
    assert result.warnings == wanted.warnings


def test_actions_sorted_whatever_the_config_order() -> None:
    names = ["m", "b", "z", "a"]
    result = plan(desired(*(job(n) for n in names)), Observed())
    assert [a.name for a in result.actions] == sorted(names)


def test_plan_without_changes() -> None:
    result = plan(desired(CURRENT), Observed(jobs=(ran(CURRENT),), models=(model(CURRENT),)))
    assert not result.has_changes


def test_plan_is_deterministic() -> None:
    first = plan(*mixed_state())
    second = plan(*mixed_state())
    assert first == second
    assert planfile.dumps(first) == planfile.dumps(second)


def test_plan_ignores_listing_order_of_jobs_and_models() -> None:
    wanted, observed = mixed_state()
    shuffled = Observed(jobs=observed.jobs[::-1], models=observed.models[::-1])
    assert plan(wanted, shuffled) == plan(wanted, observed)


def test_observed_digest_changes_with_job_state() -> None:
    running = Observed(jobs=(ran(CURRENT, JobState.RUNNING),))
    succeeded = Observed(jobs=(ran(CURRENT, JobState.SUCCEEDED),))
    assert (plan(desired(CURRENT), running).observed_digest
            != plan(desired(CURRENT), succeeded).observed_digest)
    assert (plan(desired(CURRENT), running).observed_digest
            == plan(desired(OLD), running).observed_digest)


def test_observed_digest_changes_with_model_labels() -> None:
    jobs = (ran(CURRENT),)
    before = plan(desired(CURRENT), Observed(jobs=jobs, models=(model(CURRENT),)))
    after = plan(desired(CURRENT), Observed(jobs=jobs, models=(model(CURRENT, labels={}),)))
    assert before.observed_digest != after.observed_digest


def test_desired_digest_changes_with_fingerprint() -> None:
    assert (plan(desired(CURRENT), Observed()).desired_digest
            != plan(desired(OLD), Observed()).desired_digest)
    assert (plan(desired(CURRENT), Observed()).desired_digest
            == plan(desired(job()), Observed(jobs=(ran(OLD),))).desired_digest)


def test_desired_digest_changes_with_metadata() -> None:
    assert (plan(desired(CURRENT), Observed()).desired_digest
            != plan(desired(job(labels={})), Observed()).desired_digest)


def test_json_round_trip(tmp_path: Path) -> None:
    wanted, observed = mixed_state()
    # Add the two launching drift forms and a retried retune to the mixed plan.
    deleted, edited = job("g-deleted"), job("h-edited")
    observed = replace(observed, jobs=(*observed.jobs, ran(deleted), ran(edited)),
                       models=(*observed.models, model(edited, labels={"team": "x"},
                                                       written=("h-edited", {"team": "data"}),
                                                       number=9)))
    original = plan(replace(wanted, jobs=(*wanted.jobs, deleted, edited)), observed,
                    PlanOptions(commit="c" * 40))
    assert {a.action for a in original.actions} == {
        "create", "retune", "update", "drift", "noop", "running", "failed", "orphan"}
    assert planfile.to_json(original)["summary"] == original.counts
    path = tmp_path / "plan.json"
    path.write_text(planfile.dumps(original), encoding="utf-8")
    assert planfile.read(path) == original


@pytest.mark.parametrize("text", ['{"version": 99}', "[]", "not json"])
def test_read_rejects_what_is_not_a_current_plan(tmp_path: Path, text: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TuneopsError, match=str(path)):
        planfile.read(path)


SYSTEM_LABELS = {"vertex-ai-pipelines-run-billing-id": "1234567890",
                 "google-vertex-llm-tuning-base-model-id": "code-bison-001",
                 "tune-type": "supervised"}


def with_labels(of: ObservedModel, extra: dict[str, str]) -> ObservedModel:
    """The Model as the service shows it: labels nobody in git wrote beside tuneops' own."""
    return replace(of, labels={**of.labels, **extra}, all_labels={**of.all_labels, **extra})


def test_labels_the_service_adds_are_neither_drift_nor_update() -> None:
    live = with_labels(model(CURRENT), SYSTEM_LABELS)
    action = only(plan(desired(CURRENT), Observed(jobs=(ran(CURRENT),), models=(live,))))
    assert isinstance(action, Noop)


def test_an_update_keeps_labels_tuneops_does_not_own() -> None:
    wanted = job(labels={"team": "ml"})
    live = with_labels(model(CURRENT), {**SYSTEM_LABELS, "owner": "someone-else"})
    observed = Observed(jobs=(ran(CURRENT),), models=(live,))
    action = only(plan(desired(wanted), observed))
    assert isinstance(action, Update)
    assert action.changes == (Change("labels.team", "data", "ml", False),)
    for key, value in {**SYSTEM_LABELS, "owner": "someone-else", "team": "ml"}.items():
        assert action.patch.labels[key] == value
    assert action.patch.labels[managed.FINGERPRINT] == wanted.fingerprint


def test_a_label_removed_from_git_is_removed_from_the_model() -> None:
    wanted = job(labels={})
    observed = Observed(jobs=(ran(CURRENT),), models=(with_labels(model(CURRENT),
                                                                  SYSTEM_LABELS),))
    action = only(plan(desired(wanted), observed))
    assert isinstance(action, Update)
    assert "team" not in action.patch.labels
    assert set(SYSTEM_LABELS) <= set(action.patch.labels)


def test_a_console_edit_of_an_owned_label_is_drift_even_beside_system_labels() -> None:
    live = with_labels(model(CURRENT, labels={"team": "ops"}, written=("snippets",
                                                                       {"team": "data"})),
                       SYSTEM_LABELS)
    action = only(plan(desired(CURRENT), Observed(jobs=(ran(CURRENT),), models=(live,))))
    assert isinstance(action, DriftRestore)
    assert action.patch.labels["team"] == "data"
    assert set(SYSTEM_LABELS) <= set(action.patch.labels)


def test_a_model_without_tuneops_labels_is_labelled_not_retuned() -> None:
    # Found through its job (the pipeline did not copy labels): only system labels on it.
    bare = ObservedModel(resource=f"{LOCATION}/models/7", name=CURRENT.name,
                         fingerprint=CURRENT.fingerprint, display_name="snippets",
                         description="", labels=dict(SYSTEM_LABELS),
                         all_labels=dict(SYSTEM_LABELS))
    action = only(plan(desired(CURRENT), Observed(jobs=(ran(CURRENT),), models=(bare,))))
    assert isinstance(action, Update)
    assert "lacks tuneops' labels" in action.reason
    labels = action.patch.labels
    assert (labels[managed.MANAGED_BY], labels[managed.NAME], labels[managed.FINGERPRINT]) == (
        managed.MANAGER, CURRENT.name, CURRENT.fingerprint)
    assert labels["team"] == "data"
    assert set(SYSTEM_LABELS) <= set(labels)


# -- identity: cancelling runs, twins, renames, attempts -----------------------------------


def test_a_cancelling_run_is_not_failed_until_it_ends() -> None:
    action = only(plan(desired(CURRENT), Observed(jobs=(ran(CURRENT, JobState.CANCELLING),))))
    assert isinstance(action, Running)
    assert action.state == "cancelling"


def test_a_cancelling_run_still_counts_against_limits() -> None:
    cancelling = ran(OLD, JobState.CANCELLING)
    wanted = replace(desired(CURRENT), limits={"us-central1": {"pipeline": 1}})
    action = only(plan(wanted, Observed(jobs=(cancelling,))))
    assert action.action == "queued"
    assert "1 of 1 pipeline job(s) running in us-central1" in action.reason


def test_a_queued_retune_still_cancels_the_superseded_run_now() -> None:
    superseded = ran(OLD, JobState.RUNNING)
    wanted = replace(desired(CURRENT), limits={"us-central1": {"pipeline": 1}})
    action = only(plan(wanted, Observed(jobs=(superseded,))))
    assert action.action == "queued"
    assert action.cancel == (superseded.resource,)


@pytest.mark.parametrize("state", [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED])
def test_a_superseded_run_is_cancelled_whatever_the_desired_fingerprint_plans(
        state: JobState) -> None:
    settled = ran(CURRENT, state, minute=0)
    superseded = ran(OLD, JobState.RUNNING, minute=5)
    models = (model(CURRENT),) if state == JobState.SUCCEEDED else ()
    action = only(plan(desired(CURRENT), Observed(jobs=(settled, superseded), models=models)))
    assert action.action == {JobState.SUCCEEDED: "noop"}.get(state, "failed")
    assert action.cancel == (superseded.resource,)
    assert plan(desired(CURRENT), Observed(jobs=(settled, superseded), models=models)
                ).has_changes


def test_only_a_cancel_by_tuneops_as_superseded_relaunches_without_retry_failed() -> None:
    cancelled = replace(ran(CURRENT, JobState.CANCELLED), cancelled_by_tuneops="superseded")
    action = only(plan(desired(CURRENT), Observed(jobs=(cancelled,))))
    assert isinstance(action, Retune)
    assert action.job_id == run_id("snippets", CURRENT.fingerprint, 2)
    assert "tuneops cancelled" in action.reason


def test_the_younger_of_two_runs_of_one_attempt_is_a_twin() -> None:
    older = ran(CURRENT, JobState.RUNNING, minute=1)
    younger = replace(ran(CURRENT, JobState.RUNNING, minute=2), job_id="twin",
                      resource=f"{LOCATION}/pipelineJobs/twin")
    action = only(plan(desired(CURRENT), Observed(jobs=(younger, older))))
    assert isinstance(action, Running)
    assert action.job_id == older.job_id
    assert action.twins == (younger.resource,)
    assert action.cancel == ()
    # A twin that failed does not make the fingerprint failed.
    failed_twin = replace(younger, state=JobState.FAILED)
    settled = replace(older, state=JobState.SUCCEEDED)
    action = only(plan(desired(CURRENT), Observed(jobs=(settled, failed_twin),
                                                  models=(model(CURRENT),))))
    assert isinstance(action, Noop)
    assert action.twins == ()


def _renamed(old: DesiredJob, new_name: str) -> DesiredJob:
    return replace(old, name=new_name, spec=old.spec.model_copy(update={"name": new_name}))


def test_a_new_name_with_a_gone_names_succeeded_fingerprint_is_a_rename() -> None:
    new = _renamed(CURRENT, "renamed")
    result = plan(desired(new), Observed(jobs=(ran(CURRENT),), models=(model(CURRENT),)))
    action = only(result)
    assert isinstance(action, Rename)
    assert action.renamed_from == "snippets"
    assert action.runs == (ran(CURRENT).resource,)
    assert action.patch is not None
    assert action.patch.labels[managed.NAME] == "renamed"
    assert result.has_changes


@pytest.mark.parametrize("state", [JobState.FAILED, JobState.RUNNING])
def test_a_run_that_did_not_succeed_is_not_renamed(state: JobState) -> None:
    new = _renamed(CURRENT, "renamed")
    result = plan(desired(new), Observed(jobs=(ran(CURRENT, state),)))
    assert {a.name: a.action for a in result.actions}["renamed"] == "create"


def test_a_name_launched_again_after_a_rename_takes_the_next_attempt() -> None:
    moved = replace(ran(CURRENT), name="renamed", launched_as="snippets")
    result = plan(desired(CURRENT, _renamed(CURRENT, "renamed")),
                  Observed(jobs=(moved,), models=(replace(model(CURRENT), name="renamed"),)))
    found = {a.name: a for a in result.actions}
    assert found["renamed"].action == "noop"
    assert isinstance(found["snippets"], Create)
    assert found["snippets"].job_id == run_id("snippets", CURRENT.fingerprint, 2)
