"""EvaluationService in the emulator: EvaluateInstances, scored by scoring.py.

Its messages are imported at the first call, not when the emulator starts: they are every
metric of the API (a third of a second to import), and most commands never score.
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.rpc import Method
from reconciler.emulator.service import Context, Service

NAME = "google.cloud.aiplatform.v1.EvaluationService"


def _request(data: bytes) -> Any:
    from google.cloud.aiplatform_v1.types.evaluation_service import (  # noqa: PLC0415
        EvaluateInstancesRequest,
    )

    return EvaluateInstancesRequest.deserialize(data)


def _response(response: Any) -> bytes:
    serialized: bytes = type(response).serialize(response)
    return serialized


def _serve(context: Context) -> list[tuple[str, list[Method]]]:
    def evaluate(request: Any) -> Any:
        from reconciler.emulator.evaluation.scoring import EvaluationService  # noqa: PLC0415

        return EvaluationService(context.state).evaluate(request)

    return [(NAME, [Method("EvaluateInstances", evaluate, _request, _response,
                           droppable=True)])]


SERVICE = Service(serve=_serve)
