"""Portfolio's rules: who may change what. Pure functions, no I/O."""

from __future__ import annotations

from shared.auth.principal import Principal, Role


def may_manage_roster(principal: Principal, *, district: str, site: str) -> bool:
    """Rosters are loaded by district IT or a site's admin."""
    return principal.is_admin and principal.can_act_for_site(district, site)


def may_set_goal(principal: Principal, *, district: str, site: str, student_id: str) -> bool:
    """A student sets their own goals; a teacher may record one with them. Families may not."""
    if principal.role is Role.STUDENT:
        return principal.district == district and principal.subject == student_id
    return principal.is_staff and principal.can_act_for_site(district, site)
