"""Errors in the Cloud Storage JSON API's shape, so the real client raises the usual exceptions.

google.cloud.exceptions.from_http_response maps the status code to an api_core exception class
(412 -> PreconditionFailed, 404 -> NotFound, 409 -> Conflict, 501 -> MethodNotImplemented) and
reads `error.message` and `error.errors` from this body.
"""

from __future__ import annotations

from typing import Any

_REASONS = {
    304: "notModified",
    400: "invalid",
    404: "notFound",
    409: "conflict",
    411: "required",
    412: "conditionNotMet",
    413: "uploadTooLarge",
    416: "requestedRangeNotSatisfiable",
    500: "backendError",
    501: "notImplemented",
}

# The real service's wording, so logs and messages read the same against either.
PRECONDITION_MESSAGE = "At least one of the pre-conditions you specified did not hold."


class GcsError(Exception):
    """An HTTP error response: status code, reason and message."""

    def __init__(self, code: int, message: str, *, reason: str | None = None,
                 location: str | None = None, location_type: str = "parameter") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or _REASONS.get(code, "invalid")
        self.location = location
        self.location_type = location_type

    def body(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "message": self.message, "domain": "global", "reason": self.reason,
        }
        if self.location is not None:
            detail["locationType"] = self.location_type
            detail["location"] = self.location
        return {"error": {"code": self.code, "message": self.message, "errors": [detail]}}


def invalid(message: str, location: str | None = None) -> GcsError:
    return GcsError(400, message, location=location)


def unsupported(what: str) -> GcsError:
    return GcsError(501, f"not supported by the tuneops storage emulator: {what}")


def no_bucket(bucket: str) -> GcsError:
    return GcsError(404, f"The specified bucket does not exist: {bucket}")


def no_object(bucket: str, name: str) -> GcsError:
    return GcsError(404, f"No such object: {bucket}/{name}")


def precondition_failed(header: str) -> GcsError:
    # The real service names the equivalent HTTP header ("If-Match") as the location.
    return GcsError(412, PRECONDITION_MESSAGE, location=header, location_type="header")


def not_modified(header: str) -> GcsError:
    return GcsError(304, PRECONDITION_MESSAGE, location=header, location_type="header")
