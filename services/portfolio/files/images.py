"""Photos re-encoded from their pixels alone: turned upright, in sRGB, with no metadata.

A phone photo carries where it was taken (EXIF GPS), the device, the time, and sometimes the
people named in it (XMP, IPTC); PNG and GIF carry text chunks and comments. None of it is kept:
the pixels are decoded, turned as the EXIF orientation says, converted to sRGB when the file has
a colour profile (the profile is metadata too, and a wide-gamut photo looks right in sRGB
everywhere), copied into a new image that has no ``info``, and encoded again in the same format.
Animations (GIF, animated WebP and PNG) keep their frames, timing and loop count.

Decoding untrusted files is where image libraries fail in surprising ways, so any failure to
decode is a refusal (``ImageRefused``), never an unexpected error; the pixel count is checked
from the header before anything is decoded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from PIL import ExifTags, Image, ImageCms, ImageSequence

# Animated images: frames beyond this are refused whatever their size, since each costs a
# decode and an encode however small it is.
MAX_FRAMES = 500
# Formats whose animations are kept. A JPEG's further frames (MPO: a depth map, a large
# preview, the other eye of a stereo pair) are not part of the photo.
ANIMATED_FORMATS = frozenset({"GIF", "PNG", "WEBP"})
JPEG_QUALITY = 90
WEBP_QUALITY = 90

_SRGB = ImageCms.createProfile("sRGB")
# What each EXIF orientation asks for to show the photo upright (as ImageOps.exif_transpose).
_TURNS_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageRefused(Exception):
    """A photo that is not kept: ``too_large`` (too many pixels) or not decodable."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large


@dataclass(frozen=True)
class CleanImage:
    """A photo's pixels, re-encoded without metadata, and its first frame for a thumbnail."""

    data: bytes = field(repr=False)
    width: int
    height: int
    first_frame: Image.Image = field(repr=False)


def clean_image(data: bytes, *, image_format: str, max_pixels: int) -> CleanImage:
    """Decode ``data`` as ``image_format`` (Pillow's name: JPEG, PNG, WEBP, GIF) and re-encode it.

    ``max_pixels`` bounds the pixels decoded, all frames of an animation counted.
    """
    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as source:
            _refuse_too_many_pixels(source.width * source.height, max_pixels)
            frames, timing = _clean_frames(source, max_pixels=max_pixels)
    except ImageRefused:
        raise
    except Image.DecompressionBombError as bomb:
        raise ImageRefused(_too_many_pixels_reason(max_pixels), too_large=True) from bomb
    except Exception as error:
        # Decoders raise OSError, SyntaxError, ValueError, struct.error, EOFError... for damaged
        # files: whichever it is, the file cannot be read.
        raise ImageRefused(
            "This photo could not be read: it may be damaged or only partly uploaded."
        ) from error
    first = frames[0]
    return CleanImage(
        data=_encode(frames, timing, image_format=image_format),
        width=first.width,
        height=first.height,
        first_frame=first,
    )


def _refuse_too_many_pixels(pixels: int, max_pixels: int) -> None:
    if pixels > max_pixels:
        raise ImageRefused(_too_many_pixels_reason(max_pixels), too_large=True)


def _too_many_pixels_reason(max_pixels: int) -> str:
    megapixels = max_pixels / 1_000_000
    return (
        f"This photo is too large: at most {megapixels:g} megapixels are accepted"
        " (all frames of an animation counted). A smaller copy of it will do."
    )


def _clean_frames(
    source: Image.Image, *, max_pixels: int
) -> tuple[list[Image.Image], dict[str, Any]]:
    turns = _TURNS_FOR_ORIENTATION.get(_orientation(source))
    frames: list[Image.Image] = []
    durations: list[int] = []
    pixels = 0
    for index, frame in enumerate(ImageSequence.Iterator(source)):
        if index > 0 and source.format not in ANIMATED_FORMATS:
            break
        if index >= MAX_FRAMES:
            raise ImageRefused(
                f"This animation has too many frames: at most {MAX_FRAMES} are accepted.",
                too_large=True,
            )
        pixels += frame.width * frame.height
        _refuse_too_many_pixels(pixels, max_pixels)
        frame.load()
        durations.append(int(frame.info.get("duration", 0)))
        clean = _pixels_only(frame)
        frames.append(clean.transpose(turns) if turns is not None else clean)
    timing: dict[str, Any] = {}
    if len(frames) > 1:
        timing["duration"] = durations
        if "loop" in source.info:  # without it, a GIF plays once
            timing["loop"] = int(source.info["loop"])
    return frames, timing


def _orientation(source: Image.Image) -> int:
    """The EXIF orientation (or XMP's, which Pillow reads into the same tag); 1 is upright."""
    try:
        return int(source.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:
        # A damaged EXIF block is not a damaged photo: it is dropped anyway, so show it as stored.
        return 1


def _pixels_only(frame: Image.Image) -> Image.Image:
    """A new image with ``frame``'s pixels in sRGB and nothing else: no info, no profile."""
    converted = _to_srgb(frame)
    mode = _plain_mode(converted)
    if converted.mode != mode:
        converted = _convert_mode(converted, mode)
    clean = Image.new(mode, converted.size)
    clean.paste(converted)
    return clean


def _to_srgb(frame: Image.Image) -> Image.Image:
    icc = frame.info.get("icc_profile")
    if not icc or frame.mode not in ("RGB", "RGBA", "CMYK"):
        return frame
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        output_mode = "RGBA" if frame.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(
            frame,
            profile,
            _SRGB,
            outputMode=output_mode,
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # An unreadable profile is dropped: the colours shift a little, the photo stays.
        return frame
    return converted if converted is not None else frame


def _plain_mode(frame: Image.Image) -> str:
    """The mode a frame is written in: L, LA, RGB or RGBA, keeping transparency."""
    transparent = "transparency" in frame.info or frame.mode in ("LA", "La", "PA", "RGBA", "RGBa")
    grey = frame.mode in ("1", "L", "LA", "La", "I", "F") or frame.mode.startswith("I;16")
    if grey:
        return "LA" if transparent else "L"
    return "RGBA" if transparent else "RGB"


def _convert_mode(frame: Image.Image, mode: str) -> Image.Image:
    if frame.mode in ("I", "F") or frame.mode.startswith("I;16"):
        # 16-bit grey: scale to 8 bits rather than clip everything above 255 to white.
        return frame.convert("I").point(lambda value: value * (1 / 256)).convert("L").convert(mode)
    return frame.convert(mode)


def _encode(frames: list[Image.Image], timing: dict[str, Any], *, image_format: str) -> bytes:
    first, rest = frames[0], frames[1:]
    options: dict[str, Any] = {}
    if image_format == "JPEG":
        first = first if first.mode in ("RGB", "L") else first.convert("RGB")
        options = {"quality": JPEG_QUALITY, "optimize": True}
    elif image_format == "WEBP":
        options = {"quality": WEBP_QUALITY}
    if rest:
        options |= {"save_all": True, "append_images": rest, **timing}
    out = io.BytesIO()
    first.save(out, format=image_format, **options)
    return out.getvalue()
