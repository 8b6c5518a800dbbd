"""A warm plan lists: its calls grow with the pages the jobs and Models fill, never with
the number of configs (no call per config)."""

from __future__ import annotations

import math

from reconciler.backends import models, pipeline
from tests.conftest import Repo

JOBS = pipeline.PAGE_SIZE + 1  # past one page of jobs, and of their Models


def _add_configs(repo: Repo, count: int) -> None:
    repo.edit("configs/reconciler.yaml", "region:", f"budget: {{max_launches: {count + 2}}}\n"
              "region:")
    for index in range(count):
        repo.write(f"configs/many-{index:03}.yaml",
                   f"name: many-{index:03}\ntask: code-generation\n"
                   f"dataset_uri: datasets/bigquery.jsonl\ntrain_steps: {200 + index}\n")
    repo.commit("many configs")


def _warm_plan_calls(repo: Repo) -> dict[str, int]:
    assert repo.run("apply", "--auto-approve").code == 0
    repo.advance()  # every run succeeded and registered its Model
    assert repo.run("plan").code == 0
    repo.emulator.reset_calls()
    result = repo.run("plan")
    assert result.code == 0, result.err
    return repo.emulator.calls()


def test_a_warm_plans_list_calls_grow_only_with_the_pages_needed(repo: Repo) -> None:
    few = _warm_plan_calls(repo)
    _add_configs(repo, JOBS)
    many = _warm_plan_calls(repo)
    assert set(many) == set(few) and all(method.startswith("List") for method in many)
    total = JOBS + 2  # the example's two jobs, and the configs added
    extra = {"ListPipelineJobs": math.ceil(total / pipeline.PAGE_SIZE) - 1,
             "ListModels": math.ceil(total / models.PAGE_SIZE) - 1}
    assert {method: many[method] - few[method] for method in many} == {
        method: extra.get(method, 0) for method in many}
