"""Fault injection and call counting."""

from __future__ import annotations

import pytest
from google.api_core import exceptions

from tests.emulator.helpers import PARENT, job_body

pytestmark = pytest.mark.usefixtures("datasets")


def test_unavailable_rate_one_fails_every_call_and_does_nothing(pipelines, store):
    store.set_faults(unavailable_rate=1.0)
    with pytest.raises(exceptions.ServiceUnavailable):
        pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id="u")
    with pytest.raises(exceptions.ServiceUnavailable):
        list(pipelines.list_pipeline_jobs(parent=PARENT))
    store.set_faults()
    assert list(pipelines.list_pipeline_jobs(parent=PARENT)) == []
    assert store.calls() == {"CreatePipelineJob": 1, "ListPipelineJobs": 2}


def test_resource_exhausted(models, store):
    store.set_faults(resource_exhausted_rate=1.0)
    with pytest.raises(exceptions.ResourceExhausted):
        list(models.list_models(parent=PARENT))


def test_dropped_create_response_still_commits(pipelines, store):
    store.set_faults(drop_create_response_rate=1.0)
    with pytest.raises(exceptions.ServiceUnavailable, match="response lost"):
        pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id="d")
    # Other calls are unaffected by the drop rate.
    [job] = pipelines.list_pipeline_jobs(parent=PARENT)
    assert job.name.endswith("/pipelineJobs/d")
    # The client's retry with the same id learns the job exists.
    with pytest.raises(exceptions.AlreadyExists):
        pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id="d")


def test_seeded_faults_are_reproducible(pipelines, store):
    def outcomes() -> list[bool]:
        store.set_faults(unavailable_rate=0.5, seed=7)
        results = []
        for _ in range(12):
            try:
                pipelines.list_pipeline_jobs(parent=PARENT)
                results.append(True)
            except exceptions.ServiceUnavailable:
                results.append(False)
        return results

    first = outcomes()
    assert first == outcomes()
    assert True in first
    assert False in first


def test_reset_calls(pipelines, store):
    list(pipelines.list_pipeline_jobs(parent=PARENT))
    assert store.calls() == {"ListPipelineJobs": 1}
    store.reset_calls()
    assert store.calls() == {}


def test_fault_rates_are_validated(store):
    with pytest.raises(ValueError, match="within"):
        store.set_faults(unavailable_rate=1.5)
