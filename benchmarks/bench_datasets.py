"""Dataset hashing: throughput against sha256sum, peak memory, bytes read by a warm plan.

Run: python benchmarks/bench_datasets.py [--megabytes 200]
Prints figures only; the ratios are against baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from reconciler.load.config import load_config
from reconciler.load.desired import build_desired

EXAMPLES = 10_000  # the reference's maximum for a training dataset


def generate(path: Path, megabytes: int) -> None:
    """10,000 code-generation examples whose outputs fill the requested size."""
    body = max(1, megabytes * 1024 * 1024 // EXAMPLES - 120)
    with path.open("w", encoding="utf-8") as stream:
        for index in range(EXAMPLES):
            code = (f"def f{index}(x):\n    return x * {index}\n" * (body // 40 + 1))[:body]
            stream.write(json.dumps({"input_text": f"Write the code in Python: task {index}",
                                     "output_text": code}) + "\n")


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def child_peak_kib(code: str) -> int:
    """Peak RSS of a fresh interpreter running `code` (Linux reports KiB)."""
    output = subprocess.run(
        [sys.executable, "-c", code + "\nimport resource; print(resource.getrusage("
         "resource.RUSAGE_SELF).ru_maxrss)"], check=True, capture_output=True, text=True)
    return int(output.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=200)
    megabytes = parser.parse_args().megabytes
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / "configs").mkdir()
        (root / "datasets").mkdir()
        data = root / "datasets/big.jsonl"
        generate(data, megabytes)
        (root / "configs/big.yaml").write_text(
            "name: big\ntask: code-generation\ndataset_uri: datasets/big.jsonl\n")
        size = data.stat().st_size
        inspect = ("from pathlib import Path; "
                   "from reconciler.load.datasets import inspect_dataset; "
                   f"r = inspect_dataset(Path({str(data)!r}), 'big', 'big', "
                   "'code-generation', 'training'); assert r.info, r.errors")
        sha256sum = min(timed(["sha256sum", str(data)]) for _ in range(3))
        semantic = min(timed([sys.executable, "-c", inspect]) for _ in range(3))
        startup = min(timed([sys.executable, "-c", "import reconciler.load.datasets"])
                      for _ in range(3))
        baseline_kib = child_peak_kib("import reconciler.load.datasets")
        hashing_kib = child_peak_kib(inspect)
        cold = build_desired(load_config(root))
        warm = build_desired(load_config(root))
        print(f"dataset: {size / 1e6:.0f} MB, {EXAMPLES} examples")
        print(f"sha256sum:                   {sha256sum:.2f} s ({size / 1e6 / sha256sum:.0f} MB/s)")
        hashing = semantic - startup
        print(f"validate + semantic hash:    {hashing:.2f} s ({size / 1e6 / hashing:.0f} MB/s),"
              f" {hashing / sha256sum:.2f}x sha256sum")
        print(f"peak RSS while hashing:      {hashing_kib / 1024:.0f} MiB "
              f"(+{(hashing_kib - baseline_kib) / 1024:.1f} MiB over the import alone)")
        print(f"dataset bytes read, cold:    {cold.bytes_read}")
        print(f"dataset bytes read, warm:    {warm.bytes_read}")
        shutil.rmtree(root / ".reconciler", ignore_errors=True)
    print(f"benchmark process peak RSS:  "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
