"""PURE: THE registry of kinds of tuning job, which every other layer asks.

Each kind is one module behind one interface (kinds/base.py). Adding one is its module and
its entries below (KINDS and Launch), then its backend adapter (backends/all_adapters.py)
and its emulator service (emulator/all_services.py): no other module names a kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic.json_schema import models_json_schema

from reconciler.core import quota
from reconciler.core.observed import ObservedJob
from reconciler.core.resources import location_of
from reconciler.kinds import open_model, pipeline, tuning_job
from reconciler.kinds.base import Kind

# What a launching action carries: the request of its job's kind (pydantic reads a saved
# plan back through this union, by each launch's `kind`).
Launch = pipeline.PipelineLaunch | tuning_job.TuningJobLaunch | open_model.OpenModelLaunch
KINDS: dict[str, Kind[Any, Launch]] = {
    kind.name: kind
    for kind in (pipeline.PIPELINE, tuning_job.TUNING_JOB, open_model.OPEN_MODEL)}
# A job document without `kind:` is of this kind (the reference's, the first there was).
DEFAULT_KIND = pipeline.PIPELINE.name
# Where any kind's runs register Models: the regions the Model Registry is read in.
MODEL_LOCATIONS = tuple(sorted({location for kind in KINDS.values()
                                for location in kind.model_locations}))

if TYPE_CHECKING:
    KindName = str
else:
    # A setting keyed by kind (`limits:`) takes exactly the registered names, as a Literal
    # (pydantic's message and schema list them); mypy sees the str it is.
    KindName = Literal[tuple(KINDS)]


def kind_of(name: str) -> Kind[Any, Launch]:
    return KINDS[name]


def quota_slot(kind: str, location: str) -> quota.Slot:
    """Where a run of `kind` in `location` counts against `limits:`: as its kind's quota
    is counted by the service, per location or once per project."""
    return quota.slot(location, kind, project_wide=KINDS[kind].quota_scope == "project")


def slot_of(job: ObservedJob) -> quota.Slot:
    return quota_slot(job.kind, location_of(job.resource))


def limit_problem(where: str, kind: str) -> str:
    """Why `limits: {where: {kind: N}}` cannot be, or ""."""
    if quota_slot(kind, where)[0] == where:
        return ""
    if where == quota.GLOBAL:
        return (f"{kind} jobs draw on quota per location: set their limit under a location, "
                f"not {quota.GLOBAL}")
    return (f"{kind} jobs draw on one quota per project, shared across every location: set "
            f"their limit under {quota.GLOBAL}, not {where}")


def job_schema() -> dict[str, Any]:
    """The JSON Schema of a job document: one variant per kind, chosen by `kind:`.

    A document without `kind:` is of the default kind, which the variant's default says.
    """
    _, schema = models_json_schema([(kind.spec, "validation") for kind in KINDS.values()],
                                   title="tuneops job")
    refs = {name: f"#/$defs/{kind.spec.__name__}" for name, kind in KINDS.items()}
    schema["oneOf"] = [{"$ref": ref} for ref in refs.values()]
    schema["discriminator"] = {"propertyName": "kind", "mapping": refs}
    return schema
