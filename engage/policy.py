"""Who may call what: the one table of every HTTP route's and Socket.IO event's access rule.

The web process enforces a rule's roles before any view runs (engage.views.http.authorize_request)
and before any socket handler runs (engage.sockets.handlers); the object-level part of a rule (is
this the patient's own record, is this doctor in a care relation with them) is enforced by the
action the transport calls. tests/test_authorization_matrix.py tries every route and event as
anonymous, the patient, another patient, a related doctor, an unrelated doctor, an unapproved
doctor and an admin, and fails on any route or event missing here.

Keys are "METHOD /rule" in Quart's rule syntax for routes, and event names for events.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PATIENT = "patient"
DOCTOR = "doctor"
ADMIN = "admin"
CLINIC_ADMIN = "clinic_admin"  # clinic-scoped roles (issue 19): the action checks the clinic in the path
RECEPTIONIST = "receptionist"
PHARMACIST = "pharmacist"
EVERY_ROLE = frozenset({PATIENT, DOCTOR, ADMIN, CLINIC_ADMIN, RECEPTIONIST, PHARMACIST})


class Rule(StrEnum):
    public = "public"  # no sign-in: health check, pages, sign-up, sign-in, API documents
    signed_webhook = "signed_webhook"  # no sign-in; the provider's signature is verified instead
    any_user = "any_user"  # any signed-in user, on their own data or on shared, non-health data
    patient = "patient"  # a patient, on their own data
    doctor = "doctor"  # a doctor, on their own data
    admin = "admin"  # a platform admin
    patient_or_doctor = "patient_or_doctor"  # a patient or a doctor, on their own data
    conversation_opener = "conversation_opener"  # a patient (with an approved doctor), or a doctor in the patient's care team
    conversation_participant = "conversation_participant"  # the conversation's patient or doctor
    patient_or_care_team = "patient_or_care_team"  # the patient, or a doctor in a care relation with them
    care_team = "care_team"  # a doctor in a care relation with the patient
    any_doctor = "any_doctor"  # any approved doctor (emergency access: audited and announced)
    appointment_party = "appointment_party"  # the appointment's patient or doctor, or an admin
    appointment_patient = "appointment_patient"  # the appointment's patient, or an admin
    appointment_doctor = "appointment_doctor"  # the appointment's doctor, or an admin
    doctor_self = "doctor_self"  # the doctor named in the path, or an admin
    clinic_pharmacist = "clinic_pharmacist"  # a pharmacist of the clinic (of the path, item or order), or a platform admin
    order_party = "order_party"  # the order's patient, or a pharmacist of its clinic, or an admin
    clinic_admin = "clinic_admin"  # the clinic_admin of the clinic in the path, or a platform admin
    clinic_staff = "clinic_staff"  # a clinic_admin or receptionist of the clinic in the path, or a platform admin


@dataclass(frozen=True)
class RuleSpec:
    roles: frozenset[str] | None  # who may call at all; None: no sign-in needed
    meaning: str


RULES: dict[Rule, RuleSpec] = {
    Rule.public: RuleSpec(None, "Anyone, signed in or not."),
    Rule.signed_webhook: RuleSpec(None, "The provider, proven by its request signature."),
    Rule.any_user: RuleSpec(EVERY_ROLE, "Any signed-in user, on their own or non-health data."),
    Rule.patient: RuleSpec(frozenset({PATIENT}), "A patient, on their own data."),
    Rule.doctor: RuleSpec(frozenset({DOCTOR}), "A doctor, on their own data."),
    Rule.admin: RuleSpec(frozenset({ADMIN}), "A platform admin."),
    Rule.patient_or_doctor: RuleSpec(frozenset({PATIENT, DOCTOR}), "A patient or a doctor, on their own data."),
    Rule.conversation_opener: RuleSpec(frozenset({PATIENT, DOCTOR}), "A patient, or a doctor in the care team of the patient named."),
    Rule.conversation_participant: RuleSpec(frozenset({PATIENT, DOCTOR}), "The conversation's patient or doctor."),
    Rule.patient_or_care_team: RuleSpec(frozenset({PATIENT, DOCTOR}), "The patient, or a doctor in a care relation with them."),
    Rule.care_team: RuleSpec(frozenset({DOCTOR}), "A doctor in a care relation with the patient."),
    Rule.any_doctor: RuleSpec(frozenset({DOCTOR}), "Any approved doctor; the access is audited and announced."),
    Rule.appointment_party: RuleSpec(EVERY_ROLE, "The appointment's patient or doctor, or an admin."),
    Rule.appointment_patient: RuleSpec(frozenset({PATIENT, ADMIN}), "The appointment's patient, or an admin."),
    Rule.appointment_doctor: RuleSpec(frozenset({DOCTOR, ADMIN}), "The appointment's doctor, or an admin."),
    Rule.doctor_self: RuleSpec(frozenset({DOCTOR, ADMIN}), "The doctor named in the path, or an admin."),
    Rule.clinic_pharmacist: RuleSpec(frozenset({PHARMACIST, ADMIN}), "A pharmacist of the clinic, or a platform admin."),
    Rule.order_party: RuleSpec(EVERY_ROLE, "The order's patient, a pharmacist of its clinic, or an admin."),
    Rule.clinic_admin: RuleSpec(frozenset({CLINIC_ADMIN, ADMIN}), "The clinic's own clinic_admin, or a platform admin."),
    Rule.clinic_staff: RuleSpec(frozenset({CLINIC_ADMIN, RECEPTIONIST, ADMIN}), "The clinic's clinic_admin or receptionist, or a platform admin."),
}


ROUTE_POLICIES: dict[str, Rule] = {
    # Health, pages, static assets
    "GET /healthz": Rule.public,
    "GET /": Rule.public,
    "GET /console": Rule.public,
    "GET /admin": Rule.public,
    "GET /clinic": Rule.public,
    "GET /pharmacy": Rule.public,
    "GET /frontdesk": Rule.public,
    "GET /static/<path:filename>": Rule.public,
    "GET /api/openapi.json": Rule.public,
    "GET /api/asyncapi.json": Rule.public,
    "GET /api/docs": Rule.public,
    # Prometheus's scrape: open unless ENGAGE_METRICS_TOKEN is set, then that token as a bearer token
    # (checked by the view: it stands for no user); deploy/nginx.conf keeps it off the public side.
    "GET /metrics": Rule.public,
    # Sign-up and sessions
    "POST /api/auth/register": Rule.public,
    "POST /api/auth/login": Rule.public,
    "POST /api/auth/refresh": Rule.public,
    "POST /api/auth/logout": Rule.public,
    "GET /api/me": Rule.any_user,
    # Accounts (issue 19)
    "POST /api/auth/email/verify": Rule.public,  # a code (not a link token) needs the signed-in user
    "POST /api/auth/email/resend": Rule.any_user,
    "POST /api/auth/password/forgot": Rule.public,
    "POST /api/auth/password/reset": Rule.public,
    "POST /api/me/password": Rule.any_user,
    "PATCH /api/me": Rule.any_user,
    "GET /api/me/export": Rule.any_user,
    "POST /api/me/delete": Rule.any_user,
    "POST /api/auth/otp/start": Rule.public,
    "POST /api/auth/otp/verify": Rule.public,
    "POST /api/me/phone": Rule.any_user,
    "POST /api/me/phone/verify": Rule.any_user,
    "POST /api/me/mfa/totp": Rule.any_user,
    "POST /api/me/mfa/totp/confirm": Rule.any_user,
    "DELETE /api/me/mfa/totp": Rule.any_user,
    "POST /api/auth/mfa": Rule.public,  # the mfa_token from the first factor stands for the sign-in
    "POST /api/auth/mfa/totp": Rule.public,
    "GET /api/admin/users": Rule.admin,
    "POST /api/clinic-applications": Rule.public,  # rate-limited per client address
    "GET /api/admin/clinic-applications": Rule.admin,
    "POST /api/admin/clinic-applications/<application_id>/approve": Rule.admin,
    "POST /api/admin/clinic-applications/<application_id>/reject": Rule.admin,
    "POST /api/clinics/<clinic_id>/staff": Rule.clinic_admin,
    "GET /api/clinics/<clinic_id>/staff": Rule.clinic_admin,
    "DELETE /api/clinics/<clinic_id>/staff/<user_id>": Rule.clinic_admin,
    # Doctors ask to join with PATCH /api/doctors/{id} {clinic_id}; the clinic's admin decides (engage/actions/clinic_doctors.py)
    "GET /api/clinics/<clinic_id>/doctors": Rule.clinic_admin,
    "POST /api/clinics/<clinic_id>/doctors/<doctor_id>/approve": Rule.clinic_admin,
    "POST /api/clinics/<clinic_id>/doctors/<doctor_id>/reject": Rule.clinic_admin,
    "GET /api/clinics/<clinic_id>/stats": Rule.clinic_admin,
    "GET /api/clinics/<clinic_id>/audit": Rule.clinic_admin,
    "GET /api/me/clinic": Rule.any_user,  # my clinic and its branding (the patient app's logo and colour)
    "GET /api/clinics/<clinic_id>/branding": Rule.any_user,
    "PUT /api/clinics/<clinic_id>/branding": Rule.clinic_admin,
    "POST /api/clinics/<clinic_id>/logo": Rule.clinic_admin,
    "GET /api/clinics/<clinic_id>/logo": Rule.public,  # an <img> sends no token; a logo is public
    # The front desk (receptionists and the clinic_admin of the clinic in the path; engage/actions/front_desk.py)
    "GET /api/clinics/<clinic_id>/front-desk/appointments": Rule.clinic_staff,
    "GET /api/clinics/<clinic_id>/front-desk/appointments/by-token/<token>": Rule.clinic_staff,
    "GET /api/clinics/<clinic_id>/front-desk/patients": Rule.clinic_staff,
    "POST /api/clinics/<clinic_id>/front-desk/appointments": Rule.clinic_staff,
    "POST /api/clinics/<clinic_id>/front-desk/appointments/<appointment_id>/reschedule": Rule.clinic_staff,
    "POST /api/clinics/<clinic_id>/front-desk/appointments/<appointment_id>/cancel": Rule.clinic_staff,
    "POST /api/clinics/<clinic_id>/front-desk/appointments/<appointment_id>/check-in": Rule.clinic_staff,
    "POST /api/admin/users/<user_id>/deactivate": Rule.admin,
    "POST /api/admin/users/<user_id>/reactivate": Rule.admin,
    "GET /api/me/preferences": Rule.any_user,
    "PUT /api/me/preferences": Rule.any_user,
    # Care relations and the audit log
    "GET /api/me/care-team": Rule.patient,
    "GET /api/me/access-log": Rule.patient,
    "POST /api/patients/<patient_id>/emergency-access": Rule.any_doctor,
    "POST /api/admin/care-relations": Rule.admin,
    "POST /api/admin/care-relations/<relation_id>/end": Rule.admin,
    "GET /api/admin/audit": Rule.admin,
    # Admin
    "GET /api/admin/doctors": Rule.admin,
    "POST /api/admin/doctors/<doctor_id>/approve": Rule.admin,
    "POST /api/admin/doctors/<doctor_id>/reject": Rule.admin,
    "GET /api/admin/stats": Rule.admin,
    "POST /api/admin/clinics": Rule.admin,
    "POST /api/admin/test-centres": Rule.admin,
    "GET /api/admin/outbox": Rule.admin,
    "POST /api/admin/outbox/<notification_id>/retry": Rule.admin,
    "GET /api/admin/sms-replies": Rule.admin,
    # Chat
    "POST /api/conversations": Rule.conversation_opener,
    "GET /api/conversations": Rule.patient_or_doctor,
    "GET /api/conversations/<conversation_id>": Rule.conversation_participant,
    "GET /api/conversations/<conversation_id>/messages": Rule.conversation_participant,
    "POST /api/conversations/<conversation_id>/messages": Rule.conversation_participant,
    "POST /api/conversations/<conversation_id>/read": Rule.conversation_participant,
    # Clinics, doctors, schedules
    "GET /api/clinics": Rule.any_user,
    "PATCH /api/doctors/<doctor_id>": Rule.doctor_self,
    "PUT /api/doctors/<doctor_id>/availability": Rule.doctor_self,
    "GET /api/doctors": Rule.any_user,
    "GET /api/doctors/<doctor_id>": Rule.any_user,
    "GET /api/specialties": Rule.any_user,
    "GET /api/doctors/<doctor_id>/slots": Rule.any_user,
    "GET /api/test-centres": Rule.any_user,
    "GET /api/test-centres/<centre_id>/slots": Rule.any_user,
    # Appointments and the waitlist
    "POST /api/appointments": Rule.appointment_patient,
    "GET /api/appointments": Rule.any_user,
    "GET /api/appointments/by-token/<token>": Rule.admin,
    "GET /api/appointments/<appointment_id>": Rule.appointment_party,
    "POST /api/appointments/<appointment_id>/reschedule": Rule.appointment_party,
    "POST /api/appointments/<appointment_id>/cancel": Rule.appointment_party,
    "POST /api/appointments/<appointment_id>/confirm": Rule.appointment_patient,
    "POST /api/appointments/<appointment_id>/status": Rule.appointment_doctor,
    "POST /api/waitlist": Rule.patient,
    "GET /api/waitlist": Rule.patient,
    "POST /api/waitlist/<entry_id>/accept": Rule.patient,
    "POST /api/waitlist/<entry_id>/decline": Rule.patient,
    "POST /api/waitlist/<entry_id>/cancel": Rule.patient,
    # Vitals and alerts
    "POST /api/vitals": Rule.patient,
    "GET /api/patients/<patient_id>/vitals": Rule.patient_or_care_team,
    "GET /api/patients/<patient_id>/vitals/readings": Rule.patient_or_care_team,
    "GET /api/patients/<patient_id>/alerts": Rule.patient_or_care_team,
    "POST /api/alerts/<alert_id>/ack": Rule.care_team,
    "GET /api/patients/<patient_id>/thresholds": Rule.patient_or_care_team,
    "PUT /api/patients/<patient_id>/thresholds": Rule.care_team,
    "PUT /api/patients/<patient_id>/monitoring": Rule.care_team,
    "GET /fhir/Observation": Rule.patient_or_care_team,
    "GET /fhir/Patient/<patient_id>/$everything": Rule.patient_or_care_team,
    "GET /fhir/metadata": Rule.public,
    # Advice and medication
    "POST /api/advice": Rule.patient_or_care_team,
    "GET /api/advice": Rule.patient_or_care_team,
    "POST /api/patients/<patient_id>/prescriptions": Rule.care_team,
    "GET /api/patients/<patient_id>/prescriptions": Rule.patient_or_care_team,
    "GET /api/prescriptions/<prescription_id>/doses": Rule.patient_or_care_team,
    "POST /api/prescriptions/<prescription_id>/stop": Rule.care_team,
    "POST /api/medication/doses/<dose_id>/taken": Rule.patient,
    # The clinical record (issue 20): the patient and their care team read it, the care team writes it
    "GET /api/patients/<patient_id>/record": Rule.patient_or_care_team,
    "GET /api/me/record": Rule.patient,
    "GET /api/patients/<patient_id>/record/search": Rule.patient_or_care_team,
    "POST /api/patients/<patient_id>/encounters": Rule.care_team,
    "GET /api/patients/<patient_id>/encounters/<encounter_id>": Rule.patient_or_care_team,
    "PATCH /api/patients/<patient_id>/encounters/<encounter_id>": Rule.care_team,
    "POST /api/patients/<patient_id>/encounters/<encounter_id>/sign": Rule.care_team,
    "POST /api/patients/<patient_id>/encounters/<encounter_id>/amend": Rule.care_team,
    "POST /api/patients/<patient_id>/problems": Rule.care_team,
    "PATCH /api/patients/<patient_id>/problems/<problem_id>": Rule.care_team,
    "POST /api/patients/<patient_id>/allergies": Rule.care_team,
    "PATCH /api/patients/<patient_id>/allergies/<allergy_id>": Rule.care_team,
    "POST /api/patients/<patient_id>/lab-results": Rule.care_team,
    "POST /api/patients/<patient_id>/record/<kind>/<item_id>/entered-in-error": Rule.care_team,
    "POST /api/patients/<patient_id>/documents": Rule.patient_or_care_team,
    "GET /api/patients/<patient_id>/documents": Rule.patient_or_care_team,
    "GET /api/documents/<document_id>": Rule.patient_or_care_team,
    "GET /api/documents/<document_id>/details": Rule.patient_or_care_team,
    "POST /api/patients/<patient_id>/documents/<document_id>/suggestions/<suggestion_id>/accept": Rule.care_team,
    "POST /api/patients/<patient_id>/documents/<document_id>/suggestions/<suggestion_id>/reject": Rule.care_team,
    # Risk scores (issue 21): the patient and their care team read them (audited); the patient answers the questionnaire
    "GET /api/patients/<patient_id>/risk": Rule.patient_or_care_team,
    "PUT /api/me/risk-answers": Rule.patient,
    # Pharmacy (issue 21)
    "GET /api/clinics/<clinic_id>/pharmacy/items": Rule.any_user,
    "POST /api/clinics/<clinic_id>/pharmacy/items": Rule.clinic_pharmacist,
    "POST /api/pharmacy/items/<item_id>/stock": Rule.clinic_pharmacist,
    "GET /api/me/cart": Rule.patient,
    "PUT /api/me/cart": Rule.patient,
    "POST /api/orders": Rule.patient,
    "GET /api/me/orders": Rule.patient,
    "GET /api/orders/<order_id>": Rule.order_party,
    "POST /api/orders/<order_id>/cancel": Rule.order_party,
    "POST /api/orders/<order_id>/ready": Rule.clinic_pharmacist,
    "POST /api/orders/<order_id>/collected": Rule.clinic_pharmacist,
    "GET /api/clinics/<clinic_id>/pharmacy/orders": Rule.clinic_pharmacist,
    # The assistant (issue 18)
    "POST /api/assistant/classify": Rule.any_user,
    "POST /api/assistant/conversation": Rule.patient,
    "GET /api/clinics/<clinic_id>/faq": Rule.any_user,
    "PUT /api/clinics/<clinic_id>/faq": Rule.clinic_admin,
    # Provider webhooks
    "POST /webhooks/twilio/sms": Rule.signed_webhook,
    "POST /webhooks/twilio/status": Rule.signed_webhook,
    "POST /webhooks/sendgrid/events": Rule.signed_webhook,
}

EVENT_POLICIES: dict[str, Rule] = {
    "chat:send": Rule.conversation_participant,
    "chat:typing": Rule.conversation_participant,
    "chat:read": Rule.conversation_participant,
    "chat:sync": Rule.conversation_participant,
    "schedule:watch": Rule.any_user,
    "schedule:unwatch": Rule.any_user,
    "vitals:submit": Rule.patient,
    "vitals:watch": Rule.patient_or_care_team,
    "vitals:unwatch": Rule.any_user,
    "vitals:ack": Rule.care_team,
    "medication:taken": Rule.patient,
    "auth:refresh": Rule.any_user,  # a fresh access token of the socket's own session
}

# Socket.IO's own lifecycle names: handled by the server, never dispatched as client events.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error"})


class NoPolicy(LookupError):
    """A route or event that the table does not name: refused, and the matrix test fails."""


def route_key(method: str, rule: str) -> str:
    # HEAD answers like GET; Quart adds it to every GET route by itself.
    return f"{'GET' if method == 'HEAD' else method} {rule}"


def route_rule(method: str, rule: str) -> RuleSpec:
    try:
        return RULES[ROUTE_POLICIES[route_key(method, rule)]]
    except KeyError:
        raise NoPolicy(route_key(method, rule)) from None


def event_rule(event: str) -> RuleSpec:
    try:
        return RULES[EVENT_POLICIES[event]]
    except KeyError:
        raise NoPolicy(event) from None
