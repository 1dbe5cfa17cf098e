"""RQ jobs of care relations."""

from __future__ import annotations

from engage.actions.care import do_end_expired_relations
from workers.runtime import run_job


def end_expired_care_relations() -> int:
    """End relations whose time ran out and take the doctors' sockets out of the patients' rooms."""
    return run_job(do_end_expired_relations)
