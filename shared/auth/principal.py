"""The caller behind a request and the scope rules that apply to them. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_serializer


class Role(StrEnum):
    STUDENT = "student"
    TEACHER = "teacher"
    GUARDIAN = "guardian"
    SITE_ADMIN = "site_admin"
    DISTRICT_ADMIN = "district_admin"


STAFF = frozenset({Role.TEACHER, Role.SITE_ADMIN, Role.DISTRICT_ADMIN})
ADMINS = frozenset({Role.SITE_ADMIN, Role.DISTRICT_ADMIN})


class Principal(BaseModel):
    """A verified caller: who they are, their role, and what they may act for."""

    model_config = ConfigDict(frozen=True)

    subject: str = Field(description="The caller's sourcedId.")
    role: Role
    district: str = Field(description="The district the caller belongs to.")
    sites: frozenset[str] = Field(default=frozenset(), description="Sites the caller acts for.")
    students: frozenset[str] = Field(
        default=frozenset(),
        description="If present, narrows the students a guardian may act for to these (the"
        " roster's guardian links decide; a token never widens them).",
    )
    link_issued_at: datetime | None = Field(
        default=None,
        description="Set when the caller signed in with a family link: when that link was"
        " issued (one issued at or before the school last revoked the family's links is"
        " refused).",
    )

    claimed_sites: frozenset[str] | None = Field(
        default=None,
        exclude=True,
        description="The token's own ``sites`` claim, kept when the service put the sites of a"
        " teacher's classes on the roster in ``sites`` (narrowed by the claim; then exact, none"
        " meaning nowhere: ``shared.auth.http``).",
    )
    revocation_pending: bool = Field(
        default=False,
        exclude=True,
        description="Set when the route reads the family link's revocation in its own"
        " transaction and must refuse a replaced link itself"
        " (``shared.auth.http.authenticate_revocation_in_transaction``).",
    )

    @field_serializer("sites", "students", when_used="json")
    def _in_order(self, ids: frozenset[str]) -> list[str]:
        """In JSON (``GET /me``), the same order every time."""
        return sorted(ids)

    @property
    def via_link(self) -> bool:
        """Signed in with a family link (``shared.auth.family_links``), not a staff token."""
        return self.link_issued_at is not None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_admin(self) -> bool:
        """A site or district administrator."""
        return self.role in ADMINS

    def narrowed_out(self, site: str) -> bool:
        """Whether the token's ``sites`` claim leaves ``site`` out (a claim naming none narrows
        nothing). For what the roster already ties to the caller (a teacher's own students and
        conference times), which a token narrows, never widens; whether a teacher acts at a
        site at all is ``can_act_for_site``, from the roster."""
        claim = self.sites if self.claimed_sites is None else self.claimed_sites
        return bool(claim) and site not in claim

    def can_act_for_site(self, district: str, site: str) -> bool:
        """A district admin acts for every site of their district; others for their own sites."""
        if district != self.district:
            return False
        return self.role is Role.DISTRICT_ADMIN or site in self.sites

    def can_see_student(
        self,
        *,
        district: str,
        site: str,
        student_id: str,
        guardians: Collection[str] = (),
        teachers: Collection[str] = (),
    ) -> bool:
        """Students see themselves, guardians their own children, teachers the students of
        their classes, admins the students of their sites.

        ``guardians`` are the guardians the roster links to the student, ``teachers`` the
        teachers of the student's classes: a guardian or a teacher sees a student only if the
        roster says so. The token's ``students`` and ``sites`` claims can narrow that, never
        widen it.
        """
        if district != self.district:
            return False
        if self.role is Role.STUDENT:
            return student_id == self.subject
        if self.role is Role.GUARDIAN:
            narrowed = bool(self.students) and student_id not in self.students
            return self.subject in guardians and not narrowed
        if self.role is Role.TEACHER:
            return self.subject in teachers and not self.narrowed_out(site)
        return self.can_act_for_site(district, site)
