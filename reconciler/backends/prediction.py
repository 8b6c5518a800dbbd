"""PredictionService: asking a tuned model, through the endpoint that serves it.

Two methods, as the question asks (kinds/base.py, Question); googleapis
prediction_service.proto, google-cloud-aiplatform aiplatform_v1:

- `generate_content` (a Prompt): GenerateContentRequest.model is "the fully qualified name
  of the publisher model or tuned model endpoint to use", format
  `projects/{project}/locations/{location}/endpoints/{endpoint}`. The answer is the first
  candidate's text (GenerateContentResponse.candidates[0].content.parts);
- `predict` (an Instance): PredictRequest.endpoint names the same Endpoint and `instances`
  are "in the format specified by the Endpoint's DeployedModels' Model's PredictSchemata's
  instance_schema"; the answer is read from `predictions[0]` by the question itself (the
  serving container decides its shape).

A response with no candidate, prediction or text (blocked, or stopped for another reason)
is an empty answer, which scores as any wrong one does.
"""

from __future__ import annotations

from typing import Any

from reconciler.backends.calls import Caller, retry_policy
from reconciler.core.resources import location_of
from reconciler.kinds.base import Instance, Prompt, Question


def request(endpoint: str, prompt: Prompt) -> dict[str, Any]:
    """The GenerateContentRequest of one evaluation example."""
    body: dict[str, Any] = {"model": endpoint, "contents": list(prompt.contents)}
    if prompt.system_instruction is not None:
        body["system_instruction"] = prompt.system_instruction
    return body


def answer_text(response: Any) -> str:
    if not response.candidates:
        return ""
    return "".join(part.text for part in response.candidates[0].content.parts)


def prediction(response: Any) -> Any:
    """The first of a PredictResponse's predictions as JSON (None: there is none)."""
    from google.protobuf import json_format  # noqa: PLC0415  (with the client, lazily)

    found = type(response).pb(response).predictions
    return json_format.MessageToDict(found[0]) if found else None


class Predictions:
    """Tuned models' endpoints of one project, with a client per region they serve in."""

    def __init__(self, caller: Caller, clients: dict[str, Any]) -> None:
        self._call = caller
        self._clients = clients

    def ask(self, endpoint: str, question: Question) -> str:
        """The model's answer to `question`; retried on transient errors like every call."""
        client = self._clients[location_of(endpoint)]
        if isinstance(question, Instance):
            # Keyword arguments: the client extends `instances` from plain JSON values, which
            # a request dict's repeated Value would not take.
            found = prediction(self._call(f"asking {endpoint}", lambda: client.predict(
                endpoint=endpoint, instances=[question.body], retry=retry_policy())))
            return "" if found is None else question.answer(found)
        body = request(endpoint, question)
        return answer_text(self._call(f"asking {endpoint}", lambda: client.generate_content(
            request=body, retry=retry_policy())))
