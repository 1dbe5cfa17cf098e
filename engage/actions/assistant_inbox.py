"""Handing patients' messages to the assistant: a reply job per stored message addressed to it.

Called by the chat writer after each publish, like the missed-message alerts. The job runs in a
worker (workers/assistant.py); it is named by its import path so this module, imported by the
chat writer, does not import the assistant's actions (which send through the chat writer).
"""

from __future__ import annotations

import asyncio

from engage import extensions
from engage.config import get_settings
from engage.models.user import ASSISTANT_USER_ID

REPLY_JOB = "workers.assistant.answer_patient_message"
REPLY_QUEUE = "critical"  # a patient is waiting, perhaps with an emergency


async def note_messages_for_assistant(messages: list[tuple[str, str, str, int]]) -> None:
    """For stored messages (conversation, sender, recipient, seq): enqueue a reply to each one sent to the assistant."""
    to_answer = [(conversation_id, seq) for conversation_id, _sender, recipient_id, seq in messages if recipient_id == ASSISTANT_USER_ID]
    if to_answer:
        await asyncio.to_thread(_enqueue_replies, to_answer)


def _enqueue_replies(to_answer: list[tuple[str, int]]) -> None:
    queue = extensions.queue(REPLY_QUEUE, extensions.sync_redis(get_settings()))
    for conversation_id, seq in to_answer:
        # One job per message: a second enqueue of the same id (a retried publish) is a no-op.
        queue.enqueue(REPLY_JOB, conversation_id, seq, job_id=f"assistant-reply-{conversation_id}-{seq}", result_ttl=600, failure_ttl=86400)
