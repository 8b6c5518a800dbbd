"""PredictionService.GenerateContent for tuned models, addressed by their endpoint.

GenerateContentRequest.model is "the fully qualified name of the publisher model or tuned
model endpoint to use", `projects/{project}/locations/{location}/endpoints/{endpoint}`
(prediction_service.proto); `contents` is required. The endpoint's deployed Model (the one
with the most traffic) answers from what it was tuned on (answers.py); publisher models,
and Models no tuning run of GenerateContent's kind made, are not emulated (a code-bison
Model answers `predict` only). The reply is one candidate, finished (STOP), with token
counts estimated as UTF-8 bytes / 4 (undocumented: the real service counts tokens).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import grpc
from google.cloud.aiplatform_v1.types import (
    Candidate,
    Content,
    GenerateContentRequest,
    GenerateContentResponse,
    Part,
)

from reconciler.emulator.errors import EmulatorError, invalid
from reconciler.emulator.examples import ReadObject
from reconciler.emulator.models import Endpoints
from reconciler.emulator.models.rows import ENDPOINTS
from reconciler.emulator.prediction.answers import Answers, text_of
from reconciler.emulator.prediction.tuned import TABLES, training_data
from reconciler.emulator.rpc import Method
from reconciler.emulator.service import Context, Service, State

NAME = "google.cloud.aiplatform.v1.PredictionService"
# Training datasets kept parsed: a tuned model does not change what it learned.
CACHED_DATASETS = 16
BYTES_PER_TOKEN = 4


def _tokens(text: str) -> int:
    return -(-len(text.encode()) // BYTES_PER_TOKEN)


class PredictionService:
    def __init__(self, state: State, read_object: ReadObject) -> None:
        self._state = state
        self._endpoints = Endpoints(state)
        self._read_object = read_object
        self._cache: OrderedDict[str, Answers] = OrderedDict()
        self._lock = threading.Lock()

    def methods(self) -> list[Method]:
        return [Method("GenerateContent", self.generate, GenerateContentRequest.deserialize,
                       GenerateContentResponse.serialize, droppable=True)]

    def _answers(self, uri: str) -> Answers:
        with self._lock:
            if uri in self._cache:
                self._cache.move_to_end(uri)
                return self._cache[uri]
        stream = self._read_object(uri)
        if stream is None:
            raise EmulatorError(grpc.StatusCode.FAILED_PRECONDITION,
                                f"the tuned model's training data {uri} is gone")
        with stream:
            answers = Answers.read(stream)
        with self._lock:
            self._cache[uri] = answers
            while len(self._cache) > CACHED_DATASETS:
                self._cache.popitem(last=False)
        return answers

    def _model_of(self, endpoint_name: str) -> str:
        endpoint = self._endpoints.get(endpoint_name)
        if not endpoint.deployed_models:
            raise EmulatorError(grpc.StatusCode.FAILED_PRECONDITION,
                                f"endpoint {endpoint_name} has no deployed model")
        traffic = dict(endpoint.traffic_split)
        deployed = max(endpoint.deployed_models, key=lambda d: traffic.get(d.id, 0))
        return str(deployed.model)

    def generate(self, request: GenerateContentRequest) -> GenerateContentResponse:
        if "/publishers/" in request.model:
            raise invalid(f"model {request.model}: publisher models are not emulated; ask a "
                          "tuned model's endpoint")
        ENDPOINTS.parse(request.model, self._state.locations)
        if not request.contents:
            raise invalid("contents is required")
        model = self._model_of(request.model)
        with self._state.db.read() as conn:
            uri = training_data(conn, model)
        if uri is None:
            raise EmulatorError(grpc.StatusCode.FAILED_PRECONDITION,
                                f"the model {model} deployed on {request.model} does not "
                                "support GenerateContent")
        prompt = text_of(Content.to_dict(turn) for turn in request.contents)
        answer = self._answers(uri).answer(prompt)
        return GenerateContentResponse(
            candidates=[Candidate(index=0, content=Content(role="model",
                                                           parts=[Part(text=answer)]),
                                  finish_reason=Candidate.FinishReason.STOP)],
            usage_metadata=GenerateContentResponse.UsageMetadata(
                prompt_token_count=_tokens(prompt), candidates_token_count=_tokens(answer),
                total_token_count=_tokens(prompt) + _tokens(answer)))


def _serve(context: Context) -> list[tuple[str, list[Method]]]:
    return [(NAME, PredictionService(context.state, context.read_object).methods())]


SERVICE = Service(serve=_serve, tables=TABLES)
