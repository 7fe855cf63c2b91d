"""Text messages as carriers count them (3GPP TS 23.038). Pure, no I/O.

A text that fits the GSM 7-bit alphabet goes in 160 characters, or 153 per part when it takes
several (the rest of each part holds the header that joins them); the characters of the
alphabet's extension table (``€ [ ] { } \\ ~ ^ |``) take two. Anything else (Vietnamese tones,
Chinese, Arabic, most emoji) makes the whole message UCS-2: 70 characters, 67 per part, a
character outside the Basic Multilingual Plane taking two. ``fit`` shortens a text to a number
of parts at a word boundary, so a reminder in Vietnamese is not cut mid-word.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or 16-bit code units (UCS-2)
    parts: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def _units(text: str, gsm7: bool) -> int:
    if gsm7:
        return sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def segments(text: str) -> Segments:
    """How a carrier sends ``text``: its encoding, its length in that encoding, its parts."""
    gsm7 = is_gsm7(text)
    units = _units(text, gsm7)
    single, part = (160, 153) if gsm7 else (70, 67)
    parts = 1 if units <= single else -(-units // part)
    return Segments("GSM-7" if gsm7 else "UCS-2", units, parts)


def fit(text: str, max_parts: int, *, tail: str = "") -> str:
    """``text + tail`` if it goes in ``max_parts`` parts; else as many whole words of ``text``
    as fit, an ellipsis ("..." in a GSM-7 text, "…" in a UCS-2 one), and ``tail`` whole (a link
    must not be cut). A ``tail`` too long to fit even alone leaves the words whole: the text
    goes longer than ``max_parts`` rather than with nothing but the tail."""
    if segments(text + tail).parts <= max_parts:
        return text + tail
    ellipsis = "..." if is_gsm7(text + tail) else "…"  # (the one-character one is not GSM-7)
    if segments(ellipsis + tail).parts > max_parts:
        return text + tail  # (the tail alone is too long: cutting the words would gain nothing)
    words = text.split(" ")

    def fits(count: int) -> bool:
        return segments(" ".join(words[:count]).rstrip() + ellipsis + tail).parts <= max_parts

    low, high = 0, len(words)
    while low < high:  # the most words that, with the ellipsis and the tail, still fit
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    if low == 0:  # not one whole word fits: cut the first word itself, between characters
        word = words[0]
        for end in reversed(_character_ends(word)):
            if segments(word[:end] + ellipsis + tail).parts <= max_parts:
                return word[:end] + ellipsis + tail
        return ellipsis + tail
    return " ".join(words[:low]).rstrip() + ellipsis + tail


# What belongs to the character before it: combining marks (a decomposed Vietnamese "ễ"), the
# zero-width joiner and what it joins (a family emoji), variation selectors, skin tones.
_ZWJ = "\u200d"


def _joins_previous(char: str) -> bool:
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or char == _ZWJ
        or "\ufe00" <= char <= "\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"
    )


def _character_ends(word: str) -> list[int]:
    """Where ``word`` may be cut without splitting what a reader sees as one character: after
    each such character (never before a mark that belongs to it, nor after a joiner)."""
    return [
        end
        for end in range(1, len(word) + 1)
        if end == len(word) or not (_joins_previous(word[end]) or word[end - 1] == _ZWJ)
    ]
