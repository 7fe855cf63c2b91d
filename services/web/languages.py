"""Which language a page is written in: the one chosen with ``?lang=`` (kept in a cookie), else
the browser's (Accept-Language), else English; among those there is a catalog for."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel import Locale
from starlette.requests import Request

from shared.translations import best_language, catalog_files, language_name, right_to_left

LOCALE = Path(__file__).parent / "locale"
FALLBACK_LANGUAGE = "en"  # the templates' own language
CATALOGS = catalog_files(LOCALE)
LANGUAGES = (FALLBACK_LANGUAGE, *sorted(CATALOGS))
LANGUAGE_COOKIE = "slc_lang"
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600
# Read no more of a header than any browser sends.
_MAX_ACCEPTED = 20


def supported(tag: str | None) -> str | None:
    """The language with a catalog that serves a reader of ``tag``, if any."""
    if not tag or len(tag) > 35:
        return None
    return best_language(tag, LANGUAGES)


def chosen_from_query(request: Request) -> str | None:
    """The language the person just chose with a ``?lang=`` link."""
    return supported(request.query_params.get("lang"))


def page_language(request: Request) -> str:
    """The language to write this request's page in."""
    return (
        chosen_from_query(request)
        or supported(request.cookies.get(LANGUAGE_COOKIE))
        or next(filter(None, map(supported, accepted_languages(request))), None)
        or FALLBACK_LANGUAGE
    )


def accepted_languages(request: Request) -> list[str]:
    """The browser's languages, most wanted first (Accept-Language's quality values)."""
    wanted: list[tuple[float, int, str]] = []
    header = request.headers.get("accept-language", "")
    for position, part in enumerate(header.split(",")[:_MAX_ACCEPTED]):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        name, _, value = parameters.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            wanted.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(wanted)]


def direction(language: str) -> str:
    return "rtl" if right_to_left(language) else "ltr"


@lru_cache(maxsize=64)
def locale_of(language: str) -> Locale:
    return Locale.parse(language, sep="-")


@lru_cache(maxsize=16)
def own_name(language: str) -> str:
    """A language's name in itself, for the switch between languages: "Español", "العربية"."""
    name = language_name(language, in_language=language)
    return name[:1].upper() + name[1:]
