"""Conference times: made from availability blocks, and as callers see them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from services.scheduling.tables import Slot
from services.scheduling.windows.rules import BlockPlan, Mode, meeting_link, plan_slots
from services.scheduling.windows.tables import AvailabilityBlock, ConferenceWindow
from shared.database import new_id


class SlotOut(BaseModel):
    id: str
    site: str
    window_id: str | None
    room: str
    timezone: str | None = Field(description="The site's IANA time zone.")
    teacher_id: str
    starts_at: datetime
    ends_at: datetime
    format: str = Field(description="`one_family`, `stations` or `drop_in`.")
    mode: str = Field(description="`in_person` or `virtual`.")
    capacity: int
    booked: int
    seats_left: int
    status: str = Field(description="`open`, or `cancelled` (by the school).")


def slot_out(slot: Slot) -> SlotOut:
    return SlotOut(
        **slot.model_dump(exclude={"district", "block_id", "meeting_link"}),
        seats_left=slot.capacity - slot.booked,
    )


async def open_block_slots(
    session: AsyncSession,
    *,
    window: ConferenceWindow,
    block: AvailabilityBlock,
    plan: BlockPlan,
    meeting_link_template: str | None,
) -> list[Slot]:
    """Make the block's conference times (the caller has checked the block)."""
    slots = []
    for span in plan_slots(
        plan, slot_minutes=window.slot_minutes, buffer_minutes=window.buffer_minutes
    ):
        slot_id = new_id()
        slots.append(
            Slot(
                id=slot_id,
                district=window.district,
                site=window.site,
                teacher_id=block.teacher_id,
                room=block.room,
                timezone=window.timezone,
                starts_at=span.starts_at,
                ends_at=span.ends_at,
                capacity=block.capacity,
                window_id=window.id,
                block_id=block.id,
                format=block.format,
                mode=block.mode,
                meeting_link=(
                    meeting_link(meeting_link_template, slot_id=slot_id)
                    if plan.mode is Mode.VIRTUAL and meeting_link_template
                    else None
                ),
            )
        )
    session.add_all(slots)
    await session.flush()
    return slots
