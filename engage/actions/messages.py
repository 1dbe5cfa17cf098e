"""Sending, syncing and reading chat messages.

Messages are stored by a per-process group-commit writer: every send waits in a queue, and
the writer stores everything queued since its last round trip in one transaction. The
embedded database takes milliseconds per single insert but well under one per document in
a batch, so under load this is what keeps chat close to a bare relay.

Ordering without gaps, across processes: a message's seq is claimed by inserting the message,
and the unique (conversation_id, seq) index is the only arbiter (see models/message.py). Each
writer keeps the newest seq it knows per conversation; when another process stored that seq
first, the transaction fails, nothing of the round is written, and the writer re-reads the
conversation's newest seq and tries again. A seq therefore exists only once a message holds
it: a failed or crashed insert leaves no gap, and two processes never share a seq.
Idempotency: a message's _id is derived from (conversation, sender, client_id), and a unique
index holds that triple too, so a retry collides and gets the stored original back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import BulkWriteError, PyMongoError

from engage import metrics
from engage.actions.assistant_inbox import note_messages_for_assistant
from engage.actions.audit import record_health_data_access
from engage.actions.missed_messages import note_messages_for_alerts
from engage.actions.rate_limits import hit_rate_limit
from engage.config import get_settings
from engage.errors import ApiError, unavailable_error
from engage.events import publish_many
from engage.lib.conversations import (
    access_participants,
    latest_seq,
    message_json,
    message_out,
    messages_after,
    messages_before,
    other_participant,
    stored_message,
    stored_messages_by_ids,
)
from engage.models.base import utcnow
from engage.models.conversation import ConversationActivity
from engage.models.message import SEQ_INDEX, Message, message_key
from schemas.chat import MessageOut, SyncRequest

log = logging.getLogger(__name__)

MAX_BATCH = 1000
MAX_ROUNDS = 50  # conflict retries within one batch before giving up on it
_TAIL_CACHE_SIZE = 20_000


async def _insert_messages(messages, docs: list[dict[str, Any]], session: AsyncClientSession) -> None:
    await messages.insert_many(docs, ordered=True, session=session)


@dataclass
class PendingMessage:
    conversation_id: str
    sender_id: str
    recipient_id: str
    client_id: str
    body: str
    assistant: dict[str, Any] | None = None  # AssistantInfo of the assistant's replies and summaries
    id: str = ""
    queued_at: float = 0.0  # loop time when it joined the queue
    future: asyncio.Future = field(default=None)  # type: ignore[assignment]


class MessageWriter:
    """Group commit for chat messages in one process (see the module docstring)."""

    def __init__(self) -> None:
        self._queue: list[PendingMessage] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._tail: OrderedDict[str, int] = OrderedDict()  # see _remember_tail
        self._outbox: list[list[tuple[dict[str, Any], PendingMessage]]] = []
        self._outbox_ready = asyncio.Event()
        self._publisher: asyncio.Task | None = None
        self._publishing = False
        self._finishing: asyncio.Task | None = None  # the previous round's activity update and acks
        self.batches = 0  # figures for the benchmark
        self.messages = 0

    async def submit(self, pending: PendingMessage) -> tuple[dict[str, Any], bool]:
        """Queue one message; returns (the message as clients see it, created) once it is stored."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="engage-message-writer")
        pending.id = message_key(pending.conversation_id, pending.sender_id, pending.client_id)
        pending.future = asyncio.get_running_loop().create_future()
        pending.queued_at = asyncio.get_running_loop().time()
        self._queue.append(pending)
        self._wakeup.set()
        return await pending.future

    async def wait_published(self, timeout: float = 10.0) -> None:
        """Wait until every message submitted so far is stored and handed to the emitter.

        A job's event loop ends when its body returns, cancelling the publisher with it: a job
        that sends (the assistant's replies) waits for this before returning."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (self._queue or self._outbox or self._publishing) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.005)

    def waited_longest(self) -> float:
        """Seconds the oldest message not yet taken for storage has waited (0 with none)."""
        if not self._queue:
            return 0.0
        return asyncio.get_running_loop().time() - self._queue[0].queued_at

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    await self._commit(batch)
                except Exception as exc:
                    log.exception("storing %d chat messages failed", len(batch))
                    # Refused, not lost: a database outage answers database_unavailable, which
                    # clients resend with the same client_id (the stored original if it landed).
                    refusal = unavailable_error(exc) or exc
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(refusal)

    async def _commit(self, batch: list[PendingMessage]) -> None:
        # The same client_id twice in one batch: store the first, answer both with it.
        leaders: dict[str, PendingMessage] = {}
        for pending in batch:
            leaders.setdefault(pending.id, pending)
        started = time.perf_counter()
        results = await self._store(list(leaders.values()))
        created = sorted((doc for doc, new in results.values() if new), key=lambda d: (str(d["conversation_id"]), d["seq"]))
        # Built once per message: the ack and every delivery carry the same JSON-ready object.
        payloads = {message_key: message_json(doc) for message_key, (doc, _) in results.items()}
        self.batches += 1
        self.messages += len(created)
        metrics.chat_stored(len(created), time.perf_counter() - started)
        if created:
            # Delivery (and alert windows) run in their own task, in commit order, as soon as
            # the messages are stored, while this task finishes the batch and stores the next.
            self._outbox.append([(payloads[doc["_id"]], leaders[doc["_id"]]) for doc in created])
            self._outbox_ready.set()
            if self._publisher is None or self._publisher.done():
                self._publisher = asyncio.get_running_loop().create_task(self._publish_forever(), name="engage-message-publisher")
        # The activity update and the acks run beside the next batch's insert (a round trip less
        # per round under load); one at a time, so a round waits for the previous round's.
        if self._finishing is not None:
            await self._finishing
        self._finishing = asyncio.get_running_loop().create_task(self._finish(batch, created, leaders, results, payloads))

    async def _finish(
        self, batch: list[PendingMessage], created: list[dict[str, Any]], leaders: dict[str, PendingMessage],
        results: dict[str, tuple[dict[str, Any], bool]], payloads: dict[str, dict[str, Any]],
    ) -> None:
        """Update the conversations' activity, then ack: a listing or a sync right after the ack
        (whose seq bounds come from the activity) sees the message."""
        if created:
            await self._denormalise(created, leaders)
        for pending in batch:
            if not pending.future.done():
                _, new = results[pending.id]
                pending.future.set_result((payloads[pending.id], new and leaders[pending.id] is pending))

    async def _publish_forever(self) -> None:
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            self._publishing = True
            while self._outbox:
                # Everything committed since the last publish goes out as one publish, in commit
                # order (so in seq order within each conversation).
                delivered = [item for batch in self._outbox for item in batch]
                self._outbox.clear()
                try:
                    await publish_many([("chat:message", payload, [p.sender_id, p.recipient_id]) for payload, p in delivered])
                    metrics.chat_delivered(len(delivered))
                except Exception:
                    log.exception("publishing %d chat messages failed", len(delivered))
                stored = [(payload["conversation_id"], p.sender_id, p.recipient_id, payload["seq"]) for payload, p in delivered]
                try:
                    await note_messages_for_alerts(stored)
                except Exception:
                    log.exception("scheduling missed-message alerts failed")
                try:
                    await note_messages_for_assistant(stored)
                except Exception:
                    log.exception("scheduling assistant replies failed")
            self._publishing = False

    async def _store(self, todo: list[PendingMessage]) -> dict[str, tuple[dict[str, Any], bool]]:
        messages = Message.get_pymongo_collection()
        results: dict[str, tuple[dict[str, Any], bool]] = {}
        now = utcnow()
        # Mongo keeps milliseconds: the ack must show what a later read will show.
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        for attempt in range(MAX_ROUNDS):
            if not todo:
                return results
            await self._load_tails({p.conversation_id for p in todo})
            tails: dict[str, int] = {}
            docs = []
            for pending in todo:
                seq = tails.get(pending.conversation_id, self._tail[pending.conversation_id]) + 1
                tails[pending.conversation_id] = seq
                doc = {
                    "_id": pending.id,
                    "conversation_id": ObjectId(pending.conversation_id),
                    "seq": seq,
                    "sender_id": ObjectId(pending.sender_id),
                    "client_id": pending.client_id,
                    "body": pending.body,
                    "created_at": now,
                }
                if pending.assistant is not None:
                    doc["assistant"] = pending.assistant
                docs.append(doc)
            try:
                async with messages.database.client.start_session() as session:
                    # with_transaction retries a transient failure and asks again when a commit's
                    # outcome is unknown (a lost reply): either commits or confirms the commit that
                    # landed, so a stored batch is never reported failed and left undelivered.
                    await session.with_transaction(partial(_insert_messages, messages, docs))
            except PyMongoError as exc:
                # The transaction is aborted: nothing of this round is stored.
                error = (exc.details.get("writeErrors") or [{}])[0] if isinstance(exc, BulkWriteError) else {}
                if error.get("code") == 11000 and _on_seq_index(error):
                    # Another process stored this seq first: re-read the conversation's newest seq.
                    self._tail.pop(str(docs[error["index"]]["conversation_id"]), None)
                elif error.get("code") == 11000:
                    # Idempotent retries of stored messages (their _id or client_id is taken):
                    # fetch every stored original at once.
                    for doc in await stored_messages_by_ids([p.id for p in todo]):
                        results[doc["_id"]] = (doc, False)
                    todo = [p for p in todo if p.id not in results]
                    if not any(p.id == docs[error["index"]]["_id"] for p in todo):
                        continue
                    # The same sender and client_id under another _id (a message moved from an
                    # earlier layout whose id was not derived): answer with that original.
                    clash = next(p for p in todo if p.id == docs[error["index"]]["_id"])
                    original = await messages.find_one(
                        {"conversation_id": ObjectId(clash.conversation_id), "sender_id": ObjectId(clash.sender_id), "client_id": clash.client_id}
                    )
                    if original is None:
                        raise
                    results[clash.id] = (original, False)
                    todo = [p for p in todo if p is not clash]
                elif exc.has_error_label("TransientTransactionError") or error.get("code") == 112:
                    # A concurrent transaction holds one of these seqs or ids; once it commits,
                    # a later round sees a duplicate and sorts it out as above.
                    for cid in tails:
                        self._tail.pop(cid, None)
                    await asyncio.sleep(min(0.002 * 2**attempt, 0.1))
                else:
                    raise
                continue
            for pending, doc in zip(todo, docs, strict=True):
                results[pending.id] = (doc, True)
            for cid, seq in tails.items():
                self._remember_tail(cid, seq)
            return results
        raise RuntimeError(f"could not store {len(todo)} chat messages after {MAX_ROUNDS} rounds")

    async def _load_tails(self, conversation_ids: set[str]) -> None:
        missing = [cid for cid in conversation_ids if cid not in self._tail]
        if not missing:
            return
        tails = await asyncio.gather(*(latest_seq(cid) for cid in missing))
        for cid, tail in zip(missing, tails, strict=True):
            self._remember_tail(cid, tail)

    def note_stored(self, conversation_id: str, seq: int) -> None:
        """Another process stored this seq: the next one here starts after it (if the tail is kept)."""
        if conversation_id in self._tail:
            self._remember_tail(conversation_id, seq)

    def _remember_tail(self, conversation_id: str, seq: int) -> None:
        """Keep the newest seq of recently written conversations."""
        if seq >= self._tail.get(conversation_id, -1):
            self._tail[conversation_id] = seq
        self._tail.move_to_end(conversation_id)
        if len(self._tail) > _TAIL_CACHE_SIZE:
            self._tail.popitem(last=False)

    async def _denormalise(self, created: list[dict[str, Any]], leaders: dict[str, PendingMessage]) -> None:
        """Copy the newest messages into their conversations (before the ack, so listings agree with it).

        One update per conversation per commit, on a document with no secondary index (see
        ConversationActivity): with few messages per conversation in a commit, as in a clinic's
        real traffic, this costs about as much as inserting the messages.
        """
        newest: dict[str, dict[str, Any]] = {}
        read_up_to: dict[str, dict[str, int]] = {}
        for doc in created:
            cid = str(doc["conversation_id"])
            newest[cid] = doc  # created is sorted by (conversation, seq)
            # Sending implies having read everything before it.
            read_up_to.setdefault(cid, {})[f"read_seqs.{doc['sender_id']}"] = doc["seq"]
        updates = [
            UpdateOne(
                # Only if no process stored a newer message meanwhile ($not also matches an
                # activity a read receipt created before any message, without last_seq).
                # Upserted: a conversation starts without activity; when a newer message is
                # there, the upsert's insert collides on _id instead.
                {"_id": doc["conversation_id"], "last_seq": {"$not": {"$gte": doc["seq"]}}},
                {
                    "$set": {
                        "last_seq": doc["seq"],
                        "last_message": {
                            "id": doc["_id"], "seq": doc["seq"], "sender_id": str(doc["sender_id"]),
                            "client_id": doc["client_id"], "body": doc["body"], "created_at": doc["created_at"],
                            **({"assistant": doc["assistant"]} if "assistant" in doc else {}),
                        },
                        "last_message_at": doc["created_at"],
                    },
                    "$max": read_up_to[cid],
                },
                upsert=True,
            )
            for cid, doc in newest.items()
        ]
        collection = ConversationActivity.get_pymongo_collection()
        try:
            try:
                await collection.bulk_write(updates, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors") or []
                if any(e.get("code") != 11000 for e in errors):
                    raise
                # These conversations already show a newer message from another process; the
                # sender's read position still moves (a $max is safe to repeat).
                cids = list(newest)
                await collection.bulk_write(
                    [UpdateOne({"_id": ObjectId(cids[e["index"]])}, {"$max": read_up_to[cids[e["index"]]]}, upsert=True) for e in errors],
                    ordered=False,
                )
        except Exception:
            log.exception("updating conversation activity after a chat commit failed")


def _on_seq_index(error: dict[str, Any]) -> bool:
    """Whether a duplicate-key write error is on (conversation_id, seq): a seq another process took."""
    if "keyPattern" in error:
        return "seq" in error["keyPattern"]
    return SEQ_INDEX in error.get("errmsg", "")


_writer: MessageWriter | None = None


def note_delivered_message(event: str, data: Any, room: Any) -> None:  # noqa: ARG001
    """Emit observer: a chat:message stored by any process tells this process's writer the
    conversation's newest seq, so its next message there does not first collide with it (two
    participants on two web processes taking turns would otherwise collide on every message)."""
    if event != "chat:message" or not isinstance(data, dict):
        return
    try:
        message_writer().note_stored(str(data["conversation_id"]), int(data["seq"]))
    except (KeyError, TypeError, ValueError):
        pass


def message_writer() -> MessageWriter:
    """This process's writer, bound to the running loop (tests and jobs may change loops)."""
    global _writer
    loop = asyncio.get_running_loop()
    if _writer is None or getattr(_writer, "_loop", None) is not loop:
        _writer = MessageWriter()
        _writer._loop = loop  # type: ignore[attr-defined]
    return _writer


async def check_send_message(user_id: str, conversation_id: str, client_id: str, body: str) -> tuple[dict[str, Any], bool]:
    """Authorise and rate-limit one send, then store it (or find the stored original).

    Returns the message as clients see it (MessageOut, JSON-ready) and whether it is new."""
    pair = await access_participants(conversation_id, user_id)
    settings = get_settings()
    if message_writer().waited_longest() > settings.chat_max_queue_seconds:
        raise ApiError(
            503, "server_busy", "The server is busy and did not store this message; send it again with the same client_id.",
            retry_after=1,
        )
    if not await hit_rate_limit("chat_send", user_id, settings.chat_rate_limit, settings.chat_rate_window):
        # A retry of a message that was stored is still answered with the original.
        stored = await stored_message(message_key(conversation_id, user_id, client_id))
        if stored is not None:
            return message_json(stored), False
        raise ApiError(
            429, "rate_limited",
            f"Too many messages: at most {settings.chat_rate_limit} every {settings.chat_rate_window:g} seconds.",
            retry_after=settings.chat_rate_window,
        )
    return await do_send_message(user_id, other_participant(pair, user_id), conversation_id, client_id, body)


async def do_send_message(
    sender_id: str, recipient_id: str, conversation_id: str, client_id: str, body: str, assistant: dict[str, Any] | None = None
) -> tuple[dict[str, Any], bool]:
    """Store one message through the group-commit writer; it publishes chat:message once stored."""
    return await message_writer().submit(PendingMessage(conversation_id, sender_id, recipient_id, client_id, body, assistant))


async def _audit_doctor_read(user_id: str, pair: tuple[str, str], conversation_id: str) -> None:
    patient_id, doctor_id = pair
    if str(user_id) == doctor_id:
        await record_health_data_access(doctor_id, "doctor", patient_id, "conversation.read", f"conversation:{conversation_id}")


async def check_sync_messages(user_id: str, request: SyncRequest) -> list[MessageOut]:
    """Messages after a seq, oldest first, for a participant catching up."""
    pair = await access_participants(request.conversation_id, user_id)
    docs = await messages_after(request.conversation_id, request.after_seq, request.limit)
    await _audit_doctor_read(user_id, pair, request.conversation_id)
    return [message_out(doc) for doc in docs]


async def check_message_history(user_id: str, conversation_id: str, before_seq: int | None, limit: int) -> list[MessageOut]:
    """A page of history, newest first."""
    pair = await access_participants(conversation_id, user_id)
    docs = await messages_before(conversation_id, before_seq, limit)
    await _audit_doctor_read(user_id, pair, conversation_id)
    return [message_out(doc) for doc in docs]
