"""Turns plain handler functions into gRPC method handlers with counting and fault injection."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc

from reconciler.emulator.errors import EmulatorError
from reconciler.emulator.faults import Fault, Faults

# Counts one received call (by method name) and draws its injected fault, if any.
BeginCall = Callable[..., Fault | None]
# The injected faults now (their create latency is read at each droppable call).
CurrentFaults = Callable[[], Faults]

_ABORTS = {
    Fault.UNAVAILABLE: (grpc.StatusCode.UNAVAILABLE, "emulator: injected unavailability"),
    Fault.RESOURCE_EXHAUSTED: (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "emulator: injected quota exhaustion",
    ),
}


@dataclass(frozen=True)
class Method:
    """One unary RPC: its handler and wire (de)serializers."""

    name: str
    handler: Callable[[Any], Any]
    deserialize: Callable[[bytes], Any]
    serialize: Callable[[Any], bytes]
    # Whether a drop_create_response fault applies: the work is committed, the reply lost.
    droppable: bool = False


def generic_handler(service: str, methods: Iterable[Method], begin_call: BeginCall,
                    faults: CurrentFaults) -> Any:
    """A grpc.GenericRpcHandler serving `methods` under the fully-qualified `service` name."""
    return grpc.method_handlers_generic_handler(
        service,
        {
            m.name: grpc.unary_unary_rpc_method_handler(
                _guarded(m, begin_call, faults),
                request_deserializer=m.deserialize,
                response_serializer=m.serialize,
            )
            for m in methods
        },
    )


def _guarded(method: Method, begin_call: BeginCall, faults: CurrentFaults
             ) -> Callable[[Any, Any], Any]:
    def handle(request: Any, context: Any) -> Any:
        # Request metadata (x-goog-request-params etc.) is ignored: names carry all routing.
        fault = begin_call(method.name, droppable=method.droppable)
        if fault in _ABORTS:
            context.abort(*_ABORTS[fault])
        if method.droppable and (latency := faults().create_latency_seconds):
            time.sleep(latency)  # a slow network: the create lands this much later
        try:
            response = method.handler(request)
        except EmulatorError as err:
            context.abort(err.code, err.message)
        if fault is Fault.DROP_RESPONSE:
            context.abort(grpc.StatusCode.UNAVAILABLE, "emulator: response lost (injected)")
        return response

    return handle
