"""Rendering family messages in the family's language. Pure: no I/O beyond reading the templates
and catalogs.

Each message is one Jinja template, ``templates/<name>.txt.j2``: its English text in
``{% trans %}`` blocks, its first line the subject. Other languages are gettext catalogs,
``locale/<lang>/LC_MESSAGES/messages.po``, read when this module is imported (no compiled
``.mo`` file is kept); docs/translations.md says how translators work on them. Dates, times and
lists of names are written the family's way (Babel) in the site's time zone.
"""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_interval, format_time
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_environment

from shared.translations import (
    best_language,
    catalog_files,
    compiled_translations,
    in_words,
    language_name,
    right_to_left,
)

TEMPLATES = Path(__file__).parent / "templates"
LOCALE = Path(__file__).parent / "locale"
FALLBACK_LANGUAGE = "en"  # the templates' own language

# Deliveries and Content-Language carry the BCP 47 tag (`zh-Hans`).
_CATALOGS = catalog_files(LOCALE)
SUPPORTED_LANGUAGES = tuple(sorted({FALLBACK_LANGUAGE, *_CATALOGS}))

# Every character that could start a new line, or reorder or hide text, in what a field holds.
_BREAKS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]+"
)


def one_line(value: Any) -> Any:
    """What a template prints of a value: text on one line, whatever the value held. Only the
    template's own text makes a message's lines, so no field (a name, a room, a reason) can
    become the subject, a header, or a new paragraph."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return _BREAKS.sub(" ", str(value)).strip()


@dataclass(frozen=True)
class Message:
    language: str
    subject: str
    body: str


@dataclass(frozen=True)
class Days:
    """Days from ``first`` to ``last``, written the family's way, e.g. "8-10 de diciembre de 2026"."""

    first: date
    last: date


@dataclass(frozen=True)
class Names:
    """Names written as a list the family's way: "Ana, Leo, and Mia", "Ana, Leo y Mia"."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class LanguageName:
    """A language (a BCP 47 tag: the interpreter asked for), named in the family's language:
    "árabe" for ``ar`` in a Spanish message."""

    tag: str


def named_language(tag: str | None) -> LanguageName | None:
    """``tag`` to be named in the family's language, if there is one."""
    return LanguageName(tag) if tag else None


@dataclass(frozen=True)
class Authored:
    """Words the school or a student wrote (a goal's title, the reason for a change), in
    ``language`` if known. A message shows them exactly as written, in quotes, never through
    the catalogs; a ``ContentTranslator`` may add a translation in front of them."""

    text: str
    language: str | None = None


class ContentTranslator(Protocol):
    """A translation service for ``Authored`` words, called while a message is written (in the
    event handler's transaction: answer from a cache, or give up quickly). None, or the same
    text, leaves the words as written; ``source_language`` is None when nobody said."""

    def translate(
        self, text: str, source_language: str | None, target_language: str
    ) -> str | None: ...


@dataclass(frozen=True)
class _Listed:
    """Names as the family reads them, still knowing how many there are (a plural needs it)."""

    text: str
    count: int

    def __str__(self) -> str:
        return self.text

    def __len__(self) -> int:
        return self.count


@dataclass(frozen=True)
class _Shown:
    """``Authored`` words with the translation, if any, that the message shows before them."""

    text: str
    translation: str | None = None


@pass_environment
def _as_written(environment: Environment, value: _Shown | str) -> str:
    """The ``authored`` filter: what the school or a student wrote, quoted the family's way."""
    shown = value if isinstance(value, _Shown) else _Shown(str(value))
    template = environment.get_template("_authored.txt.j2")
    return template.render(text=shown.text, translation=shown.translation).strip()


def _translations(language: str) -> gettext.NullTranslations:
    """The language's catalog as gettext reads it, compiled in memory (``shared.translations``)."""
    return compiled_translations(_CATALOGS.get(language))


def _environment(language: str) -> Environment:
    """One environment per language, its catalog installed once: rendering shares nothing
    that changes, so any number of threads and tasks may render at once."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,  # plain-text messages
        keep_trailing_newline=True,
        finalize=one_line,
        extensions=["jinja2.ext.i18n"],
        # Read once, as the catalogs are: no look at each template file's time per message.
        auto_reload=False,
    )
    # A paragraph is one line and one msgid, however the template wraps it. (A trans block's
    # output, variables included, goes through ``one_line`` as a whole.)
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_translations(_translations(language), newstyle=True)  # type: ignore[attr-defined]
    environment.filters["authored"] = _as_written
    return environment


_ENVIRONMENTS = {language: _environment(language) for language in SUPPORTED_LANGUAGES}


# In NOTIFICATIONS_FAMILY_LINK_URL: replaced by the language each family's message is written in.
LANGUAGE_PLACEHOLDER = "{language}"


@dataclass(frozen=True)
class OfficeWords:
    """How a family reaches the school's office, at the end of each message to them: its phone
    number as written in the district's country and email address (one of them at least), its
    hours in the office's words (``school_office.py``)."""

    school: str | None
    phone: str | None
    email: str | None
    hours: str | None


def message_language(preferred: str | None) -> str:
    """The best language we have a catalog for (RFC 4647 lookup): ``es-MX`` is written in
    ``es``; ``zh``, ``zh-CN`` and ``zh-Hans-CN`` in ``zh-Hans`` (``zh-TW`` looks for
    ``zh-Hant``); anything else in English."""
    return best_language(preferred, SUPPORTED_LANGUAGES) or FALLBACK_LANGUAGE


def render(
    template: str,
    *,
    language: str | None,
    timezone: str = "UTC",
    translator: ContentTranslator | None = None,
    office: OfficeWords | None = None,
    **context: Any,
) -> Message:
    """Render a message in the family's language (``message_language``): dates and times in
    ``context`` are written the family's way in ``timezone``; ``Authored`` words are shown as
    written, after their translation when ``translator`` gives one. The message ends with how
    to reach the school's ``office``, when it wrote that."""
    chosen = message_language(language)
    localize = _Localizer(_locale(chosen), chosen, ZoneInfo(timezone), translator)
    values = {key: localize(value) for key, value in context.items()}
    if isinstance(link := values.get("link"), str):
        # The family's link opens its pages in the language it reads its messages in.
        values["link"] = link.replace(LANGUAGE_PLACEHOLDER, chosen)
    environment = _ENVIRONMENTS[chosen]
    text = environment.get_template(f"{template}.txt.j2").render(**values)
    if office is not None:
        reach = localize(", ".join(way for way in (office.phone, office.email) if way))
        footer = environment.get_template("_school_office.txt.j2").render(
            school=localize(office.school),
            reach=reach,
            hours=localize(Authored(office.hours) if office.hours else None),
        )
        if right_to_left(chosen):
            # The number and address read left to right inside the right-to-left line (an
            # extension stays beside its number), isolated as the Unicode bidi rules say.
            footer = footer.replace(reach, f"\u2068{reach}\u2069")
        text = f"{text.rstrip()}\n\n{footer.strip()}\n"
    subject, _, body = text.partition("\n")
    return Message(language=chosen, subject=shortened(subject.strip()), body=body.lstrip("\n"))


SUBJECT_MAX_LENGTH = 300  # (the delivery's column; a mail client shows far less)


def shortened(subject: str, limit: int = SUBJECT_MAX_LENGTH) -> str:
    """A subject that fits ``limit`` characters: cut at a space when there is one in its last
    fifth, with an ellipsis (the children's names of a large family can run long: the message
    must still be written, its body says everything)."""
    if len(subject) <= limit:
        return subject
    cut = subject[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 4 // 5:
        cut = cut[:space]
    return cut.rstrip() + "…"


@dataclass(frozen=True)
class _Localizer:
    """Turns a context value into what the family reads, on one line. (Inside a ``{% trans %}``
    block a value is printed as it is, so dates and lists are written before rendering; the
    block's output as a whole goes through ``one_line`` too.)"""

    locale: Locale
    language: str
    timezone: ZoneInfo
    translator: ContentTranslator | None

    def __call__(self, value: Any) -> Any:
        if isinstance(value, Authored):
            translation = self._translation(value)
            return _Shown(one_line(value.text), translation and one_line(translation))
        if isinstance(value, Days):
            return _written_days(value, self.language)
        if isinstance(value, LanguageName):
            return language_name(value.tag, in_language=self.language)
        if isinstance(value, Names):
            names = [one_line(name) for name in value.names]
            return _Listed(in_words(names, self.locale), len(names))
        if isinstance(value, datetime):
            return _written_moment(value, self.language, self.timezone)
        if isinstance(value, date):
            return _written_date(value, self.language)
        if isinstance(value, list | tuple):
            return [self(item) for item in value]
        if isinstance(value, dict):
            return {key: self(item) for key, item in value.items()}
        return one_line(value)

    def _translation(self, words: Authored) -> str | None:
        if self.translator is None or _same_language(words.language, self.language):
            return None
        translation = self.translator.translate(words.text, words.language, self.language)
        if not translation or translation.strip() == words.text.strip():
            return None
        return translation


# The same dates and times are written for every family of a school in a language (a window's
# days, its closing time): each once per language and zone, not once per family.


@lru_cache(maxsize=16)
def _locale(language: str) -> Locale:
    return Locale.parse(language, sep="-")


@lru_cache(maxsize=4096)
def _written_days(days: Days, language: str) -> str:
    if days.first == days.last:
        return _written_date(days.first, language)
    return str(format_interval(days.first, days.last, "yMMMMd", locale=_locale(language)))


@lru_cache(maxsize=4096)
def _written_date(day: date, language: str) -> str:
    return str(format_date(day, "long", locale=_locale(language)))


@lru_cache(maxsize=4096)
def _written_moment(value: datetime, language: str, timezone: ZoneInfo) -> str:
    locale = _locale(language)
    local = value.astimezone(timezone)
    day = format_date(local, "full", locale=locale)
    time = format_time(local, "short", tzinfo=timezone, locale=locale)
    # The locale's own order: "Tuesday, December 8, 2026, 3:30 PM", "15:30 Thứ Ba, ...".
    pattern = str(locale.datetime_formats["medium"]).replace("'", "")
    return pattern.replace("{1}", day).replace("{0}", time)


def _same_language(written_in: str | None, language: str) -> bool:
    """Whether words written in ``written_in`` need no translation for a family reading
    ``language``: `es-MX` for `es`, `zh-CN` for `zh-Hans`; not `fr` (which reads English)."""
    if written_in is None:
        return False
    primary = written_in.replace("_", "-").split("-", 1)[0].lower()
    return message_language(written_in) == language and primary == language.split("-", 1)[0]
