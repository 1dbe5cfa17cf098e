"""Beanie documents, one module per aggregate.

DOCUMENT_MODELS is the one list handed to Beanie; a new aggregate adds itself here.
"""

from engage.models.account import AccountSecret
from engage.models.account import ClinicApplication
from engage.models.account import TotpEnrolment
from engage.models.appointment import Appointment
from engage.models.branding import ClinicBranding
from engage.models.assistant import AssistantState
from engage.models.assistant import ClinicFaq
from engage.models.audit import AuditEvent
from engage.models.care import CareRelation
from engage.models.auth import RefreshTokenFamily
from engage.models.conversation import Conversation
from engage.models.conversation import ConversationActivity
from engage.models.message import Message
from engage.models.clinic import Clinic
from engage.models.clinic import DoctorProfile
from engage.models.clinic import TestCentre
from engage.models.clinic_membership import ClinicMembership
from engage.models.notification import InboundSms
from engage.models.notification import Notification
from engage.models.notification import NotificationPreferences
from engage.models.notification import SmsOptOut
from engage.models.user import User
from engage.models.waitlist import WaitlistEntry
from engage.models.vitals import PatientMonitoring
from engage.models.vitals import VitalAlert
from engage.models.vitals import VitalReading
from engage.models.advice import Advice
from engage.models.medication import MedicationDose
from engage.models.medication import Prescription
from engage.models.document import MedicalDocument
from engage.models.records import Allergy
from engage.models.records import Encounter
from engage.models.records import LabResult
from engage.models.records import Problem
from engage.models.risk import RiskAnswers
from engage.models.pharmacy import Cart
from engage.models.pharmacy import PharmacyItem
from engage.models.pharmacy import PharmacyOrder
from engage.models.pharmacy import StockEntry

DOCUMENT_MODELS: list[type] = [
    User,
    AccountSecret,
    TotpEnrolment,
    ClinicApplication,
    ClinicBranding,
    RefreshTokenFamily,
    AuditEvent,
    CareRelation,
    Conversation,
    ConversationActivity,
    Message,
    Clinic,
    DoctorProfile,
    TestCentre,
    ClinicMembership,
    Appointment,
    WaitlistEntry,
    Notification,
    NotificationPreferences,
    SmsOptOut,
    InboundSms,
    VitalReading,
    VitalAlert,
    PatientMonitoring,
    Advice,
    Prescription,
    MedicationDose,
    Encounter,
    Problem,
    Allergy,
    LabResult,
    RiskAnswers,
    PharmacyItem,
    StockEntry,
    Cart,
    PharmacyOrder,
    MedicalDocument,
    ClinicFaq,
    AssistantState,
]
