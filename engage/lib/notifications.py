"""Notification rules without side effects: kinds and categories, channels, quiet hours, backoff."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from engage.models.notification import NotificationPreferences
from engage.models.notification import QuietHours

CHANNELS = ("email", "sms")
CATEGORIES = ("reminders", "messages", "alerts")

# Every kind Engage sends, and the preference category that decides its channels.
KIND_CATEGORY: dict[str, str] = {
    "appointment_reminder": "reminders",
    "appointment_booked": "reminders",
    "appointment_cancelled": "reminders",
    "appointment_rescheduled": "reminders",
    "booking_sms_reply": "reminders",
    "waitlist_offer": "reminders",
    "medication_reminder": "reminders",
    "missed_messages": "messages",
    "vitals_alert": "alerts",
    "vitals_no_data": "alerts",
    "advice_ready": "alerts",
    "emergency_access": "alerts",
    "emergency_access_review": "alerts",
    "pharmacy_order_placed": "reminders",
    "pharmacy_order_ready": "reminders",
    "pharmacy_low_stock": "alerts",
    # Accounts (issue 19): what they carry is a secret (engage/actions/notification_secrets.py)
    "email_verification": "alerts",
    "password_reset": "alerts",
    "sign_in_code_email": "alerts",
    "sign_in_code_sms": "alerts",
    "phone_verification": "alerts",
    "clinic_application_received": "alerts",
    "clinic_application_decided": "alerts",
    "staff_invite": "alerts",
    "clinic_membership_decided": "alerts",  # a clinic decided a doctor's request to join it
    "doctor_account_rejected": "alerts",  # a platform admin rejected a doctor's account, with the reason
}

# Kinds that go to an address not verified yet: they are how it gets verified (or recovered), or the
# decision on what was asked for with it (a doctor may be rejected before verifying).
UNVERIFIED_ADDRESS_KINDS = frozenset(
    {"email_verification", "password_reset", "sign_in_code_email", "phone_verification", "clinic_application_received", "clinic_application_decided", "staff_invite", "doctor_account_rejected"}
)

# Kinds whose channels are fixed whatever the preferences say (a reply goes back where the text came from).
FIXED_CHANNELS: dict[str, tuple[str, ...]] = {
    "booking_sms_reply": ("sms",),
    "email_verification": ("email",),
    "password_reset": ("email",),
    "phone_verification": ("sms",),
    "sign_in_code_email": ("email",),
    "sign_in_code_sms": ("sms",),
    "clinic_application_received": ("email",),
    "clinic_application_decided": ("email",),
    "staff_invite": ("email",),
    "clinic_membership_decided": ("email",),
    "doctor_account_rejected": ("email",),
}

DEFAULT_CHANNELS: dict[str, list[str]] = {"reminders": ["email", "sms"], "messages": ["email"], "alerts": ["email", "sms"]}


def address_unverified(email_verified: bool, phone_verified: bool, channel: str, kind: str, require_email: bool, require_phone: bool) -> bool:
    """True when this kind may not go to the recipient's address on this channel because it is unverified."""
    if kind in UNVERIFIED_ADDRESS_KINDS:
        return False
    return (require_email and not email_verified) if channel == "email" else (require_phone and not phone_verified)


def category_of(kind: str) -> str:
    try:
        return KIND_CATEGORY[kind]
    except KeyError:
        raise ValueError(f"unknown notification kind {kind!r}") from None


def effective_channels(prefs: NotificationPreferences | None, kind: str) -> list[str]:
    """The channels this kind goes to for a user, before checking they have an address there."""
    if kind in FIXED_CHANNELS:
        return list(FIXED_CHANNELS[kind])
    category = category_of(kind)
    channels = (prefs.channels if prefs else DEFAULT_CHANNELS).get(category, DEFAULT_CHANNELS[category])
    return [c for c in CHANNELS if c in channels]


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_hours_end(at: datetime, timezone: str, quiet: QuietHours | None) -> datetime | None:
    """When `at` falls in the quiet hours (local wall-clock, DST-aware), the UTC instant they end; else None."""
    if quiet is None:
        return None
    start, end = parse_hhmm(quiet.start), parse_hhmm(quiet.end)
    if start == end:
        return None
    tz = ZoneInfo(timezone)
    local = at.astimezone(tz)
    now_t = local.time().replace(tzinfo=None)
    if start < end:  # e.g. 01:00-06:00, same day
        if not (start <= now_t < end):
            return None
        end_date = local.date()
    else:  # wraps midnight, e.g. 22:00-07:00
        if now_t >= start:
            end_date = local.date() + timedelta(days=1)
        elif now_t < end:
            end_date = local.date()
        else:
            return None
    # Wall-clock end on that date; zoneinfo picks the right offset across a DST change.
    return datetime.combine(end_date, end, tzinfo=tz).astimezone(UTC)


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float = 900.0) -> timedelta:
    """Exponential backoff after the n-th failed attempt: base, 2*base, 4*base, ... capped."""
    return timedelta(seconds=min(cap_seconds, base_seconds * (2 ** max(0, attempts - 1))))
