"""What each guardian wants to hear, how, and when: pure rules, no I/O.

Messages are of two kinds. **Conference logistics** (invitations, confirmations, moves,
cancellations, reminders, nudges to book) go at once; **portfolio news** (a goal set or reached,
work approved) goes into one daily digest per family at the hour they choose. Per kind, a
guardian chooses their channels (email, text message, or both) or opts out. Quiet hours, in the
guardian's time zone, hold a message until they end: it waits, it is not dropped.

A message that cannot wait (a conference cancelled or moved on the day) is **critical**: it
overrides quiet hours and an opt-out of its kind. It never overrides a text-message STOP, which
the carriers require us to honour (checked when the text is sent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Kind(StrEnum):
    LOGISTICS = "logistics"
    NEWS = "news"


class ChannelName(StrEnum):
    EMAIL = "email"
    SMS = "sms"


# Every template is one kind or the other; replies to a text (STOP, HELP) are not preferences'
# business and never pass through here.
NEWS_TEMPLATES = frozenset(
    {
        "goal_set",
        "goal_achieved",
        "evidence_approved",
        "reflection_added",
        "reflection_spoken",
        "portfolio_digest",
    }
)


def kind_of(template: str) -> Kind:
    return Kind.NEWS if template in NEWS_TEMPLATES else Kind.LOGISTICS


DEFAULT_DIGEST_HOUR = 18


@dataclass(frozen=True, kw_only=True)
class Preferences:
    """A guardian's choices. The defaults are what a family that chose nothing gets: every kind,
    by email if they gave an address (else by text), no quiet hours, news at 18:00."""

    channels: dict[Kind, tuple[ChannelName, ...]] | None = None
    opted_out: frozenset[Kind] = frozenset()
    quiet_from: time | None = None
    quiet_until: time | None = None
    timezone: str | None = None  # None: the site's
    digest_hour: int = DEFAULT_DIGEST_HOUR
    language: str | None = None  # None: the language the school has on file for them


NO_PREFERENCES = Preferences()


@dataclass(frozen=True)
class Plan:
    """How one message goes to one guardian: the channels to use, not before when; or not at
    all (``opted_out``)."""

    channels: tuple[str, ...]
    not_before: datetime | None = None
    opted_out: bool = False


def plan(
    preferences: Preferences,
    *,
    kind: Kind,
    critical: bool,
    email: str | None,
    phone: str | None,
    now: datetime,
    site_timezone: str,
    texts_stopped: bool = False,
) -> Plan:
    """How a message of ``kind`` reaches a guardian with these addresses, at ``now``
    (``texts_stopped``: their number replied STOP)."""
    channels = choose_channels(
        preferences, kind=kind, email=email, phone=phone, texts_stopped=texts_stopped
    )
    if kind in preferences.opted_out and not critical:
        return Plan(channels=channels, opted_out=True)
    wait = None if critical else quiet_hours_end(preferences, now, site_timezone)
    return Plan(channels=channels, not_before=wait)


def choose_channels(
    preferences: Preferences,
    *,
    kind: Kind,
    email: str | None,
    phone: str | None,
    texts_stopped: bool = False,
) -> tuple[str, ...]:
    """The channels chosen for ``kind`` that the guardian has an address for (texts not to a
    number that said STOP); with none chosen (or none usable), email if there is an address,
    else a text (recorded ``opted_out`` if the number said STOP), else none: the guardian can
    be reached by no channel (the office's could-not-reach list says so)."""
    reachable = {ChannelName.EMAIL: bool(email), ChannelName.SMS: bool(phone) and not texts_stopped}
    chosen = (preferences.channels or {}).get(kind, ())
    usable = tuple(str(channel) for channel in chosen if reachable[channel])
    if usable:
        return usable
    if email:
        return (ChannelName.EMAIL.value,)
    return (ChannelName.SMS.value,) if phone else ()


def quiet_hours_end(preferences: Preferences, now: datetime, site_timezone: str) -> datetime | None:
    """When the guardian's quiet hours around ``now`` end, or None if ``now`` is not in them.

    Quiet hours may cross midnight (21:00 to 07:00). They are wall-clock times in the
    guardian's time zone, so they stay put across a daylight-saving change."""
    start, end = preferences.quiet_from, preferences.quiet_until
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(preferences.timezone or site_timezone)
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)


def next_digest_at(preferences: Preferences, now: datetime, site_timezone: str) -> datetime:
    """The next time the guardian's daily digest goes: today at their hour if it is still to
    come, else tomorrow's; pushed past quiet hours that cover it."""
    zone = ZoneInfo(preferences.timezone or site_timezone)
    local = now.astimezone(zone)
    at = datetime.combine(local.date(), time(preferences.digest_hour), tzinfo=zone)
    if at <= local:
        at = datetime.combine(
            local.date() + timedelta(days=1), time(preferences.digest_hour), tzinfo=zone
        )
    due = at.astimezone(now.tzinfo)
    return quiet_hours_end(preferences, due, site_timezone) or due


def parse_kinds(values: Iterable[str]) -> frozenset[Kind]:
    return frozenset(Kind(value) for value in values)
