"""Portfolio's API as the pages call it: always as the signed-in person, with their credential
as the bearer (portfolio decides whose evidence a teacher may review, and what a family may
see of their child's portfolio)."""

from __future__ import annotations

from typing import IO, Any
from urllib.parse import quote

import httpx

from services.web.service_api import Answer, ServiceApi, ServiceUnavailable, bearer


class PortfolioApi(ServiceApi):
    """Calls to portfolio as the signed-in person."""

    service = "portfolio"

    async def review_queue(self, token: str, *, site: str) -> Answer:
        """Evidence waiting for review at ``site`` (a teacher's own students'), oldest first."""
        return await self._call("GET", f"/sites/{quote(site)}/review-queue", token)

    async def student(self, token: str, *, student_id: str) -> Answer:
        """A student's roster entry (their name)."""
        return await self._call("GET", f"/students/{quote(student_id)}", token)

    async def find_students(self, token: str, *, site: str, name: str, limit: int) -> Answer:
        """The school's first ``limit`` students whose name holds ``name`` (a teacher's own)."""
        path = f"/sites/{quote(site)}/students"
        return await self._call("GET", path, token, params={"q": name, "limit": str(limit)})

    async def site_guardians(self, token: str, *, site: str, student_ids: list[str]) -> Answer:
        """The guardians of several of a school's students at once, by name."""
        path = f"/sites/{quote(site)}/guardians"
        return await self._call(
            "GET", path, token, params=[("student_id", one) for one in student_ids]
        )

    async def guardians(self, token: str, *, student_id: str) -> Answer:
        """The guardians the roster links to the student, by name (no contact details)."""
        return await self._call("GET", f"/students/{quote(student_id)}/guardians", token)

    async def approve(self, token: str, *, student_id: str, evidence_id: str) -> Answer:
        """Approve a piece: the family then sees it."""
        path = f"{_piece(student_id, evidence_id)}/approve"
        return await self._call("POST", path, token)

    async def return_with_feedback(
        self, token: str, *, student_id: str, evidence_id: str, feedback: str
    ) -> Answer:
        """Return a piece to the student with what to improve."""
        path = f"{_piece(student_id, evidence_id)}/return"
        return await self._call("POST", path, token, json={"feedback": feedback})

    async def teacher_classes(self, token: str, *, teacher_id: str) -> Answer:
        """The classes the teacher teaches now, by title."""
        return await self._call("GET", f"/teachers/{quote(teacher_id)}/classes", token)

    async def class_overview(self, token: str, *, class_id: str) -> Answer:
        """Each student of the class with their evidence, reflections, goals and plan (404 for
        a class that is not the caller's)."""
        return await self._call("GET", f"/classes/{quote(class_id)}/overview", token)

    async def sites(self, token: str) -> Answer:
        """The district's schools, each with its time zone."""
        return await self._call("GET", "/roster/sites", token)

    async def administrators(self, token: str) -> Answer:
        """The school administrators the roster has, with their schools (district IT)."""
        return await self._call("GET", "/roster/administrators", token)

    async def goals(self, token: str, *, student_id: str) -> Answer:
        """The student's goals, newest first, each with its progress."""
        return await self._call("GET", f"/students/{quote(student_id)}/goals", token)

    async def evidence(self, token: str, *, student_id: str) -> Answer:
        """The student's evidence the caller may see (a family: what a teacher approved)."""
        return await self._call("GET", f"/students/{quote(student_id)}/evidence", token)

    async def reflections(self, token: str, *, student_id: str) -> Answer:
        """The student's reflections the caller may read, newest first."""
        return await self._call("GET", f"/students/{quote(student_id)}/reflections", token)

    async def growth(self, token: str, *, student_id: str) -> Answer:
        """The student's growth cycle by cycle, oldest first: goals set and how each went, how
        much work and reflection (a family: what it may see)."""
        return await self._call("GET", f"/students/{quote(student_id)}/growth", token)

    async def cycles(self, token: str, *, site: str) -> Answer:
        """The site's conference cycles, oldest first."""
        return await self._call("GET", f"/sites/{quote(site)}/cycles", token)

    async def open_cycle(
        self, token: str, *, site: str, name: str, starts_on: str, ends_on: str
    ) -> Answer:
        """Start a conference cycle at the site (its administrators)."""
        body = {"name": name, "starts_on": starts_on, "ends_on": ends_on}
        return await self._call("POST", f"/sites/{quote(site)}/cycles", token, json=body)

    async def presentation(self, token: str, *, student_id: str, cycle_id: str) -> Answer:
        """The conference plan of a cycle, step by step (a family: 404 until it is ready)."""
        path = f"/students/{quote(student_id)}/plans/{quote(cycle_id)}/presentation"
        return await self._call("GET", path, token)

    async def mark_plan_ready(self, token: str, *, student_id: str, cycle_id: str) -> Answer:
        """A teacher says the plan is ready: the student leads with it, the family sees it."""
        path = f"/students/{quote(student_id)}/plans/{quote(cycle_id)}/ready"
        return await self._call("POST", path, token)

    async def feedback_requests(self, token: str, *, student_id: str) -> Answer:
        """The feedback the family is asked for after each completed conference, newest
        first."""
        return await self._call("GET", f"/students/{quote(student_id)}/feedback-requests", token)

    async def family_feedback(self, token: str, *, student_id: str) -> Answer:
        """What the family said after each conference, newest first (a guardian: their own)."""
        return await self._call("GET", f"/students/{quote(student_id)}/feedback", token)

    async def give_feedback(
        self, token: str, *, student_id: str, feedback: dict[str, Any]
    ) -> Answer:
        """The family's feedback after the conference (once per guardian and conference)."""
        path = f"/students/{quote(student_id)}/feedback"
        return await self._call("POST", path, token, json=feedback)

    async def evidence_file(
        self,
        token: str,
        *,
        student_id: str,
        evidence_id: str,
        preview: bool,
        byte_range: str | None = None,
    ) -> httpx.Response:
        """A piece's file (or a photo's preview) as portfolio streams it (``byte_range``: a
        player's ``Range``, that part of a recording); the caller closes it."""
        which = "thumbnail" if preview else "file"
        path = f"{_piece(student_id, evidence_id)}/{which}"
        return await self._stream(path, token, {"Range": byte_range} if byte_range else {})

    async def reflection_recording(
        self, token: str, *, student_id: str, reflection_id: str, byte_range: str | None = None
    ) -> httpx.Response:
        """A reflection said aloud, as portfolio streams it (``byte_range``: the player's
        ``Range``, that part only); the caller closes it."""
        path = f"/students/{quote(student_id)}/reflections/{quote(reflection_id)}/recording"
        return await self._stream(path, token, {"Range": byte_range} if byte_range else {})

    async def _stream(
        self, path: str, token: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        request = self._client.build_request(
            "GET", path, headers={**bearer(token), **(headers or {})}
        )
        try:
            return await self._client.send(request, stream=True)
        except httpx.HTTPError as error:
            raise ServiceUnavailable(self.service) from error

    async def send_file_evidence(
        self,
        token: str,
        *,
        student_id: str,
        title: str,
        file_name: str,
        file: IO[bytes],
        media_type: str,
        replacing: str | None = None,
    ) -> Answer:
        """Add a photo, PDF, recording or video (portfolio decides its type from its content,
        and refuses a file too large for its kind); ``replacing``: the returned piece it takes
        the place of, handed in again."""
        method, path = (
            ("POST", f"/students/{quote(student_id)}/evidence/files")
            if replacing is None
            else ("PUT", f"{_piece(student_id, replacing)}/file")
        )
        files = {"file": (file_name, file, media_type)}
        return await self._call(method, path, token, data={"title": title}, files=files)

    async def improve_evidence(
        self, token: str, *, student_id: str, evidence_id: str, changes: dict[str, Any]
    ) -> Answer:
        """Change a returned (or waiting) piece's name or words: it is handed in again."""
        path = _piece(student_id, evidence_id)
        return await self._call("PATCH", path, token, json=changes)

    async def piece(self, token: str, *, student_id: str, evidence_id: str) -> Answer:
        """One piece of the student's evidence (404 if the caller may not see it)."""
        path = _piece(student_id, evidence_id)
        return await self._call("GET", path, token)

    async def sentence_starters(self, token: str, *, student_id: str, language: str) -> Answer:
        """The starters for the student's grade band, in ``language`` if there are some."""
        path = f"/students/{quote(student_id)}/sentence-starters"
        return await self._call("GET", path, token, params={"language": language})

    async def add_reflection(
        self, token: str, *, student_id: str, reflection: dict[str, Any]
    ) -> Answer:
        """A reflection on a piece of evidence or on the term."""
        path = f"/students/{quote(student_id)}/reflections"
        return await self._call("POST", path, token, json=reflection)

    async def say_reflection(
        self,
        token: str,
        *,
        student_id: str,
        said: dict[str, str],
        file_name: str,
        file: IO[bytes],
        media_type: str,
    ) -> Answer:
        """A reflection said aloud (``said``: its prompt, the piece, words typed too, the
        language), the recording typed by portfolio from its content."""
        path = f"/students/{quote(student_id)}/reflections/spoken"
        files = {"recording": (file_name, file, media_type)}
        return await self._call("POST", path, token, data=said, files=files)

    async def set_goal(self, token: str, *, student_id: str, goal: dict[str, Any]) -> Answer:
        """A new goal."""
        return await self._call("POST", f"/students/{quote(student_id)}/goals", token, json=goal)

    async def record_progress(
        self, token: str, *, student_id: str, goal_id: str, progress: dict[str, Any]
    ) -> Answer:
        """A step along an active goal."""
        path = f"/students/{quote(student_id)}/goals/{quote(goal_id)}/progress"
        return await self._call("POST", path, token, json=progress)

    async def achieve_goal(self, token: str, *, student_id: str, goal_id: str) -> Answer:
        """Mark an active goal reached."""
        path = f"/students/{quote(student_id)}/goals/{quote(goal_id)}/achieve"
        return await self._call("POST", path, token)

    async def plan(self, token: str, *, student_id: str, cycle_id: str) -> Answer:
        """The student's conference plan of a cycle (an empty draft if not begun)."""
        path = f"/students/{quote(student_id)}/plans/{quote(cycle_id)}"
        return await self._call("GET", path, token)

    async def save_plan(
        self, token: str, *, student_id: str, cycle_id: str, plan: dict[str, Any]
    ) -> Answer:
        """Save the plan (a ready plan changed is a draft again)."""
        path = f"/students/{quote(student_id)}/plans/{quote(cycle_id)}"
        return await self._call("PUT", path, token, json=plan)


def _piece(student_id: str, evidence_id: str) -> str:
    """The address of one piece of a student's evidence."""
    return f"/students/{quote(student_id)}/evidence/{quote(evidence_id)}"
