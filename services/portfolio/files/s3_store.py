"""Files kept in S3 or an S3-compatible object store (MinIO, Ceph, Garage, a cloud's own).

The client is boto3, called from worker threads (``asyncio.to_thread``); its clients are
thread-safe, so one is shared. Why not aiobotocore or aioboto3: each release of aiobotocore
pins a narrow range of botocore, which soon conflicts with anything else that needs boto3, and
brings aiohttp, a second HTTP stack beside httpx. An upload makes one or two S3 calls, so a
thread per call costs nothing that matters, and boto3 is the SDK AWS itself maintains. It is
imported only when a district chooses S3 (``file_store_from_url``), so a disk-only deployment
never loads it.

For S3-compatible servers: with ``endpoint_url`` set, path-style addressing is used (no DNS
name per bucket), and checksums are sent only where S3 requires them, since several servers
refuse the CRC headers boto3 sends by default since 1.36. Credentials left unset fall back to
boto3's usual chain (``AWS_*`` variables, shared config, an instance or pod role). The bucket
must exist: creating it, its lifecycle and its access policy are the operator's decisions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.portfolio.files.storage import (
    STREAM_CHUNK_BYTES,
    FileNotStored,
    FileStoreError,
    FileStream,
    check_key,
)

T = TypeVar("T")

# Error codes S3 and S3-compatible servers answer for a key that holds nothing.
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class S3Store:
    """A ``FileStore`` in one bucket, under an optional key prefix."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
    ) -> None:
        if not bucket:
            raise ValueError("an S3 file store needs a bucket name")
        if (access_key is None) != (secret_key is None):
            # Said now rather than by boto3 at the first upload.
            raise ValueError("an S3 access key and its secret key are set together, or neither")
        self.bucket = bucket
        self.prefix = check_key(prefix.strip("/")) if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path" if endpoint_url else "auto"},
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=5,
                read_timeout=60,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def object_key(self, key: str) -> str:
        """The S3 object key that ``key`` is stored under."""
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes, *, media_type: str) -> None:
        object_key = self.object_key(key)
        await self._call(
            f"store {key!r}",
            lambda: self._client.put_object(
                Bucket=self.bucket, Key=object_key, Body=data, ContentType=media_type
            ),
        )

    async def get(self, key: str) -> bytes:
        object_key = self.object_key(key)

        def read_all() -> bytes:
            body = self._client.get_object(Bucket=self.bucket, Key=object_key)["Body"]
            with body:
                data: bytes = body.read()
                return data

        return await self._call(f"read {key!r}", read_all, missing=key)

    async def open_stream(self, key: str) -> FileStream:
        object_key = self.object_key(key)
        response = await self._call(
            f"read {key!r}",
            lambda: self._client.get_object(Bucket=self.bucket, Key=object_key),
            missing=key,
        )
        body = response["Body"]
        return FileStream(
            size=int(response["ContentLength"]),
            chunks=self._chunks(body, key),
            close=body.close,
        )

    async def exists(self, key: str) -> bool:
        object_key = self.object_key(key)
        # HEAD answers a bare 404 for a missing bucket too: that reads as "not stored" here,
        # and the next put or get says what is wrong.
        try:
            await self._call(
                f"look for {key!r}",
                lambda: self._client.head_object(Bucket=self.bucket, Key=object_key),
                missing=key,
            )
        except FileNotStored:
            return False
        return True

    async def delete(self, key: str) -> None:
        object_key = self.object_key(key)
        # S3 answers success for a key that holds nothing, as the contract asks.
        await self._call(
            f"delete {key!r}",
            lambda: self._client.delete_object(Bucket=self.bucket, Key=object_key),
        )

    async def _chunks(self, body: Any, key: str) -> AsyncIterator[bytes]:
        chunks = body.iter_chunks(STREAM_CHUNK_BYTES)
        try:
            while chunk := await self._call(f"read {key!r}", lambda: next(chunks, b"")):
                yield chunk
        finally:
            body.close()

    async def _call(self, action: str, call: Callable[[], T], *, missing: str | None = None) -> T:
        try:
            return await asyncio.to_thread(call)
        except ClientError as error:
            details = error.response.get("Error", {})
            code = str(details.get("Code", ""))
            if missing is not None and code in _MISSING_CODES:
                raise FileNotStored(missing) from None
            raise self._error(action, f"{code}: {details.get('Message', error)}") from error
        except BotoCoreError as error:
            raise self._error(action, str(error)) from error

    def _error(self, action: str, detail: str) -> FileStoreError:
        where = f"S3 bucket {self.bucket!r}" + (
            f" at {self.endpoint_url}" if self.endpoint_url else ""
        )
        return FileStoreError(f"the file store in {where} could not {action}: {detail}")
