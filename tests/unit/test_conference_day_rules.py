"""Conference day's rules (checking in, no-shows, completion, who sees a teacher's day) and the
reports' (who is not booked, what the figures count, who may nudge whom and when)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.scheduling.booking.rules import Hidden, NotAllowed, Refused, StudentView
from services.scheduling.conference_day.rules import (
    attendance_steps,
    check_check_in,
    check_completion,
    check_day_reader,
    check_no_show,
    check_site_day_reader,
    shows_slot,
)
from services.scheduling.reports.rules import (
    NUDGE_AGAIN_AFTER,
    check_nudge_time,
    not_just_reminded,
    selection_for,
)
from services.scheduling.reports.standing import (
    ClassInfo,
    Counts,
    Selection,
    Standing,
    count,
    figures,
    not_booked,
)
from shared.auth.principal import Principal, Role
from tests.support import principal

NOW = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)

TEACHER = principal(Role.TEACHER, subject="t-1", sites=frozenset({"s-1"}))
OTHER_TEACHER = principal(Role.TEACHER, subject="t-2", sites=frozenset({"s-1"}))
SITE_ADMIN = principal(Role.SITE_ADMIN, subject="a-1", sites=frozenset({"s-1"}))
OTHER_SITE_ADMIN = principal(Role.SITE_ADMIN, subject="a-9", sites=frozenset({"s-9"}))
DISTRICT_ADMIN = principal(Role.DISTRICT_ADMIN, subject="da-1")
GUARDIAN = principal(Role.GUARDIAN, subject="g-1")
STUDENT = principal(Role.STUDENT, subject="stu-1")

# stu-1 is in t-1's and t-2's classes; g-1 is their guardian.
STU_1 = StudentView(
    id="stu-1",
    district="d-1",
    site="s-1",
    active=True,
    guardians=frozenset({"g-1"}),
    teachers=frozenset({"t-1", "t-2"}),
)


def check_in(
    caller: Principal,
    *,
    status: str = "booked",
    starts_at: datetime = NOW + timedelta(minutes=10),
    teacher_id: str = "t-1",
) -> None:
    check_check_in(
        caller,
        student=STU_1,
        booking_id="b-1",
        teacher_id=teacher_id,
        status=status,
        starts_at=starts_at,
        now=NOW,
    )


def no_show(
    caller: Principal,
    *,
    status: str = "booked",
    starts_at: datetime = NOW - timedelta(minutes=5),
    teacher_id: str = "t-1",
) -> None:
    check_no_show(
        caller,
        student=STU_1,
        booking_id="b-1",
        teacher_id=teacher_id,
        status=status,
        starts_at=starts_at,
        now=NOW,
    )


@pytest.mark.parametrize("caller", [TEACHER, SITE_ADMIN, DISTRICT_ADMIN])
def test_the_conferences_teacher_or_the_school_checks_a_family_in(caller: Principal) -> None:
    check_in(caller)
    no_show(caller)


def test_check_in_opens_half_an_hour_before_the_conference_and_stays_open() -> None:
    check_in(TEACHER, starts_at=NOW + timedelta(minutes=30))
    with pytest.raises(Refused, match="30 minutes before") as early:
        check_in(TEACHER, starts_at=NOW + timedelta(minutes=31))
    assert early.value.code == "check_in_not_open"
    check_in(TEACHER, starts_at=NOW - timedelta(minutes=15))  # a family arriving late


@pytest.mark.parametrize("status", ["checked_in", "completed", "cancelled"])
def test_only_a_booked_family_is_checked_in_or_recorded_missing(status: str) -> None:
    with pytest.raises(Refused, match=status) as refused:
        check_in(TEACHER, status=status)
    assert refused.value.code == "not_booked"
    with pytest.raises(Refused, match=status) as refused:
        no_show(TEACHER, status=status)
    assert refused.value.code == "not_booked"


def test_a_family_recorded_missing_who_came_after_all_is_checked_in_or_their_conference_held() -> (
    None
):
    started = NOW - timedelta(minutes=12)
    for caller in (TEACHER, SITE_ADMIN):
        check_in(caller, status="no_show", starts_at=started)
        check_completion(
            caller,
            student=STU_1,
            booking_id="b-1",
            teacher_id="t-1",
            status="no_show",
            starts_at=started,
            now=NOW,
        )
    with pytest.raises(Refused, match="no_show, not booked") as refused:
        no_show(TEACHER, status="no_show", starts_at=started)
    assert refused.value.code == "not_booked"
    # Still only the conference's teacher or the school.
    with pytest.raises(NotAllowed):
        check_in(OTHER_TEACHER, status="no_show", starts_at=started)
    with pytest.raises(NotAllowed):
        check_in(GUARDIAN, status="no_show", starts_at=started)


def test_a_family_recorded_missing_who_booked_again_is_told_to_cancel_that_time_first() -> None:
    again = NOW + timedelta(days=1)
    for check in (check_check_in, check_completion):
        with pytest.raises(Refused, match="cancel that one first") as refused:
            check(
                TEACHER,
                student=STU_1,
                booking_id="b-1",
                teacher_id="t-1",
                status="no_show",
                starts_at=NOW - timedelta(minutes=12),
                now=NOW,
                booked_again=again,
            )
        assert (refused.value.code, refused.value.at) == ("booked_again", again)
    assert (
        attendance_steps(
            "no_show", starts_at=NOW - timedelta(minutes=12), now=NOW, booked_again=True
        )
        == []
    )
    # A time the school has cancelled since (taken back, a day cancelled) holds no conference.
    with pytest.raises(Refused, match="cancelled this conference time") as refused:
        check_check_in(
            TEACHER,
            student=STU_1,
            booking_id="b-1",
            teacher_id="t-1",
            status="no_show",
            starts_at=NOW - timedelta(minutes=12),
            now=NOW,
            time_cancelled=True,
        )
    assert refused.value.code == "time_cancelled"


def test_a_no_show_is_recorded_once_the_conference_has_begun() -> None:
    no_show(TEACHER, starts_at=NOW)
    with pytest.raises(Refused, match="not begun") as refused:
        no_show(TEACHER, starts_at=NOW + timedelta(minutes=1))
    assert refused.value.code == "not_begun"


def test_another_teacher_of_the_student_does_not_record_someone_elses_conference() -> None:
    with pytest.raises(NotAllowed):
        check_in(OTHER_TEACHER)
    with pytest.raises(NotAllowed):
        no_show(OTHER_TEACHER)


@pytest.mark.parametrize("caller", [GUARDIAN, STUDENT])
def test_families_and_students_record_no_attendance(caller: Principal) -> None:
    with pytest.raises(NotAllowed):
        check_in(caller)
    with pytest.raises(NotAllowed):
        no_show(caller)


def test_outsiders_learn_nothing_of_the_booking() -> None:
    stranger = principal(Role.TEACHER, subject="t-9", sites=frozenset({"s-1"}))
    for caller in (stranger, OTHER_SITE_ADMIN, principal(Role.GUARDIAN, subject="g-9")):
        with pytest.raises(Hidden):
            check_in(caller, teacher_id="t-9")
        with pytest.raises(Hidden):
            no_show(caller, teacher_id="t-9")


def test_a_teachers_day_is_theirs_and_their_sites_admins() -> None:
    sites = {"s-1"}
    for caller in (TEACHER, SITE_ADMIN, DISTRICT_ADMIN):
        check_day_reader(caller, teacher_id="t-1", district="d-1", teacher_sites=sites)
    for caller in (OTHER_TEACHER, GUARDIAN, STUDENT):
        with pytest.raises(NotAllowed):
            check_day_reader(caller, teacher_id="t-1", district="d-1", teacher_sites=sites)
    with pytest.raises(Hidden):
        check_day_reader(OTHER_SITE_ADMIN, teacher_id="t-1", district="d-1", teacher_sites=sites)
    # A teacher with nothing on the roster yet still sees their own (empty) day.
    check_day_reader(TEACHER, teacher_id="t-1", district="d-1", teacher_sites=set())


def test_a_schools_day_is_for_its_administrators() -> None:
    for caller in (SITE_ADMIN, DISTRICT_ADMIN):
        check_site_day_reader(caller, district="d-1", site="s-1")
    # (A teacher of the school too: the day names every teacher's families.)
    for caller in (TEACHER, OTHER_SITE_ADMIN, GUARDIAN, STUDENT):
        with pytest.raises(NotAllowed):
            check_site_day_reader(caller, district="d-1", site="s-1")
    with pytest.raises(NotAllowed):
        check_site_day_reader(DISTRICT_ADMIN, district="d-2", site="s-1")


def test_the_day_shows_an_admin_only_their_sites_times() -> None:
    assert shows_slot(SITE_ADMIN, teacher_id="t-1", district="d-1", site="s-1")
    assert not shows_slot(SITE_ADMIN, teacher_id="t-1", district="d-1", site="s-2")
    assert shows_slot(TEACHER, teacher_id="t-1", district="d-1", site="s-1")
    assert not shows_slot(TEACHER, teacher_id="t-1", district="d-1", site="s-2")
    unnarrowed = principal(Role.TEACHER, subject="t-1")
    assert shows_slot(unnarrowed, teacher_id="t-1", district="d-1", site="s-2")
    assert not shows_slot(unnarrowed, teacher_id="t-1", district="d-2", site="s-2")
    assert not shows_slot(OTHER_TEACHER, teacher_id="t-1", district="d-1", site="s-1")


# The reports: Ann and Ben in t-1's class c-1, Cy in t-2's class c-2, Dee in no class, Eve
# with no guardian (not invited).
CLASSES = {
    "c-1": ClassInfo("c-1", "Room 1", frozenset({"t-1"})),
    "c-2": ClassInfo("c-2", "Room 2", frozenset({"t-2"})),
}


def standing(
    student_id: str, *classes: str, guardians: tuple[str, ...] = ("g",), **state: object
) -> Standing:
    return Standing(
        student_id=student_id,
        given_name=student_id.title(),
        classes=frozenset(classes),
        teachers=frozenset(t for c in classes for t in CLASSES[c].teachers),
        guardians=frozenset(guardians),
        **state,  # type: ignore[arg-type]
    )


ANN = standing("ann", "c-1", held="completed")
BEN = standing("ben", "c-1", missed=True, waitlisted=True)
CY = standing("cy", "c-2", held="booked")
DEE = standing("dee")
EVE = standing("eve", "c-2", guardians=())
EVERYONE = [ANN, BEN, CY, DEE, EVE]


def test_not_booked_are_the_invited_students_with_no_conference_holding_their_place() -> None:
    assert not_booked(EVERYONE, Selection()) == [BEN, DEE]
    assert not_booked(EVERYONE, Selection(teacher_id="t-1")) == [BEN]
    assert not_booked(EVERYONE, Selection(class_id="c-2")) == []
    assert not_booked(EVERYONE, Selection(student_ids=frozenset({"dee", "ann"}))) == [DEE]
    assert not_booked(EVERYONE, Selection(within_classes=frozenset({"c-1"}))) == [BEN]


def test_the_figures_add_up() -> None:
    counted = figures(EVERYONE, CLASSES)
    assert counted.site == Counts(
        invited=4, booked=2, attended=1, no_show=1, not_booked=2, waitlisted=1
    )
    assert counted.teachers == {
        "t-1": Counts(invited=2, booked=1, attended=1, no_show=1, not_booked=1, waitlisted=1),
        "t-2": Counts(invited=1, booked=1, attended=0, no_show=0, not_booked=0, waitlisted=0),
    }
    assert counted.classes == {"c-1": counted.teachers["t-1"], "c-2": counted.teachers["t-2"]}
    for counts in [counted.site, *counted.teachers.values()]:
        assert counts.invited == counts.booked + counts.not_booked


def test_a_no_show_booked_again_counts_as_booked_not_as_a_no_show() -> None:
    rebooked = standing("ben", "c-1", missed=True, held="booked")
    assert count([rebooked]) == Counts(
        invited=1, booked=1, attended=0, no_show=0, not_booked=0, waitlisted=0
    )


def test_a_student_in_two_classes_of_a_teacher_counts_once() -> None:
    both = {**CLASSES, "c-3": ClassInfo("c-3", "Art", frozenset({"t-1"}))}
    twice = Standing("fay", "Fay", frozenset({"c-1", "c-3"}), frozenset({"t-1"}), frozenset("g"))
    counted = figures([twice], both)
    assert counted.site.invited == counted.teachers["t-1"].invited == 1


def test_admins_select_anyone_teachers_only_their_own_classes() -> None:
    assert selection_for(SITE_ADMIN, classes=CLASSES, class_id="c-2") == Selection(class_id="c-2")
    own = selection_for(TEACHER, classes=CLASSES)
    assert own.within_classes == frozenset({"c-1"})
    assert selection_for(TEACHER, classes=CLASSES, teacher_id="t-1").teacher_id == "t-1"
    with pytest.raises(NotAllowed, match="c-2"):
        selection_for(TEACHER, classes=CLASSES, class_id="c-2")
    with pytest.raises(NotAllowed):
        selection_for(TEACHER, classes=CLASSES, teacher_id="t-2")
    for caller in (GUARDIAN, STUDENT):
        with pytest.raises(NotAllowed):
            selection_for(caller, classes=CLASSES)


def test_families_are_nudged_between_the_opening_of_booking_and_its_close() -> None:
    opens, closes = NOW - timedelta(hours=1), NOW + timedelta(days=3)
    check_nudge_time(
        announced_at=NOW - timedelta(days=1), opens_at=opens, closes_at=closes, now=NOW
    )
    with pytest.raises(Refused, match="open it first") as refused:
        check_nudge_time(announced_at=None, opens_at=opens, closes_at=closes, now=NOW)
    assert refused.value.code == "not_opened"
    # Invited, but booking begins later: nobody could act on a reminder yet.
    later = NOW + timedelta(days=30)
    with pytest.raises(Refused, match="not begun") as refused:
        check_nudge_time(
            announced_at=NOW - timedelta(days=1), opens_at=later, closes_at=later, now=NOW
        )
    assert (refused.value.code, refused.value.at) == ("booking_not_begun", later)
    check_nudge_time(announced_at=NOW - timedelta(days=1), opens_at=NOW, closes_at=closes, now=NOW)
    with pytest.raises(Refused, match="closed") as refused:
        check_nudge_time(
            announced_at=NOW - timedelta(days=9), opens_at=opens, closes_at=NOW, now=NOW
        )
    assert (refused.value.code, refused.value.at) == ("already_closed", NOW)


STARTS = datetime(2026, 12, 11, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "minutes_before", "steps"),
    [
        ("booked", 60 * 24 * 6, []),  # days ahead: nothing to record yet
        ("booked", 31, []),
        ("booked", 30, ["check_in"]),  # check-in opens half an hour before
        ("booked", 0, ["check_in", "complete", "no_show"]),
        ("booked", -15, ["check_in", "complete", "no_show"]),
        ("checked_in", 10, []),
        ("checked_in", -1, ["complete"]),
        ("completed", -30, []),
        ("no_show", -12, ["check_in", "complete"]),  # they came after all
        ("cancelled", -12, []),
    ],
)
def test_the_steps_a_day_offers_are_those_the_checks_take_now(
    status: str, minutes_before: int, steps: list[str]
) -> None:
    now = STARTS - timedelta(minutes=minutes_before)
    assert attendance_steps(status, starts_at=STARTS, now=now) == steps
    # The same rule as the checks that record them (for the conference's own teacher).
    checks = {"check_in": check_check_in, "complete": check_completion, "no_show": check_no_show}
    for step, check in checks.items():
        try:
            check(
                TEACHER,
                student=STU_1,
                booking_id="b-1",
                teacher_id="t-1",
                status=status,
                starts_at=STARTS,
                now=now,
            )
        except Refused:
            taken = False
        else:
            taken = True
        assert taken == (step in steps), (step, status, minutes_before)


def test_a_family_is_reminded_at_most_once_an_hour() -> None:
    never = Standing("s-1", "Ann", frozenset({"c-1"}), frozenset({"t-1"}), frozenset({"g-1"}))
    recently = replace(never, student_id="s-2", last_nudged_at=NOW - timedelta(minutes=5))
    long_ago = replace(never, student_id="s-3", last_nudged_at=NOW - NUDGE_AGAIN_AFTER)
    due = not_just_reminded([never, recently, long_ago], now=NOW)
    assert [one.student_id for one in due] == ["s-1", "s-3"]
    earlier = replace(recently, student_id="s-4", last_nudged_at=NOW - timedelta(minutes=40))
    with pytest.raises(Refused) as refused:
        not_just_reminded([recently, earlier], now=NOW)
    assert refused.value.code == "just_nudged"
    assert refused.value.at == NOW - timedelta(minutes=40) + NUDGE_AGAIN_AFTER  # (the first due)
