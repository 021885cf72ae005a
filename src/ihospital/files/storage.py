"""Object stores: where the bytes of stored files live, by key.

Keys are made here (:func:`new_key`), never from anything a user sent, and every store refuses
any other shape of key. Two implementations of one interface: a directory under the data dir
(the default) and an S3-compatible service (``IHOSPITAL_OBJECT_STORE_URL`` and its bucket and
keys), spoken to with httpx and Signature Version 4.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from xml.etree import ElementTree

import httpx

from ihospital.config import Settings
from ihospital.core.clock import Clock
from ihospital.files.sigv4 import Credentials, authorization

KEY_PATTERN = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}")
_S3 = "{http://s3.amazonaws.com/doc/2006-03-01/}"


class ObjectStoreError(Exception):
    """The store could not do what was asked (unreachable, refused, or the key is missing)."""


class ObjectMissing(ObjectStoreError):
    """No object is stored under the key."""


def new_key() -> str:
    """A fresh random key: two hex digits of fan-out, then 128 random bits in hex."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}"


def checked_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"not an object key: {key!r}")
    return key


class ObjectStore(Protocol):
    async def put(self, key: str, data: bytes, *, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    async def keys_before(self, cutoff: datetime) -> list[str]:
        """The keys of the objects written before ``cutoff`` (for the orphan sweep)."""
        ...

    async def close(self) -> None: ...


class LocalDirectoryStore:
    """Objects as files under ``root``; a write goes to a temporary file in the same folder and
    is renamed into place, so a reader never sees half an object."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / checked_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"not an object key: {key!r}")
        return path

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError as missing:
            raise ObjectMissing(str(path.name)) from missing

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._read, self._path(key))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def _keys_before(self, cutoff: datetime) -> list[str]:
        if not self.root.is_dir():
            return []
        keys = []
        for path in self.root.glob("*/*"):
            key = f"{path.parent.name}/{path.name}"
            if not KEY_PATTERN.fullmatch(key) or not path.is_file() or path.is_symlink():
                continue  # temporary files of writes under way, and anything not ours
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff:
                keys.append(key)
        return keys

    async def keys_before(self, cutoff: datetime) -> list[str]:
        return await asyncio.to_thread(self._keys_before, cutoff)

    async def close(self) -> None:
        return None


class S3ObjectStore:
    """Objects in one bucket of an S3-compatible service, addressed path-style
    (``{url}/{bucket}/{key}``) so that any endpoint works, signed with Signature Version 4."""

    list_page = 1000  # keys a listing answers at most at once

    def __init__(
        self,
        *,
        url: str,
        bucket: str,
        credentials: Credentials,
        clock: Clock,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base = httpx.URL(url.rstrip("/") + "/")
        self.bucket = bucket
        self.credentials = credentials
        self.clock = clock
        self.client = client or httpx.AsyncClient(timeout=30)

    async def _send(
        self,
        method: str,
        key: str | None,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        query: Sequence[tuple[str, str]] = (),
    ) -> httpx.Response:
        path = f"{self.bucket}/{checked_key(key)}" if key is not None else self.bucket
        url = self.base.join(path).copy_with(params=list(query) or None)
        signed = {
            "host": url.netloc.decode("ascii"),
            "x-amz-date": self.clock.now().strftime("%Y%m%dT%H%M%SZ"),
            "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
            **(headers or {}),
        }
        signed["authorization"] = authorization(
            self.credentials,
            method=method,
            path=url.path,
            query=query,
            headers=signed,
            payload_sha256=signed["x-amz-content-sha256"],
            amz_date=signed["x-amz-date"],
        )
        try:
            return await self.client.request(method, url, content=body, headers=signed)
        except httpx.HTTPError as failure:
            raise ObjectStoreError(f"{method} {key}: {failure}") from failure

    @staticmethod
    def _ensure(response: httpx.Response, *accepted: int) -> None:
        if response.status_code not in accepted:
            raise ObjectStoreError(
                f"{response.request.method} answered {response.status_code}: {response.text[:200]}"
            )

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        response = await self._send("PUT", key, body=data, headers={"content-type": content_type})
        self._ensure(response, 200)

    async def get(self, key: str) -> bytes:
        response = await self._send("GET", key)
        if response.status_code == 404:
            raise ObjectMissing(key)
        self._ensure(response, 200)
        return response.content

    async def delete(self, key: str) -> None:
        self._ensure(await self._send("DELETE", key), 200, 204, 404)

    async def keys_before(self, cutoff: datetime) -> list[str]:
        keys: list[str] = []
        token = None
        while True:
            query = [("list-type", "2"), ("max-keys", str(self.list_page))]
            query += [("continuation-token", token)] if token else []
            response = await self._send("GET", None, query=query)
            self._ensure(response, 200)
            # the configured store's own answer, read only for keys and dates
            listing = ElementTree.fromstring(response.content)  # noqa: S314
            for item in listing.iter(f"{_S3}Contents"):
                key = item.findtext(f"{_S3}Key") or ""
                modified = datetime.fromisoformat(item.findtext(f"{_S3}LastModified") or "")
                if KEY_PATTERN.fullmatch(key) and modified < cutoff:
                    keys.append(key)
            token = listing.findtext(f"{_S3}NextContinuationToken")
            if listing.findtext(f"{_S3}IsTruncated") != "true" or not token:
                return keys

    async def close(self) -> None:
        await self.client.aclose()


def make_object_store(settings: Settings, clock: Clock) -> ObjectStore:
    """S3-compatible when ``object_store_url`` is set, else the ``files`` folder of the data
    dir."""
    if not settings.object_store_url:
        return LocalDirectoryStore(settings.data_dir / "files")
    if not settings.object_store_bucket:
        raise ValueError("IHOSPITAL_OBJECT_STORE_URL needs IHOSPITAL_OBJECT_STORE_BUCKET")
    return S3ObjectStore(
        url=settings.object_store_url,
        bucket=settings.object_store_bucket,
        credentials=Credentials(
            access_key=settings.object_store_access_key,
            secret_key=settings.object_store_secret_key,
            region=settings.object_store_region,
        ),
        clock=clock,
    )
