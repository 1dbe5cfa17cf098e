"""The database restarted under a running Engage (same port, same data directory).

Requests during the outage get 503 database_unavailable with Retry-After, not 500; chat sends
waiting in the writer are refused (clients resend them) or stored, never lost; and everything
(web, worker, scheduler) resumes without restarting Engage.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import redis

from engage import extensions

from tests.chat_peer import ChatPeer
from tests.chat_peer import chatter
from tests.chat_peer import check_conversation
from tests.chat_peer import finish
from tests.clients import Api
from tests.fault_stack import stack  # noqa: F401
from tests.fault_stack import health
from tests.fault_stack import patient_and_doctor
from tests.waiting import wait_until




@pytest.mark.timeout(360)  # an outage, a restart and the backlog of jobs queued meanwhile, on a busy machine
async def test_database_restart_answers_503_and_loses_no_chat_message(stack):
    web = stack.start("web")
    worker, scheduler = stack.start("worker"), stack.start("scheduler")
    async with aiohttp.ClientSession() as session:
        api = Api(session, web.url)
        patient, doctor, cid = await patient_and_doctor(api)
        peers = [ChatPeer(patient, cid, [web.url]), ChatPeer(doctor, cid, [web.url], "polling")]
        for peer in peers:
            await peer.start()
        stop = asyncio.Event()
        senders = [asyncio.create_task(chatter(peer, stop, at_least=40)) for peer in peers]
        try:
            await wait_until(lambda: len(peers[0].messages) >= 20, timeout=30, what="chat flowing")
            stack.stop_mongo()
            outage = await api.get("/api/conversations", token=patient.access_token)
            assert outage.status == 503, outage.body
            assert outage.error_code == "database_unavailable"
            assert int(outage.headers["Retry-After"]) > 0
            status, body = await health(web.url)
            assert status == 503 and body["down"] == ["mongodb"]
            # Sends keep coming during the outage; the writer refuses them and the clients resend.
            refused_before = sum(p.resends for p in peers)
            await wait_until(lambda: sum(p.resends for p in peers) > refused_before, timeout=30, what="refused sends")

            stack.start_mongo()
            await wait_until(lambda: _healthy(web.url), timeout=40, what="web healthy again")
            stop.set()
            await finish(senders, peers)
            for peer in peers:
                await peer.catch_up()
            check_conversation(await peers[0].sync_all(), peers)
            listing = await api.get("/api/conversations", token=patient.access_token)
            assert listing.status == 200
            # A job that reads the database runs on the worker that lived through the outage.
            connection = redis.Redis(port=stack.redis_port)
            job = extensions.queue("default", connection).enqueue("workers.vitals.scan_no_data")
            # Periodic scans the scheduler queued during the outage run (and fail) first; on a busy
            # machine that backlog takes a while, so the wait is generous and the failure says why.
            try:
                await wait_until(lambda: job.get_status(refresh=True) in ("finished", "failed"), timeout=180, what="job done")
            except AssertionError:
                raise AssertionError(f"job not done within 180 s; worker log:\n{worker.log_tail(80)}") from None
            assert job.get_status() == "finished", job.exc_info
            assert all(p.process.poll() is None for p in (web, worker, scheduler))  # the same processes throughout
        finally:
            stop.set()
            for task in senders:
                task.cancel()
            for peer in peers:
                await peer.close()


async def _healthy(url: str) -> bool:
    return (await health(url))[0] == 200

