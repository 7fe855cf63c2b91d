"""Family links at scheduling: when a link is refused as replaced, who may send a family a new
one, and until when it works. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from services.scheduling.booking.rules import Hidden, NotAllowed, Refused
from shared.auth.family_links import MAX_LIFETIME
from shared.auth.principal import Principal

NO_OPEN_WINDOW = (
    "no conference window is open for this family's children; links are sent when a window opens"
)


def check_reissuer(
    principal: Principal, *, guardian_id: str, district: str, children_sites: Collection[str]
) -> None:
    """A site's administrators send a new link to the families of their site's students; a
    district administrator to any family. Others learn nothing about the family (404)."""
    if not principal.is_admin:
        raise NotAllowed("only a school's administrators send a family a new link")
    if not any(principal.can_act_for_site(district, site) for site in children_sites):
        raise Hidden(f"no guardian {guardian_id!r} on the roster whose link you may reissue")


def new_link_expiry(open_windows_end: Iterable[datetime], *, now: datetime) -> datetime:
    """A new link works until the last of the family's opened windows ends (at most 180 days).

    ``open_windows_end``: when the opened windows at the family's children's sites end (the
    end of their last day, as the links sent for them).
    """
    ending = [ends_at for ends_at in open_windows_end if ends_at > now]
    if not ending:
        raise Refused(NO_OPEN_WINDOW, code="no_window_open")
    return min(max(ending), now + MAX_LIFETIME)
