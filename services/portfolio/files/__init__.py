"""A portfolio's files: what an upload must pass before it is kept, and where it is kept.

``inspect_upload`` decides from the bytes what a work sample is and returns the bytes to store
(photos cleaned of their metadata, with a thumbnail) or raises ``FileRefused``. A ``FileStore``
(``LocalDiskStore``, or ``S3Store`` loaded only when chosen) keeps them by key; the settings
choose one with ``file_store_from_settings``.
"""

from services.portfolio.files.disk_store import LocalDiskStore
from services.portfolio.files.from_settings import (
    file_store_from_settings,
    media_limits_from_settings,
)
from services.portfolio.files.media import (
    FileRefused,
    InspectedFile,
    MediaKind,
    MediaLimits,
    Refusal,
    inspect_upload,
)
from services.portfolio.files.storage import (
    FileNotStored,
    FileStore,
    FileStoreError,
    FileStream,
    UnsafeFileKey,
    check_key,
)
from services.portfolio.files.store_url import file_store_from_url
from services.portfolio.files.thumbnails import Thumbnail

__all__ = [
    "FileNotStored",
    "FileRefused",
    "FileStore",
    "FileStoreError",
    "FileStream",
    "InspectedFile",
    "LocalDiskStore",
    "MediaKind",
    "MediaLimits",
    "Refusal",
    "Thumbnail",
    "UnsafeFileKey",
    "check_key",
    "file_store_from_settings",
    "file_store_from_url",
    "inspect_upload",
    "media_limits_from_settings",
]
