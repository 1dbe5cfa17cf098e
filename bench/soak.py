"""Soak: a clinic's mixed load for a long time; does anything grow, fail or slow down?

    python bench/soak.py [--minutes 30] [--idle-sockets 2000] [--chat-rate 200] [--pairs 20]

Starts its own embedded MongoDB-compatible server (on disk) and redis-server, runs `app.py
migrate`, then one Engage web process, one worker and one scheduler (the real SMS and email SDKs
pointed at a local capture server), and drives at once, for --minutes:

- idle sockets: --idle-sockets authenticated connections (20 per account, websocket and polling),
  from a process of their own, refreshing their tokens on auth:expiring as the browser does;
- chat: --pairs patient-doctor pairs sending --chat-rate messages/s in all, the two sides taking
  turns; latency is from chat:send to the other side's chat:message;
- vitals: each pair's patient submits a reading every 2 s (heart rate and SpO2 in turn), watched by the doctor; latency is
  from vitals:submit to the doctor's vitals:reading;
- bookings: 2 a second on random slots of 10 doctors (some collide: a 409 is an answer, not an
  error), half of the booked ones cancelled again;
- reminders: 200 SMS come due every minute (inserted as the outbox's queued notifications), sent
  by the worker; latency is from due to the capture server's receipt.

Every minute it prints each process's RSS and the error counts; every 5 minutes, p99 per
operation for those 5 minutes. At the end: RSS growth from the end of the warm-up (minute 2) to
the end, errors, losses (a chat message acked but never received, a reading never delivered, a
reminder never sent) and duplicates (a reminder sent twice), and the p99s side by side. Goal
(issue 22): RSS flat within 10% after warm-up, zero errors, zero losses, p99 stable.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections import defaultdict
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import aiohttp
import engineio
import socketio
from bson import ObjectId
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engage.embedded import start_mongo  # noqa: E402
from engage.embedded import start_redis  # noqa: E402
from tests.notify_stack import stack_env  # noqa: E402
from tests.provider_server import ProviderServer  # noqa: E402
from tests.servers import ADMIN_EMAIL  # noqa: E402
from tests.servers import ADMIN_PASSWORD  # noqa: E402
from tests.servers import engage_env  # noqa: E402
from tests.servers import run_app  # noqa: E402
from tests.servers import start_engage  # noqa: E402

DB = "engage_soak"
PASSWORD = "soak-password-42"
ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]
SOCKETS_PER_IDLE_ACCOUNT = 20
REMINDERS_PER_MINUTE = 200
WINDOW_SECONDS = 300


def raise_fd_limit() -> None:
    """Thousands of sockets need thousands of file descriptors: the soft limit up to the hard one."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


class Figures:
    """Latencies per operation per 5-minute window, errors by kind, and what was sent and seen."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.latencies: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.errors: Counter = Counter()

    def window(self) -> int:
        return int((time.monotonic() - self.started) // WINDOW_SECONDS)

    def took(self, operation: str, ms: float) -> None:
        self.latencies[self.window()][operation].append(ms)

    def error(self, kind: str) -> None:
        self.errors[kind] += 1


# ---- accounts -----------------------------------------------------------------------------


class Http:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url

    async def call(self, method: str, path: str, body=None, token: str | None = None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with self.session.request(method, self.url + path, json=body, headers=headers) as resp:
                return resp.status, await resp.json(content_type=None)
        except aiohttp.ServerDisconnectedError:
            # A kept-alive connection the server closed as idle just as we reused it: once more, on a new one.
            async with self.session.request(method, self.url + path, json=body, headers=headers) as resp:
                return resp.status, await resp.json(content_type=None)


async def account(http: Http, role: str, admin_token: str, clinic_id: str | None = None) -> dict:
    email = f"soak-{role}-{uuid.uuid4().hex[:10]}@example.org"
    status, body = await http.call("POST", "/api/auth/register", {"email": email, "password": PASSWORD, "name": f"Soak {role}", "role": role})
    assert status == 201, body
    user_id = body["user"]["id"]
    if role == "doctor":
        assert (await http.call("POST", f"/api/admin/doctors/{user_id}/approve", token=admin_token))[0] == 200
        status, body = await http.call("PATCH", f"/api/doctors/{user_id}", {"clinic_id": clinic_id, "specialties": ["soak"]}, token=admin_token)
        assert status == 200, body
    status, body = await http.call("POST", "/api/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200, body
    return {"id": user_id, "token": body["access_token"], "refresh": body["refresh_token"]}


class Session:
    """An account's tokens, refreshed once for all of its sockets when the server says they expire.
    A refresh the server refuses (over HTTP, or a socket's auth:refresh ack) is counted by kind:
    the socket would be dropped at its token's expiry, and the count says why."""

    def __init__(self, http: Http, acct: dict) -> None:
        self.http, self.acct = http, acct
        self.sockets: list[socketio.AsyncClient] = []
        self._refreshing: asyncio.Task | None = None
        self.refusals: Counter = Counter()

    def on_expiring(self) -> None:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._refresh())

    async def _refresh(self) -> None:
        status, body = await self.http.call("POST", "/api/auth/refresh", {"refresh_token": self.acct["refresh"]})
        if status != 200:
            self.refusals[f"refresh_{body.get('error', {}).get('code', status)}"] += 1
            return
        self.acct.update(token=body["access_token"], refresh=body["refresh_token"])
        for sio in self.sockets:
            if sio.connected:
                ack = await sio.call("auth:refresh", {"token": body["access_token"]}, timeout=30)
                if not ack.get("ok"):
                    self.refusals[f"auth_refresh_{ack.get('error', {}).get('code', 'refused')}"] += 1


def socket_client(session: Session, on_event=None) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False)

    @sio.on("auth:expiring")
    async def expiring(_data=None) -> None:
        session.on_expiring()

    if on_event is not None:
        sio.on("*", on_event)
    session.sockets.append(sio)
    return sio


# ---- idle sockets, in a process of their own ------------------------------------------------


def idle_process(url: str, accounts: list[dict], connected, lost, refused, ready, stop) -> None:
    raise_fd_limit()
    engineio.payload.Payload.max_decode_packets = 1000

    async def main() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http_session:
            http = Http(http_session, url)
            clients = []
            sessions = []
            for n, acct in enumerate(accounts):
                session = Session(http, acct)
                sessions.append(session)
                for i in range(SOCKETS_PER_IDLE_ACCOUNT):
                    sio = socket_client(session)
                    transport = "polling" if (n * SOCKETS_PER_IDLE_ACCOUNT + i) % 10 == 0 else "websocket"

                    @sio.event
                    async def disconnect(*_args) -> None:
                        if not stop.is_set():
                            with lost.get_lock():
                                lost.value += 1

                    clients.append((sio, session, transport))
            gate = asyncio.Semaphore(200)

            async def connect(sio, session, transport) -> None:
                async with gate:
                    await sio.connect(url, auth=lambda: {"token": session.acct["token"]}, transports=[transport], wait_timeout=60)
                with connected.get_lock():
                    connected.value += 1

            await asyncio.gather(*(connect(*c) for c in clients), return_exceptions=True)
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.5)
            await asyncio.gather(*(sio.disconnect() for sio, _, _ in clients), return_exceptions=True)
            refused.value = sum(sum(session.refusals.values()) for session in sessions)

    asyncio.run(main())


# ---- the active load ------------------------------------------------------------------------


class Pair:
    def __init__(self, conversation_id: str, patient: Session, doctor: Session) -> None:
        self.conversation_id, self.patient, self.doctor = conversation_id, patient, doctor
        self.sent: dict[str, float] = {}  # client_id -> monotonic send time, until received
        self.acked: set[str] = set()
        self.readings_sent: dict[str, float] = {}  # reading id -> submit time
        self.readings_seen: dict[str, float] = {}  # reading id -> arrival (may precede the ack)


async def chat_turns(pair: Pair, sockets: dict[str, socketio.AsyncClient], rate: float, figures: Figures, until: float) -> None:
    """The pair's two sides send in turns, `rate` messages/s between them."""
    turn = 0
    next_at = time.monotonic() + random.random() / rate
    while time.monotonic() < until:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at += 1 / rate
        side = "patient" if turn % 2 == 0 else "doctor"
        turn += 1
        client_id = uuid.uuid4().hex
        pair.sent[client_id] = time.monotonic()
        try:
            ack = await sockets[side].call("chat:send", {"conversation_id": pair.conversation_id, "client_id": client_id, "body": f"soak {turn}"}, timeout=30)
        except Exception:
            figures.error("chat_send_timeout")
            continue
        if ack.get("ok"):
            pair.acked.add(client_id)
        else:
            figures.error(f"chat_{ack.get('error', {}).get('code', 'refused')}")
            pair.sent.pop(client_id, None)


# Alternated: a reading of the same type within 2 s of another is a duplicate (answered with the
# first one's id, no event), and one type every 2 s by the wall clock sometimes lands on that edge.
VITALS = (("heart_rate", 60, 90), ("spo2", 95, 99))


async def vitals_loop(pair: Pair, patient_socket: socketio.AsyncClient, figures: Figures, until: float) -> None:
    await asyncio.sleep(random.random() * 2)
    turn = 0
    while time.monotonic() < until:
        began = time.monotonic()
        taken_at = (datetime.now(UTC) - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
        vital_type, low, high = VITALS[turn % len(VITALS)]
        turn += 1
        try:
            ack = await patient_socket.call("vitals:submit", {"type": vital_type, "value": random.randint(low, high), "taken_at": taken_at}, timeout=30)
        except Exception:
            figures.error("vitals_submit_timeout")
            ack = {}
        if ack.get("ok") and ack.get("status") == "duplicate":
            figures.error("vitals_duplicate")  # no event comes for it: not a loss, but not expected either
        elif ack.get("ok"):
            reading_id = ack["id"]
            seen = pair.readings_seen.pop(reading_id, None)
            if seen is not None:
                figures.took("vitals", (seen - began) * 1000)
            else:
                pair.readings_sent[reading_id] = began
        elif ack:
            figures.error(f"vitals_{ack.get('error', {}).get('code', 'refused')}")
        await asyncio.sleep(max(0.0, 2 - (time.monotonic() - began)))


async def booking_loop(http: Http, patients: list[Session], doctors: list[str], figures: Figures, until: float) -> None:
    day0 = datetime.combine((datetime.now(UTC) + timedelta(days=2)).date(), datetime.min.time(), tzinfo=UTC)

    async def one() -> None:
        patient = random.choice(patients)
        start = (day0 + timedelta(minutes=30 * random.randrange(48 * 28))).isoformat().replace("+00:00", "Z")
        body = {"doctor_id": random.choice(doctors), "start": start, "client_id": uuid.uuid4().hex}
        began = time.monotonic()
        status, answer = await http.call("POST", "/api/appointments", body, token=patient.acct["token"])
        figures.took("booking", (time.monotonic() - began) * 1000)
        if status == 201 and random.random() < 0.5:
            began = time.monotonic()
            status, answer = await http.call("POST", f"/api/appointments/{answer['appointment']['id']}/cancel", {"reason": "soak"}, token=patient.acct["token"])
            figures.took("cancel", (time.monotonic() - began) * 1000)
            if status != 200:
                figures.error(f"cancel_{status}")
        elif status not in (201, 409):
            figures.error(f"booking_{status}")

    tasks = set()
    while time.monotonic() < until:
        for _ in range(2):
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.sleep(1)
    await asyncio.gather(*tasks, return_exceptions=True)


def reminder_wave(db, minute: int) -> tuple[datetime, list[str]]:
    """REMINDERS_PER_MINUTE queued SMS to numbers of their own, due now."""
    now = datetime.now(UTC)
    phones = [f"+1415{3000000 + minute * REMINDERS_PER_MINUTE + i:07d}" for i in range(REMINDERS_PER_MINUTE)]
    users = [{"_id": ObjectId(), "email": f"soak-r{p[1:]}@example.org", "password_hash": "x", "name": "Soak reminder", "role": "patient",
              "approved": True, "active": True, "email_verified": True, "phone": p, "phone_verified": True, "timezone": "UTC", "created_at": now}
             for p in phones]
    db.users.insert_many(users)
    db.notifications.insert_many([
        {"recipient_id": u["_id"], "channel": "sms", "kind": "medication_reminder", "category": "reminders", "template": "medication_reminder/sms",
         "context": {"schedule_id": "s"}, "idempotency_key": f"soak:{u['_id']}", "critical": False, "status": "queued", "due_at": now,
         "attempts": 0, "enqueued_at": None, "created_at": now, "updated_at": now}
        for u in users
    ])
    return now, phones


async def drive(args, url: str, env: dict, provider: ProviderServer, processes: dict[str, int]) -> int:
    engineio.payload.Payload.max_decode_packets = 1000
    mongo = MongoClient(env["MONGODB_URL"], tz_aware=True)
    db = mongo[DB]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100), timeout=aiohttp.ClientTimeout(total=60)) as http_session:
        http = Http(http_session, url)
        status, body = await http.call("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        admin_token = body["access_token"]
        status, body = await http.call("POST", "/api/admin/clinics", {"name": "Soak clinic", "timezone": "UTC"}, token=admin_token)
        clinic_id = body["clinic"]["id"]
        print("setting up accounts (password hashing is slow on purpose) ...", flush=True)
        doctors = [await account(http, "doctor", admin_token, clinic_id) for _ in range(10)]
        for doctor in doctors:
            status, body = await http.call("PUT", f"/api/doctors/{doctor['id']}/availability", {"slot_minutes": 30, "weekly": ALL_DAY}, token=doctor["token"])
            assert status == 200, body
        patients = []
        for _ in range(0, args.pairs, 5):
            patients += await asyncio.gather(*(account(http, "patient", admin_token) for _ in range(5)))
        patients = patients[: args.pairs]
        idle_accounts = []
        for _ in range(0, max(1, args.idle_sockets // SOCKETS_PER_IDLE_ACCOUNT), 5):
            idle_accounts += await asyncio.gather(*(account(http, "patient", admin_token) for _ in range(5)))
        idle_accounts = idle_accounts[: max(1, args.idle_sockets // SOCKETS_PER_IDLE_ACCOUNT)]

        # Idle sockets first, from their own process.
        connected, lost, refused = multiprocessing.Value("i", 0), multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
        ready, stop = multiprocessing.Event(), multiprocessing.Event()
        idle = multiprocessing.Process(target=idle_process, args=(url, idle_accounts, connected, lost, refused, ready, stop), daemon=True)
        idle.start()
        ready.wait(timeout=300)
        print(f"idle sockets connected: {connected.value} of {len(idle_accounts) * SOCKETS_PER_IDLE_ACCOUNT}", flush=True)

        # Pairs: the patient opens a conversation with a doctor (which makes the doctor their care team).
        pairs: list[Pair] = []
        pair_sockets: list[dict[str, socketio.AsyncClient]] = []
        for n, patient in enumerate(patients):
            doctor = doctors[n % len(doctors)]
            status, body = await http.call("POST", "/api/conversations", {"doctor_id": doctor["id"]}, token=patient["token"])
            assert status in (200, 201), body
            pair = Pair(body["conversation"]["id"], Session(http, patient), Session(http, dict(doctor)))
            pairs.append(pair)
        figures = Figures(time.monotonic())
        for n, pair in enumerate(pairs):
            transport = "polling" if n % 4 == 3 else "websocket"

            def on_message(side: str, pair=pair):
                async def handler(event: str, data=None) -> None:
                    if event == "chat:message" and data.get("conversation_id") == pair.conversation_id:
                        sent = pair.sent.pop(data["client_id"], None)
                        if sent is not None and data["sender_id"] != (pair.patient.acct["id"] if side == "patient" else pair.doctor.acct["id"]):
                            figures.took("chat", (time.monotonic() - sent) * 1000)
                        elif sent is not None:
                            pair.sent[data["client_id"]] = sent  # our own echo: wait for the other side's
                    elif event == "vitals:reading" and side == "doctor":
                        reading_id = data["reading"]["id"]
                        began = pair.readings_sent.pop(reading_id, None)
                        if began is not None:
                            figures.took("vitals", (time.monotonic() - began) * 1000)
                        else:
                            pair.readings_seen[reading_id] = time.monotonic()
                return handler

            sockets = {}
            for side, session in (("patient", pair.patient), ("doctor", pair.doctor)):
                sio = socket_client(session, on_message(side))
                await sio.connect(url, auth=lambda s=session: {"token": s.acct["token"]}, transports=[transport], wait_timeout=30)
                sockets[side] = sio
            ack = await sockets["doctor"].call("vitals:watch", {"patient_id": pair.patient.acct["id"]}, timeout=30)
            assert ack.get("ok"), ack
            pair_sockets.append(sockets)

        until = time.monotonic() + args.minutes * 60
        figures.started = time.monotonic()
        per_pair = args.chat_rate / len(pairs)
        load = [asyncio.create_task(chat_turns(p, s, per_pair, figures, until)) for p, s in zip(pairs, pair_sockets)]
        load += [asyncio.create_task(vitals_loop(p, s["patient"], figures, until)) for p, s in zip(pairs, pair_sockets)]
        load.append(asyncio.create_task(booking_loop(http, [p.patient for p in pairs], [d["id"] for d in doctors], figures, until)))

        waves: list[tuple[datetime, list[str]]] = []
        rss: list[dict[str, float]] = []
        print(f"\nsoak: {args.minutes} min; {len(pairs)} pairs at {args.chat_rate} msgs/s, vitals every 2 s per pair, "
              f"2 bookings/s, {REMINDERS_PER_MINUTE} reminders/min, {connected.value} idle sockets", flush=True)
        print("minute  " + "  ".join(f"{name:>10}" for name in processes) + "   idle   errors", flush=True)
        minute = 0
        while time.monotonic() < until:
            waves.append(await asyncio.to_thread(reminder_wave, db, minute))
            await asyncio.sleep(max(0.0, figures.started + (minute + 1) * 60 - time.monotonic()))
            minute += 1
            rss.append({name: rss_mb(pid) for name, pid in processes.items()})
            print(f"{minute:>6}  " + "  ".join(f"{rss[-1][n]:>7.1f} MB" for n in processes)
                  + f"  {connected.value - lost.value:>5}  {sum(figures.errors.values()):>7}", flush=True)
            if minute % (WINDOW_SECONDS // 60) == 0:
                window = figures.latencies[minute // (WINDOW_SECONDS // 60) - 1]
                print("        p99 " + ", ".join(f"{op} {p99(v):.0f} ms (n={len(v)})" for op, v in sorted(window.items())), flush=True)
        await asyncio.gather(*load)

        # Settle: what was acked arrives (messages and readings); every reminder is sent.
        settle_until = time.monotonic() + 120
        expected_phones = {p for _, phones in waves for p in phones}
        while time.monotonic() < settle_until:
            sent_phones = {r.to for r in provider.posts()}
            # Readings acked in the last moments may still be on their way to the doctor.
            if not any(p.sent.keys() & p.acked or p.readings_sent for p in pairs) and expected_phones <= sent_phones:
                break
            await asyncio.sleep(0.5)
        lost_chat = sum(len(p.sent.keys() & p.acked) for p in pairs)
        lost_readings = sum(len(p.readings_sent) for p in pairs)
        by_phone = Counter(r.to for r in provider.posts())
        reminder_losses = sum(1 for p in expected_phones if by_phone.get(p, 0) == 0)
        reminder_duplicates = sum(n - 1 for p, n in by_phone.items() if p in expected_phones and n > 1)
        received_at = {r.to: r.at for r in provider.posts()}
        for due, phones in waves:
            for phone_number in phones:
                if phone_number in received_at:
                    at = datetime.fromtimestamp(received_at[phone_number], UTC)
                    figures.latencies[int((due - waves[0][0]).total_seconds() // WINDOW_SECONDS)]["reminder"].append((at - due).total_seconds() * 1000)

        stop.set()
        idle.join(timeout=60)
        for sockets in pair_sockets:
            for sio in sockets.values():
                await sio.disconnect()
        for pair in pairs:
            figures.errors.update(pair.patient.refusals + pair.doctor.refusals)
        if refused.value:
            figures.errors["idle_token_refresh_refused"] += refused.value
    mongo.close()

    print("\n== soak summary ==")
    warm = rss[1] if len(rss) > 1 else rss[0]
    for name in processes:
        growth = (rss[-1][name] - warm[name]) / warm[name] * 100 if warm[name] else float("nan")
        print(f"RSS {name:<10} {warm[name]:>7.1f} MB after warm-up -> {rss[-1][name]:>7.1f} MB at the end ({growth:+.1f}%)")
    print(f"errors: {dict(figures.errors) or 0}; idle sockets dropped: {lost.value}")
    print(f"losses: chat {lost_chat}, readings {lost_readings}, reminders {reminder_losses}; reminder duplicates {reminder_duplicates}")
    operations = sorted({op for window in figures.latencies.values() for op in window})
    print("p99 ms per 5 minutes:")
    for op in operations:
        values = [p99(figures.latencies[w][op]) for w in sorted(figures.latencies) if figures.latencies[w][op]]
        spread = f"(max/min {max(values) / min(values):.2f})" if values and min(values) > 0 else ""
        print(f"  {op:<9} " + "  ".join(f"{v:>7.1f}" for v in values) + f"  {spread}  median latency {statistics.median([x for w in figures.latencies.values() for x in w[op]]):.1f} ms")
    # Engage's own processes are judged; the database's RSS grows as its cache fills with what the
    # run stored, up to WiredTiger's cache size (engage.embedded.MONGO_CACHE_SIZE), which is not a leak.
    judged = [n for n in processes if n in ("web", "worker", "scheduler")]
    flat = all(abs(rss[-1][n] - warm[n]) <= 0.1 * warm[n] for n in judged)
    clean = not figures.errors and not lost.value and not (lost_chat or lost_readings or reminder_losses or reminder_duplicates)
    print(f"goal: RSS of {', '.join(judged)} flat within 10% {'met' if flat else 'NOT met'}; zero errors, losses and duplicates {'met' if clean else 'NOT met'}")
    return 0 if clean else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--idle-sockets", type=int, default=2000)
    parser.add_argument("--chat-rate", type=float, default=200, help="chat messages per second, all pairs together")
    parser.add_argument("--pairs", type=int, default=20)
    args = parser.parse_args()
    raise_fd_limit()
    tmp = Path(tempfile.mkdtemp(prefix="engage-soak-"))
    mongo = start_mongo(tmp / "mongo")
    redis = start_redis(tmp / "redis")
    provider = ProviderServer().start()
    base = engage_env(mongo.url, redis.url, ENGAGE_DB_NAME=DB)
    # Production-like: the browser's ping interval, and the real per-user socket event limits.
    env = stack_env(base, provider, 0, ENGAGE_PING_INTERVAL="25", ENGAGE_PING_TIMEOUT="20", ENGAGE_LOG_LEVEL="warning")
    migrated = run_app(env, "migrate")
    if migrated.returncode != 0:
        print(migrated.stdout + migrated.stderr, file=sys.stderr)
        return 1
    web = start_engage("web", env, tmp)
    worker = start_engage("worker", env, tmp)
    scheduler = start_engage("scheduler", env, tmp)
    processes = {"web": web.process.pid, "worker": worker.process.pid, "scheduler": scheduler.process.pid,
                 "mongo": mongo.process.pid, "redis": redis.process.pid}
    try:
        return asyncio.run(drive(args, web.url, env, provider, processes))
    finally:
        for proc in (scheduler, worker, web):
            proc.stop()
        provider.stop()
        redis.stop()
        mongo.stop()


if __name__ == "__main__":
    sys.exit(main())
