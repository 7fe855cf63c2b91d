"""A student's guardians as portfolio names them (``GET /students/{id}/guardians``: names and
their link to the student, no contact details), for the staff pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GuardianView:
    id: str
    name: str
    relationship: str


def guardian_views(listed: Any) -> list[GuardianView]:
    """Portfolio's ``GET /students/{id}/guardians``, each by their full name (else their id)."""
    if not isinstance(listed, list):
        return []
    return [
        GuardianView(
            id=str(one["id"]),
            name=f"{one.get('given_name', '')} {one.get('family_name', '')}".strip()
            or str(one["id"]),
            relationship=str(one.get("relationship") or ""),
        )
        for one in listed
        if isinstance(one, dict)
    ]
