"""The periodic notification scan of the scheduler process (engage.scheduler lists it).

The scheduler runs these only while it holds the Redis lock (engage.scheduler); even so, two scans
at once could not send twice: enqueueing takes a per-notification SET NX marker and sending takes
an atomic claim.
"""

from __future__ import annotations

import logging

from engage.actions.notification_delivery import scan_notifications
from engage.config import Settings

log = logging.getLogger(__name__)


async def notifications_scan(settings: Settings) -> None:
    """Recover dead workers' claims, then enqueue deferred, retried and lost sends that are due."""
    stats = await scan_notifications(settings)
    if any(stats.values()):
        log.info("notification scan: %s", stats)
