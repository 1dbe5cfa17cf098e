"""Engage's main command.

    python app.py              everything: embedded MongoDB/Redis unless MONGODB_URL and REDIS_URL
                               are set, then the web server, one RQ worker and the scheduler
    python app.py web          the web server only (Quart + Socket.IO on $PORT)
    python app.py worker       one RQ worker with its scheduler
    python app.py scheduler    the APScheduler process
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pydantic import ValidationError

from engage.config import Settings
from engage.config import get_settings

log = logging.getLogger("engage")


def load_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            name = field if field.isupper() else "ENGAGE_" + field.upper()
            print(f"engage: invalid setting {name}: {err['msg']}", file=sys.stderr)
        sys.exit(2)


def require_secret(settings: Settings) -> None:
    if not settings.secret_key:
        print("engage: ENGAGE_SECRET_KEY is required (at least 32 random characters)", file=sys.stderr)
        sys.exit(2)


def embedded_secret(data_dir: Path) -> str:
    """A secret generated once and kept in the data dir, readable only by its owner."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


def wait_healthy(url: str, children: list[subprocess.Popen], timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def run_all(settings: Settings, demo: bool = False) -> int:
    """Start (embedded servers,) web, worker and scheduler; stop them all on Ctrl-C or SIGTERM."""
    from engage import embedded

    env: dict[str, str] = {}
    servers: list[embedded.ServerProcess] = []
    children: list[subprocess.Popen] = []
    first_admin: tuple[str, str] | None = None
    stopping = False

    def request_stop(signum, frame):  # noqa: ARG001
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    try:
        if settings.embedded:
            data_dir = settings.data_dir.resolve()
            data_dir.mkdir(parents=True, exist_ok=True)
            logs = data_dir / "logs"
            logs.mkdir(exist_ok=True)
            log.info("starting embedded MongoDB-compatible server and redis-server in %s", data_dir)
            servers.append(embedded.start_mongo(data_dir / "mongo", log_file=logs / "mongo.log"))
            servers.append(embedded.start_redis(data_dir / "redis", log_file=logs / "redis.log"))
            env.update({"MONGODB_URL": servers[0].url, "REDIS_URL": servers[1].url})
            if not settings.secret_key:
                env["ENGAGE_SECRET_KEY"] = embedded_secret(data_dir)
            marker = data_dir / "admin-created"
            if not (settings.admin_email and settings.admin_password) and not marker.exists():
                first_admin = ("admin@engage.local", secrets.token_urlsafe(12) + "7a")
                env.update({"ENGAGE_ADMIN_EMAIL": first_admin[0], "ENGAGE_ADMIN_PASSWORD": first_admin[1]})
        else:
            require_secret(settings)

        child_env = embedded.child_env(env)
        for role in ("web", "worker", "scheduler"):
            children.append(
                subprocess.Popen([sys.executable, str(Path(__file__).resolve()), role], env=child_env, preexec_fn=embedded.die_with_parent)
            )
        url = f"http://{settings.host}:{settings.port}"
        if not wait_healthy(url, children):
            log.error("Engage did not become healthy; stopping")
            return 1
        if first_admin:
            (settings.data_dir.resolve() / "admin-created").write_text(first_admin[0] + "\n")
        if demo:
            subprocess.run([sys.executable, "-m", "engage.demo"], env=child_env, check=False)
        print(f"\nEngage is running at {url}", flush=True)
        if first_admin:
            print(f"First start: admin login {first_admin[0]} / {first_admin[1]} (shown once; keep it safe)", flush=True)
        print("Press Ctrl-C to stop.\n", flush=True)

        while not stopping:
            for child in children:
                if child.poll() is not None:
                    log.error("%s exited with code %s; stopping everything", child.args[-1], child.returncode)
                    return 1
            time.sleep(0.3)
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        embedded.stop_all(servers)
        log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="Engage: realtime patient engagement for clinics.")
    parser.add_argument("role", nargs="?", choices=["all", "web", "worker", "scheduler"], default="all")
    parser.add_argument("--demo", action="store_true", help="seed a demo clinic and print the demo logins")
    args = parser.parse_args(argv)
    settings = load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.role == "all":
        return run_all(settings, demo=args.demo)
    if settings.embedded:
        print("engage: MONGODB_URL and REDIS_URL must be set to run a single role", file=sys.stderr)
        return 2
    require_secret(settings)
    if args.role == "web":
        from engage.web import run_web

        run_web(settings)
    elif args.role == "worker":
        from workers.worker import run_worker

        run_worker(settings)
    elif args.role == "scheduler":
        from engage.scheduler import run_scheduler

        asyncio.run(run_scheduler(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
