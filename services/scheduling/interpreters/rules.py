"""Interpreters' rules: who manages them, what hours make sense, what a change must leave
standing, and the free time in a day. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

from services.scheduling.booking.rules import Invalid, NotAllowed, Refused
from services.scheduling.windows.rules import Span
from shared.auth.principal import Principal
from shared.translations import primary_language, shortest_code

LONGEST_HOURS = timedelta(hours=14)
MOVE_THEM_FIRST = "move or cancel those conferences first"


primary = primary_language  # (shared with the web front, which shows the same language)


def speaks(languages: Iterable[str], language: str) -> bool:
    return primary(language) in {primary(one) for one in languages}


def same_interpreter_language(one: str | None, other: str | None) -> bool:
    """Whether two wishes for an interpreter (a language, or none) are the same wish."""
    if one is None or other is None:
        return one is other
    return primary(one) == primary(other)


def covers(hours: Iterable[Span], span: Span) -> bool:
    """Whether the interpreter's hours, taken together (9-13 and 13-15 are one stretch), cover
    ``span``."""
    reached = span.starts_at
    for stretch in sorted(hours, key=lambda one: one.starts_at):
        if stretch.starts_at > reached:
            break
        reached = max(reached, stretch.ends_at)
        if reached >= span.ends_at:
            return True
    return False


def may_see_interpreters(principal: Principal, *, district: str, site: str) -> bool:
    """A site's staff see its interpreters and their days."""
    return principal.is_staff and principal.can_act_for_site(district, site)


def sees_student_at(principal: Principal, *, teacher_id: str) -> bool:
    """Whether an interpreter's schedule names the student of a conference with ``teacher_id``
    to this reader: the site's administrators see every name, a teacher only at their own
    conferences (a teacher sees their classes)."""
    return principal.is_admin or principal.subject == teacher_id


def check_manages_interpreters(principal: Principal, *, district: str, site: str) -> None:
    """A site's administrators (and the district's) add interpreters and set their hours."""
    if not (principal.is_admin and principal.can_act_for_site(district, site)):
        raise NotAllowed(f"only the administrators of site {site!r} manage its interpreters")


def distinct_languages(languages: Iterable[str]) -> list[str]:
    """The tags in the order given, as BCP 47 writes them (``spa`` as ``es``), each language
    once (``es`` and ``es-MX`` are one)."""
    kept: dict[str, str] = {}
    for tag in languages:
        kept.setdefault(primary(tag), shortest_code(tag))
    return list(kept.values())


def languages_offered(spoken: Iterable[Iterable[str]]) -> list[str]:
    """The languages a site's interpreters speak, each once, by primary tag (``es`` covers
    ``es-MX``: a family asking for either is served by the same interpreters)."""
    return sorted({primary(tag) for languages in spoken for tag in languages})


def check_hours(hours: Span, *, others: Sequence[Span]) -> None:
    """Hours end after they start, last at most 14 hours, and overlap none of the same
    interpreter's other hours (one stretch of time is one row)."""
    if hours.starts_at.tzinfo is None or hours.ends_at.tzinfo is None:
        raise Invalid("hours are moments with a time zone offset, e.g. 2030-05-01T08:00:00-07:00")
    if hours.ends_at <= hours.starts_at:
        raise Invalid(
            "the hours end before they start (ends_at is not after starts_at)",
            code="hours_in_order",
        )
    if hours.ends_at - hours.starts_at > LONGEST_HOURS:
        raise Invalid(
            f"one stretch of hours lasts at most {LONGEST_HOURS.seconds // 3600} hours",
            code="hours_too_long",
        )
    clash = next((other for other in others if other.overlaps(hours)), None)
    if clash is not None:
        raise Refused(
            f"the interpreter already has hours from {clash.starts_at.isoformat()} to"
            f" {clash.ends_at.isoformat()}; change those instead",
            code="hours_overlap",
        )


def check_hours_removal(conferences: int) -> None:
    """Hours go only while no conference booked with the interpreter that has not ended falls
    in them (``conferences``: how many do)."""
    if conferences:
        raise Refused(
            f"{_conferences(conferences)} with this interpreter"
            f" {'falls' if conferences == 1 else 'fall'} in these hours; {MOVE_THEM_FIRST}",
            code="hours_booked",
        )


def check_change(*, active: bool, languages: Sequence[str], upcoming: Sequence[str]) -> None:
    """An interpreter stays active, and keeps the languages, that their upcoming conferences
    (``upcoming``: each one's language) need."""
    if not upcoming:
        return
    if not active:
        raise Refused(
            f"{_conferences(len(upcoming))} ahead {'is' if len(upcoming) == 1 else 'are'} booked"
            " with this interpreter;"
            f" {MOVE_THEM_FIRST}",
            code="interpreter_booked",
        )
    dropped = sorted({one for one in upcoming if one and not speaks(languages, one)})
    if dropped:
        raise Refused(
            f"conferences ahead are booked with this interpreter in {', '.join(dropped)};"
            f" {MOVE_THEM_FIRST}",
            code="interpreter_booked",
        )


def gaps(hours: Sequence[Span], busy: Sequence[Span]) -> list[Span]:
    """The free stretches of ``hours`` between the ``busy`` times, in time order."""
    free: list[Span] = []
    for stretch in sorted(hours, key=lambda span: span.starts_at):
        cursor = stretch.starts_at
        for taken in sorted(busy, key=lambda span: span.starts_at):
            if taken.ends_at <= cursor or taken.starts_at >= stretch.ends_at:
                continue
            if taken.starts_at > cursor:
                free.append(Span(cursor, taken.starts_at))
            cursor = max(cursor, taken.ends_at)
        if cursor < stretch.ends_at:
            free.append(Span(cursor, stretch.ends_at))
    return free


def _conferences(count: int) -> str:
    return "1 conference" if count == 1 else f"{count} conferences"
