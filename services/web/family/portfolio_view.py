"""What portfolio says of a child (goals, approved evidence, reflections, the ready plan), as
the family's portfolio page shows it. What the student wrote is kept as they wrote it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.web.service_api import is_id
from services.web.written_times import written_date

# The prompts of a reflection, in the order the page asks them.
PROMPTS = ("glows", "grows", "learned", "hard", "next_steps")
# Goals a family follows; a revised goal lives on in its revision, a dropped one is over.
SHOWN_GOALS = ("active", "achieved")


@dataclass(frozen=True)
class ProgressView:
    note: str
    percent: int | None
    step: str | None
    recorded: str


@dataclass(frozen=True)
class GoalView:
    goal_id: str
    title: str
    area: str
    status: str
    target_date: str | None
    percent: int | None
    progress: list[ProgressView]


@dataclass(frozen=True)
class ReflectionView:
    language: str
    answers: list[tuple[str, str]]  # (a prompt said aloud only: its words "")
    spoken: str | None = None  # the prompt said aloud
    recording: str | None = None  # where the page plays it from


@dataclass(frozen=True)
class EvidenceView:
    evidence_id: str
    title: str
    kind: str
    file_kind: str | None
    text: str | None
    url: str | None
    has_file: bool
    has_preview: bool
    learning_area: str | None
    added: str
    reflections: list[ReflectionView] = field(default_factory=list)


@dataclass(frozen=True)
class PlanStep:
    kind: str
    say: str | None
    title: str | None
    answers: list[tuple[str, str]]
    questions: list[str]
    spoken: str | None = None
    recording: str | None = None

    @property
    def reflection(self) -> ReflectionView:
        """Its reflection, as a reflection is shown (``_reflection.html.j2``)."""
        return ReflectionView("", self.answers, self.spoken, self.recording)


@dataclass(frozen=True)
class PlanView:
    cycle_name: str
    steps: list[PlanStep]


def goal_views(goals: Any, *, language: str, timezone: str | None) -> list[GoalView]:
    """The child's active and achieved goals, each with its latest progress first."""
    if not isinstance(goals, list):
        return []
    shown = []
    for goal in goals:
        if goal.get("status") not in SHOWN_GOALS:
            continue
        progress = [
            ProgressView(
                note=str(step["note"]),
                percent=step.get("percent"),
                step=step.get("step"),
                recorded=_written(step["created_at"], language=language, timezone=timezone),
            )
            for step in goal.get("progress", [])
        ]
        shown.append(
            GoalView(
                goal_id=str(goal["id"]),
                title=str(goal["title"]),
                area=str(goal["area"]),
                status=str(goal["status"]),
                target_date=goal.get("target_date"),
                # (A goal reached is all of the way, whatever its last step said.)
                percent=100
                if goal.get("status") == "achieved"
                else next((p.percent for p in progress if p.percent is not None), None),
                progress=progress,
            )
        )
    return shown


@dataclass(frozen=True)
class GoalGrowthView:
    title: str
    reached: bool
    percent: int | None


@dataclass(frozen=True)
class CycleGrowthView:
    """One conference cycle (a term) at a glance: its goals and how each went, how much work
    and reflection."""

    name: str
    goals: list[GoalGrowthView]
    pieces: int
    reflections: int


def growth_views(growth: Any, *, today: date) -> list[CycleGrowthView]:
    """Each cycle begun by ``today`` (the school's), oldest first (portfolio's
    ``GET /students/{id}/growth``), from the first with anything in it (the terms before the
    child came are not theirs); the goals a family follows (``SHOWN_GOALS``). What portfolio
    says in another shape is left out."""
    shown: list[CycleGrowthView] = []
    for one in growth if isinstance(growth, list) else []:
        term = _term(one, today=today)
        if term is not None and (shown or term.goals or term.pieces or term.reflections):
            shown.append(term)
    return shown


def _term(one: Any, *, today: date) -> CycleGrowthView | None:
    cycle = one.get("cycle") if isinstance(one, dict) else None
    if not isinstance(cycle, dict) or not cycle.get("name"):
        return None
    try:
        if date.fromisoformat(str(cycle.get("starts_on"))) > today:
            return None
    except ValueError:
        return None
    goals = one.get("goals")
    return CycleGrowthView(
        name=str(cycle["name"]),
        goals=[
            GoalGrowthView(
                title=str(goal.get("title") or ""),
                reached=goal.get("status") == "achieved",
                percent=goal["latest_percent"]
                if isinstance(goal.get("latest_percent"), int)
                else None,
            )
            for goal in (goals if isinstance(goals, list) else [])
            if isinstance(goal, dict) and goal.get("status") in SHOWN_GOALS
        ],
        pieces=_count(one.get("evidence")),
        reflections=_count(one.get("reflections")),
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def reflection_view(reflection: dict[str, Any], *, recordings: str) -> ReflectionView:
    """A reflection as portfolio gives it; one said aloud played from under ``recordings``
    (the page's own address for them, e.g. ``/student/reflections``)."""
    spoken, recording = spoken_of(reflection, recordings=recordings)
    return ReflectionView(
        language=str(reflection.get("language") or ""),
        answers=answers_of(reflection),
        spoken=spoken,
        recording=recording,
    )


def answers_of(reflection: dict[str, Any]) -> list[tuple[str, str]]:
    """Each prompt answered, in words or aloud (its words then ""), in the prompts' order."""
    return [
        (prompt, str(reflection.get(prompt) or ""))
        for prompt in PROMPTS
        if reflection.get(prompt) or reflection.get("spoken") == prompt
    ]


def spoken_of(reflection: dict[str, Any], *, recordings: str) -> tuple[str | None, str | None]:
    """The prompt a reflection answers aloud, and the address the page plays it from under
    ``recordings`` (none for a reflection only written)."""
    spoken, reflection_id = reflection.get("spoken"), reflection.get("id")
    if spoken not in PROMPTS or not isinstance(reflection_id, str) or not is_id(reflection_id):
        return None, None
    return str(spoken), f"{recordings}/{reflection_id}/recording"


def evidence_views(
    pieces: Any, reflections: Any, *, language: str, timezone: str | None, recordings: str
) -> list[EvidenceView]:
    """The pieces the family may see (portfolio gives a family approved ones only), newest
    first, each with what the student reflected on it."""
    if not isinstance(pieces, list):
        return []
    on_piece: dict[str, list[ReflectionView]] = {}
    for reflection in reflections if isinstance(reflections, list) else []:
        if reflection.get("evidence_id"):
            on_piece.setdefault(str(reflection["evidence_id"]), []).append(
                reflection_view(reflection, recordings=recordings)
            )
    return [
        EvidenceView(
            evidence_id=str(piece["id"]),
            title=str(piece["title"]),
            kind=str(piece["kind"]),
            file_kind=piece.get("file_kind"),
            text=piece.get("text"),
            url=_web_address(piece.get("url")),
            has_file=bool(piece.get("file_path")),
            has_preview=bool(piece.get("thumbnail_path")),
            learning_area=piece.get("learning_area"),
            added=_written(piece["added_at"], language=language, timezone=timezone),
            reflections=on_piece.get(str(piece["id"]), []),
        )
        for piece in pieces
        if piece.get("status") == "approved"
    ]


def term_reflections(reflections: Any, *, recordings: str) -> list[ReflectionView]:
    """Reflections on the term as a whole (not on one piece)."""
    if not isinstance(reflections, list):
        return []
    return [
        reflection_view(one, recordings=recordings)
        for one in reflections
        if not one.get("evidence_id")
    ]


def plan_view(presentation: Any, *, cycle_name: str, recordings: str) -> PlanView | None:
    """The ready plan, step by step, as the student will lead it."""
    if not isinstance(presentation, dict) or presentation.get("status") != "ready":
        return None
    steps = []
    for step in presentation.get("steps", []):
        content = step.get("content") or {}
        spoken, recording = spoken_of(content, recordings=recordings)
        steps.append(
            PlanStep(
                kind=str(step["kind"]),
                say=step.get("say"),
                title=content.get("title"),
                answers=answers_of(content) if step.get("kind") == "reflection" else [],
                questions=[str(q) for q in content.get("questions", [])],
                spoken=spoken,
                recording=recording,
            )
        )
    return PlanView(cycle_name=cycle_name, steps=steps)


def _written(moment: str, *, language: str, timezone: str | None) -> str:
    """The date on the school's clock."""
    return written_date(datetime.fromisoformat(moment), timezone=timezone, language=language)


def _web_address(url: Any) -> str | None:
    """A link only if it is a web address (portfolio accepts nothing else)."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
