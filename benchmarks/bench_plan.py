"""Planning cost: the pure planner's scaling, and observing through the emulator.

Run: python benchmarks/bench_plan.py [--jobs 200]
Prints figures; ratios compare runs of this same process (N vs 10N jobs, plan vs observe).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from reconciler.cli import main as reconcile
from reconciler.connect import connect, emulator_state_dir
from reconciler.core.observed import Observed
from reconciler.core.plan import plan
from reconciler.emulator import EmulatorStore
from reconciler.load.config import load_config
from reconciler.load.desired import Desired, build_desired

EXAMPLES = Path(__file__).resolve().parent.parent


def best(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def scaled(desired: Desired, observed: Observed, factor: int) -> tuple[Desired, Observed]:
    """`factor` copies of every job under new names, to time the planner at a larger size."""
    jobs = tuple(replace(job, name=f"{job.name}-{n}") for n in range(factor)
                 for job in desired.jobs)
    runs = tuple(replace(run, name=f"{run.name}-{n}") for n in range(factor)
                 for run in observed.jobs)
    models = tuple(replace(m, name=f"{m.name}-{n}") for n in range(factor)
                   for m in observed.models)
    return replace(desired, jobs=jobs), Observed(runs, models)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    count = parser.parse_args().jobs
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        shutil.copytree(EXAMPLES / "datasets", root / "datasets")
        (root / "configs").mkdir()
        for index in range(count):
            (root / f"configs/job-{index}.yaml").write_text(
                f"name: job-{index}\ntask: code-chat\ntrain_steps: {200 + index}\n"
                "dataset_uri: datasets/vision-chat.jsonl\n")
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            started = time.perf_counter()
            assert reconcile(["--root", str(root)]) == 0, quiet.getvalue()[-2000:]
            apply_seconds = time.perf_counter() - started
        EmulatorStore(emulator_state_dir(root)).advance_clock(3600)
        config = load_config(root)
        store = EmulatorStore(emulator_state_dir(root))
        with connect(config.target, root) as connection:
            desired = build_desired(config, connection.storage)
            store.reset_calls()
            observe_seconds = best(3, connection.backend.observe)
            calls = store.calls()
            observed = connection.backend.observe()
        small = best(5, lambda: plan(desired, observed))
        big_desired, big_observed = scaled(desired, observed, 10)
        big = best(3, lambda: plan(big_desired, big_observed))
        actions = {a.action for a in plan(desired, observed).actions}
    print(f"first apply of {count} jobs (embedded emulator): {apply_seconds:.2f} s")
    print(f"observe {count} jobs + models: {observe_seconds * 1000:.0f} ms, RPCs per observe: "
          f"{ {k: v // 3 for k, v in sorted(calls.items())} }")
    print(f"plan() {count} jobs: {small * 1000:.1f} ms ({small / count * 1e6:.0f} us/job), "
          f"{small / observe_seconds:.2f}x observe")
    print(f"plan() {count * 10} jobs: {big * 1000:.1f} ms, {big / small:.1f}x the {count}-job "
          "plan (10x is linear)")
    print(f"actions after the jobs finished: {sorted(actions)}")


if __name__ == "__main__":
    main()
