"""A warm plan lists: its calls grow with the pages the jobs and Models fill, never with
the number of configs (no call per config), and the independent lists are made at once."""

from __future__ import annotations

import math

from reconciler.backends.listing import PARALLEL_LISTS
from reconciler.emulator.store import LoggedCall
from tests.conftest import Repo

# Pages of the service's own size (it coerces tuneops' larger page_size to it), small so a
# test fills several.
PAGE = 4
JOBS = PAGE + 1  # past one page of jobs, and of their Models


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
    repo.emulator.set_quirks(max_page_size=PAGE)
    few = _warm_plan_calls(repo)
    _add_configs(repo, JOBS)
    many = _warm_plan_calls(repo)
    assert set(many) == set(few) and all(method.startswith("List") for method in many)
    total = JOBS + 2  # the example's two jobs, and the configs added
    extra = {"ListPipelineJobs": math.ceil(total / PAGE) - 1,
             "ListModels": math.ceil(total / PAGE) - 1}
    assert {method: many[method] - few[method] for method in many} == {
        method: extra.get(method, 0) for method in many}



def test_a_service_that_refuses_tuneops_page_size_is_still_listed_whole(repo: Repo) -> None:
    # tuneops asks for pages larger than this service serves, and it refuses them
    # (INVALID_ARGUMENT, against AIP-158): the plainer request pages through everything.
    repo.emulator.set_quirks(max_page_size=PAGE)
    _add_configs(repo, JOBS)
    coerced = _warm_plan_calls(repo)
    repo.emulator.set_quirks(max_page_size=PAGE, oversized_page="refused")
    repo.emulator.reset_calls()
    again = repo.run("apply", "--auto-approve")
    assert again.code == 0 and "No changes. Nothing launched." in again.out, again.out
    listed = {(call.method, call.target) for call in repo.emulator.call_log()}
    # Each list's two refused requests (with the filter, then without it), then the same
    # pages as before.
    assert repo.emulator.calls() == {method: count + 2 * sum(1 for m, _ in listed
                                                           if m == method)
                                     for method, count in coerced.items()}

LATENCY = 0.2  # seconds every call is served late


def _in_flight(log: list[LoggedCall]) -> int:
    """The most calls of `log` being served at one moment."""
    edges = sorted([(call.started, 1) for call in log]
                   + [(call.ended or call.started, -1) for call in log])
    most = running = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def test_a_warm_plan_lists_independent_collections_concurrently(mixed_repo: Repo) -> None:
    repo = mixed_repo
    assert repo.run("apply", "--auto-approve").code == 0
    repo.advance()
    assert repo.run("plan").code == 0
    repo.emulator.set_faults(latency_seconds=LATENCY)
    repo.emulator.reset_calls()
    assert repo.run("plan").code == 0
    log = repo.emulator.call_log()
    assert log and all(call.method.startswith("List") and call.ended for call in log)
    # Lists of different collections and of different locations are served at once: one
    # starts before another ends.
    overlapping = {(first.method, second.method) for first in log for second in log
                   if first.target != second.target
                   and first.started < (second.ended or 0) and second.started < (first.ended or 0)}
    methods = {call.method for call in log}
    assert {"ListPipelineJobs", "ListTuningJobs", "ListModels"} <= methods
    assert {(a, b) for a in methods for b in methods if a != b} <= overlapping
    assert _in_flight(log) >= PARALLEL_LISTS // 2
    # Every call waited LATENCY, yet the plan's calls spanned far less than one after another.
    span = max(call.ended or 0 for call in log) - min(call.started for call in log)
    assert span < len(log) * LATENCY / 4
