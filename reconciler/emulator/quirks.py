"""Behaviours of the real service that changed between pipeline versions, as persisted settings.

Kept in SQLite like the fault settings, so a test or the CLI can pick the behaviour for a
server running in another process.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

QUIRKS_KEY = "quirks"  # the settings row holding them


@dataclass(frozen=True)
class Quirks:
    # Whether a run's labels reach the Model and Endpoint it creates. The pipeline's upload and
    # deploy steps copy them only as a side effect of reading VERTEX_AI_PIPELINES_RUN_LABELS
    # (kubeflow/pipelines google_cloud_pipeline_components/_implementation/llm/
    # upload_llm_model.py and deploy_llm_model.py); an older upload step did not. A Gemini
    # TuningJob's labels are documented to reach them (tuning_job.proto, TuningJob.labels);
    # off, the emulator treats tuning jobs the same way, to test products that must not rely
    # on it.
    model_labels: bool = True
    # Whether EvaluateInstances returns ROUGE's recall, as RougeSpec's comment reads ("the
    # recall of n-grams in prediction"), rather than its F-measure (undocumented which).
    rouge_recall: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Quirks:
        return cls(**json.loads(text)) if text else cls()
