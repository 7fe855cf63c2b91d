"""Reminder rules: the durations a school may choose, when each reminder is due and which have
passed, what a move or a cancellation changes, and events applied in any order or twice."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.reminder_times import (
    check_reminder_times,
    iso_duration,
    parse_duration,
    parse_reminder_times,
)
from services.notifications.reminders import (
    BOOKED,
    CANCELLED,
    PENDING,
    SENT,
    SKIPPED,
    ConferenceFacts,
    facts_of,
    follow,
    needs_planning,
    outcome_when_due,
    plan_reminders,
)
from services.notifications.tables import UpcomingConference
from shared.events import (
    ConferenceBooked,
    ConferenceCancelled,
    ConferenceInterpreterChanged,
    ConferenceMoved,
    new_event,
)

NOW = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
STARTS = datetime(2026, 12, 8, 23, 0, tzinfo=UTC)
TWO_DAYS, TWO_HOURS = timedelta(days=2), timedelta(hours=2)


# --- Durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("P2D", timedelta(days=2)),
        ("PT2H", timedelta(hours=2)),
        ("PT90M", timedelta(minutes=90)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P1W", timedelta(days=7)),
    ],
)
def test_durations_are_read_in_weeks_days_hours_and_minutes(text: str, duration: timedelta) -> None:
    assert parse_duration(text) == duration


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P1DT", "2D", "P1M", "P1Y", "PT30S", "P1.5D", "p2d", "P2D ", "-P2D"]
)
def test_anything_else_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. P2D or PT2H"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=2), "P2D"),
        (timedelta(hours=2), "PT2H"),
        (timedelta(minutes=90), "PT1H30M"),
        (timedelta(days=1, hours=12), "P1DT12H"),
        (timedelta(days=14), "P14D"),
    ],
)
def test_durations_are_written_one_way(duration: timedelta, text: str) -> None:
    assert iso_duration(duration) == text
    assert parse_duration(text) == duration


def test_a_school_chooses_up_to_five_times_each_between_5_minutes_and_14_days() -> None:
    assert parse_reminder_times("PT2H, P2D") == (TWO_DAYS, TWO_HOURS)  # earliest reminder first
    assert parse_reminder_times("") == ()
    assert parse_reminder_times("PT5M,P14D") == (timedelta(days=14), timedelta(minutes=5))
    with pytest.raises(ValueError, match="at most 5 reminders, not 6"):
        parse_reminder_times("P1D,P2D,P3D,P4D,P5D,P6D")
    with pytest.raises(ValueError, match="PT4M before the conference is not between PT5M"):
        parse_reminder_times("PT4M")
    with pytest.raises(ValueError, match="P15D before the conference is not between"):
        parse_reminder_times("P15D")
    with pytest.raises(ValueError, match="P1D is given twice"):
        parse_reminder_times("P1D,PT24H")
    with pytest.raises(ValueError, match="whole minutes"):
        check_reminder_times([timedelta(minutes=10, seconds=30)])


# --- When reminders are due ------------------------------------------------------------------


def test_each_reminder_is_due_its_time_before_the_conference() -> None:
    planned = plan_reminders(
        "b-1", round=1, starts_at=STARTS, before=(TWO_DAYS, TWO_HOURS), now=NOW
    )
    assert [(p.before, p.due_at, p.status) for p in planned] == [
        (TWO_DAYS, STARTS - TWO_DAYS, PENDING),
        (TWO_HOURS, STARTS - TWO_HOURS, PENDING),
    ]
    assert len({p.id for p in planned}) == 2


def test_a_reminder_whose_time_has_passed_when_booked_is_skipped() -> None:
    # Booked a day ahead: the two-day reminder is already late, the two-hour one is not.
    now = STARTS - timedelta(days=1)
    planned = plan_reminders(
        "b-1", round=1, starts_at=STARTS, before=(TWO_DAYS, TWO_HOURS), now=now
    )
    assert [p.status for p in planned] == [SKIPPED, PENDING]
    # A reminder due this very moment has passed too.
    planned = plan_reminders(
        "b-1", round=1, starts_at=STARTS, before=(TWO_HOURS,), now=STARTS - TWO_HOURS
    )
    assert [p.status for p in planned] == [SKIPPED]


def test_a_reminder_already_sent_for_this_very_time_is_not_planned_again() -> None:
    planned = plan_reminders(
        "b-1",
        round=3,
        starts_at=STARTS,
        before=(TWO_DAYS, TWO_HOURS),
        now=NOW,
        already_sent=[STARTS - TWO_DAYS],
    )
    assert [p.status for p in planned] == [SKIPPED, PENDING]


def test_reminder_ids_are_the_same_wherever_they_are_planned_and_differ_per_round() -> None:
    first = plan_reminders("b-1", round=1, starts_at=STARTS, before=(TWO_HOURS,), now=NOW)
    again = plan_reminders("b-1", round=1, starts_at=STARTS, before=(TWO_HOURS,), now=NOW)
    moved = plan_reminders("b-1", round=2, starts_at=STARTS, before=(TWO_HOURS,), now=NOW)
    other = plan_reminders("b-2", round=1, starts_at=STARTS, before=(TWO_HOURS,), now=NOW)
    assert first[0].id == again[0].id
    assert len({first[0].id, moved[0].id, other[0].id}) == 3


def test_a_move_plans_the_reminders_anew_and_nothing_else_does() -> None:
    current = [(TWO_DAYS, STARTS - TWO_DAYS), (TWO_HOURS, STARTS - TWO_HOURS)]
    policy = (TWO_DAYS, TWO_HOURS)
    assert not needs_planning(current, status=BOOKED, starts_at=STARTS, before=policy)
    later = STARTS + timedelta(minutes=20)
    assert needs_planning(current, status=BOOKED, starts_at=later, before=policy)
    assert needs_planning(current, status=CANCELLED, starts_at=STARTS, before=policy)
    assert needs_planning(current, status=BOOKED, starts_at=STARTS, before=(TWO_HOURS,))
    assert needs_planning([], status=BOOKED, starts_at=STARTS, before=policy)
    # A cancelled conference with no reminders, or a school with none: nothing to plan.
    assert not needs_planning([], status=CANCELLED, starts_at=STARTS, before=policy)
    assert not needs_planning([], status=BOOKED, starts_at=STARTS, before=())


def conference(**values: object) -> UpcomingConference:
    defaults: dict[str, object] = {
        "id": "b-1",
        "district": "demo",
        "site": "conway",
        "student_id": "s-ava",
        "guardian_id": "g-wei",
        "starts_at": STARTS,
        "sequence": 0,
        "status": BOOKED,
        "round": 1,
    }
    return UpcomingConference(**{**defaults, **values})


def test_a_reminder_due_is_sent_unless_its_conference_changed_or_began() -> None:
    assert outcome_when_due(reminder_round=1, conference=conference(), now=NOW) == SENT
    assert outcome_when_due(reminder_round=1, conference=conference(round=2), now=NOW) == CANCELLED
    cancelled = conference(status=CANCELLED)
    assert outcome_when_due(reminder_round=1, conference=cancelled, now=NOW) == CANCELLED
    assert outcome_when_due(reminder_round=1, conference=None, now=NOW) == CANCELLED
    assert outcome_when_due(reminder_round=1, conference=conference(), now=STARTS) == SKIPPED


# --- Events in any order, or twice -------------------------------------------------------------


def booked(**values: object) -> ConferenceBooked:
    fields: dict[str, object] = {
        "booking_id": "b-1",
        "slot_id": "slot-1",
        "student_id": "s-ava",
        "guardian_id": "g-wei",
        "booked_by": "g-wei",
        "starts_at": STARTS,
        "ends_at": STARTS + timedelta(minutes=20),
        "room": "Room 4",
        "teacher_id": "t-rivera",
        "interpreter_language": "zh",
        "timezone": "America/Los_Angeles",
    }
    return ConferenceBooked(**{**fields, **values})


def moved(sequence: int, starts_at: datetime, room: str = "Room 4") -> ConferenceMoved:
    return ConferenceMoved(
        booking_id="b-1",
        student_id="s-ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
        slot_id=f"slot-{sequence + 1}",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=20),
        room=room,
        previous_slot_id="slot-1",
        previous_starts_at=STARTS,
        sequence=sequence,
        moved_by="g-wei",
        timezone="America/Los_Angeles",
    )


def cancelled(sequence: int) -> ConferenceCancelled:
    # An old cancellation: no end, room or teacher.
    return ConferenceCancelled(
        booking_id="b-1",
        slot_id="slot-1",
        student_id="s-ava",
        guardian_id="g-wei",
        starts_at=STARTS,
        cancelled_by="g-wei",
        sequence=sequence,
    )


def interpreter_changed(
    sequence: int,
    language: str | None,
    *,
    previous: str | None = "zh",
    starts_at: datetime = STARTS,
    room: str = "Room 4",
) -> ConferenceInterpreterChanged:
    return ConferenceInterpreterChanged(
        booking_id="b-1",
        student_id="s-ava",
        guardian_id="g-wei",
        teacher_id="t-rivera",
        slot_id="slot-1",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=20),
        room=room,
        sequence=sequence,
        changed_by="g-wei",
        interpreter_language=language,
        previous_interpreter_language=previous,
        timezone="America/Los_Angeles",
    )


def facts(
    data: ConferenceBooked | ConferenceMoved | ConferenceInterpreterChanged | ConferenceCancelled,
) -> ConferenceFacts:
    return facts_of(new_event(data, subject="s-ava", district="demo", site="conway"))


def known_after(changes: list[ConferenceFacts]) -> ConferenceFacts | None:
    known: ConferenceFacts | None = None
    for change in changes:
        known = follow(known, change)
    return known


LATER, LATEST = STARTS + timedelta(days=1), STARTS + timedelta(days=2)


def test_moves_in_any_order_end_at_the_last_time_with_the_interpreter_asked_for() -> None:
    changes = [facts(booked()), facts(moved(1, LATER)), facts(moved(2, LATEST, "Library"))]
    for order in itertools.permutations(changes):
        known = known_after(list(order))
        assert known is not None
        assert (known.status, known.sequence, known.starts_at) == (BOOKED, 2, LATEST), order
        assert (known.room, known.interpreter_language) == ("Library", "zh"), order


def test_a_cancellation_is_final_whatever_arrives_after_it() -> None:
    changes = [facts(booked()), facts(moved(1, LATER)), facts(cancelled(1))]
    for order in itertools.permutations(changes):
        known = known_after(list(order))
        assert known is not None and known.status == CANCELLED, order
    # What the old cancellation left out comes from what was known of the conference.
    known = known_after(changes)
    assert known is not None
    assert (known.room, known.teacher_id) == ("Room 4", "t-rivera")
    assert known.ends_at == LATER + timedelta(minutes=20)


def test_a_cancellation_published_before_cancellations_carried_a_sequence_is_final_too() -> None:
    # (Its SEQUENCE reads 0 whatever moves came before it.)
    for order in itertools.permutations([facts(moved(1, LATER)), facts(cancelled(0))]):
        known = known_after(list(order))
        assert known is not None and known.status == CANCELLED, order


def test_an_event_applied_twice_changes_nothing_the_second_time() -> None:
    for change in [facts(booked()), facts(moved(1, LATER)), facts(cancelled(1))]:
        once = follow(None, change)
        assert follow(once, change) == once
    known = known_after([facts(booked()), facts(moved(1, LATER))])
    assert follow(known, facts(booked())) == known  # the booking, late: the move stays


def test_a_late_booking_only_tells_the_interpreter_asked_for() -> None:
    known = follow(None, facts(moved(1, LATER)))
    assert known.interpreter_language is None  # a move does not say
    known = follow(known, facts(booked(interpreter_language="vi")))
    assert (known.starts_at, known.interpreter_language) == (LATER, "vi")
    assert known == replace(
        follow(None, facts(moved(1, LATER))), interpreter_language="vi", interpreter_named_at=0
    )


def moved_without_interpreter(sequence: int, starts_at: datetime) -> ConferenceMoved:
    # (A move since moves name the interpreter: ``None``, said, is none.)
    return ConferenceMoved(
        **{**moved(sequence, starts_at).model_dump(), "interpreter_language": None}
    )


def test_a_move_without_the_interpreter_leaves_none_whatever_arrives_after_it() -> None:
    changes = [
        facts(booked()),
        facts(moved_without_interpreter(1, LATER)),
        facts(moved(2, LATEST, "Library")),  # (from before moves named it: keeps it unknown)
    ]
    for order in itertools.permutations(changes):
        known = known_after(list(order))
        assert known is not None
        assert (known.sequence, known.room, known.interpreter_language) == (2, "Library", None)
    # A later move that names one again (with the same interpreter, or another) is what holds.
    again = facts(ConferenceMoved(**{**moved(3, LATER).model_dump(), "interpreter_language": "es"}))
    for order in itertools.permutations([*changes, again]):
        known = known_after(list(order))
        assert known is not None and known.interpreter_language == "es", order


def test_an_interpreter_change_names_the_interpreter_at_its_sequence() -> None:
    change = facts(interpreter_changed(1, "es"))
    assert (change.status, change.sequence, change.starts_at, change.room) == (
        BOOKED,
        1,
        STARTS,
        "Room 4",
    )
    assert (change.interpreter_language, change.interpreter_named_at) == ("es", 1)
    assert (change.timezone, change.mode) == ("America/Los_Angeles", "in_person")
    given_up = facts(interpreter_changed(2, None, previous="es"))
    assert (given_up.interpreter_language, given_up.interpreter_named_at) == (None, 2)


def test_the_newest_change_naming_the_interpreter_wins_in_any_order() -> None:
    changes = [
        facts(booked()),
        facts(interpreter_changed(1, "es")),
        facts(moved(2, LATEST, "Library")),  # (from before moves named it: keeps it known)
    ]
    for order in itertools.permutations(changes):
        known = known_after(list(order))
        assert known is not None
        assert (known.status, known.sequence, known.starts_at) == (BOOKED, 2, LATEST), order
        assert (known.room, known.interpreter_language) == ("Library", "es"), order
    # A move that names none after the change, then a change that names one after that move.
    without = facts(moved_without_interpreter(3, LATER))
    again = facts(interpreter_changed(4, "vi", previous=None, starts_at=LATER))
    for order in itertools.permutations([*changes, without]):
        known = known_after(list(order))
        assert known is not None and known.interpreter_language is None, order
    for order in itertools.permutations([*changes, without, again]):
        known = known_after(list(order))
        assert known is not None
        assert (known.sequence, known.starts_at, known.interpreter_language) == (4, LATER, "vi")


def test_an_interpreter_given_up_leaves_the_reminders_none_in_any_order() -> None:
    changes = [
        facts(booked()),
        facts(moved(1, LATER)),
        facts(interpreter_changed(2, None, starts_at=LATER)),
        facts(moved(3, LATEST, "Library")),  # (from before moves named it)
    ]
    for order in itertools.permutations(changes):
        known = known_after(list(order))
        assert known is not None
        assert (known.status, known.sequence, known.starts_at) == (BOOKED, 3, LATEST), order
        assert (known.room, known.interpreter_language) == ("Library", None), order
        assert known.interpreter_named_at == 2, order


def test_a_cancellation_is_final_whatever_interpreter_change_arrives() -> None:
    changes = [facts(booked()), facts(interpreter_changed(1, "es")), facts(cancelled(1))]
    for order in itertools.permutations(changes):
        known = known_after(list(order))
        assert known is not None and known.status == CANCELLED, order
    change = facts(interpreter_changed(1, "es"))
    assert follow(follow(None, change), change) == follow(None, change)
