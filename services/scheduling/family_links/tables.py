"""Which families' links the school has revoked."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime


class FamilyLinkRevocation(SQLModel, table=True):
    """Every link of this guardian issued before ``revoked_before`` no longer works."""

    __tablename__ = "family_link_revocation"

    guardian_id: str = Field(primary_key=True, max_length=64)
    district: str = Field(max_length=64)
    revoked_before: datetime = Field(sa_type=UTCDateTime)
    revoked_by: str = Field(max_length=64)


FAMILY_LINK_TABLES = (FamilyLinkRevocation,)
