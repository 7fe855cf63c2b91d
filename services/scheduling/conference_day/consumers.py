"""Events conference day keeps up with: whose conference plan is ready."""

from __future__ import annotations

from collections.abc import Sequence

from services.scheduling.conference_day.tables import PlanReadiness
from shared.environment import Environment
from shared.events import CloudEvent, PlanReady
from shared.messaging.consumer import HandlerContext
from shared.upsert import upsert_if_newer


async def keep_plan_readiness(
    context: HandlerContext[Environment], events: Sequence[CloudEvent[PlanReady]]
) -> None:
    """Note whose conference plan is ready, for the teacher's conference day (the newest
    marking of a student's plan for a cycle wins)."""
    await upsert_if_newer(
        context.session,
        PlanReadiness,
        [
            {
                "student_id": event.data.student_id,
                "cycle_id": event.data.cycle_id,
                "plan_id": event.data.plan_id,
                "ready_at": event.time,
            }
            for event in events
        ],
        key=("student_id", "cycle_id"),
        version="ready_at",
    )
