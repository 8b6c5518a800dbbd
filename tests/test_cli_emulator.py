"""`reconcile emulator serve` runs standalone and other processes use it by endpoint."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import Repo


def _lines(process: subprocess.Popen[str], into: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        into.put(line)


def test_serve_prints_endpoints_and_serves_plans(repo: Repo,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", "serve", "--root", str(repo.root)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process, lines), daemon=True).start()
    try:
        endpoints: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while len(endpoints) < 2 and time.monotonic() < deadline:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line.startswith("Vertex AI emulator (gRPC):"):
                endpoints["api"] = line.split()[-1]
            elif line.startswith("GCS emulator (HTTP):"):
                endpoints["storage"] = line.split()[-1]
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", endpoints["api"])
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", endpoints["storage"])
        assert repo.run("apply").code == 0
        result = repo.run("status", "--output", "json")
        assert len(json.loads(result.out)["jobs"]) == 2
        assert "Applying to emulator at" in repo.run("apply").out
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_status_text_lists_jobs_and_models(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    out = repo.run("status").out
    assert "bigquery-snippets-" in out
    assert "succeeded" in out
    assert "models (1): id, display name, fingerprint, endpoints" in out


def test_faults_latency_and_jitter_reach_the_emulator(repo: Repo) -> None:
    result = repo.run("emulator", "faults", "--latency", "0.25", "--jitter", "0.05",
                      "--root", str(repo.root))
    assert result.code == 0, result.err
    faults = repo.emulator.faults()
    assert (faults.latency_seconds, faults.jitter_seconds) == (0.25, 0.05)
    assert repo.run("emulator", "faults", "--root", str(repo.root)).code == 0
    assert repo.emulator.faults().latency_seconds == 0.0
