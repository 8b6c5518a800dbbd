"""Every figure of issue 11 in one run: each against a baseline measured in the same run.

Run: python benchmarks/run.py [--quick] [--jobs 1000] [--scale 5] [--megabytes 200 1000]
     [--runs 3] [--only validate,hash,memory,limit,plan]

`--quick` scales everything down (100 jobs, 20 and 100 MB datasets) to check the script
itself; the targets are about the full sizes. Every timed command is a fresh process, as a
user runs it; times are medians of --runs runs. Prints the table README's "Performance"
section carries.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
RECONCILE = [PYTHON, "-m", "reconciler"]
MIB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    baseline: str
    ratio: str
    target: str
    met: bool | None  # None: reported, no target of its own


def run(command: Sequence[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return seconds


def median(runs: int, work: Callable[[], float]) -> float:
    return statistics.median(work() for _ in range(runs))


def python_start(runs: int) -> float:
    return median(runs, lambda: run([PYTHON, "-c", "pass"]))


# -- plan and apply -------------------------------------------------------------------------

def make_repository(root: Path, jobs: int) -> Path:
    """`jobs` pipeline configs over the example datasets, half code-chat, half generation."""
    (root / "configs").mkdir(parents=True)
    shutil.copytree(REPOSITORY / "datasets", root / "datasets")
    shutil.copy(REPOSITORY / "configs/reconciler.yaml", root / "configs/reconciler.yaml")
    with (root / "configs/reconciler.yaml").open("a", encoding="utf-8") as settings:
        # The default budget stops an apply at 20 launches: a benchmark launches thousands.
        settings.write(f"budget: {{max_launches: {jobs}}}\n")
    for index in range(jobs):
        if index % 2:
            body = "task: code-chat\ndataset_uri: datasets/vision-chat.jsonl\n"
        else:
            body = ("task: code-generation\ndataset_uri: datasets/bigquery.jsonl\n"
                    "evaluation_data_uri: datasets/bigquery-eval.jsonl\n")
        (root / f"configs/job-{index:05}.yaml").write_text(
            f"name: job-{index:05}\n{body}train_steps: {100 + index % 400}\n"
            f"labels: {{team: t{index % 7}}}\n")
    return root


class Standalone:
    """`reconcile emulator serve` in its own process, on the repository's emulator state."""

    def __init__(self, root: Path) -> None:
        self.process = subprocess.Popen([*RECONCILE, "emulator", "serve", "--root", str(root)],
                                        stdout=subprocess.PIPE, text=True)
        lines = [self._line() for _ in range(2)]
        self.env = dict(os.environ,
                        TUNEOPS_API_ENDPOINT=lines[0].rsplit(" ", 1)[-1],
                        TUNEOPS_STORAGE_ENDPOINT=lines[1].rsplit(" ", 1)[-1])

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line:
            raise SystemExit("the standalone emulator did not start")
        return line

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass(frozen=True)
class Repo:
    apply_seconds: float
    plan_seconds: float
    standalone_seconds: float | None


def plan_and_apply(root: Path, jobs: int, runs: int, standalone: bool) -> Repo:
    make_repository(root, jobs)
    apply_seconds = run([*RECONCILE, "apply", "--auto-approve", "--root", str(root)])
    plan = [*RECONCILE, "plan", "--root", str(root)]
    run(plan)  # warm: the hash cache and the OS page cache
    plan_seconds = median(runs, lambda: run(plan))
    standalone_seconds = None
    if standalone:
        server = Standalone(root)
        try:
            run(plan, server.env)
            standalone_seconds = median(runs, lambda: run(plan, server.env))
        finally:
            server.stop()
    return Repo(apply_seconds, plan_seconds, standalone_seconds)


def plan_rows(work: Path, jobs: int, scale: int, runs: int, start: float) -> list[Row]:
    small = plan_and_apply(work / "small", jobs, runs, standalone=True)
    big = plan_and_apply(work / "big", jobs * scale, runs, standalone=False)
    assert small.standalone_seconds is not None
    linear = scale * 1.1
    return [
        Row(f"warm plan, {jobs:,} configs and jobs (embedded)", f"{small.plan_seconds:.2f} s",
            f"python -c pass {start:.3f} s", f"{small.plan_seconds / start:.0f}x", "< 3 s",
            small.plan_seconds < 3),
        Row(f"warm plan, {jobs:,} configs and jobs (standalone)",
            f"{small.standalone_seconds:.2f} s", f"python -c pass {start:.3f} s",
            f"{small.standalone_seconds / start:.0f}x", "< 3 s", small.standalone_seconds < 3),
        Row(f"warm plan, {jobs * scale:,} configs and jobs", f"{big.plan_seconds:.2f} s",
            f"{jobs:,} configs {small.plan_seconds:.2f} s",
            f"{big.plan_seconds / small.plan_seconds:.2f}x", f"<= {linear:.1f}x",
            big.plan_seconds / small.plan_seconds <= linear),
        Row(f"first apply, {jobs:,} creates", f"{small.apply_seconds:.1f} s",
            f"python -c pass {start:.3f} s", f"{small.apply_seconds / start:.0f}x", "", None),
        Row(f"first apply, {jobs * scale:,} creates", f"{big.apply_seconds:.1f} s",
            f"{jobs:,} creates {small.apply_seconds:.1f} s",
            f"{big.apply_seconds / small.apply_seconds:.2f}x", f"<= {linear:.1f}x",
            big.apply_seconds / small.apply_seconds <= linear),
    ]


def validate_rows(work: Path, runs: int, start: float) -> list[Row]:
    root = work / "example"
    shutil.copytree(REPOSITORY / "configs", root / "configs")
    shutil.copytree(REPOSITORY / "datasets", root / "datasets")
    command = [*RECONCILE, "validate", "--root", str(root)]
    run(command)
    seconds = median(runs, lambda: run(command))
    return [Row("reconcile validate, example repository", f"{seconds:.3f} s",
                f"python -c pass {start:.3f} s", f"{seconds / start:.1f}x", "< 0.35 s",
                seconds < 0.35)]


# -- datasets -------------------------------------------------------------------------------

def make_dataset(path: Path, line_bytes: int, megabytes: int) -> int:
    """Distinct code-generation examples of about `line_bytes` each; returns their count."""
    count = megabytes * 1_000_000 // line_bytes
    code = ("def f(x):\n    return x * 2  # " + "y" * 60 + "\n") * (line_bytes // 80 + 1)
    batch = max(1, 4 * MIB // line_bytes)  # the generator's own memory stays small
    with path.open("w", encoding="utf-8") as stream:
        for start in range(0, count, batch):
            stream.write("".join(
                json.dumps({"input_text": f"Write the code in Python: task {index}",
                            "output_text": code[: line_bytes - 80]}) + "\n"
                for index in range(start, min(start + batch, count))))
    return count


# A fresh interpreter hashes one file and reports its seconds, peak RSS and bytes read; with
# "unlimited", past the training format's cap of 10,000 examples. Peak RSS is VmHWM: Linux
# carries ru_maxrss over fork and exec, so a child would report this benchmark's own peak.
HASH = """
import dataclasses, json, resource, sys, time
from pathlib import Path
from reconciler.load.datasets import inspect_dataset
from reconciler.kinds.pipeline_datasets import FORMATS
fmt = FORMATS[("code-generation", "training")]
if sys.argv[2] == "unlimited":
    fmt = dataclasses.replace(fmt, examples=(10, 10**9))
started = time.perf_counter()
report = inspect_dataset(Path(sys.argv[1]), "big", "big", fmt, "training")
seconds = time.perf_counter() - started
try:
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    peak = int(status.split()[0])
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "bytes_read": report.bytes_read,
                  "valid": report.info is not None, "errors": [str(e) for e in report.errors],
                  "rss_kib": peak}))
"""


def hash_child(path: Path, limits: str) -> dict[str, object]:
    done = subprocess.run([PYTHON, "-c", HASH, str(path), limits], capture_output=True,
                          text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def hash_rows(work: Path, sizes: Sequence[int], runs: int) -> list[Row]:
    rows = []
    peaks: dict[int, float] = {}
    for line_bytes in (2_000, 19_000):
        for megabytes in sizes:
            path = work / f"hash-{line_bytes}-{megabytes}.jsonl"
            make_dataset(path, line_bytes, megabytes)
            sha = median(runs, lambda: run(["sha256sum", str(path)]))  # noqa: B023
            results = [hash_child(path, "unlimited") for _ in range(runs)]
            assert all(r["valid"] for r in results), results[0]["errors"]
            seconds = statistics.median(float(str(r["seconds"])) for r in results)
            if line_bytes == 2_000:
                peaks[megabytes] = max(int(str(r["rss_kib"])) for r in results) / 1024
            rows.append(Row(f"semantic hash, {line_bytes // 1000} KB lines, {megabytes} MB",
                            f"{seconds:.2f} s", f"sha256sum {sha:.2f} s",
                            f"{seconds / sha:.2f}x", "<= 1.0x", seconds / sha <= 1.0))
            path.unlink()
    low, high = min(peaks), max(peaks)
    rows.append(Row(f"peak RSS, 2 KB lines, {low} vs {high} MB ({low * 500:,} vs "
                    f"{high * 500:,} examples)", f"{peaks[high]:.0f} MiB",
                    f"{peaks[low]:.0f} MiB", f"+{peaks[high] - peaks[low]:.1f} MiB",
                    "(grows per example)", None))
    return rows


def memory_rows(work: Path, sizes: Sequence[int]) -> list[Row]:
    """The training format at its cap, 10,000 examples, as the issue measured: flat?"""
    peaks = {}
    for megabytes in sizes:
        path = work / f"memory-{megabytes}.jsonl"
        make_dataset(path, megabytes * 100, megabytes)
        result = hash_child(path, "limits")
        assert result["valid"], result["errors"]
        peaks[megabytes] = int(str(result["rss_kib"])) / 1024
        path.unlink()
    low, high = min(peaks), max(peaks)
    return [Row(f"peak RSS, 10,000 examples, {low} MB vs {high} MB", f"{peaks[high]:.0f} MiB",
                f"{peaks[low]:.0f} MiB", f"+{peaks[high] - peaks[low]:.1f} MiB",
                "within 5 MiB, < 50 MiB", peaks[high] - peaks[low] <= 5 and peaks[high] < 50)]


def limit_rows(work: Path, megabytes: int, runs: int) -> list[Row]:
    """A training dataset far over 10,000 examples: refused at example 10,001."""
    path = work / "over-limit.jsonl"
    count = make_dataset(path, 2_000, megabytes)
    whole = median(runs, lambda: run(["sha256sum", str(path)]))
    results = [hash_child(path, "limits") for _ in range(runs)]
    seconds = statistics.median(float(str(r["seconds"])) for r in results)
    read = int(str(results[0]["bytes_read"]))
    with path.open("rb") as stream:
        up_to_limit = sum(len(stream.readline()) for _ in range(10_001))
    path.unlink()
    return [Row(f"over the example limit ({count:,} examples, {megabytes} MB)",
                f"{seconds:.2f} s, {read / MIB:.0f} MiB read",
                f"read all (sha256sum) {whole:.2f} s", f"{seconds / whole:.2f}x",
                "stops at example 10,001", not results[0]["valid"] and read == up_to_limit)]


# -- the table ------------------------------------------------------------------------------

def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def table(rows: Sequence[Row]) -> str:
    lines = ["| figure | measured | baseline | ratio | target | met? |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        met = "—" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.figure} | {row.measured} | {row.baseline} | {row.ratio} | "
                     f"{row.target} | {met} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: 100 jobs, 20 and 100 MB datasets")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--scale", type=int, default=5, help="the large case is jobs x scale")
    parser.add_argument("--megabytes", type=int, nargs=2, default=[200, 1000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="validate,hash,memory,limit,plan")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.megabytes = 100, [20, 100]
    only = set(args.only.split(","))
    start = python_start(max(args.runs, 5))
    measures: dict[str, Callable[[Path], list[Row]]] = {
        "validate": lambda work: validate_rows(work, max(args.runs, 5), start),
        "hash": lambda work: hash_rows(work, args.megabytes, args.runs),
        "memory": lambda work: memory_rows(work, args.megabytes),
        "limit": lambda work: limit_rows(work, args.megabytes[1], args.runs),
        "plan": lambda work: plan_rows(work, args.jobs, args.scale, args.runs, start),
    }
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="tuneops-bench-") as directory:
        for name, measure in measures.items():
            if name in only:
                rows += (found := measure(Path(directory)))
                print(table(found).split("\n", 2)[-1], file=sys.stderr, flush=True)
    print(f"machine: {machine()}")
    print(table(rows))


if __name__ == "__main__":
    main()
