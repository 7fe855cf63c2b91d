"""What an upload must pass: types told by content, limits, photos stripped of metadata."""

from __future__ import annotations

import hashlib
import io
import struct
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from services.portfolio.files import (
    FileRefused,
    InspectedFile,
    MediaKind,
    MediaLimits,
    Refusal,
    inspect_upload,
)
from services.portfolio.files.media import display_name
from tests.support import sound_recording

MEDIA = Path(__file__).resolve().parents[1] / "fixtures" / "media"
RED, BLUE = (255, 0, 0), (0, 0, 255)
SECRET_WORDS = (b"SecretCam", b"Ava's house", b"Ava at home", b"Photoshop", b"xmpmeta")


def inspect(data: bytes, name: str | None = "upload", **limits: int) -> InspectedFile:
    return inspect_upload(data, declared_name=name, limits=MediaLimits(**limits))


def refusal(data: bytes, name: str | None = "upload", **limits: int) -> FileRefused:
    with pytest.raises(FileRefused) as refused:
        inspect(data, name, **limits)
    return refused.value


# --- making real files ---------------------------------------------------------------------


def two_colour_image(width: int = 40, height: int = 20, mode: str = "RGB") -> Image.Image:
    """Red on the left half, blue on the right: shows which way a photo was turned."""
    image = Image.new(mode, (width, height), RED)
    image.paste(Image.new(mode, (width // 2, height), BLUE), (width // 2, 0))
    return image


def revealing_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.DateTimeOriginal] = "2024:05:01 08:15:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (47.0, 36.0, 22.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (122.0, 19.0, 51.0)
    return exif


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description>Ava\'s house</rdf:Description></x:xmpmeta>'
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def with_iptc(jpeg: bytes) -> bytes:
    """``jpeg`` with an IPTC caption in a Photoshop APP13 segment, right after SOI."""
    caption = b"Ava at home"
    record = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(record)) + record
    payload = b"Photoshop 3.0\x00" + resource
    segment = b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def revealing_jpeg(orientation: int = 6) -> bytes:
    out = io.BytesIO()
    two_colour_image().save(
        out,
        format="JPEG",
        exif=revealing_exif(orientation),
        xmp=XMP,
        comment=b"Taken at Ava's house",
        icc_profile=SRGB_ICC,
    )
    return with_iptc(out.getvalue())


def png_bytes(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", **options)
    return out.getvalue()


def png_chunk_types(data: bytes) -> list[bytes]:
    types, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        types.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return types


def riff_chunk_types(data: bytes) -> list[bytes]:
    types, offset = [], 12
    while offset + 8 <= len(data):
        (length,) = struct.unpack("<I", data[offset + 4 : offset + 8])
        types.append(data[offset : offset + 4])
        offset += 8 + length + (length & 1)
    return types


def forged_png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with almost no data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


MINIMAL_PDF = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj
trailer << /Root 1 0 R >>
%%EOF
"""


def colour_at(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    pixel = image.getpixel((x, y))
    assert isinstance(pixel, tuple)
    return pixel


def grey_at(image: Image.Image, x: int, y: int) -> int:
    pixel = image.getpixel((x, y))
    assert isinstance(pixel, int)
    return pixel


def reopened(inspected: InspectedFile) -> Image.Image:
    image = Image.open(io.BytesIO(inspected.data))
    image.load()
    return image


# --- photos ----------------------------------------------------------------------------------


def test_a_phone_photo_keeps_no_location_or_other_metadata_and_is_turned_upright() -> None:
    upload = revealing_jpeg(orientation=6)
    original = Image.open(io.BytesIO(upload))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the fixture carries a GPS position"
    assert all(word in upload for word in SECRET_WORDS), "the fixture carries every kind of tag"

    inspected = inspect(upload, "IMG_0042.JPG")

    assert (inspected.kind, inspected.media_type, inspected.extension) == (
        MediaKind.IMAGE,
        "image/jpeg",
        "jpg",
    )
    stored = reopened(inspected)
    assert stored.format == "JPEG"
    assert not stored.getexif()
    assert not {"exif", "xmp", "comment", "icc_profile", "photoshop"} & set(stored.info)
    assert not [word for word in (*SECRET_WORDS, b"Exif\x00\x00") if word in inspected.data]
    # Orientation 6: shown turned a quarter clockwise, so the left (red) half is on top.
    assert (inspected.width, inspected.height) == (20, 40) == stored.size
    assert _close_to(stored.getpixel((10, 5)), RED)
    assert _close_to(stored.getpixel((10, 35)), BLUE)


@pytest.mark.parametrize(
    ("orientation", "size", "top_left"),
    [(1, (40, 20), RED), (3, (40, 20), BLUE), (8, (20, 40), BLUE), (2, (40, 20), BLUE)],
)
def test_every_exif_orientation_is_applied_then_dropped(
    orientation: int, size: tuple[int, int], top_left: tuple[int, int, int]
) -> None:
    inspected = inspect(revealing_jpeg(orientation))

    stored = reopened(inspected)
    assert stored.size == size
    assert _close_to(stored.getpixel((2, 2)), top_left)
    assert ExifTags.Base.Orientation not in stored.getexif()


def test_png_text_chunks_and_exif_are_dropped_and_transparency_kept() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "Taken at Ava's house")
    text.add_text("Author", "SecretCam", zip=True)
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    image = two_colour_image(mode="RGBA")
    image.putpixel((0, 0), (0, 0, 0, 0))
    upload = png_bytes(image, pnginfo=text, exif=revealing_exif(), icc_profile=SRGB_ICC)
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"} <= set(png_chunk_types(upload))

    inspected = inspect(upload, "drawing.png")

    assert inspected.media_type == "image/png"
    assert set(png_chunk_types(inspected.data)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
    stored = reopened(inspected)
    assert stored.mode == "RGBA"
    assert colour_at(stored, 0, 0)[3] == 0
    assert colour_at(stored, 30, 10) == (*BLUE, 255)


def test_webp_keeps_its_pixels_but_not_its_exif_xmp_or_profile() -> None:
    out = io.BytesIO()
    two_colour_image().save(
        out, format="WEBP", exif=revealing_exif(), xmp=XMP, icc_profile=SRGB_ICC, quality=95
    )
    assert {b"EXIF", b"XMP ", b"ICCP"} <= set(riff_chunk_types(out.getvalue()))

    inspected = inspect(out.getvalue(), "photo.webp")

    assert (inspected.media_type, inspected.extension) == ("image/webp", "webp")
    assert not {b"EXIF", b"XMP ", b"ICCP"} & set(riff_chunk_types(inspected.data))
    assert _close_to(reopened(inspected).getpixel((5, 5)), RED)


def test_an_animated_gif_keeps_its_frames_and_timing_but_not_its_comment() -> None:
    frames = [Image.new("RGB", (30, 30), colour) for colour in (RED, BLUE, (0, 255, 0))]
    out = io.BytesIO()
    frames[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300],
        loop=0,
        comment=b"Taken at Ava's house",
    )
    assert b"Ava's house" in out.getvalue()

    inspected = inspect(out.getvalue(), "dance.gif")

    assert inspected.media_type == "image/gif"
    assert b"Ava's house" not in inspected.data
    stored = Image.open(io.BytesIO(inspected.data))
    assert getattr(stored, "n_frames", 1) == 3
    assert "comment" not in stored.info
    durations = []
    for index in range(3):
        stored.seek(index)
        durations.append(stored.info["duration"])
    assert durations == [100, 200, 300]


def test_a_cmyk_scan_is_stored_as_rgb() -> None:
    out = io.BytesIO()
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(out, format="JPEG")

    inspected = inspect(out.getvalue(), "scan.jpg")

    stored = reopened(inspected)
    assert stored.mode == "RGB"
    red, green, blue = colour_at(stored, 8, 8)
    assert red > 200 and green < 60 and blue < 60


def test_a_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    grey = Image.new("I;16", (8, 8), 32768)

    inspected = inspect(png_bytes(grey), "xray.png")

    stored = reopened(inspected)
    assert stored.mode == "L"
    assert 120 <= grey_at(stored, 4, 4) <= 136


# --- thumbnails ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "thumbnail_size"),
    [((1000, 500), (320, 160)), ((300, 900), (107, 320)), ((100, 50), (100, 50))],
)
def test_thumbnail_is_at_most_320_pixels_on_its_long_side(
    size: tuple[int, int], thumbnail_size: tuple[int, int]
) -> None:
    inspected = inspect(png_bytes(two_colour_image(*size)), "drawing.png")

    assert inspected.thumbnail is not None
    preview = Image.open(io.BytesIO(inspected.thumbnail.data))
    assert preview.format == "JPEG"
    assert preview.size == thumbnail_size == (inspected.thumbnail.width, inspected.thumbnail.height)
    assert inspected.thumbnail.media_type == "image/jpeg"


def test_thumbnail_follows_orientation_and_shows_transparency_on_white() -> None:
    turned = inspect(revealing_jpeg(orientation=6)).thumbnail
    assert turned is not None and (turned.width, turned.height) == (20, 40)

    clear = inspect(png_bytes(Image.new("RGBA", (10, 10), (0, 0, 0, 0)))).thumbnail
    assert clear is not None
    assert _close_to(Image.open(io.BytesIO(clear.data)).getpixel((5, 5)), (255, 255, 255))


# --- PDFs, sound and video: kept as they are --------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "kind", "media_type", "extension"),
    [
        ("tone.mp3", MediaKind.AUDIO, "audio/mpeg", "mp3"),
        ("tone.m4a", MediaKind.AUDIO, "audio/mp4", "m4a"),
        ("tone.ogg", MediaKind.AUDIO, "audio/ogg", "ogg"),
        # What a browser's MediaRecorder gives: sound only, in containers also used for video.
        ("tone-recorded.webm", MediaKind.AUDIO, "audio/webm", "webm"),
        ("tone-recorded.mp4", MediaKind.AUDIO, "audio/mp4", "m4a"),
        ("clip.mp4", MediaKind.VIDEO, "video/mp4", "mp4"),
        ("clip.webm", MediaKind.VIDEO, "video/webm", "webm"),
        ("clip.mov", MediaKind.VIDEO, "video/quicktime", "mov"),
    ],
)
def test_sound_and_video_are_told_by_their_tracks_and_kept_byte_for_byte(
    fixture: str, kind: MediaKind, media_type: str, extension: str
) -> None:
    upload = (MEDIA / fixture).read_bytes()

    inspected = inspect(upload, "recording.bin")

    assert (inspected.kind, inspected.media_type, inspected.extension) == (
        kind,
        media_type,
        extension,
    )
    assert inspected.data == upload
    assert inspected.size == len(upload)
    assert inspected.sha256 == hashlib.sha256(upload).hexdigest()
    assert (inspected.width, inspected.height, inspected.thumbnail) == (None, None, None)


def test_wav_made_by_the_wave_module_is_sound() -> None:
    upload = sound_recording()

    inspected = inspect(upload, "reading.wav")

    assert (inspected.kind, inspected.media_type, inspected.extension) == (
        MediaKind.AUDIO,
        "audio/wav",
        "wav",
    )
    assert inspected.data == upload


def test_mp3_frames_without_a_tag_are_sound() -> None:
    tagged = (MEDIA / "tone.mp3").read_bytes()
    tag_size = 10 + int.from_bytes(tagged[6:10], "big")

    inspected = inspect(tagged[tag_size:], "tone.mp3")

    assert inspected.media_type == "audio/mpeg"


def test_a_pdf_is_kept_byte_for_byte() -> None:
    inspected = inspect(MINIMAL_PDF, "my story.pdf")

    assert (inspected.kind, inspected.media_type, inspected.extension) == (
        MediaKind.PDF,
        "application/pdf",
        "pdf",
    )
    assert inspected.data == MINIMAL_PDF
    assert inspected.thumbnail is None
    assert inspected.display_name == "my story.pdf"


def test_the_name_decides_nothing() -> None:
    inspected = inspect(png_bytes(two_colour_image()), "report.pdf")

    assert (inspected.media_type, inspected.extension) == ("image/png", "png")


# --- refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload", "name"),
    [
        (b"Dear teacher, here is my homework.\n", "homework.jpg"),
        (b"<!doctype html><html><script>alert(1)</script></html>", "image.png"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg"),
        (b"PK\x03\x04" + b"\x00" * 64, "photos.zip"),
        ("Dear teacher, here is my homework.".encode("utf-16"), "homework.mp3"),
        ((MEDIA / "clip.mkv").read_bytes(), "clip.webm"),
        ((MEDIA / "clip.ogv").read_bytes(), "song.ogg"),
    ],
    ids=["text-named-jpg", "html-as-png", "svg", "zip", "utf16-text", "matroska", "ogg-video"],
)
def test_other_kinds_of_file_are_refused_with_the_accepted_types(upload: bytes, name: str) -> None:
    refused = refusal(upload, name)

    assert refused.refusal is Refusal.TYPE_NOT_ALLOWED
    assert "JPEG" in refused.reason and "PDF" in refused.reason and "MP4" in refused.reason


def test_heic_is_refused_with_a_hint() -> None:
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    upload = struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", 8) + b"meta"

    refused = refusal(upload, "IMG_0001.HEIC")

    assert refused.refusal is Refusal.TYPE_NOT_ALLOWED
    assert "HEIC" in refused.reason and "JPEG" in refused.reason


@pytest.mark.parametrize(
    ("upload", "limit", "words"),
    [
        (png_bytes(two_colour_image(200, 200)), {"image_bytes": 100}, "photos of up to 0.0001 MB"),
        (MINIMAL_PDF, {"pdf_bytes": 100}, "PDFs of up to 0.0001 MB"),
        (sound_recording(), {"audio_bytes": 1000}, "sound recordings of up to 0.001 MB"),
        (
            (MEDIA / "clip.mp4").read_bytes(),
            {"video_bytes": 1000},
            "videos of up to 0.001 MB",
        ),
    ],
    ids=["image", "pdf", "audio", "video"],
)
def test_each_kind_has_its_own_size_limit(upload: bytes, limit: dict[str, int], words: str) -> None:
    refused = refusal(upload, "big", **limit)

    assert refused.refusal is Refusal.TOO_LARGE
    assert words in refused.reason


def test_default_limits_refuse_anything_over_the_largest() -> None:
    limits = MediaLimits()
    assert (limits.image_bytes, limits.pdf_bytes, limits.audio_bytes, limits.video_bytes) == (
        15_000_000,
        20_000_000,
        25_000_000,
        100_000_000,
    )
    refused = refusal(b"\x00" * (limits.largest_bytes + 1))

    assert refused.refusal is Refusal.TOO_LARGE
    assert "100 MB" in refused.reason


def test_a_photo_over_the_size_limit_is_refused_before_it_is_decoded() -> None:
    refused = refusal(forged_png(60_000, 60_000), "huge.png", image_bytes=100)

    assert refused.refusal is Refusal.TOO_LARGE


@pytest.mark.parametrize(
    ("width", "height"),
    [(9_000, 9_000), (100_000, 100_000), (10_001, 5_000)],
    ids=["over-the-limit", "over-pillows-own-limit", "just-over"],
)
def test_a_decompression_bomb_is_refused_not_decoded(width: int, height: int) -> None:
    refused = refusal(forged_png(width, height), "bomb.png")

    assert refused.refusal is Refusal.TOO_LARGE
    assert "megapixels" in refused.reason


def test_the_pixel_limit_counts_every_frame_of_an_animation() -> None:
    frames = [Image.new("L", (100, 100), shade) for shade in range(0, 250, 10)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])

    refused = refusal(out.getvalue(), "flip.gif", image_pixels=100_000)

    assert refused.refusal is Refusal.TOO_LARGE
    assert inspect(out.getvalue(), image_pixels=250_000).kind is MediaKind.IMAGE


def test_a_real_image_with_too_many_pixels_is_refused() -> None:
    refused = refusal(png_bytes(Image.new("L", (1500, 1000))), "scan.png", image_pixels=1_000_000)

    assert refused.refusal is Refusal.TOO_LARGE


@pytest.mark.parametrize(
    "damage",
    [
        lambda jpeg: jpeg[: len(jpeg) // 2],
        lambda jpeg: jpeg[:20] + bytes(range(256)) * 4,
        lambda jpeg: jpeg[:2] + b"\xff\xc0\x00\x11\x08\xff\xff" + jpeg[200:],
    ],
    ids=["cut-short", "garbage-after-header", "broken-frame-header"],
)
def test_a_damaged_jpeg_is_refused_as_unreadable(damage: object) -> None:
    out = io.BytesIO()
    Image.effect_noise((300, 300), 60).convert("RGB").save(out, format="JPEG")
    upload = damage(out.getvalue())  # type: ignore[operator]

    refused = refusal(upload, "photo.jpg")

    assert refused.refusal is Refusal.UNREADABLE
    assert "could not be read" in refused.reason


@pytest.mark.parametrize(
    "upload",
    [
        (MEDIA / "clip.mp4").read_bytes()[:40],
        b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"not sound at all",
        b"OggS" + b"\x00" * 10,
    ],
    ids=["mp4-cut-before-its-tracks", "id3-tag-then-text", "ogg-without-streams"],
)
def test_a_container_with_no_sound_or_picture_is_refused_as_unreadable(upload: bytes) -> None:
    refused = refusal(upload, "recording")

    assert refused.refusal is Refusal.UNREADABLE


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload) + 8) + kind + payload


def webm_header() -> bytes:
    """The EBML header (DocType webm) of a real WebM file."""
    recorded = (MEDIA / "tone-recorded.webm").read_bytes()
    assert recorded[4] == 0x9F  # a one-byte size: 31
    return recorded[: 5 + 31]


FTYP_ISOM = box(b"ftyp", b"isom\x00\x00\x02\x00isommp41")


@pytest.mark.parametrize(
    "upload",
    [
        # A million empty boxes before any track.
        FTYP_ISOM + box(b"free") * 1_000_000,
        # Tracks nested in tracks, 100,000 deep.
        FTYP_ISOM
        + struct.pack(">I", 8 + 800_000)
        + b"moov"
        + b"".join(struct.pack(">I", 8 * (100_000 - depth)) + b"trak" for depth in range(100_000)),
        # A WebM whose Tracks holds a million empty elements.
        webm_header()
        + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff"  # Segment, size unknown
        + b"\x16\x54\xae\x6b\x01"
        + (2_000_000).to_bytes(7, "big")  # Tracks
        + b"\xec\x80" * 1_000_000,  # empty Void elements
    ],
    ids=["many-boxes", "deep-boxes", "many-elements"],
)
def test_containers_made_to_be_slow_are_refused_quickly(upload: bytes) -> None:
    started = time.monotonic()

    refused = refusal(upload, "recording.mp4")

    assert refused.refusal in (Refusal.UNREADABLE, Refusal.TYPE_NOT_ALLOWED)
    assert time.monotonic() - started < 2


SIGNATURES = [
    b"\xff\xd8\xff\xe0",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    b"RIFF\x00\x10\x00\x00WAVEfmt ",
    b"%PDF-1.7",
    b"ID3\x04\x00\x00\x00\x00\x00\x00",
    b"OggS\x00\x02",
    b"\x1aE\xdf\xa3",
    FTYP_ISOM,
    b"\xff\xfb\x90\x00",
]


@settings(max_examples=300, deadline=None)
@given(signature=st.sampled_from(SIGNATURES), rest=st.binary(max_size=4096))
def test_any_bytes_are_either_kept_or_refused_never_an_error(signature: bytes, rest: bytes) -> None:
    try:
        inspected = inspect(signature + rest)
    except FileRefused as refused:
        assert refused.reason
    else:
        assert inspected.size == len(inspected.data) > 0


def test_an_empty_file_is_refused() -> None:
    assert refusal(b"", "empty.jpg").refusal is Refusal.UNREADABLE


# --- the name the file is shown by --------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "shown"),
    [
        ("C:\\Users\\ava\\Pictures\\my cat.jpg", "my cat.jpg"),
        ("../../etc/passwd", "passwd"),
        ("photo\u202egpj.exe", "photogpj.exe"),
        ("line\nbreak.png", "linebreak.png"),
        ("   ", None),
        (None, None),
        ("x" * 300 + ".jpg", "x" * 120),
    ],
)
def test_the_declared_name_is_kept_only_as_a_safe_name_to_show(
    declared: str | None, shown: str | None
) -> None:
    assert display_name(declared) == shown


def _close_to(pixel: object, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))
