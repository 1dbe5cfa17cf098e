"""Chat through faults: a web process killed mid-chat, and forced disconnects during steady chat.

Clients behave like the browser (tests/chat_peer.py): pending sends are resent with the same
client_id after a reconnect, and chat:sync fetches what was missed. Nothing may be lost or
stored twice, and seqs stay dense.
"""

from __future__ import annotations

import asyncio
import os
import signal

import aiohttp
import pytest

from tests.chat_peer import ChatPeer
from tests.chat_peer import chatter
from tests.chat_peer import check_conversation
from tests.chat_peer import finish
from tests.clients import Api
from tests.fault_stack import stack  # noqa: F401
from tests.fault_stack import patient_and_doctor
from tests.waiting import wait_until

# 1,000 forced disconnects over the two transports (500 each): the whole set of fault tests
# must stay within a few minutes on a 2-core machine.
DISCONNECTS = 500


FAULT_STACK_ENV = {"ENGAGE_SOCKET_EVENT_LIMITS": "chat:sync=1000000/10"}


async def settle(peers_by_conversation: dict[str, list[ChatPeer]]) -> None:
    """Every peer catches up; then each conversation is checked against what the server stored."""
    for peers in peers_by_conversation.values():
        for peer in peers:
            await peer.catch_up()
        stored = await peers[0].sync_all()
        check_conversation(stored, peers)


async def test_web_process_killed_mid_chat_loses_and_duplicates_nothing(stack):
    web_a = stack.start("web")
    web_b = stack.start("web")
    async with aiohttp.ClientSession() as session:
        api = Api(session, web_a.url)
        conversations = [await patient_and_doctor(api) for _ in range(2)]
    # Each conversation has one side on each process; a client of a dead process goes to the other.
    peers = {
        cid: [ChatPeer(patient, cid, [web_a.url, web_b.url]), ChatPeer(doctor, cid, [web_b.url, web_a.url])]
        for patient, doctor, cid in conversations
    }
    flipped = list(peers.values())[1]
    flipped[0].urls.reverse()
    flipped[1].urls.reverse()
    everyone = [peer for pair in peers.values() for peer in pair]
    for peer in everyone:
        await peer.start()
    on_a = [peer for peer in everyone if peer.url == web_a.url]
    assert len(on_a) == 2
    stop = asyncio.Event()
    senders = [asyncio.create_task(chatter(peer, stop, at_least=120)) for peer in everyone]
    try:
        # Kill A once chat is flowing through it, with sends of its clients still in flight.
        await wait_until(lambda: sum(len(p.messages) for p in on_a) >= 80, timeout=30, what="chat flowing through A")
        os.kill(web_a.process.pid, signal.SIGKILL)
        web_a.process.wait()
        await wait_until(lambda: all(p.url == web_b.url and p.connects == 2 for p in on_a), timeout=30, what="A's clients on B")
        stop.set()
        await finish(senders, everyone)
        await settle(peers)
        assert sum(p.resends for p in on_a) > 0  # messages were in flight when A died
    finally:
        stop.set()
        for task in senders:
            task.cancel()
        for peer in everyone:
            await peer.close()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_forced_disconnects_during_steady_chat(stack, transport):
    web = stack.start("web", ENGAGE_PING_INTERVAL="5", ENGAGE_PING_TIMEOUT="5")
    async with aiohttp.ClientSession() as session:
        api = Api(session, web.url)
        conversations = [await patient_and_doctor(api) for _ in range(2)]
    peers = {cid: [ChatPeer(patient, cid, [web.url], transport), ChatPeer(doctor, cid, [web.url], transport)] for patient, doctor, cid in conversations}
    everyone = [peer for pair in peers.values() for peer in pair]
    for peer in everyone:
        await peer.start()
    stop = asyncio.Event()
    senders = [asyncio.create_task(chatter(peer, stop, at_least=50, in_flight_max=1)) for peer in everyone]
    drops = 0
    try:
        # Cut every peer's connection again and again while it sends; a cut peer is back (and
        # caught up) before its next cut.
        async def cut(peer: ChatPeer, times: int) -> None:
            nonlocal drops
            for _ in range(times):
                await asyncio.wait_for(peer.drop_connection(), 30)
                drops += 1

        shares = [len(range(i, DISCONNECTS, len(everyone))) for i in range(len(everyone))]
        await asyncio.gather(*(cut(peer, share) for peer, share in zip(everyone, shares, strict=True)))
        stop.set()
        await finish(senders, everyone)
        await settle(peers)
    finally:
        stop.set()
        for task in senders:
            task.cancel()
        for peer in everyone:
            await peer.close()
    assert drops == DISCONNECTS
    assert sum(peer.connects for peer in everyone) == len(everyone) + DISCONNECTS
    assert sum(peer.resends for peer in everyone) > 0

