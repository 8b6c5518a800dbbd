"""Faults a user can cause end in one line and the right exit code, never "unexpected error"."""

from __future__ import annotations

import io
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console

from reconciler.commands.convert import convert_dataset
from reconciler.emulator import start_emulator
from reconciler.emulator.gcs import GcsStore, ObjectReader
from reconciler.emulator.gcs.preconditions import Preconditions
from reconciler.emulator.pipelines.examples import run_failure
from reconciler.emulator.pipelines.validation import CODE_TEMPLATE
from tests.conftest import Repo


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("variable", ["TUNEOPS_API_ENDPOINT", "TUNEOPS_STORAGE_ENDPOINT"])
def test_an_endpoint_where_nothing_listens_fails_at_once_naming_it(
        repo: Repo, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    with start_emulator(repo.root / "elsewhere") as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        port = closed_port()
        monkeypatch.setenv(variable, f"{'http://' if 'STORAGE' in variable else ''}"
                                     f"127.0.0.1:{port}")
        for command in (("plan",), ("apply", "--auto-approve"), ("status",)):
            result = repo.run(*command)
            assert result.code == 1, result.err
            assert result.err.startswith(f"reconcile: nothing answers at {variable}=")
            assert f"127.0.0.1:{port}" in result.err and result.err.count("\n") == 1


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[object]:
    """Makes a directory read-only even for root (chattr +i), and writable again after."""
    made: list[Path] = []

    def seal(path: Path) -> None:
        if os.geteuid() != 0:
            path.chmod(0o555)
        elif shutil.which("chattr") is None or subprocess.run(
                ["chattr", "+i", str(path)], capture_output=True, check=False).returncode:
            pytest.skip("no way to make a directory read-only for root here")
        made.append(path)

    yield seal
    for path in made:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=False)
        path.chmod(0o755)


def test_a_read_only_state_directory_is_one_line(repo: Repo, read_only: object) -> None:
    (repo.root / ".reconciler").mkdir()
    read_only(repo.root / ".reconciler")  # type: ignore[operator]
    validated = repo.run("validate")
    assert validated.code == 0, validated.err  # a cache that cannot be written costs speed
    for command in (("plan",), ("apply", "--auto-approve")):
        result = repo.run(*command)
        assert result.code == 1, result.err
        assert result.err.startswith("reconcile: cannot create .reconciler/emulator: ")
        assert result.err.count("\n") == 1


def _apply_wait_then_signal(repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            number: int, when: str) -> tuple[int, str]:
    """Runs `apply --wait` on jobs that take an hour, sends `number` once stdout shows
    `when`, and returns the exit code and stdout."""
    with start_emulator(tmp_path / "shared", job_seconds=3600) as emulator:
        env = {**os.environ, "TUNEOPS_API_ENDPOINT": emulator.api_endpoint,
               "TUNEOPS_STORAGE_ENDPOINT": emulator.storage_endpoint, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--wait",
             "--root", str(repo.root)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=env)
        assert process.stdout is not None
        seen = b""
        deadline = time.monotonic() + 60
        # Raw reads of the pipe: a buffered reader would hide lines from select().
        while when.encode() not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 1)
            if ready:
                seen += os.read(process.stdout.fileno(), 1 << 16)
        if when.encode() not in seen:
            process.kill()
            pytest.fail(f"never saw {when!r}: {seen.decode()}")
        process.send_signal(number)
        out, _ = process.communicate(timeout=60)
        return process.returncode, (seen + out).decode()


@pytest.mark.parametrize(("number", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_apply_waits_says_what_runs_on(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int,
        code: int) -> None:
    returncode, out = _apply_wait_then_signal(repo, tmp_path, monkeypatch, number,
                                              "Waiting for 2 job(s)")
    assert returncode == code, out
    name = signal.Signals(number).name
    assert re.search(f"{name}: stopped waiting. Launched or adopted by this apply: "
                     r"bigquery-snippets \(bigquery-snippets-[0-9a-f]{12} pending\), "
                     r"cloud-vision-chat \(cloud-vision-chat-[0-9a-f]{12} pending\)\.", out)
    assert "Those not finished go on in emulator at 127.0.0.1:" in out
    assert "follow them with `reconcile status`" in out


def test_sigterm_while_apply_drains_a_queue_stops_the_same_way(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (repo.root / "configs/reconciler.yaml").open("a") as settings:
        settings.write("limits: {us-central1: {pipeline: 1}}\n")
    returncode, out = _apply_wait_then_signal(repo, tmp_path, monkeypatch, signal.SIGTERM,
                                              "wait for quota; launching them")
    assert returncode == 143, out
    assert "1 job(s) still wait for quota: cloud-vision-chat; apply again later." in out
    assert "SIGTERM: stopped waiting. Launched or adopted by this apply: bigquery-snippets (" in out


def test_convert_dataset_writes_nothing_on_error_and_leaves_out_as_it_was(
        repo: Repo) -> None:
    source = repo.write("datasets/mixed.jsonl",
                        '{"input_text": "Write it: a", "output_text": "b"}\n' * 3 + "{oops\n")
    out = repo.write("datasets/out.jsonl", "as it was\n")
    result = repo.run("convert-dataset", str(source), str(out))
    assert result.code == 1
    assert out.read_text() == "as it was\n"
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []


def _peak_bytes(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


BIG_LINE = '{"input_text": "Write the code in Python: ' + "x" * 2000 + '", "output_text": "y"}\n'
BIG_LINES = 15_000  # 30 MB


def test_convert_dataset_streams_in_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "big.jsonl"
    source.write_text(BIG_LINE * BIG_LINES)
    console = Console(file=io.StringIO())
    peak = _peak_bytes(lambda: convert_dataset(root=tmp_path, source=source,
                                               destination=tmp_path / "out.jsonl",
                                               console=console))
    assert (tmp_path / "out.jsonl").stat().st_size > source.stat().st_size
    assert peak < source.stat().st_size / 10


def test_the_emulator_checks_a_staged_dataset_as_a_stream(tmp_path: Path) -> None:
    store = GcsStore(tmp_path)
    store.create_bucket("bucket", "p", "US", "STANDARD")
    data = (BIG_LINE * BIG_LINES).encode()
    store.put_object("bucket", "big.jsonl", store.files.stage_bytes(data),
                     content_type="application/jsonl", metadata=None, pre=Preconditions())
    del data
    read = ObjectReader(store)
    found: list[object] = []
    peak = _peak_bytes(lambda: found.append(run_failure(CODE_TEMPLATE, [("dataset",
                                                        "gs://bucket/big.jsonl")], read)))
    assert found == [None]
    assert peak < 3_000_000
