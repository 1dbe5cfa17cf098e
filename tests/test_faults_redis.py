"""Redis restarted under a running Engage (same port, same append-only file).

Every web process's Socket.IO listener subscribes again (and /healthz says so while it is not),
events cross processes again, rate limits and typing work again, RQ jobs queued before the
restart still run, and the worker and scheduler carry on without being restarted.
"""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import redis
from rq import Worker
from rq.suspension import resume
from rq.suspension import suspend

from engage import extensions
from engage.extensions import SOCKETIO_CHANNEL
from engage.scheduler import LOCK_KEY
from tests.chat_peer import ChatPeer
from tests.chat_peer import check_conversation
from tests.clients import Api
from tests.clients import RecordingClient
from tests.fault_stack import FaultStack
from tests.fault_stack import stack  # noqa: F401
from tests.fault_stack import health
from tests.fault_stack import patient_and_doctor
from tests.waiting import wait_until

JOBS_PER_QUEUE = 5



def sync_redis(stack: FaultStack) -> redis.Redis:
    return redis.Redis(port=stack.redis_port)


async def healthy(url: str) -> bool:
    return (await health(url))[0] == 200


async def test_redis_restart_resubscribes_listeners_and_keeps_queued_jobs(stack):
    web_a, web_b = stack.start("web"), stack.start("web")
    worker, scheduler = stack.start("worker"), stack.start("scheduler")
    queued = sync_redis(stack)
    assert queued.pubsub_numsub(SOCKETIO_CHANNEL) == [(SOCKETIO_CHANNEL.encode(), 2)]
    await wait_until(lambda: bool(Worker.all(connection=queued)) and queued.exists(LOCK_KEY), timeout=60, what="worker and scheduler up")
    # Jobs waiting when Redis goes down: the running worker is told to take none until after. A
    # worker already waiting in its dequeue takes one more job first: give it one, and go on once
    # it says it is suspended.
    suspend(queued)
    extensions.queue("default", queued).enqueue("tests.fault_jobs.record", "warm-up", "taken")
    await wait_until(lambda: any(w.get_state() == "suspended" for w in Worker.all(connection=queued)), timeout=30, what="worker suspended")
    for name in extensions.QUEUE_NAMES:
        queue = extensions.queue(name, queued)
        for i in range(JOBS_PER_QUEUE):
            queue.enqueue("tests.fault_jobs.record", "ran", f"{name}-{i}")
    queued.close()

    async with aiohttp.ClientSession() as session:
        api_a = Api(session, web_a.url)
        patient, doctor, cid = await patient_and_doctor(api_a)
        sender = ChatPeer(patient, cid, [web_a.url])
        receiver = RecordingClient("websocket")
        await sender.start()
        await receiver.connect(web_b.url, doctor.access_token)
        await sender.send("before the restart")
        await receiver.wait_for("chat:message", lambda m: m["body"] == "before the restart")

        stack.stop_redis()
        for web in (web_a, web_b):
            status, body = await health(web.url)
            assert status == 503 and body["down"] == ["redis"], body
        resp = await api_a.post("/api/auth/login", {"email": patient.email, "password": patient.password})
        assert resp.status == 503 and resp.error_code == "service_unavailable", resp.body
        assert resp.headers["Retry-After"].isdigit()
        # A send during the outage waits in the client (it keeps it pending and resends).
        during = asyncio.create_task(sender.send("during the outage"))

        stack.start_redis()
        await wait_until(lambda: _all_healthy(web_a.url, web_b.url), timeout=40, what="both webs healthy again")
        assert sync_redis(stack).pubsub_numsub(SOCKETIO_CHANNEL) == [(SOCKETIO_CHANNEL.encode(), 2)]
        await asyncio.wait_for(during, 30)

        # Cross-process delivery, rate-limited sends and typing all work again.
        after = await sender.send("after the restart")
        await receiver.wait_for("chat:message", lambda m: m["id"] == after["id"], timeout=10)
        await sender.sio.emit("chat:typing", {"conversation_id": cid, "typing": True})
        await receiver.wait_for("chat:typing", lambda e: e["typing"] and e["conversation_id"] == cid, timeout=10)
        resp = await api_a.post("/api/auth/login", {"email": patient.email, "password": patient.password})
        assert resp.status == 200, resp.body
        await sender.catch_up()
        check_conversation(await sender.sync_all(), [sender])
        await sender.close()
        await receiver.close()

    # The worker and scheduler that lived through the restart carry on: no process restarted.
    recorded = sync_redis(stack)
    assert recorded.llen("ran") == 0
    resume(recorded)
    expected = sorted(f"{name}-{i}" for name in extensions.QUEUE_NAMES for i in range(JOBS_PER_QUEUE))
    await wait_until(lambda: recorded.llen("ran") >= len(expected), timeout=60, what="queued jobs run")
    assert sorted(v.decode() for v in recorded.lrange("ran", 0, -1)) == expected
    await wait_until(lambda: recorded.get(LOCK_KEY) == f"{socket.gethostname()}:{scheduler.process.pid}".encode(), timeout=30, what="scheduler lock")
    assert worker.process.poll() is None and scheduler.process.poll() is None


async def test_healthz_names_a_dead_socketio_listener_until_it_resubscribes(stack):
    web = stack.start("web")
    client = sync_redis(stack)
    (listener,) = [c for c in client.client_list(_type="pubsub") if c["name"].startswith("engage-socketio-")]
    # Cut the listener's connection and keep it from subscribing again (Redis refuses every
    # channel) until /healthz has been seen naming it.
    client.execute_command("ACL", "SETUSER", "default", "resetchannels")
    client.client_kill_filter(_id=listener["id"])
    try:
        status, body = await wait_until(lambda: _named(web.url, "socketio_listener"), timeout=20, what="listener named down")
    finally:
        client.execute_command("ACL", "SETUSER", "default", "allchannels")
    assert status == 503 and body["down"] == ["socketio_listener"]
    await wait_until(lambda: healthy(web.url), timeout=40, what="listener back")
    assert client.pubsub_numsub(SOCKETIO_CHANNEL) == [(SOCKETIO_CHANNEL.encode(), 1)]


async def _named(url: str, name: str):
    status, body = await health(url)
    return (status, body) if name in body.get("down", []) else None


async def _all_healthy(*urls: str) -> bool:
    return all(await asyncio.gather(*(healthy(url) for url in urls)))

