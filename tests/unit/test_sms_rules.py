"""Text messages as carriers count them, the replies carriers require us to obey, and the
provider's callback signatures. Pure."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.family_links import FamilyLinks
from services.notifications.messages import render
from services.notifications.sms import keyword_of, signature, signed_by_provider, sms_text
from services.notifications.sms_text import fit, is_gsm7, segments
from services.notifications.tables import Delivery
from shared.auth.family_links import FamilyLinkIssuer, generate_key_pair
from tests.notifications_support import queued_message

VIETNAMESE = (
    "Nhắc lịch: buổi họp phụ huynh do học sinh dẫn dắt của Minh vào thứ Năm, 10 tháng 12, lúc"
    " 15:30 tại Phòng 4. Xin cảm ơn quý phụ huynh đã dành thời gian đến trường."
)
LINK = " https://slc.example.org/family?link=eyJhbGciOiJFZERTQSJ9.payload.signature"


def test_gsm7_and_ucs2_are_counted_as_carriers_count_them() -> None:
    assert segments("a" * 160).parts == 1
    assert segments("a" * 161).parts == 2 and segments("a" * 306).parts == 2
    assert segments("a" * 307).parts == 3
    assert segments("€" * 80).units == 160 and segments("€" * 80).parts == 1  # extension: 2 each
    assert segments("ắ" * 70).encoding == "UCS-2" and segments("ắ" * 70).parts == 1
    assert segments("ắ" * 71).parts == 2 and segments("ắ" * 134).parts == 2
    assert segments("😀" * 35).units == 70  # outside the BMP: two code units
    assert is_gsm7("Hola, ¿qué tal? Ñoño") and not is_gsm7("Xin chào các bạn")
    assert not is_gsm7("Ñandú")  # GSM-7 has ù, not ú: this Spanish word needs UCS-2


def test_a_long_vietnamese_text_is_shortened_at_a_word_and_keeps_its_link() -> None:
    text = fit(VIETNAMESE, 2, tail=LINK)
    assert text.endswith("…" + LINK)
    assert segments(text).parts <= 2
    kept = text.removesuffix("…" + LINK)
    assert VIETNAMESE.startswith(kept)
    assert VIETNAMESE[len(kept)] == " "  # cut between words, never inside one
    assert fit("Short and sweet", 1, tail=LINK) == "Short and sweet" + LINK


def test_a_gsm7_text_is_shortened_with_a_gsm7_ellipsis() -> None:
    text = fit("word " * 60, 1)
    assert text.endswith("...") and is_gsm7(text) and segments(text).parts == 1


@pytest.mark.parametrize(
    ("body", "keyword"),
    [
        ("STOP", "stop"),
        (" stop ", "stop"),
        ("Unsubscribe", "stop"),
        ("quit.", "stop"),
        ("STOPALL", "stop"),
        ("start", "start"),
        ("UNSTOP", "start"),
        ("help", "help"),
        ("INFO", "help"),
        ("OPTOUT", "stop"),
        ("Revoke", "stop"),
        ("Stop,", "stop"),
        ('"STOP"', "stop"),
        ("stop?", "stop"),
        ("please stop texting", None),
        ("Thanks!", None),
        ("!!!", None),
    ],
)
def test_carrier_keywords(body: str, keyword: str | None) -> None:
    assert keyword_of(body) == keyword


def test_signatures_match_the_providers_published_example() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert signed_by_provider("12345", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not signed_by_provider(
        "12345", url, {**params, "Digits": "9"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )
    assert not signed_by_provider("other", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not signed_by_provider("12345", url, params, "\u00e9t\u00e9")


def test_a_text_is_the_messages_first_line_and_its_link() -> None:
    delivery = queued_message(
        channel="sms",
        address=None,
        language="vi",
        template="conference_invitation",
        subject=VIETNAMESE,
        body="Xin chào,\n\nChọn giờ tại đây:\nhttps://slc.example.org/family?link=abc.def.ghi\n",
    )
    text = sms_text(delivery, max_parts=1)
    assert text.endswith("… https://slc.example.org/family?link=abc.def.ghi")
    assert segments(text).parts == 1


PRIVATE, _PUBLIC = generate_key_pair()
LINKS = FamilyLinks(
    FamilyLinkIssuer(PRIVATE),
    "https://slc.district.example/f?link={token}&lang={language}",
    "https://slc.district.example/l/{code}",
)


def reminder_text(language: str, links: FamilyLinks, *, short: bool) -> tuple[str, Delivery]:
    """A conference reminder with a real family link (some 300 characters), as a text."""
    now = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
    link = links.url(
        guardian_id="g-wei", district="demo", expires_at=now + timedelta(days=30), now=now
    )
    message = render(
        "conference_reminder",
        language=language,
        timezone="America/Los_Angeles",
        student="Minh",
        guardian="Lan",
        starts_at=datetime(2026, 12, 10, 23, 30, tzinfo=UTC),
        minutes=20,
        room="Room 4",
        interpreter=None,
        link=link,
    )
    delivery = queued_message(
        channel="sms", language=language, subject=message.subject, body=message.body
    )
    text = sms_text(delivery, max_parts=3, short_url=links.short_url if short else None)
    return text, delivery


@pytest.mark.parametrize("language", ["en", "es", "vi", "zh-Hans", "ar"])
def test_a_reminder_with_its_link_fits_three_parts_with_its_words_in_every_language(
    language: str,
) -> None:
    """The family's link goes by its short address: the whole subject (when and what) and the
    link fit three parts, in Vietnamese, Chinese and Arabic too."""
    text, delivery = reminder_text(language, LINKS, short=True)
    assert segments(text).parts <= 3, (text, segments(text))
    short = LINKS.short_url(delivery.id)
    assert short is not None and text.endswith(" " + short)
    words = text.removesuffix(" " + short)
    assert words == delivery.subject.translate(str.maketrans("\u202f\u00a0", "  "))
    assert "Minh" in words


def test_an_english_text_is_gsm7_though_babel_writes_a_narrow_space_in_times() -> None:
    text, delivery = reminder_text("en", LINKS, short=True)
    assert "\u202f" in delivery.subject  # (3:30\u202fPM)
    assert is_gsm7(text) and segments(text).encoding == "GSM-7"


def test_without_short_addresses_a_text_keeps_its_words_and_its_whole_link() -> None:
    """A link too long for the parts alone: the words are not cut to nothing for it."""
    text, delivery = reminder_text("vi", LINKS, short=False)
    assert "Minh" in text and "f?link=eyJ" in text
    assert text.startswith(delivery.subject)


def test_a_short_address_names_its_delivery_only_to_this_service() -> None:
    delivery_id = str(uuid.uuid4())
    address = LINKS.short_url(delivery_id)
    assert address is not None
    code = address.rsplit("/", 1)[1]
    assert len(code) == 35 and LINKS.delivery_of(code) == delivery_id
    # Another service's key, a code changed in one character, or one made up: nothing.
    other = FamilyLinks(FamilyLinkIssuer(generate_key_pair()[0]), "{token}", "/l/{code}")
    assert other.delivery_of(code) is None
    for at in (0, 17, 30, 34):  # (a character of the id, of the tag, and the last one)
        for other_character in "AaBQgw_-":
            if other_character != code[at]:
                changed = code[:at] + other_character + code[at + 1 :]
                assert LINKS.delivery_of(changed) is None, changed
    assert LINKS.delivery_of("x" * 35) is None and LINKS.delivery_of("short") is None
    # The delivery's id (which events carry) with any tag but its own: nothing.
    raw = uuid.UUID(delivery_id).bytes
    guessed = base64.urlsafe_b64encode(raw + bytes(10)).rstrip(b"=").decode()
    assert len(guessed) == 35 and LINKS.delivery_of(guessed) is None
    assert FamilyLinks().short_url(delivery_id) is None  # no key: no short address


@pytest.mark.parametrize(
    "character",
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # a family: three emoji joined by ZWJs
        "e\u0302\u0303",  # Vietnamese "ễ", decomposed: a letter and two marks
        "\U0001f44b\U0001f3fd",  # a waving hand with a skin tone
        "\u2764\ufe0f",  # a heart with its emoji presentation selector
    ],
)
def test_a_word_too_long_for_its_parts_is_cut_between_whole_characters(character: str) -> None:
    word = character * 200  # (no space: the word itself must be cut)
    cut = fit(word, 1)
    assert segments(cut).parts == 1
    kept = cut.removesuffix("…").removesuffix("...")
    assert 0 < len(kept) < len(word) and len(kept) % len(character) == 0, repr(kept[-6:])
