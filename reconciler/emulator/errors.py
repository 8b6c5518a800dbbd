"""The one error type emulator internals raise; the RPC layer turns it into a gRPC status."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf.message import Message


class EmulatorError(Exception):
    """A failure that maps to one gRPC status code, like the real service's error replies,
    with the google.rpc error details (ErrorInfo, QuotaFailure...) it carries, if any."""

    def __init__(self, code: grpc.StatusCode, message: str,
                 details: Sequence[Message] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = tuple(details)


def invalid(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.NOT_FOUND, message)


def already_exists(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.ALREADY_EXISTS, message)
