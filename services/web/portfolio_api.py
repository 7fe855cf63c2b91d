"""Portfolio's API as the teacher pages call it: always as the signed-in person, with their
token as the bearer (portfolio decides whose evidence they may review)."""

from __future__ import annotations

from urllib.parse import quote

from services.web.service_api import Answer, ServiceApi


class PortfolioApi(ServiceApi):
    """Calls to portfolio as the signed-in person."""

    service = "portfolio"

    async def review_queue(self, token: str, *, site: str) -> Answer:
        """Evidence waiting for review at ``site`` (a teacher's own students'), oldest first."""
        return await self._call("GET", f"/sites/{quote(site)}/review-queue", token)

    async def student(self, token: str, *, student_id: str) -> Answer:
        """A student's roster entry (their name)."""
        return await self._call("GET", f"/students/{quote(student_id)}", token)

    async def approve(self, token: str, *, student_id: str, evidence_id: str) -> Answer:
        """Approve a piece: the family then sees it."""
        path = f"/students/{quote(student_id)}/evidence/{quote(evidence_id)}/approve"
        return await self._call("POST", path, token)

    async def return_with_feedback(
        self, token: str, *, student_id: str, evidence_id: str, feedback: str
    ) -> Answer:
        """Return a piece to the student with what to improve."""
        path = f"/students/{quote(student_id)}/evidence/{quote(evidence_id)}/return"
        return await self._call("POST", path, token, json={"feedback": feedback})
