"""What every student page needs: a signed-in student (anyone else is told the page is not
theirs) and their own student id, which is who their token names: portfolio lets a student see
no one else, so no student page takes a student's id from its address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.web.pages import Visitor
from services.web.staff.signed_in import signed_in_as

StudentDep = Annotated[Visitor, Depends(signed_in_as("student"))]


def student_id_of(who: Visitor) -> str:
    """The student's own id: their token's subject (as portfolio reads it)."""
    assert who.session is not None and who.session.person is not None  # (signed_in_as)
    return who.session.person.subject
