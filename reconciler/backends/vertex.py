"""Vertex AI through the GAPIC clients of google-cloud-aiplatform (aiplatform_v1, or the
version a kind's adapter names).

The high-level SDK downloads templates and takes seconds to import; the GAPIC clients are
imported lazily, on first use, so `reconcile validate` never pays for them. The same code
talks to the embedded emulator over an insecure local channel. Each kind of job has its own
adapter; the Model Registry and Endpoints are shared by all kinds.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cache, cached_property, partial
from typing import Any

from reconciler.backends.adapter import V1, Adapter, AdapterKind, Context
from reconciler.backends.all_adapters import ADAPTERS
from reconciler.backends.calls import Caller, Launched
from reconciler.backends.channels import ChannelPointers
from reconciler.backends.evaluation import Scorer
from reconciler.backends.leases import Leases
from reconciler.backends.listing import each_location
from reconciler.backends.models import Registry
from reconciler.backends.pacing import Pacer
from reconciler.backends.prediction import Predictions
from reconciler.backends.probe import ListProbe, probe_list
from reconciler.backends.records import Bucket, RecordStore
from reconciler.core import identity
from reconciler.core.channels import Evaluations
from reconciler.core.fingerprint import fingerprint
from reconciler.core.identity import key_of, model_facts, relabel
from reconciler.core.observed import JobState, Observed, ObservedJob, ObservedModel, RunOutputs
from reconciler.core.resources import parse
from reconciler.core.runkey import ModelKey
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
                 staging: str, pacer: Pacer | None = None) -> None:
        self.project = project
        self.endpoint = endpoint
        self._call = Caller(project, pacer)
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
        """`google.cloud.{api}.{service}ServiceClient` for one location (or the emulator),
        imported from its own module (reconciler/apipackages.py)."""
        module = re.sub(r"(?<!^)(?=[A-Z])", "_", service).lower()
        client_class = getattr(importlib.import_module(
            f"google.cloud.{api}.services.{module}_service"), f"{service}ServiceClient")
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
        # Endpoints are only undeployed and deleted, which few commands do: their client is
        # made (and EndpointService imported) at a location's first such call.
        return Registry(self._call,
                        {location: self._client("Model", location)
                         for location in MODEL_LOCATIONS},
                        cache(partial(self._client, "Endpoint")), self.records)

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
        """Every managed job: one list call per collection and location, all at once,
        whatever the kinds sharing it (the service lists every kind's jobs of a collection),
        each job then read by each of those kinds and given to the one it belongs to."""
        return each_location([(collection, location) for collection, kinds in
                              _BY_COLLECTION.items() for location in
                              dict.fromkeys(loc for kind in kinds for loc in kind.locations)],
                             self._list_in)

    def _list_in(self, place: tuple[str, str]) -> list[ObservedJob]:
        collection, location = place
        owners = self._owners_in(collection, location)
        return [kind_reading([owner.read(job) for owner in owners])
                for job in owners[0].list(location)]

    def observe(self, wanted: Collection[Wanted] = ()) -> Observed:
        """Managed jobs (`_list`) and labelled Models (one list call a location), under the
        names and with the cancels the staging bucket records, with the scores and channels
        it holds (one list call), all listed at once; then the Models that carry no tuneops
        labels (the service may not copy them), found through their runs (_unlabelled)."""
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="tuneops-observe") as pool:
            read = pool.submit(self.records.read)
            models = pool.submit(self.registry.labelled)
            jobs = self._list()
            records, evaluations = read.result()
            labelled = models.result()
        observed = relabel(Observed(jobs=tuple(jobs), models=tuple(labelled),
                                    evaluations=evaluations), records)
        return replace(observed, models=(*observed.models, *(
            model_facts(model, records) for model in self._unlabelled(observed, wanted))))

    def _unlabelled(self, observed: Observed, wanted: Collection[Wanted]
                    ) -> list[ObservedModel]:
        """Models no label found, through their runs: the latest succeeded run of a `wanted`
        job (one Get for its outputs, when the list does not say them), and any run whose
        list result names a Model (a leftover of a cancelled run, an orphan's)."""
        known = {ModelKey.of(model.resource) for model in observed.models}
        latest: dict[Wanted, ObservedJob] = {}
        for job in observed.jobs:
            key = (job.name, job.fingerprint)
            if job.state == JobState.SUCCEEDED and (
                    key not in latest or job.attempt > latest[key].attempt):
                latest[key] = job
        labelled = {(m.name, m.fingerprint) for m in observed.models}
        runs = {latest[key].resource: latest[key] for key in sorted(set(wanted) & latest.keys())
                if key not in labelled}
        runs.update((job.resource, job) for job in observed.jobs
                    if job.outputs is not None and job.outputs.model and job.resource not in runs)
        found: list[ObservedModel] = []
        for run in runs.values():
            model = (run.outputs or self.outputs(run.resource)).model
            if model is None or ModelKey.of(model) in known:
                continue
            seen = self.registry.get(model, name=run.name, fingerprint=run.fingerprint,
                                     attempt=run.attempt)
            if seen is not None:
                known.add(ModelKey.of(model))
                found.append(seen)
        return found

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

    def probe_lists(self, location: str) -> list[ListProbe]:
        """How each kind of job's list, and the Model Registry's, treats tuneops' label
        filter in `location` (or the first location a kind tunes in): read-only."""
        probes = []
        for collection, kinds in _BY_COLLECTION.items():
            entry = next(e for e in ADAPTERS if e.kind is kinds[0])
            where = location if location in entry.kind.locations else entry.kind.locations[0]
            client = self._client(entry.service, where, entry.api)
            method = "list_" + re.sub(r"(?<!^)(?=[A-Z])", "_", collection).lower()
            probes.append(probe_list(self._call, f"{collection} in {where}",
                                     getattr(client, method), self._parent(where)))
        where = location if location in MODEL_LOCATIONS else MODEL_LOCATIONS[0]
        probes.append(probe_list(self._call, f"models in {where}",
                                 self._client("Model", where).list_models,
                                 self._parent(where)))
        return probes

    def _parent(self, location: str) -> str:
        return f"projects/{self.project}/locations/{location}"

    def cancel(self, resource: str, *, reason: str = "") -> bool:
        """Cancels a run (False: it had already ended). With a `reason`, records first that
        tuneops cancelled it and why, so that its end is never taken for a failure."""
        if reason:
            self.records.write(key_of(self.get(resource)), identity.CANCELLED, reason)
        return self._owners(resource)[0].cancel(resource)
