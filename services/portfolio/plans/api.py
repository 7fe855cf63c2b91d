"""The conference plan's routes: build it, mark it ready, present it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.portfolio.access import linked_guardians, visible_student
from services.portfolio.cycles.queries import school_day, site_zone
from services.portfolio.cycles.tables import ConferenceCycle
from services.portfolio.evidence.tables import Evidence
from services.portfolio.plans.rules import (
    PlanRefused,
    Presented,
    check_may_edit,
    check_may_mark_ready,
    check_ready,
    evidence_shown,
    is_left_out,
    not_approved,
    presented,
    ready_refused,
    shown_to,
    visible_to,
)
from services.portfolio.plans.tables import ConferencePlan
from services.portfolio.reflections.tables import Reflection
from services.portfolio.refusals import REFUSED_409, REFUSED_422, refused, unprocessable
from services.portfolio.tables import Goal, Student
from shared.api_types import Id, IdPath, Paragraphs, Text
from shared.auth.http import CurrentPrincipal
from shared.auth.principal import Role
from shared.database import utcnow
from shared.events import PlanReady
from shared.messaging.outbox import record_event
from shared.problems import refusals
from shared.service import UnitOfWorkDep

router = APIRouter(tags=["conference plan"])

MODELS: dict[str, Any] = {"evidence": Evidence, "reflection": Reflection, "goal": Goal}


class PlanItem(BaseModel):
    type: Literal["evidence", "reflection", "goal"]
    id: Id
    say: Paragraphs | None = Field(
        None, max_length=2000, description="What the student will say about it."
    )


class PlanIn(BaseModel):
    opening: Paragraphs | None = Field(
        None, max_length=2000, examples=["Welcome! Today I will show you what I learned."]
    )
    items: list[PlanItem] = Field(default_factory=list, max_length=40)
    questions: list[Text] = Field(
        default_factory=list,
        max_length=10,
        description="Questions for the family, e.g. `What are you proud of?`",
    )


class PlanOut(PlanIn):
    id: str | None = Field(description="None until the plan is first saved.")
    student_id: str
    cycle_id: str
    status: str = Field(description="`draft` or `ready`.")
    ready_by: str | None = None
    ready_at: datetime | None = None
    follow_up_goals: list[str] = Field(
        default_factory=list,
        description="Ids of goals set before this cycle that are still active: to follow up.",
    )


class Step(BaseModel):
    number: int
    kind: Literal["opening", "evidence", "reflection", "goal", "questions"]
    say: str | None = None
    content: dict[str, Any] = Field(description="What to show for this step.")


class Presentation(BaseModel):
    student_id: str
    cycle_id: str
    status: str
    steps: list[Step]
    ready_refused: str | None = Field(
        None,
        description="Why marking the plan ready would be refused now (the refusal's code:"
        " `plan_empty` or `plan_not_approved`), else none. Not for families.",
    )
    not_approved: dict[str, str] = Field(
        default_factory=dict,
        description="The work the steps show, or their reflections are about, that is not"
        " approved yet, by id: `submitted` or `returned`. It keeps the plan from being ready."
        " Not for families.",
    )
    left_out: list[str] = Field(
        default_factory=list,
        description="Ids of the plan's work the teacher returned for improvement: not presented"
        " until the student hands it in again. Not for families.",
    )


@router.get(
    "/students/{student_id}/plans/{cycle_id}", response_model=PlanOut, responses=refusals(404)
)
async def get_plan(
    student_id: IdPath, cycle_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> PlanOut:
    """A student's conference plan for a cycle (an empty draft if not begun); families see it
    once the teacher has marked it ready."""
    async with uow.read() as session:
        student = await visible_student(session, student_id, principal)
        cycle = await _cycle(session, student, cycle_id)
        plan = await _plan(session, student_id, cycle_id)
        follow_up = await _follow_up(session, student_id, cycle)
    if not visible_to(principal, status=plan.status if plan is not None else "draft"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no conference plan ready yet")
    return _out(plan, student_id=student_id, cycle_id=cycle_id, follow_up=follow_up)


@router.put(
    "/students/{student_id}/plans/{cycle_id}",
    response_model=PlanOut,
    responses={**refusals(403, 404), 422: REFUSED_422},
)
async def save_plan(
    student_id: IdPath,
    cycle_id: IdPath,
    body: PlanIn,
    principal: CurrentPrincipal,
    uow: UnitOfWorkDep,
) -> PlanOut:
    """Save the plan (the student, or their teacher helping): the opening, the evidence,
    reflections and goals in the order they will be presented, with what the student will say,
    and questions for the family. Changing a ready plan makes it a draft again."""
    async with uow.transaction() as session:
        student = await visible_student(session, student_id, principal)
        _refuse(lambda: check_may_edit(principal, student_id=student_id))
        cycle = await _cycle(session, student, cycle_id)
        await _check_items(session, student_id, body.items)
        plan = await _plan(session, student_id, cycle_id, lock=True)
        values: dict[str, Any] = {
            "opening": body.opening,
            "items": [item.model_dump() for item in body.items],
            "questions": list(body.questions),
            "status": "draft",
            "ready_by": None,
            "ready_at": None,
            "updated_by": principal.subject,
            "updated_at": utcnow(),
        }
        if plan is None:
            plan = ConferencePlan(
                district=student.district,
                site=student.site,
                student_id=student_id,
                cycle_id=cycle_id,
                **values,
            )
        else:
            plan.sqlmodel_update(values)
        session.add(plan)
        follow_up = await _follow_up(session, student_id, cycle)
    return _out(plan, student_id=student_id, cycle_id=cycle_id, follow_up=follow_up)


@router.post(
    "/students/{student_id}/plans/{cycle_id}/ready",
    response_model=PlanOut,
    responses={**refusals(403, 404), 409: REFUSED_409},
)
async def mark_ready(
    student_id: IdPath, cycle_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> PlanOut:
    """Mark the plan ready (the teacher): the student can lead their conference from it and the
    family may see it. Evidence in it must be approved."""
    async with uow.transaction() as session:
        student = await visible_student(session, student_id, principal)
        _refuse(lambda: check_may_mark_ready(principal))
        cycle = await _cycle(session, student, cycle_id)
        plan = await _plan(session, student_id, cycle_id, lock=True)
        if plan is None:
            raise HTTPException(status.HTTP_409_CONFLICT, "the student has not begun a plan")
        # The evidence it presents, and the evidence its reflections are about: a family sees
        # both.
        shown = await _presented(session, student_id, plan.items)
        _refuse(lambda: check_ready(items=len(shown.items), evidence_status=shown.evidence_status))
        if plan.status != "ready":
            plan.sqlmodel_update(
                {"status": "ready", "ready_by": principal.subject, "ready_at": utcnow()}
            )
            session.add(plan)
            await session.flush()
            record_event(
                session,
                PlanReady(
                    plan_id=plan.id,
                    student_id=student_id,
                    cycle_id=cycle_id,
                    items=len(plan.items),
                    ready_by=principal.subject,
                    guardian_ids=await linked_guardians(session, student_id),
                ),
                subject=student_id,
                district=student.district,
                site=student.site,
            )
        follow_up = await _follow_up(session, student_id, cycle)
    return _out(plan, student_id=student_id, cycle_id=cycle_id, follow_up=follow_up)


@router.get(
    "/students/{student_id}/plans/{cycle_id}/presentation",
    response_model=Presentation,
    responses=refusals(404),
)
async def present(
    student_id: IdPath, cycle_id: IdPath, principal: CurrentPrincipal, uow: UnitOfWorkDep
) -> Presentation:
    """The plan in order, one step at a time, with what to show: for the student leading the
    conference from a tablet (families: once ready)."""
    async with uow.read() as session:
        student = await visible_student(session, student_id, principal)
        await _cycle(session, student, cycle_id)
        plan = await _plan(session, student_id, cycle_id)
        if plan is None or not visible_to(principal, status=plan.status):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no conference plan ready yet")
        shown = await _presented(session, student_id, plan.items)
    steps: list[Step] = []
    if plan.opening:
        steps.append(Step(number=1, kind="opening", say=plan.opening, content={}))
    for item in shown.items:
        row = shown.rows[item["type"], item["id"]]
        # (The reviews of the work presented: each item's own, or its reflection's.)
        if shown_to(principal, item["type"], row, shown.evidence_status):
            steps.append(
                Step(
                    number=len(steps) + 1,
                    kind=item["type"],
                    say=item.get("say"),
                    content=_content(item["type"], row, student_id),
                )
            )
    if plan.questions:
        steps.append(
            Step(
                number=len(steps) + 1,
                kind="questions",
                content={"questions": list(plan.questions)},
            )
        )
    if principal.role is Role.GUARDIAN:
        return Presentation(
            student_id=student_id, cycle_id=cycle_id, status=plan.status, steps=steps
        )
    return Presentation(
        student_id=student_id,
        cycle_id=cycle_id,
        status=plan.status,
        steps=steps,
        ready_refused=ready_refused(items=len(shown.items), evidence_status=shown.evidence_status),
        not_approved=not_approved(shown.evidence_status),
        left_out=shown.left_out,
    )


def _refuse(check: Any) -> None:
    try:
        check()
    except PlanRefused as error:
        if error.code is not None:
            raise refused(error.status, str(error), error.code) from error
        raise HTTPException(error.status, str(error)) from error


async def _cycle(session: AsyncSession, student: Student, cycle_id: str) -> ConferenceCycle:
    cycle = await session.get(ConferenceCycle, cycle_id)
    if cycle is None or cycle.site != student.site:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no conference cycle {cycle_id!r} at the student's site"
        )
    return cycle


async def _plan(
    session: AsyncSession, student_id: str, cycle_id: str, *, lock: bool = False
) -> ConferencePlan | None:
    query = select(ConferencePlan).where(
        ConferencePlan.student_id == student_id, ConferencePlan.cycle_id == cycle_id
    )
    return (await session.exec(query.with_for_update() if lock else query)).first()


async def _check_items(session: AsyncSession, student_id: str, items: list[PlanItem]) -> None:
    """Every item is the student's own; evidence returned for improvement is left out."""
    seen: set[tuple[str, str]] = set()
    found = await _rows(session, student_id, [item.model_dump() for item in items])
    for item in items:
        key = (item.type, item.id)
        if key in seen:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, f"{item.type} {item.id!r} is in twice"
            )
        seen.add(key)
        row = found.get(key)
        if row is None:
            raise unprocessable(
                f"no {item.type} {item.id!r} in this student's portfolio", "not_in_portfolio"
            )
        if is_left_out(item.type, status=getattr(row, "status", None)):
            raise unprocessable(
                f"evidence {item.id!r} was returned for improvement: improve it first",
                "returned_work",
            )


async def _rows(
    session: AsyncSession, student_id: str, items: list[dict[str, Any]]
) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for kind, model in MODELS.items():
        ids = sorted({item["id"] for item in items if item["type"] == kind})
        if ids:
            rows = (
                await session.exec(
                    select(model).where(col(model.id).in_(ids), model.student_id == student_id)
                )
            ).all()
            found.update({(kind, row.id): row for row in rows})
    return found


async def _presented(
    session: AsyncSession, student_id: str, items: list[dict[str, Any]]
) -> Presented:
    found = await _rows(session, student_id, items)
    states = await _evidence_status(session, student_id, sorted(evidence_shown(items, found)))
    return presented(items, found, states)


async def _evidence_status(
    session: AsyncSession, student_id: str, ids: list[str]
) -> dict[str, str]:
    if not ids:
        return {}
    rows = (
        await session.exec(
            select(Evidence.id, Evidence.status).where(
                col(Evidence.id).in_(ids), Evidence.student_id == student_id
            )
        )
    ).all()
    return dict(rows)


async def _follow_up(session: AsyncSession, student_id: str, cycle: ConferenceCycle) -> list[str]:
    """Goals set before this cycle that are still active: the student follows them up."""
    rows = (
        await session.exec(
            select(Goal.id, Goal.created_at)
            .where(Goal.student_id == student_id, Goal.status == "active")
            .order_by(col(Goal.created_at))
        )
    ).all()
    zone = await site_zone(session, cycle.site)
    return [goal_id for goal_id, created in rows if school_day(created, zone) < cycle.starts_on]


def _content(kind: str, row: Any, student_id: str) -> dict[str, Any]:
    if kind == "evidence":
        files = f"/students/{student_id}/evidence/{row.id}"
        return {
            "id": row.id,
            "title": row.title,
            "kind": row.kind,
            "text": row.text,
            "url": row.url,
            "file_kind": row.file_kind,
            "file": f"{files}/file" if row.file_key else None,
            "thumbnail": f"{files}/thumbnail" if row.thumbnail_key else None,
        }
    if kind == "reflection":
        return {
            "id": row.id,
            "evidence_id": row.evidence_id,
            **{
                prompt: getattr(row, prompt)
                for prompt in ("glows", "grows", "learned", "hard", "next_steps")
            },
            # (Said aloud: at /students/{id}/reflections/{reflection}/recording.)
            "spoken": row.spoken if row.recording_key else None,
        }
    return {"id": row.id, "title": row.title, "area": row.area, "status": row.status}


def _out(
    plan: ConferencePlan | None, *, student_id: str, cycle_id: str, follow_up: list[str]
) -> PlanOut:
    if plan is None:
        return PlanOut(
            id=None,
            student_id=student_id,
            cycle_id=cycle_id,
            status="draft",
            follow_up_goals=follow_up,
        )
    return PlanOut(
        id=plan.id,
        student_id=student_id,
        cycle_id=cycle_id,
        opening=plan.opening,
        items=[PlanItem.model_validate(item) for item in plan.items],
        questions=list(plan.questions),
        status=plan.status,
        ready_by=plan.ready_by,
        ready_at=plan.ready_at,
        follow_up_goals=follow_up,
    )
