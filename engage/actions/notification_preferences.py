"""Changing a user's notification preferences."""

from __future__ import annotations

from engage.lib.notifications import DEFAULT_CHANNELS
from engage.models.base import utcnow
from engage.models.notification import NotificationPreferences
from engage.models.notification import QuietHours
from engage.models.user import User
from schemas.notifications import PreferencesIn


async def do_update_preferences(user: User, change: PreferencesIn) -> NotificationPreferences:
    """Apply the fields present in `change` (absent ones stay) and store the preferences."""
    prefs = await NotificationPreferences.find_one({"user_id": user.id})
    if prefs is None:
        prefs = NotificationPreferences(user_id=user.id, channels={k: list(v) for k, v in DEFAULT_CHANNELS.items()})
    if change.channels is not None:
        for category, channels in change.channels.model_dump(exclude_none=True).items():
            prefs.channels[category] = list(channels)
    if "quiet_hours" in change.model_fields_set:
        prefs.quiet_hours = QuietHours(start=change.quiet_hours.start, end=change.quiet_hours.end) if change.quiet_hours else None
    if change.opted_out is not None:
        prefs.opted_out = change.opted_out
    prefs.updated_at = utcnow()
    await prefs.save()
    return prefs
