"""How long Engage takes to recover from each fault, measured on real processes.

    python bench/recovery.py [--runs N]

Prints, per fault, the seconds from the fault (a SIGKILL, or a server coming back) until users
are served again, as the median and the worst of N runs:

- under `python app.py` (the supervisor): web, worker, scheduler, redis-server and the database
  SIGKILLed, until /healthz answers 200 again (the restarted child is up and every check passes);
- a chat client of a SIGKILLed web process (two web processes), until it is connected to the other
  one and caught up (tests/chat_peer.py, which behaves like the browser);
- Redis and the database restarted under running web processes, from the server being back until
  /healthz is 200 (the Socket.IO listener resubscribed; pymongo found the server);
- a worker SIGKILLed mid-job, from a new worker's start until the job is done;
- a scheduler SIGKILLed, until the second scheduler holds the lock (ENGAGE_SCHEDULER_LOCK_SECONDS,
  default 30; the benchmark says which it used).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engage import extensions  # noqa: E402
from engage.embedded import free_port  # noqa: E402
from engage.scheduler import LOCK_KEY  # noqa: E402
from tests.chat_peer import ChatPeer  # noqa: E402
from tests.clients import Api  # noqa: E402
from tests.fault_stack import FaultStack  # noqa: E402
from tests.fault_stack import kill_tree  # noqa: E402
from tests.fault_stack import patient_and_doctor  # noqa: E402
from tests.test_main_command import start_main  # noqa: E402
from tests.test_main_command import stop_main  # noqa: E402
from tests.test_faults_supervisor import role_pid  # noqa: E402

SCHEDULER_LOCK_SECONDS = 30  # Engage's default


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def until(condition, timeout: float = 120) -> float:
    """Seconds until condition() is true, polled every 10 ms."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError("no recovery within the timeout")
        time.sleep(0.01)
    return time.monotonic() - start


def main_command_figures(root: Path, runs: int) -> dict[str, list[float]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process, _ = start_main(root / "main", port)
    figures: dict[str, list[float]] = {}
    try:
        for _ in range(runs):
            for role in ("web", "worker", "scheduler", "redis-server", "secantus"):
                victim = role_pid(process.pid, role)
                started = time.monotonic()
                os.kill(victim, signal.SIGKILL)
                until(lambda r=role, v=victim: role_pid(process.pid, r) not in (None, v))
                until(lambda: healthy(url))
                figures.setdefault(f"python app.py: {role} SIGKILLed, until running again and /healthz 200", []).append(time.monotonic() - started)
    finally:
        stop_main(process)
    return figures


async def stack_figures(root: Path, runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    for run in range(runs):
        stack = FaultStack(root / f"stack-{run}", {"ENGAGE_SCHEDULER_LOCK_SECONDS": str(SCHEDULER_LOCK_SECONDS)})
        stack.root.mkdir(parents=True)
        stack.start_servers()
        try:
            web_a, web_b = stack.start("web"), stack.start("web")
            async with aiohttp.ClientSession() as session:
                patient, _, cid = await patient_and_doctor(Api(session, web_a.url))
            peer = ChatPeer(patient, cid, [web_a.url, web_b.url])
            await peer.start()
            await peer.send("before")
            started = time.monotonic()
            os.kill(web_a.process.pid, signal.SIGKILL)
            await peer.send("after")  # resent to B once the peer is there
            figures.setdefault("chat client of a SIGKILLed web process, until its send is stored via the other", []).append(
                time.monotonic() - started
            )
            await peer.close()

            stack.stop_redis()
            stack.start_redis()
            back = time.monotonic()
            until(lambda: healthy(web_b.url))
            figures.setdefault("Redis restarted: from it answering until /healthz is 200", []).append(time.monotonic() - back)

            stack.stop_mongo()
            stack.start_mongo()
            back = time.monotonic()
            until(lambda: healthy(web_b.url))
            figures.setdefault("database restarted: from it answering until /healthz is 200", []).append(time.monotonic() - back)

            connection = redis.Redis(port=stack.redis_port)
            victim = stack.start("worker")
            extensions.queue("default", connection).enqueue("tests.fault_jobs.hold_then_record", "done", "job", "gate")
            until(lambda: connection.llen("done:started") == 1)
            kill_tree(victim.process.pid)
            victim.process.wait()
            connection.set("gate", 1)
            started = time.monotonic()
            stack.start("worker")
            until(lambda: connection.llen("done") == 1)
            figures.setdefault("worker SIGKILLed mid-job: from a new worker's start until the job is done", []).append(
                time.monotonic() - started
            )

            schedulers = {p.process.pid: p for p in (stack.start("scheduler"), stack.start("scheduler"))}
            until(lambda: connection.get(LOCK_KEY) is not None)
            holder = int(connection.get(LOCK_KEY).decode().rsplit(":", 1)[1])
            started = time.monotonic()
            os.kill(holder, signal.SIGKILL)
            (other,) = set(schedulers) - {holder}
            until(lambda: re.search(rf":{other}$", (connection.get(LOCK_KEY) or b"").decode()) is not None)
            figures.setdefault(f"scheduler SIGKILLed: until the other holds the lock ({SCHEDULER_LOCK_SECONDS} s lock)", []).append(
                time.monotonic() - started
            )
        finally:
            stack.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="engage-recovery-") as tmp:
        root = Path(tmp)
        figures = main_command_figures(root, args.runs)
        figures |= asyncio.run(stack_figures(root, args.runs))
    print(f"\nRecovery, seconds (median / worst of {args.runs} runs; {os.cpu_count()} cores)")
    for name, values in figures.items():
        print(f"  {statistics.median(values):6.2f} / {max(values):6.2f}  {name}")


if __name__ == "__main__":
    main()
