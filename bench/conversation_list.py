"""What listing a doctor's conversations costs as the doctor's patient list grows.

    python bench/conversation_list.py [--conversations 250,1000,2000]

Starts the embedded database (on disk, as `python app.py` runs it) and, for each size, gives one
doctor that many conversations, each with a patient and a last message, then times
engage.lib.conversations.conversations_out (what GET /api/conversations answers, with Redis
presence left out: the bench starts no Redis, so everyone is offline) over the doctor's list.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bson import ObjectId  # noqa: E402

from bench.embedded_documents import best_of, embedded_documents  # noqa: E402
from engage.lib import conversations as listing  # noqa: E402
from engage.models.conversation import Conversation, ConversationActivity  # noqa: E402
from engage.models.user import User  # noqa: E402


async def doctor_with(count: int) -> str:
    now = datetime.now(UTC)
    doctor = ObjectId()
    users = [{"_id": doctor, "email": f"dr-{doctor}@bench", "password_hash": "x", "name": "Dr Bench", "role": "doctor", "approved": True}]
    conversations, activities = [], []
    for n in range(count):
        patient, cid = ObjectId(), ObjectId()
        users.append({"_id": patient, "email": f"p-{patient}@bench", "password_hash": "x", "name": f"Patient {n}", "role": "patient"})
        conversations.append({"_id": cid, "patient_id": patient, "doctor_id": doctor, "created_at": now - timedelta(days=30)})
        at = now - timedelta(minutes=n)
        activities.append({
            "_id": cid, "last_seq": 3, "last_message_at": at, "read_seqs": {str(doctor): 2},
            "last_message": {"id": f"k{n}", "seq": 3, "sender_id": str(patient), "client_id": f"c{n}", "body": "Is this normal?", "created_at": at},
        })
    await User.get_pymongo_collection().insert_many(users)
    await Conversation.get_pymongo_collection().insert_many(conversations)
    await ConversationActivity.get_pymongo_collection().insert_many(activities)
    return str(doctor)


async def nobody_online(user_ids: list[str]) -> set[str]:
    return set()


async def list_for(doctor: User) -> list[dict]:
    listed, _ = await listing.conversations_out(await listing.list_conversations(doctor), str(doctor.id))
    return listed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", default="250,1000,2000")
    args = parser.parse_args()
    listing.online_user_ids = nobody_online  # presence lives in Redis, which this bench does not start
    async with embedded_documents("list"):
        for count in (int(c) for c in args.conversations.split(",")):
            doctor = await User.get(ObjectId(await doctor_with(count)))
            elapsed, listed = await best_of(3, lambda: list_for(doctor))
            assert len(listed) == count and listed[0]["unread_count"] == 1
            print(f"{count:>6} conversations: {elapsed:.0f} ms (best of 3)")


if __name__ == "__main__":
    asyncio.run(main())
