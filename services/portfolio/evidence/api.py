"""Evidence's HTTP routes, one module per job: adding (text and links; files in ``uploads``),
viewing and downloading, the student's improvements, teachers' review, comments on evidence
and goals, the framework of tags, and each site's review setting."""

from __future__ import annotations

from fastapi import APIRouter

from services.portfolio.evidence import (
    adding,
    comments,
    downloads,
    editing,
    framework,
    review,
    site_settings,
    uploads,
    viewing,
)

router = APIRouter()
for part in (
    adding,
    uploads,
    viewing,
    downloads,
    editing,
    review,
    comments,
    framework,
    site_settings,
):
    router.include_router(part.router)
