"""A child's reflection is news in the family's daily digest, on SQLite and PostgreSQL: one on the
term or on work approved (said aloud or written, by the child or their teacher with them), in
the family's language and never with what the child said; one on work still waiting for review
is not, the family cannot read it yet."""

from __future__ import annotations

import pytest

from shared.auth import Role
from tests.integration.conftest import System, delivery_of, digests_due_now, family_with_contact
from tests.integration.test_reflections import add_evidence
from tests.support import auth, eventually, sound_recording

pytestmark = pytest.mark.usefixtures("offices")

TEACHER = auth("t-rivera", Role.TEACHER, sites=("conway",))


async def test_reflections_the_family_may_read_are_in_its_digest(system: System) -> None:
    student, guardian_id = await family_with_contact(
        system,
        given_name="Gio",
        contact={"display_name": "María", "email": "maria@example.org", "language": "es"},
    )
    reflections = f"/students/{student}/reflections"
    approved = await add_evidence(system, student, status="approved")
    waiting = await add_evidence(system, student, status="submitted")
    # Said aloud on the term, with his teacher beside him.
    spoken = await system.portfolio.post(
        f"{reflections}/spoken",
        data={"prompt": "glows"},
        files={"recording": ("said.wav", sound_recording(), "audio/wav")},
        headers=TEACHER,
    )
    assert spoken.status_code == 201, spoken.text
    for body in (
        {"evidence_id": approved, "learned": "Triangles have three sides"},
        {"evidence_id": waiting, "hard": "The hexagon"},  # (not news: not approved yet)
    ):
        written = await system.portfolio.post(reflections, json=body, headers=TEACHER)
        assert written.status_code == 201, written.text

    await digests_due_now(system, pending=2)
    digest = await eventually(
        lambda: delivery_of(system, guardian_id, "portfolio_digest"), until=bool
    )
    assert digest is not None
    lines = [line for line in digest.body.splitlines() if line.startswith("- ")]
    assert lines == [
        "- Gio dijo en voz alta lo que piensa de su aprendizaje de este período (escúchelo en la"
        " página de su portafolio)",
        '- Gio reflexionó sobre su trabajo: "All the shapes I know"',
    ], digest.body
    # Never what he said.
    assert "Triangles" not in digest.body and "hexagon" not in digest.body
