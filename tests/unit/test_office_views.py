"""The office pages' pure parts: the bar charts' geometry and the new-window form's body."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.web.languages import language_name
from services.web.office.charts import WIDTH, bar_chart
from services.web.office.interpreters import _read_languages
from services.web.office.refusals import OfficeRefusal
from services.web.office.window_form import window_body
from services.web.pages import text

MEASURES = ("invited", "booked", "attended", "no_show")


def test_the_largest_number_fills_the_chart_and_the_others_are_in_proportion() -> None:
    chart = bar_chart(
        "teachers",
        [
            ("t-rivera", {"invited": 20, "booked": 15, "attended": 5, "no_show": 0}),
            ("t-cohen", {"invited": 10, "booked": 10, "attended": 0, "no_show": 2}),
        ],
        measures=MEASURES,
    )
    rivera, cohen = chart.rows
    widths = [bar.width for bar in rivera.bars]
    assert widths[0] == WIDTH - 48 and widths[3] == 0
    assert widths[1] == round(widths[0] * 15 / 20) and cohen.bars[0].width == widths[0] // 2
    assert all(bar.number_x == bar.width + 6 for bar in rivera.bars)
    ys = [bar.y for row in chart.rows for bar in row.bars]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)  # (no bar over another)
    assert chart.height > ys[-1] and [key.measure for key in chart.legend] == list(MEASURES)


def test_a_chart_of_nothing_draws_no_bar_longer_than_nothing() -> None:
    chart = bar_chart("classes", [("Room 4", {})], measures=MEASURES)
    assert [bar.width for bar in chart.rows[0].bars] == [0, 0, 0, 0]
    assert bar_chart("classes", [], measures=MEASURES).rows == []


def _form(**changes: str) -> dict[str, str]:
    return {
        "site": "conway",
        "name": "Fall conferences",
        "first_day": "2026-12-08",
        "last_day": "2026-12-10",
        "slot_minutes": "20",
        "buffer_minutes": "5",
        "change_cutoff_minutes": "120",
        "opens_day": "2026-11-30",
        "opens_time": "08:00",
        "closes_day": "2026-12-10",
        "closes_time": "12:00",
    } | changes


def test_the_form_becomes_scheduling_body_with_times_on_the_schools_clock() -> None:
    form, body = window_body(_form(), timezones={"conway": "America/Los_Angeles"})
    assert form.errors == {} and body is not None
    assert body["opens_at"] == "2026-11-30T08:00:00-08:00"
    assert datetime.fromisoformat(body["closes_at"]).utcoffset().total_seconds() == -8 * 3600  # type: ignore[union-attr]
    assert body["early_access_at"] is None and body["cycle_id"] is None
    assert (body["slot_minutes"], body["buffer_minutes"], body["change_cutoff_minutes"]) == (
        20,
        5,
        120,
    )


def test_what_the_form_lacks_is_named_by_field_and_nothing_is_sent() -> None:
    form, body = window_body(
        _form(
            site="mjds",
            name="",
            last_day="10/12/2026",
            slot_minutes="1e3",
            early_day="2026-11-29",
        ),
        timezones={"conway": "America/Los_Angeles"},
    )
    assert body is None
    assert form.errors == {
        "site": OfficeRefusal.SITE_UNKNOWN,
        "name": OfficeRefusal.NAME_MISSING,
        "last_day": OfficeRefusal.DAY_MISSING,
        "slot_minutes": OfficeRefusal.MINUTES_INVALID,
        "early_time": OfficeRefusal.MOMENT_MISSING,
    }
    assert form.values["last_day"] == "10/12/2026"  # (shown again as typed)


def test_a_language_the_cldr_has_no_locale_for_is_still_named() -> None:
    """Hmong, Marshallese, Chuukese, Mam: families' languages that the CLDR has no locale for
    are named by its names of languages, else ISO 639's; only a code nobody names is shown as
    it is."""
    assert [language_name(tag, in_language="es") for tag in ("hmn", "mh", "chk", "mam")] == [
        "hmong",
        "marshalés",
        "trukés",
        "Mam",
    ]
    assert language_name("so", in_language="es") == "somalí"
    assert language_name("qq", in_language="es") == "qq"


def test_the_office_types_an_interpreters_languages_by_name_or_code() -> None:
    """Names in the page's language or English, codes, or both, each language once; a code
    is read as a code first; one word that names nothing refuses the whole list."""
    typed = {
        "es, vi": ["es", "vi"],
        "Spanish, Vietnamese": ["es", "vi"],
        "español; árabe": ["es", "ar"],
        "Haitian  creole, hmn, Mam": ["ht", "hmn", "mam"],
        "Traditional Chinese, es, Spanish": ["zh-Hant", "es"],
        "es vi": ["es", "vi"],
        "es es": ["es"],
        "ga": ["ga"],  # Irish, not the language named Ga (gaa)
        "ES-mx, ZH-hant": ["es-MX", "zh-Hant"],
        "es,": ["es"],
        "": [],
        # A longer word is a name first: Mon is not mon (Mongolian), Twi not twi (Akan).
        "Mon": ["mnw"],
        "Twi": ["tw"],
        # Three-letter codes as their two-letter ones, as scheduling compares them.
        "Lao, spa, ewe": ["lo", "es", "ee"],
        # Names schools use, and names typed without their accents.
        "ASL, Farsi, Mandarin, Karen": ["ase", "fa", "zh", "kar"],
        "espanol, arabe": ["es", "ar"],
    }
    for words, tags in typed.items():
        assert _read_languages(words, reader="es") == (tags, None), words
    # (Read in English only; what was not read is said, to be typed again.)
    assert _read_languages("es, vietnamita", reader="en") == (["es"], "vietnamita")
    for wrong in (
        "Spanish, Klingonese",
        "!!",
        "es, xx-invalid-tag",
        "Spanish and Vietnamese",
        "Spanish Vietnamese",
        "es hmn",  # (a three-letter code among other words: with commas, please)
    ):
        assert _read_languages(wrong, reader="es")[1] is not None, wrong
    assert _read_languages("Spanish,  Klingonese , vi", reader="en")[1] == "Klingonese"


@pytest.mark.parametrize(
    ("language", "said"),
    [("en", "Interpreter asked for or given up"), ("es", "Intérprete pedido o quitado")],
)
def test_the_messages_report_names_an_interpreter_change(language: str, said: str) -> None:
    """A message telling a family of an interpreter asked for or given up is named as such in
    the office's report of messages, not as a conference message of no kind."""
    kind = text(
        "_message_kind.html.j2", language=language, template="conference_interpreter_changed"
    )
    assert kind.strip() == said
