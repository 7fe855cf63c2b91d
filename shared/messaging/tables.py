"""The two tables every service has: its outbox (events to publish) and inbox (events handled)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Identity, Integer, Text
from sqlmodel import Field, SQLModel

from shared.database import UTCDateTime, utcnow


class OutboxMessage(SQLModel, table=True):
    """An event committed with the state change that caused it, waiting to be relayed."""

    __tablename__ = "outbox"

    # A database-assigned sequence: the relay publishes in the order rows were recorded.
    seq: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), Identity(), primary_key=True
        ),
    )
    event_id: str = Field(unique=True, max_length=36)
    stream: str = Field(max_length=200)
    fields: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, index=True, sa_type=UTCDateTime)


class InboxEntry(SQLModel, table=True):
    """One row per (consumer group, event id) handled; written with the handler's effects."""

    __tablename__ = "inbox"

    consumer: str = Field(primary_key=True, max_length=100)
    event_id: str = Field(primary_key=True, max_length=36)
    event_type: str = Field(max_length=200)
    handled_at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)


class ParkedEvent(SQLModel, table=True):
    """An event set aside by a consumer group until what it needs has arrived.

    A handler that raises ``NotYet`` (the roster entry of its student is still on its way, say)
    is not failing: its event waits here, acknowledged on the stream, and is applied again as
    soon as an event providing ``waiting_for`` has been handled, or after a backoff otherwise.
    """

    __tablename__ = "parked_event"

    consumer: str = Field(primary_key=True, max_length=100)
    event_id: str = Field(primary_key=True, max_length=36)
    stream: str = Field(max_length=200)
    entry_id: str = Field(max_length=40, description="Its id on the stream it was read from.")
    fields: str = Field(sa_column=Column(Text, nullable=False), description="The entry, as JSON.")
    waiting_for: str = Field(index=True, max_length=200, description="e.g. `student:s-ava`")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    parked_at: datetime = Field(sa_type=UTCDateTime)
    looks: int = Field(default=0, description="How many times it has been applied again.")
    failures: int = Field(default=0, description="Attempts whose handler failed (not NotYet).")
    unsettled: int = Field(
        default=0,
        description="Looks taken in a row that never finished (its consumer stopped each time).",
    )
    next_look_at: datetime = Field(index=True, sa_type=UTCDateTime)
