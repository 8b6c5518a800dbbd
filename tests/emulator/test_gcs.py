"""The storage emulator through the real google.cloud.storage.Client: buckets, uploads of every
kind, downloads, listing, deletes, patches, preconditions, restarts and the lease race."""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import google_crc32c
import pytest
import requests
from google.api_core.exceptions import (
    Conflict,
    MethodNotImplemented,
    NotFound,
    NotModified,
    PreconditionFailed,
)
from google.cloud import storage

from reconciler.emulator.gcs import ObjectReader, StorageServer, start_storage
from tests.emulator.gcs_clients import LOST, WON, client, race_in_process, race_with_own_server
from tests.emulator.gcs_clients import try_write as write

BUCKET = "tuneops-staging"
LEASE = "leases/bigquery-snippets-0123456789abcdef0123456789abcdef01234567"
RACERS = 12
# Each spawned process imports the client (and, to start its own server, reconciler.emulator,
# whose package imports the gRPC emulator: 1.6 s of CPU), so fewer of them race.
PROCESS_RACERS = 6
# The client sends objects above 8 MiB as a resumable upload, in chunks of blob.chunk_size.
RESUMABLE_SIZE = (9 << 20) + 12345
CHUNK = 1 << 20


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "storage"


@pytest.fixture
def server(state_dir: Path) -> Iterator[StorageServer]:
    started, _ = start_storage(state_dir)
    with started:
        yield started


@pytest.fixture
def gcs(server: StorageServer) -> storage.Client:
    return client(server.endpoint)


@pytest.fixture
def bucket(gcs: storage.Client) -> storage.Bucket:
    return gcs.create_bucket(BUCKET)


def digests(data: bytes) -> tuple[str, str]:
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    crc = base64.b64encode(google_crc32c.Checksum(data).digest()).decode()
    return md5, crc


def test_buckets_create_get_and_conflict(gcs: storage.Client) -> None:
    assert gcs.lookup_bucket(BUCKET) is None
    with pytest.raises(NotFound):
        gcs.get_bucket(BUCKET)
    gcs.create_bucket(BUCKET)
    assert gcs.get_bucket(BUCKET).name == BUCKET
    assert gcs.lookup_bucket(BUCKET) is not None
    with pytest.raises(Conflict):
        gcs.create_bucket(BUCKET)


def test_small_upload_round_trip(bucket: storage.Bucket) -> None:
    data = b'{"input_text": "def f():", "output_text": "pass"}\n' * 100
    blob = bucket.blob("datasets/abc.jsonl")
    blob.upload_from_string(data, content_type="application/jsonl", if_generation_match=0)
    md5, crc = digests(data)
    fetched = bucket.get_blob("datasets/abc.jsonl")
    assert fetched is not None
    assert (fetched.md5_hash, fetched.crc32c, fetched.size) == (md5, crc, len(data))
    assert (blob.md5_hash, blob.crc32c, blob.generation) == (md5, crc, fetched.generation)
    assert fetched.content_type == "application/jsonl"
    assert fetched.metageneration == 1
    assert fetched.time_created is not None and fetched.updated is not None
    assert fetched.etag
    # The client checks the body against x-goog-hash, so a wrong checksum would raise here.
    assert bucket.blob("datasets/abc.jsonl").download_as_bytes() == data
    assert fetched.download_as_bytes(start=9, end=19) == data[9:20]


def test_resumable_upload_and_download_of_files(bucket: storage.Bucket, tmp_path: Path,
                                                server: StorageServer) -> None:
    data = bytes(range(256)) * (RESUMABLE_SIZE // 256) + b"tail"
    source, target = tmp_path / "big.jsonl", tmp_path / "back.jsonl"
    source.write_bytes(data)
    blob = bucket.blob("datasets/big.jsonl", chunk_size=CHUNK)
    blob.upload_from_filename(str(source), if_generation_match=0)
    assert (blob.md5_hash, blob.crc32c) == digests(data)
    with server.store.db.read() as conn:  # it really went through a resumable session
        (finished,) = conn.execute("SELECT count(*) FROM sessions WHERE result IS NOT NULL")
    assert tuple(finished) == (1,)
    bucket.blob("datasets/big.jsonl").download_to_filename(str(target))
    assert target.read_bytes() == data


def test_resumable_upload_honours_preconditions(bucket: storage.Bucket) -> None:
    bucket.blob("big").upload_from_string(b"first")
    second = bucket.blob("big", chunk_size=CHUNK)
    with pytest.raises(PreconditionFailed):
        second.upload_from_string(b"x" * RESUMABLE_SIZE, if_generation_match=0)
    assert bucket.blob("big").download_as_bytes() == b"first"


def test_resumable_upload_checks_preconditions_again_when_it_ends(
        bucket: storage.Bucket) -> None:
    # The session starts while the lease is free; another writer takes it before the last byte.
    session = bucket.blob(LEASE).create_resumable_upload_session(if_generation_match=0)
    bucket.blob(LEASE).upload_from_string(b"other holder", if_generation_match=0)
    response = requests.put(session, data=b"mine", timeout=10)
    assert response.status_code == 412
    assert response.json()["error"]["errors"][0]["reason"] == "conditionNotMet"
    assert bucket.blob(LEASE).download_as_bytes() == b"other holder"


def test_object_reader_reads_the_shared_store(bucket: storage.Bucket,
                                             server: StorageServer) -> None:
    read = ObjectReader(server.store)
    assert read(f"gs://{BUCKET}/datasets/a.jsonl") is None
    assert read("gs://no-such-bucket/datasets/a.jsonl") is None
    bucket.blob("datasets/a.jsonl").upload_from_string(b"{}")
    stream = read(f"gs://{BUCKET}/datasets/a.jsonl")
    assert stream is not None
    with stream:  # a stream, read as the caller goes: never the whole object in memory
        assert stream.read() == b"{}"


def test_list_with_prefix_and_pages(gcs: storage.Client, bucket: storage.Bucket) -> None:
    names = [f"datasets/{index:03d}.jsonl" for index in range(23)]
    for name in [*names, "leases/a", "datasets", "datasets0", "datasets/é", "datasets/z/deep"]:
        bucket.blob(name).upload_from_string(name.encode())
    listing = gcs.list_blobs(BUCKET, prefix="datasets/", page_size=5)
    pages = [[blob.name for blob in page] for page in listing.pages]
    assert [len(page) for page in pages] == [5, 5, 5, 5, 5]
    assert [name for page in pages for name in page] == [*names, "datasets/z/deep", "datasets/é"]
    assert [blob.name for blob in gcs.list_blobs(BUCKET, prefix="leases/")] == ["leases/a"]
    assert [blob.name for blob in gcs.list_blobs(BUCKET, prefix="nothing")] == []
    assert len(list(gcs.list_blobs(BUCKET))) == 28
    assert len(list(gcs.list_blobs(BUCKET, max_results=7))) == 7


def test_exists_and_delete(bucket: storage.Bucket) -> None:
    blob = bucket.blob("datasets/gone.jsonl")
    assert not blob.exists()
    blob.upload_from_string(b"x")
    assert blob.exists()
    with pytest.raises(PreconditionFailed):
        blob.delete(if_generation_match=blob.generation + 1)
    blob.delete(if_generation_match=blob.generation)
    assert not blob.exists()
    assert bucket.get_blob("datasets/gone.jsonl") is None
    with pytest.raises(NotFound):
        blob.delete()
    with pytest.raises(NotFound):
        bucket.blob("datasets/gone.jsonl").download_as_bytes()


def test_patch_metadata_and_metageneration(bucket: storage.Bucket) -> None:
    blob = bucket.blob("leases/x")
    blob.upload_from_string(b"{}")
    generation = blob.generation
    blob.metadata = {"owner": "run-1"}
    blob.patch(if_metageneration_match=1)
    assert (blob.metageneration, blob.generation) == (2, generation)
    with pytest.raises(PreconditionFailed):
        blob.patch(if_metageneration_match=1)
    reloaded = bucket.get_blob("leases/x")
    assert reloaded is not None
    assert reloaded.metadata == {"owner": "run-1"}


def test_read_preconditions(bucket: storage.Bucket) -> None:
    blob = bucket.blob("leases/y")
    blob.upload_from_string(b"{}")
    assert blob.generation is not None
    blob.reload(if_generation_match=blob.generation)
    with pytest.raises(PreconditionFailed):
        blob.reload(if_generation_match=blob.generation + 1)
    with pytest.raises(NotModified):  # a failed *NotMatch on a read is 304, as on the service
        blob.reload(if_generation_not_match=blob.generation)
    with pytest.raises(PreconditionFailed):
        blob.download_as_bytes(if_generation_match=0)


def test_generations_increase_per_write(bucket: storage.Bucket) -> None:
    blob = bucket.blob("leases/z")
    generations = []
    for payload in (b"1", b"2", b"3"):
        blob.upload_from_string(payload)
        generations.append(blob.generation)
    assert generations == sorted(set(generations))


def test_state_survives_restart_and_is_shared(state_dir: Path) -> None:
    first, endpoint = start_storage(state_dir)
    with first:
        client(endpoint).create_bucket(BUCKET).blob("a").upload_from_string(b"one")
    second, endpoint = start_storage(state_dir)
    third, other = start_storage(state_dir)  # started before "b" exists, must still see it
    with second, third:
        kept = client(endpoint).bucket(BUCKET).get_blob("a")
        assert kept is not None and kept.download_as_bytes() == b"one"
        client(endpoint).bucket(BUCKET).blob("b").upload_from_string(b"two")
        seen = client(other).bucket(BUCKET).get_blob("b")
        assert seen is not None and seen.download_as_bytes() == b"two"
        assert seen.generation > kept.generation


def test_lease_race_between_threads(gcs: storage.Client, server: StorageServer) -> None:
    gcs.create_bucket(BUCKET)
    start = threading.Barrier(RACERS)

    def racer(index: int) -> str:
        start.wait()
        return write(server.endpoint, BUCKET, LEASE, 0, f"holder {index}".encode())

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(racer, range(RACERS)))
    _assert_one_winner(gcs, outcomes)


def test_lease_race_between_processes(gcs: storage.Client, server: StorageServer) -> None:
    gcs.create_bucket(BUCKET)
    outcomes = _race_processes(race_in_process, server.endpoint, BUCKET, LEASE, 0, b"p")
    _assert_one_winner(gcs, outcomes)


def test_lease_race_between_servers_on_one_state_dir(gcs: storage.Client,
                                                     state_dir: Path) -> None:
    gcs.create_bucket(BUCKET)
    outcomes = _race_processes(race_with_own_server, str(state_dir), BUCKET, LEASE, b"s")
    _assert_one_winner(gcs, outcomes)


def test_lease_takeover(gcs: storage.Client, server: StorageServer) -> None:
    gcs.create_bucket(BUCKET)
    held = write(server.endpoint, BUCKET, LEASE, 0, b"first holder")
    stale = int(held.removeprefix(f"{WON}:"))
    # Many try to take over the stale lease at once: one does.
    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(
            lambda index: write(server.endpoint, BUCKET, LEASE, stale, b"taker %d" % index),
            range(RACERS)))
    winner = _assert_one_winner(gcs, outcomes)
    assert winner > stale
    # A late taker holding the old generation loses.
    assert write(server.endpoint, BUCKET, LEASE, stale, b"late") == LOST
    # The winner's generation is the one a next takeover must name.
    assert write(server.endpoint, BUCKET, LEASE, winner, b"next").startswith(WON)


def test_unsupported_requests_are_rejected_clearly(gcs: storage.Client,
                                                   bucket: storage.Bucket) -> None:
    with pytest.raises(MethodNotImplemented, match="delimiter"):
        list(gcs.list_blobs(BUCKET, delimiter="/"))
    with pytest.raises(MethodNotImplemented, match="predefinedAcl"):
        bucket.blob("x").upload_from_string(b"x", predefined_acl="publicRead")
    with pytest.raises(MethodNotImplemented):
        list(gcs.list_buckets())


def test_declared_checksum_mismatch_is_refused(bucket: storage.Bucket,
                                               server: StorageServer) -> None:
    boundary = "b0und4ry"
    metadata = {"name": "bad", "crc32c": digests(b"other")[1]}
    body = (f"--{boundary}\r\ncontent-type: application/json\r\n\r\n{json.dumps(metadata)}"
            f"\r\n--{boundary}\r\ncontent-type: text/plain\r\n\r\nbytes\r\n--{boundary}--")
    response = requests.post(
        f"{server.endpoint}/upload/storage/v1/b/{BUCKET}/o?uploadType=multipart",
        data=body.encode(), headers={"Content-Type": f"multipart/related; boundary={boundary}"},
        timeout=10)
    assert response.status_code == 400
    assert "doesn't match calculated CRC32C" in response.json()["error"]["message"]
    assert not bucket.blob("bad").exists()


def test_stop_is_prompt_and_ends_keep_alive_connections(state_dir: Path) -> None:
    server, endpoint = start_storage(state_dir)
    gcs = client(endpoint)
    gcs.create_bucket(BUCKET)  # leaves a pooled keep-alive connection open
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 0.25
    with pytest.raises(requests.exceptions.ConnectionError):
        gcs.bucket(BUCKET).blob("a").exists(retry=None)


def _race_processes(target: Callable[..., None], *args: object) -> list[str]:
    context = multiprocessing.get_context("spawn")  # no fork of a process with server threads
    start, results = context.Barrier(PROCESS_RACERS), context.Queue()
    processes = [context.Process(target=target, args=(*args, start, results))
                 for _ in range(PROCESS_RACERS)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return outcomes


def _assert_one_winner(gcs: storage.Client, outcomes: list[str]) -> int:
    winners = [outcome for outcome in outcomes if outcome.startswith(WON)]
    assert len(winners) == 1, outcomes
    assert outcomes.count(LOST) == len(outcomes) - 1, outcomes
    generation = int(winners[0].removeprefix(f"{WON}:"))
    lease = gcs.bucket(BUCKET).get_blob(LEASE)
    assert lease is not None and lease.generation == generation
    return generation
