"""The emulator's switches for what Vertex AI leaves undocumented, and its known behaviours
that take time, each through the real GAPIC clients."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1.types import JobState

from reconciler.emulator.quirks import Quirks
from reconciler.emulator.tuning_jobs import TuningJobs
from tests.emulator.helpers import (
    EU_PARENT,
    JOB_SECONDS,
    NUMBER,
    PARENT,
    PROJECT,
    job_body,
    tuning_body,
)

pytestmark = pytest.mark.usefixtures("datasets")

MANAGED = 'labels.app="tuneops"'
TOKYO = f"projects/{PROJECT}/locations/asia-northeast1"


def _listed(tuning, filter_=MANAGED):
    return [job.name for job in tuning.list_tuning_jobs(
        request={"parent": PARENT, "filter": filter_})]


def test_names_carry_the_project_number_and_requests_take_either(tuning):
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    assert job.name.startswith(f"projects/{NUMBER}/locations/us-central1/tuningJobs/")
    by_id = job.name.replace(f"projects/{NUMBER}/", f"projects/{PROJECT}/")
    assert tuning.get_tuning_job(name=by_id) == tuning.get_tuning_job(name=job.name)
    assert _listed(tuning) == [job.name]


@pytest.mark.parametrize(("setting", "foreign_listed"), [
    ("honoured", False), ("ignored", True)])
def test_a_list_filter_honoured_or_ignored(tuning, store, setting, foreign_listed):
    ours = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body()).name
    theirs = tuning.create_tuning_job(
        parent=PARENT, tuning_job=tuning_body(labels={"team": "other"})).name
    store.set_quirks(list_filter=setting)
    assert sorted(_listed(tuning)) == sorted([ours, theirs] if foreign_listed else [ours])


def test_a_list_filter_rejected_fails_only_filtered_lists(tuning, models, store):
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body()).name
    store.set_quirks(list_filter="rejected")
    with pytest.raises(exceptions.InvalidArgument, match="filter"):
        _listed(tuning)
    with pytest.raises(exceptions.InvalidArgument, match="filter"):
        list(models.list_models(request={"parent": PARENT, "filter": MANAGED}))
    assert _listed(tuning, "") == [job]


def test_a_lagging_list_shows_a_job_only_later_while_get_sees_it_at_once(tuning, store):
    store.set_quirks(list_lag_seconds=60)
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    assert tuning.get_tuning_job(name=job.name).name == job.name
    assert _listed(tuning) == []
    store.advance_clock(61)
    assert _listed(tuning) == [job.name]


@pytest.mark.parametrize(("outcome", "state"), [
    ("cancelled", JobState.JOB_STATE_CANCELLED), ("succeeded", JobState.JOB_STATE_SUCCEEDED),
    ("failed", JobState.JOB_STATE_FAILED)])
def test_a_cancel_is_best_effort(tuning, models, store, outcome, state):
    store.set_quirks(cancel_outcome=outcome)
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    store.advance_clock(JOB_SECONDS * 0.5)
    tuning.cancel_tuning_job(name=job.name)
    assert tuning.get_tuning_job(name=job.name).state == JobState.JOB_STATE_CANCELLING
    store.advance_clock(5)
    ended = tuning.get_tuning_job(name=job.name)
    assert ended.state == state
    assert bool(list(models.list_models(parent=PARENT))) == (outcome == "succeeded")


def test_a_cancelled_run_may_leave_the_model_of_its_checkpoints(tuning, models, endpoints,
                                                                store):
    store.set_quirks(cancelled_runs_leave_model=True)
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body(epoch_count=3))
    # Two of three epochs done: 10% pending, then 0.6 of the run.
    store.advance_clock(JOB_SECONDS * (0.1 + 0.9 * 0.7))
    tuning.cancel_tuning_job(name=job.name)
    store.advance_clock(5)
    ended = tuning.get_tuning_job(name=job.name)
    assert ended.state == JobState.JOB_STATE_CANCELLED
    assert [c.checkpoint_id for c in ended.tuned_model.checkpoints] == ["1", "2"]
    [model] = models.list_models(parent=PARENT)
    assert ended.tuned_model.model == f"{model.name}@1"
    assert dict(model.labels)["app"] == "tuneops"
    assert len(endpoints.list_endpoints(parent=PARENT).endpoints) == 2


def test_a_tuned_gemini_model_may_refuse_label_updates_and_deletion(tuning, models,
                                                                    endpoints, store):
    store.set_quirks(update_model_labels=False, delete_tuned_model=False)
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    store.advance_clock(JOB_SECONDS * 2)
    [model] = models.list_models(parent=PARENT)
    with pytest.raises(exceptions.InvalidArgument, match="labels"):
        models.update_model(request={"model": {"name": model.name, "labels": {"a": "b"}},
                                     "update_mask": {"paths": ["labels"]}})
    models.update_model(request={"model": {"name": model.name, "display_name": "renamed"},
                                 "update_mask": {"paths": ["display_name"]}})
    for ref in model.deployed_models:
        endpoints.undeploy_model(endpoint=ref.endpoint,
                                 deployed_model_id=ref.deployed_model_id).result()
    with pytest.raises(exceptions.FailedPrecondition, match="can't be deleted"):
        models.delete_model(name=model.name).result()
    assert tuning.get_tuning_job(name=job.name).state == JobState.JOB_STATE_SUCCEEDED


def test_operations_take_the_time_set(tuning, models, endpoints, store):
    tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    store.advance_clock(JOB_SECONDS * 2)
    [model] = models.list_models(parent=PARENT)
    store.set_faults(operation_seconds=600)
    ref = model.deployed_models[0]
    operation = endpoints.undeploy_model(endpoint=ref.endpoint,
                                         deployed_model_id=ref.deployed_model_id)
    assert not operation.done()
    with pytest.raises(TimeoutError):
        operation.result(timeout=0.5)
    store.advance_clock(601)
    operation.result(timeout=30)
    assert operation.done()


def test_the_tuning_quota_is_one_number_for_all_locations(tuning, store):
    store.set_quota({"global": {"tuning-job": 1}})
    tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    with pytest.raises(exceptions.ResourceExhausted, match="exceed quota limits"):
        tuning.create_tuning_job(parent=TOKYO, tuning_job=tuning_body())


def test_a_quota_refusal_may_carry_only_details(tuning, store):
    store.set_quota({"global": {"tuning-job": 0}})
    store.set_quirks(quota_error="details")
    with pytest.raises(exceptions.ResourceExhausted) as refused:
        tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    assert "exceed quota limits" not in str(refused.value)
    kinds = sorted(type(detail).__name__ for detail in refused.value.details)
    assert kinds == ["ErrorInfo", "QuotaFailure"]


def test_past_quota_a_create_may_be_queued_until_a_slot_frees(tuning, store):
    store.set_quota({"global": {"tuning-job": 1}})
    store.set_quirks(quota_mode="queue")
    first = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    second = tuning.create_tuning_job(parent=TOKYO, tuning_job=tuning_body())
    assert second.state == JobState.JOB_STATE_QUEUED
    store.advance_clock(JOB_SECONDS * 0.5)
    assert tuning.get_tuning_job(name=second.name).state == JobState.JOB_STATE_QUEUED
    store.advance_clock(JOB_SECONDS)
    assert tuning.get_tuning_job(name=first.name).state == JobState.JOB_STATE_SUCCEEDED
    assert tuning.get_tuning_job(name=second.name).state == JobState.JOB_STATE_PENDING
    store.advance_clock(JOB_SECONDS * 2)
    assert tuning.get_tuning_job(name=second.name).state == JobState.JOB_STATE_SUCCEEDED


def test_pipeline_quota_stays_per_location(pipelines, store):
    store.set_quota({"us-central1": {"pipeline": 1}})
    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id="a")
    pipelines.create_pipeline_job(parent=EU_PARENT, pipeline_job=job_body(),
                                  pipeline_job_id="b")
    with pytest.raises(exceptions.ResourceExhausted):
        pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(),
                                      pipeline_job_id="c")


def test_quirks_are_checked_and_an_older_setting_reads_with_defaults():
    with pytest.raises(ValueError, match="list_filter must be one of"):
        Quirks(list_filter="sometimes")  # type: ignore[arg-type]
    assert Quirks.from_json('{"model_labels": false}') == Quirks(model_labels=False)


def test_a_job_queued_for_quota_counts_for_no_other_queue(tuning, store):
    """The queue is first come, first served: a later create waits behind an earlier one."""
    store.set_quota({"global": {"tuning-job": 1}})
    store.set_quirks(quota_mode="queue")
    tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    queued = [tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body()).name
              for _ in range(2)]
    store.advance_clock(JOB_SECONDS * 1.01)
    states = {job.name: job.state for job in TuningJobs(store).all()}
    assert [states[name] for name in queued] == [JobState.JOB_STATE_PENDING,
                                                 JobState.JOB_STATE_QUEUED]
