"""The main command's supervisor: keeps Engage's processes running and stops them in order.

Each child (the embedded database and Redis, then web, worker and scheduler) is restarted when
it dies, after 1 s, then 2, 4, ... up to 30 s for a child that keeps dying; a child that stayed up
a minute starts again from 1 s. A child that dies 5 times within 2 minutes is not a passing
fault: everything stops, with its name and the tail of its log. Ctrl-C or SIGTERM stop the
application processes first (they may still be writing) and the servers after them.
"""

from __future__ import annotations

import collections
import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

TAIL_LINES = 30


@dataclass(frozen=True)
class RestartPolicy:
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    healthy_after: float = 60.0  # seconds up after which the backoff starts from the beginning again
    crash_window: float = 120.0
    max_crashes: int = 5


@dataclass
class Child:
    """One supervised process. start(child) returns it running (servers: ready on their port)."""

    name: str
    start: Callable[[Child], subprocess.Popen]
    tier: int = 0  # stopped highest tier first: applications (1) before the servers they use (0)
    log_path: Path | None = None  # where the child writes its own log; else its output is kept here
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = 0.0
    restart_at: float | None = None
    crashes: collections.deque = field(default_factory=collections.deque)
    output: collections.deque = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))

    def log_tail(self, lines: int = TAIL_LINES) -> str:
        if self.log_path is not None:
            try:
                return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
            except OSError:
                return ""
        return "".join(list(self.output)[-lines:]).rstrip("\n")


class CrashLoop(Exception):
    """A child died too often: the message names it and quotes the tail of its log."""


def forward_output(child: Child, stream: IO[str], echo: IO[str]) -> threading.Thread:
    """Copy a child's output to our own (the terminal) and keep its last lines for a crash report."""

    def pump() -> None:
        for line in stream:
            child.output.append(line)
            echo.write(line)
            echo.flush()

    thread = threading.Thread(target=pump, name=f"output-{child.name}", daemon=True)
    thread.start()
    return thread


class Supervisor:
    """Starts children in order, restarts the ones that die, stops them all in reverse order."""

    def __init__(self, policy: RestartPolicy | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy or RestartPolicy()
        self.clock = clock
        self.children: list[Child] = []
        self.stopping = False

    def add(self, child: Child) -> Child:
        """Start a child now and supervise it from then on."""
        child.backoff = self.policy.backoff_initial
        self.children.append(child)
        self._start(child)
        return child

    def request_stop(self, *_: object) -> None:
        """Signal handler: stop at the next check (the loop then stops everything in order)."""
        self.stopping = True

    def _start(self, child: Child) -> None:
        child.restart_at = None
        child.started_at = self.clock()
        try:
            child.process = child.start(child)
        except Exception as exc:  # a server that does not come up counts as a crash
            log.error("%s did not start: %s", child.name, exc)
            child.output.append(f"{exc}\n")
            child.process = None
            self._crashed(child, f"failed to start ({exc})")

    def _crashed(self, child: Child, how: str) -> None:
        now = self.clock()
        if now - child.started_at >= self.policy.healthy_after:
            child.backoff = self.policy.backoff_initial
        child.crashes.append(now)
        while child.crashes and now - child.crashes[0] > self.policy.crash_window:
            child.crashes.popleft()
        if len(child.crashes) >= self.policy.max_crashes:
            tail = child.log_tail()
            where = f" ({child.log_path})" if child.log_path else ""
            raise CrashLoop(
                f"{child.name} {how}, its {len(child.crashes)}th crash within {self.policy.crash_window:g} seconds; "
                f"stopping Engage.\nLast lines of the {child.name} log{where}:\n{tail or '(empty)'}"
            )
        log.error("%s %s; restarting it in %g s", child.name, how, child.backoff)
        child.restart_at = now + child.backoff
        child.backoff = min(child.backoff * 2, self.policy.backoff_max)

    def check(self) -> None:
        """Restart what is due and notice what died since the last check; raises CrashLoop."""
        for child in self.children:
            if self.stopping:
                return
            if child.restart_at is not None:
                if self.clock() >= child.restart_at:
                    log.warning("restarting %s", child.name)
                    self._start(child)
                continue
            if child.process is not None and child.process.poll() is not None:
                self._crashed(child, f"exited with code {child.process.returncode}")

    def run(self, tick: float = 0.2, until: Callable[[], bool] | None = None) -> None:
        """Supervise until a stop is requested (or `until` says so); raises CrashLoop."""
        while not self.stopping and not (until and until()):
            self.check()
            time.sleep(tick)

    def stop_all(self, timeout: float = 15) -> None:
        """SIGTERM the children tier by tier, highest first, newest first within a tier; a child
        still running after the timeout is killed. A tier is gone before the next is asked."""
        self.stopping = True
        for tier in sorted({child.tier for child in self.children}, reverse=True):
            running = [c for c in reversed(self.children) if c.tier == tier and c.process is not None and c.process.poll() is None]
            for child in running:
                child.process.terminate()
            deadline = time.monotonic() + timeout
            for child in running:
                try:
                    child.process.wait(max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop within %g s; killing it", child.name, timeout)
                    child.process.kill()
                    child.process.wait()
