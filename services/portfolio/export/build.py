"""Writing a portfolio as a zip: an HTML page per cycle that opens offline (no request leaves
the file), the work's files beside them, and everything as JSON for another system."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import IO, Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from services.portfolio.cycles.queries import school_day

_pages = Environment(
    loader=PackageLoader("services.portfolio.export", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    keep_trailing_newline=True,
)

NO_CYCLE = "Other work"


@dataclass
class Portfolio:
    """Everything the person downloading may see, as plain rows (dicts)."""

    student: dict[str, Any]
    cycles: list[dict[str, Any]]
    goals: list[dict[str, Any]]
    progress: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    reflections: list[dict[str, Any]]
    plans: list[dict[str, Any]]
    feedback: list[dict[str, Any]]
    # evidence or reflection id -> the stored file (a reflection's: its recording)
    files: Mapping[str, bytes] = field(default_factory=dict)

    def stored_keys(self) -> list[tuple[str, str | None]]:
        """Each piece's and reflection's id, with the key of its file in the store (if any)."""
        return [(piece["id"], piece.get("file_key")) for piece in self.evidence] + [
            (said["id"], said.get("recording_key")) for said in self.reflections
        ]


def write_zip(portfolio: Portfolio, out: IO[bytes]) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        names = _file_names(portfolio)
        for evidence_id, data in portfolio.files.items():
            archive.writestr(names[evidence_id], data)
        pages = _cycle_pages(portfolio)
        for page in pages:
            archive.writestr(page["file"], _render(portfolio, page, pages, names))
        archive.writestr("index.html", _render(portfolio, pages[-1], pages, names, index=True))
        archive.writestr(
            "portfolio.json",
            json.dumps(_data(portfolio), default=_json, ensure_ascii=False, indent=2),
        )


def _file_names(portfolio: Portfolio) -> dict[str, str]:
    names = {}
    for owner, key in portfolio.stored_keys():
        if owner in portfolio.files:
            names[owner] = f"files/{owner}{PurePosixPath(key or '').suffix or '.bin'}"
    return names


def _cycle_pages(portfolio: Portfolio) -> list[dict[str, Any]]:
    """A page per cycle, oldest first, and one for what falls in no cycle (if anything)."""
    pages = [
        {
            "cycle": cycle,
            "title": cycle["name"],
            "file": f"cycle-{number}.html",
            "dates": f"{cycle['starts_on']} to {cycle['ends_on']}",
        }
        for number, cycle in enumerate(portfolio.cycles, start=1)
    ]
    if any(_cycle_of(portfolio, row["at"]) is None for row in _dated(portfolio)) or not pages:
        pages.append({"cycle": None, "title": NO_CYCLE, "file": "other.html", "dates": ""})
    return pages


def _dated(portfolio: Portfolio) -> list[dict[str, Any]]:
    return [
        *({"at": g["created_at"]} for g in portfolio.goals),
        *({"at": e["added_at"]} for e in portfolio.evidence),
        *({"at": r["created_at"]} for r in portfolio.reflections),
    ]


def _day(portfolio: Portfolio, moment: datetime) -> date:
    """The day of ``moment`` on the student's school's calendar."""
    return school_day(moment, ZoneInfo(portfolio.student.get("timezone") or "UTC"))


def _cycle_of(portfolio: Portfolio, moment: datetime) -> dict[str, Any] | None:
    day = _day(portfolio, moment)
    for cycle in portfolio.cycles:
        if cycle["starts_on"] <= day <= cycle["ends_on"]:
            return cycle
    return None


def _in(portfolio: Portfolio, page: dict[str, Any], moment: datetime) -> bool:
    found = _cycle_of(portfolio, moment)
    return (found or {}).get("id") == (page["cycle"] or {}).get("id")


def _render(
    portfolio: Portfolio,
    page: dict[str, Any],
    pages: Sequence[dict[str, Any]],
    names: Mapping[str, str],
    *,
    index: bool = False,
) -> str:
    goals = {g["id"]: g for g in portfolio.goals}
    by_evidence: dict[str, list[dict[str, Any]]] = {}
    for reflection in portfolio.reflections:
        if reflection["evidence_id"]:
            by_evidence.setdefault(reflection["evidence_id"], []).append(reflection)
    cycle_id = (page["cycle"] or {}).get("id")
    plan = next((p for p in portfolio.plans if p["cycle_id"] == cycle_id), None)
    labels = {
        **{("goal", g["id"]): g["title"] for g in portfolio.goals},
        **{("evidence", e["id"]): e["title"] for e in portfolio.evidence},
        **{("reflection", r["id"]): "A reflection" for r in portfolio.reflections},
    }
    return _pages.get_template("cycle.html.j2").render(
        language=portfolio.student.get("language") or "en",
        student_name=f"{portfolio.student['given_name']} {portfolio.student['family_name']}",
        title=page["title"],
        dates=page["dates"],
        cycles=pages if len(pages) > 1 or index else [],
        files=names,
        plan=None
        if plan is None
        else {
            "opening": plan["opening"],
            "questions": plan["questions"],
            "items": [
                {
                    "label": labels.get((item["type"], item["id"]), item["type"]),
                    "say": item.get("say"),
                }
                for item in plan["items"]
            ],
        },
        goals=[
            {
                **goal,
                "set_on": _day(portfolio, goal["created_at"]),
                "progress": [
                    {
                        "on": _day(portfolio, p["created_at"]),
                        "note": p["note"],
                        "percent": p["percent"],
                    }
                    for p in portfolio.progress
                    if p["goal_id"] == goal["id"]
                ],
            }
            for goal in portfolio.goals
            if _in(portfolio, page, goal["created_at"])
        ],
        evidence=[
            {
                **piece,
                "added_on": _day(portfolio, piece["added_at"]),
                "image": names.get(piece["id"]) if piece.get("file_kind") == "image" else None,
                "file": names.get(piece["id"]),
                "reflections": by_evidence.get(piece["id"], []),
            }
            for piece in portfolio.evidence
            if _in(portfolio, page, piece["added_at"])
        ],
        reflections=[
            r
            for r in portfolio.reflections
            if not r["evidence_id"] and _in(portfolio, page, r["created_at"])
        ],
        feedback=[
            {
                **answer,
                "support": [
                    {"goal": goals[goal_id]["title"] if goal_id in goals else goal_id, "text": text}
                    for goal_id, text in answer["goal_support"].items()
                ],
            }
            for answer in portfolio.feedback
            if answer.get("cycle_id") == cycle_id
        ],
    )


def _data(portfolio: Portfolio) -> dict[str, Any]:
    return {
        "student": portfolio.student,
        "cycles": portfolio.cycles,
        "goals": portfolio.goals,
        "goal_progress": portfolio.progress,
        "evidence": [
            {key: value for key, value in piece.items() if key not in ("file_key", "thumbnail_key")}
            for piece in portfolio.evidence
        ],
        "reflections": [
            {key: value for key, value in said.items() if key != "recording_key"}
            for said in portfolio.reflections
        ],
        "conference_plans": portfolio.plans,
        "family_feedback": portfolio.feedback,
    }


def _json(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
