"""A chat client that survives faults the way the browser does (static/js/chat.js).

Every send gets a client_id and stays pending until acknowledged; after a reconnect the client
catches up with chat:sync from the newest seq it holds, and resends what is pending with the same
client_ids (the server answers a stored one with the original). It reconnects on its own, to the
first of its servers that answers, like a browser behind a load balancer.
"""

from __future__ import annotations

import asyncio
import collections
import random
import uuid
from typing import Any

import socketio

from tests.clients import Account

# Server answers that mean "not stored (or not known to be): send again with the same client_id".
RETRYABLE = {"server_busy", "database_unavailable", "service_unavailable", "internal_error", "rate_limited"}
RETRY_WAIT_MAX = 1.0  # the browser waits the full retry_after; a test has no user to keep waiting
SYNC_PAGE = 200
IN_FLIGHT = 4  # sends a chattering peer has waiting for an ack at once
# The browser's reconnection backoff (static/js/socket.js, socket.io-client's formula), with the
# same randomization but steps scaled down from 1 s..10 s so fault tests recover quickly.
RECONNECT_DELAY = 0.05
RECONNECT_DELAY_MAX = 1.0
RECONNECT_RANDOMIZATION = 0.9


def reconnect_delay(attempt: int) -> float:
    """Seconds before reconnection attempt `attempt` (0 first): the step doubles up to the maximum,
    then moves by up to RECONNECT_RANDOMIZATION of itself either way, as socket.io-client's does."""
    step = min(RECONNECT_DELAY * 2**attempt, RECONNECT_DELAY_MAX)
    deviation = random.random() * RECONNECT_RANDOMIZATION * step
    return min(step + deviation if random.random() < 0.5 else step - deviation, RECONNECT_DELAY_MAX)


class ChatPeer:
    def __init__(self, account: Account, conversation_id: str, urls: list[str], transport: str = "websocket") -> None:
        self.account = account
        self.conversation_id = conversation_id
        self.urls = list(urls)
        self.transport = transport
        self.messages: dict[int, dict[str, Any]] = {}  # seq -> message, live or synced
        self.pending: dict[str, str] = {}  # client_id -> body, until acknowledged
        self.sent: list[str] = []  # every client_id this peer created
        self.connects = 0
        self.resends = 0
        self.refusals: collections.Counter[str] = collections.Counter()  # error codes of refused sends
        self.errors: list[str] = []  # what went wrong while reconnecting
        self.sio: socketio.AsyncClient | None = None
        self._online = asyncio.Event()
        self._closing = False
        self._reconnecting: asyncio.Task | None = None
        self._gap_syncs: set[asyncio.Task] = set()
        self._went_online = asyncio.Event()  # set at each (re)connection, for waiting on one

    @property
    def url(self) -> str | None:
        return getattr(self, "_url", None)

    async def start(self) -> None:
        await self._connect()

    async def _connect(self, reconnecting: bool = False) -> None:
        attempt = 0
        if reconnecting:
            await asyncio.sleep(reconnect_delay(attempt))  # the browser waits before its first attempt too
            attempt += 1
        while not self._closing:
            for url in self.urls:
                client = socketio.AsyncClient(reconnection=False)
                client.on("chat:message", self._on_message)
                client.on("disconnect", lambda *_, c=client: self._on_disconnect(c))
                try:
                    await client.connect(url, auth={"token": self.account.access_token}, transports=[self.transport], wait_timeout=5)
                except (socketio.exceptions.ConnectionError, OSError, asyncio.TimeoutError):
                    continue
                except Exception as exc:  # kept for the test's report; a browser would just retry
                    self.errors.append(repr(exc))
                    continue
                self.sio, self._url = client, url
                self.connects += 1
                try:
                    caught_up = await self._catch_up(client)
                except Exception as exc:
                    self.errors.append(repr(exc))
                    caught_up = False
                if caught_up:
                    self._online.set()
                    self._went_online.set()
                    return
                await client.disconnect()
            await asyncio.sleep(reconnect_delay(attempt))  # like the browser's reconnection delay
            attempt += 1

    def _on_message(self, message: dict[str, Any]) -> None:
        if message["conversation_id"] != self.conversation_id:
            return
        newest = max(self.messages, default=0)
        self._keep(message)
        if message["seq"] > newest + 1 and self.sio is not None:
            # A gap (an event lost with a dead process): sync it, as the browser does.
            self._gap_syncs.add(asyncio.get_running_loop().create_task(self._catch_up(self.sio)))
            self._gap_syncs = {t for t in self._gap_syncs if not t.done()}

    async def catch_up(self) -> None:
        """chat:sync whatever this peer has not seen (the browser does it on opening a conversation)."""
        await self._online.wait()
        await self._catch_up(self.sio)

    def held_through(self) -> int:
        """The newest seq up to which this peer holds every message (syncing resumes after it)."""
        seq = 0
        while seq + 1 in self.messages:
            seq += 1
        return seq

    def _keep(self, message: dict[str, Any]) -> None:
        known = self.messages.setdefault(message["seq"], message)
        assert known["id"] == message["id"], f"seq {message['seq']} is two messages: {known} and {message}"
        if message["sender_id"] == self.account.id:
            self.pending.pop(message["client_id"], None)

    def _lost(self, client: socketio.AsyncClient) -> asyncio.Event:
        """Set once this connection is gone."""
        if not hasattr(client, "engage_lost"):
            client.engage_lost = asyncio.Event()  # type: ignore[attr-defined]
        return client.engage_lost  # type: ignore[attr-defined]

    def _on_disconnect(self, client: socketio.AsyncClient) -> None:
        self._lost(client).set()
        if client is not self.sio or self._closing:
            return
        self._online.clear()
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.get_running_loop().create_task(self._connect(reconnecting=True))

    async def _catch_up(self, client: socketio.AsyncClient) -> bool:
        """chat:sync from the newest seq held, page by page; False if the connection failed meanwhile."""
        while True:
            after = self.held_through()
            try:
                ack = await client.call("chat:sync", {"conversation_id": self.conversation_id, "after_seq": after, "limit": SYNC_PAGE}, timeout=10)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError, socketio.exceptions.DisconnectedError):
                return False
            if not ack.get("ok"):
                if ack["error"]["code"] in RETRYABLE:
                    await asyncio.sleep(RETRY_WAIT_MAX)
                    continue
                raise AssertionError(f"chat:sync refused: {ack}")
            for message in ack["messages"]:
                self._keep(message)
            if len(ack["messages"]) < SYNC_PAGE:
                return True

    async def send(self, body: str) -> dict[str, Any]:
        """Send one message and resend it (same client_id) until it is acknowledged; returns it."""
        cid = uuid.uuid4().hex
        self.sent.append(cid)
        self.pending[cid] = body
        first = True
        while True:
            await self._online.wait()
            client = self.sio
            if not first:
                self.resends += 1
            first = False
            # A connection that drops leaves its acks unanswered: like the browser, resend at the
            # reconnection instead of waiting out the ack timeout.
            call = asyncio.ensure_future(client.call("chat:send", {"conversation_id": self.conversation_id, "client_id": cid, "body": body}, timeout=10))
            lost = asyncio.ensure_future(self._lost(client).wait())
            await asyncio.wait({call, lost}, return_when=asyncio.FIRST_COMPLETED)
            lost.cancel()
            if not call.done():
                call.cancel()
                await self._reconnected_from(client)
                continue
            try:
                ack = call.result()
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError, socketio.exceptions.DisconnectedError):
                if client is self.sio and client.connected:
                    continue  # no ack in time on a live connection: ask again
                await self._reconnected_from(client)
                continue
            if ack.get("ok"):
                self._keep(ack["message"])
                return ack["message"]
            self.refusals[ack["error"]["code"]] += 1
            if ack["error"]["code"] not in RETRYABLE:
                raise AssertionError(f"chat:send refused: {ack}")
            await asyncio.sleep(min(ack.get("retry_after", RETRY_WAIT_MAX), RETRY_WAIT_MAX))

    async def _reconnected_from(self, client: socketio.AsyncClient) -> None:
        """Wait until a connection other than `client` is up (the reconnect may not have begun yet)."""
        while self.sio is client or not self._online.is_set():
            if self.sio is client and client.connected is False and (self._reconnecting is None or self._reconnecting.done()):
                self._on_disconnect(client)
            await asyncio.sleep(0.01)

    async def drop_connection(self) -> None:
        """Cut the connection abruptly, as a network loss would, and return once the client is
        connected again and caught up."""
        await self._online.wait()
        client = self.sio
        self._went_online.clear()
        await client.eio.disconnect(abort=True)
        if client.connected:  # the transport is gone; make the client see it like a network loss would
            await client.disconnect()
        await self._went_online.wait()

    async def sync_all(self) -> list[dict[str, Any]]:
        """The whole conversation as the server has it now, oldest first (a fresh catch-up from 0)."""
        await self._online.wait()
        found: dict[int, dict[str, Any]] = {}
        after = 0
        while True:
            ack = await self.sio.call("chat:sync", {"conversation_id": self.conversation_id, "after_seq": after, "limit": SYNC_PAGE}, timeout=10)
            assert ack.get("ok"), ack
            for message in ack["messages"]:
                assert message["seq"] not in found
                found[message["seq"]] = message
            if len(ack["messages"]) < SYNC_PAGE:
                return [found[seq] for seq in sorted(found)]
            after = ack["messages"][-1]["seq"]

    async def close(self) -> None:
        self._closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self.sio is not None and self.sio.connected:
            if self.transport == "polling":
                await self.sio.eio.disconnect(abort=True)
            await self.sio.disconnect()


def check_conversation(stored: list[dict[str, Any]], peers: list[ChatPeer]) -> None:
    """Zero lost, zero duplicated, seqs dense: what every peer sent is stored exactly once, and
    every peer holds exactly what is stored."""
    seqs = [m["seq"] for m in stored]
    assert seqs == list(range(1, len(stored) + 1)), "seqs are not dense"
    stored_ids = [(m["sender_id"], m["client_id"]) for m in stored]
    assert len(set(stored_ids)) == len(stored_ids), "a message is stored twice"
    sent = {(peer.account.id, cid) for peer in peers for cid in peer.sent}
    assert set(stored_ids) == sent, f"lost: {len(sent - set(stored_ids))}, unexpected: {len(set(stored_ids) - sent)}"
    for peer in peers:
        assert not peer.errors, peer.errors
        assert not peer.pending
        assert {seq: m["id"] for seq, m in peer.messages.items()} == {m["seq"]: m["id"] for m in stored}


def describe(peers: list[ChatPeer]) -> str:
    """The peers' state, for a test that timed out waiting on them."""
    return "\n".join(
        f"{p.account.role} {p.transport} on {p.url}: online={p._online.is_set()} connects={p.connects} "
        f"pending={len(p.pending)} held={len(p.messages)} resends={p.resends} refusals={dict(p.refusals)} errors={p.errors}"
        for p in peers
    )


async def chatter(peer: ChatPeer, until: asyncio.Event, at_least: int, in_flight_max: int = IN_FLIGHT) -> None:
    """Send steadily, a few messages in flight, until told to stop (and at least `at_least`)."""
    sent = 0
    in_flight: set[asyncio.Task] = set()
    while not until.is_set() or sent < at_least:
        if len(in_flight) >= in_flight_max:
            done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a refused send fails the chatter, and with it the test
            continue
        sent += 1
        in_flight.add(asyncio.create_task(peer.send(f"{peer.account.role} message {sent}")))
    if in_flight:
        await asyncio.gather(*in_flight)


async def finish(senders: list[asyncio.Task], peers: list[ChatPeer], timeout: float = 60) -> None:
    """Wait for the senders' last messages to be acknowledged."""
    done, waiting = await asyncio.wait(senders, timeout=timeout)
    assert not waiting, f"sends still unacknowledged after {timeout:g} s:\n{describe(peers)}"
    for task in done:
        task.result()
