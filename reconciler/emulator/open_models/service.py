"""GenAiTuningService v1beta1: CreateTuningJob, GetTuningJob, ListTuningJobs, CancelTuningJob.

Open-model supervised tuning (Llama, Gemma, Qwen), tuneops' kind `open-model`: the fields it
takes (custom_base_model, output_uri, tuning_mode, learning_rate, batch_size) exist only in
aiplatform_v1beta1. As in v1, CreateTuningJobRequest has only `parent` and `tuning_job`
(genai_tuning_service.proto): the service picks the id. Get, List and Cancel serve every job
of the collection, Gemini's (made through v1) too.
"""

from __future__ import annotations

from google.cloud.aiplatform_v1beta1.types import genai_tuning_service
from google.cloud.aiplatform_v1beta1.types.tuning_job import TuningJob

from reconciler.emulator.examples import ReadObject, dataset_failure
from reconciler.emulator.names import parent, parse_parent
from reconciler.emulator.open_models.examples import open_model_example
from reconciler.emulator.open_models.store import (
    LOCATIONS,
    QUOTA,
    STATES,
    TABLE,
    TABLES,
    OpenModelTuningJobs,
)
from reconciler.emulator.open_models.validation import validate_open_model_job
from reconciler.emulator.rpc import Method
from reconciler.emulator.service import Context, Jobs, Service, State
from reconciler.emulator.tuning_jobs.service import TuningJobService

NAME = "google.cloud.aiplatform.v1beta1.GenAiTuningService"


class OpenModelTuningService(TuningJobService):
    def __init__(self, state: State, read_object: ReadObject, job_seconds: float) -> None:
        self._jobs = OpenModelTuningJobs(state)
        super().__init__(state, read_object, job_seconds, api=genai_tuning_service,
                         job=TuningJob, store=self._jobs, locations=LOCATIONS, states=STATES)

    def create(self, request: genai_tuning_service.CreateTuningJobRequest) -> TuningJob:
        project, location = parse_parent(request.parent, LOCATIONS)
        job = request.tuning_job
        objects = validate_open_model_job(job)
        # The job reads its datasets only once running, so a missing or bad object fails the
        # run, not this call. Decided now because only this server knows its storage endpoint.
        failure = dataset_failure(objects, self._read_object, open_model_example)
        return self._jobs.create(parent(project, location), location, job, self._job_seconds,
                                 failure=failure)


def _serve(context: Context) -> list[tuple[str, list[Method]]]:
    service = OpenModelTuningService(context.state, context.read_object, context.job_seconds)
    return [(NAME, service.methods())]


SERVICE = Service(serve=_serve, tables=TABLES, upgrade=TABLE.upgrade, locations=LOCATIONS,
                  jobs=Jobs(QUOTA, TABLE))
