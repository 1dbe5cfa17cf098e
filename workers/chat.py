"""Chat jobs: the delayed missed-message alert."""

from __future__ import annotations

from engage.actions.missed_messages import do_send_missed_messages_alert
from workers.runtime import run_job


def send_missed_messages_alert(conversation_id: str, recipient_id: str, first_unread_seq: int, window_seconds: float) -> bool:
    """Alert a recipient who has not read a conversation since first_unread_seq (safe to run twice)."""
    return run_job(lambda: do_send_missed_messages_alert(conversation_id, recipient_id, first_unread_seq, window_seconds))
