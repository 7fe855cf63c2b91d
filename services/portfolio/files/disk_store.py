"""Files kept on a local disk: for development, tests and single-server districts.

Each key becomes one file, ``<root>/<aa>/<bb>/<key with '/' as '~'>``, where ``aa`` and ``bb``
come from the SHA-256 of the key: 65,536 directories keep each small with millions of files,
and flattening the key means ``a`` and ``a/b`` can both be stored. A write goes to a temporary
file in the same directory, is flushed to the disk, then renamed over the old file, so a reader
sees the old bytes or the new ones, never half of them, even if the server stops mid-write.
Temporary files start with ``.`` (which no key can), so a crash leaves only ``.tmp-*`` files that
are safe to delete. Files are created readable by the service's user only.

The file system is used from worker threads (``asyncio.to_thread``): it blocks.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import BinaryIO, TypeVar

from services.portfolio.files.storage import (
    STREAM_CHUNK_BYTES,
    FileNotStored,
    FileStoreError,
    FileStream,
    check_key,
)

T = TypeVar("T")

DEFAULT_ROOT = Path("./var/portfolio-files")
# Not allowed in keys, so a flattened key maps back to exactly one key.
_FLATTENED_SEPARATOR = "~"


class LocalDiskStore:
    """A ``FileStore`` in a directory of the local file system."""

    def __init__(self, root: Path = DEFAULT_ROOT) -> None:
        # Resolved now, so a later change of working directory does not move the files.
        self.root = root.resolve()

    def path_of(self, key: str) -> Path:
        """Where ``key`` is stored (whether or not it is)."""
        check_key(key)
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.root / digest[:2] / digest[2:4] / key.replace("/", _FLATTENED_SEPARATOR)

    async def put(self, key: str, data: bytes, *, media_type: str) -> None:
        # The media type is the database's to record: a file on disk has nowhere to keep it.
        path = self.path_of(key)
        await self._run(f"write {key!r}", _write_atomically, path, data)

    async def get(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise FileNotStored(key) from None
        except OSError as error:
            raise self._error(f"read {key!r}", error) from error

    async def open_stream(self, key: str) -> FileStream:
        path = self.path_of(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise FileNotStored(key) from None
        except OSError as error:
            raise self._error(f"read {key!r}", error) from error
        size = os.fstat(handle.fileno()).st_size
        return FileStream(size=size, chunks=self._chunks(handle, key), close=handle.close)

    async def exists(self, key: str) -> bool:
        path = self.path_of(key)
        return await self._run(f"look for {key!r}", path.is_file)

    async def delete(self, key: str) -> None:
        path = self.path_of(key)
        await self._run(f"delete {key!r}", partial(path.unlink, missing_ok=True))

    async def _chunks(self, handle: BinaryIO, key: str) -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(handle.read, STREAM_CHUNK_BYTES):
                yield chunk
        except OSError as error:
            raise self._error(f"read {key!r}", error) from error
        finally:
            handle.close()

    async def _run(self, action: str, function: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.to_thread(function, *args)
        except OSError as error:
            raise self._error(action, error) from error

    def _error(self, action: str, error: OSError) -> FileStoreError:
        return FileStoreError(
            f"the file store at {self.root} could not {action}: {error.strerror or error}"
        )


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry itself reaches the disk.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
