"""PURE: who a run is, and what tuneops recorded about runs that their labels cannot say.

A run is (project, location, kind, name, fingerprint, attempt). The project is fixed by the
parent every call and list is made under, so nothing here ever compares projects by
resource name (the service names resources by project number, tuneops knows the id); what
tuneops keeps in a staging bucket that several projects may share lives under the
project id's own prefix. The rest is the run's RunKey.

A job's labels cannot change after launch (there is no UpdateTuningJob or
UpdatePipelineJob), so two facts live as small records in the staging bucket instead, keyed
by the RunKey: the name a renamed run now belongs to, and that tuneops itself cancelled it
(and why). Observing reads them with one list call and applies them here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from reconciler.core.observed import Observed, ObservedJob, ObservedModel
from reconciler.core.resources import location_of
from reconciler.core.runkey import RunKey

# The facts a record holds, one object each: the run's name now, and why tuneops cancelled it.
NAME = "name"
CANCELLED = "cancelled"
FACTS = (NAME, CANCELLED)
# Why tuneops cancels a run: its fingerprint is no longer desired for its name.
SUPERSEDED = "superseded"


def age(job: ObservedJob) -> tuple[str, str]:
    """Older first: runs are read in this order, and of two twins the older is kept."""
    return job.create_time, job.job_id


def key_of(job: ObservedJob) -> RunKey:
    """A run's key, from its labels (never from the name a rename gave it)."""
    return RunKey(location_of(job.resource), job.kind, job.label_name, job.fingerprint,
                  job.attempt)


@dataclass(frozen=True)
class Records:
    """What the staging bucket says of runs: their current names, and tuneops' cancels."""

    names: Mapping[RunKey, str] = field(default_factory=dict)
    cancelled: Mapping[RunKey, str] = field(default_factory=dict)

    @classmethod
    def of(cls, facts: Iterable[tuple[RunKey, str, str]]) -> Records:
        """From (key, fact, value) triples; unknown facts are ignored."""
        found: dict[str, dict[RunKey, str]] = {fact: {} for fact in FACTS}
        for key, fact, value in facts:
            if fact in found and value:
                found[fact][key] = value
        return cls(names=found[NAME], cancelled=found[CANCELLED])


def _model_names(jobs: Iterable[tuple[ObservedJob, str]]
                 ) -> tuple[dict[tuple[str, str, int], str], dict[tuple[str, str], str]]:
    """Where a labelled Model goes: by its run's (name, fingerprint, attempt) labels, or,
    for a Model without an attempt label, by (name, fingerprint) when every run of that
    pair now has one name."""
    exact: dict[tuple[str, str, int], str] = {}
    by_pair: dict[tuple[str, str], set[str]] = defaultdict(set)
    for job, name in jobs:
        exact[(job.label_name, job.fingerprint, job.attempt)] = name
        by_pair[(job.label_name, job.fingerprint)].add(name)
    return exact, {pair: next(iter(names)) for pair, names in by_pair.items()
                   if len(names) == 1}


def _renamed_model(model: ObservedModel, exact: Mapping[tuple[str, str, int], str],
                   pairs: Mapping[tuple[str, str], str]) -> ObservedModel:
    if model.attempt:
        name = exact.get((model.name, model.fingerprint, model.attempt), model.name)
    else:
        name = pairs.get((model.name, model.fingerprint), model.name)
    return model if name == model.name else replace(model, name=name)


def relabel(observed: Observed, records: Records) -> Observed:
    """Observed state as the records say: each renamed run (and its Model) under the name
    it now belongs to, and each run tuneops cancelled marked with why."""
    if not records.names and not records.cancelled:
        return observed
    jobs: list[ObservedJob] = []
    named: list[tuple[ObservedJob, str]] = []
    for job in observed.jobs:
        key = key_of(job)
        name = records.names.get(key, job.label_name)
        named.append((job, name))
        jobs.append(replace(job, name=name,
                            launched_as=job.label_name if name != job.label_name else "",
                            cancelled_by_tuneops=records.cancelled.get(key, "")))
    exact, pairs = _model_names(named)
    models = tuple(_renamed_model(model, exact, pairs) for model in observed.models)
    return replace(observed, jobs=tuple(jobs), models=models)
