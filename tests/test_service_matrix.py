"""The guarantees, under every behaviour Vertex AI leaves open.

Each SETTING is the emulator set to behave one way where the documentation is silent (or
slow where it takes time), alone or in the combinations that make sense together; under
each, three tests drive the real CLI and GAPIC clients through the scenarios that carry the
guarantees:

- launches: racing applies whose create replies are all lost make exactly one job per run,
  which is `running`, then `noop`; a foreign job in the project is never touched;
- changes: a re-tune cancels the superseded run; a Model edited outside git is restored;
  apply converges; prune converges (nothing of tuneops' is left to cost money, a second prune
  does nothing); the foreign job and its Model are never touched;
- evaluation: a run is evaluated and promoted, a worse one held, a revert goes back at no
  cost, and prune keeps the channel's Model and endpoint while plans settle; the foreign job
  is never touched.

The emulator's clock is driven, never waited for, except where a setting makes lists lag
behind creates (LAG seconds) or operations take time.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud.aiplatform_v1 import GenAiTuningServiceClient
from google.cloud.aiplatform_v1.services.gen_ai_tuning_service.transports import (
    GenAiTuningServiceGrpcTransport,
)
from google.cloud.aiplatform_v1.types import JobState

from reconciler.apply.execute import Outcome, apply
from reconciler.commands.plan import make_plan
from reconciler.connect import connect
from reconciler.edges.storage import Storage
from reconciler.emulator import EmulatorStore, start_emulator
from reconciler.emulator.models import Endpoints, Models
from reconciler.emulator.tuning_jobs import TuningJobs
from reconciler.load.config import load_config
from reconciler.load.desired import build_desired
from tests.conftest import EXAMPLES, GEMINI_CONFIG, Repo
from tests.test_cli_apply import plan_json
from tests.test_cli_evaluation import EVAL, EVALUATION, SOUP, TRAINING, soup

# Seconds a lagging list hides a new resource: long enough that the product must wait.
LAG = 1.5
JOB_SECONDS = 3600.0
DONE = 2 * JOB_SECONDS
SECOND = "configs/second.yaml"
FOREIGN_DATASET = "gs://tuneops-local/other-team/train.jsonl"
FOREIGN_LABELS = {"team": "other"}


@dataclass(frozen=True)
class Setting:
    """The emulator's switches (quirks), faults and quota for one run of the scenarios."""

    quirks: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, float] = field(default_factory=dict)
    # Whether the project's concurrent tuning jobs are limited: each test then sets a
    # limit one short of what it launches, so a create meets the quota.
    quota: bool = False


HOSTILE = {"list_filter": "ignored", "list_lag_seconds": LAG, "model_labels": False,
           "update_model_labels": False, "delete_tuned_model": False,
           "cancel_outcome": "succeeded", "cancelled_runs_leave_model": True}
SETTINGS = {
    "documented": Setting(),
    "filter-ignored": Setting({"list_filter": "ignored"}),
    "filter-rejected": Setting({"list_filter": "rejected"}),
    "lists-lag": Setting({"list_lag_seconds": LAG}),
    "no-model-labels": Setting({"model_labels": False}),
    "model-labels-refused": Setting({"update_model_labels": False}),
    "no-model-labels-and-refused": Setting({"model_labels": False,
                                            "update_model_labels": False}),
    "delete-refused": Setting({"delete_tuned_model": False}),
    "cancel-completes": Setting({"cancel_outcome": "succeeded"}),
    "cancel-fails": Setting({"cancel_outcome": "failed"}),
    "cancelled-runs-leave-models": Setting({"cancelled_runs_leave_model": True}),
    "quota-refuses": Setting(quota=True),
    "quota-refuses-with-details": Setting({"quota_error": "details"}, quota=True),
    "quota-queues": Setting({"quota_mode": "queue"}, quota=True),
    "slow-operations": Setting(faults={"operation_seconds": 0.05}),
    "rouge-as-recall": Setting({"rouge_recall": True}),
    "everything-undocumented-against-us": Setting(HOSTILE),
    "filter-rejected-lagging-queueing": Setting({"list_filter": "rejected",
                                                 "list_lag_seconds": LAG,
                                                 "quota_mode": "queue"}, quota=True),
}


@dataclass
class World:
    repo: Repo
    store: EmulatorStore
    foreign: str
    setting: Setting

    def limit(self, ours: int) -> None:
        """With a quota, room for the foreign job and `ours` of tuneops' runs."""
        if self.setting.quota:
            self.store.set_quota({"global": {"tuning-job": 1 + ours}})


def foreign_job(project: str) -> str:
    """Another team's tuning job in the project, launched by hand (no tuneops label)."""
    storage = Storage.connect(project, os.environ["TUNEOPS_STORAGE_ENDPOINT"])
    example = Path(__file__).resolve().parent.parent / "datasets/bigquery-gemini.jsonl"
    bucket, _, name = FOREIGN_DATASET.removeprefix("gs://").partition("/")
    storage.ensure_bucket(f"gs://{bucket}")
    storage.client.bucket(bucket).blob(name).upload_from_filename(str(example))
    with grpc.insecure_channel(os.environ["TUNEOPS_API_ENDPOINT"]) as channel:
        client = GenAiTuningServiceClient(
            transport=GenAiTuningServiceGrpcTransport(channel=channel))
        return str(client.create_tuning_job(
            parent=f"projects/{project}/locations/us-central1",
            tuning_job={"base_model": "gemini-2.5-flash", "labels": FOREIGN_LABELS,
                        "supervised_tuning_spec": {"training_dataset_uri": FOREIGN_DATASET,
                                                   "hyper_parameters": {"epoch_count": 2}}},
        ).name)


@pytest.fixture(params=list(SETTINGS), ids=list(SETTINGS))
def world(request: pytest.FixtureRequest, gemini: Repo, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Two Gemini jobs in two regions, a foreign job, and the emulator set as the
    parameter says."""
    setting = SETTINGS[request.param]
    gemini.write(SECOND, "kind: tuning-job\nname: second\nbase_model: gemini-2.5-flash\n"
                 "training_dataset_uri: datasets/bigquery-gemini.jsonl\nepoch_count: 2\n"
                 "tuning_location: europe-west4\n")
    gemini.commit("two jobs")
    # A settle longer than any lag, a lease wait longer than any settle.
    monkeypatch.setenv("TUNEOPS_LIST_SETTLE_SECONDS", str(4 * LAG))
    with start_emulator(tmp_path / "vertex", job_seconds=JOB_SECONDS) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        Storage.connect("tuneops-local", emulator.storage_endpoint).ensure_bucket(
            "gs://tuneops-local/staging")
        foreign = foreign_job("tuneops-local")
        store = emulator.store
        store.set_quirks(**setting.quirks)
        store.set_faults(**setting.faults)
        yield World(gemini, store, foreign, setting)


def _race(repo: Repo, applies: int = 2) -> list[Outcome]:
    """Applies planning and launching at the same time, each with its own lease holder."""
    config = load_config(repo.root)

    def one() -> tuple[Outcome, ...]:
        with connect(config.target, repo.root) as connection:
            desired = build_desired(config, connection.storage)
            planned = make_plan(desired, connection, root=repo.root, retry_failed=False)
            return apply(planned, connection.backend, connection.storage, repo.root)

    with ThreadPoolExecutor(max_workers=applies) as pool:
        return [outcome for found in pool.map(lambda _: one(), range(applies))
                for outcome in found]


def _runs(world: World) -> Counter[tuple[str, str, str]]:
    return Counter((job.labels["tuneops-name"], job.labels["tuneops-fingerprint"],
                    job.labels["tuneops-attempt"]) for job in TuningJobs(world.store).all()
                   if job.labels.get("managed-by") == "tuneops")


def _exactly_once(world: World) -> None:
    runs = _runs(world)
    assert all(count == 1 for count in runs.values()), runs


def _settled(actions: dict[str, dict[str, Any]], *, pruned: bool) -> bool:
    if pruned:
        # Nothing left to remove: an orphan that keeps a channel's Model is only reported.
        return all(a["action"] == "orphan" and not a["jobs"] and not a["models"]
                   for a in actions.values())
    # A held run changes nothing: the channel stays where it is.
    return all(a["action"] in ("noop", "hold") and not a.get("cancel") and not a.get("twins")
               for a in actions.values())


def _converge(world: World, *args: str) -> dict[str, dict[str, Any]]:
    """Applies, then lets the jobs run their course, until the plan asks for nothing."""
    seen = []
    for _ in range(5):
        result = world.repo.run("apply", *args)
        assert "unexpected error" not in result.err, result.err
        seen.append(result.out)
        world.store.advance_clock(DONE)
        actions = plan_json(world.repo)
        if _settled(actions, pruned="--prune" in args):
            return actions
    raise AssertionError(f"no convergence: {actions}\n" + "\n".join(seen))


def _untouched(world: World) -> None:
    """The foreign job was never cancelled, and its Model (if it has one) is still there."""
    job = next(j for j in TuningJobs(world.store).all() if j.name == world.foreign)
    assert job.state not in (JobState.JOB_STATE_CANCELLING, JobState.JOB_STATE_CANCELLED)
    if job.state == JobState.JOB_STATE_SUCCEEDED:
        model = job.tuned_model.model.partition("@")[0]
        assert model in {m.name for m in Models(world.store).all()}


def test_launches(world: World) -> None:
    world.limit(1)  # of the two jobs, one waits for quota
    world.store.set_faults(**world.setting.faults, drop_create_response_rate=1.0)
    outcomes = _race(world.repo)
    assert all(o.result in ("launched", "adopted", "queued") for o in outcomes), outcomes
    world.store.set_faults(**world.setting.faults)
    _exactly_once(world)
    assert {a["action"] for a in plan_json(world.repo).values()} <= {"running", "queued",
                                                                      "create"}
    _untouched(world)
    settled = _converge(world)
    assert set(settled) == {"bigquery-gemini", "second"}
    _exactly_once(world)
    assert sorted(name for name, _, _ in _runs(world)) == ["bigquery-gemini", "second"]
    _untouched(world)


def _our_endpoints(world: World) -> set[str]:
    """Every endpoint a run of tuneops' named (its tuned model's, each checkpoint's)."""
    return {endpoint for job in TuningJobs(world.store).all()
            if job.labels.get("managed-by") == "tuneops"
            for endpoint in (job.tuned_model.endpoint,
                             *(c.endpoint for c in job.tuned_model.checkpoints)) if endpoint}


def _listed(repo: Repo, name: str) -> dict[str, Any]:
    """The plan of `name` once its run shows in lists (a list may lag behind a create)."""
    deadline = time.monotonic() + 10 * LAG
    while True:
        planned = plan_json(repo)[name]
        if planned["action"] != "create" or time.monotonic() > deadline:
            return planned
        time.sleep(LAG / 4)  # real time is what a lagging list waits for


def test_changes_and_prune(world: World) -> None:
    world.limit(2)  # the re-tune waits while the superseded run is cancelled
    repo = world.repo
    assert repo.run("apply").code == 0
    # Re-tune while the first run still runs: the superseded run is cancelled.
    repo.edit(GEMINI_CONFIG, "epoch_count: 3", "epoch_count: 4")
    planned = _listed(repo, "bigquery-gemini")
    assert planned["action"] in ("retune", "queued")
    assert len(planned["cancel"]) == 1
    repo.run("apply")
    superseded = planned["cancel"][0]
    state = next(j.state for j in TuningJobs(world.store).all() if j.name == superseded)
    assert state == JobState.JOB_STATE_CANCELLING
    _converge(world)
    _exactly_once(world)
    # Drift: the Model edited in the console is brought back to git.
    model = plan_json(repo)["bigquery-gemini"]["model"]
    Models(world.store).edit_outside(model, display_name="edited in the console")
    assert plan_json(repo)["bigquery-gemini"]["action"] in ("drift", "update")
    _converge(world)
    assert next(m for m in Models(world.store).all() if m.name == model).display_name == (
        "bigquery-gemini")
    # Prune: every config gone, nothing of tuneops' is left to cost money.
    for config in (GEMINI_CONFIG, SECOND):
        (repo.root / config).unlink()
    _converge(world, "--prune", "--allow-empty")
    assert not _our_endpoints(world) & {e.name for e in Endpoints(world.store).all()}
    left = [m.name for m in Models(world.store).all()
            if m.labels.get("team") != "other" and m.name not in _foreign_models(world)]
    retired = set(_plan(repo)["retired"])
    assert set(left) <= retired
    assert bool(retired) == (world.store.quirks().delete_tuned_model is False)
    again = repo.run("apply", "--prune", "--allow-empty")
    assert again.code == 0, again.out
    assert "No changes. Nothing launched." in again.out
    _untouched(world)


def _foreign_models(world: World) -> set[str]:
    job = next(j for j in TuningJobs(world.store).all() if j.name == world.foreign)
    return {job.tuned_model.model.partition("@")[0]} if job.tuned_model.model else set()


def _plan(repo: Repo) -> dict[str, Any]:
    result = repo.run("plan", "--output", "json")
    assert result.code == 0, result.err
    plan: dict[str, Any] = json.loads(result.out)
    return plan


def _resolved(repo: Repo) -> dict[str, Any]:
    result = repo.run("resolve", "bigquery-gemini", "--output", "json")
    assert result.code == 0, (result.out, result.err)
    found: dict[str, Any] = json.loads(result.out)
    return found


def _asked(world: World) -> int:
    return world.store.calls().get("GenerateContent", 0)


def test_evaluation(world: World) -> None:
    world.limit(2)
    repo = world.repo
    converted = repo.run("convert-dataset", str(EXAMPLES / "datasets/bigquery-eval.jsonl"),
                         str(repo.root / EVAL))
    assert converted.code == 0, converted.err
    repo.write(SOUP, "\n".join(soup(20)) + "\n")
    with (repo.root / GEMINI_CONFIG).open("a") as config:
        config.write(EVALUATION)
    _converge(world)
    promoted = _resolved(repo)
    ours = {endpoint for job in TuningJobs(world.store).all()
            if job.labels.get("managed-by") == "tuneops" for endpoint in (
                job.tuned_model.endpoint, *(c.endpoint for c in job.tuned_model.checkpoints))}
    assert promoted["endpoint"] in ours  # the run's own endpoint, never another
    assert _asked(world) > 0
    # A run tuned on unrelated data scores lower: held, the channel stays.
    repo.edit(GEMINI_CONFIG, TRAINING, f"training_dataset_uri: {SOUP}")
    _converge(world)
    assert _resolved(repo) == promoted
    asked = _asked(world)
    # `git revert`: back to the promoted run, nothing tuned and nothing evaluated again.
    repo.edit(GEMINI_CONFIG, f"training_dataset_uri: {SOUP}", TRAINING)
    _converge(world)
    assert (_asked(world), _resolved(repo)) == (asked, promoted)
    _exactly_once(world)
    # Every config gone: the channel's Model and endpoint stay, and a prune converges.
    for config in (GEMINI_CONFIG, SECOND):
        (repo.root / config).unlink()
    _converge(world, "--prune", "--allow-empty")
    assert promoted["model"] in {m.name for m in Models(world.store).all()}
    assert promoted["endpoint"] in {e.name for e in Endpoints(world.store).all()}
    assert _resolved(repo) == promoted
    again = repo.run("apply", "--prune", "--allow-empty")
    assert again.code == 0, again.out
    assert "No changes. Nothing launched." in again.out
    _untouched(world)
