"""Which file store a deployment uses, from one URL: ``file:<directory>`` or ``s3://bucket/prefix``.

``file:./var/portfolio-files`` (the default; relative to the working directory),
``file:/srv/portfolio-files`` and ``file:///srv/portfolio-files`` are directories on this
machine; ``s3://portfolio-files/district-a`` is the bucket ``portfolio-files`` with every key
under ``district-a/``, its endpoint, region and credentials given beside the URL.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from services.portfolio.files.disk_store import LocalDiskStore
from services.portfolio.files.storage import FileStore


def file_store_from_url(
    url: str,
    *,
    s3_endpoint_url: str | None = None,
    s3_region: str | None = None,
    s3_access_key_id: str | None = None,
    s3_secret_access_key: SecretStr | str | None = None,
) -> FileStore:
    """The store ``url`` names; ``ValueError`` for a URL that names none."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError(
                f"a file: URL names a directory on this machine, not on {parts.netloc}"
            )
        if not parts.path:
            raise ValueError("a file: URL names a directory, e.g. file:./var/portfolio-files")
        return LocalDiskStore(Path(parts.path))
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError("an s3: URL names a bucket, e.g. s3://portfolio-files/district-a")
        # Imported here so that boto3 is loaded only by deployments that keep files in S3.
        from services.portfolio.files.s3_store import S3Store

        secret = (
            s3_secret_access_key.get_secret_value()
            if isinstance(s3_secret_access_key, SecretStr)
            else s3_secret_access_key
        )
        return S3Store(
            parts.netloc,
            endpoint_url=s3_endpoint_url,
            region=s3_region,
            access_key=s3_access_key_id,
            secret_key=secret,
            prefix=parts.path,
        )
    raise ValueError(
        f"a file store URL starts with file: or s3:// (e.g. file:./var/portfolio-files), not {url!r}"
    )
