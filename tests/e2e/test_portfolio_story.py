"""A student-led conference from the roster to the family's feedback, against the services
running as processes (``make run``'s launcher, whose demo district comes through the OneRoster
import), with every event checked on its Redis stream.

Gio, a kindergartner at Conway, adds a photo of his shapes and says what he is proud of; his
teacher approves it; he sets a goal and builds his plan; his teacher marks it ready; his mother
books, the conference takes place, and she says how she will help at home.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis
from PIL import Image

from shared.auth.principal import Role
from shared.auth.tokens import mint_token
from shared.settings import DEV_JWT_SECRET
from tests.e2e.test_make_run import Launcher
from tests.support import wait_for_room_today

pytestmark = pytest.mark.e2e

T = TypeVar("T")


def until(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


class Story:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.http = httpx.Client(timeout=30)
        self.redis = redis.Redis.from_url(env["SUBSCRIBER_REDIS_URL"])

    def call(self, method: str, url: str, who: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.http.request(
            method, url, headers={"Authorization": f"Bearer {self.env[who]}"}, **kwargs
        )
        assert response.status_code == status, (method, url, response.text)
        return response.json() if response.content else None

    def events(self, event_type: str, **matching: Any) -> list[dict[str, Any]]:
        """The events of a type on its stream, as an outside system reads them (XRANGE)."""
        found = []
        for _, fields in self.redis.xrange(event_type):
            data = json.loads(fields[b"data"])
            if fields[b"type"].decode() == event_type and all(
                data.get(key) == value for key, value in matching.items()
            ):
                found.append(data)
        return found

    def announced(self, event_type: str, **matching: Any) -> dict[str, Any]:
        found = until(lambda: self.events(event_type, **matching), bool)
        assert found, f"no {event_type} with {matching} on its stream"
        return found[-1]


def test_from_the_roster_to_the_familys_feedback(tmp_path: Path) -> None:
    # (Its own conference day at Conway, not the demo's.)
    launcher = Launcher(tmp_path, args=["--no-conference-today"])
    launcher.start()
    try:
        story = Story(launcher.demo_env())
        env = story.env
        portfolio, scheduling = env["PORTFOLIO_URL"], env["SCHEDULING_URL"]
        tokens = {
            "GIO": "GIO_TOKEN",
            "TEACHER": "TEACHER_TOKEN",
            "MARIA": "GIO_GUARDIAN_TOKEN",
            "ADMIN": "CONWAY_ADMIN_TOKEN",
        }
        env.setdefault("GIO_TOKEN", _student_token("s-gio"))

        # The roster came through the OneRoster import: its events are on their streams.
        assert story.announced("slc.roster.student.enrolled.v1", student_id="s-gio")
        assert (
            story.announced(
                "slc.roster.guardian.linked.v1", guardian_id="g-maria", student_id="s-gio"
            )["relationship"]
            == "mother"
        )
        assert any(
            "s-gio" in homeroom["student_ids"]
            for homeroom in story.events("slc.roster.class.registered.v1", teacher_ids=["t-rivera"])
        )

        # Gio adds a photo of his shapes and reflects on it.
        photo = io.BytesIO()
        Image.new("RGB", (120, 90), (250, 200, 0)).save(photo, format="JPEG")
        piece = story.call(
            "POST",
            f"{portfolio}/students/s-gio/evidence/files",
            tokens["GIO"],
            201,
            data={"title": "All the shapes and sounds I know", "learning_area": "math"},
            files={"file": ("shapes.jpg", photo.getvalue(), "image/jpeg")},
        )
        assert piece["status"] == "submitted"
        reflection = story.call(
            "POST",
            f"{portfolio}/students/s-gio/reflections",
            tokens["GIO"],
            201,
            json={"evidence_id": piece["id"], "glows": "I am proud of my shapes"},
        )
        story.call(
            "POST", f"{portfolio}/students/s-gio/evidence/{piece['id']}/approve", tokens["TEACHER"]
        )
        assert (
            story.announced("slc.portfolio.evidence.added.v1", evidence_id=piece["id"])["file_kind"]
            == "image"
        )
        assert story.announced("slc.portfolio.evidence.approved.v1", evidence_id=piece["id"])[
            "guardian_ids"
        ] == ["g-maria"]
        assert story.announced("slc.portfolio.reflection.added.v1", reflection_id=reflection["id"])

        # His goal (the demo set one), progress on it, and his plan for this cycle.
        goal = story.call("GET", f"{portfolio}/students/s-gio/goals", tokens["GIO"])[0]
        story.call(
            "POST",
            f"{portfolio}/students/s-gio/goals/{goal['id']}/progress",
            tokens["GIO"],
            201,
            json={"note": "I know 20 letter sounds now", "percent": 75},
        )
        assert (
            story.announced("slc.portfolio.goal.progressed.v1", goal_id=goal["id"])["percent"] == 75
        )
        cycle = story.call("GET", f"{portfolio}/sites/conway/cycles", tokens["GIO"])[-1]
        plan_path = f"{portfolio}/students/s-gio/plans/{cycle['id']}"
        story.call(
            "PUT",
            plan_path,
            tokens["GIO"],
            json={
                "opening": "Welcome to my conference!",
                "items": [
                    {"type": "evidence", "id": piece["id"], "say": "These are my shapes."},
                    {"type": "reflection", "id": reflection["id"]},
                    {"type": "goal", "id": goal["id"], "say": "I am learning my sounds."},
                ],
                "questions": ["What are you proud of?"],
            },
        )
        story.call("POST", f"{plan_path}/ready", tokens["TEACHER"])
        assert story.announced("slc.portfolio.plan.ready.v1", student_id="s-gio")["items"] == 3
        steps = story.call("GET", f"{plan_path}/presentation", tokens["MARIA"])["steps"]
        assert [step["kind"] for step in steps] == [
            "opening",
            "evidence",
            "reflection",
            "goal",
            "questions",
        ]
        assert (
            story.http.get(
                f"{portfolio}{steps[1]['content']['thumbnail']}",
                headers={"Authorization": f"Bearer {env[tokens['MARIA']]}"},
            ).headers["content-type"]
            == "image/jpeg"
        )

        # His mother books a time that is about to begin; it takes place.
        # (Booking closes ten minutes after it begins, on one day of the school's clock: just
        # before midnight, it waits. It begins far enough ahead for a busy machine to book it.)
        time.sleep(wait_for_room_today(11))
        starts = datetime.now(UTC) + timedelta(seconds=15)
        today = starts.astimezone(ZoneInfo("America/Los_Angeles")).date()
        window = story.call(
            "POST",
            f"{scheduling}/windows",
            tokens["ADMIN"],
            201,
            json={
                "site": "conway",
                "name": "Gio's conference today",
                "first_day": today.isoformat(),
                "last_day": today.isoformat(),
                "opens_at": datetime.now(UTC).isoformat(),
                "closes_at": (starts + timedelta(minutes=10)).isoformat(),
                "change_cutoff_minutes": 0,
                "slot_minutes": 5,
            },
        )
        story.call("POST", f"{scheduling}/windows/{window['id']}/open", tokens["ADMIN"])
        (slot,) = story.call(
            "POST",
            f"{scheduling}/windows/{window['id']}/blocks",
            tokens["ADMIN"],
            201,
            json={
                "teacher_id": "t-rivera",
                "room": "Room 4",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(minutes=5)).isoformat(),
            },
        )["slots"]
        booking = story.call(
            "POST",
            f"{scheduling}/bookings",
            tokens["MARIA"],
            201,
            json={"slot_id": slot["id"], "student_id": "s-gio"},
        )
        time.sleep(max(0.0, (starts - datetime.now(UTC)).total_seconds()) + 0.3)
        story.call("POST", f"{scheduling}/bookings/{booking['id']}/complete", tokens["TEACHER"])
        assert story.announced("slc.scheduling.conference.booked.v1", booking_id=booking["id"])
        assert (
            story.announced("slc.scheduling.conference.completed.v1", booking_id=booking["id"])[
                "completed_by"
            ]
            == "t-rivera"
        )

        # Portfolio hears of it and asks his mother; she answers.
        requests = until(
            lambda: story.call(
                "GET", f"{portfolio}/students/s-gio/feedback-requests", tokens["MARIA"]
            ),
            bool,
        )
        given = story.call(
            "POST",
            f"{portfolio}/students/s-gio/feedback",
            tokens["MARIA"],
            201,
            json={
                "request_id": requests[0]["id"],
                "rating": 5,
                "learned": "He leads better than I expected.",
                "goal_support": {goal["id"]: "We will sing the letter song at bedtime."},
            },
        )
        received = story.announced(
            "slc.portfolio.family_feedback.received.v1", feedback_id=given["id"]
        )
        assert (received["guardian_id"], received["goal_ids"]) == ("g-maria", [goal["id"]])
        assert story.call("GET", f"{portfolio}/students/s-gio/feedback", tokens["TEACHER"])[0][
            "goal_support"
        ] == {goal["id"]: "We will sing the letter song at bedtime."}
    finally:
        assert launcher.stop() == 0
    launcher.assert_stopped_cleanly_and_kept_its_secrets()


def _student_token(student: str) -> str:
    """The demo prints no student token for Gio; one is minted as the demo's are."""
    return mint_token(
        secret=DEV_JWT_SECRET,
        subject=student,
        role=Role.STUDENT,
        district="demo",
        sites=["conway"],
        ttl=timedelta(hours=1),
    )
