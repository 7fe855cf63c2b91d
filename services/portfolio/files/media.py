"""What an uploaded work sample is, and whether it is kept: decided from its bytes alone.

The client's Content-Type and the file's name are never believed: a text file renamed
``drawing.jpg`` or a web page sent as ``image/png`` is refused. The first guess comes from the
file's signature (``filetype``: pure Python, no libmagic to install, its signatures of these
formats do not change); containers are then read to tell a voice recording from a video
(``containers``), and photos are decoded and re-encoded without their metadata (``images``).

What is stored:

- photos (JPEG, PNG, WebP, GIF): re-encoded in the same format from their pixels alone, upright,
  in sRGB, with no EXIF (so no GPS position), XMP, IPTC, comments or text chunks; with a
  JPEG thumbnail. HEIC is refused with a hint to send JPEG: decoding it needs libheif and an
  HEVC decoder, whose licences and patents are more than this service should take on, and an
  iPhone sends JPEG anyway when a web page's file picker asks for images.
- PDFs, sound recordings and videos: the bytes exactly as uploaded. Nothing is removed from
  them, so they keep whatever they carry: a video filmed on a phone usually records where it was
  filmed, and a PDF may hold its author's name or scripts. Removing that means remuxing or
  rewriting the file with another tool; until then, they must be served as downloads
  (``Content-Disposition: attachment``, ``X-Content-Type-Options: nosniff``) with the media
  type decided here, never the client's. Their codecs are not checked: a file may be a valid
  MP4 that a given browser cannot play.

``inspect_upload`` is CPU-bound (a large photo takes a second to re-encode): an async caller
runs it in a worker thread (``asyncio.to_thread``). The routes map ``FileRefused.refusal`` to
HTTP: ``too_large`` 413, ``type_not_allowed`` 415, ``unreadable`` 422, with ``reason`` as the
message.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum

import filetype

from services.portfolio.files.containers import (
    OGG_AUDIO_CODECS,
    is_iso_media,
    is_matroska,
    mp3_frame_follows_tags,
    ogg_codecs,
    read_iso_media,
    read_matroska,
)
from services.portfolio.files.images import ImageRefused, clean_image
from services.portfolio.files.thumbnails import Thumbnail, make_thumbnail

MEGABYTE = 1_000_000
ACCEPTED_TYPES = (
    "photos (JPEG, PNG, WebP, GIF), PDF documents, sound recordings (MP3, M4A, WAV, Ogg, WebM)"
    " and videos (MP4, WebM, MOV)"
)
# Brands of HEIF images (HEIC, AVIF): ISO media files with no sound or video track.
_HEIF_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "avif"})
_QUICKTIME_BRAND = "qt  "
# Longest name kept to show the file by; what the student called it, not where it is stored.
MAX_DISPLAY_NAME = 120


class MediaKind(StrEnum):
    IMAGE = "image"
    PDF = "pdf"
    AUDIO = "audio"
    VIDEO = "video"


class Refusal(StrEnum):
    """Why a file is not kept; the routes answer 413, 415 and 422 respectively."""

    TOO_LARGE = "too_large"
    TYPE_NOT_ALLOWED = "type_not_allowed"
    UNREADABLE = "unreadable"


class FileRefused(Exception):
    """An upload that is not stored; ``reason`` is a sentence to show the person who sent it."""

    def __init__(self, refusal: Refusal, reason: str) -> None:
        super().__init__(reason)
        self.refusal = refusal
        self.reason = reason


@dataclass(frozen=True)
class MediaLimits:
    """The largest upload of each kind, in bytes, and the most pixels a photo may decode to."""

    image_bytes: int = 15 * MEGABYTE
    pdf_bytes: int = 20 * MEGABYTE
    audio_bytes: int = 25 * MEGABYTE
    video_bytes: int = 100 * MEGABYTE
    # About 8,000 x 6,000: a 48-megapixel phone photo fits; decoding takes ~200 MB of memory.
    image_pixels: int = 50_000_000

    def max_bytes(self, kind: MediaKind) -> int:
        return {
            MediaKind.IMAGE: self.image_bytes,
            MediaKind.PDF: self.pdf_bytes,
            MediaKind.AUDIO: self.audio_bytes,
            MediaKind.VIDEO: self.video_bytes,
        }[kind]

    @property
    def largest_bytes(self) -> int:
        """No upload larger than this can be kept: routes may stop reading a body beyond it."""
        return max(self.image_bytes, self.pdf_bytes, self.audio_bytes, self.video_bytes)


@dataclass(frozen=True)
class InspectedFile:
    """An upload that passed: the bytes to store and what they are."""

    kind: MediaKind
    media_type: str
    extension: str
    data: bytes = field(repr=False)
    size: int
    sha256: str
    width: int | None
    height: int | None
    thumbnail: Thumbnail | None
    display_name: str | None


@dataclass(frozen=True)
class MediaFormat:
    """A format this service accepts; ``pillow_format`` is set for photos, which are re-encoded."""

    kind: MediaKind
    media_type: str
    extension: str
    pillow_format: str | None = None


JPEG = MediaFormat(MediaKind.IMAGE, "image/jpeg", "jpg", "JPEG")
PNG = MediaFormat(MediaKind.IMAGE, "image/png", "png", "PNG")
WEBP = MediaFormat(MediaKind.IMAGE, "image/webp", "webp", "WEBP")
GIF = MediaFormat(MediaKind.IMAGE, "image/gif", "gif", "GIF")
PDF = MediaFormat(MediaKind.PDF, "application/pdf", "pdf")
MP3 = MediaFormat(MediaKind.AUDIO, "audio/mpeg", "mp3")
WAV = MediaFormat(MediaKind.AUDIO, "audio/wav", "wav")
OGG_AUDIO = MediaFormat(MediaKind.AUDIO, "audio/ogg", "ogg")
MP4_AUDIO = MediaFormat(MediaKind.AUDIO, "audio/mp4", "m4a")
WEBM_AUDIO = MediaFormat(MediaKind.AUDIO, "audio/webm", "webm")
MP4_VIDEO = MediaFormat(MediaKind.VIDEO, "video/mp4", "mp4")
QUICKTIME_VIDEO = MediaFormat(MediaKind.VIDEO, "video/quicktime", "mov")
WEBM_VIDEO = MediaFormat(MediaKind.VIDEO, "video/webm", "webm")

# filetype's answer for formats whose signature says all there is to know.
_FORMATS_BY_SIGNATURE = {
    "image/jpeg": JPEG,
    "image/png": PNG,
    "image/apng": PNG,
    "image/webp": WEBP,
    "image/gif": GIF,
    "application/pdf": PDF,
    "audio/mpeg": MP3,
    "audio/x-wav": WAV,
}

_NOUNS = {
    MediaKind.IMAGE: ("photo", "photos"),
    MediaKind.PDF: ("PDF", "PDFs"),
    MediaKind.AUDIO: ("sound recording", "sound recordings"),
    MediaKind.VIDEO: ("video", "videos"),
}


def inspect_upload(
    data: bytes, *, declared_name: str | None, limits: MediaLimits | None = None
) -> InspectedFile:
    """Decide what ``data`` is, refuse it (``FileRefused``) or return the bytes to store.

    ``declared_name`` (the name the file had on the sender's device) is only kept, cleaned, to
    show the file by; it decides nothing.
    """
    limits = limits or MediaLimits()
    if not data:
        raise FileRefused(Refusal.UNREADABLE, "The file is empty.")
    if len(data) > limits.largest_bytes:
        raise FileRefused(Refusal.TOO_LARGE, _too_large_reason(len(data), None, limits))
    media_format = identify(data)
    if len(data) > limits.max_bytes(media_format.kind):
        raise FileRefused(
            Refusal.TOO_LARGE, _too_large_reason(len(data), media_format.kind, limits)
        )
    stored, width, height, thumbnail = data, None, None, None
    if media_format.pillow_format is not None:
        try:
            image = clean_image(
                data, image_format=media_format.pillow_format, max_pixels=limits.image_pixels
            )
        except ImageRefused as refused:
            refusal = Refusal.TOO_LARGE if refused.too_large else Refusal.UNREADABLE
            raise FileRefused(refusal, refused.reason) from refused
        stored, width, height = image.data, image.width, image.height
        thumbnail = make_thumbnail(image.first_frame)
    return InspectedFile(
        kind=media_format.kind,
        media_type=media_format.media_type,
        extension=media_format.extension,
        data=stored,
        size=len(stored),
        sha256=hashlib.sha256(stored).hexdigest(),
        width=width,
        height=height,
        thumbnail=thumbnail,
        display_name=display_name(declared_name),
    )


def identify(data: bytes) -> MediaFormat:
    """The accepted format ``data`` is in, from its content; ``FileRefused`` if none."""
    # Checked before filetype, which knows only a few ISO brands and cannot tell a voice
    # recording from a video in MP4, WebM or Ogg.
    if is_iso_media(data):
        return _identify_iso_media(data)
    if is_matroska(data):
        return _identify_matroska(data)
    if data[:4] == b"OggS":
        return _identify_ogg(data)
    media_format = _FORMATS_BY_SIGNATURE.get(filetype.guess_mime(data) or "")
    if media_format is MP3 and not mp3_frame_follows_tags(data):
        raise FileRefused(Refusal.UNREADABLE, _no_media_found_reason())
    if media_format is None and mp3_frame_follows_tags(data):
        # MP3 with no tag, in a frame header filetype does not know (CRC, MPEG-2.5).
        return MP3
    if media_format is None:
        raise FileRefused(Refusal.TYPE_NOT_ALLOWED, _not_accepted_reason())
    return media_format


def _identify_iso_media(data: bytes) -> MediaFormat:
    media = read_iso_media(data)
    if media.has_video:
        return QUICKTIME_VIDEO if _QUICKTIME_BRAND in media.brands else MP4_VIDEO
    if media.has_sound:
        # A QuickTime file holding only sound is MP4 audio to every player that opens it.
        return MP4_AUDIO
    if media.brands & _HEIF_BRANDS:
        raise FileRefused(
            Refusal.TYPE_NOT_ALLOWED,
            "HEIC photos are not accepted yet: please send the photo as a JPEG."
            f" Accepted: {ACCEPTED_TYPES}.",
        )
    raise FileRefused(Refusal.UNREADABLE, _no_media_found_reason())


def _identify_matroska(data: bytes) -> MediaFormat:
    media = read_matroska(data)
    if media.doc_type != "webm":
        raise FileRefused(Refusal.TYPE_NOT_ALLOWED, _not_accepted_reason())
    if media.has_video:
        return WEBM_VIDEO
    if media.has_sound:
        return WEBM_AUDIO
    raise FileRefused(Refusal.UNREADABLE, _no_media_found_reason())


def _identify_ogg(data: bytes) -> MediaFormat:
    codecs = ogg_codecs(data)
    if not codecs:
        raise FileRefused(Refusal.UNREADABLE, _no_media_found_reason())
    if not set(codecs) <= OGG_AUDIO_CODECS:
        raise FileRefused(Refusal.TYPE_NOT_ALLOWED, _not_accepted_reason())
    return OGG_AUDIO


def display_name(declared_name: str | None) -> str | None:
    """The sender's name for the file, safe to show: no folders, no control or bidi characters."""
    if declared_name is None:
        return None
    name = declared_name.replace("\\", "/").rsplit("/", 1)[-1]
    # Unicode "format" characters include the right-to-left override that makes
    # "photo\u202egpj.exe" look like "photoexe.jpg".
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    return name.strip()[:MAX_DISPLAY_NAME].strip() or None


def _not_accepted_reason() -> str:
    return f"This kind of file is not accepted. Accepted: {ACCEPTED_TYPES}."


def _no_media_found_reason() -> str:
    return (
        "This file could not be read: no sound or picture was found in it. It may be damaged"
        " or only partly uploaded."
    )


def _too_large_reason(size: int, kind: MediaKind | None, limits: MediaLimits) -> str:
    megabytes = f"{size / MEGABYTE:.1f} MB"
    if kind is None:
        return (
            f"This file is too large ({megabytes}): no file over"
            f" {limits.largest_bytes / MEGABYTE:g} MB is accepted."
        )
    noun, plural = _NOUNS[kind]
    return (
        f"This {noun} is too large ({megabytes}): {plural} of up to"
        f" {limits.max_bytes(kind) / MEGABYTE:g} MB are accepted."
    )
