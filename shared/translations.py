"""Gettext catalogs as translators keep them (``locale/<lang>/LC_MESSAGES/messages.po``, no
compiled ``.mo`` file), compiled in memory when read, and the choice of the language a person
reads among those there is a catalog for. Family messages (notifications) and the web pages use
the same rules, so a family reads its messages and its pages in the same language.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

import pycountry
from babel import Locale, UnknownLocaleError
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

# Chinese with no script named is read in Simplified characters, unless the place writes
# Traditional ones (there is no Traditional catalog yet: those fall back to English).
_TRADITIONAL_CHINESE = frozenset({"tw", "hk", "mo"})


def catalog_files(locale_dir: Path) -> dict[str, Path]:
    """Each language's ``.po`` file under ``locale_dir``, by BCP 47 tag: a catalog's folder is
    its Babel locale (``zh_Hans``), callers speak in tags (``zh-Hans``)."""
    return {
        path.parents[1].name.replace("_", "-"): path
        for path in sorted(locale_dir.glob("*/LC_MESSAGES/messages.po"))
    }


def compiled_translations(po_file: Path | None) -> gettext.NullTranslations:
    """The catalog as gettext reads it, compiled in memory (no translations without a file).
    Fuzzy entries are left out (English shows instead), as msgfmt would; the catalog tests allow
    none."""
    if po_file is None:
        return gettext.NullTranslations()
    with po_file.open("rb") as po:
        catalog = read_po(po)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def best_language(preferred: str | None, supported: Iterable[str]) -> str | None:
    """The language of ``supported`` that best serves a reader of ``preferred`` (RFC 4647
    lookup), or None: ``es-MX`` reads ``es``; ``zh``, ``zh-CN`` and ``zh-Hans-CN`` read
    ``zh-Hans`` (``zh-TW`` looks for ``zh-Hant``)."""
    subtags = [tag for tag in (preferred or "").replace("_", "-").lower().split("-") if tag]
    if subtags[:1] == ["zh"] and not {"hans", "hant"} & set(subtags):
        subtags.insert(1, "hant" if _TRADITIONAL_CHINESE & set(subtags) else "hans")
    by_lowercase = {language.lower(): language for language in supported}
    for end in range(len(subtags), 0, -1):
        candidate = "-".join(subtags[:end])
        if candidate in by_lowercase:
            return by_lowercase[candidate]
    return None


@lru_cache(maxsize=512)
@lru_cache(maxsize=256)
def right_to_left(language: str) -> bool:
    """Whether the language's text runs right to left (Arabic, Persian, Hebrew, Urdu...), as the
    CLDR says (``ar``, ``fa-IR``); not for a language it does not know."""
    try:
        return bool(Locale.parse(language, sep="-").character_order == "right-to-left")
    except (ValueError, TypeError, UnknownLocaleError):
        return False


def language_name(tag: str, *, in_language: str) -> str:
    """A language's name written in ``in_language`` ("espagnol" for ``es`` in French; an
    interpreter's language, a family's): the CLDR's, with the tag's region or script ("Spanish
    (Mexico)"); for a language the CLDR has no locale for, its name of the language ("Hmong");
    else ISO 639's, translated where the iso-codes project has it ("Mam", "苗语"); else the
    tag."""
    try:
        reader = Locale.parse(in_language.replace("_", "-"), sep="-")
    except (ValueError, LookupError, UnknownLocaleError):
        reader = Locale("en")
    try:
        name = Locale.parse(tag.replace("_", "-"), sep="-").get_display_name(reader)
    except (ValueError, LookupError, UnknownLocaleError):  # (Hmong, "hmn": no CLDR locale)
        name = None
    primary = tag.replace("_", "-").split("-")[0].lower()
    return name or reader.languages.get(primary) or _iso_639_name(primary, reader) or tag


def _iso_639_name(code: str, reader: Locale) -> str | None:
    """ISO 639's name of a language or group of languages (pycountry), in the reader's
    language when the iso-codes project translates it."""
    found: Any = (
        (pycountry.languages.get(alpha_2=code) if len(code) == 2 else None)
        or pycountry.languages.get(alpha_3=code)
        or pycountry.languages.get(bibliographic=code)
    )
    domain = "iso639-3"
    if found is None:
        found, domain = pycountry.language_families.get(alpha_3=code), "iso639-5"
    if found is None:
        return None
    folder = str(reader) if reader.territory or reader.language != "zh" else "zh_CN"
    translations = gettext.translation(
        domain, pycountry.LOCALES_DIR, languages=[folder, reader.language], fallback=True
    )
    return str(translations.gettext(found.name))


def language_named(name: str, *, in_languages: Iterable[str]) -> str | None:
    """The BCP 47 tag of the language ``name`` names, as a person types it rather than its
    code: the CLDR's name in one of ``in_languages`` ("Spanish", "español", "Traditional
    Chinese" -> ``zh-Hant``), a name schools often use instead ("Farsi", "Mandarin", "ASL"),
    else ISO 639's English one ("Hmong" -> ``hmn``); None if it names none (case, accents and
    spaces aside: "espanol" is Spanish)."""
    wanted = plain_words(name)
    if not wanted:
        return None
    for language in in_languages:
        found = _tags_by_name(language).get(wanted)
        if found is not None:
            return found
    if wanted in _ALSO_CALLED:
        return _ALSO_CALLED[wanted]
    try:
        listed: Any = pycountry.languages.get(name=wanted)
    except LookupError:
        listed = None
    if listed is None:
        return None
    return str(getattr(listed, "alpha_2", None) or listed.alpha_3)


# Names schools use for languages that the CLDR names otherwise (in English).
_ALSO_CALLED = {
    "asl": "ase",
    "farsi": "fa",
    "mandarin": "zh",
    "mandarin chinese": "zh",
    "cantonese": "yue",
    "karen": "kar",
    "haitian": "ht",
    "kreyol": "ht",
    "sign language": "sgn",
}


def plain_words(words: str) -> str:
    """Words as a person's search compares them: lower case, no accents, single spaces
    ("María  Núñez" and "maria nunez" are the same)."""
    stripped = "".join(
        char for char in unicodedata.normalize("NFKD", words) if not unicodedata.combining(char)
    )
    return " ".join(stripped.split()).casefold()


@lru_cache(maxsize=16)
def _tags_by_name(language: str) -> dict[str, str]:
    """The CLDR's languages by their names in ``language`` (``plain_words``: "espanol"), a
    language's own name before a variant's (a regional variant, "Mexican Spanish", is not one
    an interpreter is listed for: only languages and scripts)."""
    try:
        reader = Locale.parse(language.replace("-", "_"))
    except (ValueError, LookupError, UnknownLocaleError):
        return {}
    return {
        plain_words(written): code.replace("_", "-")
        for code, written in sorted(reader.languages.items(), reverse=True)
        if "_" not in code or _is_script(code.split("_")[1])
    }


def _is_script(subtag: str) -> bool:
    """Whether a locale's second part is a script ("Hant"), not a region ("MX", "419")."""
    return len(subtag) == 4 and subtag.istitle()


def primary_language(tag: str) -> str:
    """A tag's language by its shortest code, e.g. ``es`` of ``es-MX`` and of ``spa``: an
    interpreter of Spanish serves them all."""
    return shortest_code(tag).split("-")[0]


def same_language(one: str, other: str) -> bool:
    """Whether two tags are one language for a reader: the same language (``es-MX`` and
    ``es``, ``vie`` and ``vi``) in the same script where both name one (``zh-Hant`` is not
    ``zh-Hans``)."""
    first, second = shortest_code(one).split("-"), shortest_code(other).split("-")
    if first[0] != second[0]:
        return False
    scripts = [next((part for part in tag[1:] if len(part) == 4), None) for tag in (first, second)]
    return None in scripts or scripts[0] == scripts[1]


def shortest_code(tag: str) -> str:
    """The tag with its language by its two-letter code where ISO 639-1 has one ("spa-MX" ->
    "es-MX", "lao" -> "lo"), the rest as BCP 47 writes it ("zh-hant" -> "zh-Hant")."""
    first, *rest = tag.replace("_", "-").split("-")
    first = first.lower()
    if len(first) == 3:
        found: Any = pycountry.languages.get(alpha_3=first) or pycountry.languages.get(
            bibliographic=first
        )
        first = str(getattr(found, "alpha_2", None) or first)
    return "-".join(
        [first]
        + [
            part.title() if len(part) == 4 else part.upper() if len(part) == 2 else part.lower()
            for part in rest
        ]
    )


def in_words(
    items: Sequence[str], locale: Locale, *, said: Callable[[str], str] = str.strip
) -> str:
    """``items`` as a list in the language's words, by CLDR's rules as Babel writes them
    ("Ana and Leo", "Ana, Leo y Sol", "安娜和利奥"), and Spanish's "e" for "y" before a word
    that starts with the sound /i/ ("Ana e Isabel", not "y Hielo"), which CLDR leaves out.
    ``said``: an item's words as read aloud (a caller's items may be markup)."""
    # (Written with markers first, then the items in one pass: only the list's own "y" is ever
    # changed, and an item's own text is never read as a marker.)
    markers = [f"\x00{number}\x00" for number in range(len(items))]
    text = format_list(markers, locale=locale)
    if locale.language == "es" and items and _starts_with_i_sound(said(items[-1])):
        text = text.replace(f" y {markers[-1]}", f" e {markers[-1]}")
    return _MARKER.sub(lambda found: items[int(found[1])], text)


_MARKER = re.compile("\x00([0-9]+)\x00")


def _starts_with_i_sound(word: str) -> bool:
    """Whether a Spanish word starts with the vowel /i/: "i" or "hi" then a consonant ("Isabel",
    "Hidalgo"), or a stressed "í"; not "hie"/"hia" ("hielo") nor "Iowa", where it is /j/."""
    word = word.lower()
    word = word[1:] if word.startswith("h") else word
    return word[:1] == "í" or (word[:1] == "i" and word[1:2] not in set("aeiouáéíóú"))
