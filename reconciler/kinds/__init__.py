"""PURE: the kinds of tuning job, one module each, behind one interface (kinds/base.py).

To add a kind: write its module (spec, weight inputs, dataset format, launch), add it to
KINDS and its launch type to Launch, then a backend adapter and an emulator service.
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from reconciler.kinds.base import Kind
from reconciler.kinds.pipeline import PIPELINE, PipelineLaunch
from reconciler.kinds.tuning_job import TUNING_JOB, TuningJobLaunch

DEFAULT_KIND = PIPELINE.name
KINDS: dict[str, Kind] = {PIPELINE.name: PIPELINE, TUNING_JOB.name: TUNING_JOB}
# What a launching action carries: the request of its job's kind.
Launch = PipelineLaunch | TuningJobLaunch


def kind_of(name: str) -> Kind:
    return KINDS[name]


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
