"""The file store and upload limits the portfolio service's settings describe."""

from __future__ import annotations

from services.portfolio.files.media import MediaLimits
from services.portfolio.files.storage import FileStore
from services.portfolio.files.store_url import file_store_from_url
from services.portfolio.settings import PortfolioSettings


def file_store_from_settings(settings: PortfolioSettings) -> FileStore:
    """The store ``PORTFOLIO_FILES_URL`` names, with ``PORTFOLIO_S3_*`` for S3."""
    return file_store_from_url(
        settings.files_url,
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_region=settings.s3_region,
        s3_access_key_id=settings.s3_access_key_id,
        s3_secret_access_key=settings.s3_secret_access_key,
    )


def media_limits_from_settings(settings: PortfolioSettings) -> MediaLimits:
    """The ``PORTFOLIO_FILE_MAX_*`` limits on uploads."""
    return MediaLimits(
        image_bytes=settings.file_max_image_bytes,
        pdf_bytes=settings.file_max_pdf_bytes,
        audio_bytes=settings.file_max_audio_bytes,
        video_bytes=settings.file_max_video_bytes,
        image_pixels=settings.file_max_image_pixels,
    )
