"""The SMS provider's callbacks: delivery receipts (``POST /sms/status``) and the family's replies
(``POST /sms/inbound``). Each is a form the provider signs with the account's token
(``X-Twilio-Signature``, over ``NOTIFICATIONS_PUBLIC_URL`` + the path); an unsigned or wrongly
signed one is refused with 403 and changes nothing."""

from __future__ import annotations

from xml.sax.saxutils import escape

from fastapi import APIRouter, Request, Response
from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.notifications.messages import render
from services.notifications.receipts import settle
from services.notifications.settings import NotificationsSettings
from services.notifications.sms import keyword_of, signed_by_provider
from services.notifications.tables import (
    SMS_KEYWORDS_KEPT,
    ContactPoint,
    Delivery,
    SchoolOffice,
    SmsKeywordsHeard,
    SmsOptOut,
)
from shared.contact_details import E164
from shared.database import utcnow
from shared.problems import problem_response, refusals
from shared.roster import RosterSite
from shared.service import UnitOfWorkDep
from shared.upsert import dialect_insert, insert_or_replace

router = APIRouter(prefix="/sms", tags=["sms"])
SIGNATURE = "X-Twilio-Signature"
TWIML = "application/xml"
# What the school is called in the replies the carriers require.
SENDER = "Student-led conferences"
DELIVERED, UNDELIVERED = frozenset({"delivered"}), frozenset({"undelivered", "failed"})


async def _signed_form(request: Request, path: str) -> dict[str, str] | Response:
    settings: NotificationsSettings = request.app.state.runtime.settings
    if settings.sms_auth_token is None:
        return problem_response(404, "text messages are not configured on this service")
    form = {name: str(value) for name, value in (await request.form()).items()}
    url = f"{settings.public_url.rstrip('/')}{path}"
    given = request.headers.get(SIGNATURE, "")
    if not signed_by_provider(settings.sms_auth_token.get_secret_value(), url, form, given):
        return problem_response(403, f"missing or wrong {SIGNATURE} for {url}")
    return form


@router.post(
    "/status",
    status_code=204,
    responses=refusals(403, 404, 503),
    summary="Delivery receipt from the SMS provider",
)
async def delivery_receipt(request: Request, uow: UnitOfWorkDep) -> Response:
    """A message's status as the provider learnt it (``MessageSid``, ``MessageStatus``,
    ``ErrorCode``): ``delivered`` records the delivery delivered, ``undelivered`` or ``failed``
    records it failed with the carrier's error; other statuses change nothing. 503 with
    ``Retry-After`` for a message whose sending is not recorded yet (a status the provider
    sends again: Twilio retries 5xx, never a 409)."""
    form = await _signed_form(request, "/sms/status")
    if isinstance(form, Response):
        return form
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if status not in DELIVERED | UNDELIVERED:
        return Response(status_code=204)
    async with uow.transaction() as session:
        delivery = (await session.exec(select(Delivery).where(Delivery.provider_id == sid))).first()
        if delivery is None:
            return problem_response(
                503,
                f"no message {sid[:64]!r} recorded as sent yet; try again",
                headers={"Retry-After": "5"},
            )
        error = f"the carrier did not deliver it ({status}, error {form.get('ErrorCode') or '-'})"
        # (Already settled by an earlier receipt: nothing changes.)
        await settle(session, delivery, delivered=status in DELIVERED, reason=error)
    return Response(status_code=204)


@router.post(
    "/inbound",
    response_class=Response,
    responses={
        **refusals(403, 404, 422),
        200: {"content": {TWIML: {}}, "description": "TwiML: the reply to text back, if any."},
    },
    summary="A family's reply, from the SMS provider",
)
async def family_reply(request: Request, uow: UnitOfWorkDep) -> Response:
    """A text a family sent (``From``, ``Body``): STOP (STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
    OPTOUT, REVOKE) records the number's opt-out at once, START (YES, UNSTOP) removes it, HELP
    (INFO) answers who is writing; each is confirmed in the family's language, as TwiML the
    provider texts back. Any other reply is not read by anyone, and the answer says how to get
    help; from a number that said STOP, only the keywords are answered (an empty TwiML
    otherwise: nothing else is texted to it). A STOP or START the provider hands over again
    (the same ``MessageSid``: a provider set to retry a call that timed out) is applied once;
    it is confirmed again unless a later STOP or START came after it, which it then leaves as
    is."""
    form = await _signed_form(request, "/sms/inbound")
    if isinstance(form, Response):
        return form
    phone, keyword = form.get("From", ""), keyword_of(form.get("Body", ""))
    if not E164.match(phone):
        return problem_response(422, f"From {phone[:40]!r} is not a phone number in E.164 form")
    sid = form.get("MessageSid", "")[:64]
    async with uow.transaction() as session:
        if keyword is None and await session.get(SmsOptOut, phone) is not None:
            # A number that said STOP is sent nothing more until START: only its keywords are
            # answered (HELP too, as the carriers require).
            return _twiml(None)
        language, site = await _replying_to(session, phone)
        office = (
            (None, None) if keyword in ("stop", "start") else await _office_number(session, site)
        )
        heard = await _heard(session, phone) if keyword in ("stop", "start") and sid else None
        if heard is not None and sid in heard:
            # The provider handing the same reply over again: applied once. Its confirmation
            # again (the first answer may be what was lost), unless a later one came after it.
            if heard[-1] != sid:
                return _twiml(None)
        elif keyword == "stop":
            await insert_or_replace(
                session,
                SmsOptOut,
                [
                    {
                        "phone": phone,
                        "keyword": form.get("Body", "").strip()[:16].upper(),
                        "opted_out_at": utcnow(),
                    }
                ],
                key=("phone",),
            )
        elif keyword == "start":
            await session.exec(delete(SmsOptOut).where(col(SmsOptOut.phone) == phone))
        if heard is not None and sid not in heard:
            await session.exec(
                update(SmsKeywordsHeard)
                .where(col(SmsKeywordsHeard.phone) == phone)
                .values(message_sids=[*heard, sid][-SMS_KEYWORDS_KEPT:])
            )
    if keyword == "stop":
        return _twiml(render("sms_stopped", language=language, sender=SENDER).subject)
    if keyword == "start":
        return _twiml(render("sms_started", language=language, sender=SENDER).subject)
    school, number = office
    return _twiml(
        render("sms_help", language=language, sender=SENDER, school=school, phone=number).subject
    )


async def _heard(session: AsyncSession, phone: str) -> list[str]:
    """The STOP and START replies last heard from ``phone`` (``MessageSid``s, oldest first),
    its row locked (PostgreSQL) until this reply is recorded: a reply handed over while
    another from the number is being recorded waits for it. (The row is made first if there is
    none, so that a number's first two keywords at once wait for each other too.)"""
    await session.exec(
        dialect_insert(session, SmsKeywordsHeard.__table__)  # type: ignore[attr-defined]
        .values(phone=phone, message_sids=[])
        .on_conflict_do_nothing(index_elements=["phone"])
    )
    found = await session.exec(
        select(SmsKeywordsHeard.message_sids)
        .where(col(SmsKeywordsHeard.phone) == phone)
        .with_for_update()
    )
    return list(found.one())


def _twiml(reply: str | None) -> Response:
    """The answer the provider reads: the text to send back, if any (TwiML)."""
    message = f"<Message>{escape(reply)}</Message>" if reply is not None else ""
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>', media_type=TWIML
    )


async def _replying_to(session: AsyncSession, phone: str) -> tuple[str | None, str | None]:
    """The language to answer a reply from ``phone`` in, and the school it is about: those of
    the last text sent to it (what the family is replying to; two guardians sharing a number
    may read different languages), else of the first guardian with that number, else none
    (English, and no school)."""
    guardians = (
        await session.exec(
            select(ContactPoint.guardian_id, ContactPoint.language, ContactPoint.site)
            .where(ContactPoint.phone == phone)
            .order_by(col(ContactPoint.guardian_id))
        )
    ).all()
    if not guardians:
        return None, None
    last_text = (
        await session.exec(
            select(Delivery.language, Delivery.site)
            .where(
                col(Delivery.recipient_id).in_([guardian for guardian, _, _ in guardians]),
                Delivery.channel == "sms",
                Delivery.address == phone,
            )
            .order_by(col(Delivery.created_at).desc())
            .limit(1)
        )
    ).first()
    if last_text is not None:
        return last_text[0], last_text[1]
    return guardians[0][1], guardians[0][2]


async def _office_number(session: AsyncSession, site: str | None) -> tuple[str | None, str | None]:
    """The school's name and its office's phone number, if the office wrote one: HELP's answer
    says whom to call (the carriers ask it to say how to reach a person)."""
    office = await session.get(SchoolOffice, site) if site is not None else None
    if office is None or office.phone_display is None:
        return None, None
    named = await session.get(RosterSite, office.site)
    return (named.name if named is not None else None), office.phone_display
