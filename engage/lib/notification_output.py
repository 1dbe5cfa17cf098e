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
    return NotificationOut.model_validate(n).model_dump(mode="json")


async def preferences_out(user: User, prefs: NotificationPreferences | None) -> dict[str, Any]:
    stopped = bool(user.phone) and await SmsOptOut.find_one({"phone": user.phone}) is not None
    channels = {c: list((prefs.channels if prefs else DEFAULT_CHANNELS).get(c, DEFAULT_CHANNELS[c])) for c in DEFAULT_CHANNELS}
    quiet = QuietHoursOut(start=prefs.quiet_hours.start, end=prefs.quiet_hours.end) if prefs and prefs.quiet_hours else None
    return PreferencesOut(
        channels=channels, quiet_hours=quiet, opted_out=bool(prefs and prefs.opted_out), sms_opted_out=stopped, timezone=user.timezone
    ).model_dump(mode="json")


def inbound_sms_out(sms: InboundSms) -> dict[str, Any]:
    return InboundSmsOut.model_validate(sms).model_dump(mode="json")
