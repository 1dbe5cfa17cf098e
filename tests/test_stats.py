"""Admin statistics over stored chat: response times come from the window's messages only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import median

from bson import ObjectId

from engage.models.conversation import ConversationActivity
from engage.lib.conversations import SINCE_STEP
from engage.models.message import Message, message_key
from tests.chat_factories import open_pair


async def test_first_response_times_read_the_window_across_chunks_and_ignore_older_waits(api, admin, make_patient, make_doctor, db):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    now = datetime.now(UTC).replace(microsecond=0)
    since_edge = now - timedelta(days=30)
    senders: list[tuple[str, datetime]] = []
    # Older than the 30-day window: a conversation going back 40 days, ending with an unanswered patient.
    for n in range(300):
        senders.append((pair.patient.id if n % 2 else pair.doctor.id, since_edge - timedelta(days=10) + timedelta(minutes=n)))
    # Inside it: the doctor answers that old message first (its wait began outside: not counted),
    # then runs of two patient messages and a reply after a wait that varies.
    start = now - timedelta(days=1)
    senders.append((pair.doctor.id, start))
    waits = []
    for group in range(250):
        t = start + timedelta(minutes=5 * (group + 1))
        wait = 10 + (group * 37) % 200
        senders += [(pair.patient.id, t), (pair.patient.id, t + timedelta(seconds=5)), (pair.doctor.id, t + timedelta(seconds=wait))]
        waits.append(wait)
    assert len(senders) - 300 > 8 * SINCE_STEP  # far longer than the first step back
    docs = [
        {
            "_id": message_key(pair.id, sender, f"s-{seq}"), "conversation_id": ObjectId(pair.id),
            "seq": seq, "sender_id": ObjectId(sender), "client_id": f"s-{seq}", "body": "hello", "created_at": at,
        }
        for seq, (sender, at) in enumerate(senders, start=1)
    ]
    await Message.get_pymongo_collection().insert_many(docs)
    await ConversationActivity.get_pymongo_collection().update_one(
        {"_id": ObjectId(pair.id)}, {"$set": {"last_seq": 1, "last_message_at": senders[-1][1]}}, upsert=True,
    )

    resp = await api.get("/api/admin/stats?days=30", token=admin.access_token)
    assert resp.status == 200, resp.body
    mine = [d for d in resp.body["doctors"] if d["doctor_id"] == pair.doctor.id]
    assert mine == [{"doctor_id": pair.doctor.id, "name": pair.doctor.name, "replies": len(waits), "median_first_response_seconds": median(waits)}]
