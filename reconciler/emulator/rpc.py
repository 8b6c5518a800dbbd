"""Turns plain handler functions into gRPC method handlers with counting, fault injection and
latency."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import status_pb2

from reconciler.emulator.errors import EmulatorError
from reconciler.emulator.faults import Draw, Fault

# Counts one received call (by method name) and draws its injected fault and latency.
BeginCall = Callable[..., Draw]

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


# Where gRPC carries a google.rpc.Status with details (grpcio-status's rpc_status.to_status
# writes the same), and api-core reads them into GoogleAPICallError.details.
STATUS_DETAILS = "grpc-status-details-bin"


def _status(error: EmulatorError) -> bytes:
    details = []
    for detail in error.details:
        packed = any_pb2.Any()
        packed.Pack(detail)
        details.append(packed)
    status = status_pb2.Status(code=error.code.value[0], message=error.message, details=details)
    serialized: bytes = status.SerializeToString()
    return serialized


def generic_handler(service: str, methods: Iterable[Method], begin_call: BeginCall) -> Any:
    """A grpc.GenericRpcHandler serving `methods` under the fully-qualified `service` name."""
    return grpc.method_handlers_generic_handler(
        service,
        {
            m.name: grpc.unary_unary_rpc_method_handler(
                _guarded(m, begin_call),
                request_deserializer=m.deserialize,
                response_serializer=m.serialize,
            )
            for m in methods
        },
    )


def _guarded(method: Method, begin_call: BeginCall) -> Callable[[Any, Any], Any]:
    def handle(request: Any, context: Any) -> Any:
        # Request metadata (x-goog-request-params etc.) is ignored: names carry all routing.
        draw = begin_call(method.name, droppable=method.droppable)
        if draw.delay_seconds:
            time.sleep(draw.delay_seconds)  # the network's share, whatever the call's outcome
        fault = draw.fault
        if fault in _ABORTS:
            context.abort(*_ABORTS[fault])
        try:
            response = method.handler(request)
        except EmulatorError as err:
            if err.details:
                context.set_trailing_metadata([(STATUS_DETAILS, _status(err))])
            context.abort(err.code, err.message)
        if fault is Fault.DROP_RESPONSE:
            context.abort(grpc.StatusCode.UNAVAILABLE, "emulator: response lost (injected)")
        return response

    return handle
