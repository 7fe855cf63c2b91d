"""The event reference in docs/ is the one the code writes."""

from pathlib import Path

from shared.events.reference import render_reference

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_event_reference_matches_the_contract() -> None:
    assert (DOCS / "events.md").read_text() == render_reference(), (
        "docs/events.md is stale: python -m shared.events.reference > docs/events.md"
    )
