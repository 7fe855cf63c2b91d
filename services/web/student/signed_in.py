"""What every student page needs: a signed-in student (anyone else is told the page is not
theirs) and their own student id, which is who their token names: portfolio lets a student see
no one else, so no student page takes a student's id from its address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.web.pages import Visitor, VisitorDep
from services.web.troubles import Trouble, TroublePage


def signed_in_student(who: VisitorDep) -> Visitor:
    """The visitor, who must be a student signed in with their school account."""
    if who.session is None:
        raise TroublePage(Trouble.STAFF_SIGN_IN_NEEDED, 401)
    if who.session.person is None or who.session.person.role != "student":
        raise TroublePage(Trouble.NOT_YOURS, 403)
    return who


StudentDep = Annotated[Visitor, Depends(signed_in_student)]


def student_id_of(who: Visitor) -> str:
    """The student's own id: their token's subject (as portfolio reads it)."""
    assert who.session is not None and who.session.person is not None  # (signed_in_student)
    return who.session.person.subject
