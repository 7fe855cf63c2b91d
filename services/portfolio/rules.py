"""Portfolio's rules: who may change what. Pure functions, no I/O."""

from __future__ import annotations

from shared.auth.principal import Principal, Role


def may_manage_roster(principal: Principal, *, district: str, site: str) -> bool:
    """Rosters are loaded by district IT or a site's admin."""
    return principal.is_admin and principal.can_act_for_site(district, site)


def may_list_site_students(principal: Principal, *, district: str, site: str) -> bool:
    """Who may list a site's students (its review queue, a search by name): a teacher, their
    own students there (their token may narrow the sites); an administrator, all of a site
    they act for."""
    if principal.role is Role.TEACHER:
        return principal.district == district and not principal.narrowed_out(site)
    return principal.is_admin and principal.can_act_for_site(district, site)


def may_set_goal(principal: Principal, *, district: str, site: str, student_id: str) -> bool:
    """A student sets their own goals; a teacher may record one with them. Families may not.
    Asked once the caller is known to see the student (``services.portfolio.access``)."""
    if principal.role is Role.STUDENT:
        return principal.district == district and principal.subject == student_id
    return staff_writes_for(principal, district=district, site=site)


def staff_writes_for(principal: Principal, *, district: str, site: str) -> bool:
    """Whether staff who see a student (``services.portfolio.access``) write in their portfolio
    for them: a teacher for the students of their classes, wherever enrolled (the token's
    ``sites`` claim may narrow that); an administrator at the sites they act for."""
    if principal.role is Role.TEACHER:
        return principal.district == district and not principal.narrowed_out(site)
    return principal.is_admin and principal.can_act_for_site(district, site)
