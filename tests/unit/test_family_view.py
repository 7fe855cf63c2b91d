"""How the family pages write what scheduling says of a family."""

from __future__ import annotations

from services.web.family.view import child_view, children


def _slot(slot_id: str, teacher: str, hour: int) -> dict[str, object]:
    return {
        "id": slot_id,
        "starts_at": f"2026-12-11T{hour}:00:00+00:00",
        "ends_at": f"2026-12-11T{hour}:20:00+00:00",
        "timezone": "America/Los_Angeles",
        "room": "Room 4",
        "mode": "in_person",
        "teacher_id": teacher,
    }


def test_each_free_time_names_its_teacher_as_the_roster_names_them() -> None:
    child = child_view(
        {
            "student_id": "s-ava",
            "given_name": "Ava",
            "site": "conway",
            "teacher_names": {"t-rivera": "Ana Rivera"},
            "free_times": [_slot("one", "t-rivera", 23), _slot("two", "t-cohen", 22)],
        },
        language="en",
    )
    [day] = child.free_days
    assert day.heading == "Fri, December 11"
    # Named when the roster gives a name; else the roster's id, never nothing.
    assert [(time.slot_id, time.teacher) for time in day.times] == [
        ("one", "Ana Rivera"),
        ("two", "t-cohen"),
    ]
    assert child.teacher_names == {"t-rivera": "Ana Rivera"}


def test_a_conference_names_the_school_of_its_time_when_the_family_has_two() -> None:
    conference = {
        "booking_id": "b-1",
        "status": "booked",
        "starts_at": "2026-12-11T23:00:00+00:00",
        "ends_at": "2026-12-11T23:20:00+00:00",
        "timezone": "America/Los_Angeles",
        "teacher_id": "t-rivera",
        "room": "Room 4",
        "mode": "in_person",
    }
    family = {
        "children": [
            {
                "student_id": "s-ava",
                "given_name": "Ava",
                "site": "mjds",
                "school": "MJDS",
                # Booked at Conway before Ava moved to MJDS.
                "conferences": [conference | {"site": "conway", "school": "Conway Elementary"}],
            },
            {
                "student_id": "s-max",
                "given_name": "Max",
                "site": "conway",
                # (An answer naming no site for its conference: the child's school, not a 500.)
                "conferences": [conference | {"booking_id": "b-2"}],
            },
        ]
    }
    ava, max_ = children(family, language="en")
    assert [c.school for c in ava.conferences] == ["Conway Elementary"]
    assert [c.school for c in max_.conferences] == ["conway"]
