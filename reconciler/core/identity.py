"""PURE: who a run is, and what tuneops recorded about runs that their labels cannot say.

A run is (project, location, kind, name, fingerprint, attempt). The project is fixed by the
parent every call and list is made under, so nothing here ever compares projects by
resource name (the service names resources by project number, tuneops knows the id); what
tuneops keeps in a staging bucket that several projects may share lives under the
project id's own prefix. The rest is the run's RunKey.

A job's labels cannot change after launch (there is no UpdateTuningJob or
UpdatePipelineJob), so two facts live as small records in the staging bucket instead, keyed
by the RunKey: the name a renamed run now belongs to, and that tuneops itself cancelled it
(and why). Two more are about a Model, keyed by its location and id (a ModelKey): that the
service refused to delete it, so tuneops retired it, and that the service refuses its labels.
Observing reads them with one list call and applies them here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from reconciler.core.observed import Observed, ObservedJob, ObservedModel
from reconciler.core.resources import location_of
from reconciler.core.runkey import Key, ModelKey, RunKey

# The facts a record holds, one object each: the run's name now, and why tuneops cancelled it.
NAME = "name"
CANCELLED = "cancelled"
FACTS = (NAME, CANCELLED)
# Why tuneops cancels a run: its fingerprint is no longer desired for its name.
SUPERSEDED = "superseded"
# The facts of a Model's record: the service refused to delete it (the value is why), and
# the service refuses to set its labels.
RETIRED = "retired"
LABELS_REFUSED = "labels-refused"
MODEL_FACTS = (RETIRED, LABELS_REFUSED)


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
    # Models the service would not delete, and Models whose labels it refuses.
    retired: frozenset[ModelKey] = frozenset()
    labels_refused: frozenset[ModelKey] = frozenset()

    @classmethod
    def of(cls, facts: Iterable[tuple[Key, str, str]]) -> Records:
        """From (key, fact, value) triples; unknown facts are ignored."""
        runs: dict[str, dict[RunKey, str]] = {fact: {} for fact in FACTS}
        models: dict[str, set[ModelKey]] = {fact: set() for fact in MODEL_FACTS}
        for key, fact, value in facts:
            if isinstance(key, RunKey) and fact in runs and value:
                runs[fact][key] = value
            elif isinstance(key, ModelKey) and fact in models and value:
                models[fact].add(key)
        return cls(names=runs[NAME], cancelled=runs[CANCELLED],
                   retired=frozenset(models[RETIRED]),
                   labels_refused=frozenset(models[LABELS_REFUSED]))


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


def model_facts(model: ObservedModel, records: Records) -> ObservedModel:
    """The Model marked retired, or with its labels refused, as the records say."""
    key = ModelKey.of(model.resource)
    retired, refused = key in records.retired, key in records.labels_refused
    if (retired, refused) == (model.retired, model.labels_refused):
        return model
    return replace(model, retired=retired, labels_refused=refused)


def relabel(observed: Observed, records: Records) -> Observed:
    """Observed state as the records say: each renamed run (and its Model) under the name
    it now belongs to, each run tuneops cancelled marked with why, and each Model the service
    would not delete or label marked so."""
    if records.retired or records.labels_refused:
        observed = replace(observed, models=tuple(
            model_facts(model, records) for model in observed.models))
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
