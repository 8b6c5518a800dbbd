"""Fault injection and call counting."""

from __future__ import annotations

import threading
import time

import pytest
from google.api_core import exceptions

from reconciler.emulator.faults import Faults
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


def test_latency_serves_every_call_late_failed_ones_too(pipelines, models, store):
    # A latency far above a local call's own time, so the lower bound holds on a loaded
    # machine; no upper bound is asserted (the machine may be slower still).
    store.set_faults(latency_seconds=0.3)
    for call in (lambda: list(pipelines.list_pipeline_jobs(parent=PARENT)),
                 lambda: list(models.list_models(parent=PARENT))):
        started = time.monotonic()
        call()
        assert time.monotonic() - started >= 0.3
    store.set_faults(latency_seconds=0.3, unavailable_rate=1.0)
    started = time.monotonic()
    with pytest.raises(exceptions.ServiceUnavailable):
        list(models.list_models(parent=PARENT))
    assert time.monotonic() - started >= 0.3


def test_jitter_is_drawn_per_call_and_reproducible_with_a_seed():
    faults = Faults(latency_seconds=0.1, jitter_seconds=0.05, seed=3)
    delays = [faults.draw(index, droppable=False).delay_seconds for index in range(50)]
    assert all(0.1 <= delay <= 0.15 for delay in delays)
    assert len(set(delays)) == 50
    assert delays == [faults.draw(index, droppable=False).delay_seconds for index in range(50)]
    assert Faults(latency_seconds=0.1).draw(0, droppable=True).delay_seconds == 0.1


def test_a_create_is_served_its_create_latency_on_top_of_every_call_s():
    faults = Faults(create_latency_seconds=2.0, latency_seconds=0.1)
    assert faults.draw(0, droppable=True).delay_seconds == pytest.approx(2.1)
    assert faults.draw(1, droppable=False).delay_seconds == pytest.approx(0.1)
    with pytest.raises(ValueError, match="delays must not be negative"):
        Faults(create_latency_seconds=-1.0)


def test_jitter_leaves_a_seeded_fault_sequence_as_it_was():
    plain = Faults(unavailable_rate=0.5, drop_create_response_rate=0.5, seed=9)
    slow = Faults(unavailable_rate=0.5, drop_create_response_rate=0.5, seed=9,
                  latency_seconds=1.0, jitter_seconds=1.0)
    assert ([plain.draw(i, droppable=True).fault for i in range(40)]
            == [slow.draw(i, droppable=True).fault for i in range(40)])


def test_negative_latency_is_refused(store):
    with pytest.raises(ValueError, match="delays must not be negative"):
        store.set_faults(jitter_seconds=-1.0)


def test_held_creates_wait_for_each_other_and_are_served_in_arrival_order(pipelines, store):
    store.set_faults(hold_creates_for=2)
    first = threading.Thread(target=pipelines.create_pipeline_job, kwargs={
        "parent": PARENT, "pipeline_job": job_body(), "pipeline_job_id": "first"})
    first.start()
    deadline = time.monotonic() + 30
    while "CreatePipelineJob" not in store.calls():  # poll with a deadline: it has arrived
        assert time.monotonic() < deadline
    # Held: other calls are served meanwhile, and the job is not made yet.
    assert list(pipelines.list_pipeline_jobs(parent=PARENT)) == []
    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(),
                                  pipeline_job_id="second")
    first.join(timeout=30)
    assert not first.is_alive()
    jobs = sorted(pipelines.list_pipeline_jobs(parent=PARENT),
                  key=lambda job: (job.create_time, job.name))
    assert [job.name.rsplit("/", 1)[-1] for job in jobs] == ["first", "second"]
    assert jobs[0].create_time < jobs[1].create_time


def test_only_creates_are_held():
    faults = Faults(hold_creates_for=2)
    assert faults.draw(0, droppable=True).hold == 2
    assert faults.draw(1, droppable=False).hold == 0
    with pytest.raises(ValueError, match="must not be negative"):
        Faults(hold_creates_for=-1)
