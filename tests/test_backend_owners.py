"""Which adapter owns a job: by its collection, and where kinds share one (two kinds of
TuningJob), by the kind whose reading of the job gives back its fingerprint."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.backends.vertex import VertexBackend, kind_reading
from reconciler.connect import emulator_state_dir
from reconciler.core.fingerprint import fingerprint
from reconciler.core.observed import JobState, ObservedJob
from reconciler.edges.storage import Storage
from reconciler.emulator import start_emulator
from reconciler.kinds import KINDS
from tests.conftest import Repo


def _job(kind: str, inputs: dict[str, object], label: str) -> ObservedJob:
    return ObservedJob(kind=kind, job_id="1", resource="projects/p/locations/l/tuningJobs/1",
                       name="n", fingerprint=label, state=JobState.RUNNING, create_time="",
                       inputs=inputs, metadata={})


def test_a_shared_job_is_the_kind_whose_reading_gives_back_its_fingerprint() -> None:
    own = {"kind": "second", "base_model": "m"}
    first = _job("first", {"kind": "first", "base_model": "m"}, fingerprint(own))
    second = replace(first, kind="second", inputs=own)
    assert kind_reading([first, second]) is second
    assert kind_reading([second, first]) is second
    # No reading gives it back (a label edited by hand): the kind registered first.
    assert kind_reading([first, replace(second, inputs={})]) is first


@contextmanager
def _applied(repo: Repo) -> Iterator[VertexBackend]:
    """The repository's jobs applied and finished, and a backend on its emulator."""
    assert repo.cli().code == 0
    repo.advance()
    with start_emulator(emulator_state_dir(repo.root)) as emulator:
        storage = Storage.connect("tuneops-local", emulator.storage_endpoint)
        backend = VertexBackend("tuneops-local", emulator.api_endpoint, bucket=storage,
                                staging="gs://tuneops-local/staging")
        try:
            yield backend
        finally:
            backend.close()


def test_every_kind_reads_back_the_fingerprint_of_the_jobs_it_launched(
        mixed_repo: Repo, tmp_path: Path) -> None:
    """The ownership rule holds for the kinds there are: each adapter's reading of a job it
    launched hashes to the job's fingerprint label."""
    with _applied(mixed_repo) as backend:
        jobs = backend.observe().jobs
        # The examples hold a job of each kind.
        assert {job.kind for job in jobs} == set(KINDS)
        assert all(fingerprint(job.inputs) == job.fingerprint for job in jobs)
        assert all(backend.get(job.resource) == job for job in jobs)


def test_an_adapter_may_take_another_api_versions_client() -> None:
    """A kind whose service is in aiplatform_v1beta1 (open models) names that package."""
    from google.cloud import aiplatform_v1beta1  # noqa: PLC0415

    backend = VertexBackend("p", "127.0.0.1:1", bucket=None,  # type: ignore[arg-type]
                            staging="")
    try:
        client = backend._client("GenAiTuning", "us-central1", "aiplatform_v1beta1")
        assert isinstance(client, aiplatform_v1beta1.GenAiTuningServiceClient)
    finally:
        backend.close()


def test_a_job_in_a_region_one_sharing_kind_lacks_is_read_by_the_others(
        mixed_repo: Repo) -> None:
    """Gemini tunes in us-east4, open models do not: the open-model adapter has no client
    there and is not asked about the Gemini job (it used to fail on the missing client)."""
    mixed_repo.edit("configs/bigquery-gemini.yaml", "adapter_size: 4",
                    "adapter_size: 4\ntuning_location: us-east4")
    with _applied(mixed_repo) as backend:
        (job,) = [j for j in backend.observe().jobs if j.kind == "tuning-job"]
        assert "/locations/us-east4/" in job.resource
        assert backend.get(job.resource) == job
        assert backend.outputs(job.resource).model
        with pytest.raises(ValueError, match="no kind of job tunes in asia-southeast2"):
            backend.get("projects/p/locations/asia-southeast2/tuningJobs/1")
