"""Missed-message alerts: at most one per unread streak, never one per message, none if read.

A Redis marker per (conversation, recipient), set with SET NX when a message is stored,
means "a delayed check is pending"; while it exists, further messages add nothing. The check
(an RQ job) looks at the recipient's first unread message from the other participant:
- none (read in time): nothing is sent;
- younger than the window: the check re-schedules itself for when it will be due;
- older: one `missed_messages` notification, keyed by that first unread seq, so re-runs and
  later checks of the same unread streak create nothing new.
The check drops the marker and looks again afterwards, so a message stored meanwhile is never
left without a pending check.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from beanie import PydanticObjectId
from bson import ObjectId

from engage import extensions
from engage.actions.notifications import request_notification
from engage.config import get_settings
from engage.lib.conversations import latest_seq, messages_between
from engage.models.base import utcnow
from engage.models.conversation import Conversation, ConversationActivity
from engage.models.user import ASSISTANT_USER_ID
from engage.models.user import User

log = logging.getLogger(__name__)

ALERT_MARKER = "engage:chat:alert:{}:{}"  # conversation id, recipient id
ALERT_KIND = "missed_messages"
ALERT_JOB = "workers.chat.send_missed_messages_alert"  # by path: engage does not import workers


def _marker_ms(window_seconds: float) -> int:
    # Outlives the job's delay comfortably; the job deletes it when it is done.
    return int((window_seconds * 2 + 60) * 1000)


async def note_messages_for_alerts(messages: list[tuple[str, str, str, int]]) -> None:
    """For stored messages (conversation, sender, recipient, seq): start a delayed check if none is pending."""
    window = get_settings().unread_alert_seconds
    first_seq: dict[tuple[str, str], int] = {}
    for conversation_id, _sender_id, recipient_id, seq in messages:
        if recipient_id == ASSISTANT_USER_ID:
            continue  # the assistant answers at once (actions/assistant_inbox.py); it reads no alerts
        first_seq.setdefault((conversation_id, recipient_id), seq)
    redis = extensions.redis_client()
    async with redis.pipeline(transaction=False) as pipe:
        for (conversation_id, recipient_id), seq in first_seq.items():
            pipe.set(ALERT_MARKER.format(conversation_id, recipient_id), seq, nx=True, px=_marker_ms(window))
        replies = await pipe.execute()
    opened = [(cid, rid, first_seq[(cid, rid)], window) for (cid, rid), reply in zip(first_seq, replies, strict=True) if reply]
    if opened:
        await asyncio.to_thread(_enqueue_checks, opened)


def _enqueue_checks(checks: list[tuple[str, str, int, float]], delays: list[float] | None = None) -> None:
    queue = extensions.queue("notifications", extensions.sync_redis(get_settings()))
    for index, (conversation_id, recipient_id, seq, window) in enumerate(checks):
        queue.enqueue_in(
            timedelta(seconds=delays[index] if delays else window),
            ALERT_JOB,
            conversation_id,
            recipient_id,
            seq,
            window,
            job_id=f"chat-missed-{conversation_id}-{recipient_id}-{seq}",
            result_ttl=3600,
        )


async def _first_unread(conversation_id: str, recipient_id: str) -> tuple[Conversation | None, dict | None, int]:
    """The conversation, the recipient's first unread message from the other participant, and the newest seq."""
    conversation = await Conversation.get(PydanticObjectId(conversation_id))
    if conversation is None or recipient_id not in conversation.participant_ids():
        return None, None, 0
    activity = await ConversationActivity.get_pymongo_collection().find_one({"_id": conversation.id}, {"read_seqs": 1})
    read_seq = (activity or {}).get("read_seqs", {}).get(recipient_id, 0)
    other = ObjectId(conversation.other_participant(recipient_id))
    newest = await latest_seq(conversation_id)
    async for first in messages_between(conversation_id, read_seq + 1, newest, where={"sender_id": other}):
        return conversation, first, newest
    return conversation, None, newest


async def do_send_missed_messages_alert(conversation_id: str, recipient_id: str, first_unread_seq: int, window_seconds: float) -> bool:
    """Check a recipient's unread messages; ask for one missed_messages notification when due. True if asked."""
    conversation, first, newest = await _first_unread(conversation_id, recipient_id)
    if conversation is None:
        return False
    now = utcnow()
    if first is not None and first["created_at"] + timedelta(seconds=window_seconds) > now + timedelta(milliseconds=50):
        # Unread, but not for a full window yet (an earlier streak was read): look again then.
        delay = (first["created_at"] + timedelta(seconds=window_seconds) - now).total_seconds()
        await asyncio.to_thread(_enqueue_checks, [(conversation_id, recipient_id, first["seq"], window_seconds)], [delay])
        return False
    asked = False
    if first is not None:
        sender = await User.get(PydanticObjectId(conversation.other_participant(recipient_id)))
        unread = len([m async for m in messages_between(conversation_id, first["seq"], newest, where={"sender_id": first["sender_id"]})])
        # A count and the conversation id for the link: the text is health data and stays in the app.
        await request_notification(
            recipient_id=recipient_id,
            kind=ALERT_KIND,
            idempotency_key=f"{ALERT_KIND}:{conversation_id}:{recipient_id}:{first['seq']}",
            context={"count": unread, "sender_name": sender.name if sender else "", "conversation_id": conversation_id},
        )
        asked = True
    # Done with this check: drop the marker, then look once more so that a message stored while
    # the marker still blocked new checks gets one.
    redis = extensions.redis_client()
    marker = ALERT_MARKER.format(conversation_id, recipient_id)
    await redis.delete(marker)
    _, newer, _ = await _first_unread(conversation_id, recipient_id)
    if newer is not None and (first is None or newer["seq"] > first["seq"]):
        if await redis.set(marker, newer["seq"], nx=True, px=_marker_ms(window_seconds)):
            delay = max((newer["created_at"] + timedelta(seconds=window_seconds) - utcnow()).total_seconds(), 0)
            await asyncio.to_thread(_enqueue_checks, [(conversation_id, recipient_id, newer["seq"], window_seconds)], [delay])
    return asked
