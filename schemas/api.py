"""The REST API's shapes, route by route: what each route reads and what it answers.

ROUTE_SCHEMAS is keyed like engage.policy.ROUTE_POLICIES ("METHOD /rule", Quart's rule syntax);
engage.lib.api_docs turns it, the app's url_map and the policy table into the OpenAPI document,
and tests/test_api_docs.py fails when a registered route is missing here (or the reverse).
Item models live with their capability (schemas/booking.py, chat.py, ...); the envelopes the
views wrap them in, and the few shapes views build by hand, are described below.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from schemas.accounts import AcceptedOut
from schemas.accounts import AdminUserListOut
from schemas.accounts import AdminUserListQuery
from schemas.accounts import BrandingEnvelope
from schemas.accounts import BrandingRequest
from schemas.accounts import ClinicApplicationEnvelope
from schemas.accounts import ClinicApplicationListOut
from schemas.accounts import ClinicApplicationQuery
from schemas.accounts import ClinicApplicationRequest
from schemas.accounts import CodeRequest
from schemas.accounts import DeactivateRequest
from schemas.accounts import DeleteAccountRequest
from schemas.accounts import EmailVerifyRequest
from schemas.accounts import ExportOut
from schemas.accounts import LogoUpload
from schemas.accounts import MfaChallengeOut
from schemas.accounts import MfaCodeRequest
from schemas.accounts import MfaRequest
from schemas.accounts import MfaSessionOut
from schemas.accounts import MfaTokenRequest
from schemas.accounts import OtpStartRequest
from schemas.accounts import OtpVerifyRequest
from schemas.accounts import PasswordChangeRequest
from schemas.accounts import PasswordForgotRequest
from schemas.accounts import PasswordResetRequest
from schemas.accounts import PhoneStartRequest
from schemas.accounts import ProfilePatchRequest
from schemas.accounts import RecoveryCodesOut
from schemas.accounts import RejectRequest
from schemas.accounts import StaffInviteRequest
from schemas.accounts import StaffListOut
from schemas.accounts import TotpEnrolmentOut
from schemas.assistant import ClassifyOut
from schemas.assistant import ClassifyRequest
from schemas.assistant import FaqOut
from schemas.assistant import FaqPutRequest
from schemas.assistant import SpecialtyOut
from schemas.booking import AppointmentListQuery
from schemas.booking import AppointmentOut
from schemas.booking import AvailabilityRequest
from schemas.booking import BookRequest
from schemas.booking import CancelRequest
from schemas.booking import ClinicCreateRequest
from schemas.booking import ClinicOut
from schemas.booking import DateRangeQuery
from schemas.booking import DoctorListQuery
from schemas.booking import DoctorProfileOut
from schemas.booking import DoctorProfileRequest
from schemas.booking import RescheduleRequest
from schemas.booking import SlotOut
from schemas.booking import StatusRequest
from schemas.booking import TestCentreCreateRequest
from schemas.booking import TestCentreListQuery
from schemas.booking import TestCentreOut
from schemas.booking import WaitlistEntryOut
from schemas.booking import WaitlistRequest
from schemas.care import AccessLogQuery
from schemas.care import AssignRelationRequest
from schemas.care import AuditPage
from schemas.care import AuditQuery
from schemas.care import CareRelationOut
from schemas.care import EmergencyAccessRequest
from schemas.care import EndRelationRequest
from schemas.chat import ConversationListQuery
from schemas.chat import ConversationOut
from schemas.chat import CreateConversationRequest
from schemas.chat import HistoryQuery
from schemas.chat import MessageOut
from schemas.chat import PostMessageRequest
from schemas.chat import ReadBody
from schemas.clinic_doctors import ClinicDoctorEnvelope
from schemas.clinic_doctors import ClinicDoctorListOut
from schemas.clinic_doctors import ClinicDoctorQuery
from schemas.clinic_doctors import DoctorProfileUpdateOut
from schemas.clinic_doctors import MyClinicOut
from schemas.common import RequestModel
from schemas.front_desk import FrontDeskAppointmentEnvelope
from schemas.front_desk import FrontDeskBookRequest
from schemas.front_desk import FrontDeskCancelRequest
from schemas.front_desk import FrontDeskDayOut
from schemas.front_desk import FrontDeskDayQuery
from schemas.front_desk import PatientSearchOut
from schemas.front_desk import PatientSearchQuery
from schemas.notifications import InboundSmsOut
from schemas.notifications import NotificationOut
from schemas.notifications import OutboxQuery
from schemas.notifications import PreferencesIn
from schemas.notifications import PreferencesOut
from schemas.notifications import SmsRepliesQuery
from schemas.records import AcceptSuggestionRequest
from schemas.records import AllergyEnvelope
from schemas.records import AllergyRequest
from schemas.records import AllergyUpdateRequest
from schemas.records import EncounterAmendRequest
from schemas.records import EncounterCreateRequest
from schemas.records import EncounterEnvelope
from schemas.records import EncounterUpdateRequest
from schemas.records import EnteredInErrorOut
from schemas.records import EnteredInErrorRequest
from schemas.records import DocumentEnvelope
from schemas.records import DocumentListOut
from schemas.records import DocumentListQuery
from schemas.records import SuggestionDecisionOut
from schemas.records import LabResultEnvelope
from schemas.records import LabResultRequest
from schemas.records import ProblemEnvelope
from schemas.records import ProblemRequest
from schemas.records import ProblemUpdateRequest
from schemas.records import RecordOut
from schemas.records import SearchOut
from schemas.records import SearchQuery
from schemas.records import TimelineQuery
from schemas.pharmacy import CancelOrderRequest
from schemas.pharmacy import CartEnvelope
from schemas.pharmacy import CartPutRequest
from schemas.pharmacy import CheckoutRequest
from schemas.pharmacy import ItemCreateRequest
from schemas.pharmacy import ItemEnvelope
from schemas.pharmacy import ItemListOut
from schemas.pharmacy import ItemSearchQuery
from schemas.pharmacy import OrderEnvelope
from schemas.pharmacy import OrderListOut
from schemas.pharmacy import OrderListQuery
from schemas.pharmacy import StockChangeOut
from schemas.pharmacy import StockChangeRequest
from schemas.risk import RiskAnswersEnvelope
from schemas.risk import RiskAnswersRequest
from schemas.risk import RiskOut
from schemas.stats import StatsOut
from schemas.stats import StatsQuery
from schemas.users import AdminDoctorListQuery
from schemas.users import LoginRequest
from schemas.users import RefreshRequest
from schemas.users import RegisterRequest
from schemas.users import TokenPair
from schemas.users import UserOut
from schemas.vitals import MAX_BATCH
from schemas.vitals import AdherenceOut
from schemas.vitals import AdviceOut
from schemas.vitals import AdviceQuery
from schemas.vitals import AdviceRequest
from schemas.vitals import AlertOut
from schemas.vitals import AlertsQuery
from schemas.vitals import DoseOut
from schemas.vitals import FhirObservationQuery
from schemas.vitals import MonitoringRequest
from schemas.vitals import DispensingOut
from schemas.vitals import PrescriptionOut
from schemas.vitals import PrescriptionRequest
from schemas.vitals import ReadingIn
from schemas.vitals import ReadingOut
from schemas.vitals import ReadingsQuery
from schemas.vitals import SubmitResult
from schemas.vitals import ThresholdsRequest
from schemas.vitals import TrendOut
from schemas.vitals import TrendQuery

# ---- the shared error shape (engage/errors.py) ------------------------------------------------


class ErrorBody(BaseModel):
    code: str = Field(description="snake_case, stable: clients branch on it")
    message: str = Field(description="a sentence for people")
    field: str | None = Field(default=None, description="the input field at fault, when there is one")
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    """Every 4xx (and the 500 that must never happen): {"error": {...}} plus a few extras."""

    model_config = ConfigDict(extra="allow")

    error: ErrorBody
    alternatives: list[SlotOut] | None = Field(default=None, description="409 slot_taken: the nearest free slots")
    retry_after: float | None = Field(default=None, description="429 and 503: seconds to wait (also the Retry-After header)")


# ---- request shapes the views read without a model of their own ------------------------------


class ReadingBatchIn(RequestModel):
    """POST /api/vitals with many readings; each is checked on its own (see SubmitResult)."""

    readings: list[ReadingIn] = Field(min_length=1, max_length=MAX_BATCH)


class AckBody(RequestModel):
    """POST /api/alerts/{alert_id}/ack (the body is optional)."""

    snooze_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)


class TwilioSmsForm(BaseModel):
    """Twilio's inbound-SMS webhook form (Twilio sends more fields; these are read)."""

    model_config = ConfigDict(extra="allow")

    MessageSid: str
    From: str
    Body: str | None = None


class TwilioStatusForm(BaseModel):
    """Twilio's message status callback form."""

    model_config = ConfigDict(extra="allow")

    MessageSid: str
    MessageStatus: str
    ErrorCode: str | None = None


class DocumentUpload(BaseModel):
    """POST /api/patients/{id}/documents: one part named file."""

    file: bytes = Field(json_schema_extra={"format": "binary"}, description="a PDF, PNG or JPEG of at most 10 MB")


class SendGridEvent(BaseModel):
    """One event of SendGrid's signed event webhook (the body is a JSON array of them)."""

    model_config = ConfigDict(extra="allow")


# ---- responses: envelopes and hand-built shapes ----------------------------------------------


class CareTeamOut(BaseModel):
    care_team: list[CareRelationOut]


class CareRelationEnvelope(BaseModel):
    relation: CareRelationOut


class OkOut(BaseModel):
    ok: Literal[True]


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    down: list[Literal["mongodb", "redis", "storage", "socketio_listener", "redis_persistence"]] | None = None
    socketio_subscribers: int | None = Field(default=None, description="every web process should be one: compare with their number")
    error: ErrorBody | None = None


class UserEnvelope(BaseModel):
    user: UserOut


class DoctorsListOut(BaseModel):
    doctors: list[UserOut]


class ConversationEnvelope(BaseModel):
    conversation: ConversationOut


class ConversationListOut(BaseModel):
    conversations: list[ConversationOut]
    next_before: str | None = Field(description="pass as ?before= for the next page; null on the last")


class MessageHistoryOut(BaseModel):
    messages: list[MessageOut]
    next_before_seq: int | None


class MessageEnvelope(BaseModel):
    message: MessageOut


class ReadSeqOut(BaseModel):
    seq: int


class ClinicEnvelope(BaseModel):
    clinic: ClinicOut


class ClinicListOut(BaseModel):
    clinics: list[ClinicOut]


class DoctorProfileEnvelope(BaseModel):
    doctor: DoctorProfileOut


class DoctorProfileListOut(BaseModel):
    doctors: list[DoctorProfileOut]


class SpecialtyListOut(BaseModel):
    specialties: list[SpecialtyOut]


class FaqEnvelope(BaseModel):
    faq: FaqOut


class TestCentreEnvelope(BaseModel):
    __test__ = False

    test_centre: TestCentreOut


class TestCentreListOut(BaseModel):
    __test__ = False

    test_centres: list[TestCentreOut]


class SlotsOut(BaseModel):
    """Free slots of one doctor or test centre between two local dates."""

    model_config = ConfigDict(populate_by_name=True)

    doctor_id: str | None = None
    test_centre_id: str | None = None
    timezone: str
    slot_minutes: int
    from_: date = Field(alias="from")
    to: date
    slots: list[SlotOut]


class AppointmentEnvelope(BaseModel):
    appointment: AppointmentOut


class AppointmentListOut(BaseModel):
    appointments: list[AppointmentOut]


class WaitlistEntryEnvelope(BaseModel):
    entry: WaitlistEntryOut


class WaitlistListOut(BaseModel):
    entries: list[WaitlistEntryOut]


class SubmitOneOut(BaseModel):
    """POST /api/vitals with one reading: stored (201) or already stored (200)."""

    status: Literal["created", "duplicate"]
    id: str | None


class ReadingListOut(BaseModel):
    readings: list[ReadingOut]


class AlertListOut(BaseModel):
    alerts: list[AlertOut]


class AlertEnvelope(BaseModel):
    alert: AlertOut


class MonitoringOut(BaseModel):
    """A patient's thresholds (canonical units) and no-data monitoring."""

    patient_id: str
    thresholds: dict[str, dict[str, float]]
    thresholds_updated_at: datetime | None = None
    enrolled: bool
    no_data_hours: int | None


class PreferencesEnvelope(BaseModel):
    preferences: PreferencesOut


class NotificationListOut(BaseModel):
    notifications: list[NotificationOut]


class NotificationEnvelope(BaseModel):
    notification: NotificationOut


class SmsRepliesOut(BaseModel):
    replies: list[InboundSmsOut]


class SendGridUpdatedOut(BaseModel):
    updated: int


class AdviceEnvelope(BaseModel):
    advice: AdviceOut


class AdviceListOut(BaseModel):
    advice: list[AdviceOut]


class PrescriptionEnvelope(BaseModel):
    prescription: PrescriptionOut


class PrescriptionWithAdherence(BaseModel):
    prescription: PrescriptionOut
    adherence: AdherenceOut
    dispensed: list[DispensingOut]  # newest first


class PrescriptionListOut(BaseModel):
    prescriptions: list[PrescriptionWithAdherence]


class DoseListOut(BaseModel):
    adherence: AdherenceOut
    doses: list[DoseOut]


class DoseEnvelope(BaseModel):
    dose: DoseOut


class FhirLink(BaseModel):
    relation: str
    url: str


class FhirEntry(BaseModel):
    fullUrl: str
    resource: dict[str, Any] = Field(description="a FHIR R4 Observation (vital-signs profile)")
    search: dict[str, Any]


class FhirBundle(BaseModel):
    """A FHIR R4 searchset Bundle of Observations."""

    resourceType: Literal["Bundle"]
    type: Literal["searchset"]
    total: int
    link: list[FhirLink]
    entry: list[FhirEntry]


class FhirResourceBundle(BaseModel):
    """A FHIR R4 searchset Bundle of a patient's whole record (Patient/$everything)."""

    resourceType: Literal["Bundle"]
    type: Literal["searchset"]
    total: int
    link: list[FhirLink]
    entry: list[dict[str, Any]] = Field(description="fullUrl, resource (Patient, Encounter, Condition, AllergyIntolerance, Observation, MedicationRequest, DocumentReference, Appointment) and search")


class FhirCapabilityStatement(BaseModel):
    """A FHIR R4 CapabilityStatement."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["CapabilityStatement"]
    fhirVersion: str


class JsonDocument(BaseModel):
    """A JSON document (the OpenAPI and AsyncAPI documents themselves)."""

    model_config = ConfigDict(extra="allow")


# ---- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A non-JSON body: HTML pages, TwiML, static files; one of several media types, for downloads."""

    media_type: str | tuple[str, ...]


@dataclass(frozen=True)
class Json:
    """A JSON body under another media type than application/json (FHIR's)."""

    model: type[BaseModel]
    media_type: str


# A success body: a model, several (any of them), a non-JSON body, or None for no body (204).
Shape = type[BaseModel] | tuple[type[BaseModel], ...] | Text | Json | None


@dataclass(frozen=True)
class RouteSchema:
    summary: str
    responses: dict[int, Shape]  # success statuses
    body: type[BaseModel] | tuple[type[BaseModel], ...] | Text | Json | None = None
    query: type[BaseModel] | None = None
    body_required: bool = True
    body_is_list: bool = False  # the body is a JSON array of `body`
    errors: tuple[int, ...] = ()  # statuses beyond the ones every route of its kind may answer
    description: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


HTML = Text("text/html")

ROUTE_SCHEMAS: dict[str, RouteSchema] = {
    # Health, pages, static files, the API documents
    "GET /healthz": RouteSchema(
        "Are the database, Redis, the Socket.IO listener and storage well?", {200: HealthOut, 503: HealthOut}
    ),
    "GET /": RouteSchema("The patient app", {200: HTML}),
    "GET /console": RouteSchema("The doctor console", {200: HTML}),
    "GET /admin": RouteSchema("The admin page", {200: HTML}),
    "GET /clinic": RouteSchema("The clinic page (clinic admins)", {200: HTML}),
    "GET /pharmacy": RouteSchema("The pharmacist desk", {200: HTML}),
    "GET /frontdesk": RouteSchema("The front desk (receptionists)", {200: HTML}),
    "GET /static/<path:filename>": RouteSchema("A static file of the browser UI", {200: Text("*/*")}),
    "GET /api/openapi.json": RouteSchema("This OpenAPI document", {200: JsonDocument}),
    "GET /api/asyncapi.json": RouteSchema("The AsyncAPI document of the Socket.IO events", {200: JsonDocument}),
    "GET /api/docs": RouteSchema("The API reference page", {200: HTML}),
    "GET /metrics": RouteSchema("Prometheus metrics of every Engage process (bearer ENGAGE_METRICS_TOKEN when set)", {200: Text("text/plain")}),
    # Sign-up and sessions
    "POST /api/auth/register": RouteSchema("Create a patient or doctor account", {201: UserEnvelope}, RegisterRequest, errors=(409,)),
    "POST /api/auth/login": RouteSchema(
        "Sign in: an access token and a refresh token, or the second-factor step", {200: (TokenPair, MfaChallengeOut)}, LoginRequest, errors=(401, 403)
    ),
    "POST /api/auth/refresh": RouteSchema("Trade a refresh token for a new pair", {200: TokenPair}, RefreshRequest, errors=(401,)),
    "POST /api/auth/logout": RouteSchema("End the refresh token's session", {200: OkOut}, RefreshRequest, errors=(401,)),
    "GET /api/me": RouteSchema("The signed-in user", {200: UserEnvelope}),
    # Accounts (issue 19): verification, reset, password change
    "POST /api/auth/email/verify": RouteSchema(
        "Verify my email with the emailed link's token, or its code (then signed in)", {200: UserEnvelope}, EmailVerifyRequest, errors=(401,)
    ),
    "POST /api/auth/email/resend": RouteSchema("Email me a new verification link and code", {202: AcceptedOut}, errors=(409,)),
    "POST /api/auth/password/forgot": RouteSchema(
        "Email a password reset link if the address has an account (the answer never says)", {202: AcceptedOut}, PasswordForgotRequest
    ),
    "POST /api/auth/password/reset": RouteSchema("Set a new password with a reset link's token; every session ends", {200: UserEnvelope}, PasswordResetRequest),
    "POST /api/me/password": RouteSchema("Change my password; my other sessions end", {200: UserEnvelope}, PasswordChangeRequest),
    "PATCH /api/me": RouteSchema("Change my name, time zone or language", {200: UserEnvelope}, ProfilePatchRequest),
    "GET /api/me/export": RouteSchema("All of my own data as JSON (an attachment)", {200: ExportOut}),
    "POST /api/me/delete": RouteSchema(
        "Delete my account: deactivated now, personal data erased after ENGAGE_DELETION_GRACE_DAYS", {200: UserEnvelope}, DeleteAccountRequest, errors=(409,)
    ),
    "POST /api/auth/otp/start": RouteSchema(
        "Send a sign-in code to an email or a verified phone, if it has an account (the answer never says)", {202: AcceptedOut}, OtpStartRequest
    ),
    "POST /api/auth/otp/verify": RouteSchema(
        "Sign in with a code: the same answer as a password sign-in", {200: (TokenPair, MfaChallengeOut)}, OtpVerifyRequest, errors=(401, 403)
    ),
    "POST /api/me/phone": RouteSchema("Set my phone number (unverified) and text it a code", {202: AcceptedOut}, PhoneStartRequest),
    "POST /api/me/phone/verify": RouteSchema("Verify my phone number with the texted code", {200: UserEnvelope}, CodeRequest),
    "POST /api/me/mfa/totp": RouteSchema("Start two-factor enrolment: the authenticator secret, its otpauth URI and QR code (SVG)", {200: TotpEnrolmentOut}, errors=(409,)),
    "POST /api/me/mfa/totp/confirm": RouteSchema(
        "Confirm the authenticator with its first code: two-factor is on; ten single-use recovery codes, shown once", {200: RecoveryCodesOut}, CodeRequest, errors=(409,)
    ),
    "DELETE /api/me/mfa/totp": RouteSchema("Turn two-factor off with a current code or a recovery code", {200: UserEnvelope}, MfaCodeRequest, errors=(409,)),
    "POST /api/auth/mfa": RouteSchema(
        "Complete a sign-in with a TOTP or recovery code (or confirm a first, required enrolment)", {200: MfaSessionOut}, MfaRequest, errors=(401, 403, 409)
    ),
    "POST /api/auth/mfa/totp": RouteSchema("Enrol an authenticator during a sign-in that requires one", {200: TotpEnrolmentOut}, MfaTokenRequest, errors=(401, 409)),
    "GET /api/me/preferences": RouteSchema("My notification preferences", {200: PreferencesEnvelope}),
    "PUT /api/me/preferences": RouteSchema("Change my notification preferences", {200: PreferencesEnvelope}, PreferencesIn),
    # Care relations and the audit log
    "GET /api/me/care-team": RouteSchema("Who has access to my health data, and why", {200: CareTeamOut}),
    "GET /api/me/access-log": RouteSchema("Who looked at my health data", {200: AuditPage}, query=AccessLogQuery),
    "POST /api/patients/<patient_id>/emergency-access": RouteSchema(
        "Emergency access to a patient's record (audited; the patient and the admins are told)", {201: CareRelationEnvelope}, EmergencyAccessRequest
    ),
    "POST /api/admin/care-relations": RouteSchema("Assign a doctor to a patient", {201: CareRelationEnvelope}, AssignRelationRequest, errors=(409,)),
    "POST /api/admin/care-relations/<relation_id>/end": RouteSchema("End a care relation", {200: CareRelationEnvelope}, EndRelationRequest, errors=(409,)),
    "GET /api/admin/audit": RouteSchema("The audit log of access to health data", {200: AuditPage}, query=AuditQuery),
    # Admin
    "POST /api/clinic-applications": RouteSchema(
        "Apply to run a clinic on Engage (the applicant's account waits for the decision)", {201: ClinicApplicationEnvelope}, ClinicApplicationRequest, errors=(409,)
    ),
    "GET /api/admin/clinic-applications": RouteSchema("Clinic applications, by status", {200: ClinicApplicationListOut}, query=ClinicApplicationQuery),
    "POST /api/admin/clinic-applications/<application_id>/approve": RouteSchema(
        "Approve: the clinic is created and the applicant becomes its clinic_admin", {200: ClinicApplicationEnvelope}, errors=(409,)
    ),
    "POST /api/admin/clinic-applications/<application_id>/reject": RouteSchema(
        "Reject with a reason (the applicant is emailed)", {200: ClinicApplicationEnvelope}, RejectRequest, errors=(409,)
    ),
    "POST /api/clinics/<clinic_id>/staff": RouteSchema(
        "Invite a clinic_admin, receptionist or pharmacist by email (they choose a password from the link)", {201: UserEnvelope}, StaffInviteRequest, errors=(409,)
    ),
    "GET /api/clinics/<clinic_id>/staff": RouteSchema("The clinic's staff", {200: StaffListOut}),
    "GET /api/clinics/<clinic_id>/branding": RouteSchema("The clinic's brand colour and logo URL", {200: BrandingEnvelope}),
    "PUT /api/clinics/<clinic_id>/branding": RouteSchema("Set the clinic's brand colour (#rrggbb, or null)", {200: BrandingEnvelope}, BrandingRequest),
    "POST /api/clinics/<clinic_id>/logo": RouteSchema(
        "Upload the clinic's logo: PNG or SVG up to 512 KB, the type read from the bytes; an SVG with scripts, event attributes or outside references is refused",
        {200: BrandingEnvelope}, Json(LogoUpload, "multipart/form-data"), errors=(413, 415),
    ),
    "GET /api/clinics/<clinic_id>/logo": RouteSchema("The clinic's logo", {200: Text(("image/png", "image/svg+xml"))}),
    "GET /api/clinics/<clinic_id>/front-desk/appointments": RouteSchema(
        "The clinic's appointments on one local day, with patient names (front desk; audited)", {200: FrontDeskDayOut}, query=FrontDeskDayQuery
    ),
    "GET /api/clinics/<clinic_id>/front-desk/appointments/by-token/<token>": RouteSchema(
        "An appointment of the clinic by its front-desk token (front desk; audited)", {200: FrontDeskAppointmentEnvelope}
    ),
    "GET /api/clinics/<clinic_id>/front-desk/patients": RouteSchema(
        "Find the clinic's patients by name, email or phone, or any patient by a whole email (front desk; audited)",
        {200: PatientSearchOut},
        query=PatientSearchQuery,
    ),
    "POST /api/clinics/<clinic_id>/front-desk/appointments": RouteSchema(
        "Book a patient with one of the clinic's doctors or test centres (front desk)", {201: FrontDeskAppointmentEnvelope}, FrontDeskBookRequest, errors=(409,)
    ),
    "POST /api/clinics/<clinic_id>/front-desk/appointments/<appointment_id>/reschedule": RouteSchema(
        "Move an appointment of the clinic (front desk)", {200: FrontDeskAppointmentEnvelope}, RescheduleRequest, errors=(409,)
    ),
    "POST /api/clinics/<clinic_id>/front-desk/appointments/<appointment_id>/cancel": RouteSchema(
        "Cancel an appointment of the clinic with a reason (front desk)", {200: FrontDeskAppointmentEnvelope}, FrontDeskCancelRequest, errors=(409,)
    ),
    "POST /api/clinics/<clinic_id>/front-desk/appointments/<appointment_id>/check-in": RouteSchema(
        "Check the patient in, on the appointment's day (front desk)", {200: FrontDeskAppointmentEnvelope}, errors=(409,)
    ),
    "DELETE /api/clinics/<clinic_id>/staff/<user_id>": RouteSchema("Remove a member: their account is deactivated and signed out", {200: UserEnvelope}, errors=(409,)),
    "GET /api/clinics/<clinic_id>/doctors": RouteSchema(
        "Doctors' requests to join the clinic by status (pending by default); approved: the clinic's doctors", {200: ClinicDoctorListOut}, query=ClinicDoctorQuery
    ),
    "POST /api/clinics/<clinic_id>/doctors/<doctor_id>/approve": RouteSchema(
        "Approve a doctor's pending request: the doctor is listed and bookable at the clinic (and emailed)", {200: ClinicDoctorEnvelope}
    ),
    "POST /api/clinics/<clinic_id>/doctors/<doctor_id>/reject": RouteSchema(
        "Reject a doctor's pending request with a reason (the doctor is emailed it)", {200: ClinicDoctorEnvelope}, RejectRequest
    ),
    "GET /api/clinics/<clinic_id>/stats": RouteSchema(
        "The clinic's appointment, no-show and response-time statistics (its appointments, its doctors)", {200: StatsOut}, query=StatsQuery
    ),
    "GET /api/clinics/<clinic_id>/audit": RouteSchema(
        "The clinic's audit log: what its doctors and staff did, and decisions about the clinic", {200: AuditPage}, query=AuditQuery
    ),
    "GET /api/me/clinic": RouteSchema("My clinic and its branding (a patient's: of their latest appointment, else of their care team)", {200: MyClinicOut}),
    "GET /api/admin/users": RouteSchema("Users, a page at a time, by search, role and status", {200: AdminUserListOut}, query=AdminUserListQuery),
    "POST /api/admin/users/<user_id>/deactivate": RouteSchema(
        "Deactivate an account: its sessions and sockets end, sign-in answers 403 account_deactivated",
        {200: UserEnvelope},
        DeactivateRequest,
        body_required=False,
        errors=(409,),
    ),
    "POST /api/admin/users/<user_id>/reactivate": RouteSchema("Let a deactivated account sign in again", {200: UserEnvelope}),
    "GET /api/admin/doctors": RouteSchema("Doctors, by approval: pending, approved, rejected or all", {200: DoctorsListOut}, query=AdminDoctorListQuery),
    "POST /api/admin/doctors/<doctor_id>/approve": RouteSchema("Approve a doctor (a rejected one too: the rejection is cleared)", {200: UserEnvelope}),
    "POST /api/admin/doctors/<doctor_id>/reject": RouteSchema(
        "Reject a doctor's account with a reason: sign-in answers 403 doctor_rejected, its sessions end, the doctor is emailed the reason",
        {200: UserEnvelope},
        RejectRequest,
    ),
    "GET /api/admin/stats": RouteSchema("Appointment, no-show and response-time statistics", {200: StatsOut}, query=StatsQuery),
    "POST /api/admin/clinics": RouteSchema("Create a clinic", {201: ClinicEnvelope}, ClinicCreateRequest),
    "POST /api/admin/test-centres": RouteSchema("Create a diagnostic test centre", {201: TestCentreEnvelope}, TestCentreCreateRequest),
    "GET /api/admin/outbox": RouteSchema("Notifications sent or queued", {200: NotificationListOut}, query=OutboxQuery),
    "POST /api/admin/outbox/<notification_id>/retry": RouteSchema("Send a failed notification again", {200: NotificationEnvelope}, errors=(409,)),
    "GET /api/admin/sms-replies": RouteSchema("Inbound SMS replies, by outcome", {200: SmsRepliesOut}, query=SmsRepliesQuery),
    # Chat
    "POST /api/conversations": RouteSchema(
        "Open (or find) the conversation with a doctor or patient", {200: ConversationEnvelope, 201: ConversationEnvelope}, CreateConversationRequest
    ),
    "GET /api/conversations": RouteSchema("My conversations, newest activity first", {200: ConversationListOut}, query=ConversationListQuery),
    "GET /api/conversations/<conversation_id>": RouteSchema("One conversation", {200: ConversationEnvelope}),
    "GET /api/conversations/<conversation_id>/messages": RouteSchema("Message history, newest first", {200: MessageHistoryOut}, query=HistoryQuery),
    "POST /api/conversations/<conversation_id>/messages": RouteSchema(
        "Send a message (idempotent by client_id)", {200: MessageEnvelope, 201: MessageEnvelope}, PostMessageRequest, errors=(503,)
    ),
    "POST /api/conversations/<conversation_id>/read": RouteSchema("Mark messages read up to seq", {200: ReadSeqOut}, ReadBody),
    # Clinics, doctors, schedules
    "GET /api/clinics": RouteSchema("Clinics", {200: ClinicListOut}),
    "PATCH /api/doctors/<doctor_id>": RouteSchema(
        "Set a doctor's specialties, bio and fee; a doctor's clinic_id asks to join that clinic (its admin decides), an admin's applies at once",
        {200: DoctorProfileUpdateOut},
        DoctorProfileRequest,
    ),
    "PUT /api/doctors/<doctor_id>/availability": RouteSchema("Set a doctor's weekly hours and exceptions", {200: DoctorProfileEnvelope}, AvailabilityRequest),
    "GET /api/doctors": RouteSchema("Bookable doctors", {200: DoctorProfileListOut}, query=DoctorListQuery),
    "GET /api/doctors/<doctor_id>": RouteSchema("One doctor's profile", {200: DoctorProfileEnvelope}),
    "GET /api/specialties": RouteSchema("The catalogue's specialties (and free text no slug matches) with their number of doctors", {200: SpecialtyListOut}),
    "GET /api/doctors/<doctor_id>/slots": RouteSchema("A doctor's free slots", {200: SlotsOut}, query=DateRangeQuery),
    "GET /api/test-centres": RouteSchema("Diagnostic test centres", {200: TestCentreListOut}, query=TestCentreListQuery),
    "GET /api/test-centres/<centre_id>/slots": RouteSchema("A test centre's free slots", {200: SlotsOut}, query=DateRangeQuery),
    # Appointments and the waitlist
    "POST /api/appointments": RouteSchema("Book a consultation or diagnostic", {201: AppointmentEnvelope}, BookRequest, errors=(409,)),
    "GET /api/appointments": RouteSchema("My appointments", {200: AppointmentListOut}, query=AppointmentListQuery),
    "GET /api/appointments/by-token/<token>": RouteSchema("An appointment by its reminder token", {200: AppointmentEnvelope}),
    "GET /api/appointments/<appointment_id>": RouteSchema("One appointment", {200: AppointmentEnvelope}),
    "POST /api/appointments/<appointment_id>/reschedule": RouteSchema("Move an appointment", {200: AppointmentEnvelope}, RescheduleRequest, errors=(409,)),
    "POST /api/appointments/<appointment_id>/cancel": RouteSchema("Cancel an appointment", {200: AppointmentEnvelope}, CancelRequest, errors=(409,)),
    "POST /api/appointments/<appointment_id>/confirm": RouteSchema("Confirm an appointment", {200: AppointmentEnvelope}, errors=(409,)),
    "POST /api/appointments/<appointment_id>/status": RouteSchema(
        "Mark an appointment confirmed, completed or a no-show", {200: AppointmentEnvelope}, StatusRequest, errors=(409,)
    ),
    "POST /api/waitlist": RouteSchema("Wait for a doctor's slot in a window", {201: WaitlistEntryEnvelope}, WaitlistRequest, errors=(409,)),
    "GET /api/waitlist": RouteSchema("My waitlist entries", {200: WaitlistListOut}),
    "POST /api/waitlist/<entry_id>/accept": RouteSchema("Book the slot a waitlist offer holds", {201: AppointmentEnvelope}, errors=(409,)),
    "POST /api/waitlist/<entry_id>/decline": RouteSchema("Decline a waitlist offer", {200: WaitlistEntryEnvelope}, errors=(409,)),
    "POST /api/waitlist/<entry_id>/cancel": RouteSchema("Leave the waitlist", {200: WaitlistEntryEnvelope}, errors=(409,)),
    # Vitals and alerts
    "POST /api/vitals": RouteSchema(
        "Submit one reading, or a batch of up to 500",
        {201: SubmitOneOut, 200: (SubmitOneOut, SubmitResult)},
        (ReadingIn, ReadingBatchIn),
        description="One reading answers 201 (stored) or 200 (already stored); a batch answers 200 with a result per reading.",
    ),
    "GET /api/patients/<patient_id>/vitals": RouteSchema("A patient's vitals trend, in buckets", {200: TrendOut}, query=TrendQuery),
    "GET /api/patients/<patient_id>/vitals/readings": RouteSchema("A patient's recent readings", {200: ReadingListOut}, query=ReadingsQuery),
    "GET /api/patients/<patient_id>/alerts": RouteSchema("A patient's alerts", {200: AlertListOut}, query=AlertsQuery),
    "POST /api/alerts/<alert_id>/ack": RouteSchema("Acknowledge (and snooze) an alert", {200: AlertEnvelope}, AckBody, body_required=False, errors=(409,)),
    "GET /api/patients/<patient_id>/thresholds": RouteSchema("A patient's thresholds and monitoring", {200: MonitoringOut}),
    "PUT /api/patients/<patient_id>/thresholds": RouteSchema("Set a patient's thresholds", {200: MonitoringOut}, ThresholdsRequest),
    "PUT /api/patients/<patient_id>/monitoring": RouteSchema("Enrol a patient in no-data monitoring", {200: MonitoringOut}, MonitoringRequest),
    "GET /fhir/Observation": RouteSchema(
        "A patient's vitals as FHIR R4 Observations", {200: Json(FhirBundle, "application/fhir+json")}, query=FhirObservationQuery
    ),
    "GET /fhir/Patient/<patient_id>/$everything": RouteSchema(
        "A patient's whole record as a FHIR R4 Bundle (attachment, no-store; audited)", {200: Json(FhirResourceBundle, "application/fhir+json")}
    ),
    "GET /fhir/metadata": RouteSchema("The FHIR CapabilityStatement: what /fhir serves", {200: Json(FhirCapabilityStatement, "application/fhir+json")}),
    # Advice and medication
    "POST /api/advice": RouteSchema(
        "Ask for advice on the patient's recent vitals", {200: AdviceEnvelope, 202: AdviceEnvelope}, AdviceRequest, body_required=False
    ),
    "GET /api/advice": RouteSchema("A patient's advice, newest first", {200: AdviceListOut}, query=AdviceQuery),
    "POST /api/patients/<patient_id>/prescriptions": RouteSchema("Prescribe", {201: PrescriptionEnvelope}, PrescriptionRequest),
    "GET /api/patients/<patient_id>/prescriptions": RouteSchema("A patient's prescriptions with adherence", {200: PrescriptionListOut}),
    "GET /api/prescriptions/<prescription_id>/doses": RouteSchema("A prescription's doses and adherence", {200: DoseListOut}),
    "POST /api/prescriptions/<prescription_id>/stop": RouteSchema("Stop a prescription", {200: PrescriptionEnvelope}, errors=(409,)),
    "POST /api/medication/doses/<dose_id>/taken": RouteSchema("Mark a dose taken", {200: DoseEnvelope}, errors=(409,)),
    # The clinical record (issue 20)
    "GET /api/patients/<patient_id>/record": RouteSchema(
        "A patient's record: the timeline newest first, paged, with active problems, allergies and the latest vitals", {200: RecordOut}, query=TimelineQuery
    ),
    "GET /api/me/record": RouteSchema("My record (signed notes only)", {200: RecordOut}, query=TimelineQuery),
    "GET /api/patients/<patient_id>/record/search": RouteSchema(
        "Search a patient's notes, results, problems, allergies and documents' text (typos tolerated)", {200: SearchOut}, query=SearchQuery
    ),
    "POST /api/patients/<patient_id>/encounters": RouteSchema("Start a draft visit note (SOAP)", {201: EncounterEnvelope}, EncounterCreateRequest),
    "GET /api/patients/<patient_id>/encounters/<encounter_id>": RouteSchema("A visit note with its earlier versions", {200: EncounterEnvelope}),
    "PATCH /api/patients/<patient_id>/encounters/<encounter_id>": RouteSchema("Edit a draft note (its author)", {200: EncounterEnvelope}, EncounterUpdateRequest, errors=(409,)),
    "POST /api/patients/<patient_id>/encounters/<encounter_id>/sign": RouteSchema("Sign a draft note: immutable from now on", {200: EncounterEnvelope}, errors=(409,)),
    "POST /api/patients/<patient_id>/encounters/<encounter_id>/amend": RouteSchema(
        "Amend a signed note: a new version with a reason, the old one kept", {200: EncounterEnvelope}, EncounterAmendRequest, errors=(409,)
    ),
    "POST /api/patients/<patient_id>/problems": RouteSchema("Add a problem", {201: ProblemEnvelope}, ProblemRequest),
    "PATCH /api/patients/<patient_id>/problems/<problem_id>": RouteSchema("Resolve or correct a problem", {200: ProblemEnvelope}, ProblemUpdateRequest, errors=(409,)),
    "POST /api/patients/<patient_id>/allergies": RouteSchema("Add an allergy", {201: AllergyEnvelope}, AllergyRequest),
    "PATCH /api/patients/<patient_id>/allergies/<allergy_id>": RouteSchema("Change an allergy", {200: AllergyEnvelope}, AllergyUpdateRequest, errors=(409,)),
    "POST /api/patients/<patient_id>/lab-results": RouteSchema(
        "Record a lab result (flagged from its range; a critical value alerts the care team)", {201: LabResultEnvelope}, LabResultRequest
    ),
    "POST /api/patients/<patient_id>/record/<kind>/<item_id>/entered-in-error": RouteSchema(
        "Mark an entry entered in error (kind: encounters, problems, allergies, lab-results, documents); nothing is deleted",
        {200: EnteredInErrorOut}, EnteredInErrorRequest, errors=(409,)
    ),
    # Pharmacy (issue 21)
    "GET /api/clinics/<clinic_id>/pharmacy/items": RouteSchema("Search a clinic's pharmacy (every word in name, drug, form or strength)", {200: ItemListOut}, query=ItemSearchQuery),
    "POST /api/clinics/<clinic_id>/pharmacy/items": RouteSchema("Add a catalogue item (pharmacist); initial stock is a received ledger entry", {201: ItemEnvelope}, ItemCreateRequest),
    "POST /api/pharmacy/items/<item_id>/stock": RouteSchema(
        "Receive stock or adjust it with a reason (pharmacist); never below zero", {201: StockChangeOut}, StockChangeRequest, errors=(409,)
    ),
    "GET /api/me/cart": RouteSchema("My cart with prices and total (Decimal strings)", {200: CartEnvelope}),
    "PUT /api/me/cart": RouteSchema("Replace my cart (one clinic's items)", {200: CartEnvelope}, CartPutRequest),
    "POST /api/orders": RouteSchema(
        "Check out the cart: every line reserved or none (409 out_of_stock naming the items; 403 prescription_required); idempotent by client_id",
        {201: OrderEnvelope, 200: OrderEnvelope}, CheckoutRequest, errors=(409,),
    ),
    "GET /api/me/orders": RouteSchema("My pharmacy orders, newest first", {200: OrderListOut}, query=OrderListQuery),
    "GET /api/orders/<order_id>": RouteSchema("One order (its patient or the clinic's pharmacists)", {200: OrderEnvelope}),
    "POST /api/orders/<order_id>/cancel": RouteSchema(
        "Cancel: the patient before it is ready, a pharmacist with a reason; releases the stock", {200: OrderEnvelope}, CancelOrderRequest,
        body_required=False, errors=(409,),
    ),
    "POST /api/orders/<order_id>/ready": RouteSchema("Mark an order ready for pickup (pharmacist)", {200: OrderEnvelope}, errors=(409,)),
    "POST /api/orders/<order_id>/collected": RouteSchema("Mark an order collected: its stock is dispensed (pharmacist)", {200: OrderEnvelope}, errors=(409,)),
    "GET /api/clinics/<clinic_id>/pharmacy/orders": RouteSchema("The clinic's orders, by state (pharmacist)", {200: OrderListOut}, query=OrderListQuery),
    # Risk scores (issue 21)
    "GET /api/patients/<patient_id>/risk": RouteSchema(
        "A patient's risk scores (ASCVD Pooled Cohort Equations, FINDRISC, CHA2DS2-VASc) with their inputs, sources, dates, missing inputs, valid ranges and citations (audited)",
        {200: RiskOut},
    ),
    "PUT /api/me/risk-answers": RouteSchema("Answer the risk questionnaire (what the record lacks); answers the scores anew", {200: RiskAnswersEnvelope}, RiskAnswersRequest),
    "POST /api/patients/<patient_id>/documents": RouteSchema(
        "Upload a PDF, PNG or JPEG (up to 10 MB; the type is read from the bytes); it is processed in the background (document:processed)",
        {201: DocumentEnvelope}, Json(DocumentUpload, "multipart/form-data"), errors=(413, 415),
    ),
    "GET /api/patients/<patient_id>/documents": RouteSchema("A patient's documents, newest first", {200: DocumentListOut}, query=DocumentListQuery),
    "GET /api/documents/<document_id>": RouteSchema(
        "Download a document (attachment, no-store; audited)", {200: Text(("application/pdf", "image/png", "image/jpeg", "application/octet-stream"))},
        description="The body is the file as uploaded, with its sniffed Content-Type (application/pdf, image/png or image/jpeg).",
    ),
    "GET /api/documents/<document_id>/details": RouteSchema("A document's text, summary and suggestions", {200: DocumentEnvelope}),
    "POST /api/patients/<patient_id>/documents/<document_id>/suggestions/<suggestion_id>/accept": RouteSchema(
        "Accept a suggestion: a lab value becomes a result, a medication a prescription", {200: SuggestionDecisionOut}, AcceptSuggestionRequest,
        body_required=False, errors=(409,),
    ),
    "POST /api/patients/<patient_id>/documents/<document_id>/suggestions/<suggestion_id>/reject": RouteSchema(
        "Reject a suggestion", {200: SuggestionDecisionOut}, errors=(409,)
    ),
    # The assistant
    "POST /api/assistant/classify": RouteSchema("What the assistant makes of one message: intent, triage, specialty", {200: ClassifyOut}, ClassifyRequest),
    "POST /api/assistant/conversation": RouteSchema(
        "Open (or find) my conversation with the assistant", {200: ConversationEnvelope, 201: ConversationEnvelope}
    ),
    "GET /api/clinics/<clinic_id>/faq": RouteSchema("A clinic's FAQ the assistant answers from", {200: FaqEnvelope}),
    "PUT /api/clinics/<clinic_id>/faq": RouteSchema("Replace a clinic's FAQ", {200: FaqEnvelope}, FaqPutRequest),
    # Provider webhooks
    "POST /webhooks/twilio/sms": RouteSchema(
        "Twilio: an inbound SMS (answered with TwiML)", {200: Text("application/xml")}, Json(TwilioSmsForm, "application/x-www-form-urlencoded")
    ),
    "POST /webhooks/twilio/status": RouteSchema(
        "Twilio: a message status callback", {204: None}, Json(TwilioStatusForm, "application/x-www-form-urlencoded")
    ),
    "POST /webhooks/sendgrid/events": RouteSchema("SendGrid: signed delivery events", {200: SendGridUpdatedOut}, SendGridEvent, body_is_list=True),
}
