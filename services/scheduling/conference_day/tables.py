"""What conference day needs to know from elsewhere: whose conference plan is ready."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime


class PlanReadiness(SQLModel, table=True):
    """A student's conference plan marked ready, kept from ``portfolio.plan.ready``."""

    __tablename__ = "plan_readiness"

    student_id: str = Field(primary_key=True, max_length=64)
    cycle_id: str = Field(primary_key=True, max_length=64)
    plan_id: str = Field(max_length=36)
    ready_at: datetime = Field(sa_type=UTCDateTime)


CONFERENCE_DAY_TABLES = (PlanReadiness,)
