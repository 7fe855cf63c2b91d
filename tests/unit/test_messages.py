"""Family messages: language choice, templates, and dates written the family's way."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, UndefinedError, meta

from services.notifications.messages import (
    FALLBACK_LANGUAGE,
    SUPPORTED_LANGUAGES,
    TEMPLATES,
    message_language,
    render,
)

REQUIRED_TEMPLATES = ("goal_set", "conference_booked", "conference_cancelled")
OTHER_LANGUAGES = [language for language in SUPPORTED_LANGUAGES if language != "en"]

# 02:30 UTC on 5 November 2024 is 18:30 on Monday 4 November in Los Angeles (PST, UTC-8).
EVENING_IN_CALIFORNIA = datetime(2024, 11, 5, 2, 30, tzinfo=UTC)


def template_names(language: str) -> set[str]:
    return {path.name for path in (TEMPLATES / language).iterdir() if path.is_file()}


def context_for(template: str) -> dict[str, Any]:
    common: dict[str, Any] = {"student": "Ana", "guardian": "Rosa"}
    specific: dict[str, dict[str, Any]] = {
        "goal_set": {"goal": "Read every night", "target_date": date(2025, 3, 1)},
        "conference_booked": {
            "starts_at": EVENING_IN_CALIFORNIA,
            "minutes": 20,
            "room": "B12",
            "interpreter": None,
        },
        "conference_cancelled": {"starts_at": EVENING_IN_CALIFORNIA, "reason": None},
    }
    return common | specific[template]


# --- Choosing the language -------------------------------------------------------------------


def test_english_and_spanish_are_supported() -> None:
    assert {"en", "es"} <= set(SUPPORTED_LANGUAGES)
    assert FALLBACK_LANGUAGE == "en"


@pytest.mark.parametrize(
    ("preferred", "chosen"),
    [
        ("es", "es"),
        ("es-MX", "es"),
        ("es_MX", "es"),
        ("ES-mx", "es"),
        ("es-419", "es"),
        ("en", "en"),
        ("en-GB", "en"),
        ("fr", "en"),
        ("fr-CA", "en"),
        ("zz", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_message_language(preferred: str | None, chosen: str) -> None:
    assert message_language(preferred) == chosen


# --- Templates -------------------------------------------------------------------------------


def test_required_templates_exist_in_english() -> None:
    assert {f"{name}.txt.j2" for name in REQUIRED_TEMPLATES} <= template_names("en")


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_english_template_has_a_translation(language: str) -> None:
    missing = template_names("en") - template_names(language)
    assert not missing, f"{language} lacks {sorted(missing)}"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_translations_have_no_templates_english_lacks(language: str) -> None:
    assert template_names(language) <= template_names("en")


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_translations_use_the_same_variables_as_english(language: str) -> None:
    environment = Environment(loader=FileSystemLoader(TEMPLATES))

    def variables(path: str) -> set[str]:
        source = environment.loader.get_source(environment, path)[0]  # type: ignore[union-attr]
        return meta.find_undeclared_variables(environment.parse(source))

    for name in sorted(template_names("en")):
        assert variables(f"{language}/{name}") == variables(f"en/{name}"), name


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("template", REQUIRED_TEMPLATES)
def test_every_template_renders_in_every_language(template: str, language: str) -> None:
    message = render(template, language=language, **context_for(template))
    assert message.language == language
    assert message.subject
    assert "\n" not in message.subject
    assert message.body.strip()
    assert not message.body.startswith("\n")
    assert "Ana" in message.subject + message.body
    for leftover in ("{{", "}}", "{%", "%}"):
        assert leftover not in message.subject + message.body


def test_missing_value_fails_loudly_instead_of_rendering_blank() -> None:
    context = context_for("conference_booked")
    del context["room"]
    with pytest.raises(UndefinedError):
        render("conference_booked", language="en", **context)


# --- What the family reads -------------------------------------------------------------------


def test_unsupported_language_falls_back_to_english() -> None:
    message = render("goal_set", language="fr", **context_for("goal_set"))
    assert message.language == "en"
    assert message.subject == "Ana set a new goal"


def test_regional_spanish_gets_the_spanish_message() -> None:
    message = render("goal_set", language="es-MX", **context_for("goal_set"))
    assert message.language == "es"
    assert message.subject == "Ana se fijó una nueva meta"
    assert message.body.startswith("Hola, Rosa:")
    assert '"Read every night"' in message.body
    assert "Hello" not in message.body


def test_english_message_contains_no_spanish() -> None:
    message = render("goal_set", language="en", **context_for("goal_set"))
    assert message.body.startswith("Hello Rosa,")
    assert "meta" not in message.body
    assert "Hola" not in message.body


def test_date_is_written_in_english() -> None:
    message = render("goal_set", language="en", **context_for("goal_set"))
    assert "(aiming for March 1, 2025)" in message.body


def test_date_is_written_in_spanish() -> None:
    message = render("goal_set", language="es", **context_for("goal_set"))
    assert "(para el 1 de marzo de 2025)" in message.body
    assert "March" not in message.body


def test_goal_without_target_date_leaves_it_out() -> None:
    context = context_for("goal_set") | {"target_date": None}
    message = render("goal_set", language="en", **context)
    assert 'set a new goal: "Read every night".' in message.body
    assert "aiming" not in message.body


def test_conference_time_is_shown_in_the_schools_time_zone_in_english() -> None:
    message = render(
        "conference_booked",
        language="en",
        timezone="America/Los_Angeles",
        **context_for("conference_booked"),
    )
    assert "Monday, November 4, 2024, 6:30" in message.subject
    assert "PM" in message.subject
    assert "Tuesday" not in message.body
    assert "2:30" not in message.body


def test_conference_time_is_shown_in_the_schools_time_zone_in_spanish() -> None:
    message = render(
        "conference_booked",
        language="es-MX",
        timezone="America/Los_Angeles",
        **context_for("conference_booked"),
    )
    assert message.language == "es"
    assert (
        message.subject == "Confirmada: conferencia de Ana el lunes, 4 de noviembre de 2024, 18:30"
    )
    assert "Cuándo: lunes, 4 de noviembre de 2024, 18:30 (unos 20 minutos)" in message.body
    assert "Dónde:  B12" in message.body


def test_daylight_saving_time_is_applied() -> None:
    # 01:00 UTC on 10 June 2025 is 18:00 on 9 June in Los Angeles (PDT, UTC-7).
    context = context_for("conference_cancelled") | {
        "starts_at": datetime(2025, 6, 10, 1, 0, tzinfo=UTC)
    }
    message = render(
        "conference_cancelled", language="es", timezone="America/Los_Angeles", **context
    )
    assert "lunes, 9 de junio de 2025, 18:00" in message.subject


def test_time_zone_defaults_to_utc() -> None:
    message = render("conference_cancelled", language="es", **context_for("conference_cancelled"))
    assert "martes, 5 de noviembre de 2024, 2:30" in message.subject


def test_interpreter_line_appears_only_when_requested() -> None:
    without = render("conference_booked", language="en", **context_for("conference_booked"))
    assert "Interpreter" not in without.body
    context = context_for("conference_booked") | {"interpreter": "es"}
    with_interpreter = render("conference_booked", language="en", **context)
    assert "Interpreter: requested (es)" in with_interpreter.body
    in_spanish = render("conference_booked", language="es", **context)
    assert "Intérprete: solicitado (es)" in in_spanish.body


def test_cancellation_reason_appears_only_when_given() -> None:
    without = render("conference_cancelled", language="en", **context_for("conference_cancelled"))
    assert "Reason" not in without.body
    context = context_for("conference_cancelled") | {"reason": "Teacher is ill"}
    english = render("conference_cancelled", language="en", **context)
    assert "Reason: Teacher is ill" in english.body
    spanish = render("conference_cancelled", language="es", **context)
    assert "Motivo: Teacher is ill" in spanish.body
    assert spanish.subject.startswith("Cancelada:")


def test_student_text_is_not_interpreted_as_a_template() -> None:
    context = context_for("goal_set") | {"goal": "Learn {{ guardian }} and {% raw %}"}
    message = render("goal_set", language="en", **context)
    assert '"Learn {{ guardian }} and {% raw %}"' in message.body


@pytest.mark.parametrize(
    "name",
    [
        "Zed\nBcc: evil@example.com",
        "Zed\r\nSubject: You won",
        "Zed\u2028Bcc: evil@example.com",
        "Zed\x85Bcc: evil@example.com",  # NEL, a C1 line break
        "\u202eZed",  # a bidi override reordering what follows
    ],
    ids=["lf", "crlf", "line-separator", "nel", "bidi-override"],
)
def test_no_field_can_change_a_messages_structure(name: str) -> None:
    """Finding: a student's given_name of "Zed\\nBcc: evil@example.com" became the subject
    `Zed`, and the body began `Bcc: evil@example.com`. Only the template makes lines."""
    honest = render(
        "conference_cancelled",
        language="en",
        timezone="UTC",
        student="Zed",
        guardian="Wei Chen",
        starts_at=datetime(2030, 12, 9, 23, 0, tzinfo=UTC),
        reason="a\nReason: forged\n\nhttp://evil.example",
    )
    forged = render(
        "conference_cancelled",
        language="en",
        timezone="UTC",
        student=name,
        guardian="Wei Chen",
        starts_at=datetime(2030, 12, 9, 23, 0, tzinfo=UTC),
        reason="a\nReason: forged\n\nhttp://evil.example",
    )
    assert forged.subject.startswith("Cancelled: Zed")
    assert "\n" not in forged.subject
    assert forged.body.count("\n") == honest.body.count("\n")
    assert not any(line.startswith(("Bcc:", "Subject:")) for line in forged.body.splitlines())
    assert "Reason: a Reason: forged http://evil.example" in forged.body
    assert "\u202e" not in forged.subject + forged.body
