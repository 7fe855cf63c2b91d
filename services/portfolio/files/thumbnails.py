"""Small JPEG previews of photos, for portfolio pages read on old phones and slow networks.

JPEG rather than WebP: every browser a family may have decodes it, and at this size the
difference in bytes is small. Transparent areas are shown on white, as on the page.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image

THUMBNAIL_LONG_SIDE = 320
THUMBNAIL_MEDIA_TYPE = "image/jpeg"
THUMBNAIL_QUALITY = 80
_BACKGROUND = (255, 255, 255)


@dataclass(frozen=True)
class Thumbnail:
    """A preview at most ``THUMBNAIL_LONG_SIDE`` pixels on its long side; never enlarged."""

    data: bytes = field(repr=False)
    width: int
    height: int
    media_type: str = THUMBNAIL_MEDIA_TYPE


def make_thumbnail(image: Image.Image, *, long_side: int = THUMBNAIL_LONG_SIDE) -> Thumbnail:
    """A JPEG preview of ``image`` (already upright and free of metadata)."""
    preview = image.copy()
    preview.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    preview = _on_white(preview)
    out = io.BytesIO()
    preview.save(out, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return Thumbnail(data=out.getvalue(), width=preview.width, height=preview.height)


def _on_white(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "L"):
        return image
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, _BACKGROUND)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background
