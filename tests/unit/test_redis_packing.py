"""The runtime's Redis connections pack commands with hiredis: byte for byte what redis-py sends."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import DataError

from shared.messaging.redis_streams import HiredisPacking, connect_redis

arguments = st.one_of(
    st.text(),
    st.binary(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.binary().map(memoryview),
)


def python_packed(*args: Any) -> bytes:
    return b"".join(bytes(chunk) for chunk in Connection().pack_command(*args))


def hiredis_packed(*args: Any) -> bytes:
    connection = connect_redis("redis://127.0.0.1:1/0").connection_pool.make_connection()
    assert isinstance(connection, HiredisPacking)
    return b"".join(connection.pack_command(*args))


@given(
    name=st.sampled_from(["XADD", "CONFIG GET", b"XACK", b"CLIENT SETNAME", b"CLIENT\tLIST"]),
    args=st.lists(arguments),
)
def test_hiredis_packing_matches_redis_py(name: str | bytes, args: list[Any]) -> None:
    assert hiredis_packed(name, *args) == python_packed(name, *args)


def test_large_values_are_packed_whole() -> None:
    value = "é" * 100_000
    assert hiredis_packed("SET", "k", value) == python_packed("SET", "k", value)


@pytest.mark.parametrize("value", [True, None, object()])
def test_values_redis_py_refuses_are_refused(value: Any) -> None:
    with pytest.raises(DataError):
        hiredis_packed("SET", "k", value)


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("redis://127.0.0.1:6379/0", Connection),
        ("rediss://127.0.0.1:6380/0", SSLConnection),
        ("unix:///tmp/redis.sock?db=0", UnixDomainSocketConnection),
    ],
)
def test_every_url_scheme_keeps_its_connection_kind(url: str, base: type) -> None:
    pool = connect_redis(url).connection_pool
    assert issubclass(pool.connection_class, base)
    assert issubclass(pool.connection_class, HiredisPacking)
    assert pool.connection_kwargs["socket_timeout"] == 5
