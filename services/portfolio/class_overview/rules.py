"""Who may see a class's overview, and which cycle's plans it shows. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Protocol, TypeVar

from shared.auth.principal import Principal, Role


def may_see_class(
    principal: Principal, *, district: str, site: str, teachers: Collection[str]
) -> bool:
    """A class's teachers (the roster's, not the token's), the site's administrators and the
    district's see it; a token's ``sites`` claim can narrow a teacher's, never widen it. (As for
    a student, ``Principal.can_see_student``.)"""
    if district != principal.district:
        return False
    if principal.role is Role.TEACHER:
        return principal.subject in teachers and not principal.narrowed_out(site)
    return principal.is_admin and principal.can_act_for_site(district, site)


def may_list_classes_of(principal: Principal, *, teacher_id: str) -> bool:
    """A teacher lists their own classes; administrators any teacher's (each class then shown
    only if they may see it)."""
    if principal.role is Role.TEACHER:
        return principal.subject == teacher_id
    return principal.is_admin


class Dated(Protocol):
    @property
    def starts_on(self) -> date: ...
    @property
    def ends_on(self) -> date: ...


C = TypeVar("C", bound=Dated)


def cycle_to_show(cycles: Sequence[C], *, today: date) -> C | None:
    """The cycle whose plans an overview shows: the one ``today`` falls in, else the latest
    that has begun, else the first to come."""
    current = [cycle for cycle in cycles if cycle.starts_on <= today <= cycle.ends_on]
    if current:
        return max(current, key=lambda cycle: cycle.starts_on)
    begun = [cycle for cycle in cycles if cycle.starts_on <= today]
    if begun:
        return max(begun, key=lambda cycle: cycle.ends_on)
    return min(cycles, key=lambda cycle: cycle.starts_on, default=None)
