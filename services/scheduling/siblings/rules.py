"""Siblings back to back: one family's conferences, one after another. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise, permutations

from services.scheduling.booking.rules import Invalid

MAX_CHILDREN = 6
# Longest wait between two conferences of a chain (beyond the travel time between sites).
MAX_WAIT = timedelta(minutes=30)


@dataclass(frozen=True)
class ChainTime:
    student_id: str
    site: str
    starts_at: datetime
    ends_at: datetime


def check_chain(times: Sequence[ChainTime], *, travel: timedelta) -> list[ChainTime]:
    """The children's times in order, each beginning when the one before ends (plus the travel
    time when the next is at another school) and at most ``MAX_WAIT`` later."""
    students = [time.student_id for time in times]
    if not 2 <= len(times) <= MAX_CHILDREN:
        raise Invalid(f"siblings back to back are 2 to {MAX_CHILDREN} conferences, one per child")
    if len(set(students)) != len(students):
        raise Invalid("each child appears once in a chain")
    ordered = sorted(times, key=lambda time: time.starts_at)
    for before, after in pairwise(ordered):
        needed = travel if after.site != before.site else timedelta(0)
        gap = after.starts_at - before.ends_at
        if gap < needed:
            if needed:
                raise Invalid(
                    f"{after.student_id}'s conference is at another school and begins"
                    f" {_minutes(gap)} after {before.student_id}'s ends; allow {_minutes(needed)}"
                    " to travel"
                )
            raise Invalid(f"{before.student_id}'s and {after.student_id}'s conferences overlap")
        if gap > needed + MAX_WAIT:
            raise Invalid(
                f"{after.student_id}'s conference begins {_minutes(gap)} after"
                f" {before.student_id}'s ends: not back to back (at most {_minutes(needed + MAX_WAIT)})"
            )
    return ordered


def _minutes(span: timedelta) -> str:
    return f"{int(span.total_seconds() // 60)} minutes"


def find_chains(
    free: Mapping[str, Sequence[ChainTime]], *, travel: timedelta, limit: int = 10
) -> list[list[ChainTime]]:
    """Back-to-back chains through each child's free times (in any order of the children),
    earliest first: for each first time, each next child's earliest time that fits."""
    found: dict[tuple[str, ...], list[ChainTime]] = {}
    for order in permutations(sorted(free)):
        for first in free[order[0]]:
            chain = [first]
            for student_id in order[1:]:
                before = chain[-1]
                fitting = [
                    after for after in free[student_id] if _gap_fits(before, after, travel=travel)
                ]
                if not fitting:
                    break
                chain.append(min(fitting, key=lambda time: time.starts_at))
            if len(chain) == len(order):
                key = tuple(f"{t.student_id}@{t.starts_at.isoformat()}" for t in chain)
                found.setdefault(key, chain)
    return sorted(found.values(), key=lambda chain: chain[0].starts_at)[:limit]


def _gap_fits(before: ChainTime, after: ChainTime, *, travel: timedelta) -> bool:
    needed = travel if after.site != before.site else timedelta(0)
    return needed <= after.starts_at - before.ends_at <= needed + MAX_WAIT
