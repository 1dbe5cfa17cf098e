"""What the admin statistics' response times cost as chat history grows.

    python bench/admin_stats.py [--messages 200000] [--conversations 100] [--history-days 300] [--days 30]

Starts the embedded database (on disk, as `python app.py` runs it), stores `--messages` chat
messages over `--conversations` conversations, spread evenly over the last `--history-days`
days, then times engage.lib.stats.first_response_times for the last `--days` days.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bson import ObjectId  # noqa: E402

from bench.embedded_documents import best_of, embedded_documents  # noqa: E402
from engage.lib.stats import first_response_times  # noqa: E402
from engage.models.conversation import Conversation, ConversationActivity  # noqa: E402
from engage.models.message import Message, message_key  # noqa: E402


async def fill(messages: int, conversations: int, history_days: int) -> None:
    now = datetime.now(UTC)
    step = timedelta(days=history_days) / max(messages // conversations, 1)
    pairs = [(ObjectId(), ObjectId(), ObjectId()) for _ in range(conversations)]  # (conversation, patient, doctor)
    await Conversation.get_pymongo_collection().insert_many(
        [{"_id": cid, "patient_id": patient, "doctor_id": doctor, "created_at": now - timedelta(days=history_days)} for cid, patient, doctor in pairs]
    )
    per_conversation = messages // conversations
    for cid, patient, doctor in pairs:
        docs = []
        for seq in range(1, per_conversation + 1):
            sender = patient if seq % 3 else doctor
            docs.append({
                "_id": message_key(str(cid), str(sender), f"c-{seq}"), "conversation_id": cid,
                "seq": seq, "sender_id": sender, "client_id": f"c-{seq}", "body": "How is the blood pressure today?",
                "created_at": now - timedelta(days=history_days) + step * seq,
            })
        await Message.get_pymongo_collection().insert_many(docs)
        await ConversationActivity.get_pymongo_collection().insert_one({"_id": cid, "last_seq": per_conversation, "last_message_at": docs[-1]["created_at"]})


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--history-days", type=int, default=300)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    async with embedded_documents("stats"):
        started = time.perf_counter()
        await fill(args.messages, args.conversations, args.history_days)
        print(f"stored {args.messages} messages over {args.conversations} conversations and {args.history_days} days in {time.perf_counter() - started:.1f} s")
        since = datetime.now(UTC) - timedelta(days=args.days)
        elapsed, doctors = await best_of(3, lambda: first_response_times(since))
        print(f"first_response_times (window by exact _ids): {elapsed:.0f} ms (best of 3), {sum(d.replies for d in doctors)} replies")


if __name__ == "__main__":
    asyncio.run(main())
