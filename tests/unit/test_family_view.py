"""How the family pages write what scheduling says of a family."""

from __future__ import annotations

from services.web.family.view import child_view


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
