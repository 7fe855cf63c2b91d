"""Text messages as carriers count them, the replies carriers require us to obey, and the
provider's callback signatures. Pure."""

from __future__ import annotations

import pytest

from services.notifications.sms import keyword_of, signature, signed_by_provider, sms_text
from services.notifications.sms_text import fit, is_gsm7, segments
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
        ("please stop texting", None),
        ("Thanks!", None),
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
