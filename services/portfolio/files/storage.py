"""Where a portfolio's files are kept: the contract every store keeps, and the keys it accepts.

A store keeps bytes under a key and knows nothing of students or media: the portfolio's
database says which key belongs to which work sample. Keys are checked here, the same for
every store, so a key that works on a developer's disk works on S3 and the other way round.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

# Long enough for "students/<id>/<uuid>.<ext>" and short enough that a key, flattened into one
# file name on disk, fits every file system's 255-byte limit.
MAX_KEY_LENGTH = 200
# Plain ASCII, so the same key means the same thing on every file system and in every URL; a
# part never starts with a dot, so "." and ".." (and hidden files) cannot be named.
_KEY_PART = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
STREAM_CHUNK_BYTES = 256 * 1024


class UnsafeFileKey(ValueError):
    """A key that could name something outside the store, or mean different things on
    different stores."""


class FileNotStored(LookupError):
    """Nothing is stored under this key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no file is stored under {key!r}")
        self.key = key


class FileStoreError(Exception):
    """The store could not do what was asked (disk full, bucket unreachable, access denied)."""


@dataclass
class FileStream:
    """A stored file being read: its size, and its bytes in chunks (``async for``).

    The file is let go of when the chunks run out; to stop early, call ``aclose`` (or use
    ``async with``), e.g. as the background task of a streaming HTTP response.
    """

    size: int
    chunks: AsyncIterator[bytes]
    close: Callable[[], None]

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.chunks

    async def aclose(self) -> None:
        close_chunks = getattr(self.chunks, "aclose", None)
        if close_chunks is not None:
            await close_chunks()
        # An async generator never started runs no finally block: close the file here too.
        self.close()

    async def __aenter__(self) -> FileStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class FileStore(Protocol):
    """Keeps bytes under keys. Every method raises ``UnsafeFileKey`` for a key that
    ``check_key`` refuses, and ``FileStoreError`` when the backend fails."""

    async def put(self, key: str, data: bytes, *, media_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there; all of it or nothing."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; ``FileNotStored`` if there are none."""
        ...

    async def open_stream(self, key: str) -> FileStream:
        """The bytes under ``key`` in chunks, to serve a file without holding it all;
        ``FileNotStored`` (raised here, before any chunk) if there are none."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether something is stored under ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Remove what is stored under ``key``; nothing happens if there is nothing."""
        ...


def check_key(key: str) -> str:
    """``key`` if it is safe on every store: ``/``-separated parts of ASCII letters, digits,
    ``.``, ``_`` and ``-``, no part starting with a dot, at most ``MAX_KEY_LENGTH`` long."""
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LENGTH:
        raise UnsafeFileKey(f"a file key has 1 to {MAX_KEY_LENGTH} characters: {key!r}")
    if not all(_KEY_PART.fullmatch(part) for part in key.split("/")):
        raise UnsafeFileKey(
            f"a file key is made of parts separated by '/', each of ASCII letters, digits,"
            f" '.', '_' and '-' and not starting with '.': {key!r}"
        )
    return key
