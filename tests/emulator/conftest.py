"""Fixtures: a fresh emulator per test (own tmp state_dir) reached through the real clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform_v1beta1 as beta
from google.cloud import storage
from google.cloud.aiplatform_v1 import (
    EndpointServiceClient,
    EvaluationServiceClient,
    GenAiTuningServiceClient,
    ModelServiceClient,
    PipelineServiceClient,
    PredictionServiceClient,
)
from google.cloud.aiplatform_v1.services.endpoint_service.transports import (
    EndpointServiceGrpcTransport,
)
from google.cloud.aiplatform_v1.services.evaluation_service.transports import (
    EvaluationServiceGrpcTransport,
)
from google.cloud.aiplatform_v1.services.gen_ai_tuning_service.transports import (
    GenAiTuningServiceGrpcTransport,
)
from google.cloud.aiplatform_v1.services.model_service.transports import (
    ModelServiceGrpcTransport,
)
from google.cloud.aiplatform_v1.services.pipeline_service.transports import (
    PipelineServiceGrpcTransport,
)
from google.cloud.aiplatform_v1.services.prediction_service.transports import (
    PredictionServiceGrpcTransport,
)
from google.cloud.aiplatform_v1beta1.services.gen_ai_tuning_service import (
    transports as beta_transports,
)

from reconciler.emulator import Emulator, EmulatorStore, start_emulator
from tests.emulator.helpers import (
    BUCKET,
    CHAT_DATASET,
    CHAT_EXAMPLE,
    CODE_EXAMPLE,
    DATASET,
    EVAL_DATASET,
    GEMINI_DATASET,
    GEMINI_EXAMPLE,
    GEMINI_VALIDATION,
    JOB_SECONDS,
    OPEN_MODEL_DATASET,
    OPEN_MODEL_EXAMPLE,
)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def emulator(state_dir: Path) -> Iterator[Emulator]:
    with start_emulator(state_dir, job_seconds=JOB_SECONDS) as running:
        yield running


@pytest.fixture
def store(emulator: Emulator) -> EmulatorStore:
    return emulator.store


@pytest.fixture
def channel(emulator: Emulator) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(emulator.api_endpoint) as opened:
        yield opened


@pytest.fixture
def pipelines(channel: grpc.Channel) -> PipelineServiceClient:
    return PipelineServiceClient(transport=PipelineServiceGrpcTransport(channel=channel))


@pytest.fixture
def tuning(channel: grpc.Channel) -> GenAiTuningServiceClient:
    return GenAiTuningServiceClient(transport=GenAiTuningServiceGrpcTransport(channel=channel))


@pytest.fixture
def models(channel: grpc.Channel) -> ModelServiceClient:
    return ModelServiceClient(transport=ModelServiceGrpcTransport(channel=channel))


@pytest.fixture
def endpoints(channel: grpc.Channel) -> EndpointServiceClient:
    return EndpointServiceClient(transport=EndpointServiceGrpcTransport(channel=channel))


@pytest.fixture
def prediction(channel: grpc.Channel) -> PredictionServiceClient:
    return PredictionServiceClient(transport=PredictionServiceGrpcTransport(channel=channel))


@pytest.fixture
def evaluation(channel: grpc.Channel) -> EvaluationServiceClient:
    return EvaluationServiceClient(transport=EvaluationServiceGrpcTransport(channel=channel))


@pytest.fixture
def gcs(emulator: Emulator) -> storage.Client:
    return storage.Client(
        credentials=AnonymousCredentials(),
        project="emulator",
        client_options={"api_endpoint": emulator.storage_endpoint},
    )


@pytest.fixture
def datasets(gcs: storage.Client) -> None:
    """Uploads the datasets the job bodies refer to (code by default, chat, and Gemini)."""
    bucket = gcs.create_bucket(BUCKET)
    for uri, content in ((DATASET, CODE_EXAMPLE), (EVAL_DATASET, CODE_EXAMPLE),
                         (CHAT_DATASET, CHAT_EXAMPLE), (GEMINI_DATASET, GEMINI_EXAMPLE),
                         (GEMINI_VALIDATION, GEMINI_EXAMPLE)):
        bucket.blob(uri.removeprefix(f"gs://{BUCKET}/")).upload_from_string(content)


@pytest.fixture
def open_tuning(channel: grpc.Channel, gcs: storage.Client, datasets: None
                ) -> beta.GenAiTuningServiceClient:
    """The v1beta1 GenAiTuningServiceClient (open models), with their training data."""
    gcs.bucket(BUCKET).blob(OPEN_MODEL_DATASET.removeprefix(f"gs://{BUCKET}/")
                            ).upload_from_string(OPEN_MODEL_EXAMPLE)
    return beta.GenAiTuningServiceClient(
        transport=beta_transports.GenAiTuningServiceGrpcTransport(channel=channel))
