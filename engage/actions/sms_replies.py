"""Inbound SMS replies: STOP/START/HELP here, other words offered to each capability's handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from collections.abc import Callable

from pymongo.errors import DuplicateKeyError

from engage.actions.booking import booking_sms_reply
from engage.actions.medication import take_dose_by_sms
from engage.actions.notifications import request_notification
from engage.config import get_settings
from engage.models.base import utcnow
from engage.models.notification import InboundSms
from engage.models.notification import Notification
from engage.models.notification import SmsOptOut
from engage.models.user import User

log = logging.getLogger(__name__)

ReplyHandler = Callable[[User, str], Awaitable[str | None]]

# Every capability that answers SMS replies, asked in this order; the first returning a text
# took the reply (None means not mine). Booking: C/YES confirms, X/CANCEL cancels; medication: TAKEN.
REPLY_HANDLERS: tuple[ReplyHandler, ...] = (booking_sms_reply, take_dose_by_sms)


async def dispatch_reply(user: User, text: str, handlers: tuple[ReplyHandler, ...] = REPLY_HANDLERS) -> str | None:
    """Offer a reply to each handler; the confirmation text of the first that takes it, else None."""
    for handler in handlers:
        try:
            answer = await handler(user, text)
        except Exception:
            # One broken handler must not stop the others, nor turn Twilio's webhook into retries.
            log.exception("SMS reply handler %r failed", handler)
            continue
        if answer:
            return answer
    return None


STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT"}  # not CANCEL: booking's X/CANCEL cancels an appointment
START_WORDS = {"START", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}


def keyword_of(text: str) -> str:
    return "".join(ch for ch in text.strip().upper() if ch.isalnum())


async def handle_inbound_sms(
    message_sid: str, from_number: str, body: str, clinic_contact: str, handlers: tuple[ReplyHandler, ...] = REPLY_HANDLERS
) -> str | None:
    """Handle one inbound SMS once (by MessageSid): STOP/START/HELP, else the reply handlers, else "unclear".

    Returns the text to answer in the webhook's TwiML (START and HELP), or None.
    """
    existing = await InboundSms.find_one({"message_sid": message_sid})
    if existing is not None and existing.outcome != "received":
        return existing.reply  # Twilio retried a webhook we already handled: change nothing
    # Only a verified number identifies its account (ENGAGE_REQUIRE_VERIFIED_PHONE).
    sender = {"phone": from_number, "phone_verified": True, "active": True} if get_settings().require_verified_phone else {"phone": from_number}
    users = await User.find(sender).to_list()
    user = next((u for u in users if u.role.value == "patient"), users[0] if users else None)
    if existing is None:
        existing = InboundSms(message_sid=message_sid, from_number=from_number, body=body[:1600], user_id=user.id if user else None, outcome="received")
        try:
            await existing.insert()
        except DuplicateKeyError:
            return None  # a concurrent delivery of the same webhook is handling it

    word = keyword_of(body)
    reply: str | None = None
    if word in STOP_WORDS:
        outcome = "stop"
        await SmsOptOut.get_pymongo_collection().update_one({"phone": from_number}, {"$setOnInsert": {"phone": from_number, "at": utcnow()}}, upsert=True)
        if users:
            # Pending texts to this number must not go out any more.
            await Notification.get_pymongo_collection().update_many(
                {"recipient_id": {"$in": [u.id for u in users]}, "channel": "sms", "status": "queued"},
                {"$set": {"status": "suppressed", "suppressed_reason": "sms_stop", "updated_at": utcnow()}},
            )
    elif word in START_WORDS:
        outcome = "start"
        await SmsOptOut.find({"phone": from_number}).delete()
        reply = "You will receive Engage texts again. Reply STOP to opt out, HELP for help."
    elif word in HELP_WORDS:
        outcome = "help"
        reply = f"Engage: {clinic_contact} Reply STOP to opt out."
    elif user is None:
        outcome = "unknown_sender"
    else:
        answer = await dispatch_reply(user, body.strip(), handlers)
        if answer:
            outcome = "handled"
            await request_notification(
                recipient_id=str(user.id), kind="booking_sms_reply", idempotency_key=f"sms-reply:{message_sid}", context={"text": answer}, critical=True
            )
        else:
            outcome = "unclear"  # shown to staff in GET /api/admin/sms-replies
    existing.outcome = outcome
    existing.reply = reply
    await existing.save()
    return reply
