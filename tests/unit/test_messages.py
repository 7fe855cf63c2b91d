"""Family messages: language choice, every message in every language, dates written the
family's way in the site's time zone, and what the school or a student wrote left as written."""

# Chinese is written with full-width punctuation (colon, comma, brackets), as the messages are.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from jinja2 import UndefinedError

from services.notifications.email import build_email
from services.notifications.messages import (
    FALLBACK_LANGUAGE,
    SUPPORTED_LANGUAGES,
    TEMPLATES,
    Authored,
    Days,
    LanguageName,
    Names,
    OfficeWords,
    message_language,
    render,
)
from services.notifications.sms_text import segments
from services.notifications.tables import Delivery
from shared.translations import language_name, right_to_left
from tests.notifications_support import queued_message

LOS_ANGELES = "America/Los_Angeles"
# 02:30 UTC on Wednesday 9 December 2026 is 18:30 on Tuesday 8 December in Los Angeles (PST).
TUESDAY_EVENING = datetime(2026, 12, 9, 2, 30, tzinfo=UTC)
# 16:00 UTC on 1 December 2026 is 8:00 in Los Angeles; 8:00 UTC on 7 December is midnight.
MONDAY_MORNING = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
BOOKING_CLOSES = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
LINK = "https://slc.example.org/family?link=abc.def.ghi"

TUESDAY = {"en": "Tuesday", "es": "martes", "vi": "Thứ Ba", "zh-Hans": "星期二", "ar": "الثلاثاء"}
WEDNESDAY = {
    "en": "Wednesday",
    "es": "miércoles",
    "vi": "Thứ Tư",
    "zh-Hans": "星期三",
    "ar": "الأربعاء",
}
# A place for the time of day in each language's own notation.
EVENING = {"en": "6:30", "es": "18:30", "vi": "18:30", "zh-Hans": "18:30", "ar": "6:30"}
QUOTED = {
    "en": '"{}"',
    "es": '"{}"',
    "vi": "\u201c{}\u201d",
    "zh-Hans": "\u201c{}\u201d",
    "ar": "\u00ab{}\u00bb",
}

CONTEXTS: dict[str, dict[str, Any]] = {
    "booking_reminder": {
        "children": Names(("Ana",)),
        "waiting": Names(("Leo",)),
        "closes_at": TUESDAY_EVENING,
        "link": LINK,
    },
    # (The title and description of a conference's calendar invitation: not a message, but
    # written in the family's language as one.)
    "conference_calendar": {
        "teacher": "Ms. Rivera",
        "room": "B12, Conway Elementary",
        "station": 2,
        "interpreter": LanguageName("vi"),
    },
    "conference_booked": {
        "starts_at": TUESDAY_EVENING,
        "minutes": 20,
        "room": "B12",
        "interpreter": LanguageName("vi"),
        "link": LINK,
    },
    "conference_booked_from_waitlist": {
        "starts_at": TUESDAY_EVENING,
        "minutes": 20,
        "room": "B12",
        "interpreter": None,
        "link": LINK,
    },
    "conference_cancelled": {
        "starts_at": TUESDAY_EVENING,
        "reason": "Ms. Rivera is ill",
        "waitlisted": True,
        "teacher": "Ms. Rivera",
        "link": LINK,
    },
    "conference_interpreter_changed": {
        "starts_at": TUESDAY_EVENING,
        "minutes": 20,
        "room": "B12",
        "by_school": True,
        "interpreter": LanguageName("es"),
        "previous_interpreter": LanguageName("vi"),
        "link": LINK,
    },
    "conference_invitation": {
        "children": Names(("Ana", "Leo")),
        "several": True,
        "booked": [],
        "to_choose": Names(("Ana", "Leo")),
        "window": "Fall 2026 SLCs at Conway",
        "days": Days(date(2026, 12, 8), date(2026, 12, 10)),
        "opens_at": MONDAY_MORNING,
        "closes_at": TUESDAY_EVENING,
        "early_access_at": None,
        "open_now": False,
        "link": LINK,
    },
    "conference_moved": {
        "starts_at": TUESDAY_EVENING,
        "previous_starts_at": MONDAY_MORNING,
        "minutes": 20,
        "room": "B12",
        "by_school": True,
        "reason": "Ms. Rivera is at a training",
        "interpreter": LanguageName("vi"),
        "link": LINK,
    },
    "conference_reminder": {
        "starts_at": TUESDAY_EVENING,
        "minutes": 20,
        "room": "Library",
        "interpreter": LanguageName("ar"),
        "link": LINK,
    },
    "family_link_reissued": {"expires_at": TUESDAY_EVENING, "link": LINK},
    "feedback_requested": {"link": LINK},
    "goal_set": {"goal": "Read every night", "target_date": date(2026, 12, 8)},
    "no_show_new_time": {"starts_at": TUESDAY_EVENING, "link": LINK},
    "portfolio_digest": {
        "children": Names(("Ana", "Leo")),
        "items": [
            {"student": "Ana", "kind": "goal_set", "title": Authored("Read 20 minutes a night")},
            {"student": "Leo", "kind": "goal_achieved", "title": Authored("Count to 100")},
            {"student": "Ana", "kind": "evidence_approved", "title": Authored("My volcano")},
            {"student": "Leo", "kind": "reflection_added", "title": Authored("My volcano")},
            {"student": "Leo", "kind": "reflection_spoken", "title": None},
        ],
        "link": LINK,
    },
    "waitlist_joined": {
        "day": date(2026, 12, 8),
        "part_of_day": "evening",
        "teacher": "Ms. Rivera",
        "interpreter": LanguageName("vi"),
        "by_school": True,
        "link": LINK,
    },
    "sms_help": {
        "sender": "Conway Elementary",
        "school": "Conway Elementary",
        "phone": "(503) 555-0100",
    },
    "sms_started": {"sender": "Conway Elementary"},
    "sms_stopped": {"sender": "Conway Elementary"},
}
DATED = sorted(name for name, context in CONTEXTS.items() if "starts_at" in context)


def message_names() -> list[str]:
    return sorted(
        path.name.removesuffix(".txt.j2")
        for path in TEMPLATES.glob("*.txt.j2")
        if not path.name.startswith("_")  # partials
    )


def rendered(template: str, language: str | None, **changes: Any) -> Any:
    context = {"student": "Ana", "guardian": "Rosa Díaz"} | CONTEXTS[template] | changes
    if template.startswith("sms_"):
        context = CONTEXTS[template] | changes
    return render(template, language=language, timezone=LOS_ANGELES, **context)


# --- Choosing the language -------------------------------------------------------------------


def test_five_languages_english_first_among_equals() -> None:
    assert SUPPORTED_LANGUAGES == ("ar", "en", "es", "vi", "zh-Hans")
    assert FALLBACK_LANGUAGE == "en"


@pytest.mark.parametrize(
    ("preferred", "chosen"),
    [
        ("es", "es"),
        ("es-MX", "es"),
        ("es_MX", "es"),
        ("ES-mx", "es"),
        ("es-419", "es"),
        ("vi", "vi"),
        ("vi-VN", "vi"),
        ("ar", "ar"),
        ("ar-EG", "ar"),
        ("ar_SA", "ar"),
        ("zh", "zh-Hans"),
        ("zh-CN", "zh-Hans"),
        ("zh-SG", "zh-Hans"),
        ("zh-Hans", "zh-Hans"),
        ("zh-hans", "zh-Hans"),
        ("zh-Hans-CN", "zh-Hans"),
        ("zh_Hans", "zh-Hans"),
        ("zh-TW", "en"),  # Traditional Chinese: we have no catalog for it
        ("zh-Hant", "en"),
        ("zh-Hant-TW", "en"),
        ("zh-HK", "en"),
        ("zh-MO", "en"),
        ("en", "en"),
        ("en-GB", "en"),
        ("fr", "en"),
        ("fr-CA", "en"),
        ("zz", "en"),
        ("-", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_message_language(preferred: str | None, chosen: str) -> None:
    assert message_language(preferred) == chosen


# --- Every message in every language ---------------------------------------------------------


def test_every_message_has_a_render_test() -> None:
    assert sorted(CONTEXTS) == message_names()


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_every_message_renders_in_every_language(template: str, language: str) -> None:
    message = rendered(template, language)
    text = message.subject + "\n" + message.body
    assert message.language == language
    assert message.subject.strip() and "\n" not in message.subject
    if template.startswith("sms_"):
        assert message.body == ""  # a text message is its first line
        assert "Conway Elementary" in message.subject
    else:
        assert "Ana" in message.subject + message.body
        assert message.body.strip() and not message.body.startswith("\n")
        assert not message.body.endswith("\n\n")
    for leftover in ("{{", "}}", "{%", "%}", "%(", "None"):
        assert leftover not in text, (leftover, text)
    if "link" in CONTEXTS.get(template, {}):
        assert LINK in message.body.splitlines()  # on a line of its own


@pytest.mark.parametrize("language", sorted(set(SUPPORTED_LANGUAGES) - {"en"}))
@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_no_english_sentence_is_left_in_a_translation(template: str, language: str) -> None:
    english = rendered(template, "en")
    translated = rendered(template, language)
    assert translated.subject != english.subject
    translated_lines = set(translated.body.splitlines())
    for line in english.body.splitlines():
        if len(line) > 20 and line != LINK:
            assert line not in translated_lines, line


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("template", DATED)
def test_times_are_written_the_familys_way_in_the_sites_time_zone(
    template: str, language: str
) -> None:
    message = rendered(template, language)
    assert TUESDAY[language] in message.subject + message.body
    assert EVENING[language] in message.subject + message.body
    # Not the UTC day (Wednesday) or time (02:30).
    assert WEDNESDAY[language] not in message.subject + message.body
    assert "2:30" not in message.subject + message.body


@pytest.mark.parametrize(
    ("language", "subject"),
    [
        ("en", "Reminder: Ana's conference on Tuesday, December 8, 2026, 6:30\u202fPM"),
        ("es", "Recordatorio: conferencia de Ana el martes, 8 de diciembre de 2026, 18:30"),
        ("vi", "Nhắc lịch: buổi họp của Ana vào 18:30 Thứ Ba, 8 tháng 12, 2026"),
        ("zh-Hans", "提醒：Ana的家长会（2026年12月8日星期二 18:30）"),
        ("ar", "تذكير: لقاء Ana يوم الثلاثاء، 8 ديسمبر 2026، 6:30 م"),
    ],
)
def test_conference_reminder(language: str, subject: str) -> None:
    message = rendered("conference_reminder", language)
    assert message.subject == subject
    assert "Library" in message.body


def test_conference_reminder_in_english() -> None:
    message = rendered("conference_reminder", "en")
    assert "  When:  Tuesday, December 8, 2026, 6:30\u202fPM (about 20 minutes)" in message.body
    assert "  Where: Library" in message.body
    assert "  Interpreter: Arabic" in message.body
    assert "change or cancel your time, you can do it here" in message.body
    without = rendered("conference_reminder", "en", link=None, interpreter=None)
    assert "please contact the school office" in without.body
    assert "Interpreter" not in without.body


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "Thank you for coming to Ana's conference. How did it go?"),
        ("es", "Gracias por venir a la conferencia de Ana. ¿Cómo le fue?"),
        ("vi", "Cảm ơn quý vị đã đến dự buổi họp của Ana."),
        ("zh-Hans", "感谢您参加Ana的家长会。"),
        ("ar", "شكرًا لحضوركم لقاء Ana."),
    ],
)
def test_feedback_requested(language: str, words: str) -> None:
    message = rendered("feedback_requested", language)
    assert words in message.body
    without = rendered("feedback_requested", language, link=None)
    assert "https://" not in without.body


def test_waitlist_joined_says_what_the_family_waits_for() -> None:
    message = rendered("waitlist_joined", "en")
    assert message.subject == "On the waiting list: Ana's conference"
    assert "As you asked the school, Ana is on the waiting list" in message.body
    for line in (
        "  Day: December 8, 2026",
        "  Time of day: evening (from 5 pm)",
        "  Teacher: Ms. Rivera",
        "  Interpreter: Vietnamese",
    ):
        assert line in message.body.splitlines(), message.body
    # Joined from the family's own link, any day, no interpreter, no link to give.
    own = rendered(
        "waitlist_joined",
        "en",
        day=None,
        part_of_day="any",
        interpreter=None,
        by_school=False,
        link=None,
    )
    assert own.body.splitlines()[2] == "Ana is on the waiting list for a student-led conference."
    assert "  Time of day: any" in own.body.splitlines()
    assert "Day:" not in own.body and "Interpreter" not in own.body
    assert "please contact the school office" in own.body
    assert "free now" not in message.body
    # Joined while a time that fits was free: told it may rather choose one now.
    free = rendered("waitlist_joined", "en", free_now=True)
    assert "Some times that suit you are free now" in free.body
    spanish = rendered("waitlist_joined", "es")
    assert "lista de espera" in spanish.subject and "8 de diciembre de 2026" in spanish.body


def test_portfolio_digest_has_a_line_for_each_item() -> None:
    message = rendered("portfolio_digest", "en")
    assert message.subject == "News from Ana and Leo's portfolios"
    assert message.body.splitlines()[4:7] == [
        '- Ana set a new goal: "Read 20 minutes a night"',
        '- Leo reached a goal: "Count to 100"',
        '- Ana\'s teacher approved new work: "My volcano"',
    ]
    one = rendered(
        "portfolio_digest",
        "en",
        children=Names(("Ana",)),
        items=CONTEXTS["portfolio_digest"]["items"][:1],
    )
    assert one.subject == "News from Ana's portfolio"
    assert len([line for line in one.body.splitlines() if line.startswith("- ")]) == 1


@pytest.mark.parametrize(
    ("language", "lines"),
    [
        ("es", ["- Ana se fijó una nueva meta: ", "- Leo alcanzó una meta: "]),
        ("vi", ["- Ana vừa đặt ra một mục tiêu mới: ", "- Leo đã đạt được một mục tiêu: "]),
        ("zh-Hans", ["- Ana设定了一个新目标：", "- Leo实现了一个目标："]),
        ("ar", ["- لدى Ana هدف جديد: ", "- تحقّق أحد أهداف Leo: "]),
    ],
)
def test_portfolio_digest_items_are_translated_by_kind(language: str, lines: list[str]) -> None:
    body = rendered("portfolio_digest", language).body
    assert lines[0] + QUOTED[language].format("Read 20 minutes a night") in body
    assert lines[1] + QUOTED[language].format("Count to 100") in body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("template", ["sms_help", "sms_started", "sms_stopped"])
def test_text_message_replies_stay_short(template: str, language: str) -> None:
    """A carrier sends them as they are: a few parts at most, in any language."""
    assert segments(rendered(template, language).subject).parts <= 3


# --- Plurals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
@pytest.mark.parametrize("template", ["conference_invitation", "portfolio_digest"])
def test_the_subject_of_a_large_family_with_long_names_fits_and_is_cut_at_a_word(
    template: str, language: str
) -> None:
    """Three children of 100-character names: on PostgreSQL a longer subject than the column
    holds failed the whole chunk of invitations, other families' too."""
    names = tuple(f"{first} " + "Abcdefghij " * 9 for first in ("Ana", "Leo", "Mia"))
    message = rendered(template, language, children=Names(tuple(n.strip() for n in names)))
    limit = Delivery.model_fields["subject"].metadata[0].max_length
    assert len(message.subject) <= limit
    if len(message.subject) == limit:
        assert message.subject.endswith("…") and not message.subject.endswith(" …")
    assert "Ana" in message.subject


@pytest.mark.parametrize(
    ("language", "one", "two"),
    [
        ("en", "Invitation: Ana's student-led conference", "Invitation: Ana and Leo's student-"),
        ("es", "Invitación: conferencia dirigida por Ana", "conferencias dirigidas por Ana y Leo"),
        ("ar", "دعوة لحضور لقاء Ana", "دعوة لحضور لقاء كلٍّ من Ana وLeo"),
    ],
)
def test_an_invitation_for_several_children_says_so(language: str, one: str, two: str) -> None:
    single = rendered("conference_invitation", language, children=Names(("Ana",)))
    several = rendered("conference_invitation", language)
    assert single.subject.startswith(one) and not several.subject.startswith(one)
    assert two in several.subject


# The lines an invitation has for children the school booked before it was written, and for
# choosing a time for the others, in each language (what ``test_catalogs`` cannot see: that the
# template picks the right ones).
BOOKED_ALREADY = {
    "en": ("Ana's conference is already booked", "Choose a time for Leo here", "To see, change"),
    "es": ("La conferencia de Ana ya está reservada", "Elija un horario para Leo", "Para verla"),
    "vi": ("Buổi họp của Ana đã được đặt lịch", "Xin chọn giờ cho Leo", "Để xem, đổi"),
    "zh-Hans": ("Ana的家长会已预约", "请在此为Leo选择时间", "如需查看"),
    "ar": ("لقاء Ana محجوز بالفعل", "اختاروا موعد لقاء Leo", "لرؤية الموعد"),
}


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_an_invitation_names_the_children_already_booked_and_asks_for_the_others(
    language: str,
) -> None:
    booked, choose, see = BOOKED_ALREADY[language]
    ana = [{"student": "Ana", "starts_at": TUESDAY_EVENING, "past": False}]
    some = rendered("conference_invitation", language, booked=ana, to_choose=Names(("Leo",)))
    assert booked in some.body and choose in some.body and see not in some.body, some.body
    assert rendered("conference_invitation", language, booked=ana).subject == some.subject

    alone = rendered(
        "conference_invitation", language, children=Names(("Ana",)), booked=ana, to_choose=Names(())
    )
    assert booked in alone.body and see in alone.body, alone.body
    assert choose.split("Leo")[0] not in alone.body, "nobody left to choose a time for"
    nothing_to_book = rendered("conference_invitation", "en", booked=ana, to_choose=Names(()))
    assert "Booking opens" not in nothing_to_book.body
    assert LINK in alone.body, "the family's link, to see, change or cancel it"
    held = rendered(
        "conference_invitation",
        language,
        children=Names(("Ana",)),
        booked=[ana[0] | {"past": True}],
        to_choose=Names(()),
    )
    assert booked not in held.body and "Ana" in held.body, held.body


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "Because you have more than one child at our schools, you may book from"),
        ("es", "Como tiene más de un hijo/a en nuestras escuelas, puede reservar desde el"),
        ("vi", "Vì quý vị có nhiều hơn một con"),
        ("zh-Hans", "由于您有不止一个孩子在我们学校就读"),
        ("ar", "لأن لديكم أكثر من طفل في مدارسنا"),
    ],
)
def test_a_family_with_several_children_is_told_when_its_early_access_begins(
    language: str, words: str
) -> None:
    early = rendered(
        "conference_invitation", language, early_access_at=MONDAY_MORNING - timedelta(days=1)
    )
    assert words in early.body
    assert words not in rendered("conference_invitation", language).body


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(1, "(نحو دقيقة واحدة)"), (2, "(نحو دقيقتين)"), (5, "(نحو 5 دقائق)"), (20, "(نحو 20 دقيقة)")],
)
def test_arabic_counts_minutes_in_all_its_plural_forms(minutes: int, words: str) -> None:
    message = rendered("conference_booked", "ar", minutes=minutes)
    assert words in message.body


# --- Dates, lists and values -----------------------------------------------------------------


def test_days_and_names_are_written_the_familys_way() -> None:
    assert "Ana and Leo" in rendered("conference_invitation", "en").subject
    assert "Dec 8\u2009\u2013\u200910, 2026" in rendered("conference_invitation", "en").body
    spanish = rendered("conference_invitation", "es")
    assert "Ana y Leo" in spanish.subject and "8\u201310 de diciembre de 2026" in spanish.body
    # (Spanish writes "e" for "and" before a name said with /i/.)
    isabel = rendered("conference_invitation", "es", children=Names(("Ana", "Isabel")))
    assert "Ana e Isabel" in isabel.subject, isabel.subject
    assert "Ana和Leo" in rendered("conference_invitation", "zh-Hans").subject
    assert "Ana và Leo" in rendered("conference_invitation", "vi").subject


def test_date_is_written_in_each_language() -> None:
    assert "(aiming for December 8, 2026)" in rendered("goal_set", "en").body
    assert "(para el 8 de diciembre de 2026)" in rendered("goal_set", "es").body
    assert "2026年12月8日" in rendered("goal_set", "zh-Hans").body
    assert "8 ديسمبر 2026" in rendered("goal_set", "ar").body


def test_conference_time_in_spanish_keeps_its_layout() -> None:
    message = rendered("conference_booked", "es-MX")
    assert (
        message.subject == "Confirmada: conferencia de Ana el martes, 8 de diciembre de 2026, 18:30"
    )
    assert "  Cuándo: martes, 8 de diciembre de 2026, 18:30 (unos 20 minutos)" in message.body
    assert "  Dónde:  B12" in message.body


def test_daylight_saving_time_is_applied() -> None:
    # 01:00 UTC on 10 June 2025 is 18:00 on 9 June in Los Angeles (PDT, UTC-7).
    message = rendered(
        "conference_cancelled", "es", starts_at=datetime(2025, 6, 10, 1, 0, tzinfo=UTC)
    )
    assert "lunes, 9 de junio de 2025, 18:00" in message.subject


def test_time_zone_defaults_to_utc() -> None:
    message = render(
        "conference_cancelled",
        language="es",
        student="Ana",
        guardian="Rosa",
        starts_at=TUESDAY_EVENING,
        reason=None,
        waitlisted=False,
        link=None,
    )
    assert "miércoles, 9 de diciembre de 2026, 2:30" in message.subject


def test_missing_value_fails_loudly_instead_of_rendering_blank() -> None:
    context = {"student": "Ana", "guardian": "Rosa"} | CONTEXTS["conference_booked"]
    del context["room"]
    for language in SUPPORTED_LANGUAGES:
        with pytest.raises(UndefinedError):
            render("conference_booked", language=language, **context)


def test_interpreter_line_appears_only_when_one_is_booked() -> None:
    without = rendered("conference_booked", "en", interpreter=None)
    assert "Interpreter" not in without.body
    # The language asked for is named in the family's language, not by its code.
    assert "Interpreter: Vietnamese" in rendered("conference_booked", "en").body
    assert "Intérprete: vietnamita" in rendered("conference_booked", "es").body
    assert "المترجم الفوري: العربية" in rendered("conference_reminder", "ar").body
    # Languages the CLDR has no locale for are named too (Hmong by the CLDR, Mam by ISO 639);
    # a code nobody names is shown as it is.
    hmong = rendered("conference_booked", "es", interpreter=LanguageName("hmn"))
    assert "Intérprete: hmong" in hmong.body
    mam = rendered("conference_booked", "en", interpreter=LanguageName("mam"))
    assert "Interpreter: Mam" in mam.body
    assert (
        "Interpreter: qq\n"
        in rendered("conference_booked", "en", interpreter=LanguageName("qq")).body
    )


def test_cancellation_reason_appears_only_when_given() -> None:
    without = rendered("conference_cancelled", "en", reason=None)
    assert "Reason" not in without.body
    assert 'Reason: "Ms. Rivera is ill"' in rendered("conference_cancelled", "en").body
    spanish = rendered("conference_cancelled", "es")
    assert 'Motivo: "Ms. Rivera is ill"' in spanish.body
    assert spanish.subject.startswith("Cancelada:")


@pytest.mark.parametrize(
    ("template", "with_link", "without_link"),
    [
        (
            "conference_booked_from_waitlist",
            "you can change or cancel it here (this link is just for you",
            "If this time does not work for you, please contact the school office.",
        ),
        (
            "conference_moved",
            "choose another here (this link is just for you",
            "If the new time does not work for you, please contact the school office.",
        ),
        (
            "conference_cancelled",
            "You can book another time here (this link is just for you",
            "To book another time, please contact the school office.",
        ),
        ("conference_booked", "To change or cancel it (this link is just for you", ""),
        (
            "conference_interpreter_changed",
            "To change or cancel it (this link is just for you",
            "If you have a question, please contact the school office.",
        ),
    ],
)
def test_a_conference_message_comes_with_the_familys_link(
    template: str, with_link: str, without_link: str
) -> None:
    """A booking, or a time the waitlist gave, or the school moved or cancelled: the message
    carries the family's link to change it or choose another; with no link to give, one the
    family did not choose points to the office (a confirmation just says nothing of it)."""
    linked = rendered(template, "en")
    assert with_link in linked.body and LINK in linked.body.splitlines()
    unlinked = rendered(template, "en", link=None)
    assert "link" not in unlinked.body and with_link not in unlinked.body
    if without_link:
        assert without_link in unlinked.body
    else:
        assert "school office" not in unlinked.body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_a_move_the_family_made_comes_with_their_link_and_its_interpreter(language: str) -> None:
    moved = rendered("conference_moved", language, by_school=False, reason=None)
    assert LINK in moved.body.splitlines()
    assert "(vi)" not in moved.body  # (the language by its name)
    if language == "en":
        assert "To change or cancel it again (this link is just for you" in moved.body
        assert "Interpreter: Vietnamese" in moved.body
        assert "sorry" not in moved.body
    without = rendered("conference_moved", language, by_school=False, reason=None, link=None)
    assert without.body.count("\n") < moved.body.count("\n")
    assert "Interpreter" not in rendered("conference_moved", "en", interpreter=None).body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_a_move_or_an_interpreter_change_says_what_an_earlier_change_did(language: str) -> None:
    """A move that leaves the family's interpreter out says so; an interpreter change that
    overtook a move says the time changed: in every language, the language and the time
    named."""
    dropped = rendered(
        "conference_moved", language, interpreter=None, dropped_interpreter=LanguageName("vi")
    )
    kept = rendered("conference_moved", language, interpreter=None)
    assert len(dropped.body.splitlines()) == len(kept.body.splitlines()) + 1
    vietnamese = language_name("vi", in_language=language)
    assert vietnamese in dropped.body and vietnamese not in kept.body
    changed = rendered(
        "conference_interpreter_changed", language, previous_starts_at=MONDAY_MORNING
    )
    same = rendered("conference_interpreter_changed", language)
    assert len(changed.body.splitlines()) == len(same.body.splitlines()) + 1
    for text in (dropped.body, changed.body):
        for leftover in ("{{", "%(", "None", "(vi)"):
            assert leftover not in text, (leftover, text)
    if language == "en":
        assert "  Interpreter: none any more (it was Vietnamese)\n" in dropped.body
        assert "  (Its time has changed too: it was Tuesday, December 1, 2026, 8:00" in changed.body


INTERPRETER_CHANGES = {
    "school_booked": {"by_school": True, "previous_interpreter": None},
    "school_changed": {"by_school": True},
    "school_gave_up": {"by_school": True, "interpreter": None},
    "family_booked": {"by_school": False, "previous_interpreter": None},
    "family_changed": {"by_school": False},
    "family_gave_up": {"by_school": False, "interpreter": None},
}


@pytest.mark.parametrize("link", [LINK, None], ids=["link", "no-link"])
@pytest.mark.parametrize("change", sorted(INTERPRETER_CHANGES))
@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_an_interpreter_change_is_told_in_every_language(
    language: str, change: str, link: str | None
) -> None:
    """Asked for, changed to another language or given up, by the family or the school: each
    says so in the family's language, the interpreter named by its name, nothing left over."""
    values = {**INTERPRETER_CHANGES[change], "link": link}
    message = rendered("conference_interpreter_changed", language, **values)
    text = message.subject + "\n" + message.body
    assert message.language == language
    assert "Ana" in message.subject and "\n" not in message.subject
    assert message.body.strip() and not message.body.endswith("\n\n")
    assert "\n\n\n" not in message.body
    for leftover in ("{{", "}}", "{%", "%}", "%(", "None", "(es)", "(vi)"):
        assert leftover not in text, (leftover, text)
    assert (LINK in message.body.splitlines()) == (link is not None)
    if language != "en":
        english = rendered("conference_interpreter_changed", "en", **values)
        assert message.subject != english.subject
        for line in english.body.splitlines():
            if len(line) > 20 and line != LINK:
                assert line not in message.body.splitlines(), line


def test_an_interpreter_change_in_english() -> None:
    changed = rendered("conference_interpreter_changed", "en", by_school=False)
    assert changed.subject == "Interpreter: Spanish at Ana's conference"
    assert (
        "Your change is confirmed: an interpreter in Spanish will be at Ana's student-led"
        " conference.\n"
    ) in changed.body
    assert "  Where: B12\n  Interpreter: Spanish\n  (It was Vietnamese.)\n" in changed.body
    assert "To change or cancel it (this link is just for you" in changed.body
    asked = rendered("conference_interpreter_changed", "en", previous_interpreter=None)
    assert "The school has booked an interpreter in Spanish for Ana's student-led" in asked.body
    assert "It was" not in asked.body
    given_up = rendered(
        "conference_interpreter_changed", "en", by_school=False, interpreter=None, link=None
    )
    assert given_up.subject == "No interpreter at Ana's conference"
    assert "Your change is confirmed: Ana's student-led conference will have no interpreter." in (
        given_up.body
    )
    assert "Interpreter:" not in given_up.body and "Vietnamese" not in given_up.body
    assert "school office" not in given_up.body  # (the family's own change)
    assert given_up.body.rstrip().endswith("(about 20 minutes)\n  Where: B12")
    by_school = rendered("conference_interpreter_changed", "en", interpreter=None, link=None)
    assert "The school has changed Ana's student-led conference: it will have no interpreter." in (
        by_school.body
    )
    assert by_school.body.rstrip().endswith(
        "If you have a question, please contact the school office."
    )
    video = rendered("conference_interpreter_changed", "en", virtual=True, teacher="Ms. Rivera")
    assert "  Where: a video call (join it from your family's page)\n" in video.body
    assert "  Teacher: Ms. Rivera\n  Interpreter: Spanish\n" in video.body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_a_reminder_to_book_tells_a_family_on_the_waitlist_where_it_stands(language: str) -> None:
    """A child on the waitlist is not asked to choose a time as if nothing was done: the family
    reads that a time opening up is booked for them, and that another may be chosen."""
    waiting_only = rendered("booking_reminder", language, children=Names(()))
    both = rendered("booking_reminder", language)
    nobody_waiting = rendered("booking_reminder", language, waiting=Names(()))
    assert "Leo" in waiting_only.subject and "Ana" not in waiting_only.subject
    assert waiting_only.subject != nobody_waiting.subject.replace("Ana", "Leo")
    assert "Ana" in both.subject and "Leo" not in both.subject
    assert "Leo" in both.body and "Leo" not in nobody_waiting.body
    assert LINK in waiting_only.body.splitlines()
    if language == "en":
        assert waiting_only.subject == "Still on the waiting list: Leo's conference"
        assert "Leo is on the waiting list: when a time that suits you opens up, it is booked" in (
            both.body
        )
        assert "There is still time to book" not in waiting_only.body


def test_a_family_the_school_cancelled_hears_it_is_first_on_the_waitlist() -> None:
    assert "You are first on Ms. Rivera's waiting list: when a time opens up, it is booked" in (
        rendered("conference_cancelled", "en").body
    )
    unnamed = rendered("conference_cancelled", "en", teacher=None).body
    assert "You are first on the waiting list: when a time opens up" in unnamed
    assert "lista de espera de Ms. Rivera" in rendered("conference_cancelled", "es").body
    assert "waiting list" not in rendered("conference_cancelled", "en", waitlisted=False).body


def test_a_move_the_family_made_is_confirmed_without_reason_or_apology() -> None:
    message = rendered("conference_moved", "vi", by_school=False)
    assert "đã được xác nhận" in message.body
    assert "xin lỗi" not in message.body and "Lý do" not in message.body


def test_english_message_contains_no_spanish() -> None:
    message = rendered("goal_set", "en")
    assert message.body.startswith("Hello Rosa Díaz,")
    assert "meta" not in message.body and "Hola" not in message.body


def test_greetings_in_a_schools_register() -> None:
    assert rendered("goal_set", "es").body.startswith("Hola, Rosa Díaz:")
    assert rendered("goal_set", "vi").body.startswith("Kính gửi Quý phụ huynh Rosa Díaz,")
    assert rendered("goal_set", "zh-Hans").body.startswith("尊敬的Rosa Díaz，您好！")
    assert rendered("goal_set", "ar").body.startswith("مرحبًا Rosa Díaz،")


# --- What the school or a student wrote ------------------------------------------------------


class Dictionary:
    """A translation service that knows a few sentences (and records what it was asked)."""

    def __init__(self, known: dict[tuple[str, str], str]) -> None:
        self.known = known
        self.asked: list[tuple[str, str | None, str]] = []

    def translate(self, text: str, source_language: str | None, target_language: str) -> str | None:
        self.asked.append((text, source_language, target_language))
        return self.known.get((text, target_language))


def digest(title: Authored, language: str, **options: Any) -> str:
    items = [{"student": "Ana", "kind": "goal_set", "title": title}]
    return rendered(
        "portfolio_digest", language, children=Names(("Ana",)), items=items, **options
    ).body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_authored_words_are_shown_as_written_in_quotes(language: str) -> None:
    body = digest(Authored("Leer 20 minutos cada noche 📚", language="es"), language)
    assert QUOTED[language].format("Leer 20 minutos cada noche 📚") in body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_gettext_never_translates_authored_words(language: str) -> None:
    """A student's goal that happens to be text the catalogs translate stays as written."""
    for words in ("Hello %(guardian)s,", "Where: %(room)s", "Hello {{ guardian }} {% raw %}"):
        body = digest(Authored(words), language)
        assert QUOTED[language].format(words) in body


def test_a_goal_given_as_plain_text_is_shown_as_written_too() -> None:
    assert 'Ana set a new goal: "Read every night" (aiming for' in rendered("goal_set", "en").body
    assert "\u00abRead every night\u00bb" in rendered("goal_set", "ar").body
    goal = rendered("goal_set", "en", goal=Authored("Read every night", language="en"))
    assert goal.body == rendered("goal_set", "en").body


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_a_line_break_in_authored_words_cannot_start_a_new_line(language: str) -> None:
    honest = digest(Authored("Read every night"), language)
    forged = digest(Authored("Read\nSubject: You won\r\n\n- Leo reached a goal"), language)
    assert forged.count("\n") == honest.count("\n")
    assert not any(line.startswith(("Subject:", "- Leo")) for line in forged.splitlines())


def test_without_a_translator_nothing_is_translated() -> None:
    body = digest(Authored("Read 20 minutes a night", language="en"), "es")
    assert '"Read 20 minutes a night"' in body
    assert "original" not in body


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("es", '"Leer 20 minutos cada noche" (original: "Read 20 minutes a night")'),
        ("vi", "“Đọc sách 20 phút mỗi tối” (nguyên văn: “Read 20 minutes a night”)"),
        ("zh-Hans", "“每晚阅读20分钟”（原文：“Read 20 minutes a night”）"),
        ("ar", "«القراءة 20 دقيقة كل ليلة» (النص الأصلي: «Read 20 minutes a night»)"),
    ],
)
def test_a_translation_is_shown_before_the_original(language: str, shown: str) -> None:
    translator = Dictionary(
        {
            ("Read 20 minutes a night", "es"): "Leer 20 minutos cada noche",
            ("Read 20 minutes a night", "vi"): "Đọc sách 20 phút mỗi tối",
            ("Read 20 minutes a night", "zh-Hans"): "每晚阅读20分钟",
            ("Read 20 minutes a night", "ar"): "القراءة 20 دقيقة كل ليلة",
        }
    )
    body = digest(
        Authored("Read 20 minutes a night", language="en"), language, translator=translator
    )
    assert shown in body
    assert translator.asked == [("Read 20 minutes a night", "en", language)]


def test_the_translator_is_not_asked_for_words_already_in_the_familys_language() -> None:
    translator = Dictionary({})
    digest(Authored("Leer cada noche", language="es-MX"), "es", translator=translator)
    digest(Authored("每晚阅读", language="zh-CN"), "zh-Hans", translator=translator)
    digest(Authored("Read every night", language="en-US"), "en", translator=translator)
    assert translator.asked == []
    digest(Authored("Lire chaque soir", language="fr"), "en", translator=translator)
    digest(Authored("每晚閱讀", language="zh-TW"), "zh-Hans", translator=translator)
    digest(Authored("Read every night"), "en", translator=translator)  # language unknown
    assert translator.asked == [
        ("Lire chaque soir", "fr", "en"),
        ("每晚閱讀", "zh-TW", "zh-Hans"),
        ("Read every night", None, "en"),
    ]


def test_a_translator_without_an_answer_leaves_the_words_as_written() -> None:
    translator = Dictionary({("Read every night", "es"): "Read every night"})
    for words in ("Read every night", "Count to 100"):
        body = digest(Authored(words, language="en"), "es", translator=translator)
        assert f'"{words}"' in body and "original" not in body


def test_a_translation_cannot_break_a_line_either() -> None:
    translator = Dictionary({("Read", "es"): "Leer\nSubject: forged"})
    body = digest(Authored("Read", language="en"), "es", translator=translator)
    assert '"Leer Subject: forged" (original: "Read")' in body


# --- Structure -------------------------------------------------------------------------------


def test_student_text_is_not_interpreted_as_a_template() -> None:
    message = rendered("goal_set", "en", goal="Learn {{ guardian }} and {% raw %}")
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
@pytest.mark.parametrize("language", ["en", "ar"])
def test_no_field_can_change_a_messages_structure(name: str, language: str) -> None:
    """Finding: a student's given_name of "Zed\\nBcc: evil@example.com" became the subject
    `Zed`, and the body began `Bcc: evil@example.com`. Only the template makes lines."""
    values: dict[str, Any] = {
        "guardian": "Wei Chen",
        "starts_at": datetime(2030, 12, 9, 23, 0, tzinfo=UTC),
        "reason": "a\nReason: forged\n\nhttp://evil.example",
        "waitlisted": True,
        "teacher": "Ms.\nBcc: evil@example.com",
        "link": None,
    }
    honest = render("conference_cancelled", language=language, student="Zed", **values)
    forged = render("conference_cancelled", language=language, student=name, **values)
    assert "Zed" in forged.subject
    assert "\n" not in forged.subject
    assert forged.body.count("\n") == honest.body.count("\n")
    assert not any(line.startswith(("Bcc:", "Subject:")) for line in forged.body.splitlines())
    assert "\u202e" not in forged.subject + forged.body
    if language == "en":
        assert forged.subject.startswith("Cancelled: Zed")
        assert 'Reason: "a Reason: forged http://evil.example"' in forged.body


# --- As email --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "direction"), [("ar", "rtl"), ("zh-Hans", "ltr"), ("vi", "ltr"), ("en", "ltr")]
)
def test_the_email_is_in_the_familys_language_and_direction(language: str, direction: str) -> None:
    message = rendered("conference_booked", language)
    delivery = queued_message(
        address="rosa@example.org",
        language=message.language,
        subject=message.subject,
        body=message.body,
    )
    email = build_email(delivery, sender="Conway <office@conway.example>", domain="conway.example")
    assert email["Content-Language"] == language
    assert email["Subject"] == message.subject
    html = email.get_body(("html",))
    assert html is not None
    assert f'<html lang="{language}" dir="{direction}">' in html.get_content()
    # The family's link is a link there (its address escaped as HTML writes it).
    written = LINK.replace("&", "&amp;")
    assert f'<a href="{written}" dir="ltr">{written}</a>' in html.get_content()


def test_only_a_line_that_is_an_address_becomes_a_link_in_the_email() -> None:
    body = (
        'Hello,\n\nReason: "see https://evil.example/x"\n'
        'https://school.example/f?link=a"b<c\n  https://school.example/other  '
    )
    delivery = queued_message(address="rosa@example.org", language="en", subject="S", body=body)
    email = build_email(delivery, sender="Conway <office@conway.example>", domain="conway.example")
    html = email.get_body(("html",))
    assert html is not None
    written = html.get_content()
    # (Neither an address inside a sentence nor one with characters no address has.)
    assert written.count("<a href=") == 1
    assert '<a href="https://school.example/other" dir="ltr">' in written
    assert "Reason: &quot;see https://evil.example/x&quot;" in written
    assert "https://school.example/f?link=a&quot;b&lt;c<br>" in written


# --- The school office at the end -----------------------------------------------------------

OFFICE = OfficeWords(
    school="Conway Elementary",
    phone="(503) 555-0100 ext. 2",
    email="office@conway.example.org",
    hours="Monday to Friday, 7:30 am to 4 pm",
)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_each_message_ends_with_the_school_office_in_the_familys_language(language: str) -> None:
    plain = rendered("conference_cancelled", language)
    message = rendered("conference_cancelled", language, office=OFFICE)
    assert message.subject == plain.subject
    assert message.body.startswith(plain.body.rstrip())
    footer = message.body[len(plain.body.rstrip()) :].strip().splitlines()
    assert footer[0] == "--"
    assert "(503) 555-0100 ext. 2, office@conway.example.org" in footer[1]
    assert "Conway Elementary" in footer[1]
    assert "Monday to Friday, 7:30 am to 4 pm" in footer[2]  # (as the office wrote it, quoted)
    # In Arabic the number and address are isolated, reading left to right in the line.
    isolated = "\u2068(503) 555-0100 ext. 2, office@conway.example.org\u2069"
    assert (isolated in footer[1]) == (language == "ar")


def test_right_to_left_languages_are_the_cldrs() -> None:
    assert [right_to_left(tag) for tag in ("ar", "ar-EG", "fa", "he", "ur")] == [True] * 5
    assert [right_to_left(tag) for tag in ("en", "es", "zh-Hans", "vi", "mam", "")] == [False] * 6
