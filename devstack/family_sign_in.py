"""Sign-in links for the demo families: the web front's address with a family link minted for
each demo guardian (with the private key ``make run`` keeps in ``var``), valid until booking
closes at their school, as the links in the school's messages are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx

from devstack.demo import DISTRICT
from shared.auth.family_links import MAX_LIFETIME, FamilyLinkIssuer, window_links_until
from shared.settings import pem_text

# Until the demo's windows are known (or if there are none): long enough for a try.
FALLBACK_LIFETIME = timedelta(days=14)


@dataclass(frozen=True)
class DemoFamily:
    guardian_id: str
    who: str
    language: str | None = None


DEMO_FAMILIES = (
    DemoFamily("g-dana", "Dana Levi, mother of Noa (MJDS: booking open) and Sam (Conway)"),
    DemoFamily("g-maria", "María Martínez, Gio's mother (Conway; in Spanish)", "es"),
    DemoFamily("g-wei", "Wei Chen, Ava's father (Conway)"),
    DemoFamily("g-marcus", "Marcus Brooks, Eli's father (MJDS)"),
    DemoFamily("g-lan", "Lan Nguyễn, Minh's mother (Conway: his conference; in Vietnamese)", "vi"),
)


def family_sign_in_links(
    *, web_url: str, scheduling_url: str, private_key: str, admin_token: str
) -> list[tuple[DemoFamily, str]]:
    """Each demo family with the address that signs it in to the web front."""
    key = pem_text(private_key)
    if key is None:
        return []
    issuer = FamilyLinkIssuer(key)
    now = datetime.now(UTC)
    expires = min(
        _windows_end(scheduling_url, admin_token) or now + FALLBACK_LIFETIME, now + MAX_LIFETIME
    )
    links = []
    for family in DEMO_FAMILIES:
        token = issuer.mint(guardian_id=family.guardian_id, district=DISTRICT, expires_at=expires)
        language = f"&lang={family.language}" if family.language else ""
        links.append((family, f"{web_url}/f?link={token}{language}"))
    return links


def _windows_end(scheduling_url: str, admin_token: str) -> datetime | None:
    """When the demo's last window ends (a link sent for a window works until then), if
    scheduling says."""
    ends: list[datetime] = []
    try:
        with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {admin_token}"}) as http:
            for site in ("conway", "mjds"):
                response = http.get(f"{scheduling_url}/windows", params={"site": site})
                if response.is_success:
                    ends += [
                        window_links_until(date.fromisoformat(w["last_day"]), w["timezone"])
                        for w in response.json()
                    ]
    except httpx.HTTPError:
        return None
    future = [moment for moment in ends if moment > datetime.now(UTC)]
    return max(future) if future else None
