"""One contract, two stores: a directory on disk, and S3 spoken to a real S3-compatible server.

The S3 server is moto's (``moto_server``, from the ``moto[s3]`` test dependency), run as a
separate process on a free port of 127.0.0.1: the store's boto3 client talks HTTP to it exactly
as it would to MinIO or AWS. No MinIO server can be installed from PyPI, npm or Debian, and
moto's is a maintained implementation of the S3 API.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import HTTPException

from devstack.redis_server import free_port
from services.portfolio.evidence.stored_files import put_all
from services.portfolio.files import (
    FileNotStored,
    FileStore,
    FileStoreError,
    LocalDiskStore,
    UnsafeFileKey,
    file_store_from_settings,
    file_store_from_url,
    media_limits_from_settings,
)
from services.portfolio.files.disk_store import DEFAULT_ROOT
from services.portfolio.settings import PortfolioSettings

S3_ACCESS_KEY = "portfolio-test"
S3_SECRET_KEY = "portfolio-test-secret"
S3_REGION = "us-east-1"
SERVER_START_SECONDS = 30
LARGE_FILE_BYTES = 30 * 1024 * 1024


@dataclass
class S3Server:
    endpoint_url: str
    process: subprocess.Popen[bytes]

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=S3_REGION,
            aws_access_key_id=S3_ACCESS_KEY,
            aws_secret_access_key=S3_SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}),
        )

    def new_bucket(self) -> str:
        bucket = f"portfolio-files-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server as a child process on 127.0.0.1, for the whole session."""
    missing = [
        name for name in ("moto", "flask", "flask_cors") if not importlib.util.find_spec(name)
    ]
    if missing:
        pytest.skip(
            f"no S3 server to test against: {', '.join(missing)} not installed"
            " (pip install -e '.[test]')"
        )
    port = free_port()
    log_path = tmp_path_factory.mktemp("s3-server") / "moto_server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = S3Server(endpoint_url=f"http://127.0.0.1:{port}", process=process)
    try:
        _wait_until_answering(server, log_path)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(server: S3Server, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.skip(
                f"the S3 server (moto_server) exited with {server.process.returncode}:"
                f" {log_path.read_text(errors='replace')[-500:]}"
            )
        try:
            if httpx.get(server.endpoint_url, timeout=1, trust_env=False).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    pytest.skip(f"the S3 server (moto_server) did not answer in {SERVER_START_SECONDS} s")


def files_under(root: Path) -> list[Path]:
    """Every file under ``root``, temporary ones included."""
    return sorted(path for path in root.rglob("*") if path.is_file())


def s3_store(server: S3Server, bucket: str, *, prefix: str = "district-a") -> FileStore:
    return file_store_from_url(
        f"s3://{bucket}/{prefix}",
        s3_endpoint_url=server.endpoint_url,
        s3_region=S3_REGION,
        s3_access_key_id=S3_ACCESS_KEY,
        s3_secret_access_key=S3_SECRET_KEY,
    )


@pytest.fixture(params=["disk", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FileStore:
    """Each store, empty."""
    if request.param == "disk":
        return LocalDiskStore(tmp_path / "portfolio-files")
    server: S3Server = request.getfixturevalue("s3_server")
    return s3_store(server, server.new_bucket())


# --- the contract ------------------------------------------------------------------------------


async def test_what_is_put_is_got_back(store: FileStore) -> None:
    await store.put("students/s-ava/drawing.png", b"\x89PNG pixels", media_type="image/png")

    assert await store.get("students/s-ava/drawing.png") == b"\x89PNG pixels"
    assert await store.exists("students/s-ava/drawing.png")


async def test_a_put_replaces_what_was_there(store: FileStore) -> None:
    await store.put("students/s-ava/story.pdf", b"first draft", media_type="application/pdf")
    await store.put("students/s-ava/story.pdf", b"final", media_type="application/pdf")

    assert await store.get("students/s-ava/story.pdf") == b"final"


async def test_nothing_is_stored_under_a_key_never_put(store: FileStore) -> None:
    assert not await store.exists("students/s-ava/nothing.jpg")
    with pytest.raises(FileNotStored) as missing:
        await store.get("students/s-ava/nothing.jpg")
    assert missing.value.key == "students/s-ava/nothing.jpg"
    with pytest.raises(FileNotStored):
        await store.open_stream("students/s-ava/nothing.jpg")


async def test_a_deleted_file_is_gone_and_deleting_again_is_harmless(store: FileStore) -> None:
    await store.put("students/s-gio/song.webm", b"la la", media_type="audio/webm")

    await store.delete("students/s-gio/song.webm")
    await store.delete("students/s-gio/song.webm")

    assert not await store.exists("students/s-gio/song.webm")
    with pytest.raises(FileNotStored):
        await store.get("students/s-gio/song.webm")


async def test_keys_that_nest_in_each_other_are_separate_files(store: FileStore) -> None:
    await store.put("students", b"outer", media_type="text/plain")
    await store.put("students/s-ava", b"inner", media_type="text/plain")

    assert (await store.get("students"), await store.get("students/s-ava")) == (b"outer", b"inner")


async def test_an_empty_file_round_trips(store: FileStore) -> None:
    await store.put("empty.bin", b"", media_type="application/octet-stream")

    assert await store.get("empty.bin") == b""
    async with await store.open_stream("empty.bin") as stream:
        assert stream.size == 0
        assert [chunk async for chunk in stream] == []


UNSAFE_KEYS = [
    "",
    "../outside.jpg",
    "students/../../etc/passwd",
    "/etc/passwd",
    "students//s-ava.jpg",
    "students/s-ava/",
    "./here.jpg",
    ".hidden",
    "students/.tmp-123",
    "C:\\Windows\\win.ini",
    "a b.jpg",
    "caf\u00e9.jpg",
    "nul\x00byte.jpg",
    "new\nline.jpg",
    "percent%2F.jpg",
    "tilde~key.jpg",
    "x" * 201,
]


@pytest.mark.parametrize("key", UNSAFE_KEYS)
async def test_keys_with_unsafe_characters_are_refused_by_every_operation(
    store: FileStore, key: str
) -> None:
    with pytest.raises(UnsafeFileKey):
        await store.put(key, b"x", media_type="text/plain")
    with pytest.raises(UnsafeFileKey):
        await store.get(key)
    with pytest.raises(UnsafeFileKey):
        await store.open_stream(key)
    with pytest.raises(UnsafeFileKey):
        await store.exists(key)
    with pytest.raises(UnsafeFileKey):
        await store.delete(key)


async def test_a_large_file_round_trips_whole_and_streamed(store: FileStore) -> None:
    video = os.urandom(LARGE_FILE_BYTES)

    await store.put("students/s-ava/recital.mp4", video, media_type="video/mp4")

    fetched = await store.get("students/s-ava/recital.mp4")
    assert hashlib.sha256(fetched).digest() == hashlib.sha256(video).digest()
    stream = await store.open_stream("students/s-ava/recital.mp4")
    assert stream.size == LARGE_FILE_BYTES
    digest, chunks = hashlib.sha256(), 0
    async for chunk in stream:
        digest.update(chunk)
        chunks += 1
    assert digest.digest() == hashlib.sha256(video).digest()
    assert chunks > 1, "served in chunks, not all at once"


async def test_a_stream_can_be_abandoned_part_way(store: FileStore) -> None:
    await store.put("students/s-ava/long.wav", b"\x00" * 1_000_000, media_type="audio/wav")

    stream = await store.open_stream("students/s-ava/long.wav")
    first = await anext(aiter(stream))
    await stream.aclose()
    never_read = await store.open_stream("students/s-ava/long.wav")
    await never_read.aclose()

    assert first
    assert await store.get("students/s-ava/long.wav") == b"\x00" * 1_000_000


# --- on disk -------------------------------------------------------------------------------------


async def test_disk_files_are_sharded_private_and_leave_no_temporary_files(tmp_path: Path) -> None:
    store = LocalDiskStore(tmp_path)

    await store.put("students/s-ava/drawing.png", b"pixels", media_type="image/png")

    path = store.path_of("students/s-ava/drawing.png")
    digest = hashlib.sha256(b"students/s-ava/drawing.png").hexdigest()
    assert path == tmp_path / digest[:2] / digest[2:4] / "students~s-ava~drawing.png"
    assert path.read_bytes() == b"pixels"
    assert path.stat().st_mode & 0o777 == 0o600
    assert files_under(tmp_path) == [path]


async def test_a_failed_disk_write_keeps_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalDiskStore(tmp_path)
    await store.put("students/s-ava/story.pdf", b"the old story", media_type="application/pdf")

    def disk_full(source: str, destination: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(FileStoreError, match=r"could not write 'students/s-ava/story\.pdf'"):
        await store.put("students/s-ava/story.pdf", b"the new st", media_type="application/pdf")
    monkeypatch.undo()

    assert await store.get("students/s-ava/story.pdf") == b"the old story"
    assert [path.name for path in files_under(tmp_path)] == ["students~s-ava~story.pdf"]


async def test_disk_errors_become_file_store_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    store = LocalDiskStore(blocker)

    with pytest.raises(FileStoreError, match=r"file store at .*not-a-directory could not write"):
        await store.put("students/s-ava/drawing.png", b"pixels", media_type="image/png")


def test_the_default_disk_store_is_under_var() -> None:
    assert LocalDiskStore().root == DEFAULT_ROOT.resolve()
    store = file_store_from_url(PortfolioSettings().files_url)
    assert isinstance(store, LocalDiskStore)
    assert store.root == Path("var/portfolio-files").resolve()


# --- on S3 ---------------------------------------------------------------------------------------


async def test_s3_objects_live_under_the_prefix_with_their_media_type(s3_server: S3Server) -> None:
    bucket = s3_server.new_bucket()
    store = s3_store(s3_server, bucket, prefix="district-a/portfolio")

    await store.put("students/s-ava/drawing.png", b"pixels", media_type="image/png")

    stored = s3_server.client().get_object(
        Bucket=bucket, Key="district-a/portfolio/students/s-ava/drawing.png"
    )
    assert stored["ContentType"] == "image/png"
    assert stored["Body"].read() == b"pixels"


async def test_s3_errors_become_file_store_errors_that_name_the_bucket(
    s3_server: S3Server,
) -> None:
    store = s3_store(s3_server, "no-such-bucket-here")

    with pytest.raises(FileStoreError, match=r"no-such-bucket-here.*NoSuchBucket"):
        await store.put("students/s-ava/drawing.png", b"pixels", media_type="image/png")
    with pytest.raises(FileStoreError, match="no-such-bucket-here"):
        await store.get("students/s-ava/drawing.png")


async def test_an_unreachable_s3_server_is_a_file_store_error() -> None:
    store = file_store_from_url(
        "s3://portfolio-files",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_region=S3_REGION,
        s3_access_key_id=S3_ACCESS_KEY,
        s3_secret_access_key=S3_SECRET_KEY,
    )

    with pytest.raises(FileStoreError, match=r"could not look for 'drawing\.png'"):
        await store.exists("drawing.png")


async def test_the_settings_choose_s3_and_keep_the_secret_out_of_sight(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_server.new_bucket()
    monkeypatch.setenv("PORTFOLIO_FILES_URL", f"s3://{bucket}/district-a")
    monkeypatch.setenv("PORTFOLIO_S3_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("PORTFOLIO_S3_REGION", S3_REGION)
    monkeypatch.setenv("PORTFOLIO_S3_ACCESS_KEY_ID", S3_ACCESS_KEY)
    monkeypatch.setenv("PORTFOLIO_S3_SECRET_ACCESS_KEY", S3_SECRET_KEY)
    settings = PortfolioSettings()

    store = file_store_from_settings(settings)
    await store.put("students/s-ava/drawing.png", b"pixels", media_type="image/png")

    assert await store.get("students/s-ava/drawing.png") == b"pixels"
    assert S3_SECRET_KEY not in repr(settings) and S3_SECRET_KEY not in str(settings.model_dump())


# --- choosing a store ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("file:./var/portfolio-files", Path("var/portfolio-files").resolve()),
        ("file:/srv/portfolio-files", Path("/srv/portfolio-files")),
        ("file:///srv/portfolio-files", Path("/srv/portfolio-files")),
    ],
)
def test_file_urls_name_a_directory_on_this_machine(url: str, root: Path) -> None:
    store = file_store_from_url(url)

    assert isinstance(store, LocalDiskStore)
    assert store.root == root


def test_an_s3_url_names_a_bucket_and_a_prefix() -> None:
    from services.portfolio.files.s3_store import S3Store

    store = file_store_from_url("s3://portfolio-files/district-a/", s3_endpoint_url="http://x")

    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix) == ("portfolio-files", "district-a")
    assert store.object_key("students/s-ava/a.png") == "district-a/students/s-ava/a.png"


@pytest.mark.parametrize(
    "url",
    [
        "http://files.example/portfolio",
        "./var/portfolio-files",
        "file://fileserver/share",
        "file:",
        "s3:///district-a",
        "s3://portfolio-files/../other",
    ],
)
def test_urls_that_name_no_store_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        file_store_from_url(url)


def test_an_access_key_without_its_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="together"):
        file_store_from_url("s3://portfolio-files", s3_access_key_id=S3_ACCESS_KEY)


def test_settings_refuse_a_files_url_of_another_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTFOLIO_FILES_URL", "ftp://files.example/portfolio")

    with pytest.raises(ValueError, match="files_url"):
        PortfolioSettings()


def test_upload_limits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTFOLIO_FILE_MAX_IMAGE_BYTES", "5000000")
    monkeypatch.setenv("PORTFOLIO_FILE_MAX_IMAGE_PIXELS", "24000000")

    limits = media_limits_from_settings(PortfolioSettings())

    assert (limits.image_bytes, limits.image_pixels, limits.video_bytes) == (
        5_000_000,
        24_000_000,
        100_000_000,
    )


async def test_files_kept_together_are_all_kept_or_none(tmp_path: Path) -> None:
    """A photo and its preview, or a recording: when the store fails part way, what was stored
    is deleted again and the caller is answered 503 in words."""

    class FailsSecond(LocalDiskStore):
        puts = 0

        async def put(self, key: str, data: bytes, *, media_type: str) -> None:
            self.puts += 1
            if self.puts == 2:
                raise FileStoreError("the disk is full")
            await super().put(key, data, media_type=media_type)

    store = FailsSecond(tmp_path)
    files = [("students/s-1/evidence/a.jpg", b"photo", "image/jpeg")]
    files.append(("students/s-1/evidence/a-thumb.jpg", b"preview", "image/jpeg"))
    with pytest.raises(HTTPException) as refused:
        await put_all(store, files, what="evidence a", said="the file")
    assert refused.value.status_code == 503
    assert refused.value.detail == "the file could not be stored just now; please try again"
    with pytest.raises(FileNotStored):
        await store.get("students/s-1/evidence/a.jpg")  # (stored first, deleted again)
    await put_all(store, files[:1], what="evidence a", said="the file")
    assert await store.get("students/s-1/evidence/a.jpg") == b"photo"
