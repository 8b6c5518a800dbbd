"""Bad dataset objects fail the run (as the real pipeline discovers them), not the create."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1.types import PipelineState

from reconciler.emulator import EmulatorStore
from reconciler.emulator.models import Models
from reconciler.emulator.pipelines import PipelineJobs
from tests.emulator.helpers import (
    BUCKET,
    CHAT_TEMPLATE,
    DATASET,
    EVAL_DATASET,
    JOB_SECONDS,
    PARENT,
    job_body,
)

pytestmark = pytest.mark.usefixtures("datasets")

FAILED_PRECONDITION, INVALID_ARGUMENT = 9, 3


def _upload(gcs, path: str, content: bytes) -> str:
    gcs.bucket(BUCKET).blob(path).upload_from_string(content)
    return f"gs://{BUCKET}/{path}"


def _states_until_end(pipelines, store, name):
    seen = [pipelines.get_pipeline_job(name=name).state]
    store.advance_clock(JOB_SECONDS * 0.5)
    seen.append(pipelines.get_pipeline_job(name=name).state)
    store.advance_clock(JOB_SECONDS)
    final = pipelines.get_pipeline_job(name=name)
    return [*seen, final.state], final


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"dataset_uri": f"gs://{BUCKET}/datasets/nope.jsonl"},
            FAILED_PRECONDITION,
            f"dataset object gs://{BUCKET}/datasets/nope.jsonl not found",
        ),
        (
            {"evaluation_data_uri": "gs://no-such-bucket/eval.jsonl"},
            FAILED_PRECONDITION,
            "evaluation dataset object gs://no-such-bucket/eval.jsonl not found",
        ),
        (
            {"template": CHAT_TEMPLATE, "dataset_uri": DATASET},
            INVALID_ARGUMENT,
            f"dataset object {DATASET}: line 1: messages must be a non-empty list",
        ),
    ],
)
def test_bad_inputs_fail_the_run(pipelines, models, endpoints, store, params, code, message):
    created = pipelines.create_pipeline_job(
        parent=PARENT, pipeline_job=job_body(**params), pipeline_job_id="bad-input"
    )
    assert created.state == PipelineState.PIPELINE_STATE_PENDING
    assert "error" not in created

    states, final = _states_until_end(pipelines, store, created.name)
    assert states == [
        PipelineState.PIPELINE_STATE_PENDING,
        PipelineState.PIPELINE_STATE_RUNNING,
        PipelineState.PIPELINE_STATE_FAILED,
    ]
    assert final.error.code == code
    assert final.error.message == message
    assert "job_detail" not in final
    assert list(models.list_models(parent=PARENT)) == []
    assert list(endpoints.list_endpoints(parent=PARENT)) == []


def test_invalid_examples_name_the_object_and_line(pipelines, gcs, store):
    uri = _upload(gcs, "datasets/broken.jsonl",
                  b'{"input_text": "a", "output_text": "b"}\n\n{"input_text": "a"}\n')
    created = pipelines.create_pipeline_job(
        parent=PARENT, pipeline_job=job_body(dataset_uri=uri), pipeline_job_id="broken"
    )
    store.advance_clock(JOB_SECONDS * 2)
    failed = pipelines.get_pipeline_job(name=created.name)
    assert failed.state == PipelineState.PIPELINE_STATE_FAILED
    assert failed.error.code == INVALID_ARGUMENT
    assert failed.error.message == (
        f"dataset object {uri}: line 3: output_text must be a non-empty string"
    )


def test_evaluation_data_is_checked_too(pipelines, gcs, store):
    uri = _upload(gcs, "datasets/eval-broken.jsonl", b"not json\n")
    created = pipelines.create_pipeline_job(
        parent=PARENT,
        pipeline_job=job_body(evaluation_data_uri=uri),
        pipeline_job_id="eval-broken",
    )
    store.advance_clock(JOB_SECONDS * 2)
    failed = pipelines.get_pipeline_job(name=created.name)
    assert failed.error.message.startswith(f"evaluation dataset object {uri}: line 1 is not")
    # The good evaluation dataset of the fixture is fine.
    ok = pipelines.create_pipeline_job(
        parent=PARENT,
        pipeline_job=job_body(evaluation_data_uri=EVAL_DATASET),
        pipeline_job_id="eval-ok",
    )
    store.advance_clock(JOB_SECONDS * 2)
    assert pipelines.get_pipeline_job(name=ok.name).state == (
        PipelineState.PIPELINE_STATE_SUCCEEDED
    )


def test_the_failure_survives_advancing_from_a_bare_store(state_dir, pipelines, emulator):
    created = pipelines.create_pipeline_job(
        parent=PARENT,
        pipeline_job=job_body(dataset_uri=f"gs://{BUCKET}/missing.jsonl"),
        pipeline_job_id="offline",
    )
    emulator.stop()
    # Decided at create and stored with the job: no storage endpoint is needed to apply it.
    offline = EmulatorStore(state_dir)
    offline.advance_clock(JOB_SECONDS * 2)
    [job] = PipelineJobs(offline).all()
    assert job.name == created.name
    assert job.state == PipelineState.PIPELINE_STATE_FAILED
    assert job.error.code == FAILED_PRECONDITION
    assert Models(offline).all() == []


def test_a_failed_job_id_stays_taken(pipelines, store):
    body = job_body(dataset_uri=f"gs://{BUCKET}/missing.jsonl")
    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=body, pipeline_job_id="taken")
    store.advance_clock(JOB_SECONDS * 2)
    with pytest.raises(exceptions.AlreadyExists):
        pipelines.create_pipeline_job(
            parent=PARENT, pipeline_job=job_body(), pipeline_job_id="taken"
        )
