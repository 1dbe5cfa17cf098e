"""Opening conversations and moving read positions."""

from __future__ import annotations

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from engage.actions.care import do_relate_through_conversation
from engage.errors import ApiError, forbidden
from engage.events import publish_to_users
from engage.lib.care import access_patient_data
from engage.lib.conversations import access_conversation, latest_seq
from engage.lib.users import access_user
from engage.models.conversation import Conversation, ConversationActivity
from engage.models.user import Role, User
from schemas.chat import CreateConversationRequest, ReadEvent


async def check_open_conversation(user: User, request: CreateConversationRequest) -> tuple[Conversation, User, bool]:
    """A patient names an approved doctor (who joins their care team), a doctor names a patient in their care;
    returns (conversation, other, created)."""
    if user.role == Role.patient:
        if request.doctor_id is None:
            raise ApiError(422, "validation_error", "doctor_id: a patient opens a conversation with a doctor.", field="doctor_id")
        other = await access_user(request.doctor_id, Role.doctor, what="Doctor")
        if not other.approved:
            raise ApiError(409, "doctor_not_approved", "This doctor has not been approved yet.", field="doctor_id")
        patient, doctor = user, other
    elif user.role == Role.doctor:
        if request.patient_id is None:
            raise ApiError(422, "validation_error", "patient_id: a doctor opens a conversation with a patient.", field="patient_id")
        # Only inside a care relation; anyone else gets the answer an unknown id gets.
        other = await access_patient_data(str(user.id), user.role.value, request.patient_id)
        patient, doctor = other, user
    else:
        raise forbidden("Only patients and doctors take part in conversations.")
    conversation, created = await do_open_conversation(patient.id, doctor.id)
    if user.role == Role.patient:
        await do_relate_through_conversation(patient.id, doctor.id)
    return conversation, other, created


async def do_open_conversation(patient_id: PydanticObjectId, doctor_id: PydanticObjectId) -> tuple[Conversation, bool]:
    """The pair's conversation, created on first use (the unique index settles races)."""
    existing = await Conversation.find_one({"patient_id": patient_id, "doctor_id": doctor_id})
    if existing is not None:
        return existing, False
    conversation = Conversation(patient_id=patient_id, doctor_id=doctor_id)
    try:
        await conversation.insert()
    except DuplicateKeyError:
        existing = await Conversation.find_one({"patient_id": patient_id, "doctor_id": doctor_id})
        if existing is None:
            raise
        return existing, False
    return conversation, True


async def check_mark_read(user_id: str, conversation_id: str, seq: int) -> int:
    """Move the user's read position forward (never past the last message); returns it."""
    conversation = await access_conversation(conversation_id, user_id)
    return await do_mark_read(conversation, user_id, seq)


async def do_mark_read(conversation: Conversation, user_id: str, seq: int) -> int:
    """Store the read position with $max, then tell both participants if it moved."""
    activity = ConversationActivity.get_pymongo_collection()
    known = ((await activity.find_one({"_id": conversation.id}, {"last_seq": 1})) or {}).get("last_seq", 0)
    # The activity's copy of last_seq may trail a message already delivered: past it, ask the messages.
    target = seq if seq <= known else min(seq, await latest_seq(str(conversation.id), known))
    key = f"read_seqs.{user_id}"
    updated = await activity.find_one_and_update(
        {"_id": conversation.id}, {"$max": {key: target}}, projection={"read_seqs": 1}, upsert=True, return_document=ReturnDocument.AFTER
    )
    stored = (updated or {}).get("read_seqs", {}).get(user_id, target)
    if target >= stored:  # a stale position (older than the stored one) announces nothing
        event = ReadEvent(conversation_id=str(conversation.id), user_id=user_id, seq=stored)
        await publish_to_users("chat:read", event, list(conversation.participant_ids()))
    return stored
