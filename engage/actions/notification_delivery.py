"""Sending notifications exactly once: claim atomically, call the provider, record at once.

A send job holds a batch of ids. It re-checks each notification (opt-out, STOP, preferences, quiet
hours) and then, chunk by chunk, claims it (queued -> sending, one conditional write per document,
so two jobs can never both claim it), calls the provider, and records the outcome as soon as the
provider answers. A worker that dies leaves claims behind; `recover_stalled_notifications` finds
them (dead pid on this host, or an expired lease elsewhere), asks the provider whether the message
arrived (Twilio can say; SendGrid and SMTP cannot), and marks it sent or queues it again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from datetime import datetime
from datetime import timedelta
from typing import Any

import redis
from beanie import PydanticObjectId
from pymongo import UpdateOne

from engage import extensions
from engage import metrics
from engage.actions.notifications import MARKER_PREFIX
from engage.actions.notifications import enqueue_ids
from engage.actions.notifications import enqueue_notifications
from engage.actions.notification_secrets import SecretGone
from engage.actions.notification_secrets import notification_secret_values
from engage.actions.notification_secrets import redacted
from engage.config import Settings
from engage.config import get_settings
from engage.integrations.notification_providers import NotificationProvider
from engage.integrations.notification_providers import OutgoingMessage
from engage.integrations.notification_providers import ProviderError
from engage.integrations.provider_choice import providers_for
from engage.jobs import HOST
from engage.jobs import job_is_live
from engage.jobs import pid_alive
from engage.lib.notification_templates import render_notification
from engage.lib.notifications import address_unverified
from engage.lib.notifications import effective_channels
from engage.lib.notifications import quiet_hours_end
from engage.lib.notifications import retry_delay
from engage.models.base import utcnow
from engage.models.notification import Notification
from engage.models.notification import NotificationPreferences
from engage.models.notification import NotificationStatus
from engage.models.notification import SmsOptOut
from engage.models.user import User

log = logging.getLogger(__name__)

QUEUED = NotificationStatus.queued.value
SENDING = NotificationStatus.sending.value
CHUNK_SIZE = 8  # notifications claimed per write; notification_concurrency / CHUNK_SIZE chunks run at once


def process_identity() -> str:
    return f"{HOST}:{os.getpid()}"


def _collection():
    return Notification.get_pymongo_collection()


class OutcomeRecorder:
    """Writes provider outcomes as they arrive, batching whatever piled up during the previous write.

    The gap between a provider's answer and this write is the one window a crash can fall into
    (README: "The narrow window"), so outcomes are never held back for a chunk to finish.
    """

    def __init__(self) -> None:
        self.pending: list[UpdateOne] = []
        self.task: asyncio.Task | None = None

    def add(self, op: UpdateOne) -> None:
        self.pending.append(op)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        while self.pending:
            ops, self.pending = self.pending, []
            await _collection().bulk_write(ops, ordered=False)

    async def drain(self) -> None:
        while self.task is not None and not self.task.done():
            await self.task
        if self.pending:
            await self._flush()


def _message(doc: dict[str, Any]) -> OutgoingMessage:
    return OutgoingMessage(str(doc["_id"]), doc["channel"], doc["to"], doc.get("subject"), doc["text"], doc.get("html"))


async def deliver_notifications(
    notification_ids: list[str], job_id: str | None = None, providers: dict[str, NotificationProvider] | None = None
) -> dict:
    """Claim and send these notifications; each reaches its provider at most once per claim.

    `providers`: the worker process's own (one SDK client and HTTP connection pool for all its
    jobs); without them this call builds its own and closes them when done.
    """
    settings = get_settings()
    oids = [PydanticObjectId(i) for i in notification_ids]
    now = utcnow()
    docs = await _collection().find({"_id": {"$in": oids}, "status": QUEUED}).to_list(None)
    stats = {"sent": 0, "failed": 0, "retry": 0, "suppressed": 0, "deferred": 0, "skipped": len(oids) - len(docs)}

    recipient_ids = list({d["recipient_id"] for d in docs})
    users = {u.id: u for u in await User.find({"_id": {"$in": recipient_ids}}).to_list()} if recipient_ids else {}
    prefs = {p.user_id: p for p in await NotificationPreferences.find({"user_id": {"$in": recipient_ids}}).to_list()} if recipient_ids else {}
    phones = [u.phone for u in users.values() if u.phone]
    stopped = {o.phone for o in await SmsOptOut.find({"phone": {"$in": phones}}).to_list()} if phones else set()

    decisions: list[UpdateOne] = []
    ready: list[tuple[dict, dict]] = []  # (document, fields set by the claim)
    unredacted: dict[Any, dict] = {}  # id -> the text with its secret, for the provider only
    for doc in docs:
        if doc["due_at"] > now + timedelta(milliseconds=50):
            # Not due (a duplicate or early job): the scan enqueues it when due (this job drops its marker).
            stats["deferred"] += 1
            continue
        user = users.get(doc["recipient_id"])
        pref = prefs.get(doc["recipient_id"])
        address = None if user is None else (user.email if doc["channel"] == "email" else user.phone)
        reason = None
        try:
            secret = await notification_secret_values(doc.get("context") or {})
        except SecretGone:
            secret = None
        if user is None:
            reason = "recipient_gone"
        elif secret is None:
            reason = "secret_expired"
        elif pref is not None and pref.opted_out:
            reason = "opted_out"
        elif doc["channel"] not in effective_channels(pref, doc["kind"]):
            reason = "channel_disabled"
        elif not address:
            reason = "no_address"
        elif address_unverified(user.email_verified, user.phone_verified, doc["channel"], doc["kind"], settings.require_verified_email, settings.require_verified_phone):
            reason = "address_unverified"
        elif doc["channel"] == "sms" and address in stopped:
            reason = "sms_stop"
        if reason:
            decisions.append(
                UpdateOne({"_id": doc["_id"], "status": QUEUED}, {"$set": {"status": "suppressed", "suppressed_reason": reason, "updated_at": now}})
            )
            stats["suppressed"] += 1
            metrics.notification_outcome(doc["channel"], "suppressed")
            continue
        if not doc.get("critical") and pref is not None:
            # Preferences may have changed since the request: check quiet hours again at send time.
            end = quiet_hours_end(now, user.timezone, pref.quiet_hours)
            if end is not None:
                decisions.append(UpdateOne({"_id": doc["_id"], "status": QUEUED}, {"$set": {"due_at": end, "updated_at": now}}))
                stats["deferred"] += 1
                continue
        try:
            context = doc.get("context") or {}
            rendered = render_notification(doc["kind"], doc["channel"], {**context, **secret}, user.name, user.timezone, settings.public_url)
            if secret:  # the outbox keeps a copy without the secret; only the provider gets it
                unredacted[doc["_id"]] = {"text": rendered.text, "html": rendered.html}
                rendered = render_notification(doc["kind"], doc["channel"], {**context, **redacted(secret)}, user.name, user.timezone, settings.public_url)
        except Exception as exc:  # a template error is permanent for this context
            log.exception("rendering notification %s failed", doc["_id"])
            decisions.append(
                UpdateOne({"_id": doc["_id"], "status": QUEUED}, {"$set": {"status": "failed", "last_error": f"template: {exc}"[:500], "updated_at": now}})
            )
            stats["failed"] += 1
            metrics.notification_outcome(doc["channel"], "failed")
            continue
        ready.append((doc, {"to": address, "subject": rendered.subject, "text": rendered.text, "html": rendered.html}))
    if decisions:
        await _collection().bulk_write(decisions, ordered=False)

    # The SDKs block in threads of the loop's default executor, which the worker's runtime sizes
    # for notification_concurrency calls in flight (workers.runtime).
    if ready:
        owned = providers is None
        if providers is None:
            providers = providers_for(settings)
        recorder = OutcomeRecorder()
        retries: list[tuple[str, bool, timedelta]] = []
        try:
            # Several small chunks in flight at once: one chunk's claim write overlaps another's
            # provider calls, and each claim still comes right before its own calls.
            size = min(CHUNK_SIZE, settings.notification_concurrency)
            chunks = iter([ready[start : start + size] for start in range(0, len(ready), size)])

            async def lane() -> None:
                for chunk in chunks:
                    await _claim_and_send(chunk, providers, settings, recorder, stats, retries, unredacted)

            await asyncio.gather(*(lane() for _ in range(max(1, settings.notification_concurrency // size))))
            await recorder.drain()
        finally:
            if owned:
                for provider in providers.values():
                    await provider.close()
        if retries:
            await asyncio.to_thread(_schedule_retries, settings, retries, job_id)
    await asyncio.to_thread(_release_own_markers, notification_ids, job_id)
    return stats


async def _claim_and_send(
    chunk: list[tuple[dict, dict]],
    providers: dict[str, NotificationProvider],
    settings: Settings,
    recorder: OutcomeRecorder,
    stats: dict,
    retries: list,
    unredacted: dict[Any, dict],
) -> None:
    token = uuid.uuid4().hex
    now = utcnow()
    lease = now + timedelta(seconds=settings.notification_lease_seconds)
    claims = [
        UpdateOne(
            {"_id": doc["_id"], "status": QUEUED},
            {
                "$set": {
                    "status": SENDING,
                    "claim_token": token,
                    "claimed_by": process_identity(),
                    "claimed_at": now,
                    "lease_until": lease,
                    "provider": providers[doc["channel"]].name,
                    "updated_at": now,
                    **fields,
                },
                "$inc": {"attempts": 1},
            },
        )
        for doc, fields in chunk
    ]
    result = await _collection().bulk_write(claims, ordered=False)
    if result.modified_count == len(chunk):
        claimed = [{**doc, **fields, "attempts": doc.get("attempts", 0) + 1} for doc, fields in chunk]
    else:
        # Only what this claim won: another job (or a cancel) took some in between.
        claimed = await _collection().find({"_id": {"$in": [d["_id"] for d, _ in chunk]}, "claim_token": token, "status": SENDING}).to_list(None)

    async def send_one(doc: dict) -> None:
        provider = providers[doc["channel"]]
        try:
            message_id = await provider.send(_message({**doc, **unredacted.get(doc["_id"], {})}))
        except ProviderError as exc:
            _record_failure(doc, token, exc, settings, recorder, stats, retries)
            return
        except Exception as exc:  # an SDK surprise: treat as transient, the attempt cap bounds it
            log.exception("provider %s raised unexpectedly", provider.name)
            _record_failure(doc, token, ProviderError(f"{type(exc).__name__}: {exc}"[:300]), settings, recorder, stats, retries, transient=True)
            return
        sent_at = utcnow()
        recorder.add(
            UpdateOne(
                {"_id": doc["_id"], "claim_token": token, "status": SENDING},
                {"$set": {"status": "sent", "provider_message_id": message_id, "sent_at": sent_at, "updated_at": sent_at, "lease_until": None, "last_error": None}},
            )
        )
        stats["sent"] += 1
        metrics.notification_outcome(doc["channel"], "sent")

    await asyncio.gather(*(send_one(doc) for doc in claimed))


def _record_failure(doc, token, exc, settings, recorder, stats, retries, transient: bool | None = None) -> None:
    now = utcnow()
    transient = exc.transient if transient is None else transient
    attempts = doc.get("attempts", 1)  # the claimed document: this attempt is already counted
    base = {"claim_token": None, "lease_until": None, "last_error": str(exc)[:500], "updated_at": now}
    if transient and attempts < settings.notification_max_attempts:
        delay = retry_delay(attempts, settings.notification_retry_base_seconds)
        recorder.add(UpdateOne({"_id": doc["_id"], "claim_token": token, "status": SENDING}, {"$set": {**base, "status": QUEUED, "due_at": now + delay}}))
        retries.append((str(doc["_id"]), bool(doc.get("critical")), delay))
        stats["retry"] += 1
        metrics.notification_outcome(doc["channel"], "retry")
    else:
        recorder.add(UpdateOne({"_id": doc["_id"], "claim_token": token, "status": SENDING}, {"$set": {**base, "status": "failed"}}))
        stats["failed"] += 1
        metrics.notification_outcome(doc["channel"], "failed")


def _release_own_markers(ids: list[str], job_id: str | None) -> None:
    """Drop the enqueue markers this job holds, so the scan may enqueue these ids again later."""
    if not job_id or not ids:
        return
    connection = extensions.sync_twin_of_redis_client()
    keys = [MARKER_PREFIX + i for i in ids]
    values = connection.mget(keys)
    mine = [k for k, v in zip(keys, values, strict=True) if v is not None and v.decode() == job_id]
    if mine:
        connection.delete(*mine)


def _schedule_retries(settings: Settings, retries: list[tuple[str, bool, timedelta]], job_id: str | None) -> None:
    """Enqueue each retry for its backoff time (RQ's scheduler in the worker runs it then)."""
    connection = extensions.sync_twin_of_redis_client()
    keys = [MARKER_PREFIX + nid for nid, _, _ in retries]
    if job_id:
        values = connection.mget(keys)
        mine = [k for k, v in zip(keys, values, strict=True) if v is not None and v.decode() == job_id]
        if mine:
            connection.delete(*mine)
    for nid, critical, delay in retries:
        # RQ schedules in whole seconds (it may fire up to 1 s early): add one so a retry never runs before due_at.
        enqueue_ids(connection, "critical" if critical else "notifications", [nid], 1, delay=delay + timedelta(seconds=1))


# --- recovery and the scheduler's scans -------------------------------------------------------


def claim_is_dead(claimed_by: str | None, lease_until: datetime | None, now: datetime) -> bool:
    """A claim is dead when its process is gone (same host) or its lease ran out (any host)."""
    if lease_until is not None and lease_until < now:
        return True
    if claimed_by:
        host, _, pid = claimed_by.rpartition(":")
        if host == HOST and pid.isdigit():
            return not pid_alive(int(pid))
    return False


async def recover_stalled_notifications(settings: Settings | None = None) -> dict:
    """Claims left by dead workers: mark sent if the provider has the message, else queue again."""
    settings = settings or get_settings()
    now = utcnow()
    stalled = await _collection().find({"status": SENDING}).to_list(None)
    dead = [d for d in stalled if claim_is_dead(d.get("claimed_by"), d.get("lease_until"), now)]
    stats = {"reconciled": 0, "requeued": 0}
    if not dead:
        return stats
    providers = providers_for(settings)
    requeue: list[dict] = []
    try:
        for doc in dead:
            found: str | None = None
            try:
                found = await providers[doc["channel"]].find_sent(_message(doc), doc.get("claimed_at") or now)
            except NotImplementedError:
                found = None  # the provider cannot tell: sending again (at-least-once inside the window)
            except Exception:
                log.exception("looking up notification %s at the provider failed; will retry", doc["_id"])
                continue
            # Conditional on the dead claim: when two recoverers race, one wins and only it acts.
            cond = {"_id": doc["_id"], "status": SENDING, "claim_token": doc.get("claim_token")}
            if found:
                change = {"status": "sent", "provider_message_id": found, "sent_at": now, "updated_at": now, "lease_until": None}
            else:
                change = {"status": QUEUED, "due_at": now, "claim_token": None, "lease_until": None, "updated_at": now,
                          "last_error": "worker died before the provider answered"}
            if (await _collection().update_one(cond, {"$set": change})).modified_count != 1:
                continue
            if found:
                stats["reconciled"] += 1
            else:
                requeue.append(doc)
                stats["requeued"] += 1
    finally:
        for provider in providers.values():
            await provider.close()
    if requeue:
        # Markers of the dead job would block re-enqueueing for an hour.
        await asyncio.to_thread(_drop_markers, [str(d["_id"]) for d in requeue])
        await enqueue_notifications([Notification.model_construct(id=d["_id"], critical=bool(d.get("critical"))) for d in requeue], settings)
    return stats


def _drop_markers(ids: list[str]) -> None:
    extensions.sync_twin_of_redis_client().delete(*[MARKER_PREFIX + i for i in ids])


def requeue_lost_jobs_blocking(connection: redis.Redis, ids: list[str]) -> list[str]:
    """Of these queued-and-due ids, the ones whose send job is gone or died with its worker (markers dropped)."""
    keys = [MARKER_PREFIX + i for i in ids]
    values = connection.mget(keys) if keys else []
    by_job: dict[str, list[str]] = {}
    lost: list[str] = []
    for nid, value in zip(ids, values, strict=True):
        if value is None:
            lost.append(nid)
        else:
            by_job.setdefault(value.decode(), []).append(nid)
    for job_id, job_ids in by_job.items():
        if not job_is_live(connection, job_id):
            lost.extend(job_ids)
    if lost:
        # Only drop markers still naming a dead job (a live job may have re-marked one meanwhile).
        pipe = connection.pipeline(transaction=False)
        for nid in lost:
            pipe.delete(MARKER_PREFIX + nid)
        pipe.execute()
    return lost


SCAN_MARK_KEY = "engage:notifications:scan:due-until"
FULL_SWEEP_KEY = "engage:notifications:scan:full-sweep"
FULL_SWEEP_SECONDS = 60
SCAN_OVERLAP_SECONDS = 10
PAGE = 1000


async def enqueue_due_notifications(settings: Settings | None = None, full: bool = True, limit: int = 50000) -> int:
    """Enqueue queued notifications that are due and in no live job (deferred sends, lost jobs).

    `full=False` only looks at what came due since the previous scan (cheap with a large backlog);
    a full sweep also re-checks everything queued, whose liveness lives in Redis (each
    notification's marker names its job), so enqueueing writes nothing to Mongo.
    """
    settings = settings or get_settings()
    now = utcnow()
    redis_async = extensions.redis_client()
    window: dict[str, Any] = {"$lte": now}
    if not full:
        mark = await redis_async.get(SCAN_MARK_KEY)
        if mark:
            # Overlap a little: a document written just before the previous scan's clock may land late.
            # Everything in the overlap is read again (a wave of 10,000 due at once, every scan while
            # it lasts), so it spans about two scans, not more; the full sweep catches anything later.
            overlap = min(SCAN_OVERLAP_SECONDS, 2 * settings.notification_scan_seconds)
            window["$gt"] = datetime.fromisoformat(mark.decode()) - timedelta(seconds=overlap)
    cursor = _collection().find({"status": QUEUED, "due_at": window}, {"_id": 1, "critical": 1}, batch_size=PAGE).limit(limit)
    total = 0
    page: list[dict] = []
    connection = extensions.sync_twin_of_redis_client()
    async for doc in cursor:
        page.append(doc)
        if len(page) >= PAGE:  # workers start on the first page while the rest is read
            total += await _enqueue_page(connection, page, settings)
            page = []
    if page:
        total += await _enqueue_page(connection, page, settings)
    await redis_async.set(SCAN_MARK_KEY, now.isoformat())
    return total


async def _enqueue_page(connection: redis.Redis, page: list[dict], settings: Settings) -> int:
    lost = set(await asyncio.to_thread(requeue_lost_jobs_blocking, connection, [str(d["_id"]) for d in page]))
    if not lost:
        return 0
    items = [Notification.model_construct(id=d["_id"], critical=bool(d.get("critical"))) for d in page if str(d["_id"]) in lost]
    return await enqueue_notifications(items, settings)


async def scan_notifications(settings: Settings | None = None, full: bool | None = None) -> dict:
    """The scheduler's periodic scan: recover dead claims, enqueue what came due; a full sweep each minute."""
    settings = settings or get_settings()
    if full is None:
        # SET NX with expiry: at most one full sweep per minute whatever the scan interval.
        full = bool(await extensions.redis_client().set(FULL_SWEEP_KEY, "1", nx=True, ex=FULL_SWEEP_SECONDS))
    recovered = await recover_stalled_notifications(settings)
    enqueued = await enqueue_due_notifications(settings, full=full)
    return {**recovered, "enqueued": enqueued}
