"""The models service's entry in the registry: Models and Endpoints, in every location any
service registers them."""

from __future__ import annotations

from reconciler.emulator.models import endpoint_service, model_service
from reconciler.emulator.models.rows import TABLES
from reconciler.emulator.rpc import Method
from reconciler.emulator.service import Context, Service


def _serve(context: Context) -> list[tuple[str, list[Method]]]:
    state = context.state
    return [
        (model_service.NAME, model_service.ModelService(state).methods()),
        (endpoint_service.NAME, endpoint_service.EndpointService(state).methods()),
    ]


SERVICE = Service(serve=_serve, tables=TABLES)
