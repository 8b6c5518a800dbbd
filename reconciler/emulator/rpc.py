"""Turns plain handler functions into gRPC method handlers with a call log, fault injection and
latency."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf import any_pb2
from google.rpc import status_pb2

from reconciler.emulator.errors import EmulatorError
from reconciler.emulator.faults import Draw, Fault


class CallLog(Protocol):
    """Where the emulator logs each call it receives and counts its submissions
    (EmulatorStore)."""

    def begin_call(self, method: str, target: str = "", *,
                   droppable: bool = False) -> tuple[int, Draw]: ...

    def end_call(self, entry: int) -> None: ...

    def held(self, count: int) -> AbstractContextManager[None]:
        """Holds a create until `count` have arrived, then serves them in arrival order."""

    def admit_submission(self, target: str) -> None:
        """Counts a job or LRO submission against the request quota, or raises
        EmulatorError past it."""


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
    # A "Job or long-running operation (LRO) submission request", which the request quota
    # counts (ratequota.py).
    submission: bool = False


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


def generic_handler(service: str, methods: Iterable[Method], log: CallLog) -> Any:
    """A grpc.GenericRpcHandler serving `methods` under the fully-qualified `service` name."""
    return grpc.method_handlers_generic_handler(
        service,
        {
            m.name: grpc.unary_unary_rpc_method_handler(
                _guarded(m, log),
                request_deserializer=m.deserialize,
                response_serializer=m.serialize,
            )
            for m in methods
        },
    )


def _target(request: Any) -> str:
    """What a request is about: its parent (a list or create) or its resource's name."""
    for field in ("parent", "name", "endpoint"):
        value = getattr(request, field, "")
        if isinstance(value, str) and value:
            return value
    return ""


def _guarded(method: Method, log: CallLog) -> Callable[[Any, Any], Any]:
    def handle(request: Any, context: Any) -> Any:
        # Request metadata (x-goog-request-params etc.) is ignored: names carry all routing.
        entry, draw = log.begin_call(method.name, _target(request), droppable=method.droppable)
        try:
            with log.held(draw.hold) if draw.hold else nullcontext():
                return served(request, context, draw)
        finally:
            log.end_call(entry)

    def served(request: Any, context: Any, draw: Draw) -> Any:
        if draw.delay_seconds:
            time.sleep(draw.delay_seconds)  # the network's share, whatever the call's outcome
        fault = draw.fault
        if fault in _ABORTS:
            context.abort(*_ABORTS[fault])
        try:
            if method.submission:
                log.admit_submission(_target(request))
            response = method.handler(request)
        except EmulatorError as err:
            if err.details:
                context.set_trailing_metadata([(STATUS_DETAILS, _status(err))])
            context.abort(err.code, err.message)
        if fault is Fault.DROP_RESPONSE:
            context.abort(grpc.StatusCode.UNAVAILABLE, "emulator: response lost (injected)")
        return response

    return handle
