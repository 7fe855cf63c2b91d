"""Every kind of refusal scheduling names (its problem document's ``refusal``) is one the family
pages (or, for the school's own actions, the staff pages) explain in their own words; one it does
not name is explained by its status."""

from pathlib import Path

import pytest

from services.portfolio.refusals import REFUSAL_CODES as PORTFOLIO_REFUSAL_CODES
from services.scheduling.booking.rules import (
    AVAILABILITY_REFUSAL_CODES,
    OFFICE_REFUSAL_CODES,
    REFUSAL_CODES,
    STAFF_REFUSAL_CODES,
)
from services.web.district.roster_imports import import_refusal_of
from services.web.family.preferences_view import PreferencesRefusal, refusal_of_preferences
from services.web.office.refusals import OfficeRefusal, office_refusal_of
from services.web.refusals import Refusal, moment_of_refusal, refusal_of
from services.web.service_api import Answer
from services.web.staff.availability_refusals import AvailabilityRefusal, block_refusal_of
from services.web.staff.refusals import StaffRefusal, staff_refusal_of
from services.web.student.refusals import student_refusal_of

PAGE = Path("services/web/templates/_refusal.html.j2").read_text()


@pytest.mark.parametrize("code", sorted(REFUSAL_CODES))
def test_each_kind_scheduling_names_has_the_pages_words(code: str) -> None:
    kind = refusal_of(Answer(409, {"detail": "whatever the words", "refusal": code}))
    assert kind is not Refusal.CONFLICT
    assert f'refusal == "{kind.value}"' in PAGE


def test_a_refusal_without_a_kind_is_explained_by_its_status() -> None:
    assert refusal_of(Answer(403, {"detail": "no"})) is Refusal.NOT_ALLOWED
    assert refusal_of(Answer(404, {"detail": "no"})) is Refusal.NOT_FOUND
    assert refusal_of(Answer(422, {"detail": "no"})) is Refusal.INVALID
    assert refusal_of(Answer(409, {"detail": "booking opens tomorrow"})) is Refusal.CONFLICT
    assert refusal_of(Answer(409, {"refusal": "something new"})) is Refusal.CONFLICT
    assert refusal_of(Answer(502, "not json")) is Refusal.CONFLICT


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


STAFF_PAGE = Path("services/web/templates/_staff_refusal.html.j2").read_text()


@pytest.mark.parametrize("code", sorted(STAFF_REFUSAL_CODES))
def test_each_kind_of_the_schools_own_refusals_has_the_staff_pages_words(code: str) -> None:
    kind = staff_refusal_of(Answer(409, {"detail": "whatever the words", "refusal": code}))
    assert kind is not StaffRefusal.CONFLICT
    assert f'refusal == "{kind.value}"' in STAFF_PAGE


AVAILABILITY_PAGE = Path("services/web/templates/_availability_refusal.html.j2").read_text()


@pytest.mark.parametrize("code", sorted(AVAILABILITY_REFUSAL_CODES))
def test_each_kind_of_availability_refusal_has_the_availability_pages_words(code: str) -> None:
    kind = block_refusal_of(Answer(422, {"detail": "whatever the words", "refusal": code}))
    assert kind.value == code
    assert f'refusal == "{kind.value}"' in AVAILABILITY_PAGE


def test_an_availability_refusal_without_a_kind_is_named_by_its_field_or_not_at_all() -> None:
    invalid = {"detail": "no", "errors": [{"loc": ["body", "capacity"], "msg": "too big"}]}
    assert block_refusal_of(Answer(422, invalid)) is AvailabilityRefusal.CAPACITY
    assert block_refusal_of(Answer(409, {"detail": "no"})) is AvailabilityRefusal.OTHER
    assert block_refusal_of(Answer(409, {"refusal": "full"})) is AvailabilityRefusal.OTHER


OFFICE_PAGE = Path("services/web/templates/_office_refusal.html.j2").read_text()


@pytest.mark.parametrize("code", sorted(AVAILABILITY_REFUSAL_CODES))
def test_the_office_page_words_each_kind_of_availability_refusal(code: str) -> None:
    kind = office_refusal_of(Answer(409, {"detail": "whatever the words", "refusal": code}))
    assert kind not in (OfficeRefusal.CONFLICT, OfficeRefusal.INVALID)
    assert f'refusal == "{kind.value}"' in OFFICE_PAGE


STUDENT_PAGE = Path("services/web/templates/_student_refusal.html.j2").read_text()
DISTRICT_PAGE = Path("services/web/templates/_district_refusal.html.j2").read_text()


@pytest.mark.parametrize("code", sorted(PORTFOLIO_REFUSAL_CODES))
def test_each_kind_portfolio_names_is_worded_on_the_staff_or_the_students_pages(code: str) -> None:
    answer = Answer(409, {"detail": "whatever the words", "refusal": code})
    worded = [
        kind.value
        for kind, page in (
            (staff_refusal_of(answer), STAFF_PAGE),
            (student_refusal_of(answer), STUDENT_PAGE),
            (import_refusal_of(answer), DISTRICT_PAGE),
        )
        if kind.value not in ("conflict", "refused") and f'refusal == "{kind.value}"' in page
    ]
    assert worded, code


@pytest.mark.parametrize("code", sorted(OFFICE_REFUSAL_CODES))
def test_the_office_page_words_each_kind_of_its_own_refusals(code: str) -> None:
    kind = office_refusal_of(Answer(409, {"detail": "whatever the words", "refusal": code}))
    assert kind.value == code
    assert f'refusal == "{kind.value}"' in OFFICE_PAGE


def test_the_preferences_page_names_notifications_refusals_by_kind_not_words() -> None:
    for refusal in ("no_phone", "no_email", "no_contact"):
        named = refusal_of_preferences(Answer(422, {"detail": "x", "refusal": refusal}))
        assert named is PreferencesRefusal(refusal)
    same = {"detail": "x", "errors": [{"loc": ["body"], "msg": "x", "type": "quiet_hours_same"}]}
    assert refusal_of_preferences(Answer(422, same)) is PreferencesRefusal.QUIET_SAME
    words = {"detail": "there is no phone number on file for this guardian"}
    assert refusal_of_preferences(Answer(422, words)) is PreferencesRefusal.INVALID
