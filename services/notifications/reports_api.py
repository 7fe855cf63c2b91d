"""Delivery reports for the school office and district: what happened to the messages of a
campaign (an invitation round, a nudge), of a site, or of one family; and the families no
channel reached.

A report counts deliveries (one message to one guardian on one channel) by status: ``sent``
(handed to the relay or provider), ``delivered`` (the provider confirmed it), ``bounced`` (the
family's mail system refused it), ``failed``, ``opted_out`` (the guardian, or a STOP reply,
said no), ``waiting`` (held for the guardian's quiet hours), ``queued`` (about to go) and
``withheld`` (the guardian was unlinked before it went).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import case, func, literal_column, union_all
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.notifications.channels import REASON_KINDS
from services.notifications.tables import (
    ContactPoint,
    CouldNotReach,
    Delivery,
    KnownStudent,
    MessageRound,
)
from shared.api_types import ID_PATTERN, Moment
from shared.auth.http import CurrentPrincipal, forbidden
from shared.auth.principal import Principal, Role
from shared.database import utcnow
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["delivery reports"])

STATUSES = ("sent", "delivered", "bounced", "failed", "opted_out", "waiting", "queued", "withheld")
# The messages that go to many families at once, each round of which is a campaign.
CAMPAIGN_TEMPLATES = ("conference_invitation", "booking_reminder")

SiteQuery = Query(None, max_length=64, pattern=ID_PATTERN, description="Only this school.")


class Counts(BaseModel):
    total: int = 0
    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    failed: int = 0
    opted_out: int = 0
    waiting: int = Field(0, description="Held for the guardian's quiet hours.")
    queued: int = 0
    withheld: int = 0


class DeliveryReport(BaseModel):
    counts: Counts
    by_channel: dict[str, Counts]
    by_template: dict[str, Counts]


class CampaignReport(BaseModel):
    campaign: str = Field(
        description="The id of the event that started it (e.g. the window's opening)."
    )
    template: str
    site: str
    window_id: str | None = Field(
        None,
        description="The conference window the round is about (none for rounds started before"
        " notifications kept it).",
    )
    started_at: datetime
    counts: Counts
    not_written: int = Field(
        0,
        description="Families of the round whose message could not be written (its job was"
        " given up or cancelled), so have no message to count: each is on the could-not-reach"
        " list until `slc-jobs retry` of the job writes and sends it.",
    )


class Unreached(BaseModel):
    guardian_id: str
    display_name: str | None
    student_id: str
    student_name: str | None = Field(
        None, description="The student's given name, as the roster names them."
    )
    site: str
    template: str = Field(description="The message that could not be delivered.")
    reason: str
    reason_kind: str = Field(
        description="The kind of reason, to act on or say in words without reading `reason`: "
        + "; ".join(f"`{kind}`, {meaning}" for kind, meaning in REASON_KINDS.items())
        + "."
    )
    at: datetime


def _may_read_reports(principal: Principal) -> None:
    if principal.via_link or not principal.is_admin:
        raise forbidden("delivery reports are for the school office and district IT")


def _status() -> Any:
    """A delivery's status as reports count it: a queued one held for quiet hours is waiting."""
    return case(
        (
            (col(Delivery.status) == "queued") & (col(Delivery.not_before) > utcnow()),
            "waiting",
        ),
        else_=col(Delivery.status),
    )


def _scoped(principal: Principal, query: Any, site: str | None, table: Any = Delivery) -> Any:
    """``query`` narrowed to the caller's district and to ``site`` (403 for a school they do
    not act for), or to a site admin's own schools."""
    query = query.where(col(table.district) == principal.district)
    if site is not None:
        if not principal.can_act_for_site(principal.district, site):
            raise forbidden(f"you do not act for site {site!r}")
        return query.where(col(table.site) == site)
    if principal.role is Role.SITE_ADMIN:
        query = query.where(col(table.site).in_(sorted(principal.sites)))
    return query


def _count(rows: Any) -> Counts:
    counts = Counts()
    for status, number in rows:
        if status in STATUSES:
            setattr(counts, status, getattr(counts, status) + number)
        counts.total += number
    return counts


@router.get("/reports/deliveries", response_model=DeliveryReport, responses=refusals(403))
async def delivery_report(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    site: str | None = SiteQuery,
    campaign: str | None = Query(
        None,
        max_length=36,
        pattern=ID_PATTERN,
        description="Only the messages of this campaign (its event's id).",
    ),
    guardian_id: str | None = Query(
        None, max_length=64, pattern=ID_PATTERN, description="Only the messages to this family."
    ),
    since: Moment | None = Query(None, description="Messages recorded from then on."),
    until: Moment | None = Query(None, description="Messages recorded before then."),
) -> DeliveryReport:
    """Messages by status, and by channel and message within that: for a site, a campaign, or
    a family (admins of the site; district admins for the whole district)."""
    _may_read_reports(principal)
    status = _status().label("status")
    query = select(Delivery.channel, Delivery.template, status, func.count()).group_by(
        col(Delivery.channel), col(Delivery.template), status
    )
    query = _scoped(principal, query, site)
    if campaign is not None:
        query = query.where(col(Delivery.cause_event_id) == campaign)
    if guardian_id is not None:
        query = query.where(col(Delivery.recipient_id) == guardian_id)
    if since is not None:
        query = query.where(col(Delivery.created_at) >= since)
    if until is not None:
        query = query.where(col(Delivery.created_at) < until)
    async with uow.read() as session:
        rows = (await session.exec(query)).all()
    channels: dict[str, list[tuple[str, int]]] = {}
    templates: dict[str, list[tuple[str, int]]] = {}
    for channel, template, state, number in rows:
        channels.setdefault(channel, []).append((state, number))
        templates.setdefault(template, []).append((state, number))
    return DeliveryReport(
        counts=_count((state, number) for _, _, state, number in rows),
        by_channel={name: _count(found) for name, found in sorted(channels.items())},
        by_template={name: _count(found) for name, found in sorted(templates.items())},
    )


@router.get("/reports/campaigns", response_model=list[CampaignReport], responses=refusals(403))
async def campaign_reports(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    site: str | None = SiteQuery,
    limit: int = Query(20, ge=1, le=200),
) -> list[CampaignReport]:
    """Each invitation round and nudge, newest first, with what became of its messages, and
    how many of its families it could not write one for."""
    _may_read_reports(principal)
    status = _status().label("status")
    written: Any = sa_select(
        col(Delivery.cause_event_id).label("cause"),
        col(Delivery.template).label("template"),
        col(Delivery.site).label("site"),
        col(Delivery.district).label("district"),
        col(Delivery.created_at).label("at"),
        literal_column("0").label("unwritten"),
    ).where(col(Delivery.template).in_(CAMPAIGN_TEMPLATES))
    unwritten = _not_written(
        sa_select(
            col(CouldNotReach.cause_event_id),
            col(CouldNotReach.template),
            col(CouldNotReach.site),
            col(CouldNotReach.district),
            col(CouldNotReach.at),
            literal_column("1"),
        ).where(col(CouldNotReach.template).in_(CAMPAIGN_TEMPLATES))
    )
    rounds = union_all(written, unwritten).subquery()
    started = func.min(rounds.c.at).label("started_at")
    not_written = func.sum(rounds.c.unwritten).label("not_written")
    campaigns = _scoped(
        principal,
        sa_select(rounds.c.cause, rounds.c.template, rounds.c.site, started, not_written)
        .group_by(rounds.c.cause, rounds.c.template, rounds.c.site)
        .order_by(started.desc())
        .limit(limit),
        site,
        rounds.c,
    )
    async with uow.read() as session:
        found = (await session.exec(campaigns)).all()
        ids = [row[0] for row in found]
        counted = (
            await session.exec(
                select(Delivery.cause_event_id, Delivery.site, status, func.count())
                .where(col(Delivery.cause_event_id).in_(ids))
                .group_by(col(Delivery.cause_event_id), col(Delivery.site), status)
            )
        ).all()
        windows = dict(
            (
                await session.exec(
                    select(MessageRound.cause_event_id, MessageRound.window_id).where(
                        col(MessageRound.cause_event_id).in_(ids)
                    )
                )
            ).all()
        )
    tallies: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for cause, at_site, state, number in counted:
        tallies.setdefault((cause, at_site), []).append((state, number))
    return [
        CampaignReport(
            campaign=cause,
            template=template,
            site=at_site,
            window_id=windows.get(cause),
            started_at=started_at,
            counts=_count(tallies.get((cause, at_site), [])),
            not_written=int(unwritten or 0),
        )
        for cause, template, at_site, started_at, unwritten in found
    ]


def _not_written(query: Any) -> Any:
    """``query`` narrowed to the families listed because their message was never written (an
    invitation job given up or cancelled), and still without it (a retry writes it), whether
    or not a later message (a nudge) has taken them off the could-not-reach list since."""
    written = (
        sa_select(col(Delivery.id))
        .where(
            col(Delivery.cause_event_id) == col(CouldNotReach.cause_event_id),
            col(Delivery.recipient_id) == col(CouldNotReach.guardian_id),
            col(Delivery.template) == col(CouldNotReach.template),
        )
        .exists()
    )
    return query.where(
        col(CouldNotReach.reason_kind) == "not_written",
        col(CouldNotReach.cause_event_id).is_not(None),
        ~written,
    )


@router.get("/could-not-reach", response_model=list[Unreached], responses=refusals(403))
async def could_not_reach(
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
    site: str | None = SiteQuery,
    limit: int = Query(200, ge=1, le=1000),
) -> list[Unreached]:
    """Families every channel failed for (or whose invitation could not be written), newest
    first, with the reason: the school office calls them. A family leaves the list once a later
    message reaches them or their contact details are corrected."""
    _may_read_reports(principal)
    query = (
        select(CouldNotReach, ContactPoint.display_name, KnownStudent.given_name)
        .outerjoin(ContactPoint, col(ContactPoint.guardian_id) == col(CouldNotReach.guardian_id))
        .outerjoin(KnownStudent, col(KnownStudent.id) == col(CouldNotReach.student_id))
        .where(col(CouldNotReach.resolved_at).is_(None))
        .order_by(col(CouldNotReach.at).desc())
        .limit(limit)
    )
    query = _scoped(principal, query, site, CouldNotReach)
    async with uow.read() as session:
        rows = (await session.exec(query)).all()
    return [
        Unreached(
            guardian_id=row.guardian_id,
            display_name=name,
            student_id=row.student_id,
            student_name=student_name or None,
            site=row.site,
            template=row.template,
            reason=row.reason,
            reason_kind=row.reason_kind,
            at=row.at,
        )
        for row, name, student_name in rows
    ]
