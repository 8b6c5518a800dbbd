"""fingerprint: exactly the weight inputs decide it, in a canonical, stable form."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.core import labels as managed
from reconciler.core.desired import Dataset, DesiredJob, Target
from reconciler.core.fingerprint import FINGERPRINT_LENGTH
from reconciler.core.fingerprint import fingerprint as digest_inputs
from reconciler.kinds.pipeline import (
    PIPELINE,
    TEMPLATE_URIS,
    WEIGHT_FIELDS,
    PipelineSpec,
    canonical_inputs,
    observed_inputs,
)

TRAIN = Dataset("datasets/train.jsonl", "training", "a" * 40, 600, path="datasets/train.jsonl")
EVALUATION = Dataset("datasets/eval.jsonl", "evaluation", "b" * 40, 100,
                     path="datasets/eval.jsonl")
CMEK = "projects/p/locations/us-central1/keyRings/k/cryptoKeys/c"
BASE_SPEC: dict[str, Any] = {
    "name": "snippets",
    "task": "code-generation",
    "dataset_uri": "datasets/train.jsonl",
    "evaluation_data_uri": "datasets/eval.jsonl",
}
# The fingerprint of BASE_SPEC with TRAIN and EVALUATION. A change of this value re-tunes every
# job ever launched: change it only together with a migration.
EXPECTED_FINGERPRINT = "84a7bb138e27d39dabb0e46b659fcf3f40bb73ac"


def spec(**changes: Any) -> PipelineSpec:
    return PipelineSpec.model_validate({**BASE_SPEC, **changes})


def weight_inputs(job: PipelineSpec, dataset: Dataset, evaluation: Dataset | None
                  ) -> dict[str, Any]:
    datasets = {"training": dataset, **({"evaluation": evaluation} if evaluation else {})}
    return PIPELINE.weight_inputs(job, datasets)  # type: ignore[arg-type]


def fingerprint(values: dict[str, Any]) -> str:
    """The fingerprint of any spelling of the inputs, as a launched job reads back."""
    return digest_inputs(canonical_inputs(values))


def fingerprint_of(job: PipelineSpec, dataset: Dataset = TRAIN,
                   evaluation: Dataset | None = EVALUATION) -> str:
    return fingerprint(weight_inputs(job, dataset, evaluation))


BASE_FINGERPRINT = fingerprint_of(spec())

WEIGHT_CHANGES: dict[str, dict[str, Any]] = {
    # code-chat switches both template and base model; evaluation data is code-generation only.
    "template-via-task": {"task": "code-chat", "evaluation_data_uri": None},
    "large_model_reference": {"task": "code-chat", "evaluation_data_uri": None,
                              "large_model_reference": "codechat-bison@001"},
    "tuning_location": {"tuning_location": "europe-west4"},
    "train_steps": {"train_steps": 301},
    "learning_rate_multiplier": {"learning_rate_multiplier": 1.5},
    "evaluation_interval": {"evaluation_interval": 21},
    "enable_early_stopping": {"enable_early_stopping": False},
    "encryption_spec_key_name": {"encryption_spec_key_name": CMEK},
    "no-evaluation-data": {"evaluation_data_uri": None},
}


@pytest.mark.parametrize("change", sorted(WEIGHT_CHANGES))
def test_weight_field_of_spec_changes_fingerprint(change: str) -> None:
    changed = spec(**WEIGHT_CHANGES[change])
    evaluation = EVALUATION if changed.evaluation_data_uri else None
    assert fingerprint_of(changed, evaluation=evaluation) != BASE_FINGERPRINT


def test_task_change_changes_template_and_model_inputs() -> None:
    before = weight_inputs(spec(), TRAIN, EVALUATION)
    after = weight_inputs(spec(**WEIGHT_CHANGES["large_model_reference"]), TRAIN, None)
    assert before["template_uri"] == TEMPLATE_URIS["code-generation"]
    assert after["template_uri"] == TEMPLATE_URIS["code-chat"]
    assert (before["large_model_reference"], after["large_model_reference"]) == (
        "code-bison@001", "codechat-bison@001")


@pytest.mark.parametrize(
    ("dataset", "evaluation"),
    [
        pytest.param(replace(TRAIN, content_hash="c" * 40), EVALUATION,
                     id="dataset-hash"),
        pytest.param(TRAIN, replace(EVALUATION, content_hash="c" * 40),
                     id="evaluation-dataset-hash"),
    ],
)
def test_dataset_content_hash_changes_fingerprint(dataset: Dataset,
                                                  evaluation: Dataset) -> None:
    assert fingerprint_of(spec(), dataset, evaluation) != BASE_FINGERPRINT


@pytest.mark.parametrize(
    ("dataset", "evaluation"),
    [
        pytest.param(Dataset("gs://b/other-path.jsonl", "training", TRAIN.content_hash, 5),
                     EVALUATION,
                     id="dataset-path-and-count"),
        pytest.param(TRAIN, replace(EVALUATION, uri="datasets/x.jsonl", examples=11),
                     id="evaluation-path-and-count"),
    ],
)
def test_dataset_path_is_not_a_weight_input(dataset: Dataset,
                                            evaluation: Dataset) -> None:
    assert fingerprint_of(spec(), dataset, evaluation) == BASE_FINGERPRINT


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"model_display_name": "Pretty"}, id="model_display_name"),
        pytest.param({"description": "tuned on BigQuery snippets"}, id="description"),
        pytest.param({"labels": {"team": "data"}}, id="labels"),
        pytest.param({"tensorboard_resource_id": "123"}, id="tensorboard_resource_id"),
        pytest.param({"name": "renamed"}, id="name"),
        pytest.param({"dataset_uri": "datasets/moved.jsonl"}, id="dataset_uri"),
    ],
)
def test_cosmetic_field_keeps_fingerprint(changes: dict[str, Any]) -> None:
    assert fingerprint_of(spec(**changes)) == BASE_FINGERPRINT


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"evaluation_interval": 20}, id="explicit-default-interval"),
        pytest.param({"enable_early_stopping": True}, id="explicit-default-early-stopping"),
        pytest.param({"train_steps": 300, "learning_rate_multiplier": 1.0},
                     id="explicit-defaults"),
    ],
)
def test_explicit_default_keeps_fingerprint(changes: dict[str, Any]) -> None:
    assert fingerprint_of(spec(**changes)) == BASE_FINGERPRINT


def test_fingerprint_is_stable_across_releases() -> None:
    assert BASE_FINGERPRINT == EXPECTED_FINGERPRINT


def test_fingerprint_length_is_hex() -> None:
    assert len(BASE_FINGERPRINT) == FINGERPRINT_LENGTH
    int(BASE_FINGERPRINT, 16)


def _base_inputs() -> dict[str, Any]:
    return weight_inputs(spec(), TRAIN, EVALUATION)


def test_weight_inputs_are_exactly_the_weight_fields() -> None:
    assert list(_base_inputs()) == list(WEIGHT_FIELDS)


@pytest.mark.parametrize("field", WEIGHT_FIELDS)
def test_every_weight_field_is_in_the_fingerprint(field: str) -> None:
    inputs = _base_inputs()
    inputs[field] = {"train_steps": 999, "learning_rate_multiplier": 9.5,
                     "evaluation_interval": 99,
                     "enable_early_stopping": False}.get(field, "something-else")
    assert fingerprint(inputs) != BASE_FINGERPRINT


def test_fingerprint_ignores_dict_key_order_and_extra_keys() -> None:
    inputs = _base_inputs()
    reversed_inputs = dict(reversed(list(inputs.items())))
    assert list(reversed_inputs) != list(inputs)
    assert fingerprint(reversed_inputs) == BASE_FINGERPRINT
    assert fingerprint({**inputs, "model_display_name": "x"}) == BASE_FINGERPRINT


@pytest.mark.parametrize(
    "numbers",
    [
        pytest.param({"train_steps": 300.0}, id="float-steps"),
        pytest.param({"train_steps": "300"}, id="text-steps"),
        pytest.param({"evaluation_interval": 20.0}, id="float-interval"),
        pytest.param({"learning_rate_multiplier": 1}, id="int-multiplier"),
        pytest.param({"learning_rate_multiplier": "1.0"}, id="text-multiplier"),
    ],
)
def test_fingerprint_ignores_numeric_representation(numbers: dict[str, Any]) -> None:
    assert fingerprint({**_base_inputs(), **numbers}) == BASE_FINGERPRINT


def test_canonical_inputs_normalises_types() -> None:
    canonical = canonical_inputs({"train_steps": 300.0, "evaluation_interval": "20",
                                  "learning_rate_multiplier": 2, "tuning_location": "x",
                                  "not_a_weight": 1})
    assert canonical["train_steps"] == 300
    assert isinstance(canonical["train_steps"], int)
    assert canonical["evaluation_interval"] == 20
    assert isinstance(canonical["evaluation_interval"], int)
    assert canonical["learning_rate_multiplier"] == 2.0
    assert isinstance(canonical["learning_rate_multiplier"], float)
    assert list(canonical) == list(WEIGHT_FIELDS)
    assert canonical["encryption_spec_key_name"] is None
    assert "not_a_weight" not in canonical


def test_canonical_inputs_keeps_none() -> None:
    canonical = canonical_inputs({})
    assert canonical == dict.fromkeys(WEIGHT_FIELDS)


def test_metadata_is_what_fingerprint_leaves_out() -> None:
    meta = PIPELINE.metadata(spec(labels={"z": "1", "a": "2"}))
    assert meta == {"model_display_name": "snippets", "description": "",
                    "labels": {"a": "2", "z": "1"}}
    assert list(meta["labels"]) == ["a", "z"]


def _protobuf_numbers(parameters: dict[str, Any]) -> dict[str, Any]:
    """What Vertex AI returns: every integer parameter comes back as a float."""
    return {key: float(value) if isinstance(value, int) and not isinstance(value, bool)
            else value for key, value in parameters.items()}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="with-eval"),
        pytest.param({"evaluation_data_uri": None, "encryption_spec_key_name": CMEK},
                     id="cmek-no-eval"),
        pytest.param({"task": "code-chat", "evaluation_data_uri": None,
                      "tuning_location": "europe-west4"}, id="chat-europe"),
    ],
)
def test_launched_job_reads_back_to_the_same_fingerprint(changes: dict[str, Any]) -> None:
    job_spec = spec(**changes)
    evaluation = EVALUATION if job_spec.evaluation_data_uri else None
    inputs = weight_inputs(job_spec, TRAIN, evaluation)
    job = DesiredJob(
        name=job_spec.name, kind="pipeline", source="configs/job.yaml:1:1",
        location=job_spec.tuning_location, inputs=inputs, metadata=PIPELINE.metadata(job_spec),
        fingerprint=fingerprint(inputs), datasets=(TRAIN, *([evaluation] if evaluation else [])),
        spec=job_spec)
    launch = PIPELINE.launch(job, Target("p", local=False, staging_bucket="gs://b/s"),
                             commit="c" * 40, attempt=1)
    read_back = observed_inputs(template_uri=launch.template_uri, location=launch.location,
                                parameters=_protobuf_numbers(launch.parameters),
                                labels=launch.labels)
    assert read_back == inputs
    assert fingerprint(read_back) == job.fingerprint
    assert launch.labels[managed.FINGERPRINT] == job.fingerprint
