"""Generation and metageneration preconditions, as the Cloud Storage JSON API defines them.

Source: the JSON API reference for objects.insert / get / patch / delete ("ifGenerationMatch",
"ifGenerationNotMatch", "ifMetagenerationMatch", "ifMetagenerationNotMatch") and the guide
"Request preconditions" (https://cloud.google.com/storage/docs/request-preconditions):
- ifGenerationMatch=N: proceed only if the live object's generation is N; N=0 means "only if
  there is no live object" (create-only-if-absent, the lease tuneops takes).
- ifGenerationNotMatch=N: proceed only if the live generation is not N; if no live object
  exists the precondition fails (so N=0 means "only if a live object exists").
- ifMetagenerationMatch / ifMetagenerationNotMatch: the same on the metadata generation.
- A failed precondition is 412 Precondition Failed, except that a failed *NotMatch on a read
  (GET of metadata or media) is 304 Not Modified, as with HTTP If-None-Match (from memory).
These checks run inside the same SQLite write transaction as the write they guard, which is
what makes "exactly one of N racing creates succeeds" hold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from reconciler.emulator.gcs.errors import invalid, not_modified, precondition_failed

# Query parameter -> field. The client spells one of them "ifMetaGenerationNotMatch" on uploads
# (blob.py, _do_multipart_upload and _initiate_resumable_upload), so both spellings count.
_PARAMETERS = {
    "ifGenerationMatch": "if_generation_match",
    "ifGenerationNotMatch": "if_generation_not_match",
    "ifMetagenerationMatch": "if_metageneration_match",
    "ifMetagenerationNotMatch": "if_metageneration_not_match",
    "ifMetaGenerationNotMatch": "if_metageneration_not_match",
}
PARAMETERS = frozenset(_PARAMETERS)


@dataclass(frozen=True)
class Live:
    """The precondition-relevant state of a live object."""

    generation: int
    metageneration: int


@dataclass(frozen=True)
class Preconditions:
    if_generation_match: int | None = None
    if_generation_not_match: int | None = None
    if_metageneration_match: int | None = None
    if_metageneration_not_match: int | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Preconditions:
        values: dict[str, int] = {}
        for parameter, field in _PARAMETERS.items():
            if parameter in query:
                values[field] = _integer(parameter, query[parameter])
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> Preconditions:
        return cls(**json.loads(text))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    def check(self, live: Live | None, *, read: bool = False) -> None:
        """Raises 412 (or 304 for a read's *NotMatch) unless every given precondition holds."""
        if self.if_generation_match is not None:
            current = live.generation if live else 0
            if current != self.if_generation_match:
                raise precondition_failed("If-Match")
        if self.if_metageneration_match is not None and (
            live is None or live.metageneration != self.if_metageneration_match
        ):
            raise precondition_failed("If-Metageneration-Match")
        for wanted_not, current_value, header in (
            (self.if_generation_not_match, live and live.generation, "If-None-Match"),
            (self.if_metageneration_not_match, live and live.metageneration,
             "If-Metageneration-Not-Match"),
        ):
            if wanted_not is None:
                continue
            if live is None or current_value == wanted_not:
                raise not_modified(header) if read and live else precondition_failed(header)


def _integer(parameter: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise invalid(f"Invalid value for {parameter}: {value!r}", parameter) from None
    if number < 0:
        raise invalid(f"Invalid value for {parameter}: {value!r}", parameter)
    return number

