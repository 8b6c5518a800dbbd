"""PipelineService through the real GAPIC client: create/get/list/cancel and validation."""

from __future__ import annotations

import threading

import grpc
import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1 import PipelineServiceClient
from google.cloud.aiplatform_v1.services.pipeline_service.transports import (
    PipelineServiceGrpcTransport,
)
from google.cloud.aiplatform_v1.types import PipelineState

from reconciler.emulator import start_emulator
from reconciler.emulator.models import Models
from reconciler.emulator.pipelines import PipelineJobs
from reconciler.emulator.pipelines.registration import BILLING_ID_LABEL
from tests.emulator.helpers import (
    CHAT_TEMPLATE,
    EU_PARENT,
    EVAL_DATASET,
    NAMED,
    PARENT,
    job_body,
)

pytestmark = pytest.mark.usefixtures("datasets")


def test_create_get_list_roundtrip(pipelines, store):
    sent = job_body(labels={"app": "tuneops", "spec": "abc123"}, kms_key="")
    created = pipelines.create_pipeline_job(
        parent=PARENT, pipeline_job=sent, pipeline_job_id="tune-1"
    )

    assert created.name == f"{NAMED}/pipelineJobs/tune-1"
    assert created.state == PipelineState.PIPELINE_STATE_PENDING
    assert created.create_time.timestamp() == pytest.approx(store.now(), abs=5)
    assert created.display_name == sent.display_name
    # The service adds its reserved billing label (a number) to the labels sent.
    labels = dict(created.labels)
    assert labels.pop(BILLING_ID_LABEL).isdigit()
    assert labels == {"app": "tuneops", "spec": "abc123"}
    assert created.template_uri == sent.template_uri
    assert created.runtime_config == sent.runtime_config
    # Struct numbers come back as floats, as from the real service.
    assert created.runtime_config.parameter_values["train_steps"] == 300.0

    assert pipelines.get_pipeline_job(name=created.name) == created
    assert [j.name for j in pipelines.list_pipeline_jobs(parent=PARENT)] == [created.name]
    assert list(pipelines.list_pipeline_jobs(parent=EU_PARENT)) == []


def test_state_survives_restart(state_dir, pipelines, emulator):
    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id="kept")
    emulator.stop()

    with start_emulator(state_dir) as again, grpc.insecure_channel(again.api_endpoint) as ch:
        client = PipelineServiceClient(transport=PipelineServiceGrpcTransport(channel=ch))
        assert client.get_pipeline_job(name=f"{PARENT}/pipelineJobs/kept").display_name


def test_duplicate_id_is_already_exists(pipelines):
    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id="dup")
    with pytest.raises(exceptions.AlreadyExists, match="dup already exists"):
        pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id="dup")
    # The same id in the other location is a different job.
    pipelines.create_pipeline_job(parent=EU_PARENT, pipeline_job=job_body(), pipeline_job_id="dup")


def _race(clients: list[PipelineServiceClient]) -> list[str]:
    """Creates the same job id from every client at once; returns each outcome."""
    barrier = threading.Barrier(len(clients))
    outcomes: list[str] = []
    lock = threading.Lock()

    def create(client: PipelineServiceClient) -> None:
        barrier.wait()
        try:
            client.create_pipeline_job(
                parent=PARENT, pipeline_job=job_body(), pipeline_job_id="race"
            )
            outcome = "created"
        except exceptions.AlreadyExists:
            outcome = "exists"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=create, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_concurrent_creates_of_one_id_make_one_job(pipelines, store):
    assert _race([pipelines] * 4) == ["created", "exists", "exists", "exists"]
    assert len(PipelineJobs(store).all()) == 1


def test_two_servers_on_one_state_dir_make_one_job(state_dir, pipelines, store):
    # A second server on the same file has its own SQLite connections, exactly like another
    # process would, so this exercises the cross-process locking.
    with start_emulator(state_dir) as other, grpc.insecure_channel(other.api_endpoint) as ch:
        second = PipelineServiceClient(transport=PipelineServiceGrpcTransport(channel=ch))
        assert _race([pipelines, second, pipelines, second]) == [
            "created",
            "exists",
            "exists",
            "exists",
        ]
    assert len(PipelineJobs(store).all()) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (job_body(template="https://example.com/tune/v1"), "unsupported pipeline_job.template_uri"),
        (job_body(large_model_reference="text-bison@001"), "large_model_reference must be"),
        (job_body(batch_size=8), "unknown parameter.*batch_size"),
        (job_body(dataset_uri=None), "missing required parameter.*dataset_uri"),
        (job_body(location="europe-west4"), "location must be 'us-central1'"),
        (job_body(train_steps=0), "train_steps must be a positive integer"),
        (job_body(train_steps=10.5), "train_steps must be a positive integer"),
        (job_body(learning_rate_multiplier=0), "learning_rate_multiplier must be > 0"),
        (job_body(dataset_uri="/local/train.jsonl"), "dataset_uri .* is not a gs://"),
        (job_body(evaluation_interval=20), "require evaluation_data_uri"),
        (
            job_body(template=CHAT_TEMPLATE, evaluation_data_uri=EVAL_DATASET),
            "only apply to the code-bison template",
        ),
        (
            job_body(template=CHAT_TEMPLATE, tensorboard_resource_id="projects/p/tb/1"),
            "tensorboard_resource_id only applies to the code-bison",
        ),
        (job_body(labels={"App": "x"}), "invalid label key 'App'"),
        (job_body(labels={"app": "UPPER"}), "invalid value 'UPPER'"),
        (
            job_body(encryption_spec_key_name="projects/p/keys/k"),
            "kms_key_name must equal the encryption_spec_key_name",
        ),
    ],
)
def test_invalid_jobs_are_rejected(pipelines, body, message):
    with pytest.raises(exceptions.InvalidArgument, match=message):
        pipelines.create_pipeline_job(parent=PARENT, pipeline_job=body, pipeline_job_id="bad")
    assert list(pipelines.list_pipeline_jobs(parent=PARENT)) == []


def test_cmek_is_accepted_in_us_central1_only(pipelines):
    key = "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"
    body = job_body(encryption_spec_key_name=key, kms_key=key)
    created = pipelines.create_pipeline_job(parent=PARENT, pipeline_job=body, pipeline_job_id="c")
    assert created.encryption_spec.kms_key_name == key

    with pytest.raises(exceptions.InvalidArgument, match=r"CMEK.*europe-west4"):
        pipelines.create_pipeline_job(parent=EU_PARENT, pipeline_job=body, pipeline_job_id="c")


def test_request_shape_errors(pipelines):
    with pytest.raises(exceptions.InvalidArgument, match="location 'asia-east1'"):
        pipelines.create_pipeline_job(
            parent="projects/p/locations/asia-east1", pipeline_job=job_body(), pipeline_job_id="x"
        )
    with pytest.raises(exceptions.InvalidArgument, match="pipeline_job_id is required"):
        pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body())
    with pytest.raises(exceptions.InvalidArgument, match="must match"):
        pipelines.create_pipeline_job(
            parent=PARENT, pipeline_job=job_body(), pipeline_job_id="Upper_Case"
        )


@pytest.mark.parametrize("job_id", ["a", "a-1", "tune-" + "x" * 123, "a--b", "a-"])
def test_job_ids_the_api_accepts(pipelines, job_id):
    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id=job_id)


@pytest.mark.parametrize("job_id", ["1abc", "-abc", "a_b", "a.b", "Abc", "a" * 129, "é"])
def test_job_ids_the_api_rejects(pipelines, job_id):
    # v1 reference, pipelineJobs.create: pipelineJobId must match [a-z][-a-z0-9]{0,127}.
    with pytest.raises(exceptions.InvalidArgument, match=r"must match \[a-z\]"):
        pipelines.create_pipeline_job(
            parent=PARENT, pipeline_job=job_body(), pipeline_job_id=job_id
        )


def test_international_lowercase_labels_are_accepted(pipelines):
    labels = {"équipe": "données", "チーム": "データ", "empty": ""}
    job = pipelines.create_pipeline_job(
        parent=PARENT, pipeline_job=job_body(labels=labels), pipeline_job_id="intl"
    )
    assert labels.items() <= dict(job.labels).items()


def test_eval_parameters_with_the_code_template_are_fine(pipelines):
    body = job_body(evaluation_data_uri=EVAL_DATASET, evaluation_interval=20)
    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=body, pipeline_job_id="ev")


def test_unknown_job_is_not_found(pipelines):
    with pytest.raises(exceptions.NotFound):
        pipelines.get_pipeline_job(name=f"{PARENT}/pipelineJobs/ghost")
    with pytest.raises(exceptions.NotFound):
        pipelines.cancel_pipeline_job(name=f"{PARENT}/pipelineJobs/ghost")
    with pytest.raises(exceptions.InvalidArgument, match="invalid pipeline job name"):
        pipelines.get_pipeline_job(name="pipelineJobs/ghost")


def test_list_filters_and_paginates(pipelines, store):
    for i in range(7):
        team = "a" if i % 2 == 0 else "b"
        pipelines.create_pipeline_job(
            parent=PARENT,
            pipeline_job=job_body(labels={"app": "tuneops", "team": team}, display_name=f"d{i}"),
            pipeline_job_id=f"job-{i}",
        )
        store.advance_clock(0.001)  # distinct create times; ordering is by (time, name)
    pipelines.create_pipeline_job(
        parent=PARENT, pipeline_job=job_body(labels={"other": "x"}), pipeline_job_id="unmanaged"
    )
    store.reset_calls()

    pager = pipelines.list_pipeline_jobs(
        request={"parent": PARENT, "filter": 'labels.app="tuneops"', "page_size": 3}
    )
    pages = [[job.name.rsplit("/", 1)[1] for job in page.pipeline_jobs] for page in pager.pages]
    # Newest first, the service's default order.
    assert pages == [["job-6", "job-5", "job-4"], ["job-3", "job-2", "job-1"], ["job-0"]]
    assert store.calls() == {"ListPipelineJobs": 3}

    def ids(filter_: str) -> list[str]:
        return [
            j.name.rsplit("/", 1)[1]
            for j in pipelines.list_pipeline_jobs(request={"parent": PARENT, "filter": filter_})
        ]

    assert ids('labels.team="b" AND labels.app="tuneops"') == ["job-5", "job-3", "job-1"]
    assert ids('labels."team"!="a"') == ["unmanaged", "job-5", "job-3", "job-1"]
    assert ids("labels.other:*") == ["unmanaged"]
    assert ids('display_name="d4"') == ["job-4"]
    assert ids("state=PIPELINE_STATE_PENDING AND labels.team=a") == [
        "job-6",
        "job-4",
        "job-2",
        "job-0",
    ]
    assert ids('state="PIPELINE_STATE_RUNNING"') == []

    with pytest.raises(exceptions.InvalidArgument, match="invalid filter"):
        ids("labels.app ~ tuneops")
    with pytest.raises(exceptions.InvalidArgument, match="invalid page_token"):
        pipelines.list_pipeline_jobs(request={"parent": PARENT, "page_token": "garbage!"})


def test_cancel(pipelines, store):
    job = pipelines.create_pipeline_job(
        parent=PARENT, pipeline_job=job_body(), pipeline_job_id="c1"
    )
    pipelines.cancel_pipeline_job(name=job.name)
    assert pipelines.get_pipeline_job(name=job.name).state == (
        PipelineState.PIPELINE_STATE_CANCELLING
    )
    pipelines.cancel_pipeline_job(name=job.name)  # repeating while cancelling is harmless

    store.advance_clock(1.5)
    cancelled = pipelines.get_pipeline_job(name=job.name)
    assert cancelled.state == PipelineState.PIPELINE_STATE_CANCELLED
    assert cancelled.end_time
    with pytest.raises(exceptions.FailedPrecondition, match="PIPELINE_STATE_CANCELLED"):
        pipelines.cancel_pipeline_job(name=job.name)
    # A cancelled job never registers a model, even once its run time would have passed.
    store.advance_clock(1000)
    assert Models(store).all() == []


def test_cancel_after_success_is_failed_precondition(pipelines, store):
    job = pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(), pipeline_job_id="s")
    store.advance_clock(1000)
    with pytest.raises(exceptions.FailedPrecondition, match="PIPELINE_STATE_SUCCEEDED"):
        pipelines.cancel_pipeline_job(name=job.name)
