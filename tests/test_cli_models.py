"""What tuning runs leave in the Model Registry, as the real service leaves it: Models found
through their runs when labels are missing, labels nobody in git wrote, deployed Models."""

from __future__ import annotations

from reconciler.emulator.models import Endpoints, Models
from tests.conftest import Repo
from tests.test_cli_apply import BIGQUERY, VISION, actions, plan_json

SYSTEM_LABELS = ("vertex-ai-pipelines-run-billing-id", "google-vertex-llm-tuning-base-model-id",
                 "tune-type")


def test_a_model_without_labels_is_found_through_its_run_and_then_labelled(
        repo: Repo) -> None:
    assert repo.run("emulator", "quirks", "--no-model-labels", "--root",
                    str(repo.root)).code == 0
    repo.cli()
    repo.advance()
    assert all("tuneops-name" not in m.labels for m in Models(repo.emulator).all())
    repo.emulator.reset_calls()
    planned = plan_json(repo)
    # Never a re-tune: each Model is found through its run's task outputs and labelled.
    assert {a["action"] for a in planned.values()} == {"update"}
    assert all("lacks tuneops' labels" in a["reason"] for a in planned.values())
    assert repo.emulator.calls()["GetPipelineJob"] == 2
    assert repo.run("apply").code == 0
    repo.emulator.reset_calls()
    assert set(actions(repo).values()) == {"noop"}
    # Labelled now: the list call alone finds them.
    assert "GetPipelineJob" not in repo.emulator.calls()
    labelled = {m.labels["tuneops-name"]: dict(m.labels) for m in Models(repo.emulator).all()}
    assert set(labelled) == {"bigquery-snippets", "cloud-vision-chat"}
    assert labelled["bigquery-snippets"]["team"] == "data"
    for labels in labelled.values():
        assert set(SYSTEM_LABELS) <= set(labels)


def test_labels_the_service_added_survive_an_update(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    assert set(actions(repo).values()) == {"noop"}
    repo.edit(BIGQUERY, "labels: {team: data}", "labels: {team: ml}")
    planned = plan_json(repo)["bigquery-snippets"]
    assert planned["action"] == "update"
    assert [c["field"] for c in planned["changes"]] == ["labels.team"]
    assert repo.run("apply").code == 0
    model = next(m for m in Models(repo.emulator).all()
                 if m.labels["tuneops-name"] == "bigquery-snippets")
    assert model.labels["team"] == "ml"
    assert set(SYSTEM_LABELS) <= set(model.labels)
    assert actions(repo)["bigquery-snippets"] == "noop"


def _vision_model(repo: Repo) -> str:
    return next(m.name for m in Models(repo.emulator).all()
                if m.labels["tuneops-name"] == "cloud-vision-chat")


def test_prune_undeploys_and_deletes_the_endpoint_its_run_created(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    model = _vision_model(repo)
    (endpoint,) = [ref.endpoint for ref in Models(repo.emulator).get(model).deployed_models]
    (repo.root / VISION).unlink()
    result = repo.run("apply", "--prune")
    assert result.code == 0, result.out
    assert model not in [m.name for m in Models(repo.emulator).all()]
    assert endpoint not in [e.name for e in Endpoints(repo.emulator).all()]
    assert len(Endpoints(repo.emulator).all()) == 1  # the other job's endpoint is untouched


def test_prune_never_touches_a_deployment_tuneops_did_not_create(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    model = _vision_model(repo)
    (ours,) = [ref.endpoint for ref in Models(repo.emulator).get(model).deployed_models]
    theirs = Models(repo.emulator).deploy_outside(model)
    (repo.root / VISION).unlink()
    result = repo.run("apply", "--prune")
    assert result.code == 1
    line = next(line for line in result.out.splitlines() if line.startswith("  failed"))
    assert f"kept {model}: deployed on {theirs}, which tuneops did not create" in line
    assert model in [m.name for m in Models(repo.emulator).all()]
    endpoints = {e.name: e for e in Endpoints(repo.emulator).all()}
    assert len(endpoints[theirs].deployed_models) == 1
    assert len(endpoints[ours].deployed_models) == 1


def test_prune_keeps_an_endpoint_that_also_serves_someone_elses_model(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    model = _vision_model(repo)
    other = next(m.name for m in Models(repo.emulator).all() if m.name != model)
    (ours,) = [ref.endpoint for ref in Models(repo.emulator).get(model).deployed_models]
    Models(repo.emulator).deploy_outside(other, ours)  # someone deploys another Model beside ours
    (repo.root / VISION).unlink()
    assert repo.run("apply", "--prune").code == 0
    assert model not in [m.name for m in Models(repo.emulator).all()]
    (endpoint,) = [e for e in Endpoints(repo.emulator).all() if e.name == ours]
    assert [d.model for d in endpoint.deployed_models] == [other]


def test_status_shows_each_models_endpoint(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    result = repo.run("status")
    assert result.code == 0
    for endpoint in Endpoints(repo.emulator).all():
        assert endpoint.name.rsplit("/", 1)[-1] in result.out
