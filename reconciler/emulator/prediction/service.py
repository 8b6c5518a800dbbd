"""PredictionService on tuned models' endpoints: GenerateContent and Predict.

GenerateContentRequest.model is "the fully qualified name of the publisher model or tuned
model endpoint to use", `projects/{project}/locations/{location}/endpoints/{endpoint}`
(prediction_service.proto); `contents` is required. PredictRequest.endpoint names the
Endpoint the same way; its `instances` are the serving container's own. The endpoint's
deployed Model (the one with the most traffic) answers from what it was tuned on
(answers.py), by the method it serves (tuned.py): publisher models, and Models no tuning run
made, are not emulated (a code-bison Model answers neither). A GenerateContent reply is one
candidate, finished (STOP), with token counts estimated as UTF-8 bytes / 4 (undocumented:
the real service counts tokens).

Predict models the container Model Garden deploys a tuned open model with (Google's Model
Garden notebooks, e.g. Google-Health/medgemma, quick_start_with_model_garden.ipynb):
`{"prompt", "max_tokens", "temperature", "raw_response"}` answers the generated text, and
with `raw_response` false "Prompt:\n{prompt.strip()}\nOutput:\n{output}" (documented there);
`{"@requestFormat": "chatCompletions", "messages"}` answers a chat completion whose
`choices[0].message.content` is the text (undocumented as a Predict reply; the shape
Google's samples read). Any other instance is INVALID_ARGUMENT (undocumented: the container
refuses it somehow).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import grpc
from google.cloud.aiplatform_v1.types.content import Candidate, Content, Part
from google.cloud.aiplatform_v1.types.prediction_service import (
    GenerateContentRequest,
    GenerateContentResponse,
    PredictRequest,
    PredictResponse,
)
from google.protobuf import json_format

from reconciler.emulator.errors import EmulatorError, invalid
from reconciler.emulator.examples import ReadObject
from reconciler.emulator.models import Endpoints
from reconciler.emulator.models.rows import ENDPOINTS
from reconciler.emulator.prediction.answers import Answers, chat_text, text_of
from reconciler.emulator.prediction.tuned import (
    GENERATE_CONTENT,
    PREDICT,
    TABLES,
    training_data,
)
from reconciler.emulator.rpc import Method
from reconciler.emulator.service import Context, Service, State

NAME = "google.cloud.aiplatform.v1.PredictionService"
# Training datasets kept parsed: a tuned model does not change what it learned.
CACHED_DATASETS = 16
BYTES_PER_TOKEN = 4
CHAT_FORMAT = ("@requestFormat", "chatCompletions")


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
        return [Method(GENERATE_CONTENT, self.generate, GenerateContentRequest.deserialize,
                       GenerateContentResponse.serialize, droppable=True),
                Method(PREDICT, self.predict, PredictRequest.deserialize,
                       PredictResponse.serialize, droppable=True)]

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

    def _deployed(self, endpoint_name: str) -> Any:
        endpoint = self._endpoints.get(endpoint_name)
        if not endpoint.deployed_models:
            raise EmulatorError(grpc.StatusCode.FAILED_PRECONDITION,
                                f"endpoint {endpoint_name} has no deployed model")
        traffic = dict(endpoint.traffic_split)
        return max(endpoint.deployed_models, key=lambda d: traffic.get(d.id, 0))

    def _endpoint(self, name: str) -> str:
        """The endpoint `name` asks for, as stored: under the project's number, whether the
        request names its id or number."""
        if "/publishers/" in name:
            raise invalid(f"model {name}: publisher models are not emulated; ask a tuned "
                          "model's endpoint")
        return ENDPOINTS.parse(name, self._state.locations).unversioned

    def _answering(self, endpoint_name: str, method: str) -> tuple[Any, Answers]:
        """The Model deployed on the endpoint, and what it answers from, if it serves
        `method`."""
        deployed = self._deployed(endpoint_name)
        with self._state.db.read() as conn:
            found = training_data(conn, str(deployed.model))
        if found is None or found[1] != method:
            raise EmulatorError(grpc.StatusCode.FAILED_PRECONDITION,
                                f"the model {deployed.model} deployed on {endpoint_name} "
                                f"does not support {method}")
        return deployed, self._answers(found[0])

    def generate(self, request: GenerateContentRequest) -> GenerateContentResponse:
        endpoint = self._endpoint(request.model)
        if not request.contents:
            raise invalid("contents is required")
        _, answers = self._answering(endpoint, GENERATE_CONTENT)
        prompt = text_of(Content.to_dict(turn) for turn in request.contents)
        answer = answers.answer(prompt)
        return GenerateContentResponse(
            candidates=[Candidate(index=0, content=Content(role="model",
                                                           parts=[Part(text=answer)]),
                                  finish_reason=Candidate.FinishReason.STOP)],
            usage_metadata=GenerateContentResponse.UsageMetadata(
                prompt_token_count=_tokens(prompt), candidates_token_count=_tokens(answer),
                total_token_count=_tokens(prompt) + _tokens(answer)))

    def predict(self, request: PredictRequest) -> PredictResponse:
        endpoint = self._endpoint(request.endpoint)
        instances = [json_format.MessageToDict(value)
                     for value in PredictRequest.pb(request).instances]
        if not instances:
            raise invalid("instances is required")
        deployed, answers = self._answering(endpoint, PREDICT)
        response = PredictResponse.pb()(deployed_model_id=deployed.id, model=deployed.model,
                                        model_version_id=deployed.model_version_id)
        for index, instance in enumerate(instances):
            json_format.ParseDict(_prediction(instance, index, answers),
                                  response.predictions.add())
        wrapped: PredictResponse = PredictResponse.wrap(response)
        return wrapped


def _prediction(instance: Any, index: int, answers: Answers) -> Any:
    """What the serving container answers one instance with."""
    where = f"instances[{index}]"
    if not isinstance(instance, dict):
        raise invalid(f"{where} must be an object")
    if instance.get(CHAT_FORMAT[0]) == CHAT_FORMAT[1]:
        messages = instance.get("messages")
        if not isinstance(messages, list) or not messages:
            raise invalid(f"{where}.messages must be a non-empty list of {{role, content}}")
        answer = answers.answer(chat_text(messages))
        return {"object": "chat.completion", "choices": [{
            "index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": answer}}]}
    prompt = instance.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise invalid(f"{where} needs a prompt, or {CHAT_FORMAT[0]}: {CHAT_FORMAT[1]} with "
                      "messages")
    answer = answers.answer(prompt)
    if instance.get("raw_response") is True:
        return answer
    return f"Prompt:\n{prompt.strip()}\nOutput:\n{answer}"


def _serve(context: Context) -> list[tuple[str, list[Method]]]:
    return [(NAME, PredictionService(context.state, context.read_object).methods())]


SERVICE = Service(serve=_serve, tables=TABLES)
