"""What a succeeded run leaves: the Model, its Endpoint, and task details the SDK reads."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1.types import PipelineState

from reconciler.emulator.models import Endpoints, Models
from reconciler.emulator.pipelines.registration import (
    BILLING_ID_LABEL,
    MODEL_OUTPUT,
    UPLOAD_TASK,
)
from tests.emulator.helpers import (
    CHAT_DATASET,
    CHAT_TEMPLATE,
    JOB_SECONDS,
    NAMED,
    PARENT,
    job_body,
    system_labels,
)

pytestmark = pytest.mark.usefixtures("datasets")

LABELS = {"app": "tuneops", "spec": "s1"}


def _run(pipelines, store, job_id="run", **body):
    body.setdefault("labels", LABELS)
    job = pipelines.create_pipeline_job(
        parent=PARENT, pipeline_job=job_body(**body), pipeline_job_id=job_id
    )
    store.advance_clock(JOB_SECONDS * 2)
    return pipelines.get_pipeline_job(name=job.name)


def _tuned_model_name(job) -> str:
    """What the SDK does (_LanguageModelTuningJob.get_tuned_model in _language_models.py)."""
    [task] = [t for t in job.job_detail.task_details if t.task_name == UPLOAD_TASK]
    return task.execution.metadata[MODEL_OUTPUT].strip()


def test_sdk_finds_the_model_through_task_details(pipelines, models, store):
    done = _run(pipelines, store, model_display_name="found")
    assert done.state == PipelineState.PIPELINE_STATE_SUCCEEDED

    name = _tuned_model_name(done)
    # upload_llm_model.py appends the version: .../models/ID@1.
    assert name.endswith("@1")
    model = models.get_model(name=name.removesuffix("@1"))
    assert model.display_name == "found"
    assert model.pipeline_job == done.name


def test_job_detail_is_absent_from_list_results(pipelines, store):
    _run(pipelines, store)
    [listed] = pipelines.list_pipeline_jobs(parent=PARENT)
    assert listed.state == PipelineState.PIPELINE_STATE_SUCCEEDED
    assert "job_detail" not in listed
    assert "job_detail" in pipelines.get_pipeline_job(name=listed.name)


def test_pending_and_running_jobs_have_no_task_details(pipelines, store):
    job = pipelines.create_pipeline_job(
        parent=PARENT, pipeline_job=job_body(), pipeline_job_id="early"
    )
    assert "job_detail" not in pipelines.get_pipeline_job(name=job.name)
    store.advance_clock(JOB_SECONDS * 0.5)
    assert "job_detail" not in pipelines.get_pipeline_job(name=job.name)


@pytest.mark.parametrize(
    ("template", "base_model_id"),
    [(None, "code-bison-001"), (CHAT_TEMPLATE, "codechat-bison-001")],
)
def test_models_carry_system_labels(pipelines, models, store, template, base_model_id):
    body = {} if template is None else {"template": template, "dataset_uri": CHAT_DATASET}
    done = _run(pipelines, store, **body)
    model = models.get_model(name=_tuned_model_name(done).removesuffix("@1"))
    labels = dict(model.labels)
    assert labels[BILLING_ID_LABEL] == done.labels[BILLING_ID_LABEL]
    assert labels[BILLING_ID_LABEL].isdigit()
    assert labels == {**LABELS, BILLING_ID_LABEL: labels[BILLING_ID_LABEL],
                      **system_labels(base_model_id)}


def test_users_cannot_set_the_billing_label(pipelines):
    job = pipelines.create_pipeline_job(
        parent=PARENT,
        pipeline_job=job_body(labels={BILLING_ID_LABEL: "42"}),
        pipeline_job_id="mine",
    )
    assert job.labels[BILLING_ID_LABEL] != "42"


def test_quirk_without_label_copy(pipelines, models, endpoints, store):
    assert store.quirks().model_labels is True
    store.set_quirks(model_labels=False)
    assert store.quirks().model_labels is False

    done = _run(pipelines, store)
    model = models.get_model(name=_tuned_model_name(done).removesuffix("@1"))
    assert dict(model.labels) == {
        BILLING_ID_LABEL: done.labels[BILLING_ID_LABEL],
        **system_labels("code-bison-001"),
    }
    [endpoint] = endpoints.list_endpoints(parent=PARENT)
    assert dict(endpoint.labels) == {}

    # Back on: the next success copies the run's labels again.
    store.set_quirks()
    again = _run(pipelines, store, job_id="again")
    model = models.get_model(name=_tuned_model_name(again).removesuffix("@1"))
    assert LABELS.items() <= dict(model.labels).items()


def test_tuned_model_is_deployed_to_a_new_endpoint(pipelines, models, endpoints, store):
    done = _run(pipelines, store, model_display_name="served")
    model = models.get_model(name=_tuned_model_name(done).removesuffix("@1"))
    [ref] = model.deployed_models
    assert ref.endpoint.startswith(f"{NAMED}/endpoints/")
    assert ref.endpoint.rsplit("/", 1)[1].isdigit()

    endpoint = endpoints.get_endpoint(name=ref.endpoint)
    # deployment_graph.py names the endpoint and the deployment after the model.
    assert endpoint.display_name == "served"
    assert dict(endpoint.labels) == dict(done.labels)
    [deployed] = endpoint.deployed_models
    assert deployed.id == ref.deployed_model_id
    assert deployed.model == model.name
    assert deployed.display_name == "served"
    assert dict(endpoint.traffic_split) == {deployed.id: 100}
    # The deploy task names the endpoint too.
    outputs = {
        key: value
        for task in done.job_detail.task_details
        for key, value in task.execution.metadata.items()
    }
    assert outputs["output:endpoint_resource_name"] == endpoint.name


def test_failed_and_cancelled_jobs_register_nothing(pipelines, models, endpoints, store):
    pipelines.create_pipeline_job(
        parent=PARENT,
        pipeline_job=job_body(labels={"emulator-outcome": "failed"}),
        pipeline_job_id="doomed",
    )
    cancelled = pipelines.create_pipeline_job(
        parent=PARENT, pipeline_job=job_body(), pipeline_job_id="stopped"
    )
    pipelines.cancel_pipeline_job(name=cancelled.name)
    store.advance_clock(JOB_SECONDS * 2)
    assert list(models.list_models(parent=PARENT)) == []
    assert list(endpoints.list_endpoints(parent=PARENT)) == []


def test_undeploy_then_delete_endpoint_and_model(pipelines, models, endpoints, store):
    done = _run(pipelines, store)
    model = models.get_model(name=_tuned_model_name(done).removesuffix("@1"))
    [ref] = model.deployed_models

    with pytest.raises(exceptions.FailedPrecondition, match="deployed models"):
        endpoints.delete_endpoint(name=ref.endpoint)
    with pytest.raises(exceptions.FailedPrecondition, match="is deployed or being deployed"):
        models.delete_model(name=model.name)

    undeployed = endpoints.undeploy_model(
        endpoint=ref.endpoint, deployed_model_id=ref.deployed_model_id
    )
    assert undeployed.result(timeout=10) is not None  # UndeployModelResponse
    endpoint = endpoints.get_endpoint(name=ref.endpoint)
    assert list(endpoint.deployed_models) == []
    assert dict(endpoint.traffic_split) == {}
    assert list(models.get_model(name=model.name).deployed_models) == []
    with pytest.raises(exceptions.NotFound, match="deployed model"):
        endpoints.undeploy_model(
            endpoint=ref.endpoint, deployed_model_id=ref.deployed_model_id
        ).result(timeout=10)

    endpoints.delete_endpoint(name=ref.endpoint).result(timeout=10)
    with pytest.raises(exceptions.NotFound):
        endpoints.get_endpoint(name=ref.endpoint)
    models.delete_model(name=model.name).result(timeout=10)
    assert Endpoints(store).all() == []
    assert Models(store).all() == []


def test_list_endpoints_filters_and_paginates(pipelines, endpoints, store):
    for i in range(3):
        pipelines.create_pipeline_job(
            parent=PARENT,
            pipeline_job=job_body(labels={"app": "tuneops", "n": str(i)},
                                  model_display_name=f"e{i}"),
            pipeline_job_id=f"j{i}",
        )
        store.advance_clock(1)
    store.advance_clock(JOB_SECONDS)

    pager = endpoints.list_endpoints(request={"parent": PARENT, "page_size": 2})
    assert [[e.display_name for e in page.endpoints] for page in pager.pages] == [
        ["e2", "e1"],
        ["e0"],
    ]
    assert [
        e.display_name
        for e in endpoints.list_endpoints(request={"parent": PARENT, "filter": 'labels.n="1"'})
    ] == ["e1"]
    with pytest.raises(exceptions.InvalidArgument, match="invalid endpoint name"):
        endpoints.get_endpoint(name=f"{PARENT}/endpoints/abc")
    with pytest.raises(exceptions.NotFound):
        endpoints.get_endpoint(name=f"{PARENT}/endpoints/42")
