"""Job lifecycle on the emulator clock, and the models successful jobs register."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1.types import PipelineState

from reconciler.emulator import EmulatorStore
from reconciler.emulator.lifecycle import FAILED_MESSAGE
from reconciler.emulator.models import Models
from reconciler.emulator.pipelines import PipelineJobs
from tests.emulator.helpers import (
    EU_PARENT,
    JOB_SECONDS,
    NAMED,
    PARENT,
    job_body,
    system_labels,
)

pytestmark = pytest.mark.usefixtures("datasets")


def test_pending_running_succeeded_registers_model(pipelines, models, store):
    labels = {"app": "tuneops", "spec": "s1"}
    job = pipelines.create_pipeline_job(
        parent=PARENT,
        pipeline_job=job_body(labels=labels, model_display_name="my-tuned-model"),
        pipeline_job_id="life",
    )
    created = job.create_time.timestamp()

    store.advance_clock(JOB_SECONDS * 0.5)
    running = pipelines.get_pipeline_job(name=job.name)
    assert running.state == PipelineState.PIPELINE_STATE_RUNNING
    assert running.start_time.timestamp() == pytest.approx(created + JOB_SECONDS * 0.1)
    assert list(models.list_models(parent=PARENT)) == []

    store.advance_clock(JOB_SECONDS)
    done = pipelines.get_pipeline_job(name=job.name)
    assert done.state == PipelineState.PIPELINE_STATE_SUCCEEDED
    assert done.end_time.timestamp() == pytest.approx(created + JOB_SECONDS)
    assert done.start_time == running.start_time

    [model] = models.list_models(parent=PARENT)
    assert model.name.startswith(f"{NAMED}/models/")
    assert model.name.rsplit("/", 1)[1].isdigit()
    assert model.display_name == "my-tuned-model"
    # The run's labels (copied by the upload step) plus the labels the service adds.
    assert dict(model.labels) == {**dict(done.labels), **system_labels("code-bison-001")}
    assert labels.items() <= dict(model.labels).items()
    assert model.description == ""
    assert model.version_id == "1"
    assert model.create_time == done.end_time
    assert model.pipeline_job == job.name
    assert models.get_model(name=model.name) == model
    # Reading again advances nothing twice: still exactly one model.
    assert [m.name for m in Models(store).all()] == [model.name]


def test_models_land_in_us_central1_for_eu_jobs(pipelines, models, store):
    pipelines.create_pipeline_job(parent=EU_PARENT, pipeline_job=job_body(), pipeline_job_id="eu")
    store.advance_clock(JOB_SECONDS * 2)
    assert [m.display_name for m in models.list_models(parent=PARENT)] == ["tune-code-model"]
    assert list(models.list_models(parent=EU_PARENT)) == []


def test_failed_on_request(pipelines, store):
    job = pipelines.create_pipeline_job(
        parent=PARENT,
        pipeline_job=job_body(labels={"emulator-outcome": "failed"}),
        pipeline_job_id="doomed",
    )
    store.advance_clock(JOB_SECONDS * 2)
    failed = pipelines.get_pipeline_job(name=job.name)
    assert failed.state == PipelineState.PIPELINE_STATE_FAILED
    assert failed.error.code == 13
    assert failed.error.message == FAILED_MESSAGE
    assert Models(store).all() == []


def test_list_advances_jobs_too(pipelines, store):
    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id="l")
    store.advance_clock(JOB_SECONDS * 0.2)
    [job] = pipelines.list_pipeline_jobs(parent=PARENT)
    assert job.state == PipelineState.PIPELINE_STATE_RUNNING
    [job] = pipelines.list_pipeline_jobs(
        request={"parent": PARENT, "filter": "state=PIPELINE_STATE_RUNNING"}
    )


def test_store_advances_without_a_server(state_dir, pipelines, emulator):
    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id="x")
    emulator.stop()
    # The job keeps the duration it was created with, whoever advances it later.
    offline = EmulatorStore(state_dir)
    offline.advance_clock(JOB_SECONDS + 1)
    [job] = PipelineJobs(offline).all()
    assert job.state == PipelineState.PIPELINE_STATE_SUCCEEDED
    assert len(Models(offline).all()) == 1


def test_clock_and_faults_set_from_another_process(state_dir, pipelines, store):
    job = pipelines.create_pipeline_job(
        parent=PARENT, pipeline_job=job_body(), pipeline_job_id="xp"
    )
    before = store.now()
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from reconciler.emulator import EmulatorStore
        store = EmulatorStore(Path({str(state_dir)!r}))
        store.advance_clock({JOB_SECONDS * 2})
        store.set_faults(resource_exhausted_rate=1.0)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)

    assert store.now() >= before + JOB_SECONDS * 2
    with pytest.raises(exceptions.ResourceExhausted):
        pipelines.get_pipeline_job(name=job.name)
    store.set_faults()
    assert pipelines.get_pipeline_job(name=job.name).state == (
        PipelineState.PIPELINE_STATE_SUCCEEDED
    )
