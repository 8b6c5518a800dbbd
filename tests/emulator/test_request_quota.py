"""The request quota of job and LRO submissions (`emulator quota --submissions-per-minute`),
through the real GAPIC clients: any 60 seconds of a region hold at most the rate."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.rpc import error_details_pb2

from reconciler.backends.calls import is_quota, transient_errors
from reconciler.emulator.all_services import SERVICES
from reconciler.emulator.service import Context
from reconciler.emulator.store import EmulatorStore
from tests.emulator.helpers import EU_PARENT, NUMBER, PARENT, job_body, tuning_body

pytestmark = pytest.mark.usefixtures("datasets")


def test_submissions_past_the_rate_wait_for_the_minute_in_their_own_region(tuning, store):
    store.set_submission_rate(2)
    for _ in range(2):
        tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    store.advance_clock(30)
    with pytest.raises(exceptions.ResourceExhausted) as refused:
        tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    [retry] = [d for d in refused.value.details if isinstance(d, error_details_pb2.RetryInfo)]
    assert retry.retry_delay.seconds == 30
    # Another region has a minute of its own; reads are no submissions.
    tuning.create_tuning_job(parent=EU_PARENT, tuning_job=tuning_body())
    assert len(list(tuning.list_tuning_jobs(parent=PARENT))) == 2
    store.advance_clock(30)
    tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())


def test_a_project_named_by_number_is_the_same_projects_quota(pipelines, store):
    store.set_submission_rate(1)
    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id="a")
    with pytest.raises(exceptions.ResourceExhausted):
        pipelines.create_pipeline_job(parent=f"projects/{NUMBER}/locations/us-central1",
                                      pipeline_job=job_body(), pipeline_job_id="b")


def test_tuneops_retries_a_rate_refusal_and_does_not_take_it_for_a_job_quota(tuning, store):
    store.set_submission_rate(1)
    tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    with pytest.raises(exceptions.ResourceExhausted) as refused:
        tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    assert isinstance(refused.value, transient_errors())
    assert not is_quota(refused.value)


def test_without_a_rate_nothing_is_refused(tuning, store):
    assert store.submission_rate() is None
    for _ in range(5):
        tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())


def test_the_submissions_are_the_calls_tuneops_paces(store: EmulatorStore) -> None:
    """CreatePipelineJob, CreateTuningJob (v1 and v1beta1), UndeployModel, DeleteEndpoint and
    DeleteModel: what backends/ pace with Caller.submitting, and no read."""
    context = Context(store, read_object=lambda uri: b"", job_seconds=1.0)
    counted = sorted(f"{name.rsplit('.', 2)[-2]}.{method.name}"
                     for service in SERVICES for name, methods in service.serve(context)
                     for method in methods if method.submission)
    assert counted == sorted(["v1.CreatePipelineJob", "v1.CreateTuningJob",
                              "v1beta1.CreateTuningJob", "v1.UndeployModel",
                              "v1.DeleteEndpoint", "v1.DeleteModel"])
