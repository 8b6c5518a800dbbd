"""Constants and request builders shared by the emulator tests."""

from __future__ import annotations

from typing import Any

from google.cloud import aiplatform_v1beta1 as beta
from google.cloud.aiplatform_v1.types import PipelineJob, SupervisedHyperParameters, TuningJob

from reconciler.emulator.models.registration import BASE_MODEL_LABEL, TUNE_TYPE_LABEL
from reconciler.emulator.names import project_number
from reconciler.emulator.pipelines.validation import CHAT_TEMPLATE, CODE_TEMPLATE

PROJECT = "tuneops-test"
PARENT = f"projects/{PROJECT}/locations/us-central1"
EU_PARENT = f"projects/{PROJECT}/locations/europe-west4"
# The service names what it returns by the project's number, whatever the request said.
NUMBER = project_number(PROJECT)
NAMED = f"projects/{NUMBER}/locations/us-central1"
BUCKET = "tuneops-data"
DATASET = f"gs://{BUCKET}/datasets/train.jsonl"
EVAL_DATASET = f"gs://{BUCKET}/datasets/eval.jsonl"
CHAT_DATASET = f"gs://{BUCKET}/datasets/chat.jsonl"
CODE_EXAMPLE = b'{"input_text": "def f():", "output_text": "pass"}\n'
CHAT_EXAMPLE = (
    b'{"messages": [{"author": "user", "content": "hi"}, '
    b'{"author": "assistant", "content": "hello"}]}\n'
)
GEMINI_DATASET = f"gs://{BUCKET}/datasets/gemini-train.jsonl"
GEMINI_VALIDATION = f"gs://{BUCKET}/datasets/gemini-validation.jsonl"
GEMINI_EXAMPLE = (
    b'{"contents": [{"role": "user", "parts": [{"text": "hi"}]}, '
    b'{"role": "model", "parts": [{"text": "hello"}]}]}\n'
)
LLAMA = "meta/llama3_1@llama-3.1-8b-instruct"
OPEN_MODEL_DATASET = f"gs://{BUCKET}/datasets/llama-train.jsonl"
OPEN_MODEL_EXAMPLE = (b'{"messages": [{"role": "user", "content": "hi"}, '
                      b'{"role": "assistant", "content": "hello"}]}\n'
                      b'{"prompt": "p", "completion": "c"}\n')
OPEN_MODEL_OUTPUT = f"gs://{BUCKET}/outputs/run-1"
OPEN_MODEL_LABELS = {"app": "tuneops", "spec": "s1"}
# Long enough that real time elapsing during a test never moves a job on by itself:
# PENDING lasts 10 s of wall time unless the test advances the clock.
JOB_SECONDS = 100.0


def job_body(
    *,
    template: str = CODE_TEMPLATE,
    labels: dict[str, str] | None = None,
    display_name: str = "tune-code",
    kms_key: str = "",
    **params: Any,
) -> PipelineJob:
    """A valid code-bison tuning job; `params` override (None removes) parameter values."""
    values: dict[str, Any] = {
        "project": PROJECT,
        "location": "us-central1",
        "large_model_reference": "code-bison@001"
        if template == CODE_TEMPLATE
        else "codechat-bison@001",
        "model_display_name": f"{display_name}-model",
        "dataset_uri": DATASET,
        "train_steps": 300,
        "learning_rate_multiplier": 1.0,
    }
    values.update(params)
    return PipelineJob(
        display_name=display_name,
        template_uri=template,
        labels=labels or {"app": "tuneops"},
        encryption_spec={"kms_key_name": kms_key},
        runtime_config={
            "gcs_output_directory": f"gs://{BUCKET}/runs",
            "parameter_values": {k: v for k, v in values.items() if v is not None},
        },
    )


def tuning_body(
    *,
    labels: dict[str, str] | None = None,
    base_model: str = "gemini-2.5-flash",
    training: str = GEMINI_DATASET,
    validation: str = "",
    tuned_model_display_name: str = "tuned-gemini",
    **hyper_parameters: Any,
) -> TuningJob:
    """A valid Gemini supervised tuning job; `hyper_parameters` override the defaults."""
    params: dict[str, Any] = {
        "epoch_count": 3,
        "learning_rate_multiplier": 1.0,
        "adapter_size": SupervisedHyperParameters.AdapterSize.ADAPTER_SIZE_FOUR,
    }
    params.update(hyper_parameters)
    return TuningJob(
        base_model=base_model,
        tuned_model_display_name=tuned_model_display_name,
        labels=labels if labels is not None else {"app": "tuneops"},
        supervised_tuning_spec={
            "training_dataset_uri": training,
            "validation_dataset_uri": validation,
            "hyper_parameters": params,
        },
    )


def system_labels(base_model_id: str) -> dict[str, str]:
    """The labels the tuning pipeline adds to every tuned Model, but the per-run billing id."""
    return {BASE_MODEL_LABEL: base_model_id, TUNE_TYPE_LABEL: "supervised"}


__all__ = ["CHAT_TEMPLATE", "CODE_TEMPLATE"]


def open_model_body(*, base_model: str = LLAMA, training: str = OPEN_MODEL_DATASET,
                    output_uri: str = OPEN_MODEL_OUTPUT,
                    mode: int = beta.SupervisedTuningSpec.TuningMode.TUNING_MODE_PEFT_ADAPTER,
                    labels: dict[str, str] | None = None, **hyper_parameters: Any
                    ) -> beta.TuningJob:
    """A valid open-model supervised tuning job (v1beta1); `hyper_parameters` override the
    defaults."""
    params: dict[str, Any] = {
        "epoch_count": 3, "learning_rate": 2e-4, "batch_size": 8,
        "adapter_size": beta.SupervisedHyperParameters.AdapterSize.ADAPTER_SIZE_SIXTEEN}
    params.update(hyper_parameters)
    return beta.TuningJob(
        base_model=base_model, output_uri=output_uri, tuned_model_display_name="tuned-llama",
        labels=OPEN_MODEL_LABELS if labels is None else labels,
        supervised_tuning_spec={"training_dataset_uri": training, "tuning_mode": mode,
                                "hyper_parameters": params})
