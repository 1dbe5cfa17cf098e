"""Every Prometheus metric Engage exports, defined once; domain code counts with one-line calls.

Several processes (web processes, the worker and its forked jobs, the scheduler) count into one
set of figures through prometheus-client's multiprocess mode: when PROMETHEUS_MULTIPROC_DIR is
set, each process writes its values to files in that directory and /metrics of any web process
adds them up. The main command sets it to a directory under its data dir, emptied at start;
docker-compose gives every Engage container the same volume. Unset, the process counts in
prometheus-client's default registry, which only that one process sees (fine for one process).

Processes are named host-pid in the file names, so containers sharing the volume (each its own
pid 1) keep apart; a live gauge's file is dropped once its process is gone (checked at scrape time
for processes on this host; a restarted container reuses its name and overwrites its own).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import fcntl
import glob
import os
import socket
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import Path

import engineio
import prometheus_client
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram
from prometheus_client import multiprocess
from prometheus_client import values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.registry import Collector
from rq import Queue

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SOCKET_SAMPLE_SECONDS = 1.0
HOST = socket.gethostname().replace("_", "-")  # the file names split on "_"


def process_name() -> str:
    """This process in metric file names: distinct across containers that share the directory."""
    return f"{HOST}-{os.getpid()}"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def forget_this_process_if_idle() -> None:
    """At exit: drop this process's live gauges, and its other files if it counted nothing, so a
    health check or another short command leaves nothing behind at every run."""
    path = multiprocess_dir()
    name = process_name()
    with contextlib.suppress(FileNotFoundError):
        multiprocess.mark_process_dead(name, path)
    for file in glob.glob(os.path.join(path, f"*_{name}.db")):
        with contextlib.suppress(FileNotFoundError):
            if all(value == 0 for _, value, _, _ in MmapedDict.read_all_values_from_file(file)):
                os.remove(file)


if multiprocess_dir():
    # Before any metric is made: metrics pick the value class when they are created, and make
    # their files at once (counters and histograms without labels), so the directory must exist.
    os.makedirs(multiprocess_dir(), exist_ok=True)
    values.ValueClass = values.MultiProcessValue(process_identifier=process_name)
    atexit.register(forget_this_process_if_idle)  # RQ's forked jobs end with os._exit: theirs stay


SOCKETS_CONNECTED = Gauge(
    "engage_sockets_connected", "Socket.IO connections open, by transport.", ["transport"], multiprocess_mode="livesum"
)
CHAT_MESSAGES_STORED = Counter("engage_chat_messages_stored", "Chat messages stored (a resend of a stored message not counted).")
CHAT_MESSAGES_DELIVERED = Counter("engage_chat_messages_delivered", "Chat messages published to their conversation's sockets.")
CHAT_COMMIT_SECONDS = Histogram(
    "engage_chat_commit_seconds",
    "Time to store one batch of chat messages (one transaction).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
NOTIFICATIONS = Counter(
    "engage_notifications", "Notification send outcomes, by channel and status (sent, retry, failed, suppressed).", ["channel", "status"]
)
BOOKINGS = Counter("engage_bookings", "Appointments booked.")
BOOKING_CONFLICTS = Counter("engage_booking_conflicts", "Bookings refused because the slot had just been taken.")
SLOT_CLAIM_WRITES = Counter(
    "engage_slot_claim_writes",
    "Inserts that tried to claim a slot, by what the unique indexes answered (won, taken, patient_busy, other).",
    ["outcome"],
)
HTTP_REQUESTS = Counter("engage_http_requests", "HTTP requests answered, by route (the URL rule) and status.", ["method", "route", "status"])


# ---- one-line calls for the code that counts ----


def socket_counts(counts: dict[str, int]) -> None:
    """This process's open sockets per transport (the gauge adds up live processes)."""
    for transport in ("polling", "websocket"):
        SOCKETS_CONNECTED.labels(transport).set(counts.get(transport, 0))


def chat_stored(count: int, seconds: float) -> None:
    CHAT_MESSAGES_STORED.inc(count)
    CHAT_COMMIT_SECONDS.observe(seconds)


def chat_delivered(count: int) -> None:
    CHAT_MESSAGES_DELIVERED.inc(count)


def notification_outcome(channel: str, status: str) -> None:
    NOTIFICATIONS.labels(channel, status).inc()


def booked() -> None:
    BOOKINGS.inc()


def booking_conflict() -> None:
    BOOKING_CONFLICTS.inc()


def slot_claim_write(outcome: str) -> None:
    SLOT_CLAIM_WRITES.labels(outcome).inc()


def http_request(method: str, route: str, status: int) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()


# ---- the scrape ----


class QueueDepths(Collector):
    """RQ queue depths, read from Redis when scraped (not counted by any one process)."""

    def __init__(self, depths: dict[str, int]) -> None:
        self.depths = depths

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("engage_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"])
        for name, depth in self.depths.items():
            family.add_metric([name], depth)
        yield family


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(path: str) -> None:
    """Drop live gauges of this host's processes that are gone (their sockets closed with them)."""
    for file in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        name = Path(file).stem.split("_", 2)[2]
        if _ended_here(name):
            with contextlib.suppress(FileNotFoundError):  # another web process's scrape dropped it first
                multiprocess.mark_process_dead(name, path)


def fold_ended_processes(path: str | None = None) -> int:
    """Fold the counters and histograms of this host's ended processes into one file per kind.

    A forking RQ worker's jobs each leave their files (they end with os._exit, see
    forget_this_process_if_idle); without folding, every scrape would read more of them. Run by
    the worker at its maintenance (one folder per host at a time: the lock). Returns the files folded.
    """
    path = path or multiprocess_dir()
    if path is None:
        return 0
    folded = 0
    with open(os.path.join(path, f"fold-{HOST}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for kind in ("counter", "histogram"):
            ended = [file for file in glob.glob(os.path.join(path, f"{kind}_*.db")) if _ended_here(Path(file).stem.split("_", 1)[1])]
            if not ended:
                continue
            archive = MmapedDict(os.path.join(path, f"{kind}_{HOST}-ended.db"))
            try:
                for file in ended:
                    for key, value, timestamp, _ in MmapedDict.read_all_values_from_file(file):
                        if value:
                            archive.write_value(key, archive.read_value(key)[0] + value, timestamp)
                    os.remove(file)  # a crash right before this would count the file twice, never lose it
                    folded += 1
            finally:
                archive.close()
    forget_dead_processes(path)
    return folded


def _ended_here(process: str) -> bool:
    """Was this process name (host-pid, from a file name) a process of this host that has ended?"""
    host, _, pid = process.rpartition("-")
    return host == HOST and pid.isdigit() and not _pid_alive(int(pid))


async def queue_depths(redis: aioredis.Redis, names: Iterable[str]) -> dict[str, int]:
    """Jobs waiting in each named RQ queue (its list's length; RQ names the key)."""
    names = list(names)
    async with redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.llen(Queue.redis_queue_namespace_prefix + name)
        depths = await pipe.execute()
    return dict(zip(names, depths, strict=True))


def exposition(queue_depths: dict[str, int]) -> bytes:
    """The text /metrics answers: every process's metrics (or this one's), and the queue depths."""
    path = multiprocess_dir()
    registry = CollectorRegistry()
    registry.register(QueueDepths(queue_depths))
    if path is None:
        return prometheus_client.generate_latest() + prometheus_client.generate_latest(registry)
    forget_dead_processes(path)
    multiprocess.MultiProcessCollector(registry, path)
    return prometheus_client.generate_latest(registry)


def prepare_multiprocess_dir(path: Path) -> None:
    """Empty (or create) the directory before any process counts into it (the main command, at start)."""
    path.mkdir(parents=True, exist_ok=True)
    for file in path.glob("*.db"):
        file.unlink()


async def count_sockets_forever(eio: engineio.AsyncServer, interval: float = SOCKET_SAMPLE_SECONDS) -> None:
    """Sample this process's Engine.IO sockets by transport (a polling socket may upgrade at any time)."""
    while True:
        count_sockets(eio)
        await asyncio.sleep(interval)


def count_sockets(eio: engineio.AsyncServer) -> None:
    sockets = [s for s in list(eio.sockets.values()) if s.connected and not s.closed]
    upgraded = sum(1 for s in sockets if s.upgraded)
    socket_counts({"websocket": upgraded, "polling": len(sockets) - upgraded})
