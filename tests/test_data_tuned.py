"""The fingerprint is the data that was tuned: the planned hash follows every edit, and what
is staged is exactly what was hashed."""

from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.apply.execute import apply
from reconciler.cli import main
from reconciler.commands.plan import make_plan
from reconciler.connect import connect, emulator_state_dir
from reconciler.core.desired import Dataset
from reconciler.emulator.gcs import GcsStore
from reconciler.emulator.gcs.errors import GcsError
from reconciler.emulator.gcs.preconditions import Preconditions
from reconciler.emulator.pipelines import PipelineJobs
from reconciler.load.config import load_config
from reconciler.load.datacache import DatasetCache
from reconciler.load.datasets import DatasetReport
from reconciler.load.desired import build_desired
from tests.conftest import Repo
from tests.test_cli_apply import plan_json
from tests.test_properties import repository

TRAINING = "datasets/train.jsonl"
JOB = "name: job\ntask: code-generation\ndataset_uri: datasets/train.jsonl\n"
STAGED = "staging/datasets/"


def semantic_hash(content: bytes) -> str:
    """The content hash, written independently: sha256 over each record's sorted-key JSON."""
    digest = hashlib.sha256()
    for line in content.splitlines():
        if line.strip():
            record = json.loads(line)
            digest.update(json.dumps(record, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode())
            digest.update(b"\n")
    return digest.hexdigest()[:40]


def dataset(seed: int, count: int) -> bytes:
    chooser = random.Random(seed)
    return b"".join(json.dumps({"input_text": f"Write the code in Python: {chooser.random()}",
                                "output_text": f"print({index})"}).encode() + b"\n"
                    for index in range(count))


def same_size_edit(content: bytes, seed: int) -> bytes:
    """One digit of one example changed: the size stays, the records do not."""
    chooser = random.Random(seed)
    digits = [index for index, byte in enumerate(content) if chr(byte).isdigit()]
    at = chooser.choice(digits)
    replacement = str((int(chr(content[at])) + 1 + chooser.randrange(9)) % 10).encode()
    return content[:at] + replacement + content[at + 1:]


def staged_objects(root: Path) -> dict[str, bytes]:
    store = GcsStore(emulator_state_dir(root) / "storage")
    try:
        rows, _ = store.list_objects("tuneops-local", STAGED, None, 1000)
    except GcsError:  # no apply created the bucket yet
        return {}
    objects = {}
    for row in rows:
        _, stream = store.open_object(row.bucket, row.name, None, Preconditions())
        with stream:
            objects[row.name.removeprefix(STAGED).removesuffix(".jsonl")] = stream.read()
    return objects


EDITS = st.lists(st.tuples(st.sampled_from(["same size", "other size"]), st.booleans(),
                           st.booleans(), st.integers(0, 2**32)), min_size=1, max_size=5)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS)
def test_the_planned_hash_is_the_content_and_each_staged_object_hashes_to_its_name(
        edits: list[tuple[str, bool, bool, int]]) -> None:
    with repository(JOB) as root:
        path = root / TRAINING
        path.write_bytes(dataset(0, 12))
        first = path.stat()
        build_desired(load_config(root))  # the cache now holds the first content
        for kind, mtime_back, launch, seed in edits:
            content = path.read_bytes()
            path.write_bytes(same_size_edit(content, seed) if kind == "same size"
                             else dataset(seed, 10 + seed % 5))
            if mtime_back:  # `touch -d`: everything a user can set back, set back
                os.utime(path, ns=(first.st_atime_ns, first.st_mtime_ns))
            planned = build_desired(load_config(root)).jobs[0].datasets[0].content_hash
            assert planned == semantic_hash(path.read_bytes())
            if launch:
                assert main(["apply", "--auto-approve", "--root", str(root)]) == 0
        for name, content in staged_objects(root).items():
            assert semantic_hash(content) == name


def test_a_same_size_edit_with_its_mtime_set_back_retunes(repo: Repo) -> None:
    path = repo.root / "datasets/bigquery.jsonl"
    assert repo.cli().code == 0
    repo.advance()
    before = path.stat()
    path.write_text(path.read_text().replace("BigQuery", "BigQuerz", 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    planned = plan_json(repo)["bigquery-snippets"]
    assert planned["action"] == "retune"
    assert [change["field"] for change in planned["changes"]] == ["dataset_hash"]


def test_a_dataset_edited_while_apply_runs_is_refused_not_staged(repo: Repo) -> None:
    config = load_config(repo.root)
    with connect(config.target, repo.root) as connection:
        desired = build_desired(config, connection.storage)
        plan = make_plan(desired, connection, root=repo.root, retry_failed=False)
        # Between planning and the upload, the file changes under apply's feet.
        path = repo.root / "datasets/bigquery.jsonl"
        path.write_text(path.read_text().replace("BigQuery", "Bigquery"))
        outcomes = {o.name: o for o in apply(plan, connection.backend, connection.storage,
                                             repo.root)}
    edited = outcomes["bigquery-snippets"]
    assert not edited.ok
    assert "datasets/bigquery.jsonl changed since it was planned" in edited.detail
    assert outcomes["cloud-vision-chat"].ok  # the other job's data did not change
    launched = PipelineJobs(repo.emulator).all()
    assert [job.labels["tuneops-name"] for job in launched] == ["cloud-vision-chat"]
    staged = staged_objects(repo.root)
    assert all(semantic_hash(content) == name for name, content in staged.items())
    assert len(staged) == 1


def test_a_dataset_line_with_a_duplicate_key_is_refused_at_the_key(repo: Repo) -> None:
    path = repo.root / "datasets/bigquery.jsonl"
    path.write_text(path.read_text() + '{"input_text": "Write it: a", "input_text": "b", '
                    '"output_text": "c"}\n')
    result = repo.run("validate")
    assert result.code == 1
    assert result.err.splitlines()[0].startswith(
        "datasets/bigquery.jsonl:25:31: duplicate key 'input_text' in one JSON object")


def test_a_file_changed_in_the_tick_it_was_read_is_not_cached(repo: Repo) -> None:
    """git's racy-timestamp rule: a change in the same timestamp tick as the read, after
    it, would leave the file's identity as it was; such an entry is never stored."""
    cache = DatasetCache(repo.root)
    cache.before_reading()
    path = repo.root / "datasets/bigquery.jsonl"
    info = Dataset("datasets/bigquery.jsonl", "training", "0" * 40, 24)
    started = cache._started
    assert started is not None
    old = path.stat()
    report = DatasetReport(info, identity=(old.st_size, old.st_mtime_ns, started, old.st_ino,
                                           old.st_dev))
    cache.put("key", report)
    assert "key" not in cache.files
    report.identity = (old.st_size, old.st_mtime_ns, started - 1, old.st_ino, old.st_dev)
    cache.put("key", report)
    assert "key" in cache.files
