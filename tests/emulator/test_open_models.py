"""GenAiTuningService v1beta1 through the real aiplatform_v1beta1 GenAiTuningServiceClient:
open-model supervised tuning, one collection with Gemini's v1 jobs."""

from __future__ import annotations

import math
import re

import pytest
from google.api_core import exceptions
from google.cloud import aiplatform_v1beta1 as beta

from reconciler.emulator.models.registration import BASE_MODEL_LABEL
from reconciler.emulator.open_models import OpenModelTuningJobs
from reconciler.emulator.tuning_jobs import TuningJobs
from tests.emulator.helpers import (
    BUCKET,
    JOB_SECONDS,
    LLAMA,
    NAMED,
    NUMBER,
    OPEN_MODEL_DATASET,
    OPEN_MODEL_LABELS,
    OPEN_MODEL_OUTPUT,
    PARENT,
    PROJECT,
    open_model_body,
    tuning_body,
)

pytestmark = pytest.mark.usefixtures("datasets")

TRAINING = OPEN_MODEL_DATASET
OUTPUT = OPEN_MODEL_OUTPUT
LABELS = OPEN_MODEL_LABELS
# Named by the project number, as the service returns names.
NAME = re.compile(rf"{NAMED}/tuningJobs/[0-9]{{19}}")
EU = f"projects/{PROJECT}/locations/europe-west4"
Mode = beta.SupervisedTuningSpec.TuningMode
AdapterSize = beta.SupervisedHyperParameters.AdapterSize
body = open_model_body


def test_create_picks_a_numeric_id_in_geminis_sequence_and_starts_pending(open_tuning, tuning):
    gemini = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    job = open_tuning.create_tuning_job(parent=PARENT, tuning_job=body())
    assert NAME.fullmatch(job.name) and job.name != gemini.name
    assert job.state == beta.JobState.JOB_STATE_PENDING
    assert job.output_uri == OUTPUT
    assert job.supervised_tuning_spec.tuning_mode == Mode.TUNING_MODE_PEFT_ADAPTER
    assert job.supervised_tuning_spec.hyper_parameters.batch_size == 8
    assert open_tuning.get_tuning_job(name=job.name) == job


def test_runs_then_succeeds_registering_a_deployed_model_with_its_artifacts(
        open_tuning, models, endpoints, store):
    job = open_tuning.create_tuning_job(parent=PARENT, tuning_job=body())
    store.advance_clock(JOB_SECONDS * 0.1)
    assert open_tuning.get_tuning_job(name=job.name).state == beta.JobState.JOB_STATE_RUNNING
    store.advance_clock(JOB_SECONDS)
    done = open_tuning.get_tuning_job(name=job.name)
    assert done.state == beta.JobState.JOB_STATE_SUCCEEDED
    assert re.fullmatch(rf"{NAMED}/models/[0-9]+@1", done.tuned_model.model)
    [model] = models.list_models(parent=PARENT)
    assert f"{model.name}@{model.version_id}" == done.tuned_model.model
    assert model.artifact_uri == f"{OUTPUT}/postprocess/node-0/checkpoints/final"
    assert dict(model.labels) == {**LABELS,
                                  BASE_MODEL_LABEL: "meta-llama3_1-llama-3-1-8b-instruct"}
    endpoint = endpoints.get_endpoint(name=done.tuned_model.endpoint)
    assert [deployed.model for deployed in endpoint.deployed_models] == [model.name]
    assert [j.state for j in OpenModelTuningJobs(store).all()] == [
        beta.JobState.JOB_STATE_SUCCEEDED]


def test_both_api_versions_serve_both_kinds_of_job(open_tuning, tuning, store):
    """One collection: v1 reads, lists and cancels an open-model job (without the fields v1
    lacks), v1beta1 a Gemini job."""
    gemini = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body(labels=LABELS))
    store.advance_clock(1.0)
    llama = open_tuning.create_tuning_job(parent=PARENT, tuning_job=body())
    assert tuning.get_tuning_job(name=llama.name).base_model == LLAMA
    assert open_tuning.get_tuning_job(name=gemini.name).base_model == "gemini-2.5-flash"
    request = {"parent": PARENT, "filter": 'labels.spec="s1"', "page_size": 1}
    for client in (tuning, open_tuning):
        pages = [[j.name for j in page.tuning_jobs]
                 for page in client.list_tuning_jobs(request=request).pages]
        assert pages == [[llama.name], [gemini.name]]
    tuning.cancel_tuning_job(name=llama.name)
    assert open_tuning.get_tuning_job(name=llama.name).state == (
        beta.JobState.JOB_STATE_CANCELLING)
    # Each service's own table holds its own jobs.
    assert [j.name for j in TuningJobs(store).all()] == [gemini.name]
    assert [j.name for j in OpenModelTuningJobs(store).all()] == [llama.name]


@pytest.mark.parametrize(("changes", "message"), [
    ({"base_model": "gemini-2.5-flash"}, "is not a tunable open model"),
    ({"base_model": ""}, "is not a tunable open model"),
    ({"output_uri": ""}, "output_uri '' is required for open models"),
    ({"output_uri": "/tmp/out"}, "output_uri '/tmp/out' is required"),
    ({"base_model": "meta/llama3-2@llama-3.2-1b-instruct"},
     "TUNING_MODE_PEFT_ADAPTER is not supported for meta/llama3-2@llama-3.2-1b-instruct"),
    ({"base_model": "meta/llama4@llama-4-scout-17b-16e-instruct",
      "mode": Mode.TUNING_MODE_FULL}, "supported: TUNING_MODE_PEFT_ADAPTER"),
    ({"mode": 9}, "tuning_mode 9 is not a defined"),
    ({"training": ""}, "training_dataset_uri is required"),
    ({"training": "datasets/local.jsonl"}, "training_dataset_uri .* is not a gs://"),
    ({"learning_rate_multiplier": 1.0, "learning_rate": 0.0}, "for Google's own models"),
    ({"learning_rate": -1e-4}, "learning_rate must be a finite number"),
    ({"learning_rate": math.nan}, "learning_rate must be a finite number"),
    ({"batch_size": -8}, "batch_size must not be negative"),
    ({"adapter_size": 7}, "adapter_size 7 is not a defined"),
    ({"labels": {"App": "x"}}, "tuning_job.labels: invalid label key 'App'"),
])
@pytest.mark.filterwarnings("ignore:Unrecognized .* enum value")
def test_create_validation(open_tuning, store, changes, message):
    with pytest.raises(exceptions.InvalidArgument, match=message):
        open_tuning.create_tuning_job(parent=PARENT, tuning_job=body(**changes))
    assert OpenModelTuningJobs(store).all() == []


def test_a_custom_base_model_must_be_a_directory_in_cloud_storage(open_tuning):
    job = body()
    job.custom_base_model = "/weights"
    with pytest.raises(exceptions.InvalidArgument, match="custom_base_model '/weights'"):
        open_tuning.create_tuning_job(parent=PARENT, tuning_job=job)
    job.custom_base_model = f"gs://{BUCKET}/weights/"
    assert open_tuning.create_tuning_job(parent=PARENT, tuning_job=job).custom_base_model


def test_open_model_regions_only(open_tuning):
    assert open_tuning.create_tuning_job(parent=EU, tuning_job=body()).name.startswith(
        f"projects/{NUMBER}/locations/europe-west4/")
    with pytest.raises(exceptions.InvalidArgument, match="location 'us-east4'"):
        open_tuning.create_tuning_job(parent=f"projects/{PROJECT}/locations/us-east4",
                                      tuning_job=body())


@pytest.mark.parametrize(("content", "problem"), [
    (None, "training dataset object gs://.* not found"),
    (b'{"contents": [{"role": "user", "parts": [{"text": "x"}]}]}\n',
     "line 1: an example has messages, or a prompt and a completion"),
    (b'{"messages": [{"role": "user", "content": ""}]}\n', r"messages\[0\].content must not"),
    (b'{"prompt": "p", "completion": "c"}\n{"messages": "x"}\n', "line 2: messages must be"),
])
def test_a_bad_dataset_fails_the_run_after_it_starts(open_tuning, gcs, store, content, problem):
    uri = f"gs://{BUCKET}/datasets/bad.jsonl"
    if content is not None:
        gcs.bucket(BUCKET).blob("datasets/bad.jsonl").upload_from_string(content)
    job = open_tuning.create_tuning_job(parent=PARENT, tuning_job=body(training=uri))
    store.advance_clock(JOB_SECONDS * 2)
    failed = open_tuning.get_tuning_job(name=job.name)
    assert failed.state == beta.JobState.JOB_STATE_FAILED
    assert re.search(problem, failed.error.message)
    assert not failed.tuned_model.model


def test_a_quota_of_its_own(open_tuning, tuning, store):
    store.set_quota({"us-central1": {"open-model": 1}})
    open_tuning.create_tuning_job(parent=PARENT, tuning_job=body())
    with pytest.raises(exceptions.ResourceExhausted, match="concurrent_open_model_tuning_jobs"):
        open_tuning.create_tuning_job(parent=PARENT, tuning_job=body())
    assert tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body()).name


def test_a_dropped_create_response_still_committed_the_job(open_tuning, store):
    store.set_faults(drop_create_response_rate=1.0, seed=11)
    with pytest.raises(exceptions.ServiceUnavailable, match="response lost"):
        open_tuning.create_tuning_job(parent=PARENT, tuning_job=body())
    [job] = open_tuning.list_tuning_jobs(
        request={"parent": PARENT, "filter": 'labels.spec="s1"'})
    assert [j.name for j in OpenModelTuningJobs(store).all()] == [job.name]
