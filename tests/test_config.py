"""config.load_config on small repositories written into tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.errors import ConfigError, Location, Problem
from reconciler.kinds.pipeline import PIPELINE, PipelineSpec
from reconciler.load.config import load_config

SETTINGS = "configs/reconciler.yaml"
JOB = "configs/job.yaml"
BASE_JOB = (
    "name: snippets\n"
    "task: code-generation\n"
    "dataset_uri: datasets/train.jsonl\n"
)
CHAT_JOB = (
    "name: snippets\n"
    "task: code-chat\n"
    "dataset_uri: datasets/chat.jsonl\n"
)


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A repository with settings and small valid datasets, but no job yet."""
    write(tmp_path, SETTINGS, "region: us-central1\n")
    generation = [{"input_text": f"question {i}", "output_text": f"answer {i}"}
                  for i in range(12)]
    chat = [{"messages": [{"author": "user", "content": f"q {i}"},
                          {"author": "assistant", "content": f"a {i}"}]} for i in range(12)]
    for name, records in (("train", generation), ("eval", generation), ("chat", chat)):
        write(tmp_path, f"datasets/{name}.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    return tmp_path


def problems(root: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_config(root)
    return caught.value.problems


def only_problem(root: Path) -> Problem:
    found = problems(root)
    assert len(found) == 1, found
    return found[0]


def spec_of(root: Path, job_text: str) -> PipelineSpec:
    write(root, JOB, job_text)
    (job,) = load_config(root).jobs
    return job.spec


def test_minimal_job_loads_with_reference_defaults(root: Path) -> None:
    spec = spec_of(root, BASE_JOB)
    assert spec.name == "snippets"
    assert spec.base_model == "code-bison@001"
    assert (spec.tuning_location, spec.train_steps, spec.learning_rate_multiplier) == (
        "us-central1", 300, 1.0)
    assert spec.labels == {}


def test_defaults_apply_and_job_key_wins(root: Path) -> None:
    write(root, SETTINGS, "defaults:\n  tuning_location: europe-west4\n  train_steps: 500\n")
    spec = spec_of(root, BASE_JOB + "train_steps: 400\n")
    assert spec.tuning_location == "europe-west4"
    assert spec.train_steps == 400


def test_invalid_default_value_is_located_in_settings(root: Path) -> None:
    write(root, SETTINGS, "region: us-central1\ndefaults:\n  train_steps: many\n")
    write(root, JOB, BASE_JOB)
    problem = only_problem(root)
    assert problem.location == Location(SETTINGS, 3, 3)
    assert problem.message.startswith("train_steps:")


@pytest.mark.parametrize(
    ("defaults", "key"),
    [("  name: shared\n", "name"), ("  trian_steps: 300\n", "trian_steps")],
)
def test_default_that_cannot_be_a_default_is_an_error(root: Path, defaults: str,
                                                      key: str) -> None:
    write(root, SETTINGS, "region: us-central1\ndefaults:\n" + defaults)
    write(root, JOB, BASE_JOB)
    found = problems(root)
    assert Problem(Location(SETTINGS, 3, 3), f"'{key}' cannot have a default",
                   subject="settings") in found


def _eval(extra: str = "") -> str:
    return BASE_JOB + "evaluation_data_uri: datasets/eval.jsonl\n" + extra


@pytest.mark.parametrize(
    ("job_text", "line", "message"),
    [
        pytest.param(CHAT_JOB + "large_model_reference: code-bison@001\n", 4,
                     "task code-chat tunes codechat-bison@001, not code-bison@001",
                     id="task-model-mismatch"),
        pytest.param(BASE_JOB + "large_model_reference: codechat-bison@001\n", 4,
                     "task code-generation tunes code-bison@001, not codechat-bison@001",
                     id="generation-with-chat-model"),
        pytest.param(CHAT_JOB + "evaluation_data_uri: datasets/chat.jsonl\n", 4,
                     "evaluation data is supported for code-generation only",
                     id="eval-data-with-code-chat"),
        pytest.param(BASE_JOB + "evaluation_interval: 10\n", 4,
                     "needs evaluation_data_uri (evaluation runs on the evaluation dataset)",
                     id="interval-without-eval"),
        pytest.param(BASE_JOB + "enable_early_stopping: true\n", 4,
                     "needs evaluation_data_uri (early stopping compares evaluations)",
                     id="early-stopping-without-eval"),
        pytest.param(CHAT_JOB + "tensorboard_resource_id: '42'\n", 4,
                     "TensorBoard metrics are available for code-bison only",
                     id="tensorboard-with-codechat"),
        pytest.param(BASE_JOB + "tuning_location: europe-west4\n"
                     "encryption_spec_key_name: projects/p/locations/europe-west4/keyRings/k/"
                     "cryptoKeys/c\n", 5,
                     "CMEK is supported in us-central1 only, not europe-west4",
                     id="cmek-in-europe-west4"),
        pytest.param(BASE_JOB + "labels:\n  team: data\n  tuneops-x: y\n", 6,
                     "label 'tuneops-x' is reserved for tuneops", id="reserved-tuneops-label"),
        pytest.param(BASE_JOB + "labels: {managed-by: me}\n", 4,
                     "label 'managed-by' is reserved for tuneops", id="reserved-managed-by"),
    ],
)
def test_cross_field_rule(root: Path, job_text: str, line: int, message: str) -> None:
    write(root, JOB, job_text)
    problem = only_problem(root)
    assert problem.message == message
    assert problem.subject == "snippets"
    assert (problem.location.path, problem.location.line) == (JOB, line)


def test_cmek_from_defaults_europe_west4_located_at_key_in_job(root: Path) -> None:
    write(root, SETTINGS, "defaults:\n  tuning_location: europe-west4\n")
    write(root, JOB, BASE_JOB + "encryption_spec_key_name: "
          "projects/p/locations/us-central1/keyRings/k/cryptoKeys/c\n")
    problem = only_problem(root)
    assert problem.location == Location(JOB, 4, 1)
    assert "not europe-west4" in problem.message


@pytest.mark.parametrize(
    "job_text",
    [
        pytest.param(BASE_JOB + "enable_early_stopping: false\n", id="early-stopping-false"),
        pytest.param(_eval("evaluation_interval: 10\nenable_early_stopping: true\n"),
                     id="eval-settings-with-eval-data"),
        pytest.param(BASE_JOB + "tensorboard_resource_id: '42'\n", id="tensorboard-code-bison"),
        pytest.param(BASE_JOB + "encryption_spec_key_name: "
                     "projects/p/locations/us-central1/keyRings/k/cryptoKeys/c\n",
                     id="cmek-us-central1"),
        pytest.param(CHAT_JOB + "large_model_reference: codechat-bison@001\n",
                     id="chat-with-chat-model"),
    ],
)
def test_allowed_combinations_have_no_problem(root: Path, job_text: str) -> None:
    spec = spec_of(root, job_text)
    assert PIPELINE.problems(spec) == []


def test_strict_types_reject_quoted_integer(root: Path) -> None:
    write(root, JOB, BASE_JOB + 'train_steps: "300"\n')
    problem = only_problem(root)
    assert problem.location == Location(JOB, 4, 1)
    assert problem.message.startswith("train_steps: ")
    assert "integer" in problem.message


@pytest.mark.parametrize("value", ["true", "0", "-5", "1.5"])
def test_train_steps_must_be_positive_integer(root: Path, value: str) -> None:
    write(root, JOB, BASE_JOB + f"train_steps: {value}\n")
    assert only_problem(root).location == Location(JOB, 4, 1)


def test_integer_learning_rate_multiplier_accepted_as_float(root: Path) -> None:
    spec = spec_of(root, BASE_JOB + "learning_rate_multiplier: 1\n")
    assert spec.learning_rate_multiplier == 1.0
    assert isinstance(spec.learning_rate_multiplier, float)


def test_unquoted_tensorboard_id_accepted_as_text(root: Path) -> None:
    spec = spec_of(root, BASE_JOB + "tensorboard_resource_id: 123\n")
    assert spec.tensorboard_resource_id == "123"


def test_unknown_key_suggests_the_close_one(root: Path) -> None:
    write(root, JOB, BASE_JOB + "train_step: 300\n")
    problem = only_problem(root)
    assert problem.location == Location(JOB, 4, 1)
    assert problem.message == "unknown key 'train_step'; did you mean 'train_steps'?"


def test_missing_required_key(root: Path) -> None:
    write(root, JOB, "name: snippets\ntask: code-generation\n")
    problem = only_problem(root)
    assert problem.message == "missing required key 'dataset_uri'"
    assert problem.location == Location(JOB, 1, 1)


@pytest.mark.parametrize("text", ["- name: a\n- name: b\n", "just a string\n"])
def test_non_mapping_document(root: Path, text: str) -> None:
    write(root, JOB, text)
    assert only_problem(root) == Problem(Location(JOB, 1, 1),
                                         "a job document must be a mapping of keys")


def test_non_utf8_job_file(root: Path) -> None:
    write(root, JOB, b"name: snippets\ndescription: caf\xe9\n")
    problem = only_problem(root)
    # The first bad byte, counted in characters as editors do.
    assert problem.location == Location(JOB, 2, len("description: caf") + 1)
    assert problem.message.startswith("not UTF-8 text: byte 0xe9")


def test_non_utf8_settings_file(root: Path) -> None:
    write(root, SETTINGS, b"region: us-central1\n# caf\xe9\n")
    write(root, JOB, BASE_JOB)
    problem = only_problem(root)
    assert problem.location == Location(SETTINGS, 2, len("# caf") + 1)
    assert problem.message.startswith("not UTF-8 text")


def test_several_documents_in_one_file_and_all_problems_reported(root: Path) -> None:
    write(root, JOB, BASE_JOB + "---\nname: other\ntask: code-generation\n"
          "dataset_uri: datasets/train.jsonl\ntrain_steps: 0\n---\n- x\n")
    found = problems(root)
    assert [p.location.line for p in found] == [8, 10]


def test_duplicate_names_across_files(root: Path) -> None:
    write(root, "configs/a.yaml", BASE_JOB)
    write(root, "configs/b.yaml", "# second\n" + BASE_JOB)
    problem = only_problem(root)
    assert problem.location == Location("configs/b.yaml", 2, 1)
    assert "configs/a.yaml:1:1" in problem.message


def test_multi_document_jobs_load_in_order(root: Path) -> None:
    write(root, JOB, BASE_JOB + "---\nname: second\ntask: code-chat\n"
          "dataset_uri: datasets/chat.jsonl\n")
    config = load_config(root)
    assert [job.spec.name for job in config.jobs] == ["snippets", "second"]
    assert config.jobs[1].location == Location(JOB, 5, 1)


def test_no_configs_directory(tmp_path: Path) -> None:
    assert "no configs/ directory" in only_problem(tmp_path).message


@pytest.mark.parametrize(
    ("extra", "display_name"),
    [("", "snippets"), ("model_display_name: Pretty name\n", "Pretty name")],
)
def test_display_name_defaults_to_name(root: Path, extra: str, display_name: str) -> None:
    spec = spec_of(root, BASE_JOB + extra)
    assert PIPELINE.metadata(spec)["model_display_name"] == display_name


@pytest.mark.parametrize(
    ("job_text", "interval", "early_stopping"),
    [
        pytest.param(BASE_JOB, None, None, id="no-eval-data"),
        pytest.param(BASE_JOB + "enable_early_stopping: false\n", None, None,
                     id="no-eval-data-early-stopping-false"),
        pytest.param(_eval(), 20, True, id="eval-data-defaults"),
        pytest.param(_eval("evaluation_interval: 50\nenable_early_stopping: false\n"), 50,
                     False, id="eval-data-explicit"),
    ],
)
def test_effective_evaluation_values(root: Path, job_text: str, interval: int | None,
                                     early_stopping: bool | None) -> None:
    spec = spec_of(root, job_text)
    assert spec.evaluation_interval_value == interval
    assert spec.early_stopping_value is early_stopping


@pytest.mark.parametrize(("line", "message"), [
    ("learning_rate_multiplier: .inf", "learning_rate_multiplier: Input should be a finite"),
    ("learning_rate_multiplier: .nan", "learning_rate_multiplier: Input should be a finite"),
    ("train_steps: 99999999999999999999999", "train_steps: Input should be less than or equal "
     "to 100000"),
    ("evaluation_interval: 100001", "evaluation_interval: Input should be less than or equal"),
    ("description: " + "x" * 16_385, "description: String should have at most 16384"),
])
def test_numbers_and_texts_are_bounded(root: Path, line: str, message: str) -> None:
    write(root, JOB, BASE_JOB + "evaluation_data_uri: datasets/eval.jsonl\n" + line + "\n")
    problem = only_problem(root)
    assert problem.location == Location(JOB, 5, 1)
    assert message in problem.message


@pytest.mark.parametrize("text", ["", "# project: my-gcp-project\n", "---\n", "---\n...\n"])
def test_an_empty_settings_file_warns_that_the_emulator_is_used(root: Path, text: str) -> None:
    write(root, SETTINGS, text)
    write(root, JOB, BASE_JOB)
    config = load_config(root)
    assert config.target.local
    assert config.warnings == (Problem(Location(SETTINGS), "the file is empty, so no project "
                                       "is set: the embedded emulator will be used"),)


def test_no_settings_file_at_all_is_the_documented_emulator_default(root: Path) -> None:
    (root / SETTINGS).unlink()
    write(root, JOB, BASE_JOB)
    config = load_config(root)
    assert config.target.local
    assert config.warnings == ()


@pytest.mark.parametrize("text", ["", "---\n", "# retired\n---\n---\n"])
def test_a_job_file_without_a_job_warns(root: Path, text: str) -> None:
    write(root, JOB, BASE_JOB)
    write(root, "configs/retired.yaml", text)
    config = load_config(root)
    assert [job.name for job in config.jobs] == ["snippets"]
    assert config.warnings == (Problem(Location("configs/retired.yaml"), "no job in this file "
                                       "(it is empty or holds only comments and `---`)"),)


def test_a_valid_repository_has_no_warnings(root: Path) -> None:
    write(root, JOB, BASE_JOB)
    assert load_config(root).warnings == ()
