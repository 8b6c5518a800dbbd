"""A TuningJob create (Gemini's, and open models' by the same path) makes the calls exactly
once needs, and no more: counted by the emulator's call log and the storage emulator's."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from reconciler.connect import emulator_state_dir
from reconciler.core.quotas import RESOURCE_REQUESTS_PER_MINUTE, SUBMISSIONS_PER_MINUTE
from reconciler.emulator.gcs.store import GcsStore
from tests.conftest import GEMINI_CONFIG, OPEN_MODEL_CONFIG, Repo, example_repo

LEASES = "staging/leases/"
# The calls of one create, one after another, on a free lease:
# - write the launch lease, only if absent (Cloud Storage, ifGenerationMatch=0);
# - ListTuningJobs under the lease: a run some apply launched is adopted, not made again;
# - CreateTuningJob (its response is the job: no read after it);
# - write the job into the lease, for racing applies to adopt;
# - ListTuningJobs for an older twin, cancelling ours if there is one.
CREATE_CALLS = {"lease writes": 2, "lease reads": 0, "ListTuningJobs": 2,
                "CreateTuningJob": 1}


def _create_calls(repo: Repo) -> dict[str, int]:
    """The calls apply made beyond those of a plan (which observes the same), for its one
    create."""
    gcs = GcsStore(emulator_state_dir(repo.root) / "storage")
    assert repo.run("plan").code == 0  # the emulator and the bucket exist
    repo.emulator.reset_calls()
    assert repo.run("plan").code == 0
    planned = repo.emulator.calls()
    repo.emulator.reset_calls()
    gcs.reset_requests()
    result = repo.run("apply", "--auto-approve")
    assert result.code == 0, result.err
    applied = repo.emulator.calls()
    vertex = {method: count - planned.get(method, 0) for method, count in applied.items()}
    requests = gcs.requests()
    return {"lease writes": sum(LEASES in written for _, _, written in requests),
            "lease reads": sum(method == "GET" and quote(LEASES, safe="") in path
                               for method, path, _ in requests),
            **{method: count for method, count in vertex.items() if count}}


@pytest.mark.parametrize("config", [GEMINI_CONFIG, OPEN_MODEL_CONFIG])
def test_a_tuning_job_create_makes_only_the_calls_exactly_once_needs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str) -> None:
    assert _create_calls(example_repo(tmp_path, capsys, (config,))) == CREATE_CALLS


def test_a_minute_of_paced_creates_stays_within_the_resource_quota() -> None:
    """At the submission quota, a create's other Vertex AI calls stay under the CRUD quota
    (the lease is Cloud Storage's)."""
    others = CREATE_CALLS["ListTuningJobs"]
    assert SUBMISSIONS_PER_MINUTE * others <= RESOURCE_REQUESTS_PER_MINUTE
