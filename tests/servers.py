"""Real processes for tests: the embedded servers, Engage's web server, an RQ worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from engage.embedded import die_with_parent
from engage.embedded import free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
ADMIN_EMAIL = "admin@test.engage"
ADMIN_PASSWORD = "admin-password-123"


@dataclass
class EngageProcess:
    """One `python app.py <role>` child with its log file."""

    role: str
    process: subprocess.Popen
    log_path: Path
    port: int | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def engage_env(mongodb_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_") and k not in ("MONGODB_URL", "REDIS_URL", "PORT")}
    env.update(
        {
            "MONGODB_URL": mongodb_url,
            "REDIS_URL": redis_url,
            "ENGAGE_DB_NAME": "engage_test",
            "ENGAGE_SECRET_KEY": SECRET_KEY,
            "ENGAGE_ADMIN_EMAIL": ADMIN_EMAIL,
            "ENGAGE_ADMIN_PASSWORD": ADMIN_PASSWORD,
            # A small ping interval keeps polling clients from blocking on disconnect.
            "ENGAGE_PING_INTERVAL": "1",
            "ENGAGE_PING_TIMEOUT": "3",
            "ENGAGE_TYPING_TTL": "2", "ENGAGE_CHAT_RATE_LIMIT": "100000", "ENGAGE_UNREAD_ALERT_SECONDS": "86400",  # chat: see tests/test_chat_*.py
            "ENGAGE_LOG_LEVEL": "warning",
            # Waitlist offers lapse in seconds, so hand-over tests need no long waits.
            "ENGAGE_OFFER_HOLD_MINUTES": "0.1",
            # Accounts (tests/test_accounts_*.py run their own stack with the real rules): the other
            # capabilities' tests use fresh, unverified addresses, all from 127.0.0.1.
            "ENGAGE_REQUIRE_VERIFIED_EMAIL": "false", "ENGAGE_REQUIRE_VERIFIED_PHONE": "false",
            "ENGAGE_REGISTER_LIMIT_PER_ADDRESS_HOUR": "1000000", "ENGAGE_PASSWORD_FORGOT_LIMIT_PER_ADDRESS_HOUR": "1000000",
            "ENGAGE_OTP_DAILY_LIMIT_PER_ADDRESS": "1000000",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def start_engage(role: str, env: dict[str, str], log_dir: Path, port: int | None = None) -> EngageProcess:
    env = dict(env)
    if role == "web":
        port = port or free_port()
        env["PORT"] = str(port)
    log_path = log_dir / f"{role}-{port or os.urandom(3).hex()}.log"
    out = open(log_path, "wb")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), role], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
    )
    proc = EngageProcess(role, process, log_path, port, env)
    if role == "web":
        wait_healthy(proc)
    return proc


def run_app(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python app.py <args>` to completion (e.g. migrate, or a role expected to refuse to start)."""
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def wait_healthy(proc: EngageProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise RuntimeError(f"web exited with {proc.process.returncode}:\n{proc.log_tail()}")
        try:
            with urllib.request.urlopen(f"{proc.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"web did not become healthy:\n{proc.log_tail()}")
