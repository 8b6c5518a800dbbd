"""The tuning-job kind (Gemini supervised tuning): spec, fingerprint, datasets, launch."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from google.cloud.aiplatform_v1 import TuningJob
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.backends.tuning_job import job_from_proto, tuning_job
from reconciler.core.desired import Dataset, DesiredJob, Target
from reconciler.kinds import tuning_job_datasets
from reconciler.kinds.convert import to_gemini
from reconciler.kinds.gemini import MIN_TRAINING_EXAMPLES, MODELS
from reconciler.kinds.tuning_job import TUNING_JOB, TuningJobSpec
from reconciler.kinds.tuning_job_datasets import _examine_fully, examine
from reconciler.load.datasets import inspect_dataset
from tests.conftest import desired_job

TRAIN = Dataset("datasets/g.jsonl", "training", "a" * 40, 200, path="datasets/g.jsonl",
                tokens=9000)
VALIDATION = Dataset("datasets/v.jsonl", "evaluation", "b" * 40, 20, path="datasets/v.jsonl")
BASE: dict[str, Any] = {"kind": "tuning-job", "name": "gem", "base_model": "gemini-2.5-flash",
                        "training_dataset_uri": "datasets/g.jsonl"}
TARGET = Target("p", local=False, staging_bucket="gs://b/s")


def spec(**changes: Any) -> TuningJobSpec:
    return TuningJobSpec.model_validate({**BASE, **changes})


def desired(job_spec: TuningJobSpec, *datasets: Dataset) -> DesiredJob:
    return desired_job(TUNING_JOB, job_spec, datasets or (TRAIN,))


BASE_FINGERPRINT = desired(spec()).fingerprint


@pytest.mark.parametrize("changes", [
    {"base_model": "gemini-2.5-pro"}, {"epoch_count": 4}, {"learning_rate_multiplier": 2.0},
    {"adapter_size": 8}, {"tuning_location": "europe-west4"},
    {"encryption_spec_key_name": "projects/p/locations/us-central1/keyRings/k/cryptoKeys/c"},
], ids=lambda c: next(iter(c)))
def test_every_weight_field_retunes(changes: dict[str, Any]) -> None:
    assert desired(spec(**changes)).fingerprint != BASE_FINGERPRINT


@pytest.mark.parametrize("changes", [
    {"tuned_model_display_name": "Pretty"}, {"description": "d"}, {"labels": {"team": "x"}},
    {"export_last_checkpoint_only": True}, {"service_account": "sa@p.iam.gserviceaccount.com"},
], ids=lambda c: next(iter(c)))
def test_metadata_and_job_settings_do_not_retune(changes: dict[str, Any]) -> None:
    assert desired(spec(**changes)).fingerprint == BASE_FINGERPRINT


def test_datasets_content_decides_not_their_path() -> None:
    assert desired(spec(), replace(TRAIN, content_hash="c" * 40)).fingerprint != BASE_FINGERPRINT
    assert desired(spec(), replace(TRAIN, uri="gs://b/o", path=None)).fingerprint == (
        BASE_FINGERPRINT)
    with_validation = desired(spec(validation_dataset_uri="datasets/v.jsonl"), TRAIN,
                              VALIDATION)
    assert with_validation.fingerprint != BASE_FINGERPRINT


def test_a_pipeline_and_a_tuning_job_never_share_a_fingerprint() -> None:
    assert desired(spec()).inputs["kind"] == "tuning-job"


@pytest.mark.parametrize(("size", "enum"), [(1, "ADAPTER_SIZE_ONE"), (2, "ADAPTER_SIZE_TWO"),
                                            (4, "ADAPTER_SIZE_FOUR"), (8, "ADAPTER_SIZE_EIGHT"),
                                            (16, "ADAPTER_SIZE_SIXTEEN")])
def test_adapter_sizes_map_to_the_api_enum_by_name(size: int, enum: str) -> None:
    launch = TUNING_JOB.launch(desired(spec(adapter_size=size)), TARGET, "c" * 40, 1)
    assert launch.adapter_size == enum
    proto = TuningJob(tuning_job(launch))
    # The enum's numbers are not the sizes: FOUR is 2, TWO is 6.
    assert proto.supervised_tuning_spec.hyper_parameters.adapter_size.name == enum


@pytest.mark.parametrize("changes", [
    {}, {"epoch_count": 3, "learning_rate_multiplier": 0.5, "adapter_size": 16},
    {"validation_dataset_uri": "datasets/v.jsonl", "tuning_location": "europe-west4"},
])
def test_a_launched_job_reads_back_to_the_same_inputs(changes: dict[str, Any]) -> None:
    job_spec = spec(**changes)
    datasets = (TRAIN, VALIDATION) if job_spec.validation_dataset_uri else (TRAIN,)
    job = desired(job_spec, *datasets)
    launch = TUNING_JOB.launch(job, TARGET, "c" * 40, 1)
    proto = TuningJob(tuning_job(launch))
    proto.name = f"projects/p/locations/{job.location}/tuningJobs/123"
    observed = job_from_proto(proto)
    assert observed.inputs == job.inputs
    assert observed.fingerprint == job.fingerprint
    assert launch.training_dataset_uri == f"gs://b/s/datasets/{TRAIN.content_hash}.jsonl"
    assert launch.labels["tuneops-attempt"] == "1"


def test_adapter_size_must_suit_a_known_model() -> None:
    assert TUNING_JOB.problems(spec(base_model="gemini-2.5-pro", adapter_size=16)) == [
        (("adapter_size",), "gemini-2.5-pro takes adapter sizes 1, 2, 4, 8, not 16")]
    assert TUNING_JOB.problems(spec(adapter_size=16)) == []


def test_an_unknown_base_model_is_a_warning_so_new_models_work_on_day_one() -> None:
    job_spec = spec(base_model="gemini-9-ultra")
    assert TUNING_JOB.problems(job_spec) == []
    ((keys, message),) = TUNING_JOB.warnings(job_spec, {"training": TRAIN})
    assert keys == ("base_model",)
    assert "gemini-9-ultra is not among the models tuneops knows" in message


def test_known_models_have_documented_limits() -> None:
    flash = MODELS["gemini-2.5-flash"]
    assert (flash.max_tokens, flash.max_validation_examples, flash.adapter_sizes) == (
        131_072, 5_000, (1, 2, 4, 8, 16))


def turn(role: str, text: str = "x") -> dict[str, Any]:
    return {"role": role, "parts": [{"text": text}]}


@pytest.mark.parametrize(("record", "problem"), [
    ({"contents": [turn("user"), turn("model")]}, None),
    ({"systemInstruction": {"parts": [{"text": "be brief"}]},
      "contents": [turn("user"), turn("model"), turn("user"), turn("model")]}, None),
    ({"contents": [turn("user"), {"role": "model", "parts": [{"fileData": {"fileUri": "gs://"
                                                                           "b/o"}}]}]}, None),
    ({"contents": []}, "'contents' must be a non-empty list"),
    ({"contents": [turn("model"), turn("user")]}, "contents[0].role must be 'user'"),
    ({"contents": [turn("user")]}, "the last turn must be from 'model'"),
    ({"contents": [turn("user"), turn("model", " ")]}, "contents[1].parts[0].text must be a "
                                                        "non-empty string"),
    ({"contents": [turn("user"), {"role": "model", "parts": []}]}, "contents[1].parts must be"),
    ({"contents": [turn("user"), turn("model")], "extra": 1}, "unknown field(s) extra"),
    ({"systemInstruction": "x", "contents": [turn("user"), turn("model")]},
     "'systemInstruction' must be an object"),
])
def test_gemini_examples(record: dict[str, Any], problem: str | None) -> None:
    found, _ = examine(record)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_tokens_are_estimated_from_utf8_bytes() -> None:
    assert examine({"contents": [turn("user", "abcd"), turn("model", "é" * 4)]}) == (None, 3)


# Text parts in their turns, with a system instruction or not: the shape examine takes fast.
TEXTS = st.text(st.sampled_from("ab é\t\n\u3000🙂"), max_size=4)
TEXT_PARTS = st.lists(st.builds(lambda text: {"text": text}, TEXTS.filter(str.strip)),
                      min_size=1, max_size=3)
# Everything else a part, a list of parts, a turn or a key's value may be, valid or not.
ODD: st.SearchStrategy[Any] = (st.none() | st.integers() | st.lists(st.none(), max_size=1)
                               | st.just({}))
ODD_PART = (st.builds(lambda text: {"text": text}, st.sampled_from(["", " \t\n", "\u3000"])
                     | TEXTS | ODD) | ODD | st.sampled_from([
    {"fileData": {"fileUri": "gs://b/o"}, "text": "t"}, {"text": "t", "x": 1},
    {"functionCall": {"name": "f", "args": {}}, "text": "t"},
    {"functionResponse": {"name": 1}, "text": "t"}]))
ODD_PARTS = st.builds(lambda before, odd, after: [*before, odd, *after],
                      TEXT_PARTS | st.just([]), ODD_PART, TEXT_PARTS | st.just([])) | ODD


@st.composite
def near_common(draw: st.DrawFn) -> dict[str, Any]:
    """An example of the common shape, or one off it in one place."""
    turns: list[Any] = [{"role": ("user", "model")[index % 2], "parts": draw(TEXT_PARTS)}
                        for index in range(2 * draw(st.integers(1, 3)))]
    record: dict[str, Any] = {"contents": turns}
    groups = [turn["parts"] for turn in turns]
    if instruction := draw(st.sampled_from([None, "systemInstruction", "system_instruction"])):
        record[instruction] = {"parts": draw(TEXT_PARTS)}
        groups.append(record[instruction]["parts"])
    at = draw(st.integers(0, len(turns) - 1))
    match draw(st.sampled_from(["none", "role", "part", "parts", "turn", "contents", "key"])):
        case "role":
            turns[at]["role"] = draw(st.sampled_from(["", "system", "model", "user"]) | ODD)
        case "part":
            parts = draw(st.sampled_from(groups))
            parts.insert(draw(st.integers(0, len(parts))), draw(ODD_PART))
        case "parts":
            turns[at]["parts"] = draw(ODD)
        case "turn":
            turns[at] = draw(ODD | st.fixed_dictionaries(
                {}, optional={"role": st.just("user"), "parts": TEXT_PARTS, "x": ODD}))
        case "contents":
            record["contents"] = draw(ODD | st.just(turns[:-1]))
        case "key":
            key = draw(st.sampled_from(["systemInstruction", "system_instruction", "tools",
                                        "other"]))
            record[key] = draw(st.just([{"functionDeclarations": []}]) | ODD | st.builds(
                lambda parts: {"parts": parts}, TEXT_PARTS | ODD))
    return record


@settings(max_examples=1000)
@given(near_common())
def test_the_common_shapes_fast_check_says_what_the_full_walk_says(record: dict[str, Any]
                                                                   ) -> None:
    assert examine(record) == _examine_fully(record)


@settings(max_examples=100)
@given(st.lists(TEXT_PARTS, min_size=2, max_size=6).filter(lambda turns: len(turns) % 2 == 0),
       st.none() | TEXT_PARTS)
def test_common_examples_are_checked_without_the_full_walk(turns: list[Any], system: Any
                                                           ) -> None:
    record: dict[str, Any] = {"contents": [
        {"role": ("user", "model")[index % 2], "parts": parts}
        for index, parts in enumerate(turns)]}
    if system is not None:
        record["systemInstruction"] = {"parts": system}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tuning_job_datasets, "_examine_fully", None)  # a call would fail
        problem, tokens = examine(record)
    assert problem is None
    assert tokens > 0


def _inspect(tmp_path: Path, lines: list[dict[str, Any]], **changes: Any) -> Any:
    path = tmp_path / "g.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    fmt = TUNING_JOB.dataset_format(spec(**changes), "training")
    return inspect_dataset(path, "datasets/g.jsonl", "datasets/g.jsonl", fmt, "training")


def test_examples_near_the_token_limit_warn_and_far_over_it_fail(tmp_path: Path) -> None:
    limit = MODELS["gemini-2.5-flash"].max_tokens
    near = {"contents": [turn("user", "a" * (limit * 4 * 9 // 10)), turn("model")]}
    over = {"contents": [turn("user", "a" * (limit * 4 * 3)), turn("model")]}
    fine = {"contents": [turn("user", "hello"), turn("model", "hi")]}
    # The documented minimum of training examples, so that only the tokens matter here.
    enough = [{"contents": [turn("user", f"hello {n}"), turn("model", "hi")]}
              for n in range(MIN_TRAINING_EXAMPLES)]
    report = _inspect(tmp_path, [fine, near, *enough])
    assert report.errors == []
    assert any("near the model's limit of 131,072 tokens" in w.message and
               w.location.line == 2 for w in report.warnings)
    assert report.info.tokens == sum(examine(record)[1] for record in [fine, near, *enough])
    report = _inspect(tmp_path, [fine, over, fine, *enough])
    assert [(p.location.line, "far over the model's limit" in p.message)
            for p in report.errors] == [(2, True)]


def test_reference_formats_convert_to_gemini() -> None:
    generation, problem = to_gemini({"input_text": "Write it: f", "output_text": "def f()"})
    assert problem == ""
    assert generation == {"contents": [turn("user", "Write it: f"), turn("model", "def f()")]}
    chat, _ = to_gemini({"context": "You write Python.", "messages": [
        {"author": "user", "content": "q"}, {"author": "assistant", "content": "a"}]})
    assert chat == {"systemInstruction": {"parts": [{"text": "You write Python."}]},
                    "contents": [turn("user", "q"), turn("model", "a")]}
    assert examine(generation)[0] is None
    assert examine(chat)[0] is None
    assert to_gemini({"messages": [{"author": "assistant", "content": "a"}]})[0] is None
    assert to_gemini([1])[1] == "each line must be a JSON object"


def test_each_example_is_walked_once_for_its_check_and_its_tokens(tmp_path: Path) -> None:
    fmt = TUNING_JOB.dataset_format(spec(), "training")
    calls: list[str] = []

    def counted(name: str, function: Any) -> Any:
        def call(record: dict[str, Any]) -> Any:
            calls.append(name)
            return function(record)
        return call

    walks = {name: counted(name, value) for name, value in vars(fmt).items() if callable(value)}
    path = tmp_path / "g.jsonl"
    examples = [{"contents": [turn("user", f"question {index}"), turn("model")]}
                for index in range(20)]
    path.write_text("".join(json.dumps(example) + "\n" for example in examples))
    report = inspect_dataset(path, "g.jsonl", "g.jsonl", replace(fmt, **walks), "training")
    assert report.info is not None
    assert report.info.tokens == sum(examine(example)[1] for example in examples)
    assert len(calls) == len(examples)


def test_a_price_of_zero_is_a_price_not_an_unknown() -> None:
    estimate = TUNING_JOB.estimate(desired(spec(epoch_count=2)), {"gemini-2.5-flash": 0.0})
    assert (estimate.training_tokens, estimate.dollars, estimate.unknown) == (18_000, 0.0, "")
