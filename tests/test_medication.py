"""Medication reminders: DST-correct schedules, reminders via notifications, taken, missed, escalation."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from beanie import PydanticObjectId

import engage.actions.medication  # noqa: F401  (registers the SMS "TAKEN" handler in this process)
from engage import extensions
from engage.actions.sms_replies import dispatch_reply
from engage.lib.medication_schedule import dose_slots
from engage.models.base import utcnow
from engage.models.medication import MedicationDose
from engage.models.medication import Prescription
from engage.models.notification import Notification
from engage.models.user import User
from schemas.vitals import AlertClearedEvent
from schemas.vitals import AlertEvent
from schemas.vitals import DoseEvent
from tests.vitals_helpers import relate

NY = ZoneInfo("America/New_York")


pytestmark = pytest.mark.usefixtures("db")  # every test here checks what was stored.


def test_dose_times_follow_the_local_clock_across_dst():
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)
    slots = dose_slots(["02:30", "08:00"], date(2026, 3, 7), date(2026, 3, 9), "America/New_York", start, end)
    assert [(at.isoformat(), day, hhmm) for at, day, hhmm in slots] == [
        ("2026-03-07T07:30:00+00:00", "2026-03-07", "02:30"),
        ("2026-03-07T13:00:00+00:00", "2026-03-07", "08:00"),
        ("2026-03-08T07:30:00+00:00", "2026-03-08", "02:30"),  # 02:30 does not exist: given at 03:30 EDT
        ("2026-03-08T12:00:00+00:00", "2026-03-08", "08:00"),  # 08:00 EDT, an hour earlier in UTC
        ("2026-03-09T06:30:00+00:00", "2026-03-09", "02:30"),
        ("2026-03-09T12:00:00+00:00", "2026-03-09", "08:00"),
    ]
    fall = dose_slots(["01:30"], date(2026, 10, 31), date(2026, 11, 2), "America/New_York",
                      datetime(2026, 10, 30, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC))
    # 01:30 happens twice on Nov 1: one dose, at the first
    assert [at.isoformat() for at, _, _ in fall] == ["2026-10-31T05:30:00+00:00", "2026-11-01T05:30:00+00:00", "2026-11-02T06:30:00+00:00"]
    # the window is half-open (after, until]
    assert dose_slots(["08:00"], date(2026, 3, 7), date(2026, 3, 7), "America/New_York",
                      datetime(2026, 3, 7, 13, 0, tzinfo=UTC), end) == []


def hhmm_in(minutes: int) -> str:
    return (datetime.now(NY) + timedelta(minutes=minutes)).strftime("%H:%M")


@pytest.fixture
def prescribed(api, make_patient, make_doctor, connect):
    """Factory: a New York patient, a related doctor, and a prescription due in ~30 min and ~5 h."""

    async def make(**overrides):
        phone = f"+1650253{random.randint(1000, 9999)}"  # unique: inbound SMS finds the patient by number
        patient = await make_patient(timezone="America/New_York", phone=phone)
        doctor = await make_doctor()
        await relate(doctor.id, patient.id)
        today = datetime.now(NY).date()
        body = {"drug": "Lisinopril", "dose": "10 mg", "times": [hhmm_in(30), hhmm_in(300)], "start_date": (today - timedelta(days=1)).isoformat(),
                "end_date": (today + timedelta(days=10)).isoformat(), "instructions": "With water", **overrides}
        resp = await api.post(f"/api/patients/{patient.id}/prescriptions", body, token=doctor.access_token)
        assert resp.status == 201, resp.body
        return patient, doctor, resp.body["prescription"]

    return make


async def test_prescription_schedules_reminders_at_local_times(prescribed):
    before = utcnow()
    patient, _doctor, prescription = await prescribed()
    assert prescription["timezone"] == "America/New_York" and prescription["missed_doses_alert"] == 3
    doses = await MedicationDose.find(MedicationDose.prescription_id == PydanticObjectId(prescription["id"])).sort(MedicationDose.scheduled_at).to_list()
    expected = []
    for offset in range(-1, 4):
        day = datetime.now(NY).date() + timedelta(days=offset)
        for hhmm in sorted(prescription["times"]):
            at = datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=NY).astimezone(UTC)
            if before - timedelta(seconds=5) < at <= utcnow() + timedelta(hours=48):
                expected.append(at)
    assert [d.scheduled_at for d in doses] == sorted(expected)
    assert len(doses) == 4
    for dose in doses:
        assert dose.scheduled_at.astimezone(NY).strftime("%H:%M") == dose.local_time
        notes = await Notification.find({"idempotency_key": f"medication:{prescription['id']}:{dose.id}"}).to_list()
        assert {n.channel for n in notes} == {"email", "sms"}
        for note in notes:
            assert note.kind == "medication_reminder" and note.context == {"schedule_id": prescription["id"]}
            assert abs(note.due_at - dose.scheduled_at) < timedelta(milliseconds=2)
            assert note.recipient_id == PydanticObjectId(patient.id)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"times": ["24:00"]}, "times.0"),
        ({"times": ["8:00"]}, "times.0"),
        ({"times": []}, "times"),
        ({"times": ["08:00", "08:00"]}, "times"),
        ({"drug": ""}, "drug"),
        ({"start_date": "2026-05-02", "end_date": "2026-05-01"}, "body"),
        ({"start_date": "2020-01-01", "end_date": "2020-02-01"}, "end_date"),
        ({"missed_doses_alert": 0}, "missed_doses_alert"),
    ],
)
async def test_invalid_prescriptions_are_refused(api, make_patient, make_doctor, overrides, field):
    patient = await make_patient()
    doctor = await make_doctor()
    await relate(doctor.id, patient.id)
    body = {"drug": "Metformin", "dose": "500 mg", "times": ["08:00"], "start_date": "2026-11-01", "end_date": "2027-01-01", **overrides}
    resp = await api.post(f"/api/patients/{patient.id}/prescriptions", body, token=doctor.access_token)
    assert resp.status == 422, resp.body
    assert resp.body["error"]["field"] == field
    assert await Prescription.find(Prescription.patient_id == PydanticObjectId(patient.id)).count() == 0


async def test_only_related_doctors_prescribe(api, make_patient, make_doctor):
    patient = await make_patient()
    body = {"drug": "Metformin", "dose": "500 mg", "times": ["08:00"], "start_date": "2026-11-01", "end_date": "2027-01-01"}
    resp = await api.post(f"/api/patients/{patient.id}/prescriptions", body, token=(await make_doctor()).access_token)
    assert resp.status == 404 and resp.error_code == "not_found"
    resp = await api.post(f"/api/patients/{patient.id}/prescriptions", body, token=patient.access_token)
    assert resp.status == 403


async def test_taken_over_socket_cancels_the_reminder(prescribed, connect):
    patient, _doctor, prescription = await prescribed()
    sock = await connect(patient.access_token)
    ack = await sock.call("medication:taken", {"prescription_id": prescription["id"]})
    assert ack["ok"] is True and ack["dose"]["status"] == "taken", ack
    dose_id = ack["dose"]["id"]
    event = DoseEvent.model_validate(await sock.wait_for("medication:dose"))
    assert event.dose.id == dose_id and event.dose.status == "taken"
    stored = await MedicationDose.get(PydanticObjectId(dose_id))
    assert stored.marked_via == "socket" and stored.taken_at is not None
    notes = await Notification.find({"idempotency_key": f"medication:{prescription['id']}:{dose_id}"}).to_list()
    assert notes and all(n.status == "suppressed" and n.suppressed_reason == "cancelled" for n in notes)
    again = await sock.call("medication:taken", {"dose_id": dose_id})
    assert again["ok"] is True and again["dose"]["taken_at"] == ack["dose"]["taken_at"]
    later = await MedicationDose.find({"prescription_id": PydanticObjectId(prescription["id"]), "status": "pending"}).sort(MedicationDose.scheduled_at).first_or_none()
    ack = await sock.call("medication:taken", {"dose_id": str(later.id)})
    assert ack["ok"] is False and ack["error"]["code"] == "dose_not_due"


async def test_taken_over_rest_and_by_sms_reply(prescribed, api, make_patient):
    patient, _doctor, prescription = await prescribed()
    dose = await MedicationDose.find({"prescription_id": PydanticObjectId(prescription["id"])}).sort(MedicationDose.scheduled_at).first_or_none()
    resp = await api.post(f"/api/medication/doses/{dose.id}/taken", token=patient.access_token)
    assert resp.status == 200 and resp.body["dose"]["status"] == "taken"
    other = await make_patient()
    resp = await api.post(f"/api/medication/doses/{dose.id}/taken", token=other.access_token)
    assert resp.status == 404

    patient2, _doctor2, prescription2 = await prescribed()
    user = await User.get(PydanticObjectId(patient2.id))
    first = await MedicationDose.find({"prescription_id": PydanticObjectId(prescription2["id"])}).sort(MedicationDose.scheduled_at).first_or_none()
    assert await dispatch_reply(user, " taken! ") == f"Thank you: your {first.local_time} dose is marked as taken."
    stored = await MedicationDose.get(first.id)
    assert stored.status == "taken" and stored.marked_via == "sms"
    assert await dispatch_reply(user, "TAKEN") == "There is no dose due right now to mark as taken."
    assert await dispatch_reply(user, "hello") is None


async def test_missed_doses_are_counted_and_escalate_to_the_doctor(prescribed, connect, api, worker, settings):
    patient, doctor, prescription = await prescribed(missed_doses_alert=2)
    pid = PydanticObjectId(prescription["id"])
    doctor_socket = await connect(doctor.access_token)
    await doctor_socket.call("vitals:watch", {"patient_id": patient.id})
    patient_socket = await connect(patient.access_token)
    # two doses from before the prescription was entered into Engage, never marked
    for hours in (29, 5):
        at = utcnow() - timedelta(hours=hours)
        await MedicationDose(prescription_id=pid, patient_id=PydanticObjectId(patient.id), scheduled_at=at,
                             local_date=at.astimezone(NY).date().isoformat(), local_time=at.astimezone(NY).strftime("%H:%M")).insert()
    ended = Prescription(patient_id=PydanticObjectId(patient.id), doctor_id=PydanticObjectId(doctor.id), drug="Amoxicillin", dose="500 mg",
                         times=["08:00"], timezone="America/New_York", start_date="2026-01-01", end_date="2026-01-07")
    await ended.insert()
    queue = extensions.queue("default", extensions.sync_redis(settings))
    await asyncio.to_thread(queue.enqueue, "workers.medication.scan_medication")
    alert = AlertEvent.model_validate(await doctor_socket.wait_for("vitals:alert", timeout=30)).alert
    assert (alert.key, alert.rule, alert.patient_id) == (f"medication_missed:{pid}", "medication_missed", patient.id)
    assert "2 doses in a row of Lisinopril" in alert.message
    assert (await Prescription.get(ended.id)).active is False  # the scan retires prescriptions that ended
    assert await MedicationDose.find(MedicationDose.prescription_id == ended.id).count() == 0
    missed_events = [DoseEvent.model_validate(e).dose for e in patient_socket.received("medication:dose")]
    assert len(missed_events) == 2 and all(d.status == "missed" for d in missed_events)

    resp = await api.get(f"/api/patients/{patient.id}/prescriptions", token=doctor.access_token)
    adherence = next(p["adherence"] for p in resp.body["prescriptions"] if p["prescription"]["id"] == prescription["id"])
    assert (adherence["taken"], adherence["missed"], adherence["adherence_percent"], adherence["consecutive_missed"]) == (0, 2, 0.0, 2)
    # a late mark is refused; taking the current dose ends the run and clears the alert
    late = await MedicationDose.find({"prescription_id": pid, "status": "missed"}).first_or_none()
    resp = await api.post(f"/api/medication/doses/{late.id}/taken", token=patient.access_token)
    assert resp.status == 409 and resp.error_code == "dose_missed"
    ack = await patient_socket.call("medication:taken", {})
    assert ack["ok"] is True, ack
    cleared = AlertClearedEvent.model_validate(await doctor_socket.wait_for("vitals:cleared")).alert
    assert cleared.id == alert.id
    resp = await api.get(f"/api/prescriptions/{pid}/doses", token=patient.access_token)
    assert resp.body["adherence"]["taken"] == 1 and resp.body["adherence"]["adherence_percent"] == 33.3


async def test_stopping_a_prescription_withdraws_future_reminders(prescribed, api):
    patient, doctor, prescription = await prescribed()
    resp = await api.post(f"/api/prescriptions/{prescription['id']}/stop", token=doctor.access_token)
    assert resp.status == 200 and resp.body["prescription"]["active"] is False
    assert await MedicationDose.find({"prescription_id": PydanticObjectId(prescription["id"])}).count() == 0
    notes = await Notification.find({"idempotency_key": {"$regex": f"^medication:{prescription['id']}:"}}).to_list()
    assert notes and all(n.status == "suppressed" for n in notes)


@pytest.fixture(scope="module")
def twilio_web(engage_environment, tmp_root, web):
    """A web process that accepts signed Twilio webhooks (inbound SMS replies)."""
    from tests.notify_stack import PUBLIC_URL
    from tests.notify_stack import TWILIO_TOKEN
    from tests.servers import start_engage

    proc = start_engage("web", {**engage_environment, "ENGAGE_PUBLIC_URL": PUBLIC_URL, "ENGAGE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN}, tmp_root)
    yield proc
    proc.stop()


async def test_sms_reply_taken_through_the_twilio_webhook(prescribed, twilio_web, http_session):
    import uuid

    from tests.notify_stack import twilio_signature

    patient, _doctor, prescription = await prescribed()
    first = await MedicationDose.find({"prescription_id": PydanticObjectId(prescription["id"])}).sort(MedicationDose.scheduled_at).first_or_none()
    form = {"MessageSid": "SM" + uuid.uuid4().hex, "From": patient.user["phone"], "To": "+15005550006", "Body": "Taken"}
    headers = {"X-Twilio-Signature": twilio_signature("/webhooks/twilio/sms", form)}
    async with http_session.post(f"{twilio_web.url}/webhooks/twilio/sms", data=form, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
    stored = await MedicationDose.get(first.id)
    assert stored.status == "taken" and stored.marked_via == "sms"
    replies = await Notification.find({"recipient_id": PydanticObjectId(patient.id), "kind": "booking_sms_reply"}).to_list()
    assert [r.context["text"] for r in replies] == [f"Thank you: your {first.local_time} dose is marked as taken."]
