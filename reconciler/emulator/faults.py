"""Fault injection settings and the per-call draw.

Settings live in SQLite so a test can turn faults on for a server in another process. With a
seed, each draw uses `Random(f"{seed}:{n}")` where n is a shared call counter, so a run's fault
sequence is reproducible no matter which process serves which call. Faults apply to every
RPC the emulator serves, google.longrunning GetOperation included.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from enum import Enum


class Fault(Enum):
    UNAVAILABLE = "unavailable"  # abort before doing anything
    RESOURCE_EXHAUSTED = "resource_exhausted"  # abort before doing anything
    DROP_RESPONSE = "drop_response"  # do the work, then fail as if the reply was lost


@dataclass(frozen=True)
class Faults:
    unavailable_rate: float = 0.0
    resource_exhausted_rate: float = 0.0
    drop_create_response_rate: float = 0.0
    seed: int | None = None
    # Seconds a create waits before it is served, as behind a slow network or proxy: a
    # holder stalled in its create while others see its lease.
    create_latency_seconds: float = 0.0

    def __post_init__(self) -> None:
        rates = (
            self.unavailable_rate,
            self.resource_exhausted_rate,
            self.drop_create_response_rate,
        )
        if any(not 0.0 <= rate <= 1.0 for rate in rates):
            raise ValueError(f"fault rates must be within [0, 1], got {rates}")
        if self.create_latency_seconds < 0:
            raise ValueError(f"create latency must not be negative, got "
                             f"{self.create_latency_seconds}")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Faults:
        return cls(**json.loads(text)) if text else cls()

    def draw(self, index: int, *, droppable: bool) -> Fault | None:
        """The fault for call number `index`, if any; DROP_RESPONSE only for droppable calls."""
        if not (
            self.unavailable_rate
            or self.resource_exhausted_rate
            or (droppable and self.drop_create_response_rate)
        ):
            return None
        rng = random.Random(f"{self.seed}:{index}") if self.seed is not None else random.Random()
        roll = rng.random()
        if roll < self.unavailable_rate:
            return Fault.UNAVAILABLE
        if roll < self.unavailable_rate + self.resource_exhausted_rate:
            return Fault.RESOURCE_EXHAUSTED
        if droppable and rng.random() < self.drop_create_response_rate:
            return Fault.DROP_RESPONSE
        return None
