"""Reconnect storm: N authenticated sockets connecting at once to one web process, beside the bare relay.

    python -m bench.connect_storm [--sockets 5000] [--clients 8] [--idle 5] [--servers relay,engage]

What every client does after a web process restarts: Engage's sockets connect with an access
token each (N distinct users, each with a conversation, so presence announces every one of them
as online); the bare python-socketio relay (bench/chat_relay.py) gets the same N sockets with
no authentication. Starts its own embedded MongoDB-compatible server, redis-server, one Engage
web process and one relay, on free loopback ports.

The users are cloned from one registered patient straight into the database and their tokens
minted with the app's JWT secret (one session each), so preparing 10,000 needs no password
hashing; the connect handler cannot tell them from logged-in users. The load comes from
--clients processes, each a minimal Engine.IO v4 / Socket.IO v5 websocket client (open
packet, CONNECT with auth, pong to pings): one Python process cannot open thousands of
python-socketio clients quickly, and the server does the same work for either.

For each server it prints: seconds from the start signal until the last socket was connected,
how many were refused or failed, the server process's RSS growth once all are connected and
idle (after --idle seconds) divided by the sockets connected (the memory of one idle socket),
and the database operations and Redis commands the storm cost per socket (the relay uses
neither; Engage's presence heartbeat adds a few in all). Then every socket closes and every
client connects again at once (a network blip: the server handles all the disconnects and all
the connects together), and it prints the seconds until all were back and the server's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import redis as redis_lib
from bson import ObjectId
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procstat import cpu_seconds  # noqa: E402
from bench.procstat import rss_bytes  # noqa: E402
from engage.embedded import die_with_parent  # noqa: E402
from engage.embedded import free_port  # noqa: E402
from engage.embedded import start_mongo  # noqa: E402
from engage.embedded import start_redis  # noqa: E402
from engage.lib.tokens import issue_access_token  # noqa: E402
from engage.lib.tokens import new_id  # noqa: E402
from tests.servers import ADMIN_EMAIL  # noqa: E402
from tests.servers import ADMIN_PASSWORD  # noqa: E402
from tests.servers import SECRET_KEY  # noqa: E402
from tests.servers import engage_env  # noqa: E402
from tests.servers import start_engage  # noqa: E402

PASSWORD = "bench-password-42"
TOKEN_TTL = 3600
CONNECT_TIMEOUT = 60.0  # seconds a socket may take from TCP connect to the server's CONNECT answer


def raise_fd_limit() -> None:
    """Sockets are file descriptors: take the hard limit (the servers inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _http(session: aiohttp.ClientSession, method: str, url: str, body: dict | None = None, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, url, json=body, headers=headers) as response:
        data = await response.json()
        if response.status >= 400:
            raise RuntimeError(f"{method} {url}: {response.status} {data}")
        return data


async def _register_seed(url: str) -> tuple[str, str, str]:
    """One real patient, one approved doctor and their conversation, through the API."""
    async with aiohttp.ClientSession() as session:
        admin = (await _http(session, "POST", f"{url}/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))["access_token"]
        ids = {}
        tokens = {}
        for role in ("patient", "doctor"):
            email = f"storm-seed-{role}-{uuid.uuid4().hex[:8]}@example.org"
            user = (await _http(session, "POST", f"{url}/api/auth/register", {"email": email, "password": PASSWORD, "name": f"Storm {role}", "role": role}))["user"]
            if role == "doctor":
                await _http(session, "POST", f"{url}/api/admin/doctors/{user['id']}/approve", token=admin)
            ids[role] = user["id"]
            tokens[role] = (await _http(session, "POST", f"{url}/api/auth/login", {"email": email, "password": PASSWORD}))["access_token"]
        conversation = (await _http(session, "POST", f"{url}/api/conversations", {"doctor_id": ids["doctor"]}, token=tokens["patient"]))["conversation"]
        return ids["patient"], ids["doctor"], conversation["id"]


def prepare_tokens(url: str, mongodb_url: str, db_name: str, count: int) -> list[str]:
    """`count` patients (clones of a registered one, each in a conversation with the seed doctor)
    and an access token of a session of their own for each."""
    patient_id, doctor_id, conversation_id = asyncio.run(_register_seed(url))
    with MongoClient(mongodb_url) as client:
        db = client[db_name]
        seed_user = db.users.find_one({"_id": ObjectId(patient_id)})
        seed_conversation = db.conversations.find_one({"_id": ObjectId(conversation_id)})
        users, conversations = [], []
        for n in range(count):
            uid = ObjectId()
            users.append({**seed_user, "_id": uid, "email": f"storm-{n}-{uid}@example.org"})
            conversations.append({**seed_conversation, "_id": ObjectId(), "patient_id": uid})
        for start in range(0, count, 1000):
            db.users.insert_many(users[start:start + 1000], ordered=False)
            db.conversations.insert_many(conversations[start:start + 1000], ordered=False)
    now = int(time.time())
    return [issue_access_token(SECRET_KEY, str(user["_id"]), "patient", new_id(), now, TOKEN_TTL) for user in users]


async def _client_storm(url: str, auths: list[dict], go, drop, results, stop) -> None:
    """Connect every socket as soon as `go` is set and report; at `drop` close them all and connect
    them again at once, and report; keep them open until `stop`."""
    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        readers: list[asyncio.Task] = []

        def new_outcome() -> dict:
            return {"connected": 0, "refused": 0, "failed": 0, "last": 0.0, "errors": {}}

        async def close_all() -> None:
            for task in readers:
                task.cancel()
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
            sockets.clear()
            readers.clear()

        outcome = new_outcome()

        async def keep_alive(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
                    await ws.send_str("3")  # Engine.IO pong

        async def handshake(auth: dict, stage: list[str]) -> aiohttp.ClientWebSocketResponse | None:
            """The open socket once the server accepted CONNECT; None if it refused it."""
            ws = await session.ws_connect(ws_url, autoping=True, max_msg_size=0)
            stage[0] = "open packet"
            opened = await ws.receive_str()
            if not opened.startswith("0"):
                raise RuntimeError(f"no open packet: {opened[:40]!r}")
            await ws.send_str("40" + json.dumps(auth))
            stage[0] = "CONNECT answer"
            while True:
                reply = await ws.receive_str()
                if reply == "2":
                    await ws.send_str("3")
                elif reply.startswith("40"):
                    return ws
                elif reply.startswith("44"):
                    await ws.close()
                    return None

        async def connect_one(auth: dict) -> None:
            stage = ["websocket upgrade"]  # where a socket that failed was waiting
            try:
                # A connect handler that failed leaves CONNECT unanswered while pings go on.
                ws = await asyncio.wait_for(handshake(auth, stage), CONNECT_TIMEOUT)
                if ws is None:
                    outcome["refused"] += 1
                    return
            except Exception as exc:  # noqa: BLE001 - counted and summarised by kind
                outcome["failed"] += 1
                kind = f"{type(exc).__name__} at {stage[0]}: {str(exc)[:80]}"
                outcome["errors"][kind] = outcome["errors"].get(kind, 0) + 1
                return
            outcome["connected"] += 1
            outcome["last"] = time.time()
            sockets.append(ws)
            readers.append(asyncio.create_task(keep_alive(ws)))

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, go.wait)
        await asyncio.gather(*(connect_one(auth) for auth in auths))
        results.put(outcome)
        # A network blip: every socket closes, and every client comes straight back.
        await loop.run_in_executor(None, drop.wait)
        await close_all()
        outcome = new_outcome()
        await asyncio.gather(*(connect_one(auth) for auth in auths))
        results.put(outcome)
        await loop.run_in_executor(None, stop.wait)
        await close_all()


def client_process(url: str, auths: list[dict], ready, go, drop, results, stop) -> None:
    raise_fd_limit()
    ready.put(os.getpid())
    asyncio.run(_client_storm(url, auths, go, drop, results, stop))


def wait_until_idle(pids: list[int], timeout: float = 300.0) -> float:
    """Seconds until these processes use under 5% of a core over half a second: a server still
    handling the last storm's disconnects would take CPU from the next storm."""
    began = time.time()
    while time.time() - began < timeout:
        before = [cpu_seconds(pid) for pid in pids]
        time.sleep(0.5)
        if all(cpu_seconds(pid) - b < 0.025 for pid, b in zip(pids, before, strict=True)):
            break
    return time.time() - began


def backend_ops(mongodb_url: str, redis_url: str) -> tuple[dict[str, int], dict[str, int]]:
    """Database operations and Redis commands served so far, by kind: what a storm asks of them."""
    with MongoClient(mongodb_url) as client:
        ops = {k: v for k, v in client.admin.command("serverStatus")["opcounters"].items() if k != "command"}
    with redis_lib.Redis.from_url(redis_url) as redis:
        commands = {k.removeprefix("cmdstat_"): v["calls"] for k, v in redis.info("commandstats").items()}
    return ops, commands


def per_socket(before: dict[str, int], after: dict[str, int], sockets: int) -> dict[str, float]:
    return {k: (v - before.get(k, 0)) / sockets for k, v in after.items() if v > before.get(k, 0)}


def storm(name: str, url: str, server_pid: int, auths: list[dict], clients: int, idle: float, backends: tuple[str, str],
          backend_pids: dict[str, int]) -> dict:
    """One storm against one server; returns its figures, with the CPU seconds each process spent
    from the start signal until the last socket was connected (the clients' included)."""
    ctx = multiprocessing.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    go, drop, stop = ctx.Event(), ctx.Event(), ctx.Event()
    shares = [auths[i::clients] for i in range(clients)]
    procs = [ctx.Process(target=client_process, args=(url, share, ready, go, drop, results, stop), daemon=True) for share in shares if share]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=60)
    time.sleep(1.0)  # the client processes reach their wait; the server settles
    rss_before = rss_bytes(server_pid)
    ops_before = backend_ops(*backends)
    watched = {"server": server_pid, **backend_pids, **{f"client {n}": proc.pid for n, proc in enumerate(procs)}}
    cpu_before = {label: cpu_seconds(pid) for label, pid in watched.items()}
    started = time.time()
    go.set()
    outcomes = [results.get(timeout=600) for _ in procs]
    cpu_used = {label: cpu_seconds(pid) - cpu_before[label] for label, pid in watched.items()}
    connected = sum(o["connected"] for o in outcomes)
    last = max((o["last"] for o in outcomes if o["connected"]), default=started)
    time.sleep(idle)  # connected and idle: the connect handlers' leftovers have run
    rss_after = rss_bytes(server_pid)
    # Both include the heartbeats and this function's own reads: a handful, against N sockets.
    ops_after = backend_ops(*backends)
    # The blip: from the drop until every socket is connected again (disconnects and connects at once).
    cpu_before_drop = {label: cpu_seconds(pid) for label, pid in watched.items()}
    dropped = time.time()
    drop.set()
    again = [results.get(timeout=600) for _ in procs]
    cpu_blip = {label: cpu_seconds(pid) - cpu_before_drop[label] for label, pid in watched.items()}
    stop.set()
    for proc in procs:
        proc.join(60)
        if proc.is_alive():
            proc.kill()
    settled = wait_until_idle([server_pid, *backend_pids.values()])
    errors: dict[str, int] = {}
    for o in outcomes:
        for kind, n in o["errors"].items():
            errors[kind] = errors.get(kind, 0) + n
    return {
        "name": name, "sockets": len(auths), "connected": connected, "seconds": last - started,
        "refused": sum(o["refused"] for o in outcomes), "failed": sum(o["failed"] for o in outcomes), "errors": errors,
        "kb_per_socket": (rss_after - rss_before) / max(connected, 1) / 1024, "rss_mb": rss_after / 2**20,
        "cpu": {"server": cpu_used["server"], **{label: cpu_used[label] for label in backend_pids},
                "clients": sum(v for label, v in cpu_used.items() if label.startswith("client "))},
        "reconnected": sum(o["connected"] for o in again),
        "reconnect_seconds": max((o["last"] for o in again if o["connected"]), default=dropped) - dropped,
        "reconnect_failed": sum(o["failed"] + o["refused"] for o in again),
        "reconnect_server_cpu": cpu_blip["server"],
        "settle_seconds": settled,
        "db_ops": per_socket(ops_before[0], ops_after[0], len(auths)), "redis_commands": per_socket(ops_before[1], ops_after[1], len(auths)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8, help="client processes sharing the sockets")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before reading the servers' RSS")
    parser.add_argument("--servers", default="relay,engage", help="which to storm, in order (comma-separated: relay, engage)")
    args = parser.parse_args()
    raise_fd_limit()

    tmp = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    mongo = start_mongo(":memory:")
    redis = start_redis(tmp / "redis")
    # The production ping interval: the tests' short one would keep idle sockets busy.
    env = engage_env(mongo.url, redis.url, ENGAGE_PING_INTERVAL="25", ENGAGE_PING_TIMEOUT="20", ENGAGE_LOG_LEVEL="warning")
    web = start_engage("web", env, tmp)
    relay_port = free_port()
    relay_log = open(tmp / "relay.log", "wb")
    relay = subprocess.Popen([sys.executable, str(ROOT / "bench" / "chat_relay.py"), str(relay_port)], stdout=relay_log, stderr=subprocess.STDOUT,
                             preexec_fn=die_with_parent)
    relay_url = f"http://127.0.0.1:{relay_port}"
    try:
        prepared = time.perf_counter()
        tokens = prepare_tokens(web.url, mongo.url, env["ENGAGE_DB_NAME"], args.sockets)
        print(f"logs in {tmp}")
        print(f"{args.sockets} users and tokens prepared in {time.perf_counter() - prepared:.1f} s; "
              f"{args.clients} client processes, {os.cpu_count()} cores shared by servers and clients")
        runs = [
            ("relay", relay_url, relay.pid, [{"room": f"relay-{n}"} for n in range(args.sockets)]),
            ("engage", web.url, web.process.pid, [{"token": token} for token in tokens]),
        ]
        print(f"{'server':<7} {'sockets':>7} {'connected':>9} {'all connected s':>15} {'refused':>7} {'failed':>6} {'KB/idle socket':>14} {'RSS MB':>7} "
              f"{'db ops/socket':>13} {'redis cmds/socket':>17}")
        figures = {}
        wanted = [name.strip() for name in args.servers.split(",")]
        unknown = set(wanted) - {name for name, *_ in runs}
        if unknown:
            parser.error(f"--servers: unknown {', '.join(sorted(unknown))}")
        for name, url, pid, auths in sorted((run for run in runs if run[0] in wanted), key=lambda run: wanted.index(run[0])):
            r = storm(name, url, pid, auths, args.clients, args.idle, (mongo.url, redis.url),
                      {"database": mongo.process.pid, "redis": redis.process.pid})
            figures[name] = r
            errors = "  " + ", ".join(f"{kind} x{n}" for kind, n in sorted(r["errors"].items())) if r["errors"] else ""
            print(f"{name:<7} {r['sockets']:>7} {r['connected']:>9} {r['seconds']:>15.2f} {r['refused']:>7} {r['failed']:>6} {r['kb_per_socket']:>14.1f} {r['rss_mb']:>7.0f} "
                  f"{sum(r['db_ops'].values()):>13.2f} {sum(r['redis_commands'].values()):>17.2f}{errors}", flush=True)
            print("        CPU seconds until all connected: " + ", ".join(f"{label} {v:.1f}" for label, v in r["cpu"].items()), flush=True)
            print(f"        drop and reconnect (every socket closes, every client comes back at once): {r['reconnected']} reconnected "
                  f"in {r['reconnect_seconds']:.2f} s, {r['reconnect_failed']} failed or refused, server CPU {r['reconnect_server_cpu']:.1f} s; "
                  f"idle {r['settle_seconds']:.1f} s after the clients closed", flush=True)
        e, b = figures.get("engage"), figures.get("relay")
        if e is None:
            return
        for label, counts in (("database operations", e["db_ops"]), ("Redis commands", e["redis_commands"])):
            top = ", ".join(f"{kind} {n:.2f}" for kind, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n >= 0.01)
            print(f"engage's {label} per socket: {top or 'none'}")
        if b is None:
            return
        print(f"engage/relay: connect time {e['seconds'] / max(b['seconds'], 1e-9):.2f}x, memory per idle socket {e['kb_per_socket'] / max(b['kb_per_socket'], 1e-9):.2f}x, "
              f"drop and reconnect {e['reconnect_seconds'] / max(b['reconnect_seconds'], 1e-9):.2f}x")
    finally:
        relay.terminate()
        web.stop()
        try:
            relay.wait(10)
        except subprocess.TimeoutExpired:
            relay.kill()
        redis.stop()
        mongo.stop()


if __name__ == "__main__":
    main()
