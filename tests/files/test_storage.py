"""Object stores: the local folder keeps to itself and writes atomically; Signature V4 matches
the documented S3 examples; the S3 store round-trips against a real S3-compatible server."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ihospital.core.clock import Clock
from ihospital.files.sigv4 import Credentials, authorization
from ihospital.files.storage import (
    LocalDirectoryStore,
    ObjectMissing,
    S3ObjectStore,
    make_object_store,
    new_key,
)
from tests.conftest import make_settings

EXAMPLE = Credentials(
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1"
)
HOST = "examplebucket.s3.amazonaws.com"
DATE = "20130524T000000Z"
PREFIX = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _sign(method, path, *, query=(), extra=None, payload=EMPTY_SHA256):
    headers = {"Host": HOST, "x-amz-date": DATE, "x-amz-content-sha256": payload, **(extra or {})}
    return authorization(
        EXAMPLE,
        method=method,
        path=path,
        query=query,
        headers=headers,
        payload_sha256=payload,
        amz_date=DATE,
    )


def test_signature_v4_matches_the_documented_get_object_example():
    assert _sign("GET", "/test.txt", extra={"Range": "bytes=0-9"}) == PREFIX + (
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_signature_v4_matches_the_documented_put_object_example():
    payload = hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()
    extra = {"Date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"}
    assert _sign("PUT", "/test$file.text", extra=extra, payload=payload) == PREFIX + (
        "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    )


def test_signature_v4_matches_the_documented_query_examples():
    lifecycle = _sign("GET", "/", query=[("lifecycle", "")])
    listing = _sign("GET", "/", query=[("prefix", "J"), ("max-keys", "2")])
    assert lifecycle.endswith(
        "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
    )
    assert listing.endswith(
        "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    )


async def test_local_store_round_trips_and_leaves_no_temporary_files(tmp_path):
    store = LocalDirectoryStore(tmp_path / "files")
    key = new_key()
    await store.put(key, b"first", content_type="image/png")
    await store.put(key, b"second", content_type="image/png")
    assert await store.get(key) == b"second"
    assert [p.name for p in (tmp_path / "files").rglob("*") if p.is_file()] == [key[3:]]
    await store.delete(key)
    with pytest.raises(ObjectMissing):
        await store.get(key)
    await store.delete(key)  # deleting what is gone is fine


@pytest.mark.parametrize(
    "key",
    ["../outside", "ab/../../outside", "/etc/passwd", "ab/" + "0" * 31 + "/", "AB/" + "0" * 32, ""],
)
async def test_local_store_refuses_keys_it_did_not_make(tmp_path, key):
    store = LocalDirectoryStore(tmp_path / "files")
    for operation in (
        store.put(key, b"x", content_type="image/png"),
        store.get(key),
        store.delete(key),
    ):
        with pytest.raises(ValueError):
            await operation
    assert list(tmp_path.rglob("*")) == []


async def test_local_store_never_writes_outside_its_folder_even_through_a_link(tmp_path):
    root, outside = tmp_path / "files", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    key = new_key()
    (root / key[:2]).symlink_to(outside, target_is_directory=True)
    store = LocalDirectoryStore(root)
    with pytest.raises(ValueError):
        await store.put(key, b"x", content_type="image/png")
    assert list(outside.iterdir()) == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    """A moto S3 server in its own process on a free port."""
    pytest.importorskip("moto.server")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the moto S3 server did not start")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


async def test_s3_store_round_trips_against_an_s3_compatible_server(s3_server):
    async with httpx.AsyncClient() as plain:
        assert (await plain.put(f"{s3_server}/ihospital-files")).status_code == 200
    store = S3ObjectStore(
        url=s3_server,
        bucket="ihospital-files",
        credentials=Credentials("testing", "testing", "us-east-1"),
        clock=Clock(),
    )
    try:
        key = new_key()
        await store.put(key, b"%PDF-1.4 body", content_type="application/pdf")
        assert await store.get(key) == b"%PDF-1.4 body"
        await store.delete(key)
        with pytest.raises(ObjectMissing):
            await store.get(key)
        with pytest.raises(ValueError):
            await store.get("../other-bucket/x")
    finally:
        await store.close()


async def test_s3_store_lists_the_keys_written_before_a_time_page_by_page(s3_server):
    async with httpx.AsyncClient() as plain:
        assert (await plain.put(f"{s3_server}/ihospital-listing")).status_code == 200
        stray = await plain.put(f"{s3_server}/ihospital-listing/not-a-key.txt", content=b"x")
        assert stray.status_code == 200
    store = S3ObjectStore(
        url=s3_server,
        bucket="ihospital-listing",
        credentials=Credentials("testing", "testing", "us-east-1"),
        clock=Clock(),
    )
    store.list_page = 2
    try:
        keys = sorted(new_key() for _ in range(3))
        for key in keys:
            await store.put(key, b"%PDF-1.4 body", content_type="application/pdf")
        now = datetime.now(UTC)
        assert sorted(await store.keys_before(now + timedelta(hours=1))) == keys
        assert await store.keys_before(now - timedelta(hours=1)) == []
    finally:
        await store.close()


async def test_the_store_is_the_data_dirs_folder_unless_a_bucket_is_configured(tmp_path):
    local = make_object_store(make_settings(tmp_path), Clock())
    assert isinstance(local, LocalDirectoryStore) and local.root == (tmp_path / "files").resolve()
    remote = make_object_store(
        make_settings(tmp_path, object_store_url="https://s3.example.com", object_store_bucket="b"),
        Clock(),
    )
    assert isinstance(remote, S3ObjectStore)
    await remote.close()
    with pytest.raises(ValueError):
        make_object_store(
            make_settings(tmp_path, object_store_url="https://s3.example.com"), Clock()
        )
