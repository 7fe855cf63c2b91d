"""Scheduling's rules for opening conference times, booking and cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.scheduling.booking.rules import (
    Full,
    Hidden,
    Invalid,
    NotAllowed,
    Refused,
    SlotView,
    StudentView,
    booking_family,
    check_booking,
    check_cancellation,
    check_move,
)
from services.scheduling.conference_day.rules import check_completion
from shared.auth.principal import Principal, Role
from tests.support import principal

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=2)


TEACHER = principal(Role.TEACHER, subject="t-1", sites=frozenset({"s-1"}))
SITE_ADMIN = principal(Role.SITE_ADMIN, subject="a-1", sites=frozenset({"s-1"}))
DISTRICT_ADMIN = principal(Role.DISTRICT_ADMIN, subject="da-1")
GUARDIAN = principal(Role.GUARDIAN, subject="g-1")
# The roster links g-1 to stu-1 (and g-2 to stu-2): the student views below carry the links.
LINKS = {"stu-1": frozenset({"g-1"}), "stu-2": frozenset({"g-2"})}
STUDENT = principal(Role.STUDENT, subject="stu-1", students=frozenset({"stu-1"}))


def slot(**overrides: Any) -> SlotView:
    values: dict[str, Any] = {
        "district": "d-1",
        "site": "s-1",
        "starts_at": LATER,
        "capacity": 1,
        "booked": 0,
    }
    values.update(overrides)
    return SlotView(**values)


# The teachers of each student's classes (t-1, the caller TEACHER, teaches the rest).
CLASSES = {"stu-1": frozenset({"t-1", "t-2"}), "stu-8": frozenset({"t-2"})}


def student(
    student_id: str = "stu-1", *, district: str = "d-1", site: str = "s-1", active: bool = True
) -> StudentView:
    return StudentView(
        id=student_id,
        district=district,
        site=site,
        active=active,
        guardians=LINKS.get(student_id, frozenset({"g-7"})),
        teachers=CLASSES.get(student_id, frozenset({"t-1"})),
    )


def book(
    caller: Principal,
    *,
    booked_slot: SlotView | None = None,
    district: str = "d-1",
    site: str = "s-1",
    student_id: str = "stu-1",
    family: str | None = None,
    active: bool = True,
    upcoming: datetime | None = None,
) -> None:
    check_booking(
        caller,
        slot=booked_slot or slot(),
        student=student(student_id, district=district, site=site, active=active),
        family=family or next(iter(LINKS.get(student_id, frozenset({"g-7"})))),
        upcoming=upcoming,
        now=NOW,
    )


def cancel(
    caller: Principal,
    *,
    district: str = "d-1",
    site: str = "s-1",
    student_id: str = "stu-1",
    status: str = "booked",
    starts_at: datetime = NOW + timedelta(days=1),
    teacher_id: str = "t-1",
) -> None:
    check_cancellation(
        caller,
        student=student(student_id, district=district, site=site),
        booking_id="b-1",
        status=status,
        starts_at=starts_at,
        teacher_id=teacher_id,
        now=NOW,
    )


# --- Refusals and their HTTP statuses --------------------------------------------------------


def test_refusal_statuses() -> None:
    assert Refused("x").status == 409
    assert NotAllowed("x").status == 403
    assert Invalid("x").status == 422


def test_refusals_share_a_base_and_carry_their_reason() -> None:
    for kind in (Refused, NotAllowed, Invalid):
        error = kind("because")
        assert isinstance(error, Refused)
        assert error.reason == "because"
        assert str(error) == "because"


# --- Opening conference times ----------------------------------------------------------------


def test_guardian_books_for_their_own_child() -> None:
    book(GUARDIAN)


@pytest.mark.parametrize("caller", [TEACHER, SITE_ADMIN, DISTRICT_ADMIN])
def test_staff_book_for_students_of_their_site(caller: Principal) -> None:
    book(caller, student_id="stu-99")


def test_guardian_cannot_book_for_another_family_and_learns_nothing() -> None:
    with pytest.raises(Hidden, match="no student 'stu-2'") as refused:
        book(GUARDIAN, student_id="stu-2", family="g-1")
    assert refused.value.status == 404


def test_a_token_naming_a_student_the_roster_does_not_link_is_not_enough() -> None:
    claims_stu_2 = principal(Role.GUARDIAN, subject="g-1", students=frozenset({"stu-2"}))
    with pytest.raises(Hidden):
        book(claims_stu_2, student_id="stu-2", family="g-1")


def test_staff_may_book_only_for_a_guardian_linked_to_the_student() -> None:
    """Finding: a teacher booked for s-gio naming g-wei, Ava's father, and he was told."""
    with pytest.raises(Invalid, match="'g-2' is not linked to student 'stu-1'") as refused:
        book(TEACHER, student_id="stu-1", family="g-2")
    assert refused.value.status == 422


def test_a_withdrawn_student_cannot_be_booked_for() -> None:
    with pytest.raises(Refused, match="withdrawn"):
        book(TEACHER, active=False)


def test_guardian_cannot_book_in_another_district() -> None:
    with pytest.raises(Hidden):
        book(GUARDIAN, district="d-2", booked_slot=slot(district="d-2"))


def test_student_cannot_book_even_for_themself() -> None:
    with pytest.raises(NotAllowed):
        book(STUDENT, student_id="stu-1")


def test_teacher_cannot_book_for_a_student_outside_their_classes() -> None:
    with pytest.raises(Hidden, match="no student 'stu-8'"):
        book(TEACHER, student_id="stu-8")


def test_teacher_cannot_book_for_a_student_of_another_site() -> None:
    with pytest.raises(Hidden):
        book(TEACHER, site="s-2", booked_slot=slot(site="s-2"))


@pytest.mark.parametrize(
    "other", [slot(site="s-2"), slot(district="d-2")], ids=["site", "district"]
)
def test_slot_at_another_school_than_the_students_is_invalid(other: SlotView) -> None:
    with pytest.raises(Invalid) as refused:
        book(GUARDIAN, booked_slot=other)
    assert refused.value.status == 422


def test_full_slot_is_refused() -> None:
    with pytest.raises(Refused) as refused:
        book(GUARDIAN, booked_slot=slot(capacity=2, booked=2))
    assert isinstance(refused.value, Full)
    assert refused.value.status == 409


def test_a_time_with_a_teacher_who_does_not_teach_the_student_is_invalid() -> None:
    with pytest.raises(Invalid, match="does not teach"):
        book(GUARDIAN, booked_slot=slot(teacher_id="t-9"))
    book(GUARDIAN, booked_slot=slot(teacher_id="t-1"))


def test_a_time_the_school_cancelled_cannot_be_booked() -> None:
    with pytest.raises(Refused, match="cancelled by the school"):
        book(GUARDIAN, booked_slot=slot(status="cancelled"))


def move(
    caller: Principal,
    new: SlotView,
    *,
    new_id: str = "slot-2",
    status: str = "booked",
    active: bool = True,
) -> None:
    check_move(
        caller,
        student=student(active=active),
        booking_id="b-1",
        status=status,
        starts_at=NOW + timedelta(days=1),
        teacher_id="t-1",
        current_slot="slot-1",
        new_slot=new,
        new_slot_id=new_id,
        now=NOW,
    )


def test_the_family_or_the_school_moves_a_conference_to_another_time_at_its_school() -> None:
    move(GUARDIAN, slot())
    move(SITE_ADMIN, slot())
    with pytest.raises(Invalid, match="same school"):
        move(GUARDIAN, slot(site="s-2"))
    with pytest.raises(Invalid, match="already at that time"):
        move(GUARDIAN, slot(), new_id="slot-1")
    with pytest.raises(Refused, match="already completed"):
        move(GUARDIAN, slot(), status="completed")
    with pytest.raises(NotAllowed):
        move(STUDENT, slot())
    with pytest.raises(Hidden):
        move(principal(Role.GUARDIAN, subject="g-2"), slot())


def test_a_withdrawn_students_conference_is_not_moved_to_another_seat() -> None:
    for caller in (GUARDIAN, SITE_ADMIN):
        with pytest.raises(Refused, match="withdrawn"):
            move(caller, slot(), active=False)
    # (cancelling it still frees the seat)
    check_cancellation(
        GUARDIAN,
        student=student(active=False),
        booking_id="b-1",
        status="booked",
        starts_at=NOW + timedelta(days=1),
        teacher_id="t-1",
        now=NOW,
    )


def test_overbooked_slot_is_refused() -> None:
    with pytest.raises(Refused):
        book(GUARDIAN, booked_slot=slot(capacity=1, booked=3))


def test_slot_with_no_capacity_is_refused() -> None:
    with pytest.raises(Refused):
        book(GUARDIAN, booked_slot=slot(capacity=0, booked=0))


def test_last_seat_can_be_booked() -> None:
    book(GUARDIAN, booked_slot=slot(capacity=3, booked=2))


@pytest.mark.parametrize("starts_at", [NOW, NOW - timedelta(minutes=10)])
def test_slot_that_has_started_cannot_be_booked(starts_at: datetime) -> None:
    with pytest.raises(Refused) as refused:
        book(GUARDIAN, booked_slot=slot(starts_at=starts_at))
    assert type(refused.value) is Refused
    assert refused.value.status == 409


def test_permission_is_checked_before_seats() -> None:
    with pytest.raises(Hidden):
        book(GUARDIAN, student_id="stu-2", family="g-1", booked_slot=slot(capacity=1, booked=1))


# --- Cancelling ------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", [GUARDIAN, TEACHER, SITE_ADMIN, DISTRICT_ADMIN])
def test_family_or_school_may_cancel(caller: Principal) -> None:
    cancel(caller)


def test_a_teacher_cancels_or_moves_only_a_conference_with_them() -> None:
    # stu-1 is in t-1's class and in t-2's: t-2 sees t-1's conference with the family, and
    # neither cancels nor moves it (the family is told "the school" did); the office may.
    other = principal(Role.TEACHER, subject="t-2", sites=frozenset({"s-1"}))
    with pytest.raises(NotAllowed, match="with 't-1'"):
        cancel(other)
    cancel(SITE_ADMIN)
    with pytest.raises(NotAllowed, match="with 't-1'"):
        move(other, slot(teacher_id="t-2"))
    # Their own conference, to another of their own times; not to a colleague's.
    move(TEACHER, slot(teacher_id="t-1"))
    with pytest.raises(NotAllowed, match="that time is with 't-2'"):
        move(TEACHER, slot(teacher_id="t-2"))
    move(SITE_ADMIN, slot(teacher_id="t-2"))
    # Nor book a family into a colleague's time (and then be unable to undo it).
    with pytest.raises(NotAllowed, match="that time is with 't-2'"):
        book(TEACHER, booked_slot=slot(teacher_id="t-2"))
    book(TEACHER, booked_slot=slot(teacher_id="t-1"))
    book(SITE_ADMIN, booked_slot=slot(teacher_id="t-2"))


def test_student_cannot_cancel() -> None:
    with pytest.raises(NotAllowed):
        cancel(STUDENT)


def test_guardian_cannot_cancel_another_familys_booking() -> None:
    with pytest.raises(Hidden) as refused:
        cancel(GUARDIAN, student_id="stu-2")
    assert refused.value.status == 404


def test_a_guardian_in_the_token_but_not_in_the_roster_cannot_cancel() -> None:
    """Finding: the token's students claim was the only check."""
    stranger = principal(Role.GUARDIAN, subject="g-9", students=frozenset({"stu-1"}))
    with pytest.raises(Hidden):
        cancel(stranger, student_id="stu-1")


def test_teacher_cannot_cancel_at_another_site() -> None:
    with pytest.raises(Hidden):
        cancel(TEACHER, site="s-2")


@pytest.mark.parametrize("status", ["cancelled", "attended"])
def test_booking_no_longer_booked_cannot_be_cancelled(status: str) -> None:
    with pytest.raises(Refused, match=status) as refused:
        cancel(GUARDIAN, status=status)
    assert refused.value.status == 409


def test_permission_is_checked_before_status() -> None:
    with pytest.raises(Hidden):
        cancel(GUARDIAN, student_id="stu-2", status="cancelled")


def test_a_student_holds_one_upcoming_conference_at_a_time() -> None:
    with pytest.raises(Refused, match="already has a conference") as refusal:
        book(GUARDIAN, upcoming=NOW + timedelta(days=3))
    assert refusal.value.status == 409


def test_a_conference_that_has_started_cannot_be_cancelled() -> None:
    with pytest.raises(Refused, match="already started"):
        cancel(GUARDIAN, starts_at=NOW - timedelta(minutes=1))


def test_guardian_books_as_themself_and_staff_must_name_the_family() -> None:
    assert booking_family(GUARDIAN, guardian_id=None) == "g-1"
    with pytest.raises(NotAllowed):
        booking_family(GUARDIAN, guardian_id="g-someone-else")
    with pytest.raises(Invalid, match="guardian_id"):
        booking_family(TEACHER, guardian_id=None)
    assert booking_family(TEACHER, guardian_id="g-7") == "g-7"


def complete(
    caller: Principal,
    *,
    student_id: str = "stu-1",
    teacher_id: str = "t-1",
    status: str = "booked",
    starts_at: datetime = NOW - timedelta(minutes=5),
) -> None:
    check_completion(
        caller,
        student=student(student_id),
        booking_id="b-1",
        teacher_id=teacher_id,
        status=status,
        starts_at=starts_at,
        now=NOW,
    )


@pytest.mark.parametrize("caller", [TEACHER, SITE_ADMIN, DISTRICT_ADMIN])
def test_the_conferences_teacher_or_the_school_records_it_completed(caller: Principal) -> None:
    complete(caller)


def test_another_teacher_of_the_student_may_not_record_someone_elses_conference() -> None:
    with pytest.raises(NotAllowed):
        complete(TEACHER, teacher_id="t-other")


@pytest.mark.parametrize("caller", [GUARDIAN, STUDENT])
def test_families_and_students_do_not_record_conferences(caller: Principal) -> None:
    with pytest.raises((NotAllowed, Hidden)):
        complete(caller)


def test_a_conference_is_completed_once_it_has_begun_and_only_once() -> None:
    with pytest.raises(Refused, match="not begun"):
        complete(TEACHER, starts_at=NOW + timedelta(minutes=1))
    with pytest.raises(Refused, match="completed"):
        complete(TEACHER, status="completed")
    with pytest.raises(Refused, match="cancelled"):
        complete(TEACHER, status="cancelled")


def test_a_teacher_outside_the_students_classes_learns_nothing_of_the_booking() -> None:
    with pytest.raises(Hidden):
        complete(TEACHER, student_id="stu-8")
