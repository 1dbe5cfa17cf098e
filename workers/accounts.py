"""RQ jobs of accounts."""

from __future__ import annotations

from engage.actions.data_rights import do_erase_due_accounts
from workers.runtime import run_job


def erase_due_accounts() -> int:
    """Erase the personal data of accounts whose deletion grace period ended."""
    return run_job(do_erase_due_accounts)
