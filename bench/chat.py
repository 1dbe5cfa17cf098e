"""Chat benchmark: N pairs of real Socket.IO clients against Engage and against a bare relay.

    python bench/chat.py [--pairs 20] [--rates 3000,4000,5000,6000,8000,10000] [--duration 8] [--transports websocket,polling] [--repeat 1] [--two-processes]

Starts its own embedded MongoDB-compatible server and redis-server, one Engage web process
(`app.py web`) and one bare python-socketio relay (bench/chat_relay.py), then for each
transport and offered rate drives the same open-loop load (messages/s in total, spread over
2N clients, each message to its pair's other client) against both, one after the other.
It prints delivered messages/s, acks/s, end-to-end latency p50/p95/p99 (send to the other
client's chat:message), refused sends (server_busy), server CPU per acked message, and the
Engage/relay ratio at each rate and of the best rate each reached (saturation). It checks
that Engage stored every acked message with dense seqs. The load generator runs in a
separate process; the relay is stock python-socketio with no storage.

With --two-processes, Engage runs two web processes and every pair's patient is connected to
one and its doctor to the other, and the two send in turns (the doctor half an interval after
the patient), so each conversation is written by two processes at once. The relay then runs as
two processes too, joined by Redis like Engage's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.procstat import cpu_seconds
from engage.embedded import (
    die_with_parent,
    free_port,
    start_mongo,
    start_redis,
)

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
ADMIN = ("admin@bench.engage", "bench-admin-password-1")


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def http(method: str, url: str, body: dict | None = None, token: str | None = None) -> dict:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def make_pairs(base: str, count: int, doctor_base: str | None = None) -> list[dict]:
    admin = http("POST", f"{base}/api/auth/login", {"email": ADMIN[0], "password": ADMIN[1]})["access_token"]
    pairs = []
    for n in range(count):
        tokens = {}
        for role in ("patient", "doctor"):
            email = f"bench-{role}-{uuid.uuid4().hex[:8]}@example.org"
            user = http("POST", f"{base}/api/auth/register", {"email": email, "password": "bench-password-42", "name": f"{role} {n}", "role": role})["user"]
            if role == "doctor":
                http("POST", f"{base}/api/admin/doctors/{user['id']}/approve", token=admin)
            login = http("POST", f"{base}/api/auth/login", {"email": email, "password": "bench-password-42"})
            tokens[role] = (user["id"], login["access_token"])
        conversation = http("POST", f"{base}/api/conversations", {"doctor_id": tokens["doctor"][0]}, token=tokens["patient"][1])["conversation"]
        urls = {"patient": base, "doctor": doctor_base or base}  # where each participant connects
        pairs.append({"conversation_id": conversation["id"], "patient": tokens["patient"], "doctor": tokens["doctor"], "urls": urls})
    return pairs


async def drive(pairs: list[dict], transport: str, rate: float, duration: float, relay: bool, in_turns: bool) -> dict:
    """Open-loop load from 2N clients; returns counts and latencies measured after a warm-up."""
    import socketio
    from engineio.payload import Payload

    # Like a browser, take any number of packets per polling response (the Python client's
    # default of 16 aborts the connection under load).
    Payload.max_decode_packets = 100_000
    clients = []
    latencies: list[float] = []
    counters = {"delivered": 0, "acked": 0, "acked_total": 0, "refused": 0, "lost_clients": 0, "sent": 0}
    warmup = 1.0
    measure = {"start": 0.0, "end": 0.0}

    for pair in pairs:
        for role in ("patient", "doctor"):
            user_id, token = pair[role]
            client = socketio.AsyncClient(reconnection=False)

            def on_message(data, me=user_id):
                if data["sender_id"] == me:
                    return
                now = time.perf_counter()
                if measure["start"] <= now <= measure["end"]:
                    counters["delivered"] += 1
                    latencies.append(now - float(data["body"].split("|")[0]))

            client.on("chat:message", on_message)
            auth = {"room": pair["conversation_id"]} if relay else {"token": token}
            await client.connect(pair["urls"][role], auth=auth, transports=[transport], wait_timeout=20)
            clients.append((client, pair["conversation_id"], user_id))

    interval = len(clients) / rate
    t0 = time.perf_counter() + 0.2
    measure["start"] = t0 + warmup
    measure["end"] = t0 + warmup + duration

    def on_ack(ack=None):
        if isinstance(ack, dict) and ack.get("ok"):
            counters["acked_total"] += 1
            if measure["start"] <= time.perf_counter() <= measure["end"]:
                counters["acked"] += 1
        else:
            counters["refused"] += 1

    async def sender(index: int, client, conversation_id: str, user_id: str) -> None:
        if in_turns:
            # A pair's two clients alternate: the doctor (odd index) half an interval after the patient.
            next_at = t0 + interval * (index // 2) / len(pairs) + (interval / 2 if index % 2 else 0.0)
        else:
            next_at = t0 + interval * index / len(clients)
        n = 0
        while next_at < measure["end"]:
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            n += 1
            payload = {"conversation_id": conversation_id, "client_id": f"{user_id}-{n}-{uuid.uuid4().hex[:6]}", "body": f"{time.perf_counter()}|hello"}
            if relay:
                payload["sender_id"] = user_id
            try:
                await client.emit("chat:send", payload, callback=on_ack)
            except socketio.exceptions.SocketIOError:
                counters["lost_clients"] += 1  # the client lost its connection (an overloaded server or generator)
                return
            counters["sent"] += 1
            next_at += interval

    await asyncio.gather(*[sender(i, c, cid, uid) for i, (c, cid, uid) in enumerate(clients)])
    await asyncio.sleep(1.5)  # let in-flight messages land (they are outside the window anyway)
    for client, _, _ in clients:
        try:
            if transport == "polling":
                await client.eio.disconnect(abort=True)
            await client.disconnect()
        except Exception:
            pass
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(int(len(latencies) * p), len(latencies) - 1)] * 1000 if latencies else float("nan")

    return {
        "delivered_per_s": counters["delivered"] / duration,
        "acked_per_s": counters["acked"] / duration,
        "refused": counters["refused"],
        "lost_clients": counters["lost_clients"],
        "acked_total": counters["acked_total"],
        "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def drive_in_process(args: tuple) -> dict:
    started = time.process_time()
    result = asyncio.run(drive(*args))
    return {**result, "client_cpu_s": time.process_time() - started}


def stored_count(mongodb_url: str, pairs: list[dict]) -> int:
    """Messages stored in the benchmark's conversations: the sum of their newest seqs (seqs are
    dense), from the conversation activity, which the writer updates before it acks. Counting
    messages would make the embedded database scan the collection, which would land in the CPU
    figures."""
    from bson import ObjectId
    from pymongo import MongoClient

    with MongoClient(mongodb_url) as client:
        ids = [ObjectId(pair["conversation_id"]) for pair in pairs]
        found = client["engage_bench"]["conversation_activity"].find({"_id": {"$in": ids}}, {"last_seq": 1})
        return sum(doc.get("last_seq", 0) for doc in found)


def wait_until_stored(mongodb_url: str, pairs: list[dict], timeout: float = 60) -> None:
    """Wait until the stored message count stops moving (Engage has worked off what it accepted)."""
    deadline, last = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        count = stored_count(mongodb_url, pairs)
        if count == last:
            return
        last = count
        time.sleep(0.5)


def check_storage(mongodb_url: str, pairs: list[dict]) -> tuple[int, bool, int]:
    """Stored messages, whether seqs are dense 1..n in every conversation, and how many messages
    were stored twice (the same sender and client_id). Reads either layout: runs (several
    messages per document, before issue 17) or a document per message."""
    from pymongo import MongoClient

    with MongoClient(mongodb_url) as client:
        database = client["engage_bench"]
        seqs: dict[str, list[int]] = {pair["conversation_id"]: [] for pair in pairs}
        keys: list[tuple] = []
        if "message_runs" in database.list_collection_names():
            messages = (
                {**m, "conversation_id": run["conversation_id"]}
                for run in database["message_runs"].find({}, {"conversation_id": 1, "messages.seq": 1, "messages.sender_id": 1, "messages.client_id": 1})
                for m in run["messages"]
            )
        else:
            messages = database["chat_messages"].find({}, {"conversation_id": 1, "seq": 1, "sender_id": 1, "client_id": 1})
        for message in messages:  # one scan
            seqs.setdefault(str(message["conversation_id"]), []).append(message["seq"])
            keys.append((str(message["conversation_id"]), str(message["sender_id"]), message["client_id"]))
        dense = all(sorted(found) == list(range(1, len(found) + 1)) for found in seqs.values())
        return sum(len(found) for found in seqs.values()), dense, len(keys) - len(set(keys))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20)
    # Up to 10,000: on a fast day the relay still delivered all of 8,000 on polling, and a ratio
    # "at saturation" needs both servers past their best.
    parser.add_argument("--rates", default="3000,4000,5000,6000,8000,10000", help="offered messages/s in total, one run per rate")
    parser.add_argument("--duration", type=float, default=8)
    parser.add_argument("--transports", default="websocket,polling")
    parser.add_argument("--repeat", type=int, default=1, help="runs per rate and server; medians count")
    parser.add_argument("--relay-redis", action="store_true", help="give the relay the same Redis manager as Engage")
    parser.add_argument("--two-processes", action="store_true", help="two web processes; each pair's participants on different ones, sending in turns")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    mongo = start_mongo(tmp / "mongo")
    redis = start_redis(tmp / "redis")
    procs: list[subprocess.Popen] = []
    try:
        engage_port, relay_port = free_port(), free_port()
        relay_redis = args.relay_redis or args.two_processes  # two relays reach each other's sockets only through Redis
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_")},
            "MONGODB_URL": mongo.url, "REDIS_URL": redis.url, "PORT": str(engage_port), "ENGAGE_DB_NAME": "engage_bench",
            "ENGAGE_SECRET_KEY": SECRET, "ENGAGE_ADMIN_EMAIL": ADMIN[0], "ENGAGE_ADMIN_PASSWORD": ADMIN[1],
            "ENGAGE_CHAT_RATE_LIMIT": "1000000000", "ENGAGE_LOG_LEVEL": "warning",
            # Every account comes from 127.0.0.1, and none verifies its address.
            "ENGAGE_REGISTER_LIMIT_PER_ADDRESS_HOUR": "1000000", "ENGAGE_REQUIRE_VERIFIED_EMAIL": "false", "ENGAGE_REQUIRE_VERIFIED_PHONE": "false",
        }
        log = open(tmp / "web.log", "wb")
        procs.append(subprocess.Popen([sys.executable, str(ROOT / "app.py"), "web"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent))
        relay_cmd = [sys.executable, str(ROOT / "bench" / "chat_relay.py"), str(relay_port)] + ([redis.url] if relay_redis else [])
        procs.append(subprocess.Popen(relay_cmd, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent))
        engage_url, relay_url = f"http://127.0.0.1:{engage_port}", f"http://127.0.0.1:{relay_port}"
        engage_url2, relay_url2 = engage_url, relay_url
        if args.two_processes:
            engage_port2, relay_port2 = free_port(), free_port()
            procs.append(subprocess.Popen([sys.executable, str(ROOT / "app.py"), "web"], env={**env, "PORT": str(engage_port2)}, cwd=ROOT,
                                          stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent))
            relay_cmd2 = [sys.executable, str(ROOT / "bench" / "chat_relay.py"), str(relay_port2), redis.url]
            procs.append(subprocess.Popen(relay_cmd2, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent))
            engage_url2, relay_url2 = f"http://127.0.0.1:{engage_port2}", f"http://127.0.0.1:{relay_port2}"
        for url in {engage_url, engage_url2}:
            wait_http(url + "/healthz")
        for url in {relay_url, relay_url2}:
            wait_http(url + "/socket.io/?EIO=4&transport=polling")
        pairs = make_pairs(engage_url, args.pairs, engage_url2)
        relay_pairs = [{**p, "conversation_id": f"relay-{i}", "urls": {"patient": relay_url, "doctor": relay_url2}} for i, p in enumerate(pairs)]
        rates = [float(rate) for rate in args.rates.split(",")]
        mode = "two web processes, each pair's participants on different ones, sending in turns" if args.two_processes else "one web process"
        print(f"{args.pairs} pairs ({2 * args.pairs} clients), {mode}, {args.duration:.0f} s per run, {os.cpu_count()} cores shared by servers and load generator")
        print(f"{'transport':<10} {'offered':>7} {'server':<7} {'delivered/s':>11} {'acked/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'refused':>7} {'server CPU ms/msg':>17} {'client':>6}")
        # The server side of each run: the relay alone; Engage's web process, database and Redis.
        # With two processes: web is both web processes' CPU, and the relay's is both relays'.
        webs, relays = [procs[0].pid] + [p.pid for p in procs[2:3]], [procs[1].pid] + [p.pid for p in procs[3:4]]
        server_pids = {"relay": relays, "engage": [webs, [mongo.process.pid], [redis.process.pid]]}
        ctx = multiprocessing.get_context("spawn")

        def server_groups(name: str) -> list[list[int]]:
            return [server_pids["relay"]] if name == "relay" else server_pids["engage"]

        def group_cpu(pids: list[int]) -> float:
            return sum(cpu_seconds(pid) for pid in pids)

        def run_once(name: str, transport: str, rate: float) -> float:
            """One run against the relay or Engage; prints its row, returns delivered/s."""
            plist = relay_pairs if name == "relay" else pairs
            stored_before = stored_count(mongo.url, pairs)
            cpu_before = [group_cpu(group) for group in server_groups(name)]
            idle_before = [group_cpu(group) for group in server_groups("engage")]
            with ctx.Pool(1) as pool:
                r = pool.apply(drive_in_process, ((plist, transport, rate, args.duration, name == "relay", args.two_processes),))
            if name == "engage":
                wait_until_stored(mongo.url, pairs)  # a backlog must not spill into the next run
            # The whole run (connect, warm-up, window, drain), over the messages the relay
            # acked or Engage stored (under overload some acks outlive the run).
            cpu_used = [group_cpu(group) - before for group, before in zip(server_groups(name), cpu_before, strict=True)]
            handled = max(r["acked_total"] if name == "relay" else stored_count(mongo.url, pairs) - stored_before, 1)
            cpu_per_msg = sum(cpu_used) * 1000 / handled
            cpu_split = "" if name == "relay" else " (web {:.3f}, database {:.3f}, redis {:.3f})".format(*(c * 1000 / handled for c in cpu_used))
            lost = f"  {r['lost_clients']} clients lost" if r["lost_clients"] else ""
            if name == "relay":
                # Engage is idle during the relay's run; CPU it uses anyway competes with the relay.
                busy = [group_cpu(group) - before for group, before in zip(server_groups("engage"), idle_before, strict=True)]
                if relay_redis:
                    busy[2] = 0.0  # the relays use the same Redis
                if sum(busy) > 0.5:
                    lost += "  (Engage's idle servers used {:.1f} s CPU meanwhile: web {:.1f}, database {:.1f}, redis {:.1f})".format(sum(busy), *busy)
            print(f"{transport:<10} {rate:>7.0f} {name:<7} {r['delivered_per_s']:>11.0f} {r['acked_per_s']:>8.0f} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['refused']:>7} {cpu_per_msg:>17.3f} {r['client_cpu_s'] * 1000 / handled:>6.3f}{cpu_split}{lost}", flush=True)
            return r["delivered_per_s"]

        for transport in args.transports.split(","):
            best = {"relay": 0.0, "engage": 0.0}
            for rate in rates:
                # With --repeat, relay and Engage runs alternate and the medians count: the two
                # cores are shared with the load generator, and single runs vary by 10-20%.
                delivered = {"relay": [], "engage": []}
                for _ in range(args.repeat):
                    for name in ("relay", "engage"):
                        delivered[name].append(run_once(name, transport, rate))
                median = {name: statistics.median(values) for name, values in delivered.items()}
                for name in best:
                    best[name] = max(best[name], median[name])
                label = f"median of {args.repeat} " if args.repeat > 1 else ""
                ratio = median["engage"] / max(median["relay"], 1e-9)
                print(f"{transport:<10} {rate:>7.0f} engage/relay {label}delivered ratio: {ratio:.2f}", flush=True)
            print(f"{transport:<10} best delivered/s: relay {best['relay']:.0f}, engage {best['engage']:.0f}; ratio at saturation {best['engage'] / max(best['relay'], 1e-9):.2f}", flush=True)
            if best["relay"] >= 0.97 * max(rates):
                print(f"{transport:<10} the relay kept up with the highest rate offered: its best is higher, and this ratio overstates Engage's; add a higher --rates", flush=True)
        stored, dense, repeated = check_storage(mongo.url, pairs)
        print(f"Engage stored {stored} messages; seqs dense 1..n in every conversation: {dense}; stored twice: {repeated}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis.stop()
        mongo.stop()


if __name__ == "__main__":
    main()
