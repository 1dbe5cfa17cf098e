"""RQ jobs for fault tests, run by real workers: each records that it ran in Redis.

They stand in for Engage's own jobs where a test needs one per queue that it can hold mid-run;
Engage's jobs are written to be safe to run twice, and these record every run so a test can
count them.
"""

from __future__ import annotations

import time

from rq import get_current_job


def record(key: str, token: str) -> None:
    """Append token to the list at key."""
    get_current_job().connection.rpush(key, token)


def hold_then_record(key: str, token: str, gate: str) -> None:
    """Say it started, wait until the gate key exists, then record token as done (once per run)."""
    connection = get_current_job().connection
    connection.rpush(f"{key}:started", token)
    while not connection.exists(gate):
        time.sleep(0.05)
    connection.rpush(key, token)
