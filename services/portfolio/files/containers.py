"""What is inside a sound or video container, read from its structure. Pure functions, no I/O.

A signature says "MP4" or "WebM" but not whether the file holds a picture: a browser's
MediaRecorder writes voice recordings as audio-only MP4 and WebM, and an Ogg file may hold
Theora video. So the tracks are read: ISO base media (MP4, M4A, QuickTime) from each track's
``hdlr`` box, Matroska/WebM from each ``TrackEntry``'s ``TrackType``, Ogg from the first packet
of each logical stream. Every reader is bounded by the data it is given and gives up (returns
what it found so far) on anything malformed rather than raising.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

# Matroska element IDs (https://www.matroska.org/technical/elements.html), marker bits kept.
_EBML_HEADER = 0x1A45DFA3
_EBML_DOC_TYPE = 0x4282
_SEGMENT = 0x18538067
_TRACKS = 0x1654AE6B
_TRACK_ENTRY = 0xAE
_TRACK_TYPE = 0x83
_CLUSTER = 0x1F43B675
MATROSKA_VIDEO_TRACK = 1
MATROSKA_AUDIO_TRACK = 2

# First bytes of the first packet of an Ogg logical stream, per codec.
_OGG_CODECS = {
    b"OpusHead": "opus",
    b"\x01vorbis": "vorbis",
    b"\x7fFLAC": "flac",
    b"\x80theora": "theora",
}
# The Ogg codecs browsers play as audio/ogg.
OGG_AUDIO_CODECS = frozenset({"opus", "vorbis", "flac"})
# A real file has a handful of beginning-of-stream pages; more means something made to be slow.
_MAX_OGG_STREAMS = 16
# Boxes or elements read from one file before giving up: a real file has a few dozen before its
# tracks are known; millions of tiny ones packed into 100 MB would take minutes to walk.
_MAX_STRUCTURES = 50_000


@dataclass(frozen=True)
class IsoMedia:
    """An ISO base media file (MP4, M4A, QuickTime, HEIF...): its brands and track handlers."""

    brands: frozenset[str]
    handlers: frozenset[str]

    @property
    def has_video(self) -> bool:
        return "vide" in self.handlers

    @property
    def has_sound(self) -> bool:
        return "soun" in self.handlers


@dataclass(frozen=True)
class MatroskaMedia:
    """A Matroska or WebM file: its DocType and the types of its tracks."""

    doc_type: str
    track_types: frozenset[int]

    @property
    def has_video(self) -> bool:
        return MATROSKA_VIDEO_TRACK in self.track_types

    @property
    def has_sound(self) -> bool:
        return MATROSKA_AUDIO_TRACK in self.track_types


class _Budget:
    """How many more boxes or elements one read may look at."""

    def __init__(self) -> None:
        self.left = _MAX_STRUCTURES

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


class _Box(NamedTuple):
    kind: bytes
    start: int  # first byte of the payload
    end: int


def is_iso_media(data: bytes) -> bool:
    """Whether ``data`` starts with an ISO base media ``ftyp`` box."""
    return len(data) >= 16 and data[4:8] == b"ftyp"


def read_iso_media(data: bytes) -> IsoMedia:
    """The brands (major and compatible) and the handler of every track of an ISO media file."""
    brands: set[str] = set()
    handlers: set[str] = set()
    budget = _Budget()
    for box in _iso_boxes(data, 0, len(data), budget):
        if box.kind == b"ftyp":
            brands.update(_iso_brands(data[box.start : box.end]))
        elif box.kind == b"moov":
            handlers.update(_track_handlers(data, box, budget))
            break  # a file has one moov; what follows is media data or fragments of it
    return IsoMedia(brands=frozenset(brands), handlers=frozenset(handlers))


def _track_handlers(data: bytes, moov: _Box, budget: _Budget) -> set[str]:
    # Only the path moov/trak/mdia/hdlr is followed, so a file of boxes nested in boxes
    # cannot lead the reader anywhere deeper.
    handlers: set[str] = set()
    for trak in _iso_children(data, moov, b"trak", budget):
        for mdia in _iso_children(data, trak, b"mdia", budget):
            for hdlr in _iso_children(data, mdia, b"hdlr", budget):
                if hdlr.end - hdlr.start >= 12:
                    # FullBox version and flags (4 bytes), pre_defined (4), then handler_type.
                    handlers.add(data[hdlr.start + 8 : hdlr.start + 12].decode("latin-1"))
    return handlers


def _iso_children(data: bytes, parent: _Box, kind: bytes, budget: _Budget) -> Iterator[_Box]:
    return (box for box in _iso_boxes(data, parent.start, parent.end, budget) if box.kind == kind)


def _iso_boxes(data: bytes, start: int, end: int, budget: _Budget) -> Iterator[_Box]:
    offset = start
    while offset + 8 <= end and budget.spend():
        size = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8]
        header = 8
        if size == 1:  # a 64-bit size follows the type
            if offset + 16 > end:
                return
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
            header = 16
        elif size == 0:  # the box runs to the end of its parent
            size = end - offset
        if size < header:
            return
        # A box cut short (an upload that stopped early) is read as far as it goes.
        yield _Box(kind, offset + header, min(offset + size, end))
        offset += size


def _iso_brands(ftyp: bytes) -> set[str]:
    # major_brand (4), minor_version (4), then compatible brands of 4 bytes each.
    codes = [ftyp[0:4], *(ftyp[i : i + 4] for i in range(8, len(ftyp) - 3, 4))]
    return {code.decode("latin-1") for code in codes if len(code) == 4}


def is_matroska(data: bytes) -> bool:
    """Whether ``data`` starts with an EBML header (Matroska, WebM)."""
    return data[:4] == _EBML_HEADER.to_bytes(4, "big")


def read_matroska(data: bytes) -> MatroskaMedia:
    """The DocType (``webm``, ``matroska``) and track types of a Matroska or WebM file."""
    doc_type = ""
    track_types: set[int] = set()
    budget = _Budget()
    for element_id, start, end in _ebml_elements(data, 0, len(data), budget):
        if element_id == _EBML_HEADER:
            for child_id, child_start, child_end in _ebml_elements(data, start, end, budget):
                if child_id == _EBML_DOC_TYPE:
                    doc_type = data[child_start:child_end].rstrip(b"\x00").decode("latin-1")
        elif element_id == _SEGMENT:
            track_types.update(_matroska_track_types(data, start, end, budget))
            break
    return MatroskaMedia(doc_type=doc_type, track_types=frozenset(track_types))


def _matroska_track_types(data: bytes, start: int, end: int, budget: _Budget) -> set[int]:
    found: set[int] = set()
    for element_id, child_start, child_end in _ebml_elements(data, start, end, budget):
        if element_id == _CLUSTER:
            break  # Tracks come before the first Cluster; a recording streams on from here
        if element_id != _TRACKS:
            continue
        entries = _ebml_elements(data, child_start, child_end, budget)
        for entry_id, entry_start, entry_end in entries:
            if entry_id != _TRACK_ENTRY:
                continue
            fields = _ebml_elements(data, entry_start, entry_end, budget)
            for field_id, field_start, field_end in fields:
                if field_id == _TRACK_TYPE and 0 < field_end - field_start <= 8:
                    found.add(int.from_bytes(data[field_start:field_end], "big"))
    return found


def _ebml_elements(
    data: bytes, start: int, end: int, budget: _Budget
) -> Iterator[tuple[int, int, int]]:
    """The (id, payload start, payload end) of each element between ``start`` and ``end``."""
    offset = start
    while offset < end and budget.spend():
        element_id = _ebml_vint(data, offset, end, keep_marker=True)
        if element_id is None:
            return
        id_value, id_length = element_id
        size = _ebml_vint(data, offset + id_length, end, keep_marker=False)
        if size is None:
            return
        size_value, size_length = size
        payload = offset + id_length + size_length
        unknown_size = size_value == (1 << (7 * size_length)) - 1
        # A live recording (MediaRecorder) writes its Segment and Clusters with an unknown
        # size: such an element runs to the end of its parent.
        payload_end = end if unknown_size else min(payload + size_value, end)
        yield id_value, payload, payload_end
        if unknown_size:
            return  # its children follow directly: the caller walks into it
        offset = payload + size_value


def _ebml_vint(data: bytes, offset: int, end: int, *, keep_marker: bool) -> tuple[int, int] | None:
    if offset >= end:
        return None
    first = data[offset]
    length = 8 - first.bit_length() + 1
    if first == 0 or length > 8 or offset + length > end:
        return None
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for byte in data[offset + 1 : offset + length]:
        value = (value << 8) | byte
    return value, length


def ogg_codecs(data: bytes) -> list[str]:
    """The codec of each logical stream of an Ogg file, read from its beginning-of-stream pages.

    A codec this reader does not know is named ``"unknown"``.
    """
    codecs: list[str] = []
    offset = 0
    while len(codecs) < _MAX_OGG_STREAMS and data[offset : offset + 4] == b"OggS":
        if offset + 27 > len(data):
            break
        header_type = data[offset + 5]
        segment_count = data[offset + 26]
        segments = data[offset + 27 : offset + 27 + segment_count]
        body = offset + 27 + segment_count
        if len(segments) < segment_count or not header_type & 0x02:
            break  # every stream's first page comes before any other page
        first_packet = data[body : body + 16]
        codecs.append(
            next(
                (name for magic, name in _OGG_CODECS.items() if first_packet.startswith(magic)),
                "unknown",
            )
        )
        offset = body + sum(segments)
    return codecs


def mp3_frame_follows_tags(data: bytes) -> bool:
    """Whether an MP3 frame header follows the ID3v2 tag (if any) at the start.

    The ``ID3`` signature alone says nothing about what comes after the tag.
    """
    offset = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        # The tag size is "synchsafe": 4 bytes of 7 bits; a footer adds 10 more bytes.
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | (byte & 0x7F)
        offset = 10 + size + (10 if data[5] & 0x10 else 0)
    # Some encoders pad after the tag.
    while offset < len(data) and data[offset] == 0 and offset < 64 * 1024:
        offset += 1
    header = data[offset : offset + 4]
    if len(header) < 4:
        return False
    frame_sync = header[0] == 0xFF and header[1] & 0xE0 == 0xE0
    version_ok = (header[1] >> 3) & 0x03 != 0x01
    # Layer III only (MP3 proper): the Layer I pattern is also how UTF-16 text starts (FF FE).
    layer_iii = (header[1] >> 1) & 0x03 == 0x01
    bitrate_ok = header[2] >> 4 not in (0x00, 0x0F)
    sample_rate_ok = (header[2] >> 2) & 0x03 != 0x03
    return frame_sync and version_ok and layer_iii and bitrate_ok and sample_rate_ok
