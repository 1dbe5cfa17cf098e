"""A read-only or full data directory for the embedded servers: Engage says so at start and in
/healthz instead of failing requests one by one.

Tests run as root, for whom permission bits do not stop writes: a read-only bind mount and a
small tmpfs filled to the last byte make writes truly fail.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fault_stack import FaultStack
from tests.fault_stack import health
from tests.servers import ROOT
from tests.waiting import wait_until


@pytest.fixture
def mounts():
    mounted: list[Path] = []

    def mount(*args: str, target: Path) -> Path:
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", *args, str(target)], check=True, capture_output=True)
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)


def main_command(data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_") and k not in ("MONGODB_URL", "REDIS_URL")}
    env.update({"ENGAGE_DATA_DIR": str(data_dir), "ENGAGE_LOG_LEVEL": "warning"})
    return subprocess.run([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_read_only_data_dir_stops_the_start_with_a_clear_message(tmp_path, mounts):
    source = tmp_path / "source"
    source.mkdir()
    data_dir = mounts("--bind", "-o", "ro", str(source), target=tmp_path / "data")
    with pytest.raises(OSError) as refused:
        (data_dir / "probe").write_text("x")
    assert refused.value.errno == errno.EROFS  # read-only even for root
    result = main_command(data_dir)
    assert result.returncode == 2
    assert f"engage: the data directory {data_dir} cannot be written (Read-only file system)" in result.stderr
    assert "Engage is running" not in result.stdout


def test_a_file_where_the_data_dir_should_be_stops_the_start(tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "mongo").write_text("not a directory")
    result = main_command(tmp_path / "var")
    assert result.returncode == 2
    assert f"{tmp_path / 'var' / 'mongo'} should be the embedded servers' data directory but is a file" in result.stderr


async def test_a_full_disk_is_named_in_healthz_until_there_is_room_again(tmp_path, mounts):
    disk = mounts("-t", "tmpfs", "-o", "size=64m", "tmpfs", target=tmp_path / "disk")
    stack = FaultStack(disk).start_servers()
    try:
        web = stack.start("web", ENGAGE_EMBEDDED_DATA_DIR=str(disk))
        assert (await health(web.url))[0] == 200
        filler = disk / "filler"
        with open(filler, "wb") as handle, pytest.raises(OSError) as full:
            while True:
                handle.write(b"\0" * 1_048_576)
                handle.flush()
        assert full.value.errno == errno.ENOSPC
        status, body = await health(web.url)
        assert status == 503 and "storage" in body["down"], body
        assert "No space left on device" in body["error"]["message"]

        filler.unlink()
        await wait_until(lambda: _healthy(web.url), timeout=30, what="healthy with room again")
    finally:
        stack.close()


async def _healthy(url: str) -> bool:
    return (await health(url))[0] == 200
