"""Fault injection settings and the per-call draw.

Settings live in SQLite so a test can turn faults on for a server in another process. With a
seed, each draw uses `Random(f"{seed}:{n}")` where n is a shared call counter, so a run's fault
sequence is reproducible no matter which process serves which call. Faults apply to every
RPC the emulator serves, google.longrunning GetOperation included.

Latency models the network between a client and the service: every RPC is served that many
seconds late, plus up to `jitter_seconds` drawn per call, and a create (a droppable call)
`create_latency_seconds` more, as a holder stalled in its create. How slow the real service
is, is not documented; a benchmark or a test picks it.

`hold_creates_for` makes a race of creates exact instead of timed: each create waits until
that many have arrived, and then they are served one at a time in the order they arrived. A
test of two holders whose creates cross then needs no guess at how fast either process is.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from enum import Enum

FAULTS_KEY = "faults"  # the settings row holding them


class Fault(Enum):
    UNAVAILABLE = "unavailable"  # abort before doing anything
    RESOURCE_EXHAUSTED = "resource_exhausted"  # abort before doing anything
    DROP_RESPONSE = "drop_response"  # do the work, then fail as if the reply was lost


@dataclass(frozen=True)
class Draw:
    """One call's lot."""

    fault: Fault | None
    delay_seconds: float
    # How many creates must have arrived before this one is served (0: it is not held).
    hold: int = 0


@dataclass(frozen=True)
class Faults:
    unavailable_rate: float = 0.0
    resource_exhausted_rate: float = 0.0
    drop_create_response_rate: float = 0.0
    seed: int | None = None
    # Seconds a create waits before it is served, as behind a slow network or proxy: a
    # holder stalled in its create while others see its lease.
    create_latency_seconds: float = 0.0
    # Seconds every call waits before it is served, and up to this much more drawn per call.
    latency_seconds: float = 0.0
    jitter_seconds: float = 0.0
    # Seconds a long-running operation (UndeployModel, DeleteEndpoint, DeleteModel) stays
    # running before it reports done. The real ones take minutes (DESIGN.md, "Operations");
    # 0 keeps them born done, so tests need no polling. Their effect is visible at once.
    operation_seconds: float = 0.0
    # Creates (droppable calls) are held until this many have arrived, then served in the
    # order they arrived (0: none is held).
    hold_creates_for: int = 0

    def __post_init__(self) -> None:
        rates = (
            self.unavailable_rate,
            self.resource_exhausted_rate,
            self.drop_create_response_rate,
        )
        if any(not 0.0 <= rate <= 1.0 for rate in rates):
            raise ValueError(f"fault rates must be within [0, 1], got {rates}")
        delays = (self.create_latency_seconds, self.latency_seconds, self.jitter_seconds,
                  self.operation_seconds)
        if min(delays) < 0:
            raise ValueError(f"delays must not be negative, got create latency "
                             f"{self.create_latency_seconds} s, latency {self.latency_seconds} "
                             f"s, jitter {self.jitter_seconds} s and operations "
                             f"{self.operation_seconds} s")
        if self.hold_creates_for < 0:
            raise ValueError(f"hold_creates_for must not be negative, got "
                             f"{self.hold_creates_for}")

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Faults:
        return cls(**json.loads(text)) if text else cls()

    def draw(self, index: int, *, droppable: bool) -> Draw:
        """What happens to call number `index`: its fault, if any, and how late it is served."""
        create = self.create_latency_seconds if droppable else 0.0
        return Draw(self._fault(index, droppable=droppable), create + self._delay(index),
                    self.hold_creates_for if droppable else 0)

    def _delay(self, index: int) -> float:
        if not self.jitter_seconds:
            return self.latency_seconds
        # Its own stream, so turning jitter on leaves a seeded run's faults as they were.
        rng = self._rng(f"{index}:latency")
        return self.latency_seconds + rng.uniform(0.0, self.jitter_seconds)

    def _rng(self, key: str) -> random.Random:
        return random.Random(f"{self.seed}:{key}") if self.seed is not None else random.Random()

    def _fault(self, index: int, *, droppable: bool) -> Fault | None:
        """The fault for call number `index`, if any; DROP_RESPONSE only for droppable calls."""
        if not (
            self.unavailable_rate
            or self.resource_exhausted_rate
            or (droppable and self.drop_create_response_rate)
        ):
            return None
        rng = self._rng(str(index))
        roll = rng.random()
        if roll < self.unavailable_rate:
            return Fault.UNAVAILABLE
        if roll < self.unavailable_rate + self.resource_exhausted_rate:
            return Fault.RESOURCE_EXHAUSTED
        if droppable and rng.random() < self.drop_create_response_rate:
            return Fault.DROP_RESPONSE
        return None
