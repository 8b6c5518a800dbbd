"""Behaviours of the real service that its documentation leaves open, as persisted settings.

Each field is one switch, named after the behaviour; the default is the behaviour the
emulator had before the switch existed (or the documented one, where there is one). Kept in
SQLite like the fault settings, so a test or the CLI (`reconcile emulator quirks`) picks the
behaviour for a server running in another process. tuneops must be correct under every
setting: tests/test_service_matrix.py runs its guarantees under each.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, get_args

QUIRKS_KEY = "quirks"  # the settings row holding them

ListFilter = Literal["honoured", "ignored", "rejected"]
CancelOutcome = Literal["cancelled", "succeeded", "failed"]
QuotaMode = Literal["refuse", "queue"]
QuotaError = Literal["message", "details"]
OversizedPage = Literal["coerced", "refused"]


@dataclass(frozen=True)
class Quirks:
    # Whether a run's labels reach the Model and Endpoints it creates. The pipeline's upload and
    # deploy steps copy them only as a side effect of reading VERTEX_AI_PIPELINES_RUN_LABELS
    # (kubeflow/pipelines google_cloud_pipeline_components/_implementation/llm/
    # upload_llm_model.py and deploy_llm_model.py); an older upload step did not. A Gemini
    # TuningJob's labels are documented to reach "generated resources such as Model and
    # Endpoint" (tuning_job.proto, TuningJob.labels); whether every key arrives is
    # undocumented. Off, no label reaches them, for either kind.
    model_labels: bool = True
    # What a List call does with its `filter`. Undocumented: ListTuningJobsRequest.filter is
    # "The standard list filter" and nothing more (genai_tuning_service.proto), and no Google
    # sample uses it. "ignored" lists everything; "rejected" refuses any filter with
    # INVALID_ARGUMENT. Applied to every List the emulator serves, so the product's own
    # checks are tested on each.
    list_filter: ListFilter = "honoured"
    # Seconds after its creation (a Model: its registration) before a resource shows in List
    # results; Get sees it at once. Undocumented: whether a list right after a create shows
    # the new job (read-your-writes).
    list_lag_seconds: float = 0.0
    # Whether UpdateModel may change the labels of a tuned Gemini Model. Undocumented; refused,
    # UpdateModel with `labels` in its mask fails with INVALID_ARGUMENT.
    update_model_labels: bool = True
    # Whether DeleteModel deletes a tuned Gemini Model. Google's supervised tuning page once
    # listed as a known issue "A tuned Gemini model can't be deleted from Vertex AI Model
    # Registry"; whether that still holds is undocumented. Refused, DeleteModel fails with
    # FAILED_PRECONDITION (the code is a guess too).
    delete_tuned_model: bool = True
    # How a cancelled job ends. Cancellation is best effort: "Clients can use GetTuningJob ...
    # to check whether the cancellation succeeded or whether the job completed despite
    # cancellation" (genai_tuning_service.proto, CancelTuningJob; CancelPipelineJob says the
    # same), so from CANCELLING a job may end SUCCEEDED or FAILED; how often is undocumented.
    cancel_outcome: CancelOutcome = "cancelled"
    # Whether a tuning run that is cancelled or fails leaves a Model (and the endpoints of the
    # checkpoints it reached). Undocumented.
    cancelled_runs_leave_model: bool = False
    # What a create past the concurrent-job quota does. The REST surface (v1beta1) has a
    # sub-state TUNING_JOB_STATE_WAITING_FOR_QUOTA ("Tuning job is waiting for job quota",
    # google-genai types.TuningJobState), so the service may accept and queue it; whether it
    # queues or refuses, and how a gRPC client (whose TuningJob has no such field) sees the
    # wait, is undocumented. "queue" holds it in JOB_STATE_QUEUED until a slot frees.
    quota_mode: QuotaMode = "refuse"
    # How a quota refusal (RESOURCE_EXHAUSTED) says so. Undocumented for the tuning quota:
    # "message" names the metric in its text only ("The following quota metrics exceed quota
    # limits: ..."); "details" gives a generic text with google.rpc.QuotaFailure and
    # google.rpc.ErrorInfo details naming the metric, as Google APIs do for quota errors.
    quota_error: QuotaError = "message"

    # Whether EvaluateInstances returns ROUGE's recall, as RougeSpec's comment reads ("the
    # recall of n-grams in prediction"), rather than its F-measure (undocumented which).
    rouge_recall: bool = False
    # The most resources a List returns in one page, and what a page_size over it gets.
    # Undocumented: every list tuneops makes says only "The standard list page size"
    # (ListTuningJobsRequest, ListPipelineJobsRequest, ListModelsRequest,
    # ListEndpointsRequest). Google's API rules coerce a larger page_size to the maximum
    # (https://google.aip.dev/158, "coerced"); "refused" answers it with INVALID_ARGUMENT.
    max_page_size: int = 1000
    oversized_page: OversizedPage = "coerced"

    def __post_init__(self) -> None:
        for name, choices in CHOICES.items():
            allowed = get_args(choices)
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, "
                                 f"not {getattr(self, name)!r}")
        if not (math.isfinite(self.list_lag_seconds) and self.list_lag_seconds >= 0):
            raise ValueError(f"list_lag_seconds must not be negative, got "
                             f"{self.list_lag_seconds}")
        if self.max_page_size < 1:
            raise ValueError(f"max_page_size must be at least 1, got {self.max_page_size}")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Quirks:
        if not text:
            return cls()
        known = {field.name for field in fields(cls)}
        stored: dict[str, Any] = json.loads(text)
        # A setting written by an older emulator lacks the newer switches: their defaults.
        return cls(**{key: value for key, value in stored.items() if key in known})


# The switches that take one of several values, and which (the CLI offers the same).
CHOICES: dict[str, Any] = {"list_filter": ListFilter, "cancel_outcome": CancelOutcome,
                            "quota_mode": QuotaMode, "quota_error": QuotaError,
                            "oversized_page": OversizedPage}
