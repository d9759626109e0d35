"""Storage backends (a directory; S3 through moto's server on loopback) and the retention sweep."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from jobs import LocalStorage, S3Storage, Settings, Storage, StorageError, open_storage, sweep
from jobs.retention import pin, pinned, unpin
from jobs.storage import check_key, safe_name
from testbed.redis_server import free_port

RETENTION_S = 24 * 3600.0


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return open_storage(Settings(storage_dir=tmp_path / "store"))
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"songs-{os.getpid()}-{time.monotonic_ns()}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=bucket)
    backend = open_storage(
        Settings(
            s3_bucket=bucket,
            s3_endpoint_url=endpoint,
            s3_prefix="vr",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
    )
    assert isinstance(backend, S3Storage)
    return backend


def test_storage_interface(storage: Storage, tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(b"song")
    storage.put_file("inputs/j1/in.bin", src)
    storage.put_bytes("results/j1/vocals.mp3", b"vox")
    assert storage.exists("inputs/j1/in.bin") and not storage.exists("inputs/j2/x")
    assert storage.read_bytes("results/j1/vocals.mp3") == b"vox"
    assert storage.get_file("inputs/j1/in.bin", tmp_path / "out" / "x").read_bytes() == b"song"
    listed = {o.key: o for o in storage.list()}
    assert set(listed) == {"inputs/j1/in.bin", "results/j1/vocals.mp3"}
    assert {o.key for o in storage.list("results/")} == {"results/j1/vocals.mp3"}
    assert abs(listed["inputs/j1/in.bin"].modified_at - time.time()) < 60
    storage.delete("inputs/j1/in.bin")
    storage.delete("inputs/j1/in.bin")  # deleting twice is fine
    assert not storage.exists("inputs/j1/in.bin")
    with pytest.raises(StorageError):
        storage.read_bytes("inputs/j1/in.bin")
    if isinstance(storage, LocalStorage):
        assert storage.local_path("results/j1/vocals.mp3").read_bytes() == b"vox"
        assert not (storage.root / "inputs" / "j1").exists()  # empty folders are pruned
    else:
        assert storage.url("results/j1/vocals.mp3").startswith("http")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", "a b", ""])
def test_keys_cannot_escape_the_store(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)
    assert safe_name("../../my song (live).mp3") == "my_song_live_.mp3"
    assert safe_name("x" * 100 + ".flac") == "x" * 75 + ".flac"  # the extension survives


def test_sweep_deletes_only_expired_unpinned_files(storage: Storage, redis_server) -> None:
    connection = redis_server.client()
    for key in (
        "inputs/old/a.mp3",
        "results/old/vocals.mp3",
        "results/paid/vocals.mp3",
        "results/fresh/vocals.mp3",
    ):
        storage.put_bytes(key, b"x")
    pin(connection, ["results/paid/vocals.mp3"], "order-1")  # paid, not yet delivered
    if isinstance(storage, LocalStorage):  # make "fresh" newer than the others
        for key in ("inputs/old/a.mp3", "results/old/vocals.mp3", "results/paid/vocals.mp3"):
            old = time.time() - RETENTION_S - 60
            os.utime(storage.root / key, (old, old))
        now = time.time()
    else:  # S3 sets LastModified itself: sweep "later" instead, then put the fresh one again
        now = time.time() + RETENTION_S + 60
        storage.delete("results/fresh/vocals.mp3")
    report = sweep(storage, connection, RETENTION_S, now=now)
    assert sorted(report.deleted) == ["inputs/old/a.mp3", "results/old/vocals.mp3"]
    assert report.kept_pinned == ["results/paid/vocals.mp3"]
    remaining = {o.key for o in storage.list()}
    assert "results/paid/vocals.mp3" in remaining and "inputs/old/a.mp3" not in remaining
    # Two orders pin the same (cached) result: it stays until both were delivered.
    pin(connection, ["results/paid/vocals.mp3"], "order-2")
    assert unpin(connection, storage, ["results/paid/vocals.mp3"], "order-1") == []
    assert sweep(storage, connection, RETENTION_S, now=now).kept_pinned
    # Delivered: unpinned and touched, so it gets a whole retention period from now.
    assert unpin(connection, storage, ["results/paid/vocals.mp3"], "order-2") == ["results/paid/vocals.mp3"]
    assert pinned(connection) == {}
    assert sweep(storage, connection, RETENTION_S).deleted == []
    assert sweep(storage, connection, RETENTION_S, now=time.time() + RETENTION_S + 120).deleted
