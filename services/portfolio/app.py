"""Portfolio service wiring."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.portfolio import administrators, classes, student_search
from services.portfolio.administrators import sites_administered
from services.portfolio.api import router
from services.portfolio.class_overview import api as class_overview_api
from services.portfolio.classes import sites_taught
from services.portfolio.cycles import api as cycles_api
from services.portfolio.evidence import api as evidence_api
from services.portfolio.export import api as export_api
from services.portfolio.feedback import api as feedback_api
from services.portfolio.feedback.consumers import consumers
from services.portfolio.goals import api as goals_api
from services.portfolio.plans import api as plans_api
from services.portfolio.reflections import api as reflections_api
from services.portfolio.reflections import spoken as spoken_reflections
from services.portfolio.roster_import import uploads as roster_uploads
from services.portfolio.roster_import.job import jobs
from services.portfolio.settings import PortfolioSettings
from shared.events import (
    AdministratorRegistered,
    ClassRegistered,
    ClassRemoved,
    EvidenceAdded,
    EvidenceApproved,
    FamilyFeedbackReceived,
    GoalAchieved,
    GoalDropped,
    GoalProgressed,
    GoalRevised,
    GoalSet,
    GuardianLinked,
    GuardianUnlinked,
    PlanReady,
    ReflectionAdded,
    SiteRegistered,
    StudentEnrolled,
    StudentWithdrawn,
)
from shared.link_revocations import keep_revocation_copy, refuse_replaced_link
from shared.service import ServiceSpec, create_app

# A link the school replaced stops opening the child's portfolio too.
keep_revocation_copy(consumers)

SPEC = ServiceSpec(
    name="portfolio",
    title="Portfolio service",
    description=(
        "Owns the roster and each student's portfolio: evidence, reflections, goals, conference"
        " cycles and plans, and family feedback. Publishes roster and portfolio events; listens"
        " for completed conferences."
    ),
    routers=[
        router,
        classes.router,
        administrators.router,
        class_overview_api.router,
        roster_uploads.router,
        evidence_api.router,
        reflections_api.router,
        spoken_reflections.router,
        goals_api.router,
        cycles_api.router,
        plans_api.router,
        feedback_api.router,
        export_api.router,
        student_search.router,
    ],
    consumers=consumers,
    link_revocation=refuse_replaced_link,
    teacher_sites=sites_taught,
    administrator_sites=sites_administered,
    migrations=Path(__file__).parent / "migrations",
    publishes=[
        SiteRegistered,
        StudentEnrolled,
        StudentWithdrawn,
        GuardianLinked,
        GuardianUnlinked,
        ClassRegistered,
        ClassRemoved,
        AdministratorRegistered,
        GoalSet,
        GoalProgressed,
        GoalAchieved,
        GoalRevised,
        GoalDropped,
        EvidenceAdded,
        EvidenceApproved,
        ReflectionAdded,
        PlanReady,
        FamilyFeedbackReceived,
    ],
    jobs=jobs,
    uploads=lambda settings: {
        r"/roster/imports": settings.roster_upload_max_bytes,
        # A work sample's file and its form fields.
        r"/students/[^/]+/evidence/files": evidence_upload_max_bytes(settings),
        r"/students/[^/]+/evidence/[^/]+/file": evidence_upload_max_bytes(settings),
        # A reflection said aloud, and its form fields.
        r"/students/[^/]+/reflections/spoken": settings.file_max_audio_bytes + 1_000_000,
    },
)


def evidence_upload_max_bytes(settings: PortfolioSettings) -> int:
    """The largest file of any kind, and room for the form around it."""
    largest = max(
        settings.file_max_image_bytes,
        settings.file_max_pdf_bytes,
        settings.file_max_audio_bytes,
        settings.file_max_video_bytes,
    )
    return largest + 1_000_000


def build_app(settings: PortfolioSettings | None = None) -> FastAPI:
    return create_app(SPEC, settings or PortfolioSettings())
