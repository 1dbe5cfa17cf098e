"""Reading conversations and messages, and shaping them for output."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId

from engage.errors import ApiError
from engage.lib.by_ids import documents_by_ids
from engage.lib.by_ids import raw_documents_by_ids
from engage.lib.coalesced_reads import CoalescedReads
from engage.lib.presence import online_user_ids
from engage.models.conversation import Conversation, ConversationActivity
from engage.models.message import Message
from engage.models.user import User
from schemas.chat import ConversationOut, MessageOut, ParticipantOut, list_cursor

# Participants never change, so the hot path (every chat:send) checks access from memory
# after the first lookup. Bounded so a long-running process does not grow without end.
_PARTICIPANTS_CACHE_SIZE = 20_000
_participants: OrderedDict[str, tuple[str, str]] = OrderedDict()
_lookups: dict[str, asyncio.Future] = {}


def conversation_not_found() -> ApiError:
    # Non-participants get the same answer as for a missing id: existence is not revealed.
    return ApiError(404, "not_found", "Conversation was not found.")


async def conversation_participants(conversation_id: str) -> tuple[str, str] | None:
    """(patient_id, doctor_id) of a conversation, or None when it does not exist."""
    cached = _participants.get(conversation_id)
    if cached is not None:
        _participants.move_to_end(conversation_id)
        return cached
    if not ObjectId.is_valid(conversation_id):
        return None
    # A burst of sends to a conversation not yet cached (a polling POST carries many) waits for
    # one lookup instead of queueing one each in front of the database.
    lookup = _lookups.get(conversation_id)
    if lookup is None:
        lookup = asyncio.ensure_future(_load_participants(conversation_id))
        _lookups[conversation_id] = lookup
        lookup.add_done_callback(lambda _: _lookups.pop(conversation_id, None))
    return await asyncio.shield(lookup)


async def _load_participants(conversation_id: str) -> tuple[str, str] | None:
    raw = await Conversation.get_pymongo_collection().find_one(
        {"_id": ObjectId(conversation_id)}, {"patient_id": 1, "doctor_id": 1}
    )
    if raw is None:
        return None
    pair = (str(raw["patient_id"]), str(raw["doctor_id"]))
    _participants[conversation_id] = pair
    if len(_participants) > _PARTICIPANTS_CACHE_SIZE:
        _participants.popitem(last=False)
    return pair


async def access_participants(conversation_id: str, user_id: str) -> tuple[str, str]:
    """(patient_id, doctor_id) when user_id takes part in the conversation; 404 otherwise."""
    pair = await conversation_participants(conversation_id)
    if pair is None or str(user_id) not in pair:
        raise conversation_not_found()
    return pair


async def access_conversation(conversation_id: str, user_id: str) -> Conversation:
    """The conversation document when user_id takes part in it; 404 otherwise."""
    if not ObjectId.is_valid(conversation_id):
        raise conversation_not_found()
    conversation = await Conversation.get(PydanticObjectId(conversation_id))
    if conversation is None or str(user_id) not in conversation.participant_ids():
        raise conversation_not_found()
    return conversation


def other_participant(pair: tuple[str, str], user_id: str) -> str:
    return pair[1] if pair[0] == str(user_id) else pair[0]


def message_out(raw: dict[str, Any]) -> MessageOut:
    """A message as clients see it, from a raw Mongo document."""
    return MessageOut(
        id=raw["_id"],
        conversation_id=str(raw["conversation_id"]),
        seq=raw["seq"],
        sender_id=str(raw["sender_id"]),
        client_id=raw["client_id"],
        body=raw["body"],
        created_at=raw["created_at"],
        assistant=raw.get("assistant"),
    )


def message_json(raw: dict[str, Any]) -> dict[str, Any]:
    """A message as clients see it, JSON-ready, from a raw Mongo document."""
    return message_out(raw).model_dump(mode="json")


def conversation_out(conversation: Conversation, activity: ConversationActivity | None, me: str, other: User, online: bool) -> dict[str, Any]:
    activity = activity or ConversationActivity(id=conversation.id)
    read_seq = activity.read_seqs.get(str(me), 0)
    last = activity.last_message
    return ConversationOut(
        id=str(conversation.id),
        patient_id=str(conversation.patient_id),
        doctor_id=str(conversation.doctor_id),
        other_party=ParticipantOut(id=str(other.id), name=other.name, role=other.role.value, online=online),
        last_message=MessageOut(
            id=last.id, conversation_id=str(conversation.id), seq=last.seq, sender_id=last.sender_id,
            client_id=last.client_id, body=last.body, created_at=last.created_at, assistant=last.assistant,
        )
        if last
        else None,
        last_seq=activity.last_seq,
        read_seq=read_seq,
        other_read_seq=activity.read_seqs.get(str(other.id), 0),
        unread_count=max(activity.last_seq - read_seq, 0),
        created_at=conversation.created_at,
        last_message_at=activity.last_message_at,
    ).model_dump(mode="json")


async def conversation_activities(conversation_ids: list[PydanticObjectId]) -> dict[PydanticObjectId, ConversationActivity]:
    return {a.id: a for a in await documents_by_ids(ConversationActivity, conversation_ids)}


async def one_conversation_out(conversation: Conversation, me: str, other: User) -> dict[str, Any]:
    """One conversation as its participant `me` sees it (see conversations_out)."""
    online = str(other.id) in await online_user_ids([str(other.id)])
    activity = (await conversation_activities([conversation.id])).get(conversation.id)
    return conversation_out(conversation, activity, me, other, online)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def list_position(conversation: Conversation, activity: ConversationActivity | None) -> tuple[int, str]:
    """Where a conversation stands in a listing: its newest activity (last message, or creation)
    in milliseconds, then its id; listings go from the highest position down."""
    at = activity.last_message_at if activity and activity.last_message_at else conversation.created_at
    return (at - EPOCH) // timedelta(milliseconds=1), str(conversation.id)


async def conversations_out(
    conversations: list[Conversation], me: str, limit: int | None = None, before: tuple[int, str] | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Conversations with the other party, their presence, last message and unread count, newest
    activity first: all of them, or `limit` below the position `before`. Returns them and, when
    more follow, the `before` of the next page."""
    activities = await conversation_activities([c.id for c in conversations])
    positions = {c.id: list_position(c, activities.get(c.id)) for c in conversations}
    ordered = sorted((c for c in conversations if before is None or positions[c.id] < before), key=lambda c: positions[c.id], reverse=True)
    page = ordered[:limit] if limit else ordered
    next_before = list_cursor(positions[page[-1].id]) if limit and len(ordered) > limit else None
    other_ids = list(dict.fromkeys(c.other_participant(me) for c in page))
    users = {str(u.id): u for u in await documents_by_ids(User, [PydanticObjectId(i) for i in other_ids])}
    online = await online_user_ids(other_ids)
    listed = [
        conversation_out(c, activities.get(c.id), me, users[c.other_participant(me)], c.other_participant(me) in online)
        for c in page
        if c.other_participant(me) in users
    ]
    return listed, next_before


async def list_conversations(user: User) -> list[Conversation]:
    """The user's conversations (conversations_out orders them)."""
    field = "doctor_id" if user.role.value == "doctor" else "patient_id"
    return await Conversation.find({field: user.id}).to_list()


SIDES = {"patient": ("patient_id", "doctor_id"), "doctor": ("doctor_id", "patient_id")}  # role: (own field, other's)


async def contact_ids(user_id: str, role: str | None = None) -> list[str]:
    """Everyone who shares a conversation with this user (a patient's doctors, a doctor's
    patients; for another role or none given, both sides are read)."""
    oid = ObjectId(user_id)
    # One query per side, each served by its index. (An $or of the two is a collection scan on the
    # embedded server: 100 ms per call at 5,000 conversations, on every socket connect.)
    sides = [SIDES[role]] if role in SIDES else list(SIDES.values())
    contacts = [contact for side in sides for contact in await _contacts_by_side[side].load(oid)]
    return list(dict.fromkeys(contacts))


def _contacts_of_side(own_field: str, other_field: str) -> CoalescedReads[ObjectId, list[str]]:
    async def read_many(ids: list[ObjectId]) -> list[list[str]]:
        found: dict[ObjectId, list[str]] = {}
        rows = Conversation.get_pymongo_collection().find({own_field: {"$in": list(set(ids))}}, {own_field: 1, other_field: 1})
        async for raw in rows:
            found.setdefault(raw[own_field], []).append(str(raw[other_field]))
        return [found.get(i, []) for i in ids]

    return CoalescedReads(read_many)


# Many sockets connecting together (every client after a restart) read their contacts in one query per side.
_contacts_by_side = {side: _contacts_of_side(*side) for side in SIDES.values()}


# Every read of messages names a bounded seq range: the (conversation_id, seq) index serves it,
# where an unbounded sort by seq makes the embedded database fetch and sort the whole
# conversation. The upper bound comes from the conversation activity's last_seq.
SINCE_STEP = 64  # messages_since's first step back, in seqs
MAX_SINCE_STEP = 4096  # and its longest
TAIL_STEP = 256  # how far past the activity's last_seq latest_seq looks per query


async def messages_between(
    conversation_id: str, first_seq: int, last_seq: int, where: dict[str, Any] | None = None
) -> AsyncIterator[dict[str, Any]]:
    """The conversation's messages first_seq..last_seq whose fields equal `where`'s, in seq order."""
    first_seq = max(first_seq, 1)
    if last_seq < first_seq:
        return
    query = {**(where or {}), "conversation_id": ObjectId(conversation_id), "seq": {"$gte": first_seq, "$lte": last_seq}}
    for doc in await Message.get_pymongo_collection().find(query).sort("seq", 1).to_list():
        yield doc


async def messages_after(conversation_id: str, after_seq: int, limit: int) -> list[dict[str, Any]]:
    """Messages with seq > after_seq, oldest first."""
    return [doc async for doc in messages_between(conversation_id, after_seq + 1, after_seq + limit)]


async def messages_before(conversation_id: str, before_seq: int | None, limit: int) -> list[dict[str, Any]]:
    """Messages with seq < before_seq (or the newest), newest first."""
    top = before_seq - 1 if before_seq is not None else await latest_seq(conversation_id)
    return [doc async for doc in messages_between(conversation_id, top - limit + 1, top)][::-1]


async def messages_since(conversation_id: str, since: datetime, known_seq: int | None = None) -> list[dict[str, Any]]:
    """The conversation's messages created at or after `since`, oldest first (known_seq: see latest_seq).

    Read back from the newest until a step starts before `since` (created_at grows with seq), so
    the cost follows the window, not the collection. Each step after the first is sized from the
    pace of the messages read so far: every message read costs, and so does every query."""
    newest_first: list[dict[str, Any]] = []
    top, step = await latest_seq(conversation_id, known_seq), SINCE_STEP
    while top >= 1:
        chunk = [doc async for doc in messages_between(conversation_id, top - step + 1, top)]
        newest_first.extend(reversed(chunk))
        if not chunk or chunk[0]["created_at"] < since:
            break
        top -= step
        pace = (newest_first[0]["created_at"] - newest_first[-1]["created_at"]) / max(len(newest_first) - 1, 1)
        left = (newest_first[-1]["created_at"] - since) / pace if pace else MAX_SINCE_STEP
        step = int(min(max(left * 1.1 + 1, SINCE_STEP), MAX_SINCE_STEP))
    return [doc for doc in reversed(newest_first) if doc["created_at"] >= since]


async def stored_messages_by_ids(ids: list[str]) -> list[dict[str, Any]]:
    """The stored messages with these public ids (those that exist)."""
    return await raw_documents_by_ids(Message.get_pymongo_collection(), ids)


async def stored_message(key: str) -> dict[str, Any] | None:
    """The stored message with this public id (message_key()), or None."""
    return await Message.get_pymongo_collection().find_one({"_id": key})


async def latest_seq(conversation_id: str, known_seq: int | None = None) -> int:
    """The highest stored seq of a conversation (0 when empty).

    ConversationActivity.last_seq is a lower bound (it is updated after the insert); counting the
    messages in bounded steps past it finds anything newer (seqs are dense) without sorting the
    conversation. A caller that has just read the activity passes its last_seq as known_seq."""
    if known_seq is None:
        raw = await ConversationActivity.get_pymongo_collection().find_one({"_id": ObjectId(conversation_id)}, {"last_seq": 1})
        known_seq = (raw or {}).get("last_seq", 0)
    top = known_seq
    while True:
        found = await Message.get_pymongo_collection().find(
            {"conversation_id": ObjectId(conversation_id), "seq": {"$gt": top, "$lte": top + TAIL_STEP}}, {"_id": 0, "seq": 1}
        ).to_list()
        top += len(found)
        if len(found) < TAIL_STEP:
            return top
