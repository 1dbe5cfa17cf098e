"""Sending notifications: claim, render, call the provider, record (filled in below)."""

from __future__ import annotations


async def deliver_notifications(notification_ids: list[str]) -> dict:
    """Claim and send these notifications."""
    return {"sent": 0}
