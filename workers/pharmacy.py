"""RQ jobs of the pharmacy."""

from __future__ import annotations

from engage.actions.pharmacy import do_release_expired_orders
from workers.runtime import run_job


def release_expired_orders() -> int:
    """Cancel orders not collected by their hold date and release their stock (safe to run twice)."""
    return run_job(do_release_expired_orders)
