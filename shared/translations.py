"""Gettext catalogs as translators keep them (``locale/<lang>/LC_MESSAGES/messages.po``, no
compiled ``.mo`` file), compiled in memory when read, and the choice of the language a person
reads among those there is a catalog for. Family messages (notifications) and the web pages use
the same rules, so a family reads its messages and its pages in the same language.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
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
def language_name(tag: str, *, in_language: str) -> str:
    """A language's name written in ``in_language`` ("espagnol" for ``es`` in French; an
    interpreter's language, a family's), or the tag if the CLDR has no name for it."""
    try:
        reader = Locale.parse(in_language.replace("_", "-"), sep="-")
        name = Locale.parse(tag.replace("_", "-"), sep="-").get_display_name(reader)
    except (ValueError, LookupError, UnknownLocaleError):  # (Hmong, "hmn": no CLDR locale)
        return tag
    return name or tag
