"""The main command's supervision (engage/supervisor.py): restarts with backoff, crash loops,
ordered stop; and `python app.py` bringing back each of its processes after a SIGKILL."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time

import aiohttp
import pytest

from engage.embedded import free_port
from engage.supervisor import Child
from engage.supervisor import CrashLoop
from engage.supervisor import RestartPolicy
from engage.supervisor import Supervisor
from engage.supervisor import forward_output
from tests.fault_stack import descendants
from tests.fault_stack import health
from tests.servers import ROOT
from tests.test_main_command import alive
from tests.test_main_command import cmdline
from tests.test_main_command import parent_of
from tests.test_main_command import start_main
from tests.test_main_command import stop_main
from tests.waiting import wait_until


class Clock:
    """The supervisor's clock, moved by the test: backoff is about time, the children are real."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def crashing_child(name: str = "flaky") -> Child:
    """A real process that prints a line and exits with code 3, each time it is started."""
    runs = iter(range(1, 1000))

    def start(child: Child) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", f"print('boom {next(runs)}'); raise SystemExit(3)"], stdout=subprocess.PIPE, text=True
        )
        forward_output(child, process.stdout, io.StringIO())
        return process

    return Child(name, start)


def crash_and_check(supervisor: Supervisor, child: Child) -> float:
    """Let the child's current process exit, have the supervisor notice; returns the wait it chose."""
    child.process.wait()
    supervisor.check()
    assert child.restart_at is not None
    return child.restart_at - supervisor.clock()


def crash_and_restart(supervisor: Supervisor, child: Child, clock: Clock) -> float:
    """One crash and the restart after it; returns the wait before the restart."""
    wait = crash_and_check(supervisor, child)
    restart(supervisor, child, clock)
    return wait


def restart(supervisor: Supervisor, child: Child, clock: Clock) -> None:
    before = child.process
    clock.now = child.restart_at - 0.01
    supervisor.check()
    assert child.process is before  # not before its time
    clock.now = child.restart_at
    supervisor.check()
    assert child.process is not before


def test_a_dead_child_is_restarted_after_1_s_doubling_to_30_s():
    clock = Clock()
    supervisor = Supervisor(RestartPolicy(max_crashes=100), clock=clock)
    child = supervisor.add(crashing_child())
    waits = [crash_and_restart(supervisor, child, clock) for _ in range(7)]
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    supervisor.stop_all()


async def test_a_minute_up_resets_the_backoff_and_five_crashes_in_two_minutes_stop_everything():
    clock = Clock()
    supervisor = Supervisor(clock=clock)
    child = supervisor.add(crashing_child("worker"))
    assert [crash_and_restart(supervisor, child, clock) for _ in range(3)] == [1, 2, 4]
    clock.now += 61  # up a minute before its next crash: back to 1 s
    assert crash_and_restart(supervisor, child, clock) == 1
    child.process.wait()
    await wait_until(lambda: any("boom 5" in line for line in child.output), 10, what="its last output")  # it reaches us through a pipe
    with pytest.raises(CrashLoop) as crash:
        supervisor.check()  # the 5th crash within 120 s (the first was 68 s ago)
    message = str(crash.value)
    assert message.startswith("worker exited with code 3, its 5th crash within 120 seconds; stopping Engage.")
    assert "boom 4\nboom 5" in message  # the tail of its log


async def test_stop_all_stops_applications_before_the_servers_they_use(tmp_path):
    trace = tmp_path / "trace"
    ready = tmp_path / "ready"
    ready.mkdir()

    def child(name: str, tier: int) -> Child:
        # Each records its SIGTERM, and the application takes a moment to finish what it was doing.
        code = (
            "import signal, sys, time, pathlib\n"
            f"def stop(*_):\n    time.sleep({0.3 if tier else 0})\n"
            f"    open({str(trace)!r}, 'a').write({name!r} + '\\n'); sys.exit(0)\n"
            "signal.signal(signal.SIGTERM, stop)\n"
            f"pathlib.Path({str(ready / name)!r}).touch()\n"
            "while True: signal.pause()\n"
        )
        return Child(name, lambda _: subprocess.Popen([sys.executable, "-c", code]), tier=tier)

    supervisor = Supervisor()
    for name, tier in (("database", 0), ("redis", 0), ("web", 1), ("worker", 1)):
        supervisor.add(child(name, tier))
    await wait_until(lambda: len(list(ready.iterdir())) == 4, 20, what="all four children ready")
    supervisor.stop_all()
    order = trace.read_text().split()
    assert sorted(order[:2]) == ["web", "worker"] and sorted(order[2:]) == ["database", "redis"]
    assert all(c.process.poll() is not None for c in supervisor.children)


def role_pid(main_pid: int, role: str) -> int | None:
    for pid in descendants(main_pid):
        command = cmdline(pid)
        if parent_of(pid) == main_pid and (
            command.split()[-1:] == [role] if role in ("web", "worker", "scheduler") else role in command
        ):
            return pid
    return None


async def test_the_main_command_brings_back_each_process_after_a_sigkill(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process, _ = start_main(tmp_path / "var", port)
    try:
        for role in ("web", "worker", "scheduler", "redis-server", "secantus"):
            victim = role_pid(process.pid, role)
            assert victim, role
            os.kill(victim, signal.SIGKILL)
            await wait_until(lambda r=role, v=victim: role_pid(process.pid, r) not in (None, v), timeout=60, what=f"{role} restarted")
            await wait_until(lambda: _healthy(url), timeout=60, what=f"Engage healthy after {role} came back")
        async with aiohttp.ClientSession() as http:
            body = {"email": "after-crashes@example.org", "password": "survives-crashes-1", "name": "After Crashes", "role": "patient"}
            async with http.post(f"{url}/api/auth/register", json=body) as resp:
                assert resp.status == 201
            async with http.post(f"{url}/api/auth/login", json={"email": body["email"], "password": body["password"]}) as resp:
                assert resp.status == 200
        assert process.poll() is None
    finally:
        left = stop_main(process)
    assert left == set(), f"processes left behind: {left}"


def test_a_crash_loop_stops_the_main_command_naming_the_child_and_its_log(tmp_path):
    """The web port is taken: web dies at each start; after five the command stops, saying why."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # bound, not listening: health probes are refused at once
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_") and k not in ("MONGODB_URL", "REDIS_URL")}
        env.update({
            "ENGAGE_DATA_DIR": str(tmp_path / "var"), "PORT": str(port), "PYTHONUNBUFFERED": "1", "ENGAGE_LOG_LEVEL": "warning",
            "ENGAGE_RESTART_BACKOFF_SECONDS": "0.1",
        })
        process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tree: set[int] = set()
        try:
            deadline = time.monotonic() + 120
            while process.poll() is None and time.monotonic() < deadline:
                tree |= descendants(process.pid)
                time.sleep(0.1)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 1
    assert "engage: web exited with code 2, its 5th crash within 120 seconds; stopping Engage." in err
    assert "Last lines of the web log:" in err
    assert f"engage: cannot listen on 127.0.0.1:{port}: Address already in use" in err.split("Last lines of the web log:")[1]
    assert "Engage is running" not in out
    assert tree and not [pid for pid in tree if alive(pid)], "processes left behind"


async def _healthy(url: str) -> bool:
    return (await health(url))[0] == 200

