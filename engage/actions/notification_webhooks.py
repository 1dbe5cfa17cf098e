"""Delivery reports from providers (Twilio status callbacks, SendGrid events) applied to the outbox."""

from __future__ import annotations

import logging
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne

from engage.models.base import utcnow
from engage.models.notification import Notification

log = logging.getLogger(__name__)

# Reports only move a notification forward: a late "sent" never undoes "delivered".
DELIVERED_FROM = ["sending", "sent"]
FAILED_FROM = ["sending", "sent", "delivered"]  # a bounce can follow a "delivered" to the relay


async def do_apply_twilio_status(message_sid: str, status: str, error_code: str | None) -> bool:
    """Apply one Twilio status callback; True when it changed a notification."""
    now = utcnow()
    if status == "delivered":
        update = ({"provider_message_id": message_sid, "status": {"$in": DELIVERED_FROM}}, {"$set": {"status": "delivered", "delivered_at": now, "updated_at": now}})
    elif status in ("undelivered", "failed"):
        update = (
            {"provider_message_id": message_sid, "status": {"$in": FAILED_FROM}},
            {"$set": {"status": "failed", "last_error": f"twilio {status}" + (f" (error {error_code})" if error_code else ""), "updated_at": now}},
        )
    else:
        return False  # queued/sending/sent reports add nothing to what the send already recorded
    result = await Notification.get_pymongo_collection().update_one(*update)
    return result.modified_count == 1


async def do_apply_sendgrid_events(events: list[dict[str, Any]]) -> int:
    """Apply SendGrid events (delivered, bounce, dropped); returns how many notifications changed."""
    now = utcnow()
    ops: list[UpdateOne] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        nid = event.get("notification_id")
        if isinstance(nid, str) and ObjectId.is_valid(nid):
            target: dict[str, Any] = {"_id": ObjectId(nid)}
        elif isinstance(event.get("sg_message_id"), str):
            # sg_message_id is "<X-Message-Id>.<filter suffix>"
            target = {"provider_message_id": event["sg_message_id"].split(".", 1)[0]}
        else:
            continue
        if kind == "delivered":
            ops.append(UpdateOne({**target, "status": {"$in": DELIVERED_FROM}}, {"$set": {"status": "delivered", "delivered_at": now, "updated_at": now}}))
        elif kind in ("bounce", "dropped"):
            reason = str(event.get("reason") or event.get("type") or "")[:300]
            ops.append(
                UpdateOne({**target, "status": {"$in": FAILED_FROM}}, {"$set": {"status": "failed", "last_error": f"sendgrid {kind}: {reason}".strip(), "updated_at": now}})
            )
    if not ops:
        return 0
    result = await Notification.get_pymongo_collection().bulk_write(ops, ordered=False)
    return result.modified_count
