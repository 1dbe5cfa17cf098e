"""Alerts: default rules, thresholds, trend, no-data, delivery, acknowledgement, snooze, clearing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from beanie import PydanticObjectId

from engage import extensions
from engage.models.base import utcnow
from engage.models.notification import Notification
from engage.models.notification import NotificationPreferences
from engage.models.notification import QuietHours
from engage.models.vitals import PatientMonitoring
from engage.models.vitals import VitalAlert
from schemas.vitals import AlertAckedEvent
from schemas.vitals import AlertClearedEvent
from schemas.vitals import AlertEvent
from tests.vitals_helpers import ago
from tests.vitals_helpers import bp
from tests.vitals_helpers import relate
from tests.vitals_helpers import vital


pytestmark = pytest.mark.usefixtures("db")  # every test here checks what was stored.


@pytest.fixture
def care_team(make_patient, make_doctor, connect):
    """Factory: a patient, a related doctor watching them (online), and the patient's socket."""

    async def make(**patient_fields):
        patient = await make_patient(**patient_fields)
        doctor = await make_doctor()
        await relate(doctor.id, patient.id)
        doctor_socket = await connect(doctor.access_token)
        assert (await doctor_socket.call("vitals:watch", {"patient_id": patient.id}))["ok"]
        patient_socket = await connect(patient.access_token)
        return patient, doctor, doctor_socket, patient_socket

    return make


async def submit(sock, body) -> str:
    ack = await sock.call("vitals:submit", body)
    assert ack["ok"] is True and ack["status"] == "created", ack
    return ack["id"]


async def alerts_of(patient_id: str, status: str | None = None) -> list[VitalAlert]:
    query: dict = {"patient_id": PydanticObjectId(patient_id)}
    if status:
        query["status"] = status
    return await VitalAlert.find(query).to_list()


@pytest.mark.parametrize(
    ("reading", "rule", "severity"),
    [
        (bp(185, 95), "bp_hypertensive_crisis", "critical"),
        (bp(150, 122), "bp_hypertensive_crisis", "critical"),
        (bp(142, 85), "bp_stage_2", "warning"),
        (bp(128, 91), "bp_stage_2", "warning"),
        (vital("glucose", 69), "glucose_low", "warning"),
        (vital("glucose", 50), "glucose_critical_low", "critical"),
        (vital("glucose", 251), "glucose_high", "warning"),
        (vital("glucose", 14.5, unit="mmol/L"), "glucose_high", "warning"),  # 261 mg/dL
        (vital("spo2", 91), "spo2_low", "warning"),
        (vital("heart_rate", 39), "heart_rate_low", "warning"),
        (vital("heart_rate", 131), "heart_rate_high", "warning"),
        (vital("temperature", 39.0), "temperature_high", "warning"),
        (vital("temperature", 102.2, unit="°F"), "temperature_high", "warning"),  # 39.0 °C
    ],
)
async def test_default_rules_alert_the_watching_doctor(care_team, reading, rule, severity):
    patient, doctor, doctor_socket, patient_socket = await care_team()
    reading_id = await submit(patient_socket, reading)
    event = await doctor_socket.wait_for("vitals:alert")
    alert = AlertEvent.model_validate(event).alert
    assert (alert.rule, alert.severity, alert.status) == (rule, severity, "open")
    assert alert.patient_id == patient.id and alert.reading_id == reading_id and alert.patient_name == patient.name


@pytest.mark.parametrize(
    "reading",
    [bp(139, 89), bp(119, 79), vital("glucose", 70), vital("glucose", 250), vital("spo2", 92), vital("heart_rate", 40),
     vital("heart_rate", 130), vital("temperature", 38.9), vital("weight", 140)],
)
async def test_values_at_the_limits_raise_nothing(care_team, reading):
    patient, _doctor, doctor_socket, patient_socket = await care_team()
    reading_id = await submit(patient_socket, reading)
    await doctor_socket.wait_for("vitals:reading", lambda d: d["reading"]["id"] == reading_id)
    assert await alerts_of(patient.id) == []
    assert doctor_socket.received("vitals:alert") == []


async def test_escalation_to_crisis_is_pushed_again_on_the_same_alert(care_team):
    patient, _doctor, doctor_socket, patient_socket = await care_team()
    await submit(patient_socket, bp(145, 85, taken_at=ago(seconds=30)))
    first = AlertEvent.model_validate(await doctor_socket.wait_for("vitals:alert")).alert
    await submit(patient_socket, bp(146, 86, taken_at=ago(seconds=20)))  # same condition: silent
    await submit(patient_socket, bp(190, 100, taken_at=ago(seconds=10)))
    second = AlertEvent.model_validate(await doctor_socket.wait_for("vitals:alert", lambda d: d["alert"]["severity"] == "critical")).alert
    assert second.id == first.id and second.rule == "bp_hypertensive_crisis" and second.trigger_count == 3
    assert len(doctor_socket.received("vitals:alert", lambda d: d["alert"]["key"] == "blood_pressure")) == 2
    assert [e["alert"]["key"] for e in doctor_socket.received("vitals:alert")].count("bp_trend") == 1  # three elevated readings


async def test_ack_is_shared_with_every_watcher_and_snoozes(care_team, make_doctor, connect):
    patient, doctor, doctor_socket, patient_socket = await care_team()
    colleague = await make_doctor()
    await relate(colleague.id, patient.id, via="appointment")
    colleague_socket = await connect(colleague.access_token)
    await colleague_socket.call("vitals:watch", {"patient_id": patient.id})
    await submit(patient_socket, vital("glucose", 300, taken_at=ago(seconds=40)))
    alert = AlertEvent.model_validate(await colleague_socket.wait_for("vitals:alert")).alert

    ack = await doctor_socket.call("vitals:ack", {"alert_id": alert.id, "snooze_minutes": 30})
    assert ack["ok"] is True and ack["alert"]["status"] == "acked" and ack["alert"]["acked_by"] == doctor.id
    for sock in (doctor_socket, colleague_socket):
        acked = AlertAckedEvent.model_validate(await sock.wait_for("vitals:acked"))
        assert acked.alert.id == alert.id and acked.acked_by_name == doctor.name
    # acknowledging twice is harmless and emits nothing new
    again = await colleague_socket.call("vitals:ack", {"alert_id": alert.id})
    assert again["ok"] is True and again["alert"]["acked_by"] == doctor.id

    # within the snooze the condition stays quiet
    reading_id = await submit(patient_socket, vital("glucose", 310, taken_at=ago(seconds=30)))
    await doctor_socket.wait_for("vitals:reading", lambda d: d["reading"]["id"] == reading_id)
    stored = await VitalAlert.get(alert.id)
    assert stored.status == "acked" and stored.trigger_count == 2
    assert len(doctor_socket.received("vitals:alert")) == 1 and len(doctor_socket.received("vitals:acked")) == 1

    # once the snooze has run out, it is pushed again
    await VitalAlert.find_one(VitalAlert.id == stored.id).update({"$set": {"snoozed_until": utcnow() - timedelta(seconds=1)}})
    await submit(patient_socket, vital("glucose", 305, taken_at=ago(seconds=20)))
    repeat = AlertEvent.model_validate(await doctor_socket.wait_for("vitals:alert", lambda d: d["alert"]["trigger_count"] == 3)).alert
    assert repeat.id == alert.id and repeat.status == "open"


async def test_ack_refused_for_unrelated_doctor_and_patients(care_team, make_doctor, connect, api):
    patient, _doctor, doctor_socket, patient_socket = await care_team()
    await submit(patient_socket, vital("spo2", 90))
    alert = AlertEvent.model_validate(await doctor_socket.wait_for("vitals:alert")).alert
    stranger = await connect((await make_doctor()).access_token)
    ack = await stranger.call("vitals:ack", {"alert_id": alert.id})
    assert ack["ok"] is False and ack["error"]["code"] == "not_found"
    ack = await patient_socket.call("vitals:ack", {"alert_id": alert.id})
    assert ack["ok"] is False and ack["error"]["code"] == "forbidden"
    ack = await doctor_socket.call("vitals:ack", {"alert_id": "0" * 24})
    assert ack["ok"] is False and ack["error"]["code"] == "not_found"
    ack = await doctor_socket.call("vitals:ack", {"alert_id": alert.id, "snooze_minutes": 0})
    assert ack["ok"] is False and ack["error"]["field"] == "snooze_minutes"
    assert (await VitalAlert.get(alert.id)).status == "open"


async def test_alert_clears_when_readings_return_to_range(care_team, api):
    patient, doctor, doctor_socket, patient_socket = await care_team()
    await submit(patient_socket, vital("heart_rate", 150, taken_at=ago(seconds=50)))
    alert = AlertEvent.model_validate(await doctor_socket.wait_for("vitals:alert")).alert
    # an older in-range reading arriving late does not clear it
    await submit(patient_socket, vital("heart_rate", 80, taken_at=ago(minutes=5)))
    await submit(patient_socket, vital("heart_rate", 82, taken_at=ago(seconds=10)))
    cleared = AlertClearedEvent.model_validate(await doctor_socket.wait_for("vitals:cleared")).alert
    assert cleared.id == alert.id and cleared.status == "cleared" and cleared.cleared_at is not None
    assert len(doctor_socket.received("vitals:cleared")) == 1
    # a new excursion is a new alert
    await submit(patient_socket, vital("heart_rate", 35, taken_at=ago(seconds=5)))
    fresh = AlertEvent.model_validate(await doctor_socket.wait_for("vitals:alert", lambda d: d["alert"]["id"] != alert.id)).alert
    assert fresh.rule == "heart_rate_low"
    resp = await api.get(f"/api/patients/{patient.id}/alerts", params={"status": "all"}, token=doctor.access_token)
    assert [a["status"] for a in resp.body["alerts"]] == ["open", "cleared"]
    ack = await doctor_socket.call("vitals:ack", {"alert_id": alert.id})
    assert ack["ok"] is False and ack["error"]["code"] == "alert_cleared"


async def test_concurrent_excursions_open_one_alert(care_team, api):
    patient, _doctor, _doctor_socket, _patient_socket = await care_team()
    bodies = [vital("spo2", 85 + i % 3, taken_at=ago(seconds=60 - 5 * i)) for i in range(8)]
    await asyncio.gather(*[api.post("/api/vitals", b, token=patient.access_token) for b in bodies])
    alerts = await alerts_of(patient.id)
    assert len(alerts) == 1 and alerts[0].trigger_count == 8


async def test_trend_rule_three_elevated_readings_within_seven_days(care_team):
    patient, _doctor, doctor_socket, patient_socket = await care_team()
    # stage 1 readings raise no single-reading alert; one 8 days ago is outside the window
    await submit(patient_socket, bp(132, 82, taken_at=ago(days=8)))
    await submit(patient_socket, bp(125, 75, taken_at=ago(days=5)))
    await submit(patient_socket, bp(133, 84, taken_at=ago(hours=3)))
    assert await alerts_of(patient.id) == []
    await submit(patient_socket, bp(131, 81, taken_at=ago(minutes=1)))
    alert = AlertEvent.model_validate(await doctor_socket.wait_for("vitals:alert")).alert
    assert (alert.key, alert.rule, alert.severity) == ("bp_trend", "bp_trend_elevated", "warning")
    assert "3 elevated" in alert.message
    await submit(patient_socket, bp(115, 72, taken_at=ago(seconds=5)))
    cleared = AlertClearedEvent.model_validate(await doctor_socket.wait_for("vitals:cleared")).alert
    assert cleared.id == alert.id


async def test_patient_thresholds_replace_the_defaults(care_team, api, make_doctor):
    patient, doctor, doctor_socket, patient_socket = await care_team()
    body = {"heart_rate": {"high": 100}, "glucose": {"low": 4.5, "high": 10, "unit": "mmol/L"},
            "blood_pressure": {"systolic_high": 135, "diastolic_high": 85}, "weight": {"high": 220, "unit": "lb"}}
    resp = await api.put(f"/api/patients/{patient.id}/thresholds", body, token=doctor.access_token)
    assert resp.status == 200, resp.body
    assert resp.body["thresholds"]["glucose"] == {"low": 81.07, "high": 180.16}
    assert resp.body["thresholds"]["weight"] == {"high": 99.79}
    stored = await PatientMonitoring.find_one(PatientMonitoring.patient_id == PydanticObjectId(patient.id))
    assert stored.thresholds["heart_rate"] == {"high": 100.0}

    await submit(patient_socket, vital("heart_rate", 105, taken_at=ago(seconds=40)))
    await submit(patient_socket, vital("glucose", 200, taken_at=ago(seconds=30)))
    await submit(patient_socket, bp(136, 80, taken_at=ago(seconds=20)))
    await submit(patient_socket, vital("weight", 101, taken_at=ago(seconds=10)))
    await submit(patient_socket, vital("heart_rate", 38, taken_at=ago(seconds=5)))  # default low still applies: same key, no new push
    def distinct_rules() -> set[str]:
        return {e["alert"]["rule"] for e in doctor_socket.received("vitals:alert")}

    await doctor_socket.wait_for("vitals:alert", lambda _event: len(distinct_rules()) >= 4)
    rules = distinct_rules()
    assert rules == {"heart_rate_high_threshold", "glucose_high_threshold", "bp_threshold_high", "weight_high_threshold"}
    heart = next(a for a in await alerts_of(patient.id) if a.key == "heart_rate")
    assert heart.rule == "heart_rate_low" and heart.trigger_count == 2 and heart.status == "open"
    resp = await api.get(f"/api/patients/{patient.id}/thresholds", token=patient.access_token)
    assert resp.status == 200 and resp.body["thresholds"]["blood_pressure"] == {"systolic_high": 135.0, "diastolic_high": 85.0}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"heart_rate": {"low": 120, "high": 100}}, "heart_rate"),
        ({"heart_rate": {}}, "heart_rate"),
        ({"spo2": {"low": 120}}, "spo2.low"),
        ({"glucose": {"high": 10, "unit": "g"}}, "glucose.unit"),
        ({"blood_pressure": {"systolic_high": 400}}, "blood_pressure.systolic_high"),
        ({"pulse": {"high": 100}}, "pulse"),
    ],
)
async def test_invalid_thresholds_are_refused(care_team, api, body, field):
    patient, doctor, *_ = await care_team()
    resp = await api.put(f"/api/patients/{patient.id}/thresholds", body, token=doctor.access_token)
    assert resp.status == 422, resp.body
    assert resp.body["error"]["field"] == field
    assert await PatientMonitoring.find_one(PatientMonitoring.patient_id == PydanticObjectId(patient.id)) is None


async def test_only_related_doctors_set_thresholds(api, make_patient, make_doctor):
    patient = await make_patient()
    stranger = await make_doctor()
    resp = await api.put(f"/api/patients/{patient.id}/thresholds", {"spo2": {"low": 94}}, token=stranger.access_token)
    assert resp.status == 404 and resp.error_code == "not_found"
    resp = await api.put(f"/api/patients/{patient.id}/thresholds", {"spo2": {"low": 94}}, token=patient.access_token)
    assert resp.status == 403


async def test_offline_doctors_are_notified_and_critical_bypasses_quiet_hours(make_patient, make_doctor, api, connect):
    patient = await make_patient(name="Quiet Patient")
    doctor = await make_doctor(phone="+14155550199")
    await relate(doctor.id, patient.id)
    now = utcnow()  # the doctor's zone is UTC; quiet from an hour ago until two hours from now
    all_day = QuietHours(start=(now - timedelta(hours=1)).strftime("%H:%M"), end=(now + timedelta(hours=2)).strftime("%H:%M"))
    await NotificationPreferences(user_id=PydanticObjectId(doctor.id), channels={"reminders": ["email", "sms"], "messages": ["email"], "alerts": ["email", "sms"]}, quiet_hours=all_day).insert()
    patient_socket = await connect(patient.access_token)

    crisis_id = await submit(patient_socket, bp(200, 110, taken_at=ago(seconds=30)))
    await submit(patient_socket, vital("spo2", 91, taken_at=ago(seconds=20)))
    alerts = {a.key: a for a in await alerts_of(patient.id)}
    assert set(alerts) == {"blood_pressure", "spo2"} and alerts["blood_pressure"].reading_id == PydanticObjectId(crisis_id)
    notes = await Notification.find({"recipient_id": PydanticObjectId(doctor.id), "kind": "vitals_alert"}).to_list()
    by_alert = {n.context["alert_id"]: n for n in notes if n.channel == "email"}
    crisis, low = by_alert[str(alerts["blood_pressure"].id)], by_alert[str(alerts["spo2"].id)]
    assert crisis.critical is True and crisis.due_at <= utcnow()
    assert crisis.context == {"patient_name": "Quiet Patient", "severity": "critical", "alert_id": str(alerts["blood_pressure"].id)}
    assert low.critical is False and low.due_at > utcnow() + timedelta(minutes=1)  # deferred to the end of quiet hours
    assert {n.channel for n in notes} == {"email", "sms"}
    assert all("200" not in str(n.context) for n in notes)  # no values leave the system

    # an online doctor is not notified
    patient2 = await make_patient()
    await relate(doctor.id, patient2.id)
    await connect(doctor.access_token)
    patient2_socket = await connect(patient2.access_token)
    await submit(patient2_socket, vital("glucose", 40))
    assert len(await alerts_of(patient2.id)) == 1
    assert await Notification.find({"recipient_id": PydanticObjectId(doctor.id), "context.alert_id": str((await alerts_of(patient2.id))[0].id)}).count() == 0


async def test_no_data_rule_for_enrolled_patients(care_team, api, worker, settings):
    patient, doctor, doctor_socket, patient_socket = await care_team()
    resp = await api.put(f"/api/patients/{patient.id}/monitoring", {"enrolled": True, "no_data_hours": 2}, token=doctor.access_token)
    assert resp.status == 200 and resp.body["enrolled"] is True
    other, *_ = await care_team()  # enrolled a moment ago: not yet overdue
    await api.put(f"/api/patients/{other.id}/monitoring", {"enrolled": True, "no_data_hours": 2}, token=doctor.access_token)
    await PatientMonitoring.find_one(PatientMonitoring.patient_id == PydanticObjectId(patient.id)).update(
        {"$set": {"enrolled_at": utcnow() - timedelta(hours=3)}}
    )
    queue = extensions.queue("default", extensions.sync_redis(settings))
    await asyncio.to_thread(queue.enqueue, "workers.vitals.scan_no_data")
    event = AlertEvent.model_validate(await doctor_socket.wait_for("vitals:alert", timeout=30)).alert
    assert (event.key, event.rule, event.patient_id) == ("no_data", "no_data", patient.id)
    assert await alerts_of(other.id) == []
    await submit(patient_socket, vital("weight", 70))
    cleared = AlertClearedEvent.model_validate(await doctor_socket.wait_for("vitals:cleared")).alert
    assert cleared.id == event.id


async def test_old_backfilled_readings_raise_no_alert(care_team):
    patient, _doctor, doctor_socket, patient_socket = await care_team()
    reading_id = await submit(patient_socket, vital("glucose", 400, taken_at=ago(days=3)))
    await doctor_socket.wait_for("vitals:reading", lambda d: d["reading"]["id"] == reading_id)
    assert await alerts_of(patient.id) == []


async def test_scheduler_enqueues_each_scan_once_per_period(settings):
    from rq import Queue

    from engage.actions import vital_jobs
    from engage.scheduler import periodic_jobs

    registered = {func for func, _trigger in periodic_jobs(settings)}
    assert {vital_jobs.enqueue_no_data_scan, vital_jobs.enqueue_medication_scan} <= registered
    connection = extensions.sync_redis(settings)
    queue = Queue("default", connection=connection)
    before = queue.count
    # no worker here listens to this period's job before we look: compare the queue's ids
    await asyncio.to_thread(vital_jobs.enqueue_no_data_scan, settings)
    await asyncio.to_thread(vital_jobs.enqueue_no_data_scan, settings)
    ids = [job_id for job_id in await asyncio.to_thread(queue.get_job_ids) if job_id.startswith("vitals-no-data-scan-")]
    assert len(ids) <= 1 and queue.count <= before + 1
    keys = await asyncio.to_thread(connection.keys, "engage:scan:vitals-no-data-scan:*")
    assert len(keys) == 1
