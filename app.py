"""Engage's main command.

    python app.py              everything: embedded MongoDB/Redis unless MONGODB_URL and REDIS_URL
                               are set, then the web server, one RQ worker and the scheduler
    python app.py web          the web server only (Quart + Socket.IO on $PORT)
    python app.py worker       one RQ worker with its scheduler
    python app.py scheduler    the APScheduler process
    python app.py migrate      bring stored data up to this version (engage/migrations.py); 2 if
                               the database is newer than this code. Run before the roles above,
                               which refuse to start (exit 2) on a database at another version.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import redis
from pydantic import ValidationError
from rq import Worker

from engage import embedded
from engage import extensions
from engage.config import Settings
from engage.config import get_settings
from engage.logs import configure_logging
from engage.metrics import MULTIPROC_ENV
from engage.metrics import prepare_multiprocess_dir
from engage.migrations import VERSION_MISMATCH
from engage.migrations import check_version
from engage.migrations import run_migrate_command
from engage.scheduler_keys import ALIVE_KEY
from engage.supervisor import Child
from engage.supervisor import CrashLoop
from engage.supervisor import RestartPolicy
from engage.supervisor import Supervisor
from engage.supervisor import forward_output

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


def port_problem(host: str, port: int) -> str | None:
    """Why the web server could not listen on host:port (taken, not ours to bind), or None."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def answers_healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def restart_policy(settings: Settings) -> RestartPolicy:
    return RestartPolicy(backoff_initial=settings.restart_backoff_seconds)


def app_child(role: str, env: dict[str, str]) -> Child:
    """`python app.py <role>` as a supervised child; its output goes to ours and its last lines are kept."""

    def start(child: Child) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), role],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=embedded.die_with_parent,
        )
        forward_output(child, process.stdout, sys.stderr)
        return process

    return Child(role, start, tier=1)


def run_all(settings: Settings, demo: bool = False) -> int:
    """Start (embedded servers,) web, worker and scheduler under supervision; stop them all on Ctrl-C or SIGTERM."""
    env: dict[str, str] = {}
    supervisor = Supervisor(restart_policy(settings))
    first_admin: tuple[str, str] | None = None
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)

    try:
        if settings.embedded:
            data_dir = settings.data_dir.resolve()
            problem = embedded.storage_problem(data_dir)
            if problem:
                print(f"engage: {problem}", file=sys.stderr)
                return 2
            logs = data_dir / "logs"
            log.info("starting embedded MongoDB-compatible server and redis-server in %s", data_dir)
            # Fixed ports for the whole run: a restarted server comes back where the others look.
            mongo_port, redis_port = embedded.free_port(), embedded.free_port()
            supervisor.add(Child(
                "mongodb", lambda _: embedded.start_mongo(data_dir / "mongo", port=mongo_port, log_file=logs / "mongo.log").process,
                log_path=logs / "mongo.log",
            ))
            supervisor.add(Child(
                "redis", lambda _: embedded.start_redis(data_dir / "redis", port=redis_port, log_file=logs / "redis.log").process,
                log_path=logs / "redis.log",
            ))
            env.update({
                "MONGODB_URL": embedded.mongo_url(mongo_port),
                "REDIS_URL": embedded.redis_url(redis_port),
                "ENGAGE_EMBEDDED_DATA_DIR": str(data_dir),
            })
            if not settings.secret_key:
                env["ENGAGE_SECRET_KEY"] = embedded_secret(data_dir)
            marker = data_dir / "admin-created"
            if not (settings.admin_email and settings.admin_password) and not marker.exists():
                first_admin = ("admin@engage.local", secrets.token_urlsafe(12) + "7a")
                env.update({"ENGAGE_ADMIN_EMAIL": first_admin[0], "ENGAGE_ADMIN_PASSWORD": first_admin[1]})
        else:
            require_secret(settings)

        # One metrics directory for every child (prometheus-client's multiprocess mode, engage.metrics),
        # emptied first: counts start at zero with the run.
        metrics_dir = Path(os.environ.get(MULTIPROC_ENV) or settings.data_dir.resolve() / "metrics")
        prepare_multiprocess_dir(metrics_dir)
        env[MULTIPROC_ENV] = str(metrics_dir)
        env["ENGAGE_LOG_FORMAT"] = settings.log_format
        child_env = embedded.child_env(env)
        # Data is brought up to this version before any process that reads it starts.
        migration = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "migrate"], env=child_env, stdout=sys.stderr, preexec_fn=embedded.die_with_parent
        )
        if supervisor.stopping:
            return 0
        if migration.returncode != 0:
            print(f"engage: `python app.py migrate` failed (exit {migration.returncode}); not starting", file=sys.stderr, flush=True)
            return migration.returncode if migration.returncode > 0 else 1
        for role in ("web", "worker", "scheduler"):
            supervisor.add(app_child(role, child_env))
        url = f"http://{settings.host}:{settings.port}"
        deadline = time.monotonic() + 120
        supervisor.run(until=lambda: answers_healthy(url) or time.monotonic() > deadline)
        if supervisor.stopping:
            return 0
        if not answers_healthy(url):
            log.error("Engage did not become healthy within 120 s; stopping")
            return 1
        if first_admin:
            (settings.data_dir.resolve() / "admin-created").write_text(first_admin[0] + "\n")
        if demo:
            subprocess.run([sys.executable, "-m", "engage.demo"], env=child_env, check=False)
        print(f"\nEngage is running at {url}", flush=True)
        if first_admin:
            print(f"First start: admin login {first_admin[0]} / {first_admin[1]} (shown once; keep it safe)", flush=True)
        print("Press Ctrl-C to stop.\n", flush=True)
        supervisor.run()
        return 0
    except CrashLoop as exc:
        print(f"engage: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        supervisor.stop_all()
        log.info("stopped")


def check_role(settings: Settings, role: str) -> int:
    """`python app.py check <role>`: 0 if this host's process of that role is healthy (container
    health checks), else 1 with the reason."""
    problem: str | None = None
    if role == "web":
        if not answers_healthy(f"http://127.0.0.1:{settings.port}"):
            problem = f"/healthz on port {settings.port} does not answer 200"
    else:
        try:
            connection = extensions.sync_redis_of(settings.redis_url or "redis://127.0.0.1:6379/0", socket_timeout=3)
            host = socket.gethostname()
            if role == "worker":
                alive = [w for w in Worker.all(connection=connection) if w.hostname == host and w.death_date is None]
                problem = None if alive else f"no RQ worker of host {host} is registered"
            elif not connection.exists(ALIVE_KEY.format(host=host)):
                problem = f"no scheduler of host {host} renewed its heartbeat"
        except redis.exceptions.RedisError as exc:
            problem = f"Redis is not answering ({exc})"
    if problem:
        print(f"engage: {role} unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="Engage: realtime patient engagement for clinics.")
    parser.add_argument("role", nargs="?", choices=["all", "web", "worker", "scheduler", "check", "migrate"], default="all")
    parser.add_argument("checked", nargs="?", choices=["web", "worker", "scheduler"], help="with check: the role to check")
    parser.add_argument("--demo", action="store_true", help="seed a demo clinic and print the demo logins")
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.role == "all" and "ENGAGE_LOG_FORMAT" not in os.environ and sys.stderr.isatty():
        settings = settings.model_copy(update={"log_format": "text"})  # a person reads the main command's terminal
    configure_logging(settings.log_level, settings.log_format)
    if args.role == "check":
        return check_role(settings, args.checked or "web")

    if args.role == "all":
        return run_all(settings, demo=args.demo)
    if args.role == "migrate":
        if not settings.mongodb_url:
            print("engage: MONGODB_URL must be set to migrate", file=sys.stderr)
            return 2
        return asyncio.run(run_migrate_command(settings))
    if settings.embedded:
        print("engage: MONGODB_URL and REDIS_URL must be set to run a single role", file=sys.stderr)
        return 2
    require_secret(settings)
    problem = asyncio.run(check_version(settings))
    if problem:  # data of another version: refuse before serving or running anything on it
        print(f"engage: {args.role} not started: {problem}", file=sys.stderr)
        return VERSION_MISMATCH
    if args.role == "web":
        problem = port_problem(settings.host, settings.port)
        if problem:  # say so now, not after the whole start-up work
            print(f"engage: cannot listen on {settings.host}:{settings.port}: {problem}", file=sys.stderr)
            return 2
        # Each role imports only its own stack, here: the web app (Quart, every view, Socket.IO)
        # and the worker's (the assistant's model, the providers' SDKs) each cost seconds and tens
        # of MB that the other roles and the frequent `app.py check` health checks do not need.
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
