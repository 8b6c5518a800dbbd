"""The acceptance run: the smallest real scenario, recording what the service did on each
point its documentation leaves open.

One tuning job of the cheapest tunable model (gemini-2.5-flash-lite), 1 epoch, on 100 short
examples: create, noop, a label update, prune; and along the way, what happened on each open
point (does a list honour its filter, show a new job at once, do labels reach the Model and
its endpoints, may UpdateModel change them, does DeleteModel delete a tuned Model, how many
checkpoint endpoints a run makes, do names carry the project number). The findings are
written as JSON (TUNEOPS_LIVE_REPORT, default a file under the test's temporary directory).

The target is a switch: `emulator` always runs (CI runs it, under the documented behaviour
and under every undocumented one set against tuneops, and checks that the report records
each); `live` runs only with TUNEOPS_LIVE_PROJECT and TUNEOPS_LIVE_BUCKET set (see README,
"The live acceptance suite", for its cost and how to run it).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud.aiplatform_v1 import EndpointServiceClient, ModelServiceClient
from google.cloud.aiplatform_v1.services.endpoint_service.transports import (
    EndpointServiceGrpcTransport,
)
from google.cloud.aiplatform_v1.services.model_service.transports import (
    ModelServiceGrpcTransport,
)

from reconciler.cli import main
from reconciler.emulator import EmulatorStore, start_emulator
from tests.conftest import git

PROJECT_ENV = "TUNEOPS_LIVE_PROJECT"
BUCKET_ENV = "TUNEOPS_LIVE_BUCKET"
REPORT_ENV = "TUNEOPS_LIVE_REPORT"
TIMEOUT_ENV = "TUNEOPS_LIVE_TIMEOUT"
NAME = "acceptance"
LOCATION = "us-central1"
EXAMPLES = 100
MODEL = "gemini-2.5-flash-lite"
# A lagging list on the emulator hides a new job this long.
LAG = 1.0
EVERYTHING_UNDOCUMENTED = {"list_filter": "ignored", "list_lag_seconds": LAG,
                           "model_labels": False, "update_model_labels": False,
                           "delete_tuned_model": False}


def dataset() -> str:
    """100 short, distinct examples: the least a run needs to be a run."""
    lines = []
    for n in range(EXAMPLES):
        lines.append(json.dumps({"contents": [
            {"role": "user", "parts": [{"text": f"What is {n} plus {n}?"}]},
            {"role": "model", "parts": [{"text": f"{n} plus {n} is {2 * n}."}]}]}))
    return "\n".join(lines) + "\n"


@dataclass
class Target:
    """Where the scenario runs: the emulator (its clock driven) or a real project."""

    name: str
    project: str
    bucket: str
    # Lets the job run to its end (advance the clock, or poll the service).
    finish: Callable[[Callable[[], bool]], None]
    # GAPIC clients of the target for one location.
    client: Callable[[type, str], Any]
    store: EmulatorStore | None = None


def _emulator_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     quirks: dict[str, Any]) -> Iterator[Target]:
    with start_emulator(tmp_path / "vertex", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        emulator.store.set_quirks(**quirks)
        channel = grpc.insecure_channel(emulator.api_endpoint)
        transports = {ModelServiceClient: ModelServiceGrpcTransport,
                      EndpointServiceClient: EndpointServiceGrpcTransport}

        def finish(done: Callable[[], bool]) -> None:
            emulator.store.advance_clock(7200)
            assert done()

        def client(kind: type, _: str) -> Any:
            return kind(transport=transports[kind](channel=channel))

        try:
            yield Target("emulator", "tuneops-acceptance", "gs://tuneops-local/acceptance",
                         finish, client, emulator.store)
        finally:
            channel.close()


def _live_target() -> Iterator[Target]:
    deadline = float(os.environ.get(TIMEOUT_ENV) or 4 * 3600)

    def finish(done: Callable[[], bool]) -> None:
        ends = time.monotonic() + deadline
        while not done():
            assert time.monotonic() < ends, f"the job did not end within {deadline:g} s"
            time.sleep(60)  # Google's samples poll a tuning job every 60 s

    def client(kind: type, location: str) -> Any:
        return kind(client_options={"api_endpoint": f"{location}-aiplatform.googleapis.com"})

    yield Target("live", os.environ[PROJECT_ENV], os.environ[BUCKET_ENV].rstrip("/"),
                 finish, client)


TARGETS = {
    "emulator-documented": {},
    "emulator-undocumented": EVERYTHING_UNDOCUMENTED,
    "live": None,
}


@pytest.fixture(params=list(TARGETS), ids=list(TARGETS))
def target(request: pytest.FixtureRequest, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Target]:
    quirks = TARGETS[request.param]
    if quirks is None:
        if not (os.environ.get(PROJECT_ENV) and os.environ.get(BUCKET_ENV)):
            pytest.skip(f"set {PROJECT_ENV} and {BUCKET_ENV} to run against a real project")
        yield from _live_target()
        return
    yield from _emulator_target(tmp_path, monkeypatch, quirks)


@dataclass
class Scenario:
    root: Path
    capsys: pytest.CaptureFixture[str]

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([*args, "--root", str(self.root)])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def json(self, *args: str) -> Any:
        code, out, err = self.run(*args, "--output", "json")
        assert code == 0, err
        return json.loads(out)

    def apply(self, *args: str) -> str:
        code, out, err = self.run("apply", "--auto-approve", *args)
        assert code == 0, (out, err)
        return out


def _scenario(root: Path, target: Target, capsys: pytest.CaptureFixture[str]) -> Scenario:
    (root / "configs").mkdir(parents=True)
    (root / "datasets").mkdir()
    (root / "configs/reconciler.yaml").write_text(
        f"project: {target.project}\nstaging_bucket: {target.bucket}\n")
    (root / f"configs/{NAME}.yaml").write_text(
        f"kind: tuning-job\nname: {NAME}\nbase_model: {MODEL}\n"
        f"training_dataset_uri: datasets/{NAME}.jsonl\nepoch_count: 1\n"
        f"tuning_location: {LOCATION}\nlabels: {{suite: acceptance}}\n")
    (root / f"datasets/{NAME}.jsonl").write_text(dataset())
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the acceptance job")
    return Scenario(root, capsys)


def _job(scenario: Scenario) -> dict[str, Any] | None:
    jobs = [j for j in scenario.json("status")["jobs"] if j["name"] == NAME]
    return max(jobs, key=lambda j: j["create_time"]) if jobs else None


def _seconds_until_listed(scenario: Scenario, limit: float) -> float | None:
    """How long after the create the job shows in a list (None: not within `limit`)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if _job(scenario) is not None:
            return round(time.monotonic() - start, 1)
        time.sleep(0.2)
    return None


def _reached(sent: dict[str, str], found: dict[str, str]) -> str:
    """Whether every label sent arrived: all, some or none."""
    arrived = [key for key, value in sent.items() if found.get(key) == value]
    return "all" if len(arrived) == len(sent) else "some" if arrived else "none"


def record(scenario: Scenario, target: Target) -> dict[str, Any]:
    """Runs create, noop, a label update and prune, and says what the service did."""
    report: dict[str, Any] = {"target": target.name, "project": target.project}
    doctor = scenario.json("doctor", "--location", LOCATION)
    report["libraries"] = doctor["libraries"]
    report["list_filter"] = {p["what"]: p["filter"] for p in doctor["lists"]}
    report["preconditions_enforced"] = doctor["preconditions"]
    planned = scenario.json("plan")["actions"][0]
    report["estimate"] = planned["estimate"]
    scenario.apply()
    report["list_shows_a_new_job_after_seconds"] = _seconds_until_listed(
        scenario, 120 if target.name == "live" else 10 * LAG)
    target.finish(lambda: (_job(scenario) or {}).get("state") in (
        "succeeded", "failed", "cancelled"))
    job = _job(scenario)
    assert job is not None
    report["job"] = {"state": job["state"], "notes": job["notes"]}
    report["names_carry_the_project_number"] = job["resource"].split("/")[1].isdigit()
    outputs = job["outputs"] or {}
    report["checkpoint_endpoints"] = len(outputs.get("checkpoint_endpoints", ()))
    models = target.client(ModelServiceClient, LOCATION)
    endpoints = target.client(EndpointServiceClient, LOCATION)
    model = models.get_model(name=outputs["model"])
    sent = {"suite": "acceptance", "managed-by": "tuneops", "tuneops-name": NAME}
    report["labels_reach_the_model"] = _reached(sent, dict(model.labels))
    endpoint = endpoints.get_endpoint(name=outputs["endpoint"])
    report["labels_reach_the_endpoint"] = _reached(sent, dict(endpoint.labels))
    report["noop_after_success"] = {a["name"]: a["action"] for a in scenario.json(
        "plan")["actions"]}.get(NAME)
    # Labels that did not arrive tuneops adds (UpdateModel may refuse them).
    updated = scenario.apply() if report["noop_after_success"] == "update" else ""
    (scenario.root / f"configs/{NAME}.yaml").write_text(
        (scenario.root / f"configs/{NAME}.yaml").read_text().replace(
            "suite: acceptance", "suite: accepted"))
    updated += scenario.apply("--allow-dirty")
    report["update_model_labels"] = ("refused" if "refuses this Model's labels" in updated
                                     else "accepted")
    report["noop_after_update"] = {a["name"]: a["action"] for a in scenario.json(
        "plan")["actions"]}.get(NAME)
    (scenario.root / f"configs/{NAME}.yaml").unlink()
    pruned = scenario.apply("--allow-dirty", "--prune", "--allow-empty")
    report["delete_tuned_model"] = "refused (retired)" if "retired" in pruned else "deleted"
    after = scenario.json("plan")
    report["clean_after_prune"] = not after["actions"]
    return report


def test_the_smallest_real_scenario(target: Target, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    scenario = _scenario(tmp_path / "repo", target, capsys)
    report = record(scenario, target)
    path = Path(os.environ.get(REPORT_ENV) or tmp_path / f"{target.name}-report.json")
    path.write_text(json.dumps(report, indent=2) + "\n")
    # Whatever the service did, tuneops' guarantees held.
    assert report["job"]["state"] == "succeeded"
    assert report["noop_after_update"] == "noop"
    assert report["clean_after_prune"] is True
    assert report["preconditions_enforced"] is True
    assert report["names_carry_the_project_number"] is True
    if target.store is not None:
        _matches_the_emulator(report, target.store)


def _matches_the_emulator(report: dict[str, Any], store: EmulatorStore) -> None:
    """On the emulator, the report says what it was set to do."""
    quirks = store.quirks()
    assert report["checkpoint_endpoints"] == 1  # one epoch, one checkpoint
    assert report["labels_reach_the_model"] == ("all" if quirks.model_labels else "none")
    assert report["labels_reach_the_endpoint"] == report["labels_reach_the_model"]
    assert report["update_model_labels"] == ("accepted" if quirks.update_model_labels
                                             else "refused")
    assert report["delete_tuned_model"] == ("deleted" if quirks.delete_tuned_model
                                            else "refused (retired)")
    filters = set(report["list_filter"].values())
    assert filters <= ({"honoured", "unknown"} if quirks.list_filter == "honoured"
                       else {quirks.list_filter, "unknown"})
    listed = report["list_shows_a_new_job_after_seconds"]
    assert listed is not None
    assert (listed >= quirks.list_lag_seconds * 0.8) if quirks.list_lag_seconds else listed < 5
