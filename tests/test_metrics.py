"""/metrics: Prometheus's text format, counted where things happen, added up across the web
processes and the worker (prometheus-client's multiprocess mode), and guarded by a token when set."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from engage.extensions import QUEUE_NAMES
from engage.metrics import HOST
from engage.metrics import fold_ended_processes
from tests.booking_support import book
from tests.booking_support import future_day
from tests.booking_support import local_slot
from tests.booking_support import make_scheduled_doctor
from tests.clients import Api
from tests.metrics_support import scrape
from tests.metrics_support import value
from tests.servers import ROOT
from tests.servers import start_engage
from tests.waiting import wait_until

METRICS_TOKEN = "metrics-token-0123456789abcdef"


async def test_bookings_conflicts_and_requests_counted_in_another_web_process_show_in_one_scrape(
    api, http_session, web2, admin, make_doctor, make_patient
):
    """The booking and its conflict go to web2; web's /metrics shows both, and their requests by route."""
    other = Api(http_session, web2.url)
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    first, second = await make_patient(), await make_patient()
    start = local_slot(future_day(), "11:00")
    before = await scrape(api)
    assert (await book(other, first, doctor.id, start)).status == 201
    conflict = await book(other, second, doctor.id, start)
    assert conflict.status == 409 and conflict.error_code == "slot_taken"
    after = await scrape(api)
    assert value(after, "engage_bookings_total") == value(before, "engage_bookings_total") + 1
    assert value(after, "engage_booking_conflicts_total") == value(before, "engage_booking_conflicts_total") + 1
    route = {"method": "POST", "route": "/api/appointments"}
    for status in ("201", "409"):
        assert value(after, "engage_http_requests_total", **route, status=status) == value(before, "engage_http_requests_total", **route, status=status) + 1


async def test_a_notification_sent_by_the_worker_shows_in_a_web_scrape(api, worker, admin, make_doctor, make_patient):
    """A booking's notifications are sent by the worker process; web's /metrics counts them as sent."""
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient()
    before = value(await scrape(api), "engage_notifications_total", status="sent")
    assert (await book(api, patient, doctor.id, local_slot(future_day(), "12:00"))).status == 201
    await wait_until(
        lambda: _sent_more_than(api, before), timeout=60, what="the worker's sent notifications in web's /metrics"
    )


async def _sent_more_than(api: Api, before: float) -> bool:
    return value(await scrape(api), "engage_notifications_total", status="sent") > before


async def test_chat_messages_stored_and_delivered_with_their_commit_latency(api, http_session, web2, make_patient, make_doctor):
    """A message sent through web2 is counted stored and delivered, and its commit observed, in web's scrape."""
    patient, doctor = await make_patient(), await make_doctor()
    opened = await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)
    assert opened.status in (200, 201), opened.body
    before = await scrape(api)
    message = {"client_id": uuid.uuid4().hex, "body": "metrics, please"}
    sent = await Api(http_session, web2.url).post(f"/api/conversations/{opened.body['conversation']['id']}/messages", message, token=patient.access_token)
    assert sent.status == 201, sent.body
    after = await wait_until(lambda: _delivered_more(api, before), what="the delivered message in /metrics")
    assert value(after, "engage_chat_messages_stored_total") == value(before, "engage_chat_messages_stored_total") + 1
    assert value(after, "engage_chat_commit_seconds_count") > value(before, "engage_chat_commit_seconds_count")


async def _delivered_more(api: Api, before: str) -> str | None:
    text = await scrape(api)
    return text if value(text, "engage_chat_messages_delivered_total") > value(before, "engage_chat_messages_delivered_total") else None


async def test_open_sockets_are_counted_by_transport_across_web_processes(api, connect, web2, make_patient):
    """A websocket to web2 and a polling socket to web: one scrape counts each under its transport."""
    patient = await make_patient()
    await connect(patient.access_token, "websocket", url=web2.url)
    await connect(patient.access_token, "polling")

    async def both_counted() -> bool:
        text = await scrape(api)
        return value(text, "engage_sockets_connected", transport="websocket") >= 1 and value(text, "engage_sockets_connected", transport="polling") >= 1

    await wait_until(both_counted, what="a websocket and a polling socket in /metrics")


async def test_queue_depths_are_read_at_scrape_time(api):
    text = await scrape(api)
    queues = {s.labels["queue"] for f in text_string_to_metric_families(text) if f.name == "engage_queue_depth" for s in f.samples}
    assert queues == set(QUEUE_NAMES)


def test_a_command_that_counts_nothing_leaves_no_metric_files(web, tmp_path):
    """A container's health check runs every few seconds: it must not leave files to add up."""
    env = {**web.env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    check = subprocess.run([sys.executable, str(ROOT / "app.py"), "check", "web"], env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert list(tmp_path.iterdir()) == []


def added_up(path) -> str:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(path))
    return generate_latest(registry).decode()


def test_ended_processes_fold_into_one_file_per_kind_with_the_same_sums(tmp_path):
    """What the forking worker's maintenance does with the files its ended jobs leave (they end with os._exit)."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    job = "import os; from engage import metrics; metrics.booked(); metrics.chat_stored(2, 0.01); os._exit(0)"
    for _ in range(3):
        subprocess.run([sys.executable, "-c", job], env=env, cwd=ROOT, check=True, timeout=60)
    before = added_up(tmp_path)
    assert fold_ended_processes(str(tmp_path)) == 6  # a counter file and a histogram file of each
    assert {f.name for f in tmp_path.glob("*.db")} == {f"counter_{HOST}-ended.db", f"histogram_{HOST}-ended.db"}
    after = added_up(tmp_path)
    for sample in ("engage_bookings_total", "engage_chat_messages_stored_total", "engage_chat_commit_seconds_count", "engage_chat_commit_seconds_sum"):
        assert value(after, sample) == value(before, sample) > 0, sample
    assert value(after, "engage_bookings_total") == 3


@pytest.fixture(scope="module")
def guarded_web(engage_environment, tmp_root):
    """A web process alone (no multiprocess directory) whose /metrics wants a token."""
    env = {k: v for k, v in engage_environment.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    proc = start_engage("web", {**env, "ENGAGE_METRICS_TOKEN": METRICS_TOKEN}, tmp_root)
    yield proc
    proc.stop()


async def test_with_a_metrics_token_metrics_wants_it(http_session, guarded_web):
    guarded = Api(http_session, guarded_web.url)
    assert (await guarded.get("/metrics")).status == 401
    assert (await guarded.get("/metrics", headers={"Authorization": "Bearer not-the-metrics-token"})).status == 401
    assert await scrape(guarded, METRICS_TOKEN)


async def test_a_single_process_counts_in_its_own_registry(http_session, guarded_web):
    """Without PROMETHEUS_MULTIPROC_DIR the process still counts, in prometheus-client's default registry."""
    guarded = Api(http_session, guarded_web.url)
    before = value(await scrape(guarded, METRICS_TOKEN), "engage_http_requests_total", route="/healthz", status="200")
    assert (await guarded.get("/healthz")).status == 200
    after = value(await scrape(guarded, METRICS_TOKEN), "engage_http_requests_total", route="/healthz", status="200")
    assert after == before + 1
