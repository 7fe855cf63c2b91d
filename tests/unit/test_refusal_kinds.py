"""Every kind of refusal a service names (its problem document's ``refusal``) is one a page
explains in its own words: the family pages for booking, the staff, availability and office
pages for the school's own actions, the student and district pages for portfolio's. One a
service does not name is explained by its status, never by its English detail."""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.notifications.preferences_api import REFUSAL_CODES as PREFERENCES_REFUSAL_CODES
from services.notifications.reminder_times import REFUSAL_KINDS as REMINDER_REFUSAL_KINDS
from services.notifications.reminders_api import ANSWERED_KINDS, ReminderTimesIn
from services.portfolio.refusals import REFUSAL_CODES as PORTFOLIO_REFUSAL_CODES
from services.scheduling.booking.rules import (
    AVAILABILITY_REFUSAL_CODES,
    OFFICE_REFUSAL_CODES,
    PROFILE_REFUSAL_CODES,
    REFUSAL_CODES,
    STAFF_REFUSAL_CODES,
)
from services.web.district.roster_imports import import_refusal_of
from services.web.family.preferences_view import PreferencesRefusal, refusal_of_preferences
from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.refusals import Refusal, moment_of_refusal, refusal_of
from services.web.service_api import Answer
from services.web.staff.availability_refusals import (
    AvailabilityRefusal,
    block_refusal_of,
    link_refusal_of,
)
from services.web.staff.refusals import staff_refusal_of
from services.web.student.refusals import student_refusal_of

TEMPLATES = Path("services/web/templates")
# The pages' own kinds that explain nothing in particular.
GENERAL = {"conflict", "invalid", "other", "refused"}
Reader = Callable[[Answer], Any]
FAMILY: tuple[Reader, str] = (refusal_of, "_refusal.html.j2")
STAFF: tuple[Reader, str] = (staff_refusal_of, "_staff_refusal.html.j2")
AVAILABILITY: tuple[Reader, str] = (block_refusal_of, "_availability_refusal.html.j2")
VIDEO_CALL_LINK: tuple[Reader, str] = (link_refusal_of, "_availability_refusal.html.j2")
OFFICE: tuple[Reader, str] = (office_refusal_of, "_office_refusal.html.j2")
STUDENT: tuple[Reader, str] = (student_refusal_of, "_student_refusal.html.j2")
DISTRICT: tuple[Reader, str] = (import_refusal_of, "_district_refusal.html.j2")
PREFERENCES: tuple[Reader, str] = (refusal_of_preferences, "_preferences_refusal.html.j2")
# Each service's kinds, and the pages of which one at least explains each (availability is
# given on the teacher's page and the office's: both do).
WHERE: list[tuple[Mapping[str, str], tuple[tuple[Reader, str], ...]]] = [
    (REFUSAL_CODES, (FAMILY,)),
    (STAFF_REFUSAL_CODES, (STAFF,)),
    (AVAILABILITY_REFUSAL_CODES, (AVAILABILITY,)),
    (AVAILABILITY_REFUSAL_CODES, (OFFICE,)),
    (OFFICE_REFUSAL_CODES, (OFFICE,)),
    (PROFILE_REFUSAL_CODES, (VIDEO_CALL_LINK,)),
    (PORTFOLIO_REFUSAL_CODES, (STAFF, STUDENT, DISTRICT, OFFICE)),
    (PREFERENCES_REFUSAL_CODES, (PREFERENCES,)),
]


@pytest.mark.parametrize(
    ("code", "pages"),
    [(code, pages) for codes, pages in WHERE for code in sorted(codes)],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_each_kind_a_service_names_is_worded_on_a_page(
    code: str, pages: tuple[tuple[Reader, str], ...]
) -> None:
    answer = Answer(409, {"detail": "whatever the words", "refusal": code})
    worded = []
    for reader, template in pages:
        kind = reader(answer).value
        if kind not in GENERAL:
            assert f'refusal == "{kind}"' in (TEMPLATES / template).read_text(), template
            worded.append(template)
    assert worded, code


def test_availability_kinds_keep_their_names_on_the_availability_page() -> None:
    for code in AVAILABILITY_REFUSAL_CODES:
        assert block_refusal_of(Answer(422, {"refusal": code})).value == code
    for code in OFFICE_REFUSAL_CODES:
        assert office_refusal_of(Answer(409, {"refusal": code})).value == code


def test_a_refusal_without_a_kind_is_explained_by_its_status() -> None:
    assert refusal_of(Answer(403, {"detail": "no"})) is Refusal.NOT_ALLOWED
    assert refusal_of(Answer(404, {"detail": "no"})) is Refusal.NOT_FOUND
    assert refusal_of(Answer(422, {"detail": "no"})) is Refusal.INVALID
    assert refusal_of(Answer(409, {"detail": "booking opens tomorrow"})) is Refusal.CONFLICT
    assert refusal_of(Answer(409, {"refusal": "something new"})) is Refusal.CONFLICT
    assert refusal_of(Answer(502, "not json")) is Refusal.CONFLICT


def test_an_availability_refusal_without_a_kind_is_named_by_its_field_or_not_at_all() -> None:
    invalid = {"detail": "no", "errors": [{"loc": ["body", "capacity"], "msg": "too big"}]}
    assert block_refusal_of(Answer(422, invalid)) is AvailabilityRefusal.CAPACITY
    assert block_refusal_of(Answer(409, {"detail": "no"})) is AvailabilityRefusal.OTHER
    assert block_refusal_of(Answer(409, {"refusal": "full"})) is AvailabilityRefusal.OTHER
    said = {"detail": "teacher 't-1' already has availability then"}
    assert office_refusal_of(Answer(409, said)) is OfficeRefusal.CONFLICT


def test_the_preferences_page_names_notifications_refusals_by_kind_not_words() -> None:
    for refusal in ("no_phone", "no_email", "no_contact"):
        named = refusal_of_preferences(Answer(422, {"detail": "x", "refusal": refusal}))
        assert named is PreferencesRefusal(refusal)
    same = {"detail": "x", "errors": [{"loc": ["body"], "msg": "x", "type": "quiet_hours_same"}]}
    assert refusal_of_preferences(Answer(422, same)) is PreferencesRefusal.QUIET_SAME
    words = {"detail": "there is no phone number on file for this guardian"}
    assert refusal_of_preferences(Answer(422, words)) is PreferencesRefusal.INVALID


def test_the_moment_is_written_on_the_schools_clock_or_not_at_all() -> None:
    said = {"at": "2026-12-07T08:00:00-08:00", "timezone": "America/Los_Angeles"}
    written = moment_of_refusal(Answer(409, said), language="en")
    assert written is not None and "December 7" in written and "8:00" in written
    for odd in (
        {"at": "2026-12-07T08:00:00-08:00"},
        {"at": "soon", "timezone": "America/Los_Angeles"},
        {"at": "2026-12-07T08:00:00-08:00", "timezone": "Mars/Olympus"},
        {"at": 5, "timezone": "UTC"},
    ):
        assert moment_of_refusal(Answer(409, odd), language="en") is None


@pytest.mark.parametrize(
    ("before", "kind"),
    [
        (["P1D", "P2D", "P3D", "PT1H", "PT2H", "PT3H"], "reminders_too_many"),
        (["PT1M"], "reminders_range"),
        (["P15D"], "reminders_range"),
        (["P1D", "PT24H"], "reminders_twice"),
        (["2 days"], "string_pattern_mismatch"),
    ],
)
def test_reminder_times_refused_answer_a_kind_the_api_description_names(
    before: list[str], kind: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        ReminderTimesIn(before=before)
    assert [error["type"] for error in refused.value.errors()] == [kind]
    described = ReminderTimesIn.model_json_schema()["properties"]["before"]["description"]
    assert f"`{kind}`" in described
    assert set(ANSWERED_KINDS) <= set(REMINDER_REFUSAL_KINDS)
