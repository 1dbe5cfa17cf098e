"""Admin statistics, read from the raw collections (no writes)."""

from __future__ import annotations

import asyncio
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from statistics import median

from bson import ObjectId

from engage.lib.by_ids import documents_by_ids
from engage.lib.conversations import messages_since
from engage.models.appointment import Appointment
from engage.models.conversation import Conversation, ConversationActivity
from engage.models.user import ASSISTANT_USER_ID
from engage.models.user import User
from schemas.stats import AppointmentDay
from schemas.stats import DoctorResponse
from schemas.stats import StatsOut

CONCURRENT_READS = 50  # conversations whose messages are read at once


async def appointments_per_day(since: datetime, until: datetime, clinic_id: ObjectId | None = None) -> list[AppointmentDay]:
    pipeline = [
        {"$match": {"start": {"$gte": since, "$lt": until}, "kind": {"$ne": "diagnostic"}, **_at_clinic(clinic_id)}},
        {"$project": {"day": {"$dateToString": {"format": "%Y-%m-%d", "date": "$start"}}, "status": 1}},
        {"$group": {"_id": {"day": "$day", "status": "$status"}, "n": {"$sum": 1}}},
    ]
    days: dict[str, dict[str, int]] = {}
    async for row in await Appointment.get_pymongo_collection().aggregate(pipeline):
        days.setdefault(row["_id"]["day"], {})[row["_id"]["status"]] = row["n"]
    return [
        AppointmentDay(
            date=day,
            total=sum(counts.values()),
            cancelled=counts.get("cancelled", 0),
            no_show=counts.get("no_show", 0),
            completed=counts.get("completed", 0),
        )
        for day, counts in sorted(days.items())
    ]


async def first_response_times(since: datetime, doctor_ids: set[str] | None = None) -> list[DoctorResponse]:
    """Per doctor (of doctor_ids, when given): the median time from a patient's first unanswered
    message to the doctor's next message."""
    last_seqs = {
        str(a["_id"]): a.get("last_seq", 0)
        async for a in ConversationActivity.get_pymongo_collection().find({"last_message_at": {"$gte": since}}, {"last_seq": 1})
    }
    conversations = {
        str(c.id): (c.patient_id, c.doctor_id)
        for c in await documents_by_ids(Conversation, [ObjectId(cid) for cid in last_seqs])
        if str(c.doctor_id) != ASSISTANT_USER_ID  # the assistant is no doctor: its instant replies are not response times
        and (doctor_ids is None or str(c.doctor_id) in doctor_ids)
    }
    if not conversations:
        return []
    ids = list(conversations)
    windows: list[list[dict]] = []
    for start in range(0, len(ids), CONCURRENT_READS):
        windows += await asyncio.gather(*(messages_since(conv, since, last_seqs[conv]) for conv in ids[start:start + CONCURRENT_READS]))
    waits: dict[str, list[float]] = {}
    for conv, window in zip(ids, windows, strict=True):
        patient_id, doctor_id = conversations[conv]
        waiting_since: datetime | None = None
        for m in window:
            if m["sender_id"] == patient_id:
                waiting_since = waiting_since or m["created_at"]
            elif m["sender_id"] == doctor_id and waiting_since is not None:
                waits.setdefault(str(doctor_id), []).append((m["created_at"] - waiting_since).total_seconds())
                waiting_since = None
    if not waits:
        return []
    names = {str(u.id): u.name for u in await documents_by_ids(User, [pair[1] for pair in conversations.values()])}
    return sorted(
        (
            DoctorResponse(doctor_id=doctor_id, name=names.get(doctor_id, "?"), replies=len(values), median_first_response_seconds=median(values))
            for doctor_id, values in waits.items()
        ),
        key=lambda d: d.median_first_response_seconds,
    )


def _at_clinic(clinic_id: ObjectId | None) -> dict:
    return {"clinic_id": clinic_id} if clinic_id is not None else {}


async def clinic_stats(days: int, clinic_id: ObjectId | None = None, doctor_ids: set[str] | None = None) -> StatsOut:
    """Appointments per day over the last `days` days and the next week, no-shows, response times;
    for one clinic: its appointments and its doctors' response times."""
    now = datetime.now(UTC)
    since = now - timedelta(days=days)
    per_day = await appointments_per_day(since, now + timedelta(days=7), clinic_id)
    no_shows = sum(d.no_show for d in per_day)
    past = await Appointment.get_pymongo_collection().count_documents(
        {"start": {"$gte": since, "$lt": now}, "status": {"$in": ["completed", "no_show", "confirmed", "checked_in", "booked"]}, "kind": {"$ne": "diagnostic"}, **_at_clinic(clinic_id)}
    )
    return StatsOut(
        days=days,
        appointments_per_day=per_day,
        no_shows=no_shows,
        no_show_rate=round(no_shows / past, 4) if past else None,
        doctors=await first_response_times(since, doctor_ids),
    )
