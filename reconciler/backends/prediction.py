"""PredictionService: asking a tuned model, through the endpoint that serves it.

`PredictionServiceClient.generate_content` (google-cloud-aiplatform aiplatform_v1;
googleapis prediction_service.proto, GenerateContentRequest: `model` is "the fully
qualified name of the publisher model or tuned model endpoint to use", format
`projects/{project}/locations/{location}/endpoints/{endpoint}`). The answer is the first
candidate's text (GenerateContentResponse.candidates[0].content.parts); a response with no
candidate or no text (blocked, or stopped for another reason) is an empty answer, which
scores as any wrong one does.
"""

from __future__ import annotations

from typing import Any

from reconciler.backends.calls import Caller, retry_policy
from reconciler.core.resources import location_of
from reconciler.kinds.base import Prompt


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


class Predictions:
    """Tuned models' endpoints of one project, with a client per region they serve in."""

    def __init__(self, caller: Caller, clients: dict[str, Any]) -> None:
        self._call = caller
        self._clients = clients

    def generate(self, endpoint: str, prompt: Prompt) -> str:
        """The model's answer to `prompt`; retried on transient errors like every call."""
        client = self._clients[location_of(endpoint)]
        body = request(endpoint, prompt)
        return answer_text(self._call(f"asking {endpoint}", lambda: client.generate_content(
            request=body, retry=retry_policy())))
