"""Missed-message alerts: one per conversation per window, only if the message stays unread.

The first unread message of a window sets a Redis marker (SET NX, expiring with the window)
and enqueues one delayed RQ job with a deterministic id; later messages in the window find
the marker and add nothing. Reading the conversation clears the marker, so the next message
opens a new window. The job re-checks the read position before asking for a notification,
and the notification's idempotency key makes a second run harmless.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from beanie import PydanticObjectId

from engage import extensions
from engage.config import get_settings
from engage.models.conversation import Conversation
from engage.models.user import User

log = logging.getLogger(__name__)

ALERT_MARKER = "engage:chat:alert:{}:{}"  # conversation id, recipient id
ALERT_KIND = "missed_messages"


async def note_messages_for_alerts(messages: list[tuple[str, str, str, int]]) -> None:
    """For stored messages (conversation, sender, recipient, seq): open alert windows as needed."""
    settings = get_settings()
    window_ms = max(int(settings.unread_alert_seconds * 1000), 1)
    first_seq: dict[tuple[str, str], int] = {}
    senders: set[tuple[str, str]] = set()
    for conversation_id, sender_id, recipient_id, seq in messages:
        first_seq.setdefault((conversation_id, recipient_id), seq)
        senders.add((conversation_id, sender_id))
    redis = extensions.redis_client()
    async with redis.pipeline(transaction=False) as pipe:
        for conversation_id, sender_id in senders:
            # Sending counts as reading: the sender's own window closes.
            pipe.delete(ALERT_MARKER.format(conversation_id, sender_id))
        for (conversation_id, recipient_id), seq in first_seq.items():
            pipe.set(ALERT_MARKER.format(conversation_id, recipient_id), seq, nx=True, px=window_ms)
        replies = await pipe.execute()
    opened = [key for key, reply in zip(first_seq, replies[len(senders):], strict=True) if reply]
    if opened:
        await asyncio.to_thread(_enqueue_alert_jobs, [(cid, rid, first_seq[(cid, rid)]) for cid, rid in opened], settings.unread_alert_seconds)


def _enqueue_alert_jobs(jobs: list[tuple[str, str, int]], delay_seconds: float) -> None:
    from workers.chat import send_missed_messages_alert

    settings = get_settings()
    connection = extensions.sync_redis(settings)
    try:
        queue = extensions.queue("notifications", connection)
        for conversation_id, recipient_id, seq in jobs:
            queue.enqueue_in(
                timedelta(seconds=delay_seconds),
                send_missed_messages_alert,
                conversation_id,
                recipient_id,
                seq,
                job_id=f"chat-missed-{conversation_id}-{recipient_id}-{seq}",
                result_ttl=3600,
            )
    finally:
        connection.close()


async def close_alert_window(conversation_id: str, user_id: str) -> None:
    """The user read the conversation: the next message starts a new window."""
    await extensions.redis_client().delete(ALERT_MARKER.format(conversation_id, user_id))


async def do_send_missed_messages_alert(conversation_id: str, recipient_id: str, first_unread_seq: int) -> bool:
    """Ask for one missed_messages notification if the recipient still has not read; True if asked."""
    conversation = await Conversation.get(PydanticObjectId(conversation_id))
    if conversation is None or recipient_id not in conversation.participant_ids():
        return False
    read_seq = conversation.read_seqs.get(recipient_id, 0)
    if read_seq >= first_unread_seq:
        return False
    sender = await User.get(PydanticObjectId(conversation.other_participant(recipient_id)))
    from engage.actions.notifications import request_notification

    # Only a count and a link-worthy id: the message text is health data and stays in the app.
    await request_notification(
        recipient_id=recipient_id,
        kind=ALERT_KIND,
        idempotency_key=f"{ALERT_KIND}:{conversation_id}:{recipient_id}:{first_unread_seq}",
        context={"count": max(conversation.last_seq - read_seq, 1), "sender_name": sender.name if sender else "", "conversation_id": conversation_id},
    )
    log.info("missed-message alert requested for %s in %s", recipient_id, conversation_id)
    return True
