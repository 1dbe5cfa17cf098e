"""The assistant's HTTP contract: POST /api/assistant/classify, GET /api/specialties with slugs,
the free-text specialty migration, and a clinic's FAQ (GET/PUT /api/clinics/{id}/faq)."""

from __future__ import annotations

import pytest
from beanie import PydanticObjectId

from engage.actions.assistant_specialties import do_migrate_doctor_specialties
from engage.models.clinic import DoctorProfile
from schemas.assistant import ClassifyOut, FaqOut, SpecialtyOut
from tests.booking_support import make_clinic, make_scheduled_doctor, unique

SLUGS = [
    "general_practice", "cardiology", "dermatology", "neurology", "pediatrics", "orthopedics", "gastroenterology",
    "ent", "ophthalmology", "psychiatry", "gynecology", "endocrinology", "pulmonology", "urology",
]


async def test_classify_an_emergency(api, make_patient):
    patient = await make_patient()
    resp = await api.post("/api/assistant/classify", {"text": "Crushing chest pain going down my left arm and I'm sweating"}, token=patient.access_token)
    assert resp.status == 200, resp.body
    ClassifyOut.model_validate(resp.body)
    assert resp.body["intent"] == "symptoms"
    assert resp.body["triage"]["level"] == "emergency"
    assert resp.body["triage"]["red_flags"] == ["chest_pain_spreading"]
    assert "112" in resp.body["triage"]["advice"]
    assert resp.body["specialty"] == "cardiology"


async def test_classify_a_booking_without_symptoms(api, make_doctor):
    doctor = await make_doctor()  # any signed-in user may classify
    resp = await api.post("/api/assistant/classify", {"text": "can I book an apointment with a dermatologist?"}, token=doctor.access_token)
    assert resp.status == 200, resp.body
    assert resp.body["intent"] == "book_appointment"
    assert resp.body["triage"] == {"level": None, "red_flags": [], "advice": None}
    assert resp.body["specialty"] == "dermatology"


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "text"), ({"text": ""}, "text"), ({"text": "x" * 2001}, "text"), ({"text": 5}, "text"), ({"text": "hi", "extra": 1}, "extra")],
)
async def test_classify_refuses_bad_input(api, make_patient, body, field):
    patient = await make_patient()
    resp = await api.post("/api/assistant/classify", body, token=patient.access_token)
    assert resp.status == 422 and resp.body["error"]["code"] == "validation_error"
    assert resp.body["error"]["field"] == field


async def test_classify_needs_a_user(api):
    resp = await api.post("/api/assistant/classify", {"text": "hello"})
    assert resp.status == 401


async def test_classify_is_rate_limited_per_user(api, make_patient):
    patient, other = await make_patient(), await make_patient()
    statuses = [(await api.post("/api/assistant/classify", {"text": "hello"}, token=patient.access_token)).status for _ in range(61)]
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 429
    assert (await api.post("/api/assistant/classify", {"text": "hello"}, token=other.access_token)).status == 200


async def test_specialties_list_slugs_with_display_names_and_counts(api, admin, make_doctor, make_patient):
    before = {s["slug"]: s["doctors"] for s in (await api.get("/api/specialties", token=(await make_patient()).access_token)).body["specialties"] if s["slug"]}
    doctor, profile = await make_scheduled_doctor(api, admin, make_doctor, specialties=["Family Medicine", "ENT", "  Orthopaedics "])
    assert profile["specialties"] == ["general_practice", "ent", "orthopedics"]
    free_text = unique("homeopathy")
    await make_scheduled_doctor(api, admin, make_doctor, specialties=[free_text, "cardiology"])
    patient = await make_patient()
    resp = await api.get("/api/specialties", token=patient.access_token)
    assert resp.status == 200
    listed = [SpecialtyOut.model_validate(s) for s in resp.body["specialties"]]
    assert [s.slug for s in listed[:14]] == SLUGS
    by_slug = {s.slug: s for s in listed if s.slug}
    assert by_slug["ent"].name == "Ear, nose and throat (ENT)" and by_slug["general_practice"].name == "General practice"
    assert by_slug["general_practice"].doctors == before["general_practice"] + 1
    assert by_slug["cardiology"].doctors == before["cardiology"] + 1
    assert {"slug": None, "name": free_text, "doctors": 1} in resp.body["specialties"]
    # The directory finds a doctor by the display name, an alias or the slug.
    for query in ("General practice", "family medicine", "general_practice"):
        found = await api.get("/api/doctors", params={"specialty": query}, token=patient.access_token)
        assert doctor.id in [d["id"] for d in found.body["doctors"]], query


async def test_free_text_specialties_migrate_to_slugs(api, admin, make_doctor, db):
    """Profiles written before the catalogue keep free text until the migration runs; it is idempotent."""
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, specialties=[unique("placeholder")])
    legacy = ["family medicine", "paediatrics", "orthopaedic", "tropical medicine"]
    await DoctorProfile.get_pymongo_collection().update_one({"doctor_id": PydanticObjectId(doctor.id)}, {"$set": {"specialties": legacy}})
    assert await do_migrate_doctor_specialties() >= 1
    profile = await DoctorProfile.find_one({"doctor_id": PydanticObjectId(doctor.id)})
    assert profile.specialties == ["general_practice", "pediatrics", "orthopedics", "tropical medicine"]
    assert await do_migrate_doctor_specialties() == 0


async def test_clinic_faq_is_edited_by_admins_and_read_by_everyone(api, admin, make_patient, make_doctor):
    clinic = await make_clinic(api, admin)
    patient, doctor = await make_patient(), await make_doctor()
    empty = await api.get(f"/api/clinics/{clinic['id']}/faq", token=patient.access_token)
    assert empty.status == 200 and empty.body["faq"]["entries"] == [] and empty.body["faq"]["emergency_number"] is None
    body = {"entries": [{"question": "Is there parking?", "answer": "Yes, free parking behind the clinic."}], "emergency_number": "999"}
    for user in (patient, doctor):
        assert (await api.put(f"/api/clinics/{clinic['id']}/faq", body, token=user.access_token)).status == 403
    saved = await api.put(f"/api/clinics/{clinic['id']}/faq", body, token=admin.access_token)
    assert saved.status == 200, saved.body
    FaqOut.model_validate(saved.body["faq"])
    read = await api.get(f"/api/clinics/{clinic['id']}/faq", token=doctor.access_token)
    assert read.body["faq"]["entries"] == body["entries"] and read.body["faq"]["emergency_number"] == "999"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"entries": [{"question": "Hi", "answer": "x"}]}, "entries.0.question"),
        ({"entries": [{"question": "Is there parking?", "answer": ""}]}, "entries.0.answer"),
        ({"entries": [], "emergency_number": "call me"}, "emergency_number"),
        ({"entries": "none"}, "entries"),
    ],
)
async def test_clinic_faq_refuses_bad_input(api, admin, body, field):
    clinic = await make_clinic(api, admin)
    resp = await api.put(f"/api/clinics/{clinic['id']}/faq", body, token=admin.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == field


async def test_faq_of_an_unknown_clinic_is_404(api, admin):
    assert (await api.get(f"/api/clinics/{'f' * 24}/faq", token=admin.access_token)).status == 404
    assert (await api.put("/api/clinics/nope/faq", {"entries": []}, token=admin.access_token)).status == 404


async def test_the_assistants_account_never_signs_in(api, make_patient):
    await api.post("/api/assistant/conversation", token=(await make_patient()).access_token)  # the bot user exists now
    resp = await api.post("/api/auth/login", {"email": "assistant@engage.invalid", "password": "!"})
    assert resp.status == 401
