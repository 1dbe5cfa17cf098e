"""Shaping notifications, preferences and inbound SMS for output."""

from __future__ import annotations

from typing import Any

from engage.lib.notifications import DEFAULT_CHANNELS
from engage.models.notification import InboundSms
from engage.models.notification import Notification
from engage.models.notification import NotificationPreferences
from engage.models.notification import SmsOptOut
from engage.models.user import User
from schemas.notifications import InboundSmsOut
from schemas.notifications import NotificationOut
from schemas.notifications import PreferencesOut
from schemas.notifications import QuietHoursOut


def notification_out(n: Notification) -> dict[str, Any]:
    return NotificationOut(
        id=str(n.id),
        recipient_id=str(n.recipient_id),
        channel=n.channel,
        kind=n.kind,
        status=n.status.value if hasattr(n.status, "value") else str(n.status),
        idempotency_key=n.idempotency_key,
        critical=n.critical,
        attempts=n.attempts,
        due_at=n.due_at,
        provider=n.provider,
        provider_message_id=n.provider_message_id,
        to=n.to,
        subject=n.subject,
        text=n.text,
        last_error=n.last_error,
        suppressed_reason=n.suppressed_reason,
        created_at=n.created_at,
        sent_at=n.sent_at,
        delivered_at=n.delivered_at,
    ).model_dump(mode="json")


async def preferences_out(user: User, prefs: NotificationPreferences | None) -> dict[str, Any]:
    stopped = bool(user.phone) and await SmsOptOut.find_one({"phone": user.phone}) is not None
    channels = {c: list((prefs.channels if prefs else DEFAULT_CHANNELS).get(c, DEFAULT_CHANNELS[c])) for c in DEFAULT_CHANNELS}
    quiet = QuietHoursOut(start=prefs.quiet_hours.start, end=prefs.quiet_hours.end) if prefs and prefs.quiet_hours else None
    return PreferencesOut(
        channels=channels, quiet_hours=quiet, opted_out=bool(prefs and prefs.opted_out), sms_opted_out=stopped, timezone=user.timezone
    ).model_dump(mode="json")


def inbound_sms_out(sms: InboundSms) -> dict[str, Any]:
    return InboundSmsOut(
        id=str(sms.id), from_number=sms.from_number, body=sms.body, user_id=str(sms.user_id) if sms.user_id else None, outcome=sms.outcome, received_at=sms.received_at
    ).model_dump(mode="json")
