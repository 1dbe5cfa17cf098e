"""`python app.py`: embedded servers, web, worker and scheduler in one command; data survives a restart."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from engage.embedded import free_port
from tests.servers import ROOT


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_main(data_dir: Path, port: int) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_") and k not in ("MONGODB_URL", "REDIS_URL")}
    env.update({"ENGAGE_DATA_DIR": str(data_dir), "PORT": str(port), "PYTHONUNBUFFERED": "1", "ENGAGE_LOG_LEVEL": "warning"})
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    output = []
    deadline = time.monotonic() + 90
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if "Press Ctrl-C" in line:
            return process, "".join(output)
    process.kill()
    raise AssertionError("main command did not start:\n" + "".join(output))


def stop_main(process: subprocess.Popen) -> set[int]:
    tree = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    return {pid for pid in tree if alive(pid)}


@pytest.mark.timeout(240)  # two whole starts (embedded servers, migrate, web, worker, scheduler) on a busy machine
async def test_one_command_runs_everything_and_a_restart_finds_the_data(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process, output = start_main(tmp_path / "var", port)
    try:
        assert f"Engage is running at {url}" in output
        match = re.search(r"admin login (\S+) / (\S+)", output)
        assert match, output
        admin_email, admin_password = match.groups()
        assert len(descendants(process.pid)) >= 5  # secantus, redis-server, web, worker, scheduler
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/api/auth/login", json={"email": admin_email, "password": admin_password}) as resp:
                assert resp.status == 200
            body = {"email": "restart@example.org", "password": "survives-restart-1", "name": "Re Start", "role": "patient"}
            async with http.post(f"{url}/api/auth/register", json=body) as resp:
                assert resp.status == 201
        secret = (tmp_path / "var" / "secret_key")
        assert secret.stat().st_mode & 0o077 == 0
    finally:
        left = stop_main(process)
    assert left == set(), f"processes left behind: {left}"

    process, output = start_main(tmp_path / "var", port)
    try:
        assert "admin login" not in output  # printed on first start only
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/api/auth/login", json={"email": "restart@example.org", "password": "survives-restart-1"}) as resp:
                assert resp.status == 200
            async with http.post(f"{url}/api/auth/login", json={"email": admin_email, "password": admin_password}) as resp:
                assert resp.status == 200
    finally:
        left = stop_main(process)
    assert left == set(), f"processes left behind: {left}"


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def run_main_briefly(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_") and k not in ("MONGODB_URL", "REDIS_URL")}
    env.update(env_overrides)
    return subprocess.run([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


async def test_with_service_urls_it_starts_no_embedded_server(engage_environment, tmp_path):
    port = free_port()
    env = {k: v for k, v in engage_environment.items() if k not in ("ENGAGE_LOG_LEVEL",)}
    # A metrics directory of its own: the main command empties the one it is given, and the suite's
    # web processes are counting into theirs.
    env.update({"PORT": str(port), "ENGAGE_DATA_DIR": str(tmp_path / "unused"), "ENGAGE_LOG_LEVEL": "warning",
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")})
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        assert f"Engage is running at http://127.0.0.1:{port}" in "".join(lines)
        commands = [cmdline(pid) for pid in descendants(process.pid)]
        assert not any("secantus" in c or "redis-server" in c for c in commands), commands
        direct_children = [cmdline(pid) for pid in descendants(process.pid) if parent_of(pid) == process.pid]
        assert sorted(c.split()[-1] for c in direct_children) == ["scheduler", "web", "worker"]
        assert not (tmp_path / "unused").exists()
    finally:
        left = stop_main(process)
    assert left == set()


def test_real_services_require_a_secret_key(services):
    result = run_main_briefly({"MONGODB_URL": services["mongodb_url"], "REDIS_URL": services["redis_url"]})
    assert result.returncode == 2
    assert "ENGAGE_SECRET_KEY is required" in result.stderr


def test_an_invalid_setting_stops_the_start_naming_the_variable():
    result = run_main_briefly({"PORT": "not-a-port"})
    assert result.returncode == 2
    assert "invalid setting PORT" in result.stderr
    result = run_main_briefly({"ENGAGE_SECRET_KEY": "short"})
    assert result.returncode == 2
    assert "invalid setting ENGAGE_SECRET_KEY" in result.stderr
