"""The pipeline job request matches the Vertex AI reference's request bodies, field by field.

The reference's own curl examples have mistakes the product must not copy: a parameter
spelled `evaluation_data_uri:` (with the colon), `chat-bison@001` sent to the chat template,
and an unterminated `encryptionSpec`. Its REST body shows every value as a quoted
placeholder; the pipeline declares evaluation_interval an integer and enable_early_stopping a
boolean, so they are sent typed.
"""

from __future__ import annotations

import json
from typing import Any

from google.cloud.aiplatform_v1 import PipelineJob

from reconciler.backends.pipeline import pipeline_job
from reconciler.core.desired import Target
from reconciler.kinds.pipeline import PIPELINE
from reconciler.load.config import load_config
from reconciler.load.desired import build_desired
from tests.conftest import Repo

TEMPLATES = "https://us-kfp.pkg.dev/ml-pipeline/large-language-model-pipelines"
KEY = "projects/p/locations/us-central1/keyRings/k/cryptoKeys/c"
# parameterValues names of the reference's two REST request bodies.
CODE_GENERATION_PARAMETERS = {
    "project", "model_display_name", "dataset_uri", "evaluation_data_uri",
    "evaluation_interval", "enable_early_stopping", "tensorboard_resource_id", "location",
    "large_model_reference", "train_steps", "learning_rate_multiplier",
}
CODE_CHAT_PARAMETERS = {
    "project", "model_display_name", "dataset_uri", "location", "large_model_reference",
    "train_steps", "learning_rate_multiplier", "encryption_spec_key_name",
}


def rest_body(repo: Repo, name: str) -> dict[str, Any]:
    """The JSON the REST API would receive: proto field names in lowerCamelCase."""
    desired = build_desired(load_config(repo.root))
    job = next(job for job in desired.jobs if job.name == name)
    target = Target(project="my-project", local=False, staging_bucket="gs://bucket/tuneops")
    launch = PIPELINE.launch(job, target, commit="", attempt=1)
    body: dict[str, Any] = json.loads(PipelineJob.to_json(PipelineJob(pipeline_job(launch))))
    return body


def test_code_generation_request(repo: Repo) -> None:
    repo.edit("configs/bigquery-snippets.yaml", "train_steps: 300",
              "train_steps: 300\ntensorboard_resource_id: '123'\nevaluation_interval: 10")
    body = rest_body(repo, "bigquery-snippets")
    assert body["displayName"] == "bigquery-snippets"
    assert body["templateUri"] == f"{TEMPLATES}/tune-large-model/v3.0.0"
    assert body["runtimeConfig"]["gcsOutputDirectory"].startswith("gs://bucket/tuneops/")
    parameters = body["runtimeConfig"]["parameterValues"]
    assert set(parameters) == CODE_GENERATION_PARAMETERS
    assert parameters["project"] == "my-project"
    assert parameters["location"] == "us-central1"
    assert parameters["large_model_reference"] == "code-bison@001"
    assert parameters["train_steps"] == 300
    assert parameters["learning_rate_multiplier"] == 1
    assert parameters["evaluation_interval"] == 10
    assert parameters["enable_early_stopping"] is True
    # The SDK sends the full resource name in the tuning location; a bare id is expanded.
    assert parameters["tensorboard_resource_id"] == (
        "projects/my-project/locations/us-central1/tensorboards/123")
    assert parameters["dataset_uri"].startswith("gs://bucket/tuneops/datasets/")
    assert parameters["evaluation_data_uri"].startswith("gs://bucket/tuneops/datasets/")
    assert "encryptionSpec" not in body


def test_code_chat_request_with_cmek(repo: Repo) -> None:
    repo.edit("configs/cloud-vision-chat.yaml", "train_steps: 200",
              f"train_steps: 200\nencryption_spec_key_name: {KEY}")
    body = rest_body(repo, "cloud-vision-chat")
    assert body["templateUri"] == f"{TEMPLATES}/tune-large-chat-model/v3.0.0"
    parameters = body["runtimeConfig"]["parameterValues"]
    assert set(parameters) == CODE_CHAT_PARAMETERS
    assert parameters["large_model_reference"] == "codechat-bison@001"
    assert parameters["encryption_spec_key_name"] == KEY
    assert body["encryptionSpec"] == {"kmsKeyName": KEY}


def test_optional_parameters_are_sent_only_when_set(repo: Repo) -> None:
    repo.edit("configs/bigquery-snippets.yaml",
              "evaluation_data_uri: datasets/bigquery-eval.jsonl\n", "")
    parameters = rest_body(repo, "bigquery-snippets")["runtimeConfig"]["parameterValues"]
    assert set(parameters) == CODE_GENERATION_PARAMETERS - {
        "evaluation_data_uri", "evaluation_interval", "enable_early_stopping",
        "tensorboard_resource_id"}
