"""What portfolio and scheduling say of a student, as the student's pages show it: their work
with its review, their sentence starters, the conference cycle they plan for, their plan's
choices, and the conference one step at a time. What the student wrote stays as they wrote it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from services.web.family.portfolio_view import (
    PROMPTS,
    ReflectionView,
    answers_of,
    reflection_view,
    spoken_of,
)
from services.web.family.view import ended_lately
from services.web.written_times import written_date, written_day, written_span, zone

# What a goal can be about: the page's pictures, and the words portfolio keeps (its `area`).
GOAL_AREAS = ("reading", "writing", "math", "science", "art", "friends")


@dataclass(frozen=True)
class WorkView:
    evidence_id: str
    title: str
    file_kind: str | None
    text: str | None
    status: str
    feedback: str | None
    has_preview: bool
    added: str
    kind: str = "file"

    @property
    def can_fix(self) -> bool:
        return can_fix(self.status, self.kind)


def can_fix(status: Any, kind: Any) -> bool:
    """Whether the student fixes a piece from their pages: a returned photo, recording or file,
    handed in again as a new one (a text or a link, which only a teacher adds, is improved
    through the API)."""
    return status == "returned" and kind == "file"


@dataclass(frozen=True)
class StarterGroup:
    prompt: str
    starters: list[str]


@dataclass(frozen=True)
class Starters:
    language: str
    direction: str
    groups: list[StarterGroup]


@dataclass(frozen=True)
class ConferenceTime:
    day: str
    time: str
    room: str
    virtual: bool
    today: bool
    """On today's date on the school's clock (the page says "Today")."""
    held: bool = False
    """It took place (the teacher recorded it completed): the student led it."""


@dataclass(frozen=True)
class PlanChoice:
    kind: str
    item_id: str
    title: str
    chosen: bool
    say: str
    approved: bool
    follow_up: bool = False
    spoken: str | None = None  # a reflection's prompt said aloud (its words may be none)
    recording: str | None = None  # where the page plays it from
    about: str | None = None  # the name of the work a reflection is about


@dataclass(frozen=True)
class ConferenceStep:
    number: int
    kind: str
    say: str | None
    title: str | None
    text: str | None
    url: str | None
    evidence_id: str | None
    has_file: bool
    image: str | None
    answers: list[tuple[str, str]]
    questions: list[str]
    file_kind: str | None = None  # its work's file: `image`, `audio` (played in the page), ...
    spoken: str | None = None  # the prompt its reflection answers aloud
    recording: str | None = None  # where the page plays it from
    # The work the step shows, or its reflection is about (a teacher checks it is approved).
    about_evidence: str | None = None
    work_status: str | None = None  # that work's review, where the page knows it

    @property
    def reflection(self) -> ReflectionView:
        """Its reflection, as a reflection is shown (``_reflection.html.j2``)."""
        return ReflectionView("", self.answers, self.spoken, self.recording)


def work_views(pieces: Any, *, language: str, timezone: str | None) -> list[WorkView]:
    """The student's pieces, newest first, each with where its review stands."""
    if not isinstance(pieces, list):
        return []
    return [work_view(piece, language=language, timezone=timezone) for piece in pieces]


def work_view(piece: dict[str, Any], *, language: str, timezone: str | None) -> WorkView:
    """One piece as portfolio gives it, as the student's pages show it."""
    return WorkView(
        evidence_id=str(piece["id"]),
        title=str(piece["title"]),
        file_kind=piece.get("file_kind"),
        text=piece.get("text"),
        status=str(piece.get("status", "")),
        feedback=piece.get("feedback"),
        has_preview=bool(piece.get("thumbnail_path")),
        added=written_date(
            datetime.fromisoformat(piece["added_at"]), timezone=timezone, language=language
        ),
        kind=str(piece.get("kind", "file")),
    )


# Where the student's pages play their reflections said aloud from.
STUDENT_RECORDINGS = "/student/reflections"


def reflections_by_piece(reflections: Any, *, recordings: str) -> dict[str, list[ReflectionView]]:
    """The student's reflections on their pieces, by the piece each is about (newest first, as
    portfolio gives them); those on the term as a whole are left out."""
    by_piece: dict[str, list[ReflectionView]] = {}
    for reflection in reflections if isinstance(reflections, list) else []:
        if reflection.get("evidence_id"):
            by_piece.setdefault(str(reflection["evidence_id"]), []).append(
                reflection_view(reflection, recordings=recordings)
            )
    return by_piece


def starters_view(starters: Any) -> Starters | None:
    """The starters, prompt by prompt (none if portfolio gave none)."""
    if not isinstance(starters, dict) or not isinstance(starters.get("starters"), dict):
        return None
    groups = [
        StarterGroup(prompt, [str(one) for one in starters["starters"].get(prompt) or []])
        for prompt in PROMPTS
    ]
    return Starters(
        language=str(starters.get("language") or ""),
        direction="rtl" if starters.get("direction") == "rtl" else "ltr",
        groups=[group for group in groups if group.starters],
    )


def conference_times(
    conferences: Any, *, language: str, timezone: str | None, now: datetime
) -> list[ConferenceTime]:
    """The student's conferences still to come or under way, and those they led in the last
    two weeks (``ended_lately``), in time order."""
    if not isinstance(conferences, list):
        return []
    shown = []
    for conference in conferences:
        status = conference.get("status")
        starts = datetime.fromisoformat(conference["starts_at"])
        ends = datetime.fromisoformat(conference["ends_at"])
        held = status == "completed"
        if status not in ("booked", "checked_in") and not (held and ended_lately(ends, now=now)):
            continue
        school = conference.get("timezone") or timezone
        clock = zone(school)
        shown.append(
            ConferenceTime(
                day=written_day(starts, timezone=school, language=language),
                time=written_span(starts, ends, timezone=school, language=language),
                room=str(conference.get("room") or ""),
                virtual=conference.get("mode") == "virtual",
                today=starts.astimezone(clock).date() == now.astimezone(clock).date(),
                held=held,
            )
        )
    return shown


def current_cycle(cycles: Any, *, today: date) -> dict[str, Any] | None:
    """The cycle the student plans for: the one under way today, else the next to begin, else
    the last one."""
    if not isinstance(cycles, list) or not cycles:
        return None
    by_start = sorted(cycles, key=lambda cycle: str(cycle["starts_on"]))
    for cycle in by_start:
        if str(cycle["starts_on"]) <= today.isoformat() <= str(cycle["ends_on"]):
            return dict(cycle)
    coming = [cycle for cycle in by_start if str(cycle["starts_on"]) > today.isoformat()]
    return dict(coming[0] if coming else by_start[-1])


def plan_choices(
    plan: dict[str, Any], *, pieces: Any, reflections: Any, goals: Any, recordings: str
) -> list[PlanChoice]:
    """Everything the student can put in their plan, what is in it first (in its order), each
    with what they will say; a reflection with the work it is about and, said aloud, played
    from under ``recordings`` (several may start "I am proud of"). Work returned for
    improvement cannot be shown; goals reached or still active can."""
    titles = {
        str(piece["id"]): str(piece["title"])
        for piece in (pieces if isinstance(pieces, list) else [])
        if isinstance(piece, dict)
    }
    in_plan = {(item["type"], item["id"]): item for item in plan.get("items") or []}
    found: dict[tuple[str, str], PlanChoice] = {}
    for piece in pieces if isinstance(pieces, list) else []:
        if piece.get("status") != "returned":
            found["evidence", str(piece["id"])] = _choice(
                in_plan, "evidence", piece, str(piece["title"]), piece.get("status") == "approved"
            )
    for reflection in reflections if isinstance(reflections, list) else []:
        words = next((str(reflection[p]) for p in PROMPTS if reflection.get(p)), "")
        spoken, recording = spoken_of(reflection, recordings=recordings)
        found["reflection", str(reflection["id"])] = replace(
            _choice(in_plan, "reflection", reflection, words, True),
            spoken=spoken,
            recording=recording,
            about=titles.get(str(reflection.get("evidence_id"))),
        )
    for goal in goals if isinstance(goals, list) else []:
        if goal.get("status") in ("active", "achieved"):
            found["goal", str(goal["id"])] = _choice(
                in_plan, "goal", goal, str(goal["title"]), True
            )
    for goal_id in plan.get("follow_up_goals") or []:
        if (key := ("goal", str(goal_id))) in found:
            found[key] = replace(found[key], follow_up=True)
    first = [found.pop(key) for key in in_plan if key in found]
    return first + list(found.values())


def _choice(
    in_plan: dict[tuple[str, str], Any], kind: str, row: dict[str, Any], title: str, ok: bool
) -> PlanChoice:
    item = in_plan.get((kind, str(row["id"])))
    return PlanChoice(
        kind=kind,
        item_id=str(row["id"]),
        title=title,
        chosen=item is not None,
        say=str((item or {}).get("say") or ""),
        approved=ok,
    )


def conference_steps(presentation: Any, *, recordings: str) -> list[ConferenceStep]:
    """The plan step by step, as the student leads it (a reflection said aloud played from
    under ``recordings``)."""
    if not isinstance(presentation, dict):
        return []
    steps = []
    for number, step in enumerate(presentation.get("steps") or [], start=1):
        content = step.get("content") or {}
        evidence_id = str(content["id"]) if step.get("kind") == "evidence" else None
        # A photo is shown whole on the tablet (portfolio cleaned it when it was added).
        photo = evidence_id and content.get("file_kind") == "image" and content.get("file")
        reflection = step.get("kind") == "reflection"
        spoken, recording = (
            spoken_of(content, recordings=recordings) if reflection else (None, None)
        )
        steps.append(
            ConferenceStep(
                number=number,
                kind=str(step.get("kind")),
                say=step.get("say"),
                title=content.get("title"),
                text=content.get("text"),
                url=_web_address(content.get("url")),
                evidence_id=evidence_id,
                has_file=bool(evidence_id and content.get("file")),
                image="file" if photo else None,
                file_kind=str(content["file_kind"])
                if evidence_id and content.get("file_kind")
                else None,
                answers=answers_of(content) if reflection else [],
                questions=[str(q) for q in content.get("questions") or []],
                spoken=spoken,
                recording=recording,
                about_evidence=evidence_id
                or (str(content["evidence_id"]) if content.get("evidence_id") else None),
            )
        )
    return steps


def _web_address(url: Any) -> str | None:
    """A link only if it is a web address (portfolio accepts nothing else)."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
