"""A guardian's message preferences as notifications keeps them (``GET``/``PUT
/guardians/{id}/preferences``) and as the preferences form shows them: per kind of message one
choice (the school's usual way, email, text, both, or none), quiet hours, the digest's hour,
the time zone those follow (the school's, unless the guardian chose their own). Why
notifications refused a change, named so the page can say it in the family's language."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import get_timezone_location

from services.web.languages import LANGUAGES
from services.web.service_api import Answer
from shared.api_types import is_time_zone

KINDS = ("logistics", "news")
CHOICES = ("usual", "email", "sms", "both", "none")
_CHANNELS_OF_CHOICE = {"email": ["email"], "sms": ["sms"], "both": ["email", "sms"]}
# Quiet hours begin and end on the half hour; the digest goes on the hour.
HALF_HOURS = tuple(f"{minutes // 60:02d}:{minutes % 60:02d}" for minutes in range(0, 24 * 60, 30))
DIGEST_HOURS = tuple(str(hour) for hour in range(24))
DEFAULT_QUIET = ("21:00", "07:00")
_TIME_OF_DAY = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")


class PreferencesRefusal(StrEnum):
    NO_PHONE = "no_phone"
    NO_EMAIL = "no_email"
    NO_CONTACT = "no_contact"
    QUIET_SAME = "quiet_same"
    INVALID = "invalid"


@dataclass(frozen=True)
class PreferencesForm:
    """The form's values: a choice per kind, quiet hours (on or off, from, until), the
    digest's hour."""

    choices: dict[str, str]
    quiet: bool
    quiet_from: str
    quiet_until: str
    digest_hour: str
    timezone: str = ""  # "": the school's
    language: str = ""  # "": the language the school has on file for them
    texts_stopped: bool = False  # (their number replied STOP: no text goes to it)


def form_of(preferences: dict[str, Any]) -> PreferencesForm:
    """The form as notifications' preferences fill it."""
    channels = preferences.get("channels") or {}
    opted_out = set(preferences.get("opted_out") or [])
    choices = {}
    for kind in KINDS:
        chosen = sorted(channels.get(kind) or [])
        if kind in opted_out:
            choices[kind] = "none"
        elif chosen == ["email", "sms"]:
            choices[kind] = "both"
        elif chosen in (["email"], ["sms"]):
            choices[kind] = chosen[0]
        else:
            choices[kind] = "usual"
    quiet = preferences.get("quiet_hours")
    return PreferencesForm(
        choices=choices,
        quiet=isinstance(quiet, dict),
        quiet_from=_hh_mm(quiet.get("from")) if isinstance(quiet, dict) else DEFAULT_QUIET[0],
        quiet_until=_hh_mm(quiet.get("until")) if isinstance(quiet, dict) else DEFAULT_QUIET[1],
        digest_hour=str(preferences.get("digest_hour", 18)),
        timezone=str(preferences.get("timezone") or ""),
        language=str(preferences.get("language") or ""),
        texts_stopped=preferences.get("texts_stopped") is True,
    )


def posted_form(fields: dict[str, str]) -> PreferencesForm | None:
    """The posted form, if every value is one the form offers (else None)."""
    choices = {kind: fields.get(kind, "usual") for kind in KINDS}
    form = PreferencesForm(
        choices=choices,
        quiet=fields.get("quiet") == "on",
        quiet_from=fields.get("quiet_from", DEFAULT_QUIET[0]),
        quiet_until=fields.get("quiet_until", DEFAULT_QUIET[1]),
        digest_hour=fields.get("digest_hour", "18"),
        timezone=fields.get("timezone", ""),
        language=fields.get("language", ""),
    )
    if any(choice not in CHOICES for choice in choices.values()):
        return None
    if not all(_TIME_OF_DAY.fullmatch(t) for t in (form.quiet_from, form.quiet_until)):
        return None
    if form.digest_hour not in DIGEST_HOURS:
        return None
    if form.timezone and not is_time_zone(form.timezone):
        return None  # (no form offers it: any IANA zone is one the list could have held)
    if form.language and form.language not in LANGUAGES:
        return None
    return form


def preferences_body(form: PreferencesForm) -> dict[str, Any]:
    """The form as notifications takes it."""
    return {
        "channels": {
            kind: _CHANNELS_OF_CHOICE[choice]
            for kind, choice in form.choices.items()
            if choice in _CHANNELS_OF_CHOICE
        },
        "opted_out": [kind for kind, choice in form.choices.items() if choice == "none"],
        "quiet_hours": (
            {"from": form.quiet_from, "until": form.quiet_until} if form.quiet else None
        ),
        "timezone": form.timezone or None,
        "digest_hour": int(form.digest_hour),
        "language": form.language or None,
    }


def refusal_of_preferences(answer: Answer) -> PreferencesRefusal:
    """The kind of refusal notifications' answer is: its ``refusal`` (no phone, no email, or
    neither on file), or a field error's type (quiet hours that begin and end together)
    (services/notifications/preferences_api.py); any other is a general message."""
    body = answer.body if isinstance(answer.body, dict) else {}
    kinds = [str(body.get("refusal"))] + [
        str(error.get("type")) for error in body.get("errors") or [] if isinstance(error, dict)
    ]
    for kind in kinds:
        if kind in _NAMED:
            return PreferencesRefusal(kind)
        if kind == "quiet_hours_same":
            return PreferencesRefusal.QUIET_SAME
    return PreferencesRefusal.INVALID


_NAMED = frozenset(
    {PreferencesRefusal.NO_PHONE, PreferencesRefusal.NO_EMAIL, PreferencesRefusal.NO_CONTACT}
)


def field_of_refusal(refusal: PreferencesRefusal, form: PreferencesForm) -> str:
    """The part of the form the refusal is about (where its message goes)."""
    wanted = {
        PreferencesRefusal.NO_PHONE: ("sms", "both"),
        PreferencesRefusal.NO_EMAIL: ("email", "both"),
        PreferencesRefusal.NO_CONTACT: ("sms", "email", "both"),
    }.get(refusal)
    if wanted is not None:
        return next((kind for kind in KINDS if form.choices[kind] in wanted), "main")
    if refusal is PreferencesRefusal.QUIET_SAME:
        return "quiet"
    return "main"


def times_offered(form: PreferencesForm) -> list[str]:
    """The half hours, and the guardian's own quiet hours if they are not on one."""
    return sorted(set(HALF_HOURS) | {form.quiet_from, form.quiet_until})


# The zones the list offers: each place once (no aliases, no "Etc/GMT+5"); which zones a
# guardian may keep is notifications' to decide (any IANA zone).
_ZONES = frozenset(
    zone
    for zone in zoneinfo.available_timezones()
    if "/" in zone
    and not zone.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
    and zone.split("/")[0] not in ("Brazil", "Canada", "Chile", "Mexico")
)


@cache
def zones_offered(language: str) -> tuple[tuple[str, str], ...]:
    """The time zones to choose from, each named in ``language`` by its place (Babel, from
    the CLDR: "hora de Vietnam"), in that language's alphabetical order; one zone per name."""
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        locale = Locale("en")
    named: dict[str, str] = {}
    for zone in sorted(_ZONES):
        named.setdefault(get_timezone_location(zone, locale=locale), zone)
    return tuple((zone, name) for name, zone in sorted(named.items()))


def zone_named(zone: str, language: str) -> str:
    """A guardian's saved zone with its name, even if the list names its place otherwise."""
    offered = dict(zones_offered(language))
    if zone in offered:
        return offered[zone]
    try:
        return get_timezone_location(zone, locale=Locale.parse(language.replace("-", "_")))
    except (LookupError, UnknownLocaleError, ValueError, OSError):
        return zone  # (OSError: a name no file could have, too long for the file system)


def _hh_mm(value: Any) -> str:
    """A time notifications wrote ("21:00:00") as the form's "21:00"."""
    return str(value)[:5] if isinstance(value, str) else DEFAULT_QUIET[0]
