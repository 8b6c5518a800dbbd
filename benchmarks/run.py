"""Every figure of issues 11 and 20 in one run: each against a baseline measured in the same run.

Run: python benchmarks/run.py [--quick] [--jobs 1000] [--scales 5 10] [--megabytes 200 1000]
     [--examples 1000000] [--latency 0.1] [--runs 3]
     [--only validate,hash,memory,limit,plan,apply]

`--quick` scales everything down (100 jobs, 20 and 100 MB datasets, 100,000 small examples)
to check the script itself; the targets are about the full sizes. Every timed command is a
fresh process, as a user runs it (with Python writing its bytecode caches, as it does by
default), and each figure's pair runs interleaved: run i of the figure, then run i of its
baseline. Times are medians of --runs runs; a first apply runs once (it is first once).
Prints the table README's "Performance" section carries, with the machine and its load.
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
# As on a user's machine: the package's modules are compiled once, not at every command.
CHILD_ENV = {name: value for name, value in os.environ.items()
             if name != "PYTHONDONTWRITEBYTECODE"}


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
    done = subprocess.run(command, capture_output=True, text=True, env=env or CHILD_ENV,
                          check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return seconds


def pairs(runs: int, measure: Callable[[], float], baseline: Callable[[], float]
          ) -> tuple[float, float]:
    """Medians of `measure` and `baseline`, run interleaved so both see the same load."""
    measured, base = [], []
    for _ in range(runs):
        measured.append(measure())
        base.append(baseline())
    return statistics.median(measured), statistics.median(base)


def python_start(runs: int) -> float:
    return statistics.median(run([PYTHON, "-c", "pass"]) for _ in range(runs))


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


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


def emulator(root: Path, *args: str) -> None:
    run([*RECONCILE, "emulator", *args, "--root", str(root)])


def latency(root: Path, seconds: float) -> None:
    """Every emulator call from now on served `seconds` late (the setting is in its state)."""
    emulator(root, "faults", "--latency", repr(seconds))


class Standalone:
    """`reconcile emulator serve` in its own process, on the repository's emulator state."""

    def __init__(self, root: Path) -> None:
        self.process = subprocess.Popen([*RECONCILE, "emulator", "serve", "--root", str(root)],
                                        stdout=subprocess.PIPE, text=True, env=CHILD_ENV)
        lines = [self._line() for _ in range(2)]
        self.env = dict(CHILD_ENV,
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


def first_apply(root: Path, jobs: int, delay: float = 0.0) -> float:
    """A fresh repository of `jobs` configs applied once (the default parallelism)."""
    make_repository(root, jobs)
    if delay:
        latency(root, delay)
    return run([*RECONCILE, "apply", "--auto-approve", "--root", str(root)])


@dataclass(frozen=True)
class Warm:
    plain: float  # median seconds of a warm plan
    slow: float  # the same plan with every call `delay` late, interleaved with `plain`
    standalone: float | None


def warm_plans(root: Path, runs: int, delay: float, standalone: bool) -> Warm:
    """Warm plans of an applied repository whose runs all ended: the hash cache is filled,
    every Model registered, the OS page cache warm."""
    emulator(root, "advance", "86400")
    plan = [*RECONCILE, "plan", "--root", str(root)]
    run(plan)

    def at(seconds: float) -> Callable[[], float]:
        def timed() -> float:
            latency(root, seconds)
            return run(plan)
        return timed

    slow, plain = pairs(runs, at(delay), at(0.0))
    alone = None
    if standalone:
        server = Standalone(root)
        try:
            run(plan, server.env)
            alone = statistics.median(run(plan, server.env) for _ in range(runs))
        finally:
            server.stop()
    return Warm(plain, slow, alone)


def plan_rows(work: Path, jobs: int, scales: Sequence[int], runs: int, delay: float,
              start: float) -> list[Row]:
    applies = {jobs * scale: first_apply(work / f"plan-{jobs * scale}", jobs * scale)
               for scale in (1, *scales)}
    big = jobs * max(scales)
    small = warm_plans(work / f"plan-{jobs}", runs, delay, standalone=True)
    large = warm_plans(work / f"plan-{big}", runs, delay, standalone=False)
    assert small.standalone is not None
    ms = f"{delay * 1000:.0f} ms"
    rows = [
        Row(f"warm plan, {jobs:,} configs and jobs (embedded)", f"{small.plain:.2f} s",
            f"python -c pass {start:.3f} s", f"{small.plain / start:.0f}x", "< 1.5 s",
            small.plain < 1.5),
        Row(f"warm plan, {jobs:,} configs and jobs (standalone)", f"{small.standalone:.2f} s",
            f"python -c pass {start:.3f} s", f"{small.standalone / start:.0f}x", "", None),
        Row(f"warm plan, {big:,} configs and jobs", f"{large.plain:.2f} s",
            f"{jobs:,} configs {small.plain:.2f} s", f"{large.plain / small.plain:.2f}x",
            f"<= {big / jobs * 1.1:.1f}x", large.plain / small.plain <= big / jobs * 1.1),
    ]
    for count, warm, target in ((jobs, small, 0.5), (big, large, 3.0)):
        rows.append(Row(f"warm plan, {count:,} configs, every call {ms} late",
                        f"{warm.slow:.2f} s", f"at 0 ms {warm.plain:.2f} s",
                        f"{warm.slow - warm.plain:+.2f} s", f"<= +{target:g} s",
                        warm.slow - warm.plain <= target))
    rows.append(Row(f"first apply, {jobs:,} creates", f"{applies[jobs]:.1f} s",
                    f"python -c pass {start:.3f} s", f"{applies[jobs] / start:.0f}x", "", None))
    for scale, target in zip(scales, (5.5, 11.0), strict=False):
        count = jobs * scale
        ratio = applies[count] / applies[jobs]
        rows.append(Row(f"first apply, {count:,} creates", f"{applies[count]:.1f} s",
                        f"{jobs:,} creates {applies[jobs]:.1f} s", f"{ratio:.2f}x",
                        f"<= {target:g}x", ratio <= target))
    return rows


def apply_rows(work: Path, counts: Sequence[int], delay: float) -> list[Row]:
    """First applies with every call `delay` late, at the default parallelism, each beside
    the same apply at 0 ms (fresh repositories, one after the other)."""
    rows = []
    for count in counts:
        slow = first_apply(work / f"apply-{count}-slow", count, delay)
        plain = first_apply(work / f"apply-{count}-plain", count)
        rows.append(Row(f"first apply, {count:,} creates, every call {delay * 1000:.0f} ms "
                        "late (default parallelism)", f"{slow:.1f} s",
                        f"at 0 ms {plain:.1f} s", f"{slow - plain:+.1f} s", "", None))
    return rows


def validate_rows(work: Path, runs: int) -> list[Row]:
    root = work / "example"
    shutil.copytree(REPOSITORY / "configs", root / "configs")
    shutil.copytree(REPOSITORY / "datasets", root / "datasets")
    command = [*RECONCILE, "validate", "--root", str(root)]
    run(command)
    seconds, start = pairs(runs, lambda: run(command), lambda: run([PYTHON, "-c", "pass"]))
    return [Row("reconcile validate, example repository", f"{seconds:.3f} s",
                f"python -c pass {start:.3f} s", f"{seconds / start:.1f}x", "< 0.25 s",
                seconds < 0.25)]


# -- datasets -------------------------------------------------------------------------------

# Code with newlines, as tuning data has: each piece is exactly 40 bytes once in JSON.
CODE = "    return x * 2  # yyyyyyyyyyyyyyyyyy\n"
PIECE = json.dumps(CODE)[1:-1]
assert len(PIECE) == 40


def _filler(size: int) -> str:
    """`size` bytes of JSON string content (escapes included), without a split escape."""
    return PIECE * (size // len(PIECE)) + "y" * (size % len(PIECE))


def _lines(path: Path, count: int, line: Callable[[int], str], line_bytes: int) -> int:
    batch = max(1, 4 * MIB // line_bytes)  # the generator's own memory stays small
    with path.open("w", encoding="utf-8") as stream:
        for start in range(0, count, batch):
            stream.write("".join(line(index) for index in range(start, min(start + batch,
                                                                            count))))
    return count


def make_dataset(path: Path, line_bytes: int, megabytes: int) -> int:
    """Distinct code-generation examples of `line_bytes` each; returns their count."""
    def line(index: int) -> str:
        head = f'{{"input_text": "Write the code in Python: task {index}", "output_text": "'
        return f'{head}{_filler(line_bytes - len(head) - 3)}"}}\n'

    return _lines(path, megabytes * 1_000_000 // line_bytes, line, line_bytes)


def make_gemini(path: Path, line_bytes: int, count: int) -> int:
    """`count` distinct Gemini examples (a user turn and a model turn) of `line_bytes` each."""
    def line(index: int) -> str:
        head = (f'{{"contents": [{{"role": "user", "parts": [{{"text": "Write the code in '
                f'Python: task {index}"}}]}}, {{"role": "model", "parts": [{{"text": "')
        return f'{head}{_filler(line_bytes - len(head) - 7)}"}}]}}]}}\n'

    return _lines(path, count, line, line_bytes)


# A fresh interpreter hashes one file and reports its seconds, peak RSS and bytes read, in a
# format: "pipeline" (code-generation, past the training format's cap of 10,000 examples with
# "unlimited"), or "gemini" (gemini-2.5-flash training data). Peak RSS is VmHWM: Linux
# carries ru_maxrss over fork and exec, so a child would report this benchmark's own peak.
HASH = """
import dataclasses, json, resource, sys, time
from pathlib import Path
from reconciler.load.datasets import inspect_dataset
if sys.argv[2] == "gemini":
    from reconciler.kinds.gemini import limits_of
    from reconciler.kinds.tuning_job_datasets import dataset_format
    fmt = dataset_format(limits_of("gemini-2.5-flash"), "training")
else:
    from reconciler.kinds.pipeline_datasets import FORMATS
    fmt = FORMATS[("code-generation", "training")]
if sys.argv[3] == "unlimited":
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


# The least a check of a dataset can cost in Python with the libraries tuneops reads JSON
# with: each line parsed (orjson), its canonical JSON written and hashed, its key taken, and
# nothing checked. A target below this is out of reach of any checker written over them.
FLOOR = """
import gc, hashlib, sys, time
from functools import partial
import orjson
gc.set_threshold(50_000)  # as the reconcile entrypoint sets it
started = time.perf_counter()
digest = hashlib.sha256()
with open(sys.argv[1], "rb", buffering=64 * 1024) as stream:
    for raw in iter(partial(stream.readline, 1 << 20), b""):
        canonical = orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
        digest.update(canonical)
        digest.update(b"\\n")
        hash(canonical)
print(time.perf_counter() - started)
"""


def floor_child(path: Path) -> float:
    done = subprocess.run([PYTHON, "-c", FLOOR, str(path)], capture_output=True, text=True,
                          check=True, env=CHILD_ENV)
    return float(done.stdout)


def hash_child(path: Path, fmt: str, limits: str) -> dict[str, object]:
    done = subprocess.run([PYTHON, "-c", HASH, str(path), fmt, limits], capture_output=True,
                          text=True, check=True, env=CHILD_ENV)
    result: dict[str, object] = json.loads(done.stdout)
    assert result["valid"], result["errors"]
    return result


@dataclass(frozen=True)
class Hashed:
    seconds: float
    sha: float
    peak_mib: float
    # FLOOR's seconds on the same file, and sha256sum's beside them; None if not measured.
    floor: tuple[float, float] | None = None


def hashed(path: Path, fmt: str, runs: int, *, floor: bool = False) -> Hashed:
    """The semantic hash of `path` beside sha256sum of it, interleaved, and FLOOR's beside
    it too if asked; then the file is deleted."""
    results: list[dict[str, object]] = []

    def ours() -> float:
        results.append(hash_child(path, fmt, "unlimited"))
        return float(str(results[-1]["seconds"]))

    def sha() -> float:
        return run(["sha256sum", str(path)])

    seconds, baseline = pairs(runs, ours, sha)
    least = pairs(runs, lambda: floor_child(path), sha) if floor else None
    path.unlink()
    return Hashed(seconds, baseline, max(int(str(r["rss_kib"])) for r in results) / 1024,
                  least)


def _ratio_rows(figure: str, found: Hashed, target: float) -> list[Row]:
    ratio = found.seconds / found.sha
    rows = [Row(figure, f"{found.seconds:.2f} s", f"sha256sum {found.sha:.2f} s",
                f"{ratio:.2f}x", f"<= {target:g}x", ratio <= target)]
    if found.floor is not None:
        least, sha = found.floor
        rows.append(Row(f"{figure}: parse, canonical dump and digest only, nothing checked",
                        f"{least:.2f} s", f"sha256sum {sha:.2f} s", f"{least / sha:.2f}x",
                        "(the floor)", None))
    return rows


def hash_rows(work: Path, sizes: Sequence[int], examples: int, runs: int) -> list[Row]:
    rows = []
    peaks: dict[int, float] = {}
    for line_bytes in (2_000, 19_000):
        for megabytes in sizes:
            path = work / f"hash-{line_bytes}-{megabytes}.jsonl"
            make_dataset(path, line_bytes, megabytes)
            found = hashed(path, "pipeline", runs)
            if line_bytes == 2_000:
                peaks[megabytes] = found.peak_mib
            rows += _ratio_rows(f"pipeline dataset, {line_bytes // 1000} KB lines, "
                                f"{megabytes} MB", found, 1.0)
    low, high = min(peaks), max(peaks)
    rows.append(Row(f"peak RSS, pipeline 2 KB lines, {low} vs {high} MB ({low * 500:,} vs "
                    f"{high * 500:,} examples)", f"{peaks[high]:.0f} MiB",
                    f"{peaks[low]:.0f} MiB", f"{peaks[high] - peaks[low]:+.1f} MiB",
                    "(grows per example)", None))
    for megabytes in sizes:
        path = work / f"gemini-{megabytes}.jsonl"
        make_gemini(path, 2_000, megabytes * 500)
        rows += _ratio_rows(f"Gemini dataset, 2 KB examples, {megabytes} MB",
                            hashed(path, "gemini", runs, floor=True), 1.0)
    path = work / "gemini-small.jsonl"
    make_gemini(path, 300, examples)
    found = hashed(path, "gemini", runs, floor=True)
    rows += _ratio_rows(f"Gemini dataset, {examples:,} examples of 300 bytes", found, 2.0)
    rows.append(Row(f"peak RSS, Gemini dataset, {examples:,} examples of 300 bytes",
                    f"{found.peak_mib:.0f} MiB", "", "", "< 64 MiB", found.peak_mib < 64))
    return rows


def memory_rows(work: Path, sizes: Sequence[int]) -> list[Row]:
    """The training format at its cap, 10,000 examples, as issue 11 measured: flat?"""
    peaks = {}
    for megabytes in sizes:
        path = work / f"memory-{megabytes}.jsonl"
        make_dataset(path, megabytes * 100, megabytes)
        result = hash_child(path, "pipeline", "limits")
        peaks[megabytes] = int(str(result["rss_kib"])) / 1024
        path.unlink()
    low, high = min(peaks), max(peaks)
    return [Row(f"peak RSS, 10,000 examples, {low} MB vs {high} MB", f"{peaks[high]:.0f} MiB",
                f"{peaks[low]:.0f} MiB", f"{peaks[high] - peaks[low]:+.1f} MiB",
                "within 5 MiB, < 50 MiB", peaks[high] - peaks[low] <= 5 and peaks[high] < 50)]


def limit_rows(work: Path, megabytes: int, runs: int) -> list[Row]:
    """A training dataset far over 10,000 examples: refused at example 10,001."""
    path = work / "over-limit.jsonl"
    count = make_dataset(path, 2_000, megabytes)
    results: list[dict[str, object]] = []

    def ours() -> float:
        done = subprocess.run([PYTHON, "-c", HASH, str(path), "pipeline", "limits"],
                              capture_output=True, text=True, check=True, env=CHILD_ENV)
        results.append(json.loads(done.stdout))
        return float(str(results[-1]["seconds"]))

    seconds, whole = pairs(runs, ours, lambda: run(["sha256sum", str(path)]))
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
                        help="small sizes: 100 jobs, 20 and 100 MB, 100,000 small examples")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--scales", type=int, nargs=2, default=[5, 10],
                        help="the first applies past --jobs are jobs x each scale; the warm "
                        "plan compares jobs x the largest")
    parser.add_argument("--megabytes", type=int, nargs=2, default=[200, 1000])
    parser.add_argument("--examples", type=int, default=1_000_000,
                        help="the Gemini dataset of 300-byte examples")
    parser.add_argument("--latency", type=float, default=0.1,
                        help="seconds every emulator call is served late in the latency rows")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="validate,hash,memory,limit,plan,apply")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.megabytes, args.examples = 100, [20, 100], 100_000
    only = set(args.only.split(","))
    runs = max(args.runs, 5)
    start = python_start(runs)
    measures: dict[str, Callable[[Path], list[Row]]] = {
        "validate": lambda work: validate_rows(work, runs),
        "hash": lambda work: hash_rows(work, args.megabytes, args.examples, args.runs),
        "memory": lambda work: memory_rows(work, args.megabytes),
        "limit": lambda work: limit_rows(work, args.megabytes[1], args.runs),
        "plan": lambda work: plan_rows(work, args.jobs, args.scales, args.runs, args.latency,
                                       start),
        "apply": lambda work: apply_rows(work, (args.jobs // 10, args.jobs), args.latency),
    }
    rows: list[Row] = []
    loads = [load_average()]  # (1, 5, 15 minutes) as each group of figures begins and ends
    with tempfile.TemporaryDirectory(prefix="tuneops-bench-") as directory:
        for name, measure in measures.items():
            if name in only:
                rows += (found := measure(Path(directory)))
                loads.append(load_average())
                print(f"{table(found).split(chr(10), 2)[-1]}\n(load average {loads[-1]})",
                      file=sys.stderr, flush=True)
    ones = [float(load.split()[0]) for load in loads if load != "unknown"] or [0.0]
    print(f"machine: {machine()}; 1-minute load average {min(ones):.2f} to {max(ones):.2f} "
          f"during the run (1, 5, 15 minutes: {loads[0]} at its start, {loads[-1]} at its end)")
    print(table(rows))


if __name__ == "__main__":
    main()
