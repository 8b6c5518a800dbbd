"""GenAiTuningService through the real GenAiTuningServiceClient: Gemini supervised tuning."""

from __future__ import annotations

import math
import re

import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1.types import JobState, SupervisedHyperParameters

from reconciler.emulator.lifecycle import FAILED_MESSAGE
from reconciler.emulator.models.registration import BASE_MODEL_LABEL, TUNE_TYPE_LABEL
from reconciler.emulator.tuning_jobs import TuningJobs
from tests.emulator.helpers import (
    BUCKET,
    GEMINI_VALIDATION,
    JOB_SECONDS,
    NAMED,
    NUMBER,
    PARENT,
    PROJECT,
    tuning_body,
)

pytestmark = pytest.mark.usefixtures("datasets")

LABELS = {"app": "tuneops", "spec": "s1"}
GEMINI_LABELS = {BASE_MODEL_LABEL: "gemini-2-5-flash", TUNE_TYPE_LABEL: "sft"}
TOKYO = f"projects/{PROJECT}/locations/asia-northeast1"
NAME = re.compile(rf"{NAMED}/tuningJobs/[0-9]{{19}}")
AdapterSize = SupervisedHyperParameters.AdapterSize


def _run(tuning, store, parent=PARENT, **body):
    body.setdefault("labels", LABELS)
    job = tuning.create_tuning_job(parent=parent, tuning_job=tuning_body(**body))
    store.advance_clock(JOB_SECONDS * 2)
    return tuning.get_tuning_job(name=job.name)


def test_create_picks_a_numeric_id_and_starts_pending(tuning):
    body = tuning_body()
    body.state = JobState.JOB_STATE_SUCCEEDED  # output only: ignored
    body.name = f"{PARENT}/tuningJobs/1"
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=body)
    assert NAME.fullmatch(job.name)
    assert job.state == JobState.JOB_STATE_PENDING
    assert job.create_time
    assert not job.tuned_model.model
    assert tuning.get_tuning_job(name=job.name) == job


def test_two_creates_of_one_body_make_two_jobs(tuning, store):
    # No client-chosen id, so nothing stops a retried create: products need their own lease.
    first = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    second = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    assert first.name != second.name
    assert [j.name for j in TuningJobs(store).all()] == [first.name, second.name]


def test_runs_then_succeeds_registering_a_deployed_model(tuning, models, endpoints, store):
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body(labels=LABELS))
    store.advance_clock(JOB_SECONDS * 0.1)
    running = tuning.get_tuning_job(name=job.name)
    assert running.state == JobState.JOB_STATE_RUNNING
    assert running.start_time
    store.advance_clock(JOB_SECONDS)
    done = tuning.get_tuning_job(name=job.name)
    assert done.state == JobState.JOB_STATE_SUCCEEDED
    assert done.end_time
    assert re.fullmatch(rf"{NAMED}/models/[0-9]+@1", done.tuned_model.model)
    assert re.fullmatch(rf"{NAMED}/endpoints/[0-9]+", done.tuned_model.endpoint)

    [model] = models.list_models(parent=PARENT)
    assert f"{model.name}@{model.version_id}" == done.tuned_model.model
    assert model.display_name == "tuned-gemini"
    assert dict(model.labels) == {**LABELS, **GEMINI_LABELS}
    assert models.get_model(name=done.tuned_model.model) == model
    assert models.get_model(name=f"{model.name}@default") == model
    with pytest.raises(exceptions.NotFound):
        models.get_model(name=f"{model.name}@2")
    endpoint = endpoints.get_endpoint(name=done.tuned_model.endpoint)
    assert dict(endpoint.labels) == LABELS
    [deployed] = endpoint.deployed_models
    assert deployed.model == model.name
    # Intermediate checkpoints by default: one per epoch, each on its own endpoint, the last
    # the default one, whose endpoint is the tuned model's.
    assert [(c.checkpoint_id, c.epoch, c.step) for c in done.tuned_model.checkpoints] == [
        ("1", 1, 10), ("2", 2, 20), ("3", 3, 30)]
    assert done.tuned_model.checkpoints[-1].endpoint == done.tuned_model.endpoint
    assert deployed.checkpoint_id == "3"
    assert model.default_checkpoint_id == "3"
    assert [c.checkpoint_id for c in model.checkpoints] == ["1", "2", "3"]
    assert sorted(ref.endpoint for ref in model.deployed_models) == sorted(
        c.endpoint for c in done.tuned_model.checkpoints)
    assert len(endpoints.list_endpoints(parent=PARENT).endpoints) == 3
    assert [j.state for j in TuningJobs(store).all()] == [JobState.JOB_STATE_SUCCEEDED]


def test_last_checkpoint_only_is_one_endpoint_and_no_checkpoints(tuning, models, store):
    body = tuning_body()
    body.supervised_tuning_spec.export_last_checkpoint_only = True
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=body)
    store.advance_clock(JOB_SECONDS * 2)
    done = tuning.get_tuning_job(name=job.name)
    assert list(done.tuned_model.checkpoints) == []
    [model] = models.list_models(parent=PARENT)
    assert [ref.endpoint for ref in model.deployed_models] == [done.tuned_model.endpoint]


def test_quirk_keeps_job_labels_off_model_and_endpoint(tuning, models, endpoints, store):
    store.set_quirks(model_labels=False)
    done = _run(tuning, store)
    [model] = models.list_models(parent=PARENT)
    assert dict(model.labels) == GEMINI_LABELS
    assert dict(endpoints.get_endpoint(name=done.tuned_model.endpoint).labels) == {}


def test_default_display_name_and_publisher_base_model(tuning, models, store):
    done = _run(
        tuning, store, tuned_model_display_name="",
        base_model=f"projects/{PROJECT}/locations/us-central1/publishers/google/models/"
        "gemini-2.0-flash-001",
    )
    [model] = models.list_models(parent=PARENT)
    assert model.display_name == f"gemini-2.0-flash-001-tuned-{done.name.rsplit('/', 1)[1]}"
    assert model.labels[BASE_MODEL_LABEL] == "gemini-2-0-flash-001"


def test_model_lives_in_the_jobs_location_and_deletes_like_any(tuning, models, endpoints, store):
    done = _run(tuning, store, parent=TOKYO)
    assert done.tuned_model.model.startswith(f"projects/{NUMBER}/locations/asia-northeast1/")
    [model] = models.list_models(parent=TOKYO)
    assert list(models.list_models(parent=PARENT)) == []
    with pytest.raises(exceptions.FailedPrecondition, match="deployed"):
        models.delete_model(name=model.name).result()
    for ref in model.deployed_models:
        endpoints.undeploy_model(
            endpoint=ref.endpoint, deployed_model_id=ref.deployed_model_id
        ).result()
    models.delete_model(name=model.name).result()
    for ref in model.deployed_models:
        endpoints.delete_endpoint(name=ref.endpoint).result()
    assert list(models.list_models(parent=TOKYO)) == []
    assert list(endpoints.list_endpoints(parent=TOKYO)) == []


def test_outcome_label_fails_the_run(tuning, models, store):
    done = _run(tuning, store, labels={"emulator-outcome": "failed"})
    assert done.state == JobState.JOB_STATE_FAILED
    assert done.error.message == FAILED_MESSAGE
    assert not done.tuned_model.model
    assert list(models.list_models(parent=PARENT)) == []


def test_cancel(tuning, store):
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    tuning.cancel_tuning_job(name=job.name)
    assert tuning.get_tuning_job(name=job.name).state == JobState.JOB_STATE_CANCELLING
    tuning.cancel_tuning_job(name=job.name)  # again while cancelling: fine
    store.advance_clock(JOB_SECONDS * 2)
    cancelled = tuning.get_tuning_job(name=job.name)
    assert cancelled.state == JobState.JOB_STATE_CANCELLED
    assert cancelled.error.code == 1  # google.rpc.Code.CANCELLED
    with pytest.raises(exceptions.FailedPrecondition, match="already JOB_STATE_CANCELLED"):
        tuning.cancel_tuning_job(name=job.name)


def test_cancel_or_get_unknown_and_malformed_names(tuning):
    with pytest.raises(exceptions.NotFound):
        tuning.cancel_tuning_job(name=f"{PARENT}/tuningJobs/123")
    with pytest.raises(exceptions.InvalidArgument, match="NUMERIC_ID"):
        tuning.get_tuning_job(name=f"{PARENT}/tuningJobs/my-job")


def test_list_filters_by_label_and_pages_newest_first(tuning, store):
    names = []
    for number in range(5):
        labels = {"app": "tuneops", "n": str(number)} if number != 2 else {"app": "other"}
        names.append(tuning.create_tuning_job(
            parent=PARENT, tuning_job=tuning_body(labels=labels)).name)
        store.advance_clock(1.0)
    pager = tuning.list_tuning_jobs(
        request={"parent": PARENT, "filter": 'labels.app="tuneops"', "page_size": 2}
    )
    pages = [[j.name for j in page.tuning_jobs] for page in pager.pages]
    wanted = [names[4], names[3], names[1], names[0]]
    assert pages == [wanted[:2], wanted[2:]]
    other = tuning.list_tuning_jobs(request={"parent": PARENT, "filter": "labels.app!=tuneops"})
    assert [j.name for j in other] == [names[2]]
    pending = {"parent": PARENT, "filter": "state=JOB_STATE_PENDING"}
    assert len(list(tuning.list_tuning_jobs(request=pending))) == 5
    assert list(tuning.list_tuning_jobs(parent=TOKYO)) == []


def test_list_refuses_pipeline_states_and_display_name(tuning):
    for text in ("state=PIPELINE_STATE_RUNNING", 'display_name="x"'):
        with pytest.raises(exceptions.InvalidArgument, match="invalid filter"):
            list(tuning.list_tuning_jobs(request={"parent": PARENT, "filter": text}))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"base_model": ""}, "base_model is required"),
        ({"base_model": "code-bison@001"}, "base_model 'code-bison@001' is not"),
        ({"training": ""}, "training_dataset_uri is required"),
        ({"training": f"gs://{BUCKET}"}, "training_dataset_uri .* is not a gs://"),
        ({"training": "/tmp/train.jsonl"}, "training_dataset_uri .* is not a gs://"),
        ({"validation": "https://x/y"}, "validation_dataset_uri .* is not a gs://"),
        ({"adapter_size": 7}, "adapter_size 7 is not a defined"),
        ({"adapter_size": AdapterSize.ADAPTER_SIZE_THIRTY_TWO}, "adapter_size 32 is not sup"),
        ({"epoch_count": -1}, "epoch_count must not be negative"),
        ({"learning_rate_multiplier": -0.5}, "learning_rate_multiplier must be"),
        ({"learning_rate_multiplier": math.nan}, "learning_rate_multiplier must be"),
        ({"learning_rate_multiplier": math.inf}, "learning_rate_multiplier must be"),
        ({"labels": {"App": "x"}}, "tuning_job.labels: invalid label key 'App'"),
        ({"tuned_model_display_name": "x" * 129}, "tuned_model_display_name is longer"),
    ],
)
@pytest.mark.filterwarnings("ignore:Unrecognized AdapterSize enum value")
def test_create_validation(tuning, store, body, message):
    with pytest.raises(exceptions.InvalidArgument, match=message):
        tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body(**body))
    assert TuningJobs(store).all() == []


def test_create_needs_a_tuning_location_and_spec(tuning):
    with pytest.raises(exceptions.InvalidArgument, match="location 'us-west2'"):
        tuning.create_tuning_job(
            parent=f"projects/{PROJECT}/locations/us-west2", tuning_job=tuning_body()
        )
    body = tuning_body()
    body.supervised_tuning_spec = None
    with pytest.raises(exceptions.InvalidArgument, match="supervised_tuning_spec is required"):
        tuning.create_tuning_job(parent=PARENT, tuning_job=body)


def test_unset_hyper_parameters_are_fine(tuning):
    body = tuning_body(epoch_count=0, learning_rate_multiplier=0.0,
                       adapter_size=AdapterSize.ADAPTER_SIZE_UNSPECIFIED)
    assert tuning.create_tuning_job(parent=PARENT, tuning_job=body).name


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "training dataset object gs://.* not found"),
        (b"not json\n", "has no valid example to tune on"),
        (b"\n\n", "has no valid example to tune on"),
    ],
)
def test_a_dataset_missing_or_without_an_example_fails_the_run_after_it_starts(
        tuning, gcs, store, content, problem):
    uri = f"gs://{BUCKET}/datasets/bad.jsonl"
    if content is not None:
        gcs.bucket(BUCKET).blob("datasets/bad.jsonl").upload_from_string(content)
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body(training=uri))
    assert job.state == JobState.JOB_STATE_PENDING
    store.advance_clock(JOB_SECONDS * 0.5)
    running = tuning.get_tuning_job(name=job.name)
    assert running.state == JobState.JOB_STATE_RUNNING
    assert not running.error.message
    store.advance_clock(JOB_SECONDS)
    failed = tuning.get_tuning_job(name=job.name)
    assert failed.state == JobState.JOB_STATE_FAILED
    assert re.search(problem, failed.error.message)
    assert not failed.tuned_model.model


def test_bad_examples_are_dropped_and_counted_not_fatal(tuning, gcs, store):
    """SupervisedTuningDataStats: total_truncated_example_count, truncated_example_indices,
    dropped_example_reasons; the documented format's extras are examples like any."""
    lines = [
        b"not json",
        b'{"messages": []}',
        b'{"contents": [{"role": "bot", "parts": [{"text": "x"}]}]}',
        b'{"contents": [{"role": "user", "parts": []}]}',
        b'{"contents": [{"role": "user", "parts": [{"text": "what is 2+2?"}]}, '
        b'{"role": "model", "parts": [{"text": "4"}]}]}',
        # Function calling tuning: tools, a functionCall part, snake_case system_instruction.
        b'{"system_instruction": {"parts": [{"text": "be brief"}]}, "contents": [{"role": '
        b'"user", "parts": [{"text": "sku?"}]}, {"role": "model", "parts": [{"functionCall": '
        b'{"name": "sku", "args": {}}}]}], "tools": [{"functionDeclarations": [{"name": "sku"}]}]}',
        # A single turn pair with roles left unset.
        b'{"contents": [{"parts": [{"text": "hi"}]}, {"parts": [{"text": "hello"}]}]}',
    ]
    uri = f"gs://{BUCKET}/datasets/mixed.jsonl"
    gcs.bucket(BUCKET).blob("datasets/mixed.jsonl").upload_from_string(b"\n".join(lines))
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body(training=uri))
    store.advance_clock(JOB_SECONDS * 2)
    done = tuning.get_tuning_job(name=job.name)
    assert done.state == JobState.JOB_STATE_SUCCEEDED
    stats = done.tuning_data_stats.supervised_tuning_data_stats
    assert stats.tuning_dataset_example_count == 3
    assert stats.total_truncated_example_count == 4
    assert list(stats.truncated_example_indices) == [1, 2, 3, 4]
    assert len(stats.dropped_example_reasons) == 4
    assert stats.total_billable_token_count > 0


def test_missing_validation_dataset_fails_the_run(tuning, store):
    done = _run(tuning, store, validation=f"gs://{BUCKET}/datasets/nope.jsonl")
    assert done.state == JobState.JOB_STATE_FAILED
    assert "validation dataset object" in done.error.message


def test_validation_dataset_is_read(tuning, store):
    assert _run(tuning, store, validation=GEMINI_VALIDATION).state == JobState.JOB_STATE_SUCCEEDED


def test_dropped_create_response_still_committed_the_job(tuning, store):
    store.set_faults(drop_create_response_rate=1.0, seed=11)
    with pytest.raises(exceptions.ServiceUnavailable, match="response lost"):
        tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body(labels=LABELS))
    # Only a list by label finds it: the client never learned the id.
    [job] = tuning.list_tuning_jobs(request={"parent": PARENT, "filter": 'labels.spec="s1"'})
    assert NAME.fullmatch(job.name)
    assert [j.name for j in TuningJobs(store).all()] == [job.name]


def test_unavailable_and_quota_faults_commit_nothing(tuning, store):
    for rates in ({"unavailable_rate": 1.0}, {"resource_exhausted_rate": 1.0}):
        store.set_faults(**rates, seed=5)
        with pytest.raises((exceptions.ServiceUnavailable, exceptions.ResourceExhausted)):
            tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    store.set_faults()
    assert TuningJobs(store).all() == []
    assert store.calls()["CreateTuningJob"] == 2
