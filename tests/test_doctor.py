"""`reconcile doctor` on the emulator: its findings match each switch's setting, and it
launches nothing."""

from __future__ import annotations

import json
import os

import pytest

from reconciler.edges.storage import Storage
from reconciler.emulator.tuning_jobs import TuningJobs
from tests.conftest import Repo
from tests.test_service_matrix import foreign_job


def _doctor(repo: Repo) -> dict[str, object]:
    result = repo.run("doctor", "--output", "json")
    assert result.code == 0, result.err
    report: dict[str, object] = json.loads(result.out)
    return report


@pytest.mark.parametrize("setting", ["honoured", "ignored", "rejected"])
def test_doctor_tells_how_lists_treat_a_filter(project_repo: Repo, setting: str) -> None:
    assert project_repo.service is not None
    foreign = foreign_job("my-gcp-project")
    project_repo.service.set_quirks(list_filter=setting)
    report = _doctor(project_repo)
    lists = {probe["what"].split()[0]: probe for probe in report["lists"]}  # type: ignore[attr-defined]
    assert lists["tuningJobs"]["filter"] == setting
    assert lists["tuningJobs"]["numbered"] is True
    # Where nothing without tuneops' label exists, an honoured or ignored filter looks alike.
    for what in ("pipelineJobs", "models"):
        assert lists[what]["filter"] in (setting, "unknown")
    assert report["preconditions"] is True
    assert set(report["libraries"]) >= {"google-cloud-aiplatform", "google-cloud-storage"}  # type: ignore[arg-type]
    # Read-only: nothing launched, and its one scratch object is gone.
    assert [job.name for job in TuningJobs(project_repo.service).all()] == [foreign]
    storage = Storage.connect("my-gcp-project", os.environ["TUNEOPS_STORAGE_ENDPOINT"])
    assert storage.listing("gs://tuneops-local/staging/doctor/") == []


def test_doctor_says_what_it_wrote_and_that_it_launched_nothing(project_repo: Repo) -> None:
    result = project_repo.run("doctor")
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    assert "nothing was launched" in first
    assert "The only write: a scratch object gs://tuneops-local/staging/doctor/" in first
    assert "created and deleted" in first
    assert "staging bucket preconditions: enforced" in result.out
    assert "google-cloud-aiplatform" in result.out
