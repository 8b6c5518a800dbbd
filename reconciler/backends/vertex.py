"""Vertex AI through the GAPIC clients of google-cloud-aiplatform (aiplatform_v1, or the
version a kind's adapter names).

The high-level SDK downloads templates and takes seconds to import; the GAPIC clients are
imported lazily, on first use, so `reconcile validate` never pays for them. The same code
talks to the embedded emulator over an insecure local channel. Each kind of job has its own
adapter; the Model Registry and Endpoints are shared by all kinds.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Sequence
from functools import cached_property
from typing import Any

from reconciler.backends.adapter import V1, Adapter, AdapterKind, Context
from reconciler.backends.all_adapters import ADAPTERS
from reconciler.backends.calls import Caller, Launched
from reconciler.backends.channels import ChannelPointers
from reconciler.backends.evaluation import Scorer
from reconciler.backends.leases import Leases
from reconciler.backends.models import Registry
from reconciler.backends.prediction import Predictions
from reconciler.backends.records import Bucket, RecordStore
from reconciler.core import identity
from reconciler.core.channels import Evaluations
from reconciler.core.fingerprint import fingerprint
from reconciler.core.identity import key_of, relabel
from reconciler.core.observed import JobState, Observed, ObservedJob, ObservedModel, RunOutputs
from reconciler.core.resources import parse
from reconciler.kinds import MODEL_LOCATIONS, Launch

# (name, fingerprint) of a desired job.
Wanted = tuple[str, str]
# The kinds whose jobs live in each collection: one, unless kinds share an API (TuningJob).
_BY_COLLECTION = {collection: tuple(e.kind for e in ADAPTERS if e.collection == collection)
                  for collection in dict.fromkeys(e.collection for e in ADAPTERS)}


def kind_reading(readings: Sequence[ObservedJob]) -> ObservedJob:
    """One job as each kind sharing its collection reads it: the kind whose reading gives
    back the job's fingerprint label (it hashes that kind's own weight inputs) is the
    job's; with none, the kind registered first."""
    if len(readings) == 1:
        return readings[0]
    return next((job for job in readings if fingerprint(job.inputs) == job.fingerprint),
                readings[0])


class VertexBackend:
    """One project; `endpoint` ("host:port") points every call at a local emulator.

    What tuneops keeps in the staging bucket (launch leases, records of runs) lives under
    the project id's own prefix, so projects sharing one bucket never share a launch.
    """

    def __init__(self, project: str, endpoint: str | None = None, *, bucket: Bucket,
                 staging: str) -> None:
        self.project = project
        self.endpoint = endpoint
        self._call = Caller(project)
        self._context = Context(self._call, Leases(bucket, f"{staging}/leases/{project}"))
        self.records = RecordStore(bucket, f"{staging}/records/{project}")
        self.channels = ChannelPointers(bucket, f"{staging}/records/{project}")

    def close(self) -> None:
        """Closes the local channel before the emulator stops, so gRPC logs no GOAWAY."""
        if self.endpoint is not None and "_channel" in self.__dict__:
            self._channel.close()

    @cached_property
    def _channel(self) -> Any:
        import grpc  # noqa: PLC0415

        return grpc.insecure_channel(self.endpoint)

    def _client(self, service: str, location: str, api: str = V1) -> Any:
        """`google.cloud.{api}.{service}ServiceClient` for one location (or the emulator)."""
        client_class = getattr(importlib.import_module(f"google.cloud.{api}"),
                               f"{service}ServiceClient")
        if self.endpoint is None:
            return client_class(
                client_options={"api_endpoint": f"{location}-aiplatform.googleapis.com"})
        transport_class = client_class.get_transport_class("grpc")
        return client_class(transport=transport_class(channel=self._channel))

    @cached_property
    def _adapters(self) -> dict[str, Adapter[Any]]:
        """Each kind's adapter by kind name, in registry order."""
        return {entry.kind.name: self._adapter(entry) for entry in ADAPTERS}

    def _adapter(self, entry: AdapterKind[Any]) -> Adapter[Any]:
        clients = {location: self._client(entry.service, location, entry.api)
                   for location in entry.kind.locations}
        return entry.make(self._context, clients)

    @cached_property
    def registry(self) -> Registry:
        return Registry(self._call,
                        {location: self._client("Model", location)
                         for location in MODEL_LOCATIONS},
                        {location: self._client("Endpoint", location)
                         for location in MODEL_LOCATIONS})

    @cached_property
    def predictions(self) -> Predictions:
        """Tuned models' endpoints, in every region a kind's runs register Models."""
        return Predictions(self._call, {location: self._client("Prediction", location)
                                        for location in MODEL_LOCATIONS})

    @cached_property
    def scorer(self) -> Scorer:
        return Scorer(self._call, {location: self._client("Evaluation", location)
                                   for location in MODEL_LOCATIONS})

    def evaluations(self) -> Evaluations:
        """Scores and channels alone (one list call), as `resolve` reads them."""
        return self.records.read()[1]

    def _owners(self, resource: str) -> list[Adapter[Any]]:
        """The adapters of a job resource name: by its collection (`.../COLLECTION/ID`), those
        whose kind tunes in its location (kinds sharing a collection need not share regions,
        and an adapter has clients for its kind's only)."""
        name = parse(resource)
        if name.collection not in _BY_COLLECTION:
            raise ValueError(f"not a tuning job resource: {resource!r}")
        owners = self._owners_in(name.collection, name.location)
        if not owners:
            raise ValueError(f"no kind of job tunes in {name.location}: {resource!r}")
        return owners

    def _owners_in(self, collection: str, location: str) -> list[Adapter[Any]]:
        """The adapters of the kinds of `collection` that tune in `location`."""
        return [self._adapters[kind.name] for kind in _BY_COLLECTION[collection]
                if location in kind.locations]

    def _list(self) -> list[ObservedJob]:
        """Every managed job: one list call per collection and location, whatever the
        kinds sharing it (the service lists every kind's jobs of a collection), each job
        then read by each of those kinds and given to the one it belongs to."""
        jobs: list[ObservedJob] = []
        for collection, kinds in _BY_COLLECTION.items():
            for location in dict.fromkeys(loc for kind in kinds for loc in kind.locations):
                owners = self._owners_in(collection, location)
                jobs += [kind_reading([owner.read(job) for owner in owners])
                         for job in owners[0].list(location)]
        return jobs

    def observe(self, wanted: Collection[Wanted] = ()) -> Observed:
        """Managed jobs (`_list`) and labelled Models (one list call a location), under the
        names and with the cancels the staging bucket records, with the scores and channels
        it holds (one list call); then, for the latest succeeded run of a `wanted` job whose
        Model carries no tuneops labels, that Model found through the run itself (a tuning
        pipeline may not copy its labels)."""
        records, evaluations = self.records.read()
        observed = relabel(Observed(jobs=tuple(self._list()),
                                    models=tuple(self.registry.labelled()),
                                    evaluations=evaluations), records)
        labelled = {(m.name, m.fingerprint) for m in observed.models}
        runs: dict[Wanted, ObservedJob] = {}
        for job in observed.jobs:
            key = (job.name, job.fingerprint)
            if job.state == JobState.SUCCEEDED and (
                    key not in runs or job.attempt > runs[key].attempt):
                runs[key] = job
        found = [self._model_of(runs[key]) for key in sorted(set(wanted) & runs.keys())
                 if key not in labelled]
        return Observed(jobs=observed.jobs, models=(
            *observed.models, *(model for model in found if model is not None)),
            evaluations=observed.evaluations)

    def _model_of(self, run: ObservedJob) -> ObservedModel | None:
        model = self.outputs(run.resource).model
        if model is None:
            return None
        return self.registry.get(model, name=run.name, fingerprint=run.fingerprint,
                                 attempt=run.attempt)

    def rename(self, resources: Collection[str], name: str) -> None:
        """Records that these runs now belong to `name` (their labels cannot change)."""
        for resource in resources:
            self.records.write(key_of(self.get(resource)), identity.NAME, name)

    def create(self, launch: Launch) -> Launched:
        adapter = self._adapters.get(launch.kind)
        if adapter is None:
            raise TypeError(f"no backend adapter for {launch!r}")
        return adapter.create(launch)

    def get(self, resource: str) -> ObservedJob:
        return kind_reading([adapter.get(resource) for adapter in self._owners(resource)])

    # Kinds sharing a collection share its API: any of their adapters reads or cancels it.
    def outputs(self, resource: str) -> RunOutputs:
        return self._owners(resource)[0].outputs(resource)

    def cancel(self, resource: str, *, reason: str = "") -> bool:
        """Cancels a run (False: it had already ended). With a `reason`, records first that
        tuneops cancelled it and why, so that its end is never taken for a failure."""
        if reason:
            self.records.write(key_of(self.get(resource)), identity.CANCELLED, reason)
        return self._owners(resource)[0].cancel(resource)
