"""PURE: the desired state as the planner sees it, whatever kind of job each one is."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Generic, Literal

from typing_extensions import TypeVar

from reconciler.core.budget import Budget
from reconciler.core.quotas import SUBMISSIONS_PER_MINUTE
from reconciler.errors import Problem

GCS_SCHEME = "gs://"
Role = Literal["training", "evaluation"]
# The validated spec of a job's kind (a pydantic model); bare `DesiredJob` holds any.
SpecT = TypeVar("SpecT", default=Any)

# Cloud Storage's naming rules ("Bucket names", "Object names" in its documentation): a
# bucket of lowercase letters, digits, -, _ and ., starting and ending with a letter or a
# digit, 3 to 63 characters (222 with dots, 63 between them), not an IP address; an object
# of 1 to 1,024 bytes of UTF-8 without CR or LF, not . or ..
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]*[a-z0-9]")
_MAX_OBJECT_BYTES = 1024


def _bucket_problem(bucket: str) -> str:
    parts = bucket.split(".")
    if (not _BUCKET.fullmatch(bucket) or not 3 <= len(bucket) <= (222 if len(parts) > 1 else 63)
            or any(not part or len(part) > 63 for part in parts)):
        return (f"bucket name {bucket!r} is not valid: 3 to 63 lowercase letters, digits, '-', "
                "'_' and '.', starting and ending with a letter or a digit")
    try:
        ipaddress.ip_address(bucket)
    except ValueError:
        return ""
    return f"bucket name {bucket!r} is an IP address, which Cloud Storage does not allow"


def gcs_object_problem(uri: str) -> str:
    """Why `uri` names no Cloud Storage object ("" when it does): `gs://BUCKET/OBJECT`."""
    bucket, _, name = uri.removeprefix(GCS_SCHEME).partition("/")
    why = _bucket_problem(bucket)
    if why:
        return why
    if not name:
        return "no object name after the bucket (gs://BUCKET/OBJECT)"
    if len(name.encode("utf-8", "surrogatepass")) > _MAX_OBJECT_BYTES:
        return f"the object name is longer than {_MAX_OBJECT_BYTES:,} bytes"
    if name in (".", "..") or any(char in name for char in "\r\n\0"):
        return "the object name is not valid (., .., or holds CR, LF or NUL)"
    return ""


@dataclass(frozen=True)
class Target:
    """Where jobs run: a GCP project, or the embedded emulator when none is configured."""

    project: str
    local: bool
    staging_bucket: str
    # Job and LRO submissions per minute per region the project's quota allows.
    submissions_per_minute: int = SUBMISSIONS_PER_MINUTE


@dataclass(frozen=True)
class Dataset:
    """One dataset of a job, decided once: its identity is its content, not its path."""

    uri: str
    role: Role
    # "" for a gs:// object while offline: it is hashed from metadata only when planning.
    content_hash: str
    # None for gs:// datasets, which are hashed from object metadata without reading them.
    examples: int | None
    # The repository path of a local dataset, uploaded content-addressed before launch.
    path: str | None = None
    # Estimated tokens of all examples, for formats that count them (None: not counted).
    tokens: int | None = None


@dataclass(frozen=True)
class Promotion:
    """`promotion:` of a job: the channel its best run is promoted to, and the rule."""

    channel: str
    min_score: float | None = None
    # The new run must score at least the channel's current one.
    must_beat_current: bool = True


@dataclass(frozen=True)
class Evaluation:
    """`evaluation:` of a job: metadata, never a weight input. Its dataset's content hash
    and the metric key every score; a new dataset scores again, it never re-tunes."""

    dataset: Dataset
    metric: str
    promotion: Promotion | None = None


@dataclass(frozen=True)
class DesiredJob(Generic[SpecT]):
    name: str
    kind: str
    source: str
    # Where the job tunes (a Vertex AI region).
    location: str
    # The weight inputs in their kind's canonical form: any change re-tunes.
    inputs: dict[str, Any]
    # Display name, description and labels: a change updates the Model in place.
    metadata: dict[str, Any]
    fingerprint: str
    datasets: tuple[Dataset, ...]
    # The kind's validated spec, from which its launch is built.
    spec: SpecT
    # How its runs are scored and promoted (None: they are not).
    evaluation: Evaluation | None = None

    def dataset(self, role: Role) -> Dataset | None:
        return next((d for d in self.datasets if d.role == role), None)


@dataclass(frozen=True)
class Desired:
    target: Target
    cancel_superseded: bool
    jobs: tuple[DesiredJob, ...]
    warnings: tuple[Problem, ...] = ()
    prices: dict[str, float] = field(default_factory=dict)
    # US dollars per million tokens a tuned model answers with, by base model.
    prediction_prices: dict[str, float] = field(default_factory=dict)
    budget: Budget = field(default_factory=Budget)
    # Concurrent jobs per location and kind of job (`limits:`); absent means no limit.
    limits: dict[str, dict[str, int]] = field(default_factory=dict)
    # Dataset bytes read to build this state: 0 when every dataset came from the cache.
    bytes_read: int = 0
    # The repository files it was read from: settings, job files, then local datasets.
    files: tuple[str, ...] = ()
