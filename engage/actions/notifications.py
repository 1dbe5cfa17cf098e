"""The one way to ask for a notification, and the enqueueing of send jobs.

Exactly-once rests on three things: a unique (idempotency_key, channel) index, so asking twice
creates nothing new; a per-notification Redis marker (SET NX) so a notification sits in at most
one live send job; and the atomic claim (queued -> sending) the worker makes before calling a
provider (engage.actions.notification_delivery).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import redis
from beanie import PydanticObjectId
from bson import ObjectId
from pymongo.errors import BulkWriteError

from engage import extensions
from engage.config import Settings
from engage.config import get_settings
from engage.errors import ApiError
from engage.errors import not_found
from engage.lib.notifications import category_of
from engage.lib.notifications import effective_channels
from engage.lib.notifications import quiet_hours_end
from engage.models.base import utcnow
from engage.models.notification import Notification
from engage.models.notification import NotificationPreferences
from engage.models.notification import NotificationStatus
from engage.models.user import User

log = logging.getLogger(__name__)

SEND_JOB = "workers.notifications.send_notifications"
MARKER_PREFIX = "engage:notification:enqueued:"
# A marker outlives any sane queue wait; the recovery scan checks the job itself before trusting it.
MARKER_TTL_SECONDS = 3600


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def request_notification(
    *,
    recipient_id: str,
    kind: str,
    idempotency_key: str,
    context: dict[str, Any],
    not_before: datetime | None = None,
    critical: bool = False,
) -> list[Notification]:
    """Create (once per key and channel) and enqueue a notification on the recipient's preferred channels."""
    category = category_of(kind)
    if not ObjectId.is_valid(str(recipient_id)):
        raise ValueError(f"invalid recipient id {recipient_id!r}")
    recipient_oid = PydanticObjectId(str(recipient_id))
    user = await User.get(recipient_oid)
    if user is None:
        log.warning("notification %s for unknown recipient %s dropped", idempotency_key, recipient_id)
        return []
    prefs = await NotificationPreferences.find_one({"user_id": recipient_oid})
    now = utcnow()
    due = max(_aware(not_before) or now, now)
    if not critical and prefs is not None:
        due = quiet_hours_end(due, user.timezone, prefs.quiet_hours) or due

    docs: list[dict[str, Any]] = []
    for channel in effective_channels(prefs, kind):
        address = user.email if channel == "email" else user.phone
        if not address:
            continue  # no phone number: SMS is simply not a channel for this user
        doc = Notification(
            recipient_id=recipient_oid,
            channel=channel,
            kind=kind,
            category=category,
            template=f"{kind}/{channel}",
            context=context,
            idempotency_key=idempotency_key,
            critical=critical,
            due_at=due,
            created_at=now,
            updated_at=now,
        )
        if prefs is not None and prefs.opted_out:
            doc.status = NotificationStatus.suppressed
            doc.suppressed_reason = "opted_out"
        docs.append(doc.model_dump(by_alias=True, exclude={"id"}))
    if not docs:
        return []

    collection = Notification.get_pymongo_collection()
    failed: set[int] = set()
    try:
        await collection.insert_many(docs, ordered=False)  # pymongo sets each doc's _id
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(err.get("code") != 11000 for err in errors):
            raise
        # Asked before with this key: the existing documents stand; only new channels were added.
        failed = {err["index"] for err in errors}
    inserted = [d["_id"] for i, d in enumerate(docs) if i not in failed]
    stored = await Notification.find({"idempotency_key": idempotency_key}).to_list()
    fresh = {str(i) for i in inserted}
    to_send = [n for n in stored if str(n.id) in fresh and n.status == NotificationStatus.queued and n.due_at <= utcnow()]
    if to_send:
        await enqueue_notifications(to_send)
    return stored


async def cancel_notifications(idempotency_key_prefix: str) -> int:
    """Suppress (reason "cancelled") every queued notification whose key starts with the prefix."""
    if not idempotency_key_prefix:
        raise ValueError("an idempotency key prefix is required")
    # The keys with the prefix, as a bounded range of the unique (idempotency_key, channel) index:
    # MongoDB bounds an anchored $regex the same way, but the embedded server scans the whole
    # collection for one (the soak's cancellations slowed as the outbox grew).
    after_prefix = idempotency_key_prefix[:-1] + chr(ord(idempotency_key_prefix[-1]) + 1)
    result = await Notification.get_pymongo_collection().update_many(
        {"idempotency_key": {"$gte": idempotency_key_prefix, "$lt": after_prefix}, "status": NotificationStatus.queued.value},
        {"$set": {"status": NotificationStatus.suppressed.value, "suppressed_reason": "cancelled", "updated_at": utcnow()}},
    )
    return result.modified_count


async def enqueue_notifications(notifications: list[Notification], settings: Settings | None = None) -> int:
    """Put queued, due notifications into send jobs (critical ones on the critical queue); returns how many."""
    settings = settings or get_settings()
    by_queue: dict[str, list[str]] = {}
    for n in notifications:
        by_queue.setdefault("critical" if n.critical else "notifications", []).append(str(n.id))
    total = 0
    for queue_name, ids in by_queue.items():
        total += await asyncio.to_thread(_enqueue_ids_blocking, settings, queue_name, ids)
    return total


def _enqueue_ids_blocking(settings: Settings, queue_name: str, ids: list[str]) -> int:
    return enqueue_ids(extensions.sync_twin_of_redis_client(), queue_name, ids, settings.notification_batch_size)


def enqueue_ids(connection: redis.Redis, queue_name: str, ids: list[str], batch_size: int, delay: timedelta | None = None) -> int:
    """Enqueue send jobs for these ids, skipping any id already held by a live job (SET NX marker)."""
    queue = extensions.queue(queue_name, connection)
    count = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        job_id = f"notify-send-{uuid.uuid4().hex}"
        pipe = connection.pipeline(transaction=False)
        for nid in chunk:
            pipe.set(MARKER_PREFIX + nid, job_id, nx=True, ex=MARKER_TTL_SECONDS)
        won = [nid for nid, ok in zip(chunk, pipe.execute(), strict=True) if ok]
        if not won:
            continue
        options = {"job_id": job_id, "job_timeout": 600, "result_ttl": 60, "failure_ttl": 86400}
        if delay is not None and delay.total_seconds() > 0:
            queue.enqueue_in(delay, SEND_JOB, won, **options)  # run by RQ's scheduler inside the worker
        else:
            queue.enqueue(SEND_JOB, won, **options)
        count += len(won)
    return count


def release_markers(connection: redis.Redis, ids: list[str]) -> None:
    """Forget the enqueue markers of notifications that went back to queued (retry) or finished."""
    if ids:
        connection.delete(*[MARKER_PREFIX + i for i in ids])


async def do_retry_notification(notification_id: str) -> Notification:
    """Admin retry: a failed notification goes back to queued (attempts reset) and is enqueued now."""
    if not ObjectId.is_valid(notification_id):
        raise not_found("Notification")
    now = utcnow()
    updated = await Notification.get_pymongo_collection().find_one_and_update(
        {"_id": ObjectId(notification_id), "status": NotificationStatus.failed.value},
        {"$set": {"status": NotificationStatus.queued.value, "attempts": 0, "due_at": now, "claim_token": None, "updated_at": now}},
    )
    notification = await Notification.get(PydanticObjectId(notification_id))
    if notification is None:
        raise not_found("Notification")
    if updated is None:
        raise ApiError(409, "not_failed", f"Only failed notifications can be retried; this one is {notification.status.value}.")
    await enqueue_notifications([notification])
    return notification
