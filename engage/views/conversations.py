"""Conversations over HTTP: open, list, history, and the REST twins of chat:send and chat:read."""

from __future__ import annotations

from quart import Blueprint

from engage.actions.conversations import check_mark_read, check_open_conversation
from engage.actions.messages import check_message_history, check_send_message
from engage.lib.conversations import (
    access_conversation,
    conversations_out,
    list_conversations,
    one_conversation_out,
)
from engage.lib.users import access_user
from engage.views.http import current_user, read_json, read_query
from schemas.chat import (
    ConversationListQuery,
    CreateConversationRequest,
    HistoryQuery,
    PostMessageRequest,
    ReadBody,
)

blueprint = Blueprint("conversations", __name__, url_prefix="/api/conversations")


@blueprint.post("")
async def open_conversation():
    user = current_user()
    request = await read_json(CreateConversationRequest)
    conversation, other, created = await check_open_conversation(user, request)
    return {"conversation": await one_conversation_out(conversation, str(user.id), other)}, 201 if created else 200


@blueprint.get("")
async def my_conversations():
    user = current_user()
    query = read_query(ConversationListQuery)
    listed, next_before = await conversations_out(await list_conversations(user), str(user.id), query.limit, query.before_position())
    return {"conversations": listed, "next_before": next_before}


@blueprint.get("/<conversation_id>")
async def one_conversation(conversation_id: str):
    user = current_user()
    conversation = await access_conversation(conversation_id, str(user.id))
    other = await access_user(conversation.other_participant(str(user.id)))
    return {"conversation": await one_conversation_out(conversation, str(user.id), other)}


@blueprint.get("/<conversation_id>/messages")
async def history(conversation_id: str):
    query = read_query(HistoryQuery)
    messages = await check_message_history(str(current_user().id), conversation_id, query.before_seq, query.limit)
    next_before = messages[-1].seq if messages and messages[-1].seq > 1 else None
    return {"messages": [m.model_dump(mode="json") for m in messages], "next_before_seq": next_before}


@blueprint.post("/<conversation_id>/messages")
async def post_message(conversation_id: str):
    request = await read_json(PostMessageRequest)
    message, created = await check_send_message(str(current_user().id), conversation_id, request.client_id, request.body)
    return {"message": message}, 201 if created else 200


@blueprint.post("/<conversation_id>/read")
async def mark_read(conversation_id: str):
    request = await read_json(ReadBody)
    return {"seq": await check_mark_read(str(current_user().id), conversation_id, request.seq)}
