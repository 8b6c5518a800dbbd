"""The open-model kind (Llama, Gemma, Qwen through TuningJob v1beta1): spec, fingerprint,
datasets, launch request and read-back."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from google.cloud.aiplatform_v1beta1 import TuningJob
from google.protobuf import json_format
from pydantic import ValidationError

from reconciler.backends.open_model import job_from_proto, tuning_job
from reconciler.core.desired import Dataset, DesiredJob, Target
from reconciler.core.fingerprint import fingerprint
from reconciler.kinds.base import Instance
from reconciler.kinds.open_model import OPEN_MODEL, OpenModelSpec
from reconciler.kinds.open_model_catalog import MODELS, UNKNOWN
from reconciler.kinds.open_model_datasets import check_example
from reconciler.kinds.open_model_evaluation import OPEN_MODEL_EVALUATOR, answer_of
from reconciler.load.datasets import inspect_dataset
from tests.conftest import desired_job

TRAIN = Dataset("datasets/l.jsonl", "training", "a" * 40, 200, path="datasets/l.jsonl",
                tokens=9000)
VALIDATION = Dataset("datasets/v.jsonl", "evaluation", "b" * 40, 20, path="datasets/v.jsonl")
LLAMA = "meta/llama3_1@llama-3.1-8b-instruct"
BASE: dict[str, Any] = {"kind": "open-model", "name": "llama", "base_model": LLAMA,
                        "tuning_mode": "PEFT_ADAPTER", "training_dataset_uri": "datasets/l.jsonl"}
TARGET = Target("p", local=False, staging_bucket="gs://b/s")


def spec(**changes: Any) -> OpenModelSpec:
    return OpenModelSpec.model_validate({**BASE, **changes})


def desired(job_spec: OpenModelSpec, *datasets: Dataset) -> DesiredJob[OpenModelSpec]:
    return desired_job(OPEN_MODEL, job_spec, datasets or (TRAIN,))


BASE_FINGERPRINT = desired(spec()).fingerprint


@pytest.mark.parametrize("changes", [
    {"base_model": "meta/llama3_1@llama-3.1-8b"}, {"tuning_mode": "FULL"},
    {"epoch_count": 4}, {"learning_rate": 2e-4}, {"adapter_size": 8}, {"batch_size": 16},
    {"tuning_location": "europe-west4"}, {"custom_base_model": "gs://bkt/weights"},
], ids=lambda c: next(iter(c)))
def test_every_weight_field_retunes(changes: dict[str, Any]) -> None:
    assert desired(spec(**changes)).fingerprint != BASE_FINGERPRINT


@pytest.mark.parametrize("changes", [
    {"tuned_model_display_name": "Pretty"}, {"description": "d"}, {"labels": {"team": "x"}},
    {"output_uri": "gs://bkt/elsewhere"}, {"priority": 5},
    {"evaluation": {"dataset_uri": "datasets/e.jsonl", "metric": "rouge_l"},
     "promotion": {"channel": "production"}},
], ids=lambda c: next(iter(c)))
def test_metadata_and_job_settings_do_not_retune(changes: dict[str, Any]) -> None:
    assert desired(spec(**changes)).fingerprint == BASE_FINGERPRINT


def test_datasets_content_decides_not_their_path() -> None:
    assert desired(spec(), replace(TRAIN, content_hash="c" * 40)).fingerprint != BASE_FINGERPRINT
    assert desired(spec(), replace(TRAIN, uri="gs://b/o", path=None)).fingerprint == (
        BASE_FINGERPRINT)
    assert desired(spec(validation_dataset_uri="datasets/v.jsonl"), TRAIN,
                   VALIDATION).fingerprint != BASE_FINGERPRINT


def test_an_open_model_job_never_shares_a_gemini_jobs_fingerprint() -> None:
    assert desired(spec()).inputs["kind"] == "open-model"


@pytest.mark.parametrize("changes", [
    {}, {"epoch_count": 3, "learning_rate": 2e-4, "adapter_size": 16, "batch_size": 8},
    {"tuning_mode": "FULL", "validation_dataset_uri": "datasets/v.jsonl",
     "tuning_location": "europe-west4", "custom_base_model": "gs://bkt/weights/"},
], ids=["defaults", "hyper-parameters", "full-with-validation"])
def test_a_launched_job_reads_back_to_the_same_inputs(changes: dict[str, Any]) -> None:
    job_spec = spec(**changes)
    datasets = (TRAIN, VALIDATION) if job_spec.validation_dataset_uri else (TRAIN,)
    job = desired(job_spec, *datasets)
    launch = OPEN_MODEL.launch(job, TARGET, "c" * 40, 1)
    proto = TuningJob(tuning_job(launch))
    proto.name = f"projects/p/locations/{job.location}/tuningJobs/123"
    observed = job_from_proto(proto)
    assert observed.inputs == job.inputs
    assert fingerprint(observed.inputs) == observed.fingerprint == job.fingerprint
    assert observed.kind == "open-model"
    assert launch.labels["tuneops-attempt"] == "1"


def test_the_request_is_the_v1beta1_tuning_job() -> None:
    job = desired(spec(epoch_count=3, learning_rate=2e-4, adapter_size=16, batch_size=8,
                       tuned_model_display_name="Llama", labels={"team": "data"}))
    launch = OPEN_MODEL.launch(job, TARGET, "c" * 40, 2)
    # The JSON the REST API would receive: set fields only, in lowerCamelCase.
    body = json_format.MessageToDict(TuningJob.pb(TuningJob(tuning_job(launch))))
    assert body["baseModel"] == LLAMA
    # One artifacts directory a run, under the staging bucket when output_uri is not set.
    assert body["outputUri"] == f"gs://b/s/outputs/llama-{job.fingerprint[:12]}-r2"
    assert body["tunedModelDisplayName"] == "Llama"
    assert body["labels"]["team"] == "data" and body["labels"]["tuneops-attempt"] == "2"
    tuning = body["supervisedTuningSpec"]
    assert tuning["tuningMode"] == "TUNING_MODE_PEFT_ADAPTER"
    assert tuning["trainingDatasetUri"] == f"gs://b/s/datasets/{TRAIN.content_hash}.jsonl"
    assert tuning["hyperParameters"] == {"epochCount": "3", "learningRate": 2e-4,
                                         "adapterSize": "ADAPTER_SIZE_SIXTEEN", "batchSize": "8"}
    assert "customBaseModel" not in body and "validationDatasetUri" not in tuning
    elsewhere = OPEN_MODEL.launch(desired(spec(output_uri="gs://out/runs/")), TARGET, "", 1)
    assert elsewhere.output_uri == f"gs://out/runs/{elsewhere.lease}"


@pytest.mark.parametrize(("changes", "field"), [
    ({"tuning_mode": "LORA"}, "tuning_mode"),
    ({"learning_rate_multiplier": 1.0}, "learning_rate_multiplier"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"learning_rate": math.inf}, "learning_rate"),
    ({"base_model": "llama-3.1-8b"}, "base_model"),
    ({"output_uri": "s3://b/o"}, "output_uri"),
    ({"custom_base_model": "/local/weights"}, "custom_base_model"),
    ({"tuning_location": "us-east4"}, "tuning_location"),
    ({"adapter_size": 3}, "adapter_size"),
], ids=lambda v: str(v) if isinstance(v, str) else next(iter(v)))
def test_bad_values_are_refused(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        spec(**changes)
    assert {str(error["loc"][0]) for error in raised.value.errors()} == {field}


def test_a_learning_rate_written_with_an_exponent_is_a_number() -> None:
    """YAML 1.1 reads `2e-4` as a string; it is how learning rates are written."""
    assert spec(learning_rate="2e-4").learning_rate == 2e-4
    assert spec(learning_rate="1E-5").learning_rate == 1e-5
    with pytest.raises(ValidationError, match="valid number"):
        spec(learning_rate="fast")


def test_modes_and_adapter_sizes_follow_the_documented_models() -> None:
    assert OPEN_MODEL.problems(spec()) == []
    assert OPEN_MODEL.problems(spec(base_model="meta/llama3-2@llama-3.2-1b-instruct")) == [
        (("tuning_mode",), "meta/llama3-2@llama-3.2-1b-instruct is tuned in FULL mode, not "
                           "PEFT_ADAPTER")]
    assert OPEN_MODEL.problems(spec(tuning_mode="FULL", adapter_size=16)) == [
        (("adapter_size",), "an adapter size applies to tuning_mode PEFT_ADAPTER only; full "
                            "tuning changes every weight")]
    assert OPEN_MODEL.problems(spec(labels={"tuneops-name": "x"})) == [
        (("labels", "tuneops-name"), "label 'tuneops-name' is reserved for tuneops")]


def test_what_is_undocumented_warns_instead_of_refusing() -> None:
    unknown = spec(base_model="mistral/mistral@mistral-large", custom_base_model="gs://bkt/w",
                   learning_rate=0.5, validation_dataset_uri="datasets/v.jsonl")
    assert OPEN_MODEL.problems(unknown) == []
    found = dict(OPEN_MODEL.warnings(unknown, {"training": replace(TRAIN, examples=40),
                                               "evaluation": VALIDATION}))
    assert "not among the open models tuneops knows" in found[("base_model",)]
    assert "new weights under the same path do not re-tune" in found[("custom_base_model",)]
    assert "far above the learning rates Google suggests" in found[("learning_rate",)]
    assert "20 validation examples are more than 25% of the 40" in (
        found[("validation_dataset_uri",)])
    assert OPEN_MODEL.warnings(spec(learning_rate=2e-4), {"training": TRAIN}) == []


def test_the_estimate_says_what_is_unknown() -> None:
    estimate = OPEN_MODEL.estimate(desired(spec(epoch_count=3)), {})
    assert (estimate.epochs, estimate.training_tokens, estimate.dollars) == (3, 27_000, None)
    assert estimate.accelerators == ""  # billed by tokens, like Gemini's
    assert "Google publishes no price for tuning open models" in estimate.unknown
    priced = OPEN_MODEL.estimate(desired(spec(epoch_count=3)), {LLAMA: 2.0})
    assert (priced.dollars, priced.unknown) == (0.05, "")
    unset = OPEN_MODEL.estimate(desired(spec(), replace(TRAIN, tokens=None)), {LLAMA: 2.0})
    assert unset.training_tokens is None
    assert unset.unknown == ("epochs are the service's default; a gs:// dataset's tokens are "
                             "counted by the service only")


def message(role: str, content: str = "x") -> dict[str, str]:
    return {"role": role, "content": content}


@pytest.mark.parametrize(("record", "problem"), [
    ({"messages": [message("user"), message("assistant")]}, None),
    ({"messages": [message("system"), message("user"), message("assistant"), message("user"),
                   message("assistant")]}, None),
    ({"prompt": "Summarize: x", "completion": "y"}, None),
    ({"contents": [{"role": "user", "parts": [{"text": "x"}]}]}, "a line has 'messages'"),
    ({"messages": []}, "'messages' must be a non-empty list"),
    ({"messages": [message("user"), message("model")]}, "messages[1].role must be one of"),
    ({"messages": [message("user"), message("system"), message("assistant")]},
     "messages[1]: a system message may only come first"),
    ({"messages": [message("system"), message("assistant")]}, "needs a user message"),
    ({"messages": [message("user"), message("assistant"), message("user")]},
     "the last message must be the assistant's"),
    ({"messages": [message("user"), message("assistant", " ")]},
     "messages[1].content must be a non-empty string"),
    ({"messages": [message("user"), {"role": "assistant", "content": "y", "name": "n"}]},
     "exactly 'role' and 'content'"),
    ({"messages": [message("user"), message("assistant")], "id": 1}, "unknown field(s) id"),
    ({"prompt": "x", "completion": ""}, "'completion' must be a non-empty string"),
    ({"prompt": "x"}, "exactly 'prompt' and 'completion'"),
])
def test_open_model_examples(record: dict[str, Any], problem: str | None) -> None:
    found = check_example(record)
    assert (found is None) if problem is None else (found is not None and problem in found)


def _inspect(tmp_path: Path, lines: list[dict[str, Any]], **changes: Any) -> Any:
    path = tmp_path / "l.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    fmt = OPEN_MODEL.dataset_format(spec(**changes), "training")
    return inspect_dataset(path, "datasets/l.jsonl", "datasets/l.jsonl", fmt, "training")


def test_the_sequence_limit_is_the_models_for_its_mode(tmp_path: Path) -> None:
    """Llama 3.1 8B takes 4096 tokens with an adapter, 8192 in full tuning."""
    ratio = MODELS[LLAMA].tokens_per_character
    long = {"messages": [message("user", "a" * int(5000 / ratio)), message("assistant")]}
    fine = {"prompt": "hello", "completion": "hi"}
    adapter = _inspect(tmp_path, [fine, long])
    assert adapter.errors == []
    assert any("near the model's limit of 4,096 tokens" in w.message and w.location.line == 2
               for w in adapter.warnings)
    assert adapter.info.tokens == math.ceil(7 * ratio) + math.ceil((int(5000 / ratio) + 1)
                                                                   * ratio)
    full = _inspect(tmp_path, [fine, long], tuning_mode="FULL")
    assert not any("near the model's limit" in w.message for w in full.warnings)
    over = {"messages": [message("user", "a" * int(9000 / ratio)), message("assistant")]}
    refused = _inspect(tmp_path, [fine, over, fine])
    assert [(p.location.line, "far over the model's limit of 4,096" in p.message)
            for p in refused.errors] == [(2, True)]
    # Each model and mode is its own format: a cached check of one says nothing of another.
    names = {OPEN_MODEL.dataset_format(spec(**c), "training").name for c in (
        {}, {"tuning_mode": "FULL"}, {"base_model": "google/gemma3@gemma-3-27b-it"})}
    assert len(names) == 3


def test_an_unknown_model_is_checked_against_the_loosest_documented_limit() -> None:
    fmt = OPEN_MODEL.dataset_format(spec(base_model="x/y@z"), "evaluation")
    assert (fmt.max_tokens, fmt.examples) == (8192, (1, 4999))
    assert UNKNOWN.tokens_per_character == max(m.tokens_per_character for m in MODELS.values())


def test_an_evaluation_example_is_one_predict_instance_in_the_containers_format() -> None:
    chat = {"messages": [{"role": "system", "content": "You write SQL."},
                         {"role": "user", "content": "Count the orders"},
                         {"role": "assistant", "content": "SELECT COUNT(*) FROM orders;"}]}
    question, reference = OPEN_MODEL_EVALUATOR.split(chat)
    assert isinstance(question, Instance)
    assert reference == "SELECT COUNT(*) FROM orders;"
    assert question.body == {"@requestFormat": "chatCompletions",
                             "messages": chat["messages"][:2], "max_tokens": 1024,
                             "temperature": 0}
    question, reference = OPEN_MODEL_EVALUATOR.split({"prompt": "Count the orders",
                                                      "completion": "SELECT 1;"})
    assert isinstance(question, Instance) and reference == "SELECT 1;"
    assert question.body == {"prompt": "Count the orders", "max_tokens": 1024,
                             "temperature": 0, "raw_response": True}


@pytest.mark.parametrize(("prediction", "text"), [
    ("SELECT 1;", "SELECT 1;"),
    ({"choices": [{"message": {"role": "assistant", "content": "SELECT 2;"}}]}, "SELECT 2;"),
    ({"choices": [{"text": "SELECT 3;"}]}, "SELECT 3;"),
    (["SELECT 4;"], "SELECT 4;"),
    ({"choices": []}, ""), ({"error": "overloaded"}, ""), (None, ""), (7, ""), ([], ""),
    ({"choices": [{"message": {"content": None}}]}, ""),
], ids=["text", "chat", "completion", "list", "no-choice", "other", "null", "number",
        "empty-list", "no-content"])
def test_an_answer_is_read_from_either_shape_a_container_returns(prediction: Any,
                                                                 text: str) -> None:
    assert answer_of(prediction) == text


def test_a_deployed_open_model_has_no_token_price_unless_one_is_set() -> None:
    assert OPEN_MODEL_EVALUATOR.price(spec(), {}) == (LLAMA, None)
    assert OPEN_MODEL_EVALUATOR.price(spec(), {LLAMA: 0.5}) == (LLAMA, 0.5)
