"""Channel pointers in the staging bucket: which run a channel ("production") resolves to.

One object per project and channel, `{staging}/records/{project id}/channels/{channel}`:
its custom metadata is the current run (so the one list call of observing reads every
channel), its body that run and the runs before it. A pointer moves by compare-and-swap:
read it, check it still points where the plan saw it, write conditioned on the generation
read (Cloud Storage's ifGenerationMatch, "Request preconditions"). Of racing applies
promoting one run, exactly one moves it; the others find it moved to that run already. One
that finds the channel moved elsewhere since its plan leaves it: apply never re-plans.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.backends.leases import Bucket
from reconciler.core.channels import Promoted, Scoring
from reconciler.core.runkey import RunKey
from reconciler.errors import BackendError, TuneopsError

CHANNELS = "channels"
# The runs a pointer remembers in its body (the facts of each promotion are kept apart).
HISTORY = 100
# Read, then write conditioned on what was read: a concurrent writer costs one more round.
MOVE_ROUNDS = 5


def as_metadata(now: Promoted) -> dict[str, str]:
    """A pointer's current run as the object's custom metadata (string values)."""
    return {"run": now.run.path(), "job": now.job, "model": now.model,
            "endpoint": now.endpoint, "name": now.name,
            "score": "" if now.score is None else repr(now.score),
            "dataset": now.scoring.dataset, "metric": now.scoring.metric,
            "since": repr(now.since)}


def from_metadata(channel: str, values: Mapping[str, Any]) -> Promoted | None:
    """The current run a pointer's metadata (or body) records; None if it is not one."""
    key = RunKey.parse(str(values.get("run", "")))
    if key is None:
        return None
    score = str(values.get("score", ""))
    try:
        return Promoted(channel=channel, run=key, job=str(values.get("job", "")),
                        model=str(values.get("model", "")),
                        endpoint=str(values.get("endpoint", "")),
                        name=str(values.get("name", "")),
                        score=float(score) if score else None,
                        scoring=Scoring(str(values.get("dataset", "")),
                                        str(values.get("metric", ""))),
                        since=float(values.get("since", 0) or 0))
    except ValueError:
        return None


@dataclass(frozen=True)
class Move:
    """What a move found: whether this apply moved the pointer, and where it points now."""

    moved: bool
    now: Promoted | None


class ChannelPointers:
    def __init__(self, bucket: Bucket, prefix: str) -> None:
        self._bucket = bucket
        self._prefix = prefix

    def uri(self, channel: str) -> str:
        return f"{self._prefix}/{CHANNELS}/{channel}"

    def move(self, channel: str, expected: RunKey | None, new: Promoted) -> Move:
        """Points `channel` at `new` if it still points at `expected` (None: at nothing)."""
        uri = self.uri(channel)
        nonce = ""
        for _ in range(MOVE_ROUNDS):
            lease = self._bucket.read_lease(uri)
            body = lease.body if lease is not None else {}
            now = from_metadata(channel, body.get("current") or {})
            if now is not None and now.run == new.run:
                # Ours if our write landed though its reply said otherwise (a client retry
                # of a write that had landed fails its precondition), else a racing apply's.
                return Move(moved=bool(nonce) and body.get("write") == nonce, now=now)
            if (None if now is None else now.run) != expected:
                return Move(moved=False, now=now)
            nonce = uuid.uuid4().hex
            history = [*body.get("history", []), *([body["current"]] if now else [])]
            written_body = {"current": as_metadata(new), "history": history[-HISTORY:],
                            "write": nonce, "time": time.time()}
            try:
                written = self._bucket.write_if(
                    uri, written_body, 0 if lease is None else lease.generation,
                    metadata=as_metadata(new))
            except TuneopsError:
                # Its reply may be lost after all: the pointer says whether it landed.
                landed = self._bucket.read_lease(uri)
                if landed is None or landed.body.get("write") != nonce:
                    raise
                written = landed.generation
            if written is not None:
                return Move(moved=True, now=new)
        raise BackendError(f"{uri}: other applies keep moving channel {channel}; run apply "
                           "again")
